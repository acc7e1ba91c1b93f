"""Uploads waiting for the uploader's confirmation: a file is checked by a dry run first, and only the
same file, from the same signed-in session, is imported when they confirm.

A staged file lives in a private folder under the instance folder (never served), named by a random
token that only the uploader's signed session holds, with the kind of file it was staged as. It is
deleted once imported or refused, and any staged file older than ``STAGING_SECONDS`` is swept away at
the next upload, whoever left it.
"""
from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

from flask import current_app, session

STAGING_FOLDER = "staged-uploads"
STAGING_SECONDS = 3600  # an unconfirmed upload is deleted after an hour
SESSION_KEY = "staged_uploads"  # token → [kind, the file's own name], in the uploader's signed session
NAME_MAX = 120
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_UNSAFE = re.compile(r"[^\w.\-（）()\u4e00-\u9fff]+")


def stage(upload, kind: str) -> tuple[str, Path]:
    """Keep an uploaded file (a Werkzeug FileStorage) for this session as ``kind``: (token, its path)."""
    _sweep()
    token = secrets.token_urlsafe(24)
    folder = _root() / token
    folder.mkdir(parents=True)
    path = folder / safe_name(upload.filename or "", kind)
    upload.save(path)
    uploads = dict(session.get(SESSION_KEY, {}))
    uploads[token] = [kind, path.name]
    session[SESSION_KEY] = uploads
    return token, path


def staged(token: str, kind: str) -> Path | None:
    """The file this session staged under the token as this kind, if it is still there (else None)."""
    uploads = session.get(SESSION_KEY, {})
    entry = uploads.get(token) if _TOKEN.match(token or "") else None
    if not entry or entry[0] != kind:
        return None
    path = _root() / token / entry[1]
    if not path.is_file() or time.time() - path.stat().st_mtime > STAGING_SECONDS:
        discard(token)
        return None
    return path


def discard(token: str) -> None:
    """Delete a staged file and forget its token."""
    uploads = dict(session.get(SESSION_KEY, {}))
    uploads.pop(token, None)
    session[SESSION_KEY] = uploads
    if _TOKEN.match(token or ""):
        shutil.rmtree(_root() / token, ignore_errors=True)


def safe_name(filename: str, fallback: str) -> str:
    """The uploaded file's own name, without any folder or unsafe character (messages and history show it)."""
    name = Path(filename.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", name).strip("_ ")
    if not cleaned or cleaned.startswith("."):
        cleaned = fallback + cleaned  # a name that was only a suffix, or nothing
    return cleaned[-NAME_MAX:]


def _root() -> Path:
    return Path(current_app.instance_path) / STAGING_FOLDER


def _sweep() -> None:
    """Delete every staged file older than STAGING_SECONDS, whoever left it."""
    root = _root()
    if not root.is_dir():
        return
    cutoff = time.time() - STAGING_SECONDS
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # gone already: another request swept it
