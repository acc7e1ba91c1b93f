"""What staff do to a report: the workflow's steps, each checked, recorded, told and audited.

Every step here
1. asks ``portal.access.can`` (which reads ``portal.workflow``) and refuses with a message
   in the user's language (``StepRefused``) when the actor may not take it now;
2. changes the report and adds a timeline entry — in plain words and public when the public should
   know (the reporter's page and the public tracking page show it), internal otherwise;
3. writes exactly one audit entry (``portal.audit.record``) and queues the messages (the reporter,
   the handlers) — all in the caller's transaction: the view or command wraps the call in
   ``portal.db.transaction()``; nothing here commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from portal import access, audit, calendar, departments, photo_redaction, workflow
from portal.extensions import db
from portal.models import Account, Department, Report, ReportPhoto, ReportUpdate, Town
from portal.models.types import utcnow
from portal.photos import CleanPhoto, PhotoStorage, photo_batch
from portal.registry.vocabulary import OPEN_REPORT_STATUSES, REPORT_STATUSES
from portal.refusal import Refused
from portal.reports import messages, privacy, rich_text, timeline
from portal.reports.visibility import KIND_PUBLISHED, KIND_UNPUBLISHED

NOTE_MAX_LENGTH = 5000


class StepRefused(Refused):
    """Staff may not take this step now; ``message`` says why, in their language."""


def record_status(report: Report, status: str | None, text: str | None = None, public: bool = True,
                  author: str = "staff", now: datetime | None = None, kind: str | None = None,
                  actor: Account | None = None, say: str | None = None, **facts) -> ReportUpdate:
    """Add a timeline entry: a status change (``status``), a person's text, what the portal says
    (``say``, a ``portal.reports.timeline`` sentence, with its ``facts``), or several (no check, no
    audit: the low-level writer under every step, and what demo data uses).

    The first staff entry sets ``responded_at`` (the response time counted against the acceptance
    deadline).
    """
    if status is not None and status not in REPORT_STATUSES:
        raise ValueError(f"unknown report status: {status!r}")
    text = (text or "").strip() or None
    moved = status is not None and status != report.status
    if not moved and text is None and say is None:
        raise ValueError("a timeline entry needs a new status or a text")
    now = now or utcnow()
    entry = ReportUpdate(occurred_at=now, kind=kind or ("status" if moved else "response"),
                         status=status if moved else None, text=text, public=public, author=author, actor=actor,
                         params=timeline.params(say, **facts) if say else None)
    report.updates.append(entry)
    if moved:
        report.status = status
    if author == "staff" and report.responded_at is None:
        report.responded_at = now
    report.updated_at = now
    return entry


def _check(actor: Account, step_name: str, report: Report, reason: str | None = None) -> str | None:
    """Refuse unless the actor may take the step now; return the reason, trimmed, when one is needed."""
    step = workflow.step(step_name)
    if not access.can(actor, step_name, report):
        if access.can(actor, "view", report) and access.may_take(actor, step_name):
            raise StepRefused(_("这份举报当前状态为“%(status)s”，不能进行这一步。",
                                status=REPORT_STATUSES.display(report.status)))
        raise StepRefused(_("您没有权限对这份举报进行这一步。"))
    reason = (reason or "").strip() or None
    if step.needs_reason and reason is None:
        raise StepRefused(_("请填写理由。"))
    if reason is not None and len(reason) > NOTE_MAX_LENGTH:
        raise StepRefused(_("文字太长：最多 %(limit)s 个字。", limit=NOTE_MAX_LENGTH))
    return reason


def _after(actor: Account, action: str, report: Report, entry: ReportUpdate, *, reason: str | None = None,
           detail: dict | None = None, tell_reporter: bool = True, handlers_what: str | None = None) -> None:
    """The common tail of a step: the audit entry, the reporter's message, the handlers' message."""
    audit.record(actor, action, report, reason=reason, detail=detail)
    if tell_reporter:
        messages.reporter(report, entry)
    if report.assignee is not None and report.assignee is not actor and not handlers_what:
        words = timeline.text_of(entry) or action
        if entry.kind == "answer":
            words = rich_text.to_text(words)
        messages.assignee(report, f"{actor.display_name or actor.username}：{words}")
    if handlers_what:
        messages.handlers(report, handlers_what, [f"操作人：{actor.display_name or actor.username}"]
                          + ([f"理由：{reason}"] if reason else []))


def accept(actor: Account, report: Report, *, now: datetime | None = None) -> ReportUpdate:
    """受理: the answer is due REPORT_FINISH_DAYS after acceptance."""
    _check(actor, "accept", report)
    now = now or utcnow()
    report.accepted_at = now
    report.finish_due = calendar.local_date(now) + timedelta(days=current_app.config["REPORT_FINISH_DAYS"])
    entry = record_status(report, "accepted", now=now, actor=actor, say="accepted", due=report.finish_due.isoformat(),
                          **timeline.handler_facts(report))
    _after(actor, "report_accepted", report, entry)
    return entry


def reject(actor: Account, report: Report, reason_code: str, explanation: str | None = None, *,
           now: datetime | None = None) -> ReportUpdate:
    """不予受理, with one of the REJECTION_REASONS (told to the reporter) and an optional explanation."""
    term = workflow.REJECTION_REASONS.get(reason_code)
    if term is None:
        raise StepRefused(_("请选择不予受理的理由。"))
    explanation = _check(actor, "reject", report, explanation or term.label)
    now = now or utcnow()
    report.rejection_reason = reason_code
    report.closed_at = now
    told = explanation if explanation and explanation != term.label else None
    entry = record_status(report, "rejected", told, now=now, actor=actor, say="rejected", reason=reason_code)
    _after(actor, "report_rejected", report, entry, reason=explanation, detail={"reason": reason_code})
    return entry


def assign(actor: Account, report: Report, *, town: Town | None = None, department: Department | None = None,
           person: Account | None = None, note: str | None = None, now: datetime | None = None) -> ReportUpdate:
    """交办 to a town, a department or a person (one of them at least); the assignee is told."""
    _check(actor, "assign", report)
    if town is None and department is None and person is None:
        raise StepRefused(_("请选择交办给哪个镇、部门或人员。"))
    if department is not None and not department.handles_reports:
        raise StepRefused(_("%(name)s不承办举报，请选择其他部门。", name=departments.display(department)))
    if person is not None and (not person.active or person.role == "auditor"):
        raise StepRefused(_("不能交办给这个账号。"))
    now = now or utcnow()
    if town is not None:
        report.town = town
    if department is not None:
        report.department = department
    if person is not None:
        report.assignee = person
    report.assigned_at = report.assigned_at or now
    entry = record_status(report, "assigned", now=now, actor=actor, kind="assigned", say="assigned",
                          **timeline.handler_facts(report))
    if note:
        add_note(actor, report, note, now=now, audited=False)
    _after(actor, "report_assigned", report, entry, detail={
        "town": town.name if town else None, "department": department.code if department else None,
        "person": person.username if person else None}, handlers_what="已交办")
    return entry


def start(actor: Account, report: Report, *, now: datetime | None = None) -> ReportUpdate:
    """开始办理."""
    _check(actor, "start", report)
    entry = record_status(report, "in_progress", now=now, actor=actor, say="started")
    _after(actor, "report_started", report, entry)
    return entry


def answer(actor: Account, report: Report, reply_html: str, photos: list[CleanPhoto] = (), *,
           storage: PhotoStorage | None = None, now: datetime | None = None) -> ReportUpdate:
    """办结: a public reply (a little rich text, sanitised) and after-fix photos; the reporter may then
    confirm or reopen within REPORT_REOPEN_DAYS."""
    _check(actor, "answer", report)
    try:
        reply = rich_text.clean(reply_html or "")
    except ValueError as refused:
        raise StepRefused(str(refused)) from None
    if not rich_text.to_text(reply).strip():
        raise StepRefused(_("请填写答复内容。"))
    photos = list(photos)
    limit = current_app.config["REPORT_PHOTO_LIMIT"]  # an answer may bring as many as a report
    if len(photos) > limit:
        raise StepRefused(_("每次答复最多 %(limit)s 张照片。", limit=limit))
    now = now or utcnow()
    if photos:
        batch = photo_batch(storage)
        slot = max((p.slot for p in report.photos), default=0)
        for number, photo in enumerate(photos, start=slot + 1):
            report.photos.append(ReportPhoto(
                slot=number, storage_key=batch.stage(photo.image).key, thumbnail_key=batch.stage(photo.thumbnail).key,
                width=photo.width, height=photo.height, sha256=photo.sha256, added_by="staff", created_at=now))
    report.answered_at = now
    entry = record_status(report, "resolved", reply, now=now, actor=actor, kind="answer")
    _after(actor, "report_answered", report, entry, detail={"photos": len(photos)})
    return entry


def close(actor: Account, report: Report, *, now: datetime | None = None) -> ReportUpdate:
    """结案, after the answer (or a confirmation, or a rejection)."""
    _check(actor, "close", report)
    now = now or utcnow()
    report.closed_at = now
    entry = record_status(report, "closed", now=now, actor=actor, say="closed")
    _after(actor, "report_closed", report, entry)
    return entry


def extend(actor: Account, report: Report, days: int, reason: str, *, now: datetime | None = None) -> ReportUpdate:
    """Extend the answer deadline once, by at most REPORT_EXTENSION_MAX_DAYS, with the reason told."""
    reason = _check(actor, "extend", report, reason)
    limit = current_app.config["REPORT_EXTENSION_MAX_DAYS"]
    if report.extension_days:
        raise StepRefused(_("答复期限只能延长一次，这份举报已经延长过。"))
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        raise StepRefused(_("延长天数应为 1 到 %(limit)s 天。", limit=limit))
    if report.finish_due is None:
        raise StepRefused(_("这份举报还没有答复期限。"))
    report.extension_days, report.extension_reason = days, reason
    report.finish_due = report.finish_due + timedelta(days=days)
    entry = record_status(report, None, reason, now=now, actor=actor, kind="extended", say="extended", days=days,
                          due=report.finish_due.isoformat())
    _after(actor, "report_extended", report, entry, reason=reason, detail={"days": days})
    return entry


def transfer(actor: Account, report: Report, reason: str, *, town: Town | None = None,
             department: Department | None = None, now: datetime | None = None) -> ReportUpdate:
    """Hand the report to another town or department (the reason stays internal; the public sees where)."""
    reason = _check(actor, "transfer", report, reason)
    if town is None and department is None:
        raise StepRefused(_("请选择转交给哪个镇或部门。"))
    if town is not None and town.id == report.town_id and (department is None or department.code == report.department_code):
        raise StepRefused(_("这份举报已经由%(name)s办理。", name=town.name))
    if department is not None and not department.handles_reports:
        raise StepRefused(_("%(name)s不承办举报，请选择其他部门。", name=departments.display(department)))
    before = {"town": report.town.name if report.town else None, "department": report.department_code}
    if town is not None:
        report.town = town
    if department is not None:
        report.department = department
    report.assignee = None
    entry = record_status(report, None, now=now, actor=actor, kind="transferred", say="transferred",
                          **timeline.handler_facts(report))
    report.updates.append(ReportUpdate(occurred_at=entry.occurred_at, kind="note", text=f"转交理由：{reason}",
                                       public=False, author="staff", actor=actor))
    _after(actor, "report_transferred", report, entry, reason=reason,
           detail={"from": before, "to": {"town": town.name if town else None,
                                          "department": department.code if department else None}},
           handlers_what="转交办理")
    return entry


def merge(actor: Account, report: Report, into: Report, reason: str | None = None, *,
          now: datetime | None = None) -> ReportUpdate:
    """Merge a duplicate into the report it repeats; it counts as one more "me too" there."""
    reason = _check(actor, "merge", report, reason or f"与 {into.tracking_code} 重复")
    if into.id == report.id or into.merged_into_id is not None or into.status == "merged":
        raise StepRefused(_("不能合并到这份举报。"))
    if not access.can(actor, "view", into):
        raise StepRefused(_("找不到查询码为 %(code)s 的举报。", code=into.tracking_code))
    now = now or utcnow()
    report.merged_into = into
    report.closed_at = now
    into.me_too_count = (into.me_too_count or 0) + 1
    entry = record_status(report, "merged", now=now, actor=actor, kind="merged", say="merged", code=into.tracking_code)
    _after(actor, "report_merged", report, entry, reason=reason, detail={"into": into.tracking_code})
    return entry


def add_note(actor: Account, report: Report, text: str, *, now: datetime | None = None,
             audited: bool = True) -> ReportUpdate:
    """An internal note: never public, never sent to the reporter."""
    text = _check(actor, "note", report, text)
    if text is None:
        raise StepRefused(_("请填写备注内容。"))
    entry = ReportUpdate(occurred_at=now or utcnow(), kind="note", text=text, public=False, author="staff",
                         actor=actor)
    report.updates.append(entry)
    if audited:
        audit.record(actor, "report_noted", report)
    return entry


def publish(report: Report, now: datetime | None = None, actor: Account | None = None) -> None:
    """Show the report on /reports and the map, with its (redacted) description, rough position and
    the photos it has now (less hidden ones). The entry dates the review: photos added after it stay
    private until the next ``publish``."""
    if actor is not None:
        _check(actor, "moderate", report)
        if not report.publication_allowed:
            raise StepRefused(_("举报人没有同意公开这份举报，不能公开。"))
    report.published = True
    report.updates.append(ReportUpdate(occurred_at=now or utcnow(), kind=KIND_PUBLISHED, public=False,
                                       author="staff", actor=actor))
    if actor is not None:
        audit.record(actor, "report_published", report)


def unpublish(report: Report, now: datetime | None = None, actor: Account | None = None) -> None:
    """Take the report off /reports and the map; its tracking page stays, without the details."""
    if actor is not None:
        _check(actor, "moderate", report)
    report.published = False
    report.updates.append(ReportUpdate(occurred_at=now or utcnow(), kind=KIND_UNPUBLISHED, public=False,
                                       author="staff", actor=actor))
    if actor is not None:
        audit.record(actor, "report_unpublished", report)


def redact_description(actor: Account, report: Report, text: str) -> None:
    """Set the description the public reads (words removed); the original stays for the record."""
    _check(actor, "moderate", report)
    text = (text or "").strip()
    if not text:
        raise StepRefused(_("公开的描述不能为空；如不宜公开，请不公开这份举报。"))
    if len(text) > NOTE_MAX_LENGTH:
        raise StepRefused(_("文字太长：最多 %(limit)s 个字。", limit=NOTE_MAX_LENGTH))
    report.public_description = None if text == report.description else text
    audit.record(actor, "report_redacted", report, detail={"redacted": report.public_description is not None})


def moderate_photo(actor: Account, report: Report, photo: ReportPhoto, mode: str, *, storage: PhotoStorage,
                   regions: list[tuple[float, float, float, float]] | None = None) -> None:
    """Show a photo as it is, blur it (whole or in regions), or hide it; the original is kept, never
    served in public once blurred or hidden."""
    _check(actor, "moderate", report)
    if photo.report_id != report.id:
        raise StepRefused(_("找不到这张照片。"))
    if mode not in ("show", "blur", "hide"):
        raise StepRefused(_("请选择照片的处理方式。"))
    photo.hidden = mode == "hide"
    if mode == "blur":
        try:
            copy = photo_redaction.redacted_copy(storage.open(photo.storage_key), regions,
                                                 zone=current_app.config["TIMEZONE"])
        except ValueError as refused:
            raise StepRefused(str(refused)) from None
        batch = photo_batch(storage)
        photo.public_key = batch.stage(copy.image).key
        photo.public_thumbnail_key = batch.stage(copy.thumbnail).key
    elif mode == "show":
        photo.public_key = photo.public_thumbnail_key = None
    audit.record(actor, "photo_moderated", report, detail={"photo": photo.id, "mode": mode,
                                                          "regions": len(regions or []) if mode == "blur" else None})


def view_contact(actor: Account, report: Report, reason: str) -> dict:
    """The reporter's contact, for those handling the report, with a reason; the viewing is audited."""
    reason = _check(actor, "view_contact", report, reason)
    audit.record(actor, "contact_viewed", report, reason=reason)
    return {"name": privacy.unseal(report.reporter_name_sealed),
            "phone": privacy.unseal(report.reporter_phone_sealed),
            "email": privacy.unseal(report.reporter_email_sealed)}


