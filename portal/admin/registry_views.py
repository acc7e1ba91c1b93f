"""The registry's back-office changes: editing one outfall with a reason, and uploading a ledger.

An upload is checked first (a dry run with the CLI's own importer) and imported only when the clerk
confirms, from the very file checked, kept meanwhile by ``portal.admin.staged_uploads``.
"""
from __future__ import annotations

from pathlib import Path

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.admin import staged_uploads
from portal.admin.guard import requires
from portal.admin.outfall_views import outfall_or_404
from portal.admin.registry_forms import LedgerConfirmForm, LedgerUploadForm, OutfallEditForm
from portal.db import transaction
from portal.extensions import db
from portal.registry import editing, ledger_import
from portal.registry.ledger_format import COLUMNS_BY_FIELD

UPLOAD_KIND = "ledger"  # what portal.admin.staged_uploads keeps the file as


def _me():
    """The signed-in account itself (not the proxy), for history and the audit log."""
    return current_user._get_current_object()


# --- editing one outfall --------------------------------------------------------------------------

@requires("view_registry")
def outfall_edit(code: str):
    """Edit an outfall's ledger fields; every changed field goes into its history with who and why."""
    record = outfall_or_404(code, "edit")
    form = OutfallEditForm()
    form.fill_choices()
    if not form.is_submitted():
        form.fill_from(record)
    status = 200
    if form.validate_on_submit():
        try:
            with transaction():
                changes = editing.edit_outfall(record, form.values(), _me(), form.reason.data)
        except editing.EditRefused as refused:
            for field, message in refused.errors.items():
                getattr(form, field).errors = [*getattr(form, field).errors, message]
            status = 422
        else:
            if changes:
                flash(_("已保存 %(n)s 项修改，已记入修改记录。", n=len(changes)), "success")
            else:
                flash(_("没有修改任何内容。"), "info")
            return redirect(url_for("admin.outfall", code=record.code))
    elif form.is_submitted():
        status = 422
    return render_template("admin/outfalls/edit.html", outfall=record, form=form), status


# --- uploading a ledger ---------------------------------------------------------------------------

@requires("import_registry")
def ledger_upload():
    """Choose a ledger file; on upload, stage it and show the dry run."""
    form = LedgerUploadForm()
    if not form.validate_on_submit():
        return render_template("admin/outfalls/import.html", form=form), 422 if form.is_submitted() else 200
    token, path = staged_uploads.stage(form.ledger.data, UPLOAD_KIND)
    return _dry_run(token, path, create_towns=[])


@requires("import_registry")
def ledger_confirm():
    """Check again with the new towns ticked, or import exactly the staged file, all or nothing."""
    form = LedgerConfirmForm()
    token = form.token.data or ""
    path = staged_uploads.staged(token, UPLOAD_KIND)
    if path is None:
        return render_template("admin/outfalls/import.html", form=LedgerUploadForm(formdata=None),
                               error=_("这次上传已过期或不属于当前登录（文件只保留 1 小时）。请重新上传台账。")), 400
    towns = [name for name in form.create_towns.data or [] if name]
    if not form.submit.data:
        return _dry_run(token, path, create_towns=towns)
    try:
        with transaction():
            result = ledger_import.import_ledger(path, create_towns=towns)
            audit.record(_me(), "ledger_imported", label=result.filename[:64],
                         detail={"added": len(result.added), "changed": len(result.changed),
                                 "new_towns": result.new_towns})
    except ledger_import.LedgerRejected as rejected:
        # The registry changed since the dry run (or a town was not ticked): nothing was written.
        return _render_check(token, path, None, rejected, towns), 422
    staged_uploads.discard(token)
    return render_template("admin/outfalls/import_done.html", result=result, describe=_describe)


def _dry_run(token: str, path: Path, create_towns: list[str]):
    """Run the importer without writing and show what it would do, or why it refuses the file."""
    try:
        result = ledger_import.import_ledger(path, dry_run=True, create_towns=create_towns)
    except ledger_import.LedgerRejected as rejected:
        db.session.rollback()
        return _render_check(token, path, None, rejected, create_towns), 422
    db.session.rollback()  # a dry run only reads
    return _render_check(token, path, result, None, create_towns), 200


def _render_check(token, path, result, rejected, create_towns):
    """The dry-run page: additions, changes (field old → new), refusals by row and column."""
    form = LedgerConfirmForm(formdata=None, token=token)
    offered = list(dict.fromkeys([*(rejected.unknown_towns if rejected else []),
                                  *(result.new_towns if result else [])]))
    form.create_towns.choices = [(name, name) for name in offered]
    form.create_towns.data = [name for name in create_towns if name in offered]
    return render_template("admin/outfalls/import_check.html", form=form, result=result, rejected=rejected,
                           filename=ledger_import.display_name(path), describe=_describe)


def _describe(change) -> list[tuple[str, str, str]]:
    """One outfall's changes as (column, old, new), written as the ledger writes them."""
    return [(COLUMNS_BY_FIELD[field].header, ledger_import.display(field, old), ledger_import.display(field, new))
            for field, old, new in change.changes]









