"""The staff log: one entry for every staff action and every sign-in, written in its transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class AuditEntry(db.Model):
    """Who did what, to what, when and why. Never deleted; never holds a reporter's contact."""

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    # The actor's username at the time ("cli" for a command, "system" for cron), kept as written.
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(24))  # report | account | outbox | calendar …
    subject_id: Mapped[int | None] = mapped_column()
    subject_label: Mapped[str | None] = mapped_column(String(64))  # e.g. the tracking code
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))  # the client's address, for sign-ins

    actor = relationship("Account")
