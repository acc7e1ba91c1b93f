"""The report form: /reports/new (with a preview), "me too", and the confirmation page."""
from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from portal.citizen.blueprint import bp, refusal_page
from portal.citizen.forms import ReportForm
from portal.citizen.uploads import STAGED_FIELD, read_uploads, staged_from_form, staged_token
from portal.extensions import limiter
from portal.registry import vocabulary as vocab
from portal.i18n import is_english
from portal.db import transaction
from portal.reports import intake, privacy
from portal.reports.queries import find_by_code

NEW_REPORT_KEY = "new_report"  # session key: the private link is shown once, right after submitting


def _submission_limit() -> str:
    """Accepted submissions per address (only the 303 that files a report counts)."""
    return current_app.config["REPORT_RATE_LIMIT"]


def _attempt_limit() -> str:
    """Previews and refused forms per address: a larger budget of their own."""
    return current_app.config["REPORT_ATTEMPT_RATE_LIMIT"]


def _previewing() -> bool:
    """Whether the POST only asks for a preview: it files nothing, so the submission limit does not apply."""
    return bool(request.form.get("preview"))


def _accepted(response) -> bool:
    """Whether the POST filed a report (the redirect to the confirmation)."""
    return response.status_code == 303


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(_submission_limit, methods=["POST"], deduct_when=_accepted, exempt_when=_previewing)
@limiter.limit(_attempt_limit, methods=["POST"], deduct_when=lambda response: not _accepted(response))
def new_report():
    """The form; a POST previews or submits, and any refusal keeps what the resident typed."""
    if request.method != "POST":  # GET, and HEAD like GET
        form = ReportForm(formdata=None)
        form.outfall.data = request.args.get("outfall", "")[:64]
        form.lat.data, form.lon.data = request.args.get("lat", "")[:32], request.args.get("lon", "")[:32]
        form.validate_position_only()
        return _render(form)
    form = ReportForm()
    kept = staged_from_form()  # photos chosen before a preview, staged since
    if form.website.data:
        return _render(form, error=_("提交未被接受。"), status=400)
    valid = form.validate()
    photos, problems = intake.check_photos(read_uploads(request.files.getlist("photos")), already=len(kept))
    if problems:
        return _render(form, kept=kept, error=problems[0], problems=problems, status=400)
    if not valid:
        return _render(form, kept=kept + intake.stage_for_later(photos), status=400)
    if form.preview.data:
        hints = intake.suggestions(photos)
        if hints["position"] and not form.position():
            form.lat.data, form.lon.data = (f"{v:.6f}" for v in hints["position"])
        if hints["taken_at"] and not form.observed_at.data:
            form.observed_at.data = hints["taken_at"].strftime("%Y-%m-%dT%H:%M")
        kept = kept + intake.stage_for_later(photos)
        return _render(form, kept=kept, preview=True, photo_count=len(kept), hints=hints)
    submission = intake.Submission(
        category=form.category.data, description=form.description.data, observed_at=form.observed_time(),
        position=form.position(), address=form.address.data, outfall_code=form.outfall.data or None,
        name=form.reporter_name.data, phone=form.reporter_phone.data, email=form.reporter_email.data,
        anonymous=form.anonymous.data, publication_allowed=form.public.data, photos=photos, staged=kept,
        language="en" if is_english() else "zh",
    )
    try:
        with transaction():
            report, secret = intake.receive(submission)
    except intake.SubmissionRefused as refused:
        return _render(form, kept=kept + intake.stage_for_later(photos), error=str(refused), status=400)
    # The confirmation shows the private link once; the session carries it only encrypted.
    session[NEW_REPORT_KEY] = {"code": report.tracking_code, "sealed": privacy.seal_for_session(secret)}
    return redirect(url_for("reports.submitted", code=report.tracking_code), code=303)


def _render(form, status=200, **context):
    """The form page, with the duplicates near the chosen point and the preview when asked for."""
    position = form.position() if not form.errors.get("lat") and not form.errors.get("lon") else None
    nearby = intake.nearby_open_reports(*position) if position else []
    outfall = context.pop("outfall", None) or intake.find_outfall(form.outfall.data)
    kept = context.pop("kept", [])
    return render_template("reports/new.html", form=form, nearby=nearby, outfall=outfall,
                           categories=vocab.REPORT_CATEGORIES, kept=kept, kept_token=staged_token(kept),
                           staged_field=STAGED_FIELD, **context), status


@refusal_page("reports.new_report", "reports.me_too", "reports.nearby", "reports.submitted")
def refused_form(message: str, status: int):
    """The form again with the reason for a request refused before the view ran, keeping what was
    typed (except after a 413: a body too large cannot be read)."""
    if status == 413:
        return _render(ReportForm(formdata=None), error=message, status=status)
    return _render(ReportForm(), kept=staged_from_form(), error=message, status=status)


@bp.get("/<code>/submitted")
def submitted(code: str):
    """The confirmation: the tracking code, and — once, for the reporter — the private link."""
    report = find_by_code(code)
    if report is None:
        abort(404)
    new = session.get(NEW_REPORT_KEY)
    secret = None
    if isinstance(new, dict) and new.get("code") == report.tracking_code:
        session.pop(NEW_REPORT_KEY)  # shown once: a reload no longer shows it
        secret = privacy.open_from_session(new.get("sealed"))
    response = current_app.make_response(render_template(
        "reports/submitted.html", report=report, secret=secret,
        report_email_sent=bool(secret) and not report.anonymous and report.reporter_email_sealed is not None))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/<code>/me-too")
def me_too(code: str):
    """"I saw this too" on an open report, instead of filing a duplicate."""
    report = find_by_code(code)
    if report is None or report.status not in vocab.OPEN_REPORT_STATUSES:
        abort(404)
    try:
        with transaction():
            counted = intake.add_me_too(report, request.remote_addr or "")
    except intake.AlreadyCounted:  # their other request, a moment ago
        counted = False
    flash(_("已记录：您也看到了这个问题。") if counted else _("您已经对这份举报表示过“我也看到了”。"))
    return redirect(url_for("reports.track", code=report.tracking_code), code=303)


@bp.get("/nearby.json")
def nearby():
    """Open reports near a point, for the form's duplicate check (no personal data, coarse distances)."""
    form = ReportForm(formdata=None)
    form.lat.data, form.lon.data = request.args.get("lat", "")[:32], request.args.get("lon", "")[:32]
    if not form.validate_position_only() or form.position() is None:
        return jsonify({"reports": [], "error": _("请提供有效的纬度和经度（十进制度）。")}), 400
    return jsonify({"reports": [{
        "code": report.tracking_code, "category": vocab.REPORT_CATEGORIES.display(report.category),
        "status": vocab.REPORT_STATUSES.display(report.status), "metres": metres,
        "me_too": report.me_too_count, "url": url_for("reports.track", code=report.tracking_code),
        "me_too_url": url_for("reports.me_too", code=report.tracking_code),
    } for report, metres in intake.nearby_open_reports(*form.position())]})
