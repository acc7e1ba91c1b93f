"""Where outfalls are, for maps: one row per located outfall, and counts of what a map shows.

Maps ask for every outfall a filter lets through, possibly 100,000 of them, so these queries select
plain columns in a single statement (never ORM objects with relationships to load row by row).
An outfall's *main* plan is its first (lowest id), as on its page; it is *overdue* when any of its
plans is unfinished past its deadline, as the ``overdue`` filter has it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import Outfall, RectificationPlan, ResponsibleParty, Town, WaterBody
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter, overdue_condition


def _plans_by_outfall(today: date):
    """Per outfall: the id of its main plan and whether any of its plans is overdue (1/0)."""
    return (
        select(
            RectificationPlan.outfall_id.label("outfall_id"),
            func.min(RectificationPlan.id).label("main_plan_id"),
            func.max(case((overdue_condition(today), 1), else_=0)).label("overdue"),
        )
        .group_by(RectificationPlan.outfall_id)
        .subquery("plans_by_outfall")
    )


def _with_main_plan(query, today: date):
    """Join an outfall query to each outfall's plan summary and main plan (aliased, so that the
    filter's own EXISTS subqueries on plans stay correlated to the outfall only)."""
    plans = _plans_by_outfall(today)
    main = aliased(RectificationPlan, name="main_plan")
    query = (
        query.outerjoin(plans, plans.c.outfall_id == Outfall.id)
        .outerjoin(main, main.id == plans.c.main_plan_id)
    )
    return query, plans, main


# The columns of ``located_outfalls`` rows, in order: unpacking a tuple is much faster than looking
# 100,000 rows' values up by name.
LOCATED_COLUMNS = (
    "code", "name", "is_demo", "longitude", "latitude", "outfall_type", "town", "water_body",
    "measure", "status", "deadline", "transition_ends_on", "overdue",
    "party_id", "party_name", "party_kind", "party_is_demo",
)


def located_outfalls(outfall_filter: OutfallFilter, today: date):
    """The located outfalls a filter lets through, ordered by code, as rows of ``LOCATED_COLUMNS``.

    ``measure`` … ``transition_ends_on`` are the main plan's (None without a plan); ``overdue`` is
    1 when any plan is overdue (0, or None without a plan). The party's name is private for a
    natural person: publish it only through ``PublicPartyNames``, never as it is.
    """
    party = aliased(ResponsibleParty, name="party")
    query = (
        select(Outfall.code, Outfall.name, Outfall.is_demo, Outfall.longitude, Outfall.latitude,
               Outfall.outfall_type, Town.name.label("town"), WaterBody.name.label("water_body"))
        .select_from(Outfall)
        .join(Town, Town.id == Outfall.town_id)
        .outerjoin(WaterBody, WaterBody.id == Outfall.water_body_id)
        .outerjoin(party, party.id == Outfall.responsible_party_id)
        .where(Outfall.longitude.is_not(None), Outfall.latitude.is_not(None))
    )
    query, plans, main = _with_main_plan(query, today)
    query = query.add_columns(
        main.measure, main.status, main.deadline, main.transition_ends_on, plans.c.overdue,
        party.id.label("party_id"), party.name.label("party_name"), party.kind.label("party_kind"),
        party.is_demo.label("party_is_demo"),
    )
    return db.session.execute(outfall_filter.apply(query, today).order_by(Outfall.code))


class PublicPartyNames:
    """The public form of responsible parties' names, computed once per party.

    The masking rule lives in ``ResponsibleParty.public_name``; this applies it to plain rows.
    """

    def __init__(self):
        self._names: dict[int, str] = {}

    def __call__(self, party_id: int | None, name: str | None, kind: str | None, is_demo: bool | None):
        """The name as the public may see it (张* for a person), or None without a party."""
        if party_id is None:
            return None
        if party_id not in self._names:
            transient = ResponsibleParty(name=name, kind=kind, is_demo=bool(is_demo))
            self._names[party_id] = transient.public_name
        return self._names[party_id]


@dataclass
class MapSummary:
    """How many outfalls a filter lets through, how many of them a map can show, and their progress."""

    total: int = 0
    located: int = 0
    # Located outfalls by their main plan's status code (None: no plan yet), in vocabulary order.
    by_status: dict[str | None, int] = field(default_factory=dict)
    overdue: int = 0  # located outfalls with an overdue plan

    @property
    def unlocated(self) -> int:
        """Outfalls without coordinates, which only the list shows."""
        return self.total - self.located


def map_summary(outfall_filter: OutfallFilter, today: date) -> MapSummary:
    """Counts for the map page's summary, from one grouped query."""
    unlocated = or_(Outfall.longitude.is_(None), Outfall.latitude.is_(None))
    query, plans, main = _with_main_plan(select(func.count(Outfall.id)).select_from(Outfall), today)
    # Grouped by expressions without bound parameters, which PostgreSQL can match to the columns.
    query = query.add_columns(main.status, unlocated, plans.c.overdue).group_by(main.status, unlocated,
                                                                                 plans.c.overdue)
    summary = MapSummary(by_status={code: 0 for code in [*vocab.PLAN_STATUSES.codes(), None]})
    for count, status, is_unlocated, overdue in db.session.execute(outfall_filter.apply(query, today)):
        summary.total += count
        if is_unlocated:
            continue
        summary.located += count
        summary.by_status[status if status in summary.by_status else None] += count
        if overdue:
            summary.overdue += count
    return summary