def escalate_overdue(now: datetime | None = None) -> list[Report]:
    """Escalate every open report past its deadline that has not been escalated: town → the district's
    river chief and the bureau. A report escalates once (``escalation_level``), even when the command
    runs on two machines at the same moment: each report is taken by a conditional UPDATE
    (``_take_for_escalation``) before anything is recorded or queued for it."""
    now = now or utcnow()
    today = calendar.local_date(now)
    overdue = db.session.scalars(db.select(Report).where(
        Report.status.in_(OPEN_REPORT_STATUSES), Report.escalation_level == 0,
        db.or_(db.and_(Report.status == "submitted", Report.accept_due < today),
               db.and_(Report.status != "submitted", Report.finish_due < today)))
        .order_by(Report.id).with_for_update(skip_locked=True)).all()
    escalated = []
    for report in overdue:
        if not _take_for_escalation(report, now):
            continue
        which = "accept" if report.status == "submitted" else "answer"
        due = report.accept_due if which == "accept" else report.finish_due
        entry = record_status(report, None, now=now, author="system", kind="escalated", say=f"escalated_{which}",
                              due=due.isoformat())
        audit.record(audit.SYSTEM_ACTOR, "report_escalated", report, detail={"due": due.isoformat(), "which": which})
        messages.escalation(report, timeline.text_of(entry))
        escalated.append(report)
    return escalated


def _take_for_escalation(report: Report, now: datetime) -> bool:
    """Raise the report to escalation level 1 if it is still at 0 in the database; whether this run did.

    The list above may be stale: on SQLite its read takes no lock, so a second run that read before
    the first committed sees the same reports. This UPDATE is the arbiter — SQLite runs one writer at
    a time and PostgreSQL re-reads a row another transaction changed — so the second run matches no row
    and records, audits and tells nothing. (On PostgreSQL the rows are also locked SKIP LOCKED above,
    so the runs split the reports instead of queueing behind each other.)
    """
    taken = db.session.execute(
        db.update(Report).where(Report.id == report.id, Report.escalation_level == 0)
        .values(escalation_level=1, escalated_at=now).execution_options(synchronize_session=False)).rowcount
    if taken:
        # The row already holds these values: tell the session so, rather than writing them again.
        set_committed_value(report, "escalation_level", 1)
        set_committed_value(report, "escalated_at", now)
    return bool(taken)
