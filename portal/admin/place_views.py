"""The back office's places: the waters with their river boards' state, marking a board updated, and
uploading the bureau's waters (GeoJSON) and chiefs (CSV/XLSX) files.

An upload is checked first — a dry run with the CLI's own importer (``registry.waters``,
``registry.chiefs``) — and imported only when the clerk confirms what it will do; between the two
``portal.admin.staged_uploads`` keeps the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange

from portal import access, audit, calendar
from portal.admin import staged_uploads
from portal.admin.guard import requires
from portal.db import transaction
from portal.extensions import db
from portal.models import WaterBody
from portal.models.types import MAX_DATABASE_ID
from portal.registry import chiefs, waters



@dataclass(frozen=True)
class _Kind:
    """One kind of places file: what the pages call it and how it is imported."""

    name: str
    title: object
    accept: str
    endpoint: str


KINDS = {
    "waters": _Kind("waters", _l("上传水体文件"), ".geojson,.json", "admin.waters_import"),
    "chiefs": _Kind("chiefs", _l("上传河长名录"), ".xlsx,.csv", "admin.chiefs_import"),
}


class PlacesUploadForm(FlaskForm):
    """Choose a file for a dry run."""

    upload = FileField(_l("文件"), validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("试运行（不写入）"))


class PlacesConfirmForm(FlaskForm):
    """Import the file the dry run checked."""

    token = StringField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("确认导入"))


class BoardUpdatedForm(FlaskForm):
    """Record that a river's public board now shows what the portal shows."""

    water_id = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=MAX_DATABASE_ID)])
    submit = SubmitField(_l("标记公示牌已更新"))


@requires("view_registry")
def waters_list():
    """Every water with its board's state: last change, last update, and whether it is overdue."""
    today = calendar.today()
    days = current_app.config["RIVER_BOARD_UPDATE_DAYS"]
    rows = [(water, waters.board_state(water, today, days)) for water in db.session.scalars(
        select(WaterBody).order_by(WaterBody.name).options(selectinload(WaterBody.chiefs)))]
    may_import = access.can(current_user, "import_registry")
    return render_template("admin/places/waters.html", rows=rows, today=today, days=days, may_import=may_import,
                           board_form=BoardUpdatedForm(formdata=None) if may_import else None)


@requires("import_registry")
def board_updated():
    """Mark one river's public board brought up to date today, and log it."""
    form = BoardUpdatedForm()
    water = db.session.get(WaterBody, form.water_id.data) if form.validate_on_submit() else None
    if water is None:
        abort(404)
    with transaction():
        waters.mark_board_updated(water, calendar.today())
        audit.record(current_user, "river_board_updated", water, label=water.name[:64],
                     detail={"board_changed_on": water.board_changed_on, "board_updated_on": water.board_updated_on})
    flash(_("已记录%(water)s的公示牌于 %(date)s 更新。", water=water.name, date=water.board_updated_on.isoformat()),
          "success")
    return redirect(url_for("admin.waters_list"))


@requires("import_registry")
def waters_import():
    """Choose a waters GeoJSON file; on upload, stage it and show the dry run."""
    return _upload(KINDS["waters"])


@requires("import_registry")
def chiefs_import():
    """Choose a chiefs CSV/XLSX file; on upload, stage it and show the dry run."""
    return _upload(KINDS["chiefs"])


@requires("import_registry")
def waters_import_confirm():
    """Import exactly the staged waters file, all or nothing, and log it."""
    return _confirm(KINDS["waters"])


@requires("import_registry")
def chiefs_import_confirm():
    """Import exactly the staged chiefs file, all or nothing, and log it."""
    return _confirm(KINDS["chiefs"])


def _run(kind: _Kind, path: Path, dry_run: bool):
    """The importer of this kind on a file: its summary, or raises its refusal."""
    if kind.name == "waters":
        return waters.import_waters(path, dry_run=dry_run)
    return chiefs.import_chiefs(path, dry_run=dry_run)


def _refusal(kind: _Kind, error) -> dict:
    """A refusal as the page shows it: its first line, and each problem (row and column when it has them)."""
    if kind.name == "waters":
        return {"summary": str(error).splitlines()[0], "problems": error.problems, "errors": []}
    if error.problem:
        return {"summary": error.report(), "problems": [], "errors": []}
    return {"summary": error.report().splitlines()[0], "problems": [], "errors": error.errors}


def _rejected_types():
    """The refusals the importers raise for a bad file."""
    return waters.WatersRejected, chiefs.ChiefsRejected


def _page(kind: _Kind, status: int = 200, **context):
    """The upload page of a kind, with whatever the step has to show."""
    context.setdefault("form", PlacesUploadForm(formdata=None))
    for key in ("report", "rejected", "confirm"):
        context.setdefault(key, None)
    return render_template("admin/places/import.html", kind=kind, **context), status


def _upload(kind: _Kind):
    """Stage an uploaded file and show its dry run, or the form again with what is wrong."""
    form = PlacesUploadForm()
    if not form.validate_on_submit():
        return _page(kind, 422 if form.is_submitted() else 200, form=form)
    token, path = staged_uploads.stage(form.upload.data, kind.name)
    try:
        summary = _run(kind, path, dry_run=True)
    except _rejected_types() as rejected:
        staged_uploads.discard(token)
        return _page(kind, 422, rejected=_refusal(kind, rejected))
    finally:
        db.session.rollback()  # a dry run only read
    return _page(kind, report=summary.report(dry_run=True).splitlines(),
                 confirm=PlacesConfirmForm(formdata=None, token=token))


def _confirm(kind: _Kind):
    """Import the staged file of this kind, log it, and say what was done."""
    form = PlacesConfirmForm()
    token = (form.token.data or "") if form.validate_on_submit() else ""
    path = staged_uploads.staged(token, kind.name)
    if path is None:
        flash(_("没有找到待导入的文件（可能已导入或已过期），请重新上传。"), "error")
        return redirect(url_for(kind.endpoint))
    try:
        with transaction():
            summary = _run(kind, path, dry_run=False)
            audit.record(current_user, f"{kind.name}_imported", label=path.name[:64], detail=_audit_detail(summary))
    except _rejected_types() as rejected:  # the registry changed since the dry run
        staged_uploads.discard(token)
        return _page(kind, 422, rejected=_refusal(kind, rejected))
    staged_uploads.discard(token)
    for line in summary.report().splitlines():
        flash(line, "success")
    return redirect(url_for("admin.waters_list"))


def _audit_detail(summary) -> dict:
    """What the staff log keeps of an import: names added, changed and taken off boards (no telephones)."""
    detail = {"file": summary.filename, "added": summary.added, "updated": [name for name, _f in summary.updated],
              "unchanged": summary.unchanged}
    if isinstance(summary, chiefs.ChiefsSummary):
        detail.update(removed=summary.removed, unlinked=[name for name, _r in summary.unlinked],
                      outfalls_linked=summary.outfalls_linked)
    return detail









