"""Days the district calendar knows beyond the ``holidays`` package: loaded from the State Council's notice."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class CalendarDay(db.Model):
    """A statutory holiday (``working`` False) or an adjusted working day (调休, ``working`` True)."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column()
    name: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(200), default="")  # the file it was loaded from
