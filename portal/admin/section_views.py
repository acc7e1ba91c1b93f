"""The back office's monitoring sections (断面): the list, and uploading the bureau's sections file.

An upload is checked first — a dry run with the CLI's own importer, ``monitoring.sections`` — and
imported only when the clerk confirms what it will add and change; between the two
``portal.admin.staged_uploads`` keeps the file.
"""
from __future__ import annotations


from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal import access, audit
from portal.admin import staged_uploads
from portal.admin.guard import requires
from portal.db import transaction
from portal.extensions import db
from portal.monitoring import sections

UPLOAD_KIND = "sections"  # what portal.admin.staged_uploads keeps the file as


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
    token, path = staged_uploads.stage(form.sections_file.data, UPLOAD_KIND)
    try:
        result = sections.import_sections(path, dry_run=True, filename=path.name)
    except sections.SectionsRejected as rejected:
        staged_uploads.discard(token)
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
    path = staged_uploads.staged(token, UPLOAD_KIND)
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
        staged_uploads.discard(token)
        return render_template("admin/sections/import.html", form=SectionUploadForm(formdata=None), result=None,
                               rejected=rejected, confirm=None), 422
    staged_uploads.discard(token)
    for line in result.lines():
        flash(line, "success")
    return redirect(url_for("admin.sections_list"))









