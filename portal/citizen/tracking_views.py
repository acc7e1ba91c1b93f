"""Tracking: the public status page, the reporter's private page, and the published reports.

Views parse the request, call one function of ``portal.reports`` (queries, visibility, reporter_actions), and render or redirect;
who may see what is decided there. The private page's address carries the secret, so its responses
are never cached and never send a Referer.
"""
from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from portal import calendar, departments
from portal import photos as photo_pipeline
from portal.citizen.blueprint import bp, refusal_page
from portal.citizen.tracking_forms import AddInformationForm, ConfirmForm, RateForm, ReopenForm
from portal.citizen.uploads import read_uploads
from portal.extensions import limiter
from portal.page_cache import cached_page
from portal.registry.filters import page_number
from portal.db import transaction
from portal.reports import accountability, intake, reporter_actions, visibility
from portal.reports.queries import find_by_code, find_private

REPORTS_PER_PAGE = 50
PUBLIC_PHOTO_MAX_AGE = 300  # seconds: a report taken off the public list stops showing its photos soon
PRIVATE_ENDPOINTS = frozenset({
    "reports.private", "reports.private_photo", "reports.add_information", "reports.confirm_fixed",
    "reports.reopen", "reports.rate",
})



def _reporter_action_limit() -> str:
    """POSTs of private pages per address, all actions together (REPORTER_ACTION_RATE_LIMIT)."""
    return current_app.config["REPORTER_ACTION_RATE_LIMIT"]


# One budget shared by every action of the private page: uploads, confirmations, reopenings, ratings.
reporter_action_limit = limiter.shared_limit(_reporter_action_limit, scope="reporter-action", methods=["POST"])


@bp.get("")
@cached_page("reports", "registry")  # town and department names come from the registry
def report_list():
    """The published reports, newest first, with a tracking-code lookup (``?code=``).

    ``town``, ``department``, ``period`` and ``measure`` narrow the list to the published reports a
    figure of /progress counts; a value that cannot be read is dropped and named on the page (400).
    """
    code = request.args.get("code")
    lookup_failed = False
    if code is not None:
        report = find_by_code(code)
        if report is not None:
            return redirect(url_for(".track", code=report.tracking_code), 303)
        lookup_failed = True
    today = calendar.today()
    report_filter = accountability.parse_filter(request.args, today, department_name=departments.display)
    page = page_number(request.args.get("page"))
    pagination = accountability.published_reports(report_filter, today, page=page, per_page=REPORTS_PER_PAGE)
    status = 400 if report_filter.problems else 200
    return render_template("reports/list.html", pagination=pagination, code=code or "",
                           lookup_failed=lookup_failed, report_filter=report_filter), status


@bp.get("/<code>")
@cached_page("reports", "registry")  # town and department names come from the registry
def track(code: str):
    """A report's public status page: timeline, handling town and department, deadlines; nothing personal."""
    report = find_by_code(code)
    if report is None:
        abort(404)
    if code != report.tracking_code:
        return redirect(url_for(".track", code=report.tracking_code), 301)
    response = make_response(render_template("reports/track.html", report=visibility.public_view(report)))
    if not report.published:
        response.headers["X-Robots-Tag"] = "noindex"  # reachable by its code, not meant for search engines
    return response


@bp.get("/<code>/photos/<int:photo_id>")
def public_photo(code: str, photo_id: int):
    """A photo of a published report (``?thumb=1`` for its thumbnail); 404 for any other."""
    report = find_by_code(code)
    photo = report and visibility.photo_of(report, photo_id, private=False)
    if not photo:
        abort(404)
    response = _photo_response(photo, private=False)
    response.cache_control.public = True
    response.cache_control.max_age = PUBLIC_PHOTO_MAX_AGE
    return response


@bp.get("/<code>/private/<secret>")
def private(code: str, secret: str):
    """The reporter's own page: their report, photos and contact, the full timeline, and their actions."""
    return _private_page(_private_report(code, secret), secret)


@bp.get("/<code>/private/<secret>/photos/<int:photo_id>")
def private_photo(code: str, secret: str, photo_id: int):
    """Any photo of the reporter's own report (``?thumb=1`` for its thumbnail)."""
    photo = visibility.photo_of(_private_report(code, secret), photo_id, private=True)
    if photo is None:
        abort(404)
    return _photo_response(photo, private=True)


@bp.post("/<code>/private/<secret>/information")
@reporter_action_limit
def add_information(code: str, secret: str):
    """The reporter adds a note and/or photos; refused photos leave nothing stored and keep the text."""
    report = _private_report(code, secret)
    form = AddInformationForm()
    if not form.validate_on_submit():
        return _refused(report, secret, form, "information")
    cleaned, problems = intake.check_photos(read_uploads(request.files.getlist(form.photos.name)),
                                            already=len(report.photos))
    if problems:
        return _refused(report, secret, form, "information", problems)
    try:
        with transaction():
            reporter_actions.add_information(report, form.text.data, cleaned,
                                             storage=photo_pipeline.storage_for(current_app))
    except reporter_actions.ReportActionRefused as refusal:
        return _refused(report, secret, form, "information", [refusal.message])
    flash(_("已收到您补充的信息，已转给承办单位。"), "success")
    return _back(code, secret)


