"""The back office's report pages: the queues, one report with its steps, moderation, the contact
behind its explicit action, reports typed in by staff, and exports.

Each view parses the form, calls one function of ``portal.reports`` inside ``transaction()``, and
renders or redirects; who may do what is decided by ``portal.access`` (the guard for the page,
the domain for the report). A report outside the account's scope is 404, as if it did not exist.
"""
from __future__ import annotations

import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal import access, audit, calendar, departments, workflow
from portal import photos as photo_pipeline
from portal.admin import report_forms as forms
from portal.admin.guard import requires
from portal.citizen.uploads import read_uploads
from portal.db import transaction
from portal.extensions import db
from portal.models import Account, Department, Town
from portal.registry.filters import page_number
from portal.reports import intake, operations, queries, reply_templates, rich_text, timeline, visibility
from portal.reports.operations import StepRefused

PER_PAGE = 50


def _me() -> Account:
    return current_user._get_current_object()


def _report_or_404(code: str):
    report = queries.visible_report(_me(), code)
    if report is None:
        abort(404)
    return report


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _filters(form: forms.QueueFilterForm) -> queries.QueueFilter:
    return queries.QueueFilter(
        town_id=_int_or_none(form.town.data), water_body_id=_int_or_none(form.river.data),
        department_code=form.department.data or None, category=form.category.data or None,
        status=form.status.data or None, channel=form.channel.data or None, search=form.q.data or None)


@requires("view_reports")
def queue():
    """A queue (new, mine, due soon, overdue, open, all) with filters, search and bulk assignment."""
    name = request.args.get("queue", "new")
    if name not in queries.QUEUES:
        name = "new"
    form = forms.QueueFilterForm(request.args).fill_choices()
    problems = [] if form.validate() else [f"{form[key].label.text}：{' '.join(str(e) for e in errors)}"
                                           for key, errors in form.errors.items()]
    filters = _filters(form) if not problems else queries.QueueFilter()
    today = calendar.today()
    pagination = queries.queue_page(_me(), name, filters, page=page_number(request.args.get("page")),
                                    per_page=PER_PAGE, today=today)
    return render_template("admin/reports/queue.html", queue=name, form=form, pagination=pagination,
                           counts=queries.queue_counts(_me(), today), problems=problems, today=today,
                           bulk=forms.BulkAssignForm().fill_choices(), queue_labels=queries.QUEUE_LABELS,
                           can_assign=access.may_take(_me(), "assign"),
                           can_enter=access.can(_me(), "enter_report"),
                           page_url=lambda number: url_for("admin.queue", **{**request.args.to_dict(), "page": number})), \
        400 if problems else 200


@requires("view_reports")
def bulk_assign():
    """Assign the ticked reports of a queue; each one the account may not assign is named."""
    form = forms.BulkAssignForm().fill_choices()
    back = request.form.get("back") or url_for("admin.queue")
    if not back.startswith("/admin"):
        back = url_for("admin.queue")
    if not form.validate_on_submit():
        flash(_("请重新提交：表单已过期或选项无效。"), "error")
        return redirect(back, code=303)
    town, department, person = _targets(form.town.data, form.department.data, form.person.data)
    done, refused = [], []
    for code in form.codes.data or []:
        report = queries.visible_report(_me(), code)
        if report is None:
            refused.append(f"{code}：{_('找不到这份举报。')}")
            continue
        try:
            with transaction():
                operations.assign(_me(), report, town=town, department=department, person=person)
            done.append(report.tracking_code)
        except StepRefused as refusal:
            refused.append(f"{report.tracking_code}：{refusal.message}")
    if done:
        flash(_("已交办 %(n)s 份举报：%(codes)s。", n=len(done), codes="、".join(done)), "success")
    for line in refused:
        flash(line, "error")
    if not done and not refused:
        flash(_("请先勾选要交办的举报。"), "error")
    return redirect(back, code=303)


