"""Places and the people accountable for them: towns, water bodies and river chiefs."""
from __future__ import annotations

import json

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Town(db.Model):
    """A town (镇): answers for the outfalls in its territory."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # GeoJSON geometry (Polygon or MultiPolygon, WGS84); None until boundaries are imported.
    boundary: Mapped[str | None] = mapped_column(Text)
    # Where the boundary came from, e.g. "approximate (demo)" or the imported file's name.
    boundary_source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)

    outfalls = relationship("Outfall", back_populates="town")

    @property
    def boundary_geometry(self) -> dict | None:
        """The boundary as a GeoJSON geometry dict."""
        return json.loads(self.boundary) if self.boundary else None

    def __repr__(self):
        return f"<Town {self.name}>"


class WaterBody(db.Model):
    """A river, lake or reservoir that receives outfalls."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="river")  # vocabulary.WATER_BODY_KINDS
    # GB 3838 surface-water class the water must meet: I … V.
    target_class: Mapped[str | None] = mapped_column(String(4))
    # GeoJSON LineString/MultiLineString (rivers) or Polygon (lakes), WGS84.
    geometry: Mapped[str | None] = mapped_column(Text)
    supervision_telephone: Mapped[str | None] = mapped_column(String(32))
    # The bureau's code for the water, when it has one (imports match on it before the name).
    code: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    # The river board's goals (治理目标), in the bureau's words.
    goals: Mapped[str | None] = mapped_column(Text)
    # The last change to what the board shows (chiefs, goals, telephone), and when the public board
    # was last brought up to date: the rules allow 15 days between the two.
    board_changed_on: Mapped[date | None] = mapped_column(Date)
    board_updated_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)

    outfalls = relationship("Outfall", back_populates="water_body")
    chiefs = relationship("RiverChief", back_populates="water_body", order_by="RiverChief.level_rank")

    def __repr__(self):
        return f"<WaterBody {self.name}>"


class RiverChief(db.Model):
    """A river chief (河长): a named official accountable for a river or a town at one level."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(100))  # their office, e.g. 区委书记
    level: Mapped[str] = mapped_column(String(16))  # vocabulary.CHIEF_LEVELS
    # 1 = province … 5 = village, so boards list chiefs from the top down.
    level_rank: Mapped[int] = mapped_column(default=3)
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    duties: Mapped[str | None] = mapped_column(Text)
    telephone: Mapped[str | None] = mapped_column(String(32))
    # Only an official line (an office's number) may be shown in public; a person's own never is.
    telephone_is_official: Mapped[bool] = mapped_column(default=False)
    # The bureau's number for the chief, when its file gives one (imports match on it first).
    code: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    appointed_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    water_body = relationship("WaterBody", back_populates="chiefs")
    town = relationship("Town")

    def __repr__(self):
        return f"<RiverChief {self.level} {self.name}>"
