"""Front-end libraries served by the portal itself from their Python packages (XStatic), never a CDN.

Pages on a phone inside WeChat, on an intranet or offline still get the map: the files come from
the installed packages, not from the repository or a third-party host. They are served as the
portal's own static files are (portal.static_assets): fingerprinted URLs cached for a year, brotli
or gzip compressed once per process.
"""
from __future__ import annotations

import xstatic.pkg.leaflet
from flask import Blueprint
from werkzeug.security import safe_join

from portal import static_assets

PACKAGES = {
    "leaflet": xstatic.pkg.leaflet,
}

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


def file_path(values: dict) -> str | None:
    """Where the file a vendor URL names lies in its package (None: no such package or an unsafe name)."""
    module = PACKAGES.get(values.get("package"))
    filename = values.get("filename")
    if module is None or not isinstance(filename, str):
        return None
    return safe_join(module.BASE_DIR, filename)


@bp.get("/<package>/<path:filename>")
def static_file(package: str, filename: str):
    """A file of a packaged library, e.g. /vendor/leaflet/leaflet.js."""
    return static_assets.send_asset(file_path({"package": package, "filename": filename}))


@bp.record_once
def _fingerprint_urls(state) -> None:
    static_assets.register(state.app, "vendor.static_file", file_path)
