"""The outbox: messages written in the same transaction as the record they announce, sent later."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow

CHANNELS = ("email", "webhook", "sms")
STATUSES = ("pending", "sent", "failed")


class OutboxMessage(db.Model):
    """One outgoing e-mail, webhook call or text message, with its delivery attempts (FixMyStreet's send queue)."""

    # The worker's question, "what is due?", is answered from this index.
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # CHANNELS
    # An e-mail address, the webhook's URL (which may carry the robot's secret key), or a mobile number.
    recipient: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    # The JSON document a webhook posts, as text.
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # STATUSES
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the message is about, e.g. "report:ABC123": a label, not a foreign key, so any record can
    # have messages and the back office can list them by it.
    topic: Mapped[str | None] = mapped_column(String(100), index=True)

    @property
    def recipient_label(self) -> str:
        """The recipient as staff may see it: a webhook's query string (its secret key) left out, a
        mobile number masked to its first three and last four digits (a reporter's contact is shown
        only behind the logged 查看联系方式 action)."""
        if self.channel == "sms":
            return self.recipient[:3] + "****" + self.recipient[-4:] if len(self.recipient) > 7 else "****"
        if self.channel != "webhook":
            return self.recipient
        parts = urlsplit(self.recipient)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")

    def __repr__(self):
        return f"<OutboxMessage {self.id} {self.channel} {self.status}>"
