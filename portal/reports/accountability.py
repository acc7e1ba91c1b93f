"""Accountability in public: how each town and department handles complaints, and the reports behind it.

For a period (the last 12 months, or a calendar year) and each town and department, /progress shows:
reports received, accepted in time, answered in time, the median working days to an answer, reports
overdue now and the reporters' satisfaction. Every figure counts every report (published or not);
each links to ``/reports`` with a ``ReportFilter`` that lists the *published* ones among them, through
the same SQL conditions, so a list never contains a report its figure does not count.

Definitions (the page explains them in plain words):

* received: created in the period (any channel), except duplicates merged into another report;
* accepted in time / late: accepted, on a district date on or before / after ``accept_due``;
  the share is of the reports received (a report not accepted, or not yet, is not "in time");
* answered in time / late: accepted and answered, on a district date on or before / after
  ``finish_due`` (which includes any extension); the share is of the accepted reports;
* median working days from the district date of receipt to that of the answer (``portal.calendar``);
* overdue now: still open past ``accept_due`` (awaiting acceptance) or ``finish_due`` (being
  handled), counted at the given ``today``;
* satisfaction: the mean of the reporters' ratings (1–5), and how many rated.

A row shows its figures only when it received at least ``ACCOUNTABILITY_MIN_REPORTS`` reports in the
period, so one fast answer cannot top a table. Queries are a few GROUP BYs, whatever the number of
reports, and run on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Date, and_, case, cast, func, or_, select
from sqlalchemy.orm import selectinload

from portal import calendar, data_version, departments
from portal.extensions import db
from portal.models import Department, Report, Town
from portal.registry.filters import parse_id
from portal.reports.paging import BoundedPagination
from portal.workflow import BEING_HANDLED

# What a figure counts, as written in a /reports link (``measure=``).
MEASURES = ("received", "accepted_in_time", "accepted_late", "answered_in_time", "answered_late", "answered",
            "overdue", "rated")
DISTRICT = "district"  # ``town=district``: the reports no town handles (区级)
LAST_12_MONTHS = "12m"
FIRST_YEAR, LAST_YEAR = 2000, 2100  # years a ``period=`` may name: beyond them no report can exist
# /reports counts its published reports up to this many ("1,000+"): a reader pages, never needs the exact number.
PUBLIC_LIST_BOUND = 1000


# -- periods ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A span of district dates, both ends included: the last 12 months (``12m``) or a calendar year."""

    key: str
    start: date
    end: date

    @property
    def year(self) -> int | None:
        """The calendar year, or None for the last 12 months."""
        return None if self.key == LAST_12_MONTHS else self.start.year


def last_twelve_months(today: date) -> Period:
    """The 12 months up to and including ``today`` (from the day after the same date a year ago)."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February: a year ago there was none
        year_ago = today.replace(year=today.year - 1, day=28)
    return Period(LAST_12_MONTHS, year_ago + timedelta(days=1), today)


def year_period(year: int) -> Period:
    """One calendar year."""
    return Period(str(year), date(year, 1, 1), date(year, 12, 31))


def period_from_key(key: str | None, today: date) -> Period | None:
    """The period a ``?period=`` names (``12m`` or a year such as ``2026``), or None for anything else."""
    if key == LAST_12_MONTHS:
        return last_twelve_months(today)
    if key and len(key) == 4 and key.isascii() and key.isdigit() and FIRST_YEAR <= int(key) <= LAST_YEAR:
        return year_period(int(key))
    return None


def periods(today: date) -> list[Period]:
    """The periods a visitor may choose: the last 12 months, then each year that has reports, newest first."""
    first, last = db.session.execute(
        select(func.min(Report.created_at), func.max(Report.created_at)).where(Report.status != "merged")
    ).one()
    choices = [last_twelve_months(today)]
    if first is None:
        return choices
    years = [year for year in range(_district_date(last).year, _district_date(first).year - 1, -1)
             if FIRST_YEAR <= year <= LAST_YEAR]
    # One query tells which of those years have reports (a year without any is not offered).
    counted = db.session.execute(select(*(
        func.coalesce(func.sum(case((_in_period(year_period(year)), 1), else_=0)), 0) for year in years
    )).where(Report.status != "merged")).one() if years else ()
    return choices + [year_period(year) for year, count in zip(years, counted) if count]


# -- SQL conditions -----------------------------------------------------------------------------------

def _zone() -> ZoneInfo:
    """The district's time zone (``TIMEZONE``)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def _district_date(moment: datetime) -> date:
    """The district's date of an instant."""
    return moment.astimezone(_zone()).date()