@bp.post("/<code>/private/<secret>/confirm")
@reporter_action_limit
def confirm_fixed(code: str, secret: str):
    """The reporter confirms the problem is fixed."""
    return _reporter_action(code, secret, "confirm", ConfirmForm, lambda report, form: reporter_actions.confirm_fixed(report),
                            _("感谢您的确认。这份举报已标记为问题已解决。"))


@bp.post("/<code>/private/<secret>/reopen")
@reporter_action_limit
def reopen(code: str, secret: str):
    """The reporter reopens the report, with the reason."""
    return _reporter_action(code, secret, "reopen", ReopenForm,
                            lambda report, form: reporter_actions.reopen(report, form.reason.data),
                            _("举报已重新打开，承办单位会继续办理。"))


@bp.post("/<code>/private/<secret>/rate")
@reporter_action_limit
def rate(code: str, secret: str):
    """The reporter rates the handling."""
    return _reporter_action(code, secret, "rate", RateForm,
                            lambda report, form: reporter_actions.rate(report, form.stars.data, form.comment.data),
                            _("感谢您的评价。"))


def _reporter_action(code: str, secret: str, name: str, form_class, action, thanks: str):
    """One action of the reporter's private page: check the form, run the action, thank or refuse.

    A refusal shows the private page again with what was typed; success goes back to it (303).
    """
    report = _private_report(code, secret)
    form = form_class()
    if not form.validate_on_submit():
        return _refused(report, secret, form, name)
    try:
        with transaction():
            action(report, form)
    except reporter_actions.ReportActionRefused as refusal:
        return _refused(report, secret, form, name, [refusal.message])
    flash(thanks, "success")
    return _back(code, secret)


@bp.after_request
def protect_private_pages(response: Response) -> Response:
    """Keep the private link's secret out of caches, other sites' logs and search engines."""
    if request.endpoint in PRIVATE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.errorhandler(404)
def report_not_found(_error):
    """A Chinese 'no such report' page, with the tracking-code lookup."""
    return render_template("reports/not_found.html"), 404


# The private page's form each action posts, by endpoint: a refusal shows that form again.
ACTION_FORMS = {
    "reports.add_information": ("information", AddInformationForm),
    "reports.confirm_fixed": ("confirm", ConfirmForm),
    "reports.reopen": ("reopen", ReopenForm),
    "reports.rate": ("rate", RateForm),
}


@refusal_page(*ACTION_FORMS)
def refused_on_private_page(message: str, status: int):
    """The private page again with the reason, for an action refused before its view ran (413, 429,
    stale CSRF), keeping what the reporter typed (except after a 413: that body cannot be read);
    None when the private link is wrong (the report form answers instead)."""
    args = request.view_args or {}
    secret = args.get("secret", "")
    report = find_private(args.get("code", ""), secret)
    if report is None:
        return None
    name, form_class = ACTION_FORMS[request.endpoint]
    form = form_class(formdata=None) if status == 413 else form_class()
    return _private_page(report, secret, forms={name: form}, problems=[message], failed=name, status=status)


# Helpers ----------------------------------------------------------------------------------------------


def _private_report(code: str, secret: str):
    """The report this private link opens, or 404 (a wrong secret looks like no report at all)."""
    report = find_private(code, secret)
    if report is None:
        abort(404)
    return report


def _private_page(report, secret: str, forms: dict | None = None, problems: list[str] | None = None,
                  failed: str | None = None, status: int = 200):
    """Render the private page, with the forms as submitted when one was refused."""
    forms = forms or {}
    forms.setdefault("information", AddInformationForm(formdata=None))
    forms.setdefault("confirm", ConfirmForm(formdata=None))
    forms.setdefault("reopen", ReopenForm(formdata=None))
    forms.setdefault("rate", RateForm(formdata=None))
    html = render_template("reports/private.html", report=visibility.private_view(report, calendar.today()),
                           secret=secret, forms=forms, problems=problems or [], failed=failed)
    return html, status


def _refused(report, secret: str, form, name: str, problems: list[str] | None = None):
    """The private page again, status 422, with the refusal and what the reporter typed."""
    # A stale CSRF token never gets here: the blueprint's CSRFError handler answers it first.
    return _private_page(report, secret, forms={name: form}, problems=list(problems or []), failed=name, status=422)


def _back(code: str, secret: str):
    """303 back to the private page, where the flashed message is shown."""
    return redirect(url_for(".private", code=code, secret=secret), 303)


def _photo_response(photo, *, private: bool) -> Response:
    """The photo's cleaned JPEG (or ``?thumb=1`` its thumbnail) from the photo storage: for the public,
    the redacted copy where staff made one."""
    image, thumbnail = visibility.served_keys(photo, private=private)
    key = thumbnail if request.args.get("thumb") == "1" else image
    try:
        data = photo_pipeline.storage_for(current_app).open(key)
    except (FileNotFoundError, ValueError):
        abort(404)
    response = Response(data, mimetype=photo_pipeline.CONTENT_TYPE)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response