def _targets(town_id, department_code, person_id):
    """The town, department and person a form names (None where it names none)."""
    town = db.session.get(Town, int(town_id)) if town_id else None
    department = db.session.get(Department, department_code) if department_code else None
    person = db.session.get(Account, int(person_id)) if person_id else None
    return town, department, person


def _step_forms(report, posted: dict | None = None) -> dict:
    """The forms of the steps this account may take on the report now (one of them as posted)."""
    me = _me()
    made = {
        "accept": forms.EmptyForm, "start": forms.EmptyForm, "close": forms.EmptyForm,
        "reject": lambda **kw: forms.RejectForm(**kw).fill_choices(),
        "assign": lambda **kw: forms.AssignForm(**kw).fill_choices(),
        "answer": forms.AnswerForm, "extend": forms.ExtendForm,
        "transfer": lambda **kw: forms.TransferForm(**kw).fill_choices(),
        "merge": forms.MergeForm, "note": forms.NoteForm,
    }
    open_steps = {}
    for name, make in made.items():
        if name == "extend" and report.extension_days:
            continue
        if access.can(me, name, report):
            open_steps[name] = (posted or {}).get(name) or make(formdata=None, prefix=name)
    return open_steps


def _page(report, *, posted: dict | None = None, error: str | None = None, contact: dict | None = None,
          status: int = 200):
    """The report page: facts, routing, deadlines, photos, the whole timeline, the open steps."""
    me = _me()
    today = calendar.today()
    steps = _step_forms(report, posted)
    if "answer" in steps and not steps["answer"].reply.data:
        steps["answer"].reply.data = ""
    moderation = access.can(me, "moderate", report)
    deadline_years = calendar.years_without_notice(report.accept_due, report.finish_due)
    html = render_template(
        "admin/reports/report.html", report=report, view=visibility.public_view(report, today), steps=steps,
        error=error, contact=contact, today=today, deadline_years=deadline_years,
        contact_form=(posted or {}).get("contact") or forms.ContactForm(formdata=None)
        if access.can(me, "view_contact", report) else None,
        moderation=moderation, description_form=(posted or {}).get("description") or forms.DescriptionForm(
            formdata=None, text=visibility.public_description(report)) if moderation else None,
        photo_forms={p.id: forms.PhotoModerationForm(formdata=None, prefix=f"photo{p.id}") for p in report.photos}
        if moderation else {},
        publish_form=forms.EmptyForm(formdata=None), public_photo_ids={p.id for p in visibility.public_photos(report)},
        reply_templates=reply_templates.templates_for(report.category),
        rejection_reasons=workflow.REJECTION_REASONS, channels=intake.CHANNELS,
        department_name=departments.display(report.department), entry_text=timeline.text_of,
        clean_reply=lambda html: Markup(rich_text.clean(html, limit=len(html) + 1)))
    return html, status


@requires("view_reports")
def report(code: str):
    """One report as its handlers see it."""
    return _page(_report_or_404(code))


@requires("view_reports")
def take_step(code: str, step: str):
    """Take one workflow step on the report (POST); a refusal shows the page again with what was typed."""
    report = _report_or_404(code)
    steps = {
        "accept": (forms.EmptyForm, lambda f: operations.accept(_me(), report)),
        "start": (forms.EmptyForm, lambda f: operations.start(_me(), report)),
        "close": (forms.EmptyForm, lambda f: operations.close(_me(), report)),
        "reject": (lambda **kw: forms.RejectForm(**kw).fill_choices(),
                   lambda f: operations.reject(_me(), report, f.reason.data, f.explanation.data)),
        "assign": (lambda **kw: forms.AssignForm(**kw).fill_choices(),
                   lambda f: operations.assign(_me(), report, *_targets_dict(f), note=f.note.data)),
        "answer": (forms.AnswerForm, lambda f: _answer(report, f)),
        "extend": (forms.ExtendForm, lambda f: operations.extend(_me(), report, f.days.data, f.reason.data)),
        "transfer": (lambda **kw: forms.TransferForm(**kw).fill_choices(),
                     lambda f: operations.transfer(_me(), report, f.reason.data,
                                                   town=_targets(f.town.data, None, None)[0],
                                                   department=_targets(None, f.department.data, None)[1])),
        "merge": (forms.MergeForm, lambda f: _merge(report, f)),
        "note": (forms.NoteForm, lambda f: operations.add_note(_me(), report, f.text.data)),
    }
    if step not in steps:
        abort(404)
    make, run = steps[step]
    form = make(prefix=step)  # each step's form has its own prefix: several share one page
    if not form.validate_on_submit():
        return _page(report, posted={step: form}, error=_form_problem(form), status=400)
    try:
        with transaction():
            run(form)
    except StepRefused as refusal:
        db.session.expire_all()
        return _page(_report_or_404(code), posted={step: form}, error=refusal.message, status=400)
    flash(_("已完成：%(step)s。", step=step_label(step)), "success")
    return redirect(url_for("admin.report", code=report.tracking_code), code=303)


