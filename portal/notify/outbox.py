"""Queue messages in the caller's transaction, and the queries staff need when delivery fails."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from sqlalchemy import select

from portal.extensions import db
from portal.models.outbox import OutboxMessage
from portal.models.types import utcnow


def enqueue_email(recipient: str, subject: str, body: str, topic: str | None = None) -> OutboxMessage:
    """Queue a plain-text e-mail; it is added to the session, and sent only after the caller commits."""
    recipient = (recipient or "").strip()
    if "@" not in recipient or _has_line_break(recipient):
        raise ValueError(f"not an e-mail address: {recipient!r}")
    if _has_line_break(subject or ""):
        raise ValueError("an e-mail subject cannot contain line breaks")
    return _add(OutboxMessage(channel="email", recipient=recipient, subject=subject, body=body,
                              topic=topic))


def enqueue_webhook(url: str, payload: dict, topic: str | None = None) -> OutboxMessage:
    """Queue a JSON POST to ``url`` (e.g. a WeCom or DingTalk group robot); sent after the commit."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"a webhook needs an http(s) URL: {url!r}")
    # Serialising now refuses what JSON cannot carry while the caller can still see why.
    text = json.dumps(payload, ensure_ascii=False)
    return _add(OutboxMessage(channel="webhook", recipient=url, payload=text, topic=topic))


def failed_messages(topic: str | None = None, limit: int | None = None) -> list[OutboxMessage]:
    """Messages given up on, newest first, for the back office (optionally those about one topic)."""
    query = select(OutboxMessage).where(OutboxMessage.status == "failed")
    if topic is not None:
        query = query.where(OutboxMessage.topic == topic)
    query = query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def retry(message_id: int) -> OutboxMessage:
    """Put a failed message back in the queue, due now, with a fresh set of attempts; caller commits.

    The last error is kept until the next attempt replaces or clears it. A message already sent is
    refused, since retrying it would deliver it twice.
    """
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise LookupError(f"no outbox message {message_id}")
    if message.status == "sent":
        raise ValueError(f"outbox message {message_id} was already sent")
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = utcnow()
    return message


def _add(message: OutboxMessage) -> OutboxMessage:
    """Add a new message to the current session: no flush, no commit, no sending."""
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = message.created_at = utcnow()
    db.session.add(message)
    return message


def _has_line_break(text: str) -> bool:
    """Whether a header value would break into a second header (header injection)."""
    return "\r" in text or "\n" in text
