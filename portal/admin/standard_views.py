"""The back office's standards: the standards page (list, add, change, remove the bureau's own) and,
on an outfall's archive page, the standard that judges its effluent and its discharge permits.

Every change judges the results again through ``portal.monitoring.standards`` and says how many
changed verdict; the domain work is in ``portal.monitoring.operations``.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access, calendar
from portal.admin.guard import requires
from portal.admin.outfall_views import outfall_or_404
from portal.admin.standard_forms import OutfallStandardForm, PermitForm, ReasonForm, StandardForm
from portal.db import transaction
from portal.extensions import db
from portal.models import DischargeStandard
from portal.monitoring import operations
from portal.monitoring.operations import StandardRefused
from portal.public import outfall_record


def _me():
    return current_user._get_current_object()


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _show_refusal(form, refused: StandardRefused) -> None:
    """Put a refusal beside its field, its limit row, or at the top of the form."""
    field = getattr(form, refused.field, None) if refused.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(refused)]
    else:
        form.form_errors.append(str(refused))
    if refused.row and hasattr(form, "limits") and refused.row <= len(form.limits.entries):
        form.limits.entries[refused.row - 1].form.parameter.errors = [str(refused)]


def _changed_message(tally: operations.Rejudged) -> str:
    """How many results judging again changed, in words."""
    if not tally.judged:
        return _("没有需要重新评价的监测结果。")
    return _("已重新评价 %(judged)s 个监测结果，其中 %(changed)s 个评价结论改变。", judged=tally.judged,
             changed=tally.changed)


def _status(form) -> int:
    return 400 if form.errors or form.form_errors else 200


# --- the standards page ------------------------------------------------------------------------------


@requires("manage_standards")
def standards():
    """Every standard with its limits, the permits on record, and the way to add a standard."""
    return render_template("admin/standards/list.html", standards=operations.every_standard(),
                           permits=operations.every_permit(), standard_label=outfall_record.standard_label,
                           bounds_text=outfall_record.bounds_text, condition_text=outfall_record.condition_text,
                           parameter_heading=outfall_record.parameter_heading)


@requires("manage_standards")
def standard_new():
    """Add a discharge standard (e.g. the province's for rural facilities) with its limits."""
    form = StandardForm()
    if form.validate_on_submit():
        try:
            with transaction():
                standard, tally = operations.add_standard(
                    _me(), code=form.code.data, grade=form.grade.data or "", title=form.title.data,
                    scope=form.scope.data, note=form.note.data, limits=form.limit_rows(), zone=_zone())
                label = standard.label.strip()
        except StandardRefused as refused:
            _show_refusal(form, refused)
        else:
            flash(_("已添加标准 %(label)s。", label=label) + _changed_message(tally), "success")
            return redirect(url_for("admin.standards"))
    return render_template("admin/standards/form.html", form=form, standard=None), _status(form)


def _standard_or_404(standard_id: int) -> DischargeStandard:
    standard = db.session.get(DischargeStandard, standard_id) if standard_id < 2**31 else None
    if standard is None or standard.kind == operations.PERMIT_KIND:
        abort(404)
    return standard


@requires("manage_standards")
def standard_edit(standard_id: int):
    """Change a standard the bureau added; a shipped one is shown as read-only."""
    standard = _standard_or_404(standard_id)
    if standard.is_builtin:
        flash(_("%(label)s 是随系统发布的国家标准，不能修改或删除。", label=standard.label.strip()), "error")
        return redirect(url_for("admin.standards"))
    form = StandardForm()
    if not form.is_submitted():
        form = StandardForm(formdata=None, data={"code": standard.code, "grade": standard.grade,
                                                 "title": standard.title, "scope": standard.scope,
                                                 "note": standard.note})
        form.fill_limits(standard.limits)
    elif form.validate():
        try:
            with transaction():
                tally = operations.update_standard(
                    _me(), standard, code=form.code.data, grade=form.grade.data or "", title=form.title.data,
                    scope=form.scope.data, note=form.note.data, limits=form.limit_rows(), zone=_zone())
                label = standard.label.strip()
        except StandardRefused as refused:
            _show_refusal(form, refused)
        else:
            flash(_("已保存标准 %(label)s。", label=label) + _changed_message(tally), "success")
            return redirect(url_for("admin.standards"))
    return render_template("admin/standards/form.html", form=form, standard=standard), _status(form)


@requires("manage_standards")
def standard_delete(standard_id: int):
    """Remove a standard the bureau added (never a shipped one, nor one an outfall is set to)."""
    standard = _standard_or_404(standard_id)
    label = standard.label.strip()
    try:
        with transaction():
            tally = operations.delete_standard(_me(), standard, _zone())
    except StandardRefused as refused:
        flash(str(refused), "error")
    else:
        flash(_("已删除标准 %(label)s。", label=label) + _changed_message(tally), "success")
    return redirect(url_for("admin.standards"))


# --- one outfall: its standard and permits ---------------------------------------------------------


def standard_panel(outfall, form: OutfallStandardForm | None = None) -> dict:
    """What templates/admin/outfalls/_standard.html draws: what applies now and why, the permits,
    and the form to choose another standard."""
    basis = outfall_record.monitoring_basis(outfall, calendar.today())
    if form is None:
        form = OutfallStandardForm(formdata=None, data={"standard": str(outfall.standard_id or "")})
    form.fill_choices(operations.effluent_standards(), outfall_record.standard_label)
    return {"basis": basis, "form": form, "delete_form": ReasonForm(formdata=None),
            "standard_label": outfall_record.standard_label, "bounds_text": outfall_record.bounds_text,
            "condition_text": outfall_record.condition_text, "parameter_name": outfall_record.parameter_name,
            "parameter_heading": outfall_record.parameter_heading}


def archive_context() -> dict:
    """The archive page's helper for the standard partial (a context processor of the back office)."""
    return {"standard_panel": standard_panel}


def _archive_with(outfall, form: OutfallStandardForm):
    """The archive page again, with the standard form and its errors (400)."""
    actions = {action: access.can(current_user, action, outfall) for action in access.OUTFALL_ACTIONS}
    return render_template("admin/outfalls/outfall.html", outfall=outfall, may=actions, standard_form=form), 400


@requires("view_registry")
def outfall_standard(code: str):
    """Set the standard that judges the outfall's effluent (or back to the rule), with a reason."""
    outfall = outfall_or_404(code, "set_standard")
    form = OutfallStandardForm()
    form.fill_choices(operations.effluent_standards(), outfall_record.standard_label)
    if not form.validate_on_submit():
        return _archive_with(outfall, form)
    chosen = db.session.get(DischargeStandard, int(form.standard.data)) if form.standard.data else None
    try:
        with transaction():
            tally = operations.set_outfall_standard(_me(), outfall, chosen, form.reason.data, _zone())
    except StandardRefused as refused:
        _show_refusal(form, refused)
        return _archive_with(outfall, form)
    flash((_("已指定执行 %(label)s。", label=chosen.label.strip()) if chosen
           else _("已改为按排污口类型规则确定适用标准。")) + _changed_message(tally), "success")
    return redirect(url_for("admin.outfall", code=outfall.code) + "#standard")


@requires("view_registry")
def permit_new(code: str):
    """Record a discharge permit of the outfall: number, validity and limits."""
    outfall = outfall_or_404(code, "set_standard")
    form = PermitForm()
    if form.validate_on_submit():
        try:
            with transaction():
                _permit, tally = operations.add_permit(
                    _me(), outfall, number=form.number.data, valid_from=form.valid_from.data,
                    valid_until=form.valid_until.data, limits=form.limit_rows(), note=form.note.data,
                    zone=_zone())
        except StandardRefused as refused:
            _show_refusal(form, refused)
        else:
            flash(_("已登记排污许可证 %(number)s。", number=form.number.data.strip()) + _changed_message(tally),
                  "success")
            return redirect(url_for("admin.outfall", code=outfall.code) + "#standard")
    return render_template("admin/standards/permit_form.html", form=form, outfall=outfall), _status(form)


@requires("view_registry")
def permit_delete(code: str, permit_id: int):
    """Remove a permit recorded by mistake or withdrawn, with a reason."""
    outfall = outfall_or_404(code, "set_standard")
    permit = next((p for p in outfall.permits if p.id == permit_id), None)
    if permit is None:
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("删除许可证须填写原因。"), "error")
        return redirect(url_for("admin.outfall", code=outfall.code) + "#standard")
    number = permit.code
    try:
        with transaction():
            tally = operations.delete_permit(_me(), outfall, permit, form.reason.data, _zone())
    except StandardRefused as refused:
        flash(str(refused), "error")
    else:
        flash(_("已删除排污许可证 %(number)s。", number=number) + _changed_message(tally), "success")
    return redirect(url_for("admin.outfall", code=outfall.code) + "#standard")