def step_label(step: str) -> str:
    """A step's name as staff read it, in their language."""
    labels = {"accept": _("受理"), "reject": _("不予受理"), "assign": _("交办"), "start": _("开始办理"),
              "answer": _("答复办结"), "close": _("结案"), "extend": _("延长答复期限"), "transfer": _("转交"),
              "merge": _("合并重复举报"), "note": _("内部备注")}
    return labels.get(step, step)


def _targets_dict(form):
    return _targets(form.town.data, form.department.data, form.person.data)


def _answer(report, form):
    uploads = read_uploads(request.files.getlist(form.photos.name))
    cleaned, problems = intake.check_photos(uploads)
    if problems:
        raise StepRefused(problems[0])
    return operations.answer(_me(), report, form.reply.data, cleaned, storage=photo_pipeline.storage_for(current_app))


def _merge(report, form):
    into = queries.visible_report(_me(), form.into.data)
    if into is None:
        raise StepRefused(_("找不到查询码为 %(code)s 的举报。", code=form.into.data))
    return operations.merge(_me(), report, into, form.reason.data)


def _form_problem(form) -> str:
    """The first problem of a form, for the alert at the top of the page."""
    if "csrf_token" in form.errors:
        return _("表单已过期，请重新提交。")
    for name, errors in form.errors.items():
        return f"{form[name].label.text}：{' '.join(str(e) for e in errors)}"
    return _("请检查填写的内容。")


@requires("view_reports")
def view_contact(code: str):
    """查看联系方式: the reporter's contact, shown once on this response, the viewing logged with its reason."""
    report = _report_or_404(code)
    form = forms.ContactForm()
    if not form.validate_on_submit():
        return _page(report, posted={"contact": form}, error=_form_problem(form), status=400)
    try:
        with transaction():
            contact = operations.view_contact(_me(), report, form.reason.data)
    except StepRefused as refusal:
        return _page(report, posted={"contact": form}, error=refusal.message, status=403)
    return _page(report, contact=contact)


@requires("view_reports")
def publication(code: str, action: str):
    """Publish or unpublish the report (moderation)."""
    report = _report_or_404(code)
    if action not in ("publish", "unpublish") or not forms.EmptyForm().validate_on_submit():
        return _page(report, error=_("表单已过期，请重新提交。"), status=400)
    try:
        with transaction():
            (operations.publish if action == "publish" else operations.unpublish)(report, actor=_me())
    except StepRefused as refusal:
        return _page(report, error=refusal.message, status=403)
    flash(_("已公开这份举报。") if action == "publish" else _("已取消公开这份举报。"), "success")
    return redirect(url_for("admin.report", code=report.tracking_code), code=303)


@requires("view_reports")
def redact_description(code: str):
    """Set the description the public reads."""
    report = _report_or_404(code)
    form = forms.DescriptionForm()
    if not form.validate_on_submit():
        return _page(report, posted={"description": form}, error=_form_problem(form), status=400)
    try:
        with transaction():
            operations.redact_description(_me(), report, form.text.data)
    except StepRefused as refusal:
        return _page(report, posted={"description": form}, error=refusal.message, status=400)
    flash(_("已保存公开的描述。"), "success")
    return redirect(url_for("admin.report", code=report.tracking_code), code=303)


