"""Counting the registry for /progress: totals, the share finished, overdue per town, completions per month.

Every count is made in SQL with GROUP BY, so the page costs the same few queries for ten outfalls as
for 100,000; each family of figures is one statement that reads an index (on the outfall's own
columns, its plan summary of portal.registry.plan_summary, or the plans' (status|measure, outfall_id)
indexes) rather than the table itself. The page counting everything is still the dearest public page:
/progress serves it from the page cache, recounted at most once a minute. Each count carries the ``OutfallFilter`` that lists exactly the outfalls it counts, so
every figure on the page can link to the list that shows them.

Counts by measure and status follow the filter's rule: an outfall counts under a measure (status) when
any of its rectification plans has it, so an outfall fed by several units (DOMAIN.md §1) may count
under more than one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import String, cast, distinct, extract, func, literal_column, select, union_all

from portal.extensions import db
from portal.models import Outfall, OutfallEvent, RectificationPlan, Town
from portal.registry import plan_summary
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.registry.plan_summary import overdue_condition
from portal.registry.vocabulary import DONE_STATUSES


@dataclass(frozen=True)
class Count:
    """How many outfalls share one value (a vocabulary code, or a town), and the filter that lists them."""

    key: str
    value: int
    filter: OutfallFilter
    label: str = ""  # a town's name; vocabulary codes are labelled in the visitor's language by the page


@dataclass(frozen=True)
class Share:
    """How far rectification has got: outfalls whose every plan is finished, out of outfalls with a plan.

    ``partly_finished`` counts outfalls with several plans of which some, not all, are finished:
    they are not finished, but the list of outfalls with a finished plan includes them.
    """

    finished: int
    with_plan: int
    partly_finished: int
    without_plan: int

    @property
    def percent(self) -> float | None:
        """The finished share in per cent, or None when no outfall has a plan yet."""
        return 100 * self.finished / self.with_plan if self.with_plan else None

    @property
    def unfinished(self) -> int:
        """Outfalls with a plan that is not finished yet."""
        return self.with_plan - self.finished

    @property
    def finished_filter(self) -> OutfallFilter:
        """The outfalls with a finished (completed or closed-out) plan."""
        return OutfallFilter(statuses=_ordered_done_statuses())

    @property
    def unfinished_filter(self) -> OutfallFilter:
        """The outfalls with a plan not yet finished: exactly the ``unfinished`` ones."""
        return OutfallFilter(statuses=tuple(c for c in vocab.PLAN_STATUSES.codes() if c not in DONE_STATUSES))

    @property
    def with_plan_filter(self) -> OutfallFilter:
        """The outfalls with a rectification plan, whatever its status."""
        return OutfallFilter(statuses=tuple(vocab.PLAN_STATUSES.codes()))


@dataclass(frozen=True)
class TownOverdue:
    """One town's outfalls and how many of them are overdue (按期清零: none overdue is "cleared")."""

    town_id: int
    name: str
    outfalls: int
    overdue: int

    @property
    def cleared(self) -> bool:
        """Whether the town has no overdue outfall."""
        return self.overdue == 0

    @property
    def filter(self) -> OutfallFilter:
        """The town's overdue outfalls."""
        return OutfallFilter(towns=(self.town_id,), overdue=True)

    @property
    def town_filter(self) -> OutfallFilter:
        """All the town's outfalls."""
        return OutfallFilter(towns=(self.town_id,))


@dataclass(frozen=True)
class MonthCount:
    """Rectification plans finished in one calendar month."""

    year: int
    month: int
    value: int

    @property
    def first_day(self) -> date:
        """The month's first day, for <time> and sorting."""
        return date(self.year, self.month, 1)


@dataclass(frozen=True)
class Progress:
    """Everything /progress shows, counted on one day."""

    on: date
    total: int
    demo: int
    by_stage: list[Count]
    by_type: list[Count]
    by_town: list[Count]
    by_measure: list[Count]
    by_status: list[Count]
    share: Share
    overdue_by_town: list[TownOverdue]
    overdue_total: int
    completions_by_month: list[MonthCount]
    last_changed: datetime | None

    @property
    def all_filter(self) -> OutfallFilter:
        """Every outfall."""
        return OutfallFilter()

    @property
    def overdue_filter(self) -> OutfallFilter:
        """The outfalls with a plan unfinished past its deadline."""
        return OutfallFilter(overdue=True)

    @property
    def towns_cleared(self) -> int:
        """How many towns have no overdue outfall."""
        return sum(1 for town in self.overdue_by_town if town.cleared)

    @property
    def completions_total(self) -> int:
        """Plans finished in all the months shown."""
        return sum(month.value for month in self.completions_by_month)


def progress(today: date) -> Progress:
    """Count the registry as it stands on ``today`` (which decides what is overdue)."""
    towns = sorted(db.session.execute(select(Town.id, Town.name)).all(), key=lambda town: town.name)
    by_stage, by_type, by_town, total, demo = _outfall_counts(towns)
    by_measure, by_status = _plan_counts()
    overdue_by_town, overdue_total = _overdue_by_town(by_town, today)
    return Progress(
        on=today, total=total, demo=demo, by_stage=by_stage, by_type=by_type, by_town=by_town,
        by_measure=by_measure, by_status=by_status,
        share=_share(total), overdue_by_town=overdue_by_town, overdue_total=overdue_total,
        completions_by_month=completions_by_month(today), last_changed=last_changed(),
    )


