"""The back office's monitoring sections (断面): the list, and uploading the bureau's sections file.

An upload is checked first — a dry run with the CLI's own importer, ``monitoring.sections`` — and
imported only when the clerk confirms what it will add and change. Between the two the file waits in
a private folder under the instance folder, named by a random token that only the uploading session
holds; it is deleted once imported, and any left unconfirmed is swept after an hour.
"""
from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal import access, audit
from portal.admin.guard import requires
from portal.db import transaction
from portal.extensions import db
from portal.monitoring import sections

STAGING_FOLDER = "section-uploads"
STAGING_SECONDS = 3600
SESSION_KEY = "section_uploads"  # token → the file's own name, in the uploader's signed session
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_UNSAFE = re.compile(r"[^\w.\-（）()\u4e00-\u9fff]+")


class SectionUploadForm(FlaskForm):
    """Choose a sections file for a dry run."""

    sections_file = FileField(_l("断面文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择断面文件。"))])
    submit = SubmitField(_l("试运行（不写入）"))


class SectionConfirmForm(FlaskForm):
    """Import the file the dry run checked."""

    token = StringField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("确认导入"))


@requires("view_registry")
def sections_list():
    """Every section with its water, level, class, linked outfall and how many samples it has."""
    return render_template("admin/sections/list.html", sections=sections.all_sections(),
                           may_import=access.can(current_user, "import_registry"))


@requires("import_registry")
def sections_import():
    """Choose a sections file; on upload, stage it and show the dry run."""
    form = SectionUploadForm()
    if not form.validate_on_submit():
        return render_template("admin/sections/import.html", form=form, result=None, rejected=None,
                               confirm=None), (422 if form.is_submitted() else 200)
    _sweep_staging()
    upload = form.sections_file.data
    token = secrets.token_urlsafe(24)
    folder = _staging_root() / token
    folder.mkdir(parents=True)
    path = folder / _safe_name(upload.filename or "")
    upload.save(path)
    uploads = dict(session.get(SESSION_KEY, {}))
    uploads[token] = path.name
    session[SESSION_KEY] = uploads
    try:
        result = sections.import_sections(path, dry_run=True, filename=path.name)
    except sections.SectionsRejected as rejected:
        _discard(token)
        return render_template("admin/sections/import.html", form=SectionUploadForm(formdata=None), result=None,
                               rejected=rejected, confirm=None), 422
    finally:
        db.session.rollback()  # a dry run only read
    return render_template("admin/sections/import.html", form=SectionUploadForm(formdata=None), result=result,
                           rejected=None, confirm=SectionConfirmForm(formdata=None, token=token))


@requires("import_registry")
def sections_import_confirm():
    """Import exactly the staged file, all or nothing, and log it."""
    form = SectionConfirmForm()
    token = (form.token.data or "") if form.validate_on_submit() else ""
    path = _staged(token)
    if path is None:
        flash(_("没有找到待导入的断面文件（可能已导入或已过期），请重新上传。"), "error")
        return redirect(url_for("admin.sections_import"))
    try:
        with transaction():
            result = sections.import_sections(path, filename=path.name)
            audit.record(current_user, "sections_imported", label=path.name[:64], detail={
                "file": path.name, "added": [c.code for c in result.added],
                "changed": [c.code for c in result.changed], "unchanged": result.unchanged})
    except sections.SectionsRejected as rejected:  # the registry changed since the dry run
        _discard(token)
        return render_template("admin/sections/import.html", form=SectionUploadForm(formdata=None), result=None,
                               rejected=rejected, confirm=None), 422
    _discard(token)
    for line in result.lines():
        flash(line, "success")
    return redirect(url_for("admin.sections_list"))


def _staging_root() -> Path:
    """The private folder of uploads waiting for confirmation (under the instance folder, never served)."""
    return Path(current_app.instance_path) / STAGING_FOLDER


def _safe_name(filename: str) -> str:
    """The uploaded file's own name without any folder or unsafe character (messages show it)."""
    name = Path(filename.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", name).strip("_ ")
    if not cleaned or cleaned.startswith("."):
        cleaned = "sections" + cleaned  # a name that was only a suffix, or nothing
    return cleaned[-120:]


def _staged(token: str) -> Path | None:
    """The staged file of this token if this session uploaded it and it is still there."""
    uploads = session.get(SESSION_KEY, {})
    if not _TOKEN.match(token) or token not in uploads:
        return None
    path = _staging_root() / token / uploads[token]
    if not path.is_file() or time.time() - path.stat().st_mtime > STAGING_SECONDS:
        _discard(token)
        return None
    return path


def _discard(token: str) -> None:
    """Delete a staged upload and forget its token."""
    uploads = dict(session.get(SESSION_KEY, {}))
    uploads.pop(token, None)
    session[SESSION_KEY] = uploads
    if _TOKEN.match(token):
        shutil.rmtree(_staging_root() / token, ignore_errors=True)


def _sweep_staging() -> None:
    """Delete every staged upload older than STAGING_SECONDS, whoever left it."""
    root = _staging_root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            if time.time() - folder.stat().st_mtime > STAGING_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