def _instant(day: date) -> datetime:
    """The instant the district's ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=_zone()).astimezone(timezone.utc)


def _local_date(column):
    """SQL: the district's date of a stored instant (stored as naive UTC).

    PostgreSQL converts with its own time-zone database; SQLite has none, so it adds the zone's
    current offset, which is exact for a zone without daylight saving time (Asia/Shanghai).
    """
    zone = current_app.config["TIMEZONE"]
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(zone, func.timezone("UTC", column)), Date)
    offset = _zone().utcoffset(datetime.now()) or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def _in_period(period: Period):
    """Created on a district date inside the period."""
    return and_(Report.created_at >= _instant(period.start),
                Report.created_at < _instant(period.end + timedelta(days=1)))


def _received(period: Period | None):
    """Received in the period (any time without one); a duplicate merged into another is not counted twice."""
    not_merged = Report.status != "merged"
    return not_merged if period is None else and_(not_merged, _in_period(period))


def _conditions(today: date) -> dict:
    """SQL for each measure, among received reports (``received`` itself is then always true)."""
    accepted = Report.accepted_at.is_not(None)
    answered = and_(accepted, Report.answered_at.is_not(None))
    accepted_on, answered_on = _local_date(Report.accepted_at), _local_date(Report.answered_at)
    return {
        "received": Report.id.is_not(None),
        "accepted": accepted,
        # A report without a deadline cannot be late.
        "accepted_in_time": and_(accepted, or_(Report.accept_due.is_(None), accepted_on <= Report.accept_due)),
        "accepted_late": and_(accepted, Report.accept_due.is_not(None), accepted_on > Report.accept_due),
        "answered": answered,
        "answered_in_time": and_(answered, or_(Report.finish_due.is_(None), answered_on <= Report.finish_due)),
        "answered_late": and_(answered, Report.finish_due.is_not(None), answered_on > Report.finish_due),
        "overdue": or_(
            and_(Report.status == "submitted", Report.accept_due.is_not(None), Report.accept_due < today),
            and_(Report.status.in_(BEING_HANDLED), Report.finish_due.is_not(None), Report.finish_due < today),
        ),
        "rated": Report.rating.is_not(None),
    }


def _chinese_name(department: Department) -> str:
    """A department's name in Chinese, the portal's first language."""
    return department.name


# -- the filter of /reports ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportFilter:
    """Which published reports a /reports link lists: a town (or the district), a department, a period, a measure.

    ``problems`` holds the parameters that could not be read (``(name, value)``): they are dropped, and
    the page says so. ``town_name`` and ``department_name`` are for showing the active filters.
    """

    town: int | str | None = None  # a town's id, DISTRICT, or None for any
    department: str | None = None
    period: Period | None = None
    measure: str | None = None
    town_name: str = field(default="", compare=False)
    department_name: str = field(default="", compare=False)
    problems: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def to_args(self) -> dict[str, str]:
        """URL parameters that give this filter back (for links and pagination)."""
        args = {}
        if self.town is not None:
            args["town"] = str(self.town)
        if self.department:
            args["department"] = self.department
        if self.period:
            args["period"] = self.period.key
        if self.measure:
            args["measure"] = self.measure
        return args

    def without(self, name: str) -> dict[str, str]:
        """The parameters of this filter less one of them (a "remove this filter" link)."""
        return {key: value for key, value in self.to_args().items() if key != name}

    def but(self, **changes) -> ReportFilter:
        """This filter with some fields changed."""
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        """Whether every published report passes."""
        return not self.to_args()

    def conditions(self, today: date) -> list:
        """SQL conditions on Report for this filter (publication aside)."""
        found = []
        if self.town == DISTRICT:
            found.append(Report.town_id.is_(None))
        elif self.town is not None:
            found.append(Report.town_id == self.town)
        if self.department:
            found.append(Report.department_code == self.department)
        if self.measure:
            found += [_received(self.period), _conditions(today)[self.measure]]
        elif self.period:
            found.append(_in_period(self.period))
        return found


def parse_filter(args, today: date, department_name: Callable[[Department], str] = _chinese_name) -> ReportFilter:
    """Read a ReportFilter from request arguments; unreadable values are dropped and noted in ``problems``.

    ``department_name`` names a department for the page (the view passes ``departments.display``).
    """
    problems = []
    values: dict = {}

    def given(name: str) -> str:
        return (args.get(name) or "").strip()

    town = given("town")
    if town == DISTRICT:
        values["town"] = DISTRICT
    elif town:
        number = parse_id(town)
        record = db.session.get(Town, number) if number is not None else None
        if record is None:
            problems.append(("town", town))
        else:
            values.update(town=record.id, town_name=record.name)
    code = given("department")
    if code:
        department = departments.by_code(code) if len(code) <= 40 else None
        if department is None:
            problems.append(("department", code))
        else:
            values.update(department=department.code, department_name=department_name(department))
    key = given("period")
    if key:
        period = period_from_key(key, today)
        if period is None:
            problems.append(("period", key))
        values["period"] = period
    measure = given("measure")
    if measure:
        if measure in MEASURES:
            values["measure"] = measure
        else:
            problems.append(("measure", measure))
    # Shown back on the page: keep it short and printable.
    problems = [(name, "".join(ch for ch in value if ch.isprintable())[:40]) for name, value in problems]
    return ReportFilter(**values, problems=tuple(problems))


def published_reports(report_filter: ReportFilter, today: date, page: int = 1, per_page: int = 50):
    """A page of the published reports a filter lets through, newest first (a Flask-SQLAlchemy pagination).

    Unpublished reports are never listed, whatever the filter: the figures count them, the list cannot.
    The total is counted up to ``PUBLIC_LIST_BOUND`` ("1,000+", ``paging.BoundedPagination``).
    """
    query = (select(Report).where(Report.published.is_(True), *report_filter.conditions(today))
             .options(selectinload(Report.town)).order_by(Report.created_at.desc(), Report.id.desc()))
    return BoundedPagination(query, page=page, per_page=per_page, bound=PUBLIC_LIST_BOUND)


# -- the figures --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """One row's counts for a period."""

    received: int = 0
    accepted: int = 0
    accepted_in_time: int = 0
    accepted_late: int = 0
    answered: int = 0
    answered_in_time: int = 0
    answered_late: int = 0
    overdue: int = 0
    rated: int = 0
    rating_mean: float | None = None
    median_working_days: float | None = None

    @property
    def accepted_share(self) -> float | None:
        """Per cent of the reports received that were accepted by their deadline."""
        return 100 * self.accepted_in_time / self.received if self.received else None

    @property
    def answered_share(self) -> float | None:
        """Per cent of the accepted reports that were answered by their deadline."""
        return 100 * self.answered_in_time / self.accepted if self.accepted else None


