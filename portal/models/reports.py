"""Citizen reports of illegal discharge (公众监督举报): the report, its photos, its timeline, "me too"s.

The reporter's name, telephone and e-mail are stored only encrypted (``portal.reports.privacy``),
and no public page, feed, export or API reads those columns.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Report(db.Model):
    """One citizen report, from submission to the reporter's confirmation."""

    # Each index matches a WHERE and ORDER BY of a page read at a million reports: /reports
    # (published, newest first; by town or department), the queues (a status and its deadline, in a
    # town, a department or an assignee's hands; their counts are ranges of the same indexes).
    __table_args__ = (
        Index("ix_report_published_created", "published", "created_at", "id"),
        Index("ix_report_published_town_created", "published", "town_id", "created_at"),
        Index("ix_report_published_department_created", "published", "department_code", "created_at"),
        Index("ix_report_status_accept_due", "status", "accept_due", "created_at"),
        Index("ix_report_status_finish_due", "status", "finish_due", "created_at"),
        Index("ix_report_town_status_due", "town_id", "status", "accept_due"),
        Index("ix_report_department_status_due", "department_code", "status", "accept_due"),
        Index("ix_report_assignee_status", "assignee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short, non-sequential, unambiguous: what the reporter quotes on the telephone.
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 of the secret in the reporter's private link; the secret itself is never stored.
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(24))  # vocabulary.REPORT_CATEGORIES
    description: Mapped[str] = mapped_column(Text)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # How the position was given: pin, device, photo, outfall or address (text only).
    location_source: Mapped[str] = mapped_column(String(16), default="pin")
    address_text: Mapped[str | None] = mapped_column(String(300))
    outfall_id: Mapped[int | None] = mapped_column(ForeignKey("outfall.id"), index=True)

    # Where the report went, and why (routing.Routing.reasons, one per line).
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"), index=True)
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"), index=True)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("river_chief.id"))
    routing_reasons: Mapped[str | None] = mapped_column(Text)

    # Encrypted contact (Fernet tokens); None when not given.
    reporter_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    anonymous: Mapped[bool] = mapped_column(default=False)
    # The language the reporter used the form in ("zh" or "en"): what they are written to in.
    reporter_language: Mapped[str] = mapped_column(String(8), default="zh")
    # The reporter's choice (publish without personal data) and the staff's decision after review.
    publication_allowed: Mapped[bool] = mapped_column(default=False)
    published: Mapped[bool] = mapped_column(default=False, index=True)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # How the report reached the portal: web, telephone (12345 forwards), walk_in, open311.
    channel: Mapped[str] = mapped_column(String(16), default="web")

    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)  # reports.workflow
    accept_due: Mapped[date | None] = mapped_column(Date)
    finish_due: Mapped[date | None] = mapped_column(Date)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lifecycle, each set when the report first took that step (for deadlines and statistics).
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(24))  # workflow.REJECTION_REASONS
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    # One extension of the answer deadline (DOMAIN.md §4), its length and the reason told to the reporter.
    extension_days: Mapped[int | None] = mapped_column()
    extension_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    # How far up the chain an overdue report has gone: 0 not escalated, 1 district chief and bureau.
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The description as the public sees it once staff have redacted it; None: not redacted.
    public_description: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column()
    me_too_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    outfall = relationship("Outfall")
    town = relationship("Town")
    water_body = relationship("WaterBody")
    chief = relationship("RiverChief")
    department = relationship("Department")
    assignee = relationship("Account")
    merged_into = relationship("Report", remote_side="Report.id")
    photos = relationship("ReportPhoto", back_populates="report", order_by="ReportPhoto.id",
                          cascade="all, delete-orphan")
    updates = relationship("ReportUpdate", back_populates="report",
                           order_by="ReportUpdate.occurred_at, ReportUpdate.id", cascade="all, delete-orphan")


class ReportPhoto(db.Model):
    """A photo attached to a report, cleaned of all metadata before it was stored."""

    # Each photo takes a numbered slot of its report (1 … REPORT_PHOTO_LIMIT, checked when it is
    # added); the database refuses two photos in one slot, so concurrent additions cannot push a
    # report past its limit.
    __table_args__ = (
        UniqueConstraint("report_id", "slot", name="uq_report_photo_report_slot"),
        CheckConstraint("slot >= 1", name="slot_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    thumbnail_key: Mapped[str] = mapped_column(String(200), unique=True)
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    # Photos are shown in public only with a published report, after staff review.
    added_by: Mapped[str] = mapped_column(String(16), default="reporter")  # reporter | staff
    # Moderation: a hidden photo is never served in public; a redacted one is served from these keys
    # (blurred copies) while the original stays in storage for the record, never served in public.
    hidden: Mapped[bool] = mapped_column(default=False)
    public_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    public_thumbnail_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report = relationship("Report", back_populates="photos")


class ReportUpdate(db.Model):
    """One entry of a report's timeline: a status change, a response, something the reporter added."""

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))  # reports.workflow.ENTRY_KINDS
    status: Mapped[str | None] = mapped_column(String(16))  # the status the report moved to, if it moved
    text: Mapped[str | None] = mapped_column(Text)  # what a person wrote, as written
    # What the portal said, as a sentence key and its facts (JSON; portal.reports.timeline), so that
    # it reads in the reader's language; None for entries that are only a person's words.
    params: Mapped[str | None] = mapped_column(Text)
    # Whether anyone may read it on the public tracking page; what the reporter adds never is.
    public: Mapped[bool] = mapped_column(default=True)
    author: Mapped[str] = mapped_column(String(16), default="system")  # reporter | staff | system
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))  # the member of staff, if one

    report = relationship("Report", back_populates="updates")
    actor = relationship("Account")


class MeToo(db.Model):
    """Someone else saw the same problem and said so instead of filing a duplicate."""

    # One visitor counts once, decided by the database even when two of their requests race.
    __table_args__ = (UniqueConstraint("report_id", "visitor_digest", name="uq_me_too_report_visitor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    # A keyed hash of the visitor's address, so one person counts once; not reversible to the address.
    visitor_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