def _grouped_counts(*groupings) -> list[dict]:
    """For each ``(column, condition or None)``: {value: count}, all in one statement.

    Each part is a GROUP BY of one column, which the database reads from that column's index alone
    (a covering index scan) — several times cheaper than one GROUP BY of all the columns read from
    the table. The parts are joined by UNION ALL, tagged with their place, so the figures cost one
    round trip.
    """
    parts = []
    for place, (column, condition, count) in enumerate(groupings):
        part = select(literal_column(str(place)).label("place"), cast(column, String).label("value"),
                      count.label("n")).group_by(column)
        parts.append(part if condition is None else part.where(condition))
    results: list[dict] = [{} for _ in groupings]
    for place, value, count in db.session.execute(union_all(*parts)):
        results[int(place)][value] = int(count)
    return results


def _outfall_counts(towns):
    """Outfalls by stage, by type and by town, and the demo outfalls; every vocabulary term and town listed."""
    stages, types, per_town, demo = _grouped_counts(
        (Outfall.stage, None, func.count()), (Outfall.outfall_type, None, func.count()),
        (Outfall.town_id, None, func.count()), (Outfall.is_demo, Outfall.is_demo.is_(True), func.count()),
    )
    total = sum(per_town.values())
    by_stage = [Count(code, stages.get(code, 0), OutfallFilter(stages=(code,))) for code in vocab.STAGES.codes()]
    by_type = [Count(code, types.get(code, 0), OutfallFilter(types=(code,))) for code in vocab.OUTFALL_TYPES.codes()]
    by_town = [Count(str(town_id), per_town.get(str(town_id), 0), OutfallFilter(towns=(town_id,)), label=name)
               for town_id, name in towns]
    return by_stage, by_type, by_town, total, sum(demo.values())


def _plan_counts() -> tuple[list[Count], list[Count]]:
    """Outfalls with at least one plan of each measure, and of each status: the filter's own rule, so
    links match; read from the plans' (measure, outfall_id) and (status, outfall_id) indexes."""
    outfalls = func.count(distinct(RectificationPlan.outfall_id))
    measures, statuses = _grouped_counts((RectificationPlan.measure, None, outfalls),
                                         (RectificationPlan.status, None, outfalls))
    return ([Count(code, measures.get(code, 0), OutfallFilter(measures=(code,))) for code in vocab.MEASURES.codes()],
            [Count(code, statuses.get(code, 0), OutfallFilter(statuses=(code,)))
             for code in vocab.PLAN_STATUSES.codes()])


def _share(total: int) -> Share:
    """Outfalls with a plan, those whose every plan is finished, and those only partly finished.

    The outfall's least advanced status (``plans_status_rank``) is finished exactly when every plan
    is; outfalls with any finished plan are read from the plans' (status, outfall_id) index.
    """
    ranks = dict(db.session.execute(
        select(Outfall.plans_status_rank, func.count()).group_by(Outfall.plans_status_rank)).all())
    done_ranks = {plan_summary.STATUS_RANKS[code] for code in DONE_STATUSES}
    with_plan = sum(count for rank, count in ranks.items() if rank is not None)
    all_done = sum(count for rank, count in ranks.items() if rank in done_ranks)
    any_done = db.session.scalar(select(func.count(distinct(RectificationPlan.outfall_id)))
                                 .where(RectificationPlan.status.in_(DONE_STATUSES)))
    return Share(finished=all_done, with_plan=with_plan, partly_finished=int(any_done) - all_done,
                 without_plan=total - with_plan)


def _overdue_by_town(by_town: list[Count], today: date) -> tuple[list[TownOverdue], int]:
    """Per town, its outfalls and those with a plan unfinished past its deadline; and the district's total."""
    # Grouped by ``town_id + 0``, not the column itself: else SQLite walks the whole town index in
    # order to group and looks every outfall up (a second at 100,000) instead of reading only the
    # overdue ones from the open_due_on index. (No bound parameter: PostgreSQL must see the same
    # expression in the SELECT and the GROUP BY.)
    town = Outfall.town_id + literal_column("0")
    overdue = dict(db.session.execute(
        select(town, func.count()).where(overdue_condition(today)).group_by(town)
    ).all())
    rows = [TownOverdue(int(town.key), town.label, town.value, overdue.get(int(town.key), 0)) for town in by_town]
    # Each outfall lies in one town, so the towns' counts add up to the district's.
    return rows, sum(overdue.values())


def completions_by_month(today: date) -> list[MonthCount]:
    """Plans finished per calendar month (by completion date), from the first such month to this one.

    Months without a completion are listed with 0, so a chart of them shows the pauses too.
    """
    year, month = extract("year", RectificationPlan.completed_on), extract("month", RectificationPlan.completed_on)
    counts = {
        (int(y), int(m)): n
        for y, m, n in db.session.execute(
            select(year, month, func.count())
            .where(RectificationPlan.completed_on.is_not(None), RectificationPlan.status.in_(DONE_STATUSES))
            .group_by(year, month)
        ).all()
    }
    if not counts:
        return []
    first = min(counts)
    last = max(max(counts), (today.year, today.month))
    months = []
    y, m = first
    while (y, m) <= last:
        months.append(MonthCount(y, m, counts.get((y, m), 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def last_changed() -> datetime | None:
    """When the registry last changed: the latest outfall update or history entry, whichever is later."""
    outfall, event = db.session.execute(select(
        select(func.max(Outfall.updated_at)).scalar_subquery(),
        select(func.max(OutfallEvent.occurred_at)).scalar_subquery(),
    )).one()
    moments = [moment for moment in (outfall, event) if moment is not None]
    return max(moments) if moments else None


def _ordered_done_statuses() -> tuple[str, ...]:
    """The finished statuses in the vocabulary's order, so links read the same every time."""
    return tuple(code for code in vocab.PLAN_STATUSES.codes() if code in DONE_STATUSES)
