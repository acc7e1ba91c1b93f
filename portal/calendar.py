"""The district calendar: today's date in 呼中区, and working days with statutory holidays and 调休.

Two sources decide whether a day is worked:

* the State Council's notice for a year, loaded by an administrator (``portal import-holidays``) into
  ``CalendarDay`` rows. A year that has rows is taken wholly from them: weekends are rest days unless
  listed as adjusted working days (班), weekdays are working days unless listed as holidays (休);
* otherwise the maintained ``holidays`` package's China calendar, which carries the notices its
  maintainers have transcribed (2026's included: 2026-02-14 and 2026-10-10 are working Saturdays) and,
  for later years, only the holidays it can compute (fixed dates and lunar festivals, no 调休).

Deadlines falling in a year whose notice is in neither place are still computed (Monday–Friday minus
the computed holidays), and ``notice_loaded`` says False so that staff can be warned.

"Today" is read from the clock at every call (acceptance tests move the server clock): never cache it.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models.calendar import CalendarDay


def _clock() -> datetime:
    """The current instant; tests replace this one function to move time."""
    return datetime.now(timezone.utc)


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return _clock().astimezone(timezone.utc)


def today() -> date:
    """Today's date in the district (``TIMEZONE``), which decides deadlines and what is overdue."""
    return now().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def local_date(instant: datetime) -> date:
    """The district's date at an aware instant (when a report was received, accepted, answered)."""
    return instant.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def add_calendar_days(start: date, days: int) -> date:
    """The date ``days`` calendar days after ``start`` (for deadlines the rules count in plain days)."""
    return start + timedelta(days=days)


# -- the package's calendar ---------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _package(year: int) -> holidays.HolidayBase:
    """The package's China calendar for one year, built once per process (building one costs ~ms)."""
    return holidays.China(years=year)


@lru_cache(maxsize=1)
def _package_notice_years() -> range:
    """The years for which the ``holidays`` package carries the State Council's notice.

    The package transcribes each year's notice into ``special_public_holidays`` (year → the days off
    moved from a weekend), the data that also fills ``weekend_workdays``. Its maintainers add a year's
    entry when the notice is published, and every notice since 2001 has moved at least one day, so
    the keys run without gaps from 2001 to the last transcribed year. We take the span from the
    smallest to the largest key (a gap, should a notice ever move nothing, still counts as carried)
    widened by the years of ``weekend_workdays``; a year after that span has only computed holidays.
    """
    sample = holidays.China()  # the transcribed notices are the class's data, whatever years are asked
    years = set(getattr(sample, "special_public_holidays", {}) or {})
    years |= {day.year for day in getattr(sample, "weekend_workdays", ()) or ()}
    if not years:
        return range(0)
    return range(min(years), max(years) + 1)


def _package_working(day: date) -> bool:
    """Whether the package's calendar works on ``day`` (adjusted weekends of a year's notice included)."""
    if _package(day.year).is_working_day(day):
        return True
    # A notice can move a working day into the last days of the year before (2002's into 2001-12-29).
    return day.weekday() >= 5 and day in _package(day.year + 1).weekend_workdays


# -- the loaded notices --------------------------------------------------------------------------------

class _Notices:
    """The CalendarDay rows of some years, fetched in one query: which years have rows, and each row."""

    def __init__(self, years: Iterable[int]):
        self.fetched: set[int] = set()  # years asked of the database
        self.years: set[int] = set()  # those of them that have rows: taken wholly from the notice
        self.days: dict[date, bool] = {}
        self.load(years)

    def load(self, years: Iterable[int]) -> None:
        """Fetch the rows of ``years`` not fetched yet (one query)."""
        wanted = sorted(set(years) - self.fetched)
        self.fetched.update(wanted)
        if not wanted:
            return
        rows = db.session.execute(
            select(CalendarDay.day, CalendarDay.working)
            .where(CalendarDay.day >= date(wanted[0], 1, 1), CalendarDay.day <= date(wanted[-1], 12, 31))
        ).all()
        for day, working in rows:
            if day.year in wanted:
                self.years.add(day.year)
                self.days[day] = working

    def working(self, day: date) -> bool:
        """Whether ``day`` is worked: from the year's notice if loaded, else from the package."""
        if day.year not in self.fetched:
            self.load([day.year])
        if day.year in self.years:
            listed = self.days.get(day)
            return listed if listed is not None else day.weekday() < 5
        return _package_working(day)

    def notice_loaded(self, year: int) -> bool:
        """Whether ``year``'s notice is known: loaded rows, or carried by the package."""
        if year not in self.fetched:
            self.load([year])
        return year in self.years or year in _package_notice_years()


def is_working_day(day: date) -> bool:
    """Whether the district's offices work on ``day`` (weekends, statutory holidays and 调休 counted)."""
    return _Notices([day.year]).working(day)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start``; ``start`` itself never counts.

    ``days`` <= 0 gives ``start`` back. The rows of every year the count may reach are fetched in
    one query up front (two at most: a run of holidays longer than the estimate needs another).
    """
    if days <= 0:
        return start
    reach = start + timedelta(days=days * 2 + 30)  # generous: no notice rests more than 30 days in a row
    notices = _Notices(range(start.year, reach.year + 1))
    current = start
    while days > 0:
        current += timedelta(days=1)
        if notices.working(current):
            days -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """How many working days come after ``start`` up to and including ``end``; 0 if ``end`` <= ``start``."""
    if end <= start:
        return 0
    notices = _Notices(range(start.year, end.year + 1))
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += notices.working(current)
    return count


def working_day_numbers(start: date, end: date) -> dict[date, int]:
    """For each day from ``start`` to ``end``, how many working days come after ``start`` up to it,
    from one query: ``numbers[b] - numbers[a]`` is ``working_days_between(a, b)`` for any a <= b in
    the span, so many spans (medians over thousands of reports) cost one lookup each."""
    notices = _Notices(range(start.year, end.year + 1))
    numbers, count, current = {start: 0}, 0, start
    while current < end:
        current += timedelta(days=1)
        count += notices.working(current)
        numbers[current] = count
    return numbers


def notice_loaded(year: int) -> bool:
    """Whether the State Council's notice for ``year`` is known (loaded, or in the package's data)."""
    return _Notices([year]).notice_loaded(year)


def years_without_notice(*days: date | None) -> list[int]:
    """The years (sorted, once each) among ``days`` whose notice is not known: staff should be warned."""
    years = sorted({day.year for day in days if day is not None})
    if not years:
        return []
    notices = _Notices(years)
    return [year for year in years if not notices.notice_loaded(year)]
