"""What a report's people are told, and how: the texts (``templates/email/``) and their queuing.

Everything here only adds messages to the outbox in the caller's transaction (portal.notify); the
worker sends them later. No message to staff names the reporter; the messages to the reporter go
to the contact they gave, and say what happened in the words of the public timeline.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import notify
from portal.extensions import db
from portal.models import Account, Report
from portal.registry import vocabulary as vocab
from portal.reports import privacy, rich_text, timeline
from portal.urls import external_url


def public_url(report: Report) -> str:
    """The absolute address of the report's public tracking page, as the public reaches it."""
    return external_url("reports.track", code=report.tracking_code)


def admin_url(report: Report) -> str:
    """The absolute address of the report in the back office."""
    return external_url("admin.report", code=report.tracking_code)


def town_recipients(report: Report) -> list[str]:
    """REPORT_NOTIFY_EMAILS of the report's town, then of "*" (every report), once each."""
    table = current_app.config["REPORT_NOTIFY_EMAILS"]
    keys = ([report.town.name] if report.town is not None else []) + ["*"]
    recipients: list[str] = []
    for key in keys:
        for address in table.get(key) or ():
            if address not in recipients:
                recipients.append(address)
    return recipients


def _topic(report: Report) -> str:
    return f"report:{report.tracking_code}"


def _town_name(report: Report) -> str:
    return report.town.name if report.town is not None else current_app.config["DISTRICT_NAME"]


def new_report(report: Report) -> None:
    """Queue the messages about a new report: the town's addresses, the group robots, and the
    accounts of the river chief it was routed to; what and where, never who reported it."""
    where = (f"{report.latitude:.5f}, {report.longitude:.5f}" if report.latitude is not None
             else report.address_text or "")
    text = render_template("email/new_report.txt", report=report, town_name=_town_name(report), where=where,
                           public_url=public_url(report), admin_url=admin_url(report))
    subject = f"新举报 {report.tracking_code}（{_town_name(report)}）"
    for address in town_recipients(report):
        notify.enqueue_email(address, subject, text, topic=_topic(report))
    for url in current_app.config["REPORT_NOTIFY_WEBHOOKS"]:
        notify.enqueue_webhook(url, notify.group_robot_text(text), topic=_topic(report))
    if report.chief_id is not None:
        chiefs = db.session.scalars(db.select(Account).where(Account.chief_id == report.chief_id,
                                                             Account.active.is_(True)))
        for account in chiefs:
            _to_account(account, subject, text, report)


def handlers(report: Report, what: str, lines: list[str] = (), *, assignee: Account | None = None) -> None:
    """Queue an e-mail about the report to its town's addresses and to its assignee (or ``assignee``)."""
    body = render_template("email/handler_update.txt", report=report, what=what, lines=list(lines),
                           town_name=_town_name(report), public_url=public_url(report), admin_url=admin_url(report))
    subject = f"举报 {report.tracking_code}：{what}"
    for address in town_recipients(report):
        notify.enqueue_email(address, subject, body, topic=_topic(report))
    person = assignee or report.assignee
    if person is not None and person.active:
        _to_account(person, subject, body, report)


def assignee(report: Report, what: str) -> None:
    """Tell the member of staff the report is assigned to that someone else took a step on it."""
    person = report.assignee
    if person is None or not person.active:
        return
    body = render_template("email/handler_update.txt", report=report, what=what, lines=[],
                           town_name=_town_name(report), public_url=public_url(report), admin_url=admin_url(report))
    headline = (what.splitlines() or [""])[0][:80]  # a subject is one line
    _to_account(person, f"举报 {report.tracking_code}：{headline}", body, report)


def _to_account(account: Account, subject: str, body: str, report: Report) -> None:
    """A member of staff hears by e-mail and, when they gave a mobile number, by a short text."""
    if account.email:
        notify.enqueue_email(account.email, subject, body, topic=_topic(report))
    if account.phone:
        _sms(account.phone, f"{subject}。{admin_url(report)}", report)


def reporter(report: Report, entry) -> None:
    """Tell the reporter what happened (the timeline ``entry``, by e-mail and/or text message to the
    contact they gave), in the language they used the form in; anonymous reporters gave no contact
    and hear nothing."""
    email = privacy.unseal(report.reporter_email_sealed)
    phone = privacy.unseal(report.reporter_phone_sealed)
    if not email and not phone:
        return
    english = report.reporter_language == "en"
    config = current_app.config
    with force_locale("en" if english else config["DEFAULT_LOCALE"]):
        status_label = vocab.REPORT_STATUSES.display(report.status)
        text = timeline.text_of(entry)
        if entry.kind == "answer" and text:
            text = rich_text.to_text(text)
        district = config["DISTRICT_NAME_EN"] + " " if english else config["DISTRICT_NAME"]
        if email:
            subject = _("您的举报 %(code)s 有新进展", code=report.tracking_code)
            body = render_template("email/reporter_update.txt", report=report, status_label=status_label,
                                   text=text, public_url=public_url(report), district=district)
            notify.enqueue_email(email, subject, body, topic=f"{_topic(report)}:reporter")
        if phone:
            short = _("您的举报 %(code)s：%(status)s。%(url)s", code=report.tracking_code, status=status_label,
                      url=public_url(report))
            _sms(phone, short, report, reporter=True)


def private_link(report: Report, secret: str, address: str, language: str) -> None:
    """Queue the e-mail that gives the reporter their private link, in the language they used."""
    config = current_app.config
    with force_locale("en" if language == "en" else config["DEFAULT_LOCALE"]):
        district = config["DISTRICT_NAME_EN"] + " " if language == "en" else config["DISTRICT_NAME"]
        subject = _("您的举报已收到（查询码 %(code)s）", code=report.tracking_code)
        body = render_template("email/reporter_private_link.txt", report=report, public_url=public_url(report),
                               private_url=external_url("reports.private", code=report.tracking_code, secret=secret),
                               district=district)
    notify.enqueue_email(address, subject, body, topic=f"{_topic(report)}:reporter")


def _sms(phone: str, text: str, report: Report, reporter: bool = False) -> None:
    """Queue a text message if SMS is configured and the number is a mobile one; else nothing."""
    try:
        notify.enqueue_sms(phone, text, topic=f"{_topic(report)}:reporter" if reporter else _topic(report))
    except notify.SmsRefused:  # a landline, or a text too long: the e-mail (if any) still goes
        return


def escalation(report: Report, text: str) -> None:
    """Tell the chain above the town that a report is overdue: the district-level river chiefs'
    accounts, the administrators (the bureau), the "*" addresses, and the town as well."""
    from portal.models import RiverChief

    body = render_template("email/handler_update.txt", report=report, what="超期督办", lines=[text],
                           town_name=_town_name(report), public_url=public_url(report), admin_url=admin_url(report))
    subject = f"超期督办：举报 {report.tracking_code}"
    for address in town_recipients(report):
        notify.enqueue_email(address, subject, body, topic=_topic(report))
    above = db.session.scalars(
        db.select(Account).outerjoin(RiverChief, RiverChief.id == Account.chief_id)
        .where(Account.active.is_(True),
               db.or_(Account.role == "admin", db.and_(Account.role == "chief", RiverChief.level == "district")))
        .order_by(Account.id))
    for account in above:
        _to_account(account, subject, body, report)
