"""Static files — the portal's own and the packaged libraries' — fingerprinted, compressed once, cached a year.

A resident's first visit on a phone pays for every byte and every round trip, and the next visit should
pay for none of the files it already has. So:

- every ``url_for("static", …)`` and ``url_for("vendor.static_file", …)`` carries ``?v=`` and the first
  12 hex digits of the file's SHA-256 (computed once per file per process, again only when the file's
  size or modification time changes);
- a request with the current hash is answered ``Cache-Control: public, max-age=31536000, immutable``:
  a changed file gets a new address, so the old answer can be kept for good; a request without it, or
  with an old hash (a page cached before a deployment), gets the current file with a short max-age —
  never a 404, which would break that page;
- text files (CSS, JavaScript, SVG, JSON) are compressed with brotli and gzip once per process and
  kept in memory, keyed by the file's hash: Flask-Compress would otherwise compress Leaflet's 144 KB on
  every request, at a lower quality; the response says ``Content-Encoding``, so it leaves them alone;
- every representation has its own strong ETag (hash and encoding) and ``If-None-Match`` gets a 304.
"""
from __future__ import annotations

import gzip
import mimetypes
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256

import brotli
from flask import Flask, Response, abort, current_app, request, send_file
from werkzeug.security import safe_join

VERSION_ARG = "v"
DIGEST_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
# Without the current hash the address may name another version tomorrow: keep it only briefly.
SHORT_LIVED = "public, max-age=300"
# Files larger than this are streamed from disk as they are (none of the portal's are; a safeguard).
IN_MEMORY_MAX_BYTES = 4 * 1024 * 1024
# Brotli's best: paid once per file per worker (0.35 s for Leaflet), saved on every first visit.
BROTLI_QUALITY = 11
GZIP_LEVEL = 9
# A script, style sheet or image is never a page: it may load nothing and run nothing itself (an SVG
# opened on its own included). Also a third of the headers' bytes of the page's policy, on every file.
FILE_POLICY = "default-src 'none'"
ENCODINGS = ("br", "gzip")  # in order of preference when the browser accepts both
COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "application/geo+json",
                      "image/svg+xml")

_EXTENSION = "portal.static_assets"
Locator = Callable[[dict], "str | None"]


@dataclass
class Asset:
    """One file as served: its fingerprint, its bytes and their compressed forms."""

    path: str
    stamp: tuple[int, int]  # (size, mtime_ns): a change on disk makes a new Asset
    digest: str
    mimetype: str
    modified: float
    body: bytes | None  # None for a file too large to keep in memory
    _encoded: dict[str, bytes] = field(default_factory=dict)

    @property
    def compressible(self) -> bool:
        return self.body is not None and self.mimetype.startswith(COMPRESSIBLE_TYPES)

    def encoded(self, encoding: str) -> bytes:
        """The body in ``encoding`` ("br", "gzip"), compressed on first use and kept."""
        body = self._encoded.get(encoding)
        if body is None:
            body = (brotli.compress(self.body, quality=BROTLI_QUALITY) if encoding == "br"
                    else gzip.compress(self.body, GZIP_LEVEL, mtime=0))
            self._encoded[encoding] = body  # two threads racing compute the same bytes: harmless
        return body


_assets: dict[str, Asset] = {}
_loading = threading.Lock()


def asset(path: str | None) -> Asset | None:
    """The file at ``path`` as an Asset (read and hashed once per process), or None when there is none."""
    if not path:
        return None
    try:
        status = os.stat(path)
    except (OSError, ValueError):  # absent, or a name the file system refuses (NUL)
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    stamp = (status.st_size, status.st_mtime_ns)
    known = _assets.get(path)
    if known is not None and known.stamp == stamp:
        return known
    with _loading:
        known = _assets.get(path)
        if known is None or known.stamp != stamp:
            known = _assets[path] = _read(path, stamp, status.st_mtime)
    return known


def _read(path: str, stamp: tuple[int, int], modified: float) -> Asset:
    digest = sha256()
    body = None
    with open(path, "rb") as file:
        if stamp[0] <= IN_MEMORY_MAX_BYTES:
            body = file.read()
            digest.update(body)
        else:
            for block in iter(lambda: file.read(1024 * 1024), b""):
                digest.update(block)
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return Asset(path=path, stamp=stamp, digest=digest.hexdigest()[:DIGEST_LENGTH], mimetype=mimetype,
                 modified=modified, body=body)


def send_asset(path: str | None) -> Response:
    """Answer a request for the file at ``path``: the site's 404 when there is no such file."""
    found = asset(path)
    if found is None:
        abort(404)
    if found.body is None:
        response = send_file(found.path, mimetype=found.mimetype, conditional=True, etag=found.digest)
    else:
        encoding = _chosen_encoding(found)
        response = Response(found.encoded(encoding) if encoding else found.body, mimetype=found.mimetype)
        if encoding:
            response.headers["Content-Encoding"] = encoding
        response.set_etag(f"{found.digest}-{encoding or 'identity'}")
        response.last_modified = found.modified
        response.make_conditional(request)
    response.vary.add("Accept-Encoding")
    response.headers["Content-Security-Policy"] = FILE_POLICY  # portal.security keeps a view's own
    current = request.args.get(VERSION_ARG) == found.digest
    response.headers["Cache-Control"] = IMMUTABLE if current else SHORT_LIVED
    return response


def _chosen_encoding(found: Asset) -> str:
    """The encoding to send: the browser's most preferred of br and gzip (by q-value, ties to br)."""
    if not found.compressible:
        return ""
    accepted = request.accept_encodings
    qualities = {encoding: accepted[encoding] for encoding in ENCODINGS}
    best = max(ENCODINGS, key=lambda encoding: qualities[encoding])
    if qualities[best] <= 0 or len(found.encoded(best)) >= len(found.body):  # a tiny file may not shrink
        return ""
    return best


def register(app: Flask, endpoint: str, locate: Locator) -> None:
    """Fingerprint the URLs of ``endpoint``: ``locate(url values)`` names the file they address."""
    app.extensions.setdefault(_EXTENSION, {})[endpoint] = locate


def _add_version(endpoint: str, values: dict) -> None:
    """url_defaults hook: add ``v=<hash>`` to a static file's URL (nothing when there is no such file)."""
    locate = current_app.extensions.get(_EXTENSION, {}).get(endpoint)
    if locate is None or VERSION_ARG in values:
        return
    found = asset(locate(values))
    if found is not None:
        values[VERSION_ARG] = found.digest


def _static_file_path(values: dict) -> str | None:
    filename = values.get("filename")
    folder = current_app.static_folder
    return safe_join(folder, filename) if folder and isinstance(filename, str) else None


def _send_static_file(filename: str) -> Response:
    """The app's /static/<filename>, served as every other fingerprinted file."""
    return send_asset(_static_file_path({"filename": filename}))


def init_app(app: Flask) -> None:
    """Serve /static through send_asset and fingerprint its URLs (the vendor blueprint registers its own)."""
    if app.has_static_folder:
        app.view_functions["static"] = _send_static_file
        register(app, "static", _static_file_path)
    app.url_defaults(_add_version)