@dataclass(frozen=True)
class Row:
    """A town, the district (区级), a department or the whole district, with its figures and list filter."""

    kind: str  # town | district | department | total
    name: str  # "" for the district and the total: the page names them in the visitor's language
    figures: Figures
    filter: ReportFilter  # its reports in the period; ``link(measure)`` adds what a figure counts
    ranked: bool  # enough reports to show figures

    def link(self, measure: str) -> dict[str, str]:
        """The /reports parameters listing the published reports one of this row's figures counts."""
        return self.filter.but(measure=measure).to_args()


@dataclass(frozen=True)
class Accountability:
    """Everything the complaints section of /progress shows, counted on ``today`` for ``period``."""

    today: date
    period: Period
    periods: list[Period]
    minimum: int
    by_town: list[Row]
    by_department: list[Row]
    total: Row


_COUNTED = ("received", "accepted", "accepted_in_time", "accepted_late", "answered", "answered_in_time",
            "answered_late", "overdue", "rated")


def figures(period: Period, today: date, department_name: Callable[[Department], str] = _chinese_name) -> Accountability:
    """Count complaints per town and per department for ``period``, overdue as of ``today``.

    Departments are named (and sorted) by ``department_name``: the view passes ``departments.display``,
    the visitor's language. The counts are kept (``_counted``) while no report changes.
    """
    minimum = current_app.config["ACCOUNTABILITY_MIN_REPORTS"]
    by_town, by_department, total, medians, choices = _counted(period, today)

    def row(kind, name, counts, median, report_filter):
        numbers = Figures(**counts, median_working_days=median)
        return Row(kind, name, numbers, report_filter, numbers.received >= minimum)

    base = ReportFilter(period=period)
    towns = sorted(db.session.execute(select(Town.id, Town.name)).all(), key=lambda town: town.name)
    town_rows = [row("town", name, by_town.get(town_id, {}), medians["town"].get(town_id),
                     base.but(town=town_id, town_name=name)) for town_id, name in towns]
    town_rows.append(row("district", "", by_town.get(None, {}), medians["town"].get(None),
                         base.but(town=DISTRICT)))
    shown = [d for d in departments.every() if d.handles_reports or d.code in by_department]
    department_rows = sorted(
        (row("department", department_name(d), by_department.get(d.code, {}),
             medians["department"].get(d.code), base.but(department=d.code, department_name=department_name(d)))
         for d in shown),
        key=lambda r: r.name,
    )
    return Accountability(
        today=today, period=period, periods=choices, minimum=minimum, by_town=town_rows,
        by_department=department_rows, total=row("total", "", total, medians["total"].get(None), base),
    )


_FIGURES = "portal.accountability"


