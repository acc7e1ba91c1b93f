"""Queue messages in the caller's transaction, and the queries staff need when delivery fails."""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models.outbox import OutboxMessage
from portal.models.types import utcnow
from portal.refusal import Refused


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


# A Chinese mainland mobile number, once spaces, dashes and a +86 / 0086 prefix are taken off.
MOBILE_PATTERN = re.compile(r"1[3-9]\d{9}")
SMS_MAX_LENGTH = 500


class SmsRefused(Refused):
    """A text message cannot be queued; ``message`` says why in the reader's language (a lazy translation)."""


def mobile_number(phone: str) -> str:
    """The 11 digits of a Chinese mobile number as written (spaces, dashes, +86 allowed); SmsRefused otherwise."""
    digits = re.sub(r"[\s\-()（）]", "", str(phone or ""))
    digits = re.sub(r"^(?:\+86|0086|86)(?=1\d{10}$)", "", digits)
    if not MOBILE_PATTERN.fullmatch(digits):
        raise SmsRefused(_l("“%(phone)s”不是有效的手机号码（应为 1 开头的 11 位数字）。", phone=str(phone or "")[:40]))
    return digits


def sms_enabled() -> bool:
    """Whether text messages are configured (SMS_API_URL set); without it nothing is queued."""
    return bool(current_app.config["SMS_API_URL"])


def enqueue_sms(phone: str, text: str, topic: str | None = None) -> OutboxMessage | None:
    """Queue a text message to a Chinese mobile number; sent after the caller commits.

    Returns None, queuing nothing, when SMS is not configured. A number that is not a mobile number,
    an empty text or one over SMS_MAX_LENGTH characters raise SmsRefused (a ValueError). The
    signature (SMS_SIGN_NAME) is added when the message is sent, not counted here.
    """
    if not sms_enabled():
        return None
    number = mobile_number(phone)
    text = (text or "").strip()
    if not text:
        raise SmsRefused(_l("短信内容不能为空。"))
    if len(text) > SMS_MAX_LENGTH:
        raise SmsRefused(_l("短信过长（%(length)s 字），最多 %(limit)s 字。", length=len(text), limit=SMS_MAX_LENGTH))
    return _add(OutboxMessage(channel="sms", recipient=number, body=text, topic=topic))


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
