"""The outfall registry (一口一档): outfalls, who answers for them, their rectification and monitoring."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
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
    # 统一社会信用代码 of a unit, when the bureau knows it; never asked of a natural person.
    credit_code: Mapped[str | None] = mapped_column(String(32))
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

    # The map's box queries and grid counts read the position first.
    __table_args__ = (Index("ix_outfall_position", "longitude", "latitude"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The ledger's code (排污口编码): the outfall's permanent public identifier in URLs and QR codes.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # HJ 1235-2021 national code; its segment layout is unconfirmed, so it is kept as a plain string.
    national_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id"), index=True)
    # WGS84 decimal degrees, rounded to 6 places (about 0.1 m) so that export → import is exact.
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    outfall_type: Mapped[str] = mapped_column(String(32), index=True)  # vocabulary.OUTFALL_TYPES
    outfall_subtype: Mapped[str | None] = mapped_column(String(32))  # vocabulary.OUTFALL_SUBTYPES
    discharge_mode: Mapped[str | None] = mapped_column(String(16))  # vocabulary.DISCHARGE_MODES
    approval_status: Mapped[str | None] = mapped_column(String(16))  # vocabulary.APPROVAL_STATUSES
    found_on: Mapped[date | None] = mapped_column(Date, index=True)
    stage: Mapped[str] = mapped_column(String(20), default="survey", index=True)  # vocabulary.STAGES
    responsible_party_id: Mapped[int | None] = mapped_column(ForeignKey("responsible_party.id"))
    # Why that party answers (DOMAIN.md §1's chain): vocabulary.PARTY_BASES — the applicant, else the
    # unit actually using it, else the town government or the party it names.
    party_basis: Mapped[str | None] = mapped_column(String(16))
    party_basis_note: Mapped[str | None] = mapped_column(Text)
    # The party's contact for this outfall as the ledger gives it; may differ between outfalls.
    party_telephone: Mapped[str | None] = mapped_column(String(32))
    # 包保领导 as the ledger wrote it (kept for history); the record it names is supervising_chief.
    supervising_leader: Mapped[str | None] = mapped_column(String(64))
    # 包保领导: the official's record (a river chief or other public office holder).
    supervising_chief_id: Mapped[int | None] = mapped_column(ForeignKey("river_chief.id", ondelete="SET NULL"))
    # The discharge standard the bureau set for this outfall, overriding the rule by type
    # (portal.standards); None: the rule decides. standard_note says why it was set.
    # use_alter: a permit (a DischargeStandard) refers back to its outfall, a cycle create/drop must break.
    standard_id: Mapped[int | None] = mapped_column(
        ForeignKey("discharge_standard.id", ondelete="SET NULL", use_alter=True))
    standard_note: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # What the outfall's plans add up to, kept with the outfall (portal.registry.plan_summary keeps it
    # true at every flush) so that maps, lists and counts over 100,000 outfalls never aggregate all
    # plans per request. The main plan is the first (lowest id); no foreign key, so plans can go in
    # any order.
    main_plan_id: Mapped[int | None] = mapped_column(index=True)
    # The earliest effective deadline (transition end, else deadline) of any plan: the list's sort.
    plans_due_on: Mapped[date | None] = mapped_column(Date, index=True)
    # The least advanced status of any plan, as its rank in vocabulary.PLAN_STATUSES: the list's sort.
    plans_status_rank: Mapped[int | None] = mapped_column(index=True)
    # The earliest effective deadline of an unfinished plan: overdue from the day after it.
    open_due_on: Mapped[date | None] = mapped_column(Date, index=True)

    town = relationship("Town", back_populates="outfalls")
    water_body = relationship("WaterBody", back_populates="outfalls")
    responsible_party = relationship("ResponsibleParty")
    supervising_chief = relationship("RiverChief", foreign_keys=[supervising_chief_id])
    standard = relationship("DischargeStandard", foreign_keys=[standard_id])
    permits = relationship(
        "DischargeStandard", foreign_keys="DischargeStandard.outfall_id", back_populates="outfall",
        order_by="DischargeStandard.id", cascade="all, delete-orphan",
    )
    documents = relationship(
        "OutfallDocument", back_populates="outfall", order_by="OutfallDocument.id", cascade="all, delete-orphan",
    )
    sections = relationship("MonitoringSection", back_populates="outfall", order_by="MonitoringSection.id")
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

    # The filters by status and by measure find their outfalls through these, never by scanning plans.
    __table_args__ = (
        Index("ix_rectification_plan_status_outfall", "status", "outfall_id"),
        Index("ix_rectification_plan_measure_outfall", "measure", "outfall_id"),
    )

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
    # 销号: the bureau closed the outfall's rectification out after verifying it.
    closed_out_on: Mapped[date | None] = mapped_column(Date)

    outfall = relationship("Outfall", back_populates="plans", foreign_keys=[outfall_id])
    merged_into = relationship("Outfall", foreign_keys=[merged_into_id])
    responsible_party = relationship("ResponsibleParty")
    steps = relationship(
        "RectificationStep", back_populates="plan",
        order_by="RectificationStep.occurred_on, RectificationStep.id", cascade="all, delete-orphan",
    )

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


class RectificationStep(db.Model):
    """One dated step of a rectification plan: progress made, verification, closing out (销号) …"""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rectification_plan.id", ondelete="CASCADE"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), default="progress")  # vocabulary.STEP_KINDS
    text: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan = relationship("RectificationPlan", back_populates="steps")
    actor = relationship("Account")
    photos = relationship("OutfallPhoto", back_populates="step", order_by="OutfallPhoto.id")


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
    # Who made it in the back office (None: an import, the CLI or the system) and why.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)

    outfall = relationship("Outfall", back_populates="events")
    actor = relationship("Account")


class DischargeStandard(db.Model):
    """A set of limits: a standard and grade (GB 18918-2002 一级A, GB 3838-2002 III类) or one
    outfall's discharge permit (排污许可证), whose limits take precedence over any standard."""

    __table_args__ = (UniqueConstraint("code", "grade"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))  # the standard's number, or the permit's number
    grade: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # vocabulary.STANDARD_KINDS: effluent | surface_water | permit
    # Which sources the standard is written for (vocabulary.STANDARD_SCOPES): the rule in
    # portal.standards picks a standard by its scope, so one the bureau adds can become the default.
    scope: Mapped[str | None] = mapped_column(String(24))
    # A permit belongs to one outfall and is valid between two dates.
    outfall_id: Mapped[int | None] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    # Shipped by a migration (the national standards): not to be edited or removed in the back office.
    is_builtin: Mapped[bool] = mapped_column(default=False)

    limits = relationship("StandardLimit", back_populates="standard", order_by="StandardLimit.id",
                          cascade="all, delete-orphan")
    outfall = relationship("Outfall", foreign_keys=[outfall_id], back_populates="permits")

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


