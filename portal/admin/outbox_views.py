"""The outbox in view: messages waiting or given up on, with their errors, and a retry for failed ones.

Messages to reporters (topic ending ":reporter") carry the private link and the reporter's address:
staff see "举报人" and a masked address, never the body, and the address is masked in errors too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.admin.forms import ConfirmForm
from portal.admin.guard import requires
from portal.db import transaction
from portal.extensions import db
from portal.models import OutboxMessage
from portal.notify import retry

PER_PAGE = 50
REPORTER_TOPIC_SUFFIX = ":reporter"


def is_for_reporter(message: OutboxMessage) -> bool:
    """Whether the message goes to a reporter (its body holds their private link)."""
    return (message.topic or "").endswith(REPORTER_TOPIC_SUFFIX)


def mask_address(address: str) -> str:
    """An e-mail address with most of the name hidden: z***@example.com."""
    name, at, domain = (address or "").partition("@")
    if not at:
        return "***"
    return f"{name[:1]}***@{domain}"


@dataclass(frozen=True)
class OutboxRow:
    """One message as the back office may show it."""

    id: int
    channel: str
    status: str
    recipient: str
    for_reporter: bool
    subject: str
    topic: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, message: OutboxMessage) -> "OutboxRow":
        """What may be shown of ``message``: a reporter's address masked wherever it would appear."""
        error = message.last_error or ""
        if is_for_reporter(message):
            masked = mask_address(message.recipient)
            recipient = masked
            error = error.replace(message.recipient, masked) if message.recipient else error
        else:
            recipient = message.recipient_label
        return cls(message.id, message.channel, message.status, recipient, is_for_reporter(message),
                   message.subject or "", message.topic or "", message.attempts, error,
                   message.next_attempt_at if message.status == "pending" else None, message.created_at)


@requires("view_outbox")
def outbox():
    """Failed and pending messages, failed first, newest first within each."""
    status = request.args.get("status", "")
    statuses = [status] if status in ("pending", "failed") else ["failed", "pending"]
    query = (select(OutboxMessage).where(OutboxMessage.status.in_(statuses))
             .order_by((OutboxMessage.status == "failed").desc(), OutboxMessage.created_at.desc(),
                       OutboxMessage.id.desc()))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    rows = [OutboxRow.of(message) for message in pagination.items]
    return render_template("admin/outbox.html", rows=rows, pagination=pagination, status=status,
                           form=ConfirmForm(),
                           page_url=lambda number: url_for("admin.outbox", page=number, status=status or None))


@requires("retry_outbox")
def outbox_retry(message_id: int):
    """Put a failed message back in the queue, due now; the retry is in the audit log."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if message.status != "failed":
        flash(_("只有发送失败的通知可以重发。"), "error")
        return redirect(url_for("admin.outbox"))
    with transaction():
        audit.record(current_user._get_current_object(), "outbox_retry", message,
                     label=(message.topic or f"outbox:{message.id}")[:64],
                     detail={"channel": message.channel, "attempts_before": message.attempts})
        retry(message.id)
    flash(_("已将通知 #%(id)s 重新排入发送队列。", id=message.id), "success")
    return redirect(url_for("admin.outbox"))
