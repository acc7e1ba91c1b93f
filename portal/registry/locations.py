"""Where outfalls are, for maps: one row per located outfall, and counts of what a map shows.

Maps ask for every outfall a filter lets through, possibly 100,000 of them, so these queries select
plain columns in a single statement (never ORM objects with relationships to load row by row).
An outfall's *main* plan is its first (lowest id), as on its page; it is *overdue* when any of its
plans is unfinished past its deadline, as the ``overdue`` filter has it. Both are read from the
summary the outfall keeps of its plans (portal.registry.plan_summary), never aggregated per request.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, null, or_, select
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import Outfall, RectificationPlan, ResponsibleParty, Town, WaterBody
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.registry.plan_summary import overdue_condition


def _overdue(today: date):
    """1 when some plan of the outfall is overdue, 0 when none is, None without a plan (from the
    outfall's own summary columns, portal.registry.plan_summary)."""
    return case((Outfall.main_plan_id.is_(None), null()), (overdue_condition(today), 1), else_=0)


def _with_main_plan(query):
    """Join an outfall query to each outfall's main plan, by the id the outfall keeps (aliased, so
    that the filter's own subqueries on plans stay independent of it)."""
    main = aliased(RectificationPlan, name="main_plan")
    return query.outerjoin(main, main.id == Outfall.main_plan_id), main


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
    query, main = _with_main_plan(query)
    query = query.add_columns(
        main.measure, main.status, main.deadline, main.transition_ends_on, _overdue(today).label("overdue"),
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
    overdue = func.coalesce(func.sum(case((overdue_condition(today), 1), else_=0)), 0)
    query, main = _with_main_plan(select(func.count(Outfall.id), overdue).select_from(Outfall))
    # Grouped by expressions without bound parameters, which PostgreSQL can match to the columns;
    # the overdue outfalls are summed within each group instead.
    query = query.add_columns(main.status, unlocated).group_by(main.status, unlocated)
    summary = MapSummary(by_status={code: 0 for code in [*vocab.PLAN_STATUSES.codes(), None]})
    for count, overdue_count, status, is_unlocated in db.session.execute(outfall_filter.apply(query, today)):
        summary.total += count
        if is_unlocated:
            continue
        summary.located += count
        summary.by_status[status if status in summary.by_status else None] += count
        summary.overdue += int(overdue_count)
    return summary


def towns_extent() -> tuple[float, float, float, float] | None:
    """The box around every town's boundary, ``(min_lon, min_lat, max_lon, max_lat)``, or None when no
    town has one: the map's first view. Given with the page, it lets the map ask for its outfalls at
    once, instead of after the towns' GeoJSON (a round trip of 400 ms on a slow phone line)."""
    lons: list[float] = []
    lats: list[float] = []

    def walk(coordinates) -> None:
        if coordinates and isinstance(coordinates[0], (int, float)):
            lons.append(coordinates[0])
            lats.append(coordinates[1])
        else:
            for part in coordinates or ():
                walk(part)

    for boundary in db.session.scalars(select(Town.boundary).where(Town.boundary.is_not(None))):
        geometry = json.loads(boundary)
        for member in geometry.get("geometries", [geometry]):  # a GeometryCollection, or one geometry
            walk(member.get("coordinates"))
    return (min(lons), min(lats), max(lons), max(lats)) if lons else None