@requires("view_reports")
def moderate_photo(code: str, photo_id: int):
    """Show, blur or hide one photo in public."""
    report = _report_or_404(code)
    photo = visibility.photo_of(report, photo_id, private=True)
    if photo is None:
        abort(404)
    form = forms.PhotoModerationForm(prefix=f"photo{photo.id}")
    if not form.validate_on_submit():
        return _page(report, error=_form_problem(form), status=400)
    try:
        with transaction():
            operations.moderate_photo(_me(), report, photo, form.mode.data, regions=form.region(),
                                      storage=photo_pipeline.storage_for(current_app))
    except StepRefused as refusal:
        return _page(report, error=refusal.message, status=400)
    flash(_("已保存照片的处理方式。"), "success")
    return redirect(url_for("admin.report", code=report.tracking_code) + f"#photo-{photo.id}", code=303)


@requires("view_reports")
def photo(code: str, photo_id: int):
    """Any photo of a report the account may see, as stored (``?thumb=1``; ``?public=1`` the public copy)."""
    report = _report_or_404(code)
    found = visibility.photo_of(report, photo_id, private=True)
    if found is None:
        abort(404)
    image, thumbnail = visibility.served_keys(found, private=request.args.get("public") != "1")
    try:
        data = photo_pipeline.storage_for(current_app).open(thumbnail if request.args.get("thumb") == "1" else image)
    except (FileNotFoundError, ValueError):
        abort(404)
    response = Response(data, mimetype=photo_pipeline.CONTENT_TYPE)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@requires("enter_report")
def new_report():
    """A report that arrived by telephone (12345 forwards) or in person, through the same intake."""
    form = forms.StaffReportForm().fill_choices()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("admin/reports/new.html", form=form,
                               error=_form_problem(form) if status == 400 else None), status
    position = None
    if form.latitude.data is not None and form.longitude.data is not None:
        position = (float(form.latitude.data), float(form.longitude.data))
    submission = intake.Submission(
        category=form.category.data, description=form.description.data, position=position,
        address=form.address.data, outfall_code=form.outfall.data or None, name=form.reporter_name.data,
        phone=form.reporter_phone.data, email=form.reporter_email.data, anonymous=form.anonymous.data,
        publication_allowed=form.publication_allowed.data)
    try:
        with transaction():
            report, _secret = intake.receive(submission, channel=form.channel.data, actor=_me())
    except intake.SubmissionRefused as refused:
        return render_template("admin/reports/new.html", form=form, error=str(refused)), 400
    flash(_("已录入举报 %(code)s，按网上举报同样的规则分派。", code=report.tracking_code), "success")
    if queries.visible_report(_me(), report.tracking_code) is None:
        return redirect(url_for("admin.queue"), code=303)  # routed outside the officer's own scope
    return redirect(url_for("admin.report", code=report.tracking_code), code=303)


@requires("export_reports")
def export(fmt: str):
    """The reports this account may see (with the queue's filters) as CSV or XLSX; never the contact."""
    from portal.reports import exports

    form = forms.QueueFilterForm(request.args).fill_choices()
    filters = _filters(form) if form.validate() else queries.QueueFilter()
    condition = queries.matching(_me(), filters)
    with transaction():  # the reports leave the portal: the staff log says who took which
        audit.record(_me(), "reports_exported", detail={"format": fmt, **{
            key: value for key, value in vars(filters).items() if value not in (None, "")}})
    day = calendar.today().isoformat()
    english = request.args.get("lang") == "en"
    if fmt == "csv":
        buffer = io.StringIO()
        exports.write_csv(buffer, condition, english=english)
        body, mimetype = buffer.getvalue().encode("utf-8"), "text/csv; charset=utf-8"
    else:
        buffer = io.BytesIO()
        exports.write_xlsx(buffer, condition, english=english)
        body, mimetype = buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="reports-{day}.{fmt}"'
    return response
