"""The duty roster: which river chief handles new reports for a water body or a town, and when."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime


class DutyShift(db.Model):
    """A river chief on duty (值班河长) for one water body or one town, from ``starts_at`` to ``ends_at``.

    The interval is half-open: at ``ends_at`` the next shift has taken over. Routing looks shifts
    up by target and instant, which the two composite indexes serve.
    """

    __table_args__ = (
        CheckConstraint("(water_body_id IS NULL) <> (town_id IS NULL)", name="one_target"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_duty_shift_water_body_window", "water_body_id", "starts_at", "ends_at"),
        Index("ix_duty_shift_town_window", "town_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chief_id: Mapped[int] = mapped_column(ForeignKey("river_chief.id", ondelete="CASCADE"), index=True)
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id", ondelete="CASCADE"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # Where the shift came from, e.g. "值班表导入 roster-2026-12.csv".
    source: Mapped[str | None] = mapped_column(String(200))

    chief = relationship("RiverChief")
    water_body = relationship("WaterBody")
    town = relationship("Town")

    def __repr__(self):
        return f"<DutyShift chief={self.chief_id} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}>"
