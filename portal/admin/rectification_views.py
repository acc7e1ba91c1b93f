"""The archive page's rectification part: record the next dated step of a plan, with its photos.

The view parses the form and calls ``registry.rectification.record_step`` inside one transaction; a
refusal draws the archive page again with the message and what was typed (only the photos have to be
chosen again: a browser cannot be given files back).
"""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access
from portal.admin.guard import requires
from portal.admin.outfall_views import outfall_or_404
from portal.db import transaction
from portal.refusal import Refused
from portal.registry import rectification
from portal.registry import vocabulary as vocab


def _photos() -> list[rectification.StepPhoto]:
    """The before and after photos of the request, each read no further than one byte past the size limit."""
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"] + 1
    photos = []
    for kind in rectification.STEP_PHOTO_KINDS:
        for upload in request.files.getlist(f"{kind}_photos"):
            try:
                data = upload.stream.read(limit)
            finally:
                upload.close()
            name = (upload.filename or "").strip()[:120]
            if name or data:  # an input left empty is no photo; an empty named file is refused by name
                photos.append(rectification.StepPhoto(kind=kind, filename=name, data=data))
    return photos


def _day(text: str) -> date | None:
    """The form's date (YYYY-MM-DD, as a date input sends it), or a refusal naming what was typed."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(_("“%(text)s”不是日期，请按 2026-06-30 的格式填写。", text=text)) from None


@requires("view_registry")
def rectification_step(code: str, plan_id: int):
    """Record one step of one plan of the outfall; back to the archive page, or the page with the refusal."""
    outfall = outfall_or_404(code)
    if not (access.can(current_user, "record_rectification", outfall)
            or access.can(current_user, "verify_rectification", outfall)):
        abort(403)
    plan = next((p for p in outfall.plans if p.id == plan_id), None)
    if plan is None:
        abort(404)
    kind = request.form.get("kind", "")
    typed = {"plan_id": plan.id, "kind": kind, "occurred_on": request.form.get("occurred_on", ""),
             "text": request.form.get("text", "")}
    photos: list[rectification.StepPhoto] = []
    try:
        photos = _photos()
        with transaction():
            rectification.record_step(plan, kind, _day(typed["occurred_on"]), typed["text"], current_user,
                                      photos=photos)
    except Refused as refused:
        message = str(refused.message)
        if photos:
            message += _("（所选照片未保存，请重新选择。）")
        actions = {action: access.can(current_user, action, outfall) for action in access.OUTFALL_ACTIONS}
        return render_template("admin/outfalls/outfall.html", outfall=outfall, may=actions,
                               step_form={**typed, "error": message}), 422
    flash(_("已记录：%(step)s。", step=vocab.STEP_KINDS.display(kind)), "success")
    return redirect(url_for("admin.outfall", code=outfall.code, _anchor=f"plan-{plan.id}"))


def next_steps(plan, may: dict[str, bool]) -> list[tuple[str, str]]:
    """The steps the archive page offers for a plan: those its state allows and the account may take,
    as (code, label) pairs."""
    return [(kind, vocab.STEP_KINDS.display(kind)) for kind in rectification.allowed_kinds(plan)
            if may.get(rectification.step_action(plan, kind))]
