"""The outfall registry (一口一档): outfalls, who answers for them, their rectification and monitoring."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow
from portal.registry.vocabulary import DONE_STATUSES


class ResponsibleParty(db.Model):
    """The unit or person that answers for an outfall (责任主体).

    A natural person's name is personal information (PIPL): public pages show ``public_name``.
    """

    __table_args__ = (UniqueConstraint("name", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="organisation")  # vocabulary.PARTY_KINDS
    is_demo: Mapped[bool] = mapped_column(default=False)

    @property
    def is_person(self) -> bool:
        """Whether the party is a natural person, whose name is masked in public."""
        return self.kind == "person"

    @property
    def public_name(self) -> str:
        """The name as the public may see it: a person's given name masked (张*)."""
        if not self.is_person:
            return self.name
        # An invented person keeps the demo mark that masking would otherwise hide.
        return mask_personal_name(self.name) + ("（演示）" if self.is_demo else "")


def mask_personal_name(name: str) -> str:
    """Keep a person's family name and mask the rest: 张立新 → 张**, 欧阳明 → 欧**."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * (len(name) - 1)


class Outfall(db.Model):
    """One river outfall (入河排污口) and where it stands in the five stages of the programme."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The ledger's code (排污口编码): the outfall's permanent public identifier in URLs and QR codes.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # HJ 1235-2021 national code; its segment layout is unconfirmed, so it is kept as a plain string.
    national_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id"), index=True)
    # WGS84 decimal degrees, rounded to 6 places (about 0.1 m) so that export → import is exact.
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    outfall_type: Mapped[str] = mapped_column(String(32), index=True)  # vocabulary.OUTFALL_TYPES
    outfall_subtype: Mapped[str | None] = mapped_column(String(32))  # vocabulary.OUTFALL_SUBTYPES
    discharge_mode: Mapped[str | None] = mapped_column(String(16))  # vocabulary.DISCHARGE_MODES
    approval_status: Mapped[str | None] = mapped_column(String(16))  # vocabulary.APPROVAL_STATUSES
    found_on: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(20), default="survey")  # vocabulary.STAGES
    responsible_party_id: Mapped[int | None] = mapped_column(ForeignKey("responsible_party.id"))
    # The party's contact for this outfall as the ledger gives it; may differ between outfalls.
    party_telephone: Mapped[str | None] = mapped_column(String(32))
    # 包保领导: the official the river-chief system names for this outfall (a public office holder).
    supervising_leader: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    town = relationship("Town", back_populates="outfalls")
    water_body = relationship("WaterBody", back_populates="outfalls")
    responsible_party = relationship("ResponsibleParty")
    plans = relationship(
        "RectificationPlan", back_populates="outfall", order_by="RectificationPlan.id",
        foreign_keys="RectificationPlan.outfall_id", cascade="all, delete-orphan",
    )
    events = relationship(
        "OutfallEvent", back_populates="outfall", order_by="OutfallEvent.occurred_at.desc(), OutfallEvent.id.desc()",
        cascade="all, delete-orphan",
    )
    samples = relationship(
        "MonitoringSample", back_populates="outfall", order_by="MonitoringSample.sampled_at, MonitoringSample.id",
        cascade="all, delete-orphan",
    )
    checklist = relationship(
        "StandardisationItem", back_populates="outfall", cascade="all, delete-orphan",
    )
    photos = relationship(
        "OutfallPhoto", back_populates="outfall", order_by="OutfallPhoto.id", cascade="all, delete-orphan",
    )

    @property
    def plan(self) -> RectificationPlan | None:
        """The outfall's main rectification plan: the one the ledger row describes."""
        return self.plans[0] if self.plans else None

    def __repr__(self):
        return f"<Outfall {self.code}>"