def _counted(period: Period, today: date) -> tuple:
    """The grouped counts, medians and period choices of ``period`` on ``today``, counted again only
    when the reports have changed (``data_version.remembered``): at a million reports a count takes
    seconds, so /progress must not recount on every view. A few periods are kept per worker."""
    def count() -> tuple:
        by_town, by_department, total = _grouped(period, today)
        return by_town, by_department, total.get(None, {}), _median_working_days(period, today), periods(today)

    return data_version.remembered(_FIGURES, (data_version.REPORTS,), (period.key, period.start, period.end, today),
                                   count, limit=16)


def _grouped(period: Period, today: date) -> tuple[dict, dict, dict]:
    """Every count and the mean rating per town, per department and in all, from one GROUP BY over
    (town, department): the period's reports are read once, the rows folded here."""
    conditions = _conditions(today)
    sums = [func.coalesce(func.sum(case((conditions[name], 1), else_=0)), 0) for name in _COUNTED]
    query = (select(Report.town_id, Report.department_code, *sums, func.coalesce(func.sum(Report.rating), 0))
             .where(_received(period)).group_by(Report.town_id, Report.department_code))
    totals: dict[str, dict] = {"town": {}, "department": {}, "total": {}}
    for town_id, department_code, *numbers in db.session.execute(query).all():
        for kind, key in (("town", town_id), ("department", department_code), ("total", None)):
            found = totals[kind].setdefault(key, dict.fromkeys((*_COUNTED, "rating_sum"), 0))
            for name, number in zip((*_COUNTED, "rating_sum"), numbers):
                found[name] += int(number)

    def figures_of(found: dict) -> dict:
        counts = {name: found[name] for name in _COUNTED}
        counts["rating_mean"] = found["rating_sum"] / found["rated"] if found["rated"] else None
        return counts

    return tuple({key: figures_of(found) for key, found in totals[kind].items()}
                 for kind in ("town", "department", "total"))


def _median_working_days(period: Period, today: date) -> dict[str, dict]:
    """Median working days from receipt to answer, per town, per department and in all (key None).

    One query counts the answered reports per town, department and pair of district dates (receipt,
    answer); the working days between two dates are differences of ``calendar.working_day_numbers``
    over the span (one query of the calendar, however many reports). The rows are read as a stream
    and folded into how many reports took each number of days: at a million reports there are
    hundreds of thousands of rows, which a worker would otherwise hold (and keep the memory of).
    """
    created_on, answered_on = _local_date(Report.created_at), _local_date(Report.answered_at)
    # Through the connection, not the ORM (which fetches every row first): the rows are then made one
    # by one from the driver's cursor, on PostgreSQL from its client-side result (no server-side
    # cursor, whose plan PostgreSQL tunes for the first rows: twice as slow here).
    rows = db.session.connection().execute(
        select(Report.town_id, Report.department_code, created_on, answered_on, func.count())
        .where(_received(period), Report.accepted_at.is_not(None), Report.answered_at.is_not(None))
        .group_by(Report.town_id, Report.department_code, created_on, answered_on)
    )
    numbers = _DayNumbers(period.start, max(today, period.end))
    groups: dict[str, dict] = {"town": {}, "department": {}, "total": {}}
    for town_id, department_code, start, end, count in rows:
        start, end = _as_date(start), _as_date(end)
        days = numbers[end] - numbers[start] if end > start else 0
        for kind, key in (("town", town_id), ("department", department_code), ("total", None)):
            found = groups[kind].setdefault(key, {})
            found[days] = found.get(days, 0) + count
    return {kind: {key: _median(counts) for key, counts in found.items()} for kind, found in groups.items()}


class _DayNumbers:
    """``calendar.working_day_numbers`` over a span, widened (and counted again) for a day outside it."""

    def __init__(self, first: date, last: date):
        self.numbers = calendar.working_day_numbers(first, last)
        self.first, self.last = first, last

    def __getitem__(self, day: date) -> int:
        if day not in self.numbers:  # answered after today by the clock, say
            self.first, self.last = min(self.first, day), max(self.last, day)
            self.numbers = calendar.working_day_numbers(self.first, self.last)
        return self.numbers[day]


def _median(counts: dict[int, int]) -> float:
    """The median of values given as {value: how many times}, as ``statistics.median`` gives it."""
    ordered = sorted(counts.items())
    total = sum(counts.values())

    def at(position: int) -> int:
        seen = 0
        for value, times in ordered:
            seen += times
            if position < seen:
                return value
        raise IndexError(position)

    if total % 2:
        return at(total // 2)
    return (at(total // 2 - 1) + at(total // 2)) / 2


def _as_date(value) -> date:
    """A date as SQL gave it back (SQLite's date() is text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)