class MonitoringSection(db.Model):
    """A monitoring cross-section (断面) of a receiving water, judged against its GB 3838 class.

    National, provincial or district sections, cross-county ones, or a section laid out upstream or
    downstream of one outfall (``outfall_id`` and ``position``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(24), default="district")  # vocabulary.SECTION_LEVELS
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id", ondelete="SET NULL"), index=True)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    # GB 3838 class the section must meet; None: the water body's target class.
    target_class: Mapped[str | None] = mapped_column(String(4))
    outfall_id: Mapped[int | None] = mapped_column(ForeignKey("outfall.id", ondelete="SET NULL"), index=True)
    position: Mapped[str | None] = mapped_column(String(12))  # upstream | downstream of that outfall
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    water_body = relationship("WaterBody")
    outfall = relationship("Outfall", back_populates="sections")
    samples = relationship(
        "MonitoringSample", back_populates="section", order_by="MonitoringSample.sampled_at, MonitoringSample.id",
    )

    @property
    def judged_class(self) -> str | None:
        """The GB 3838 class the section's samples are judged against."""
        return self.target_class or (self.water_body.target_class if self.water_body else None)


class MonitoringSample(db.Model):
    """One result at a site — an outfall's effluent or a section's water — with the limit it was judged by.

    A value below the lab's detection limit is a non-detect: ``value`` is None, ``detection_limit``
    holds the limit, and it is never shown as zero nor as over a limit.
    """

    __table_args__ = (
        CheckConstraint("(outfall_id IS NULL) <> (section_id IS NULL)", name="one_site"),
        CheckConstraint("value IS NOT NULL OR detection_limit IS NOT NULL", name="value_or_detection_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int | None] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitoring_section.id", ondelete="CASCADE"), index=True)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    parameter: Mapped[str] = mapped_column(String(16))  # portal.monitoring_parameters code: COD, NH3-N …
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="mg/L")
    # Set for a non-detect (<0.05, 0.05L, ND, 未检出): the lab's detection limit, in ``unit``.
    detection_limit: Mapped[float | None] = mapped_column(Float)
    limit_id: Mapped[int | None] = mapped_column(ForeignKey("standard_limit.id", ondelete="SET NULL"))
    sampler: Mapped[str | None] = mapped_column(String(100))
    lab: Mapped[str | None] = mapped_column(String(200))
    # Where the result came from: "化验结果导入 <file>", "后台录入", "演示数据".
    source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)

    outfall = relationship("Outfall", back_populates="samples")
    section = relationship("MonitoringSection", back_populates="samples")
    limit = relationship("StandardLimit")

    @property
    def public_sampler(self) -> str:
        """The sampler as public pages show a natural person: 陈静 → 陈*."""
        return mask_personal_name(self.sampler) if self.sampler else ""

    @property
    def below_detection(self) -> bool:
        """Whether the lab found less than it can detect (a non-detect)."""
        return self.value is None

    @property
    def exceeds_limit(self) -> bool | None:
        """True over the limit, False within it, None when no limit applies or a non-detect cannot be
        judged against it (never "compliant" by default, never "exceeded" for a non-detect)."""
        if self.limit is None:
            return None
        if self.value is None:
            limit = self.limit
            # Below a detection limit that is itself within a maximum: within. Anything else is unknown.
            if limit.maximum is not None and limit.minimum is None and self.detection_limit <= limit.maximum:
                return False
            return None
        return self.limit.is_exceeded_by(self.value)


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
    # The rectification step the photo documents, if any (before/after photos of a plan's progress).
    step_id: Mapped[int | None] = mapped_column(ForeignKey("rectification_step.id", ondelete="SET NULL"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    outfall = relationship("Outfall", back_populates="photos")
    step = relationship("RectificationStep", back_populates="photos")


class OutfallDocument(db.Model):
    """A document of an outfall's archive — approval, permit, monitoring report — kept as a PDF in
    photo storage and served only as a download."""

    id: Mapped[int] = mapped_column(primary_key=True)
    outfall_id: Mapped[int] = mapped_column(ForeignKey("outfall.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="other")  # vocabulary.DOCUMENT_KINDS
    title: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    outfall = relationship("Outfall", back_populates="documents")


class ProgressSnapshot(db.Model):
    """The progress figures as they stood at the end of one day, kept so /progress can show history."""

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The figures as JSON (portal.registry.snapshots decides the shape).
    figures: Mapped[str] = mapped_column(Text)