class RectificationPlan(db.Model):
    """What must be done to an outfall (整治), by when, and how far it has got.

    An outfall fed by several units may carry one plan per unit (DOMAIN.md §1).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    responsible_party_id: Mapped[int | None] = mapped_column(ForeignKey("responsible_party.id"))
    measure: Mapped[str] = mapped_column(String(16))  # vocabulary.MEASURES
    measures_text: Mapped[str | None] = mapped_column(Text)  # 整治措施, in the bureau's words
    deadline: Mapped[date | None] = mapped_column(Date)
    # End of the transition period (过渡期) granted where rectification is hard.
    transition_ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="not_started")  # vocabulary.PLAN_STATUSES
    completed_on: Mapped[date | None] = mapped_column(Date)
    verified_on: Mapped[date | None] = mapped_column(Date)
    # For 清理合并: the outfall this one was merged into.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("outfall.id"))

    outfall = relationship("Outfall", back_populates="plans", foreign_keys=[outfall_id])
    merged_into = relationship("Outfall", foreign_keys=[merged_into_id])
    responsible_party = relationship("ResponsibleParty")

    @property
    def is_done(self) -> bool:
        """Whether the rectification is finished (completed or closed out)."""
        return self.status in DONE_STATUSES

    @property
    def effective_deadline(self) -> date | None:
        """The date after which unfinished work is overdue: the transition end if one was granted."""
        return self.transition_ends_on or self.deadline

    def is_overdue(self, today: date) -> bool:
        """Whether the work is unfinished past its (transition) deadline."""
        due = self.effective_deadline
        return bool(due and not self.is_done and today > due)


class OutfallEvent(db.Model):
    """One dated entry in an outfall's history: created, or a field changed from one value to another."""

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # created | changed
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    # What made the change, e.g. "台账导入 ledger-2026-11.xlsx" or "演示数据".
    source: Mapped[str | None] = mapped_column(String(200))

    outfall = relationship("Outfall", back_populates="events")


class DischargeStandard(db.Model):
    """A standard and grade that limits apply under, e.g. GB 18918-2002 一级A or GB 3838-2002 III类."""

    __table_args__ = (UniqueConstraint("code", "grade"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # effluent | surface_water

    limits = relationship("StandardLimit", back_populates="standard", order_by="StandardLimit.id")

    @property
    def label(self) -> str:
        """How the standard is cited: code and grade."""
        return f"{self.code} {self.grade}"


class StandardLimit(db.Model):
    """The limit one standard sets on one parameter: a maximum, a minimum (DO) or both (pH)."""

    __table_args__ = (UniqueConstraint("standard_id", "parameter", "condition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("discharge_standard.id"))
    parameter: Mapped[str] = mapped_column(String(16))  # COD, BOD5, NH3-N, TP, pH …
    unit: Mapped[str] = mapped_column(String(16), default="mg/L")
    minimum: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    # When the limit applies, if not always, e.g. "水温≤12℃".
    condition: Mapped[str] = mapped_column(String(64), default="")

    standard = relationship("DischargeStandard", back_populates="limits")

    def is_exceeded_by(self, value: float) -> bool:
        """Whether a measured value breaks this limit."""
        return (self.maximum is not None and value > self.maximum) or (
            self.minimum is not None and value < self.minimum
        )


class MonitoringSample(db.Model):
    """One measured value at an outfall, with the limit that applied when it was taken."""

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    parameter: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="mg/L")
    limit_id: Mapped[int | None] = mapped_column(ForeignKey("standard_limit.id"))
    is_demo: Mapped[bool] = mapped_column(default=False)

    outfall = relationship("Outfall", back_populates="samples")
    limit = relationship("StandardLimit")

    @property
    def exceeds_limit(self) -> bool | None:
        """True over the limit, False within it, None when no limit applies (never "compliant")."""
        return None if self.limit is None else self.limit.is_exceeded_by(self.value)


class StandardisationItem(db.Model):
    """One item of an outfall's standardisation checklist (HJ 1309-2023): signboard, sampling point …"""

    __table_args__ = (UniqueConstraint("outfall_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(24))  # vocabulary.CHECKLIST_ITEMS
    done: Mapped[bool] = mapped_column(default=False)
    done_on: Mapped[date | None] = mapped_column(Date)

    outfall = relationship("Outfall", back_populates="checklist")


class OutfallPhoto(db.Model):
    """A photo of an outfall, before or after rectification; the file lives in photo storage."""

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="other")  # vocabulary.PHOTO_KINDS
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    caption: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    outfall = relationship("Outfall", back_populates="photos")
