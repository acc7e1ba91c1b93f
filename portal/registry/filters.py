"""The one way outfalls are filtered: by the map, the list, the open-data downloads and /progress.

A filter is read from URL parameters, so every filtered view is a shareable link, and written back
to them, so a figure on /progress can link to the list it counts. Parameters (each may repeat):
``q`` text; ``type``, ``measure``, ``status``, ``stage`` vocabulary codes; ``town``, ``water`` ids;
``overdue=1``; ``bbox=minLon,minLat,maxLon,maxLat``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date

from sqlalchemy import and_, exists, func, or_, select

from portal.models import Outfall, RectificationPlan, ResponsibleParty
from portal.models.types import MAX_DATABASE_ID
from portal.registry import plan_summary
from portal.registry import vocabulary as vocab
from portal.registry.vocabulary import DONE_STATUSES

_VOCABULARY_PARAMETERS = {
    "type": ("types", vocab.OUTFALL_TYPES),
    "measure": ("measures", vocab.MEASURES),
    "status": ("statuses", vocab.PLAN_STATUSES),
    "stage": ("stages", vocab.STAGES),
}
_ID_PARAMETERS = {"town": "towns", "water": "waters"}

SORTS = {
    "code": (Outfall.code,),
    "name": (Outfall.name, Outfall.code),
    "town": (Outfall.town_id, Outfall.code),
    "type": (Outfall.outfall_type, Outfall.code),
    "found": (Outfall.found_on, Outfall.code),
}


class FilterError(ValueError):
    """A parameter the API cannot accept; pages ignore such values instead."""


@dataclass(frozen=True)
class OutfallFilter:
    """Which outfalls to show. Empty fields mean "any"."""

    search: str = ""
    types: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    towns: tuple[int, ...] = ()
    waters: tuple[int, ...] = ()
    overdue: bool = False
    bbox: tuple[float, float, float, float] | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args) -> OutfallFilter:
        """Read a filter from request arguments; unreadable values are dropped and noted in ``problems``."""
        values, problems = {}, []
        values["search"] = clean_text(args.get("q") or "")[:200]
        for parameter, (name, vocabulary) in _VOCABULARY_PARAMETERS.items():
            chosen = []
            for code in args.getlist(parameter):
                if code in vocabulary:
                    chosen.append(code)
                elif code:
                    problems.append(f"{parameter}={clean_text(code)[:40]}")
            values[name] = tuple(dict.fromkeys(chosen))
        for parameter, name in _ID_PARAMETERS.items():
            chosen = []
            for raw in map(str, args.getlist(parameter)):
                number = parse_id(raw)
                if number is not None:
                    chosen.append(number)
                elif raw:
                    problems.append(f"{parameter}={clean_text(raw)[:40]}")
            values[name] = tuple(dict.fromkeys(chosen))
        values["overdue"] = args.get("overdue") in ("1", "true", "yes", "on")
        if args.get("bbox"):
            try:
                values["bbox"] = _parse_bbox(args["bbox"])
            except FilterError as error:
                problems.append(str(error))
        return cls(**values, problems=tuple(problems))

    def to_args(self) -> dict[str, list[str] | str]:
        """URL parameters that give this filter back (for links and pagination)."""
        args: dict[str, list[str] | str] = {}
        if self.search:
            args["q"] = self.search
        for parameter, (name, _) in _VOCABULARY_PARAMETERS.items():
            if getattr(self, name):
                args[parameter] = list(getattr(self, name))
        for parameter, name in _ID_PARAMETERS.items():
            if getattr(self, name):
                args[parameter] = [str(i) for i in getattr(self, name)]
        if self.overdue:
            args["overdue"] = "1"
        if self.bbox:
            args["bbox"] = ",".join(f"{v:g}" for v in self.bbox)
        return args

    @property
    def is_empty(self) -> bool:
        """Whether the filter lets every outfall through."""
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "problems")

    def apply(self, query, today: date):
        """Restrict a ``select(Outfall)`` to the outfalls this filter lets through."""
        if self.search:
            def matches(column):
                return column.icontains(self.search, autoescape=True)  # a typed % or _ is no wildcard

            organisation = (
                select(ResponsibleParty.id)
                .where(ResponsibleParty.id == Outfall.responsible_party_id)
                # A person's name is not searchable in public: a hit would unmask them.
                .where(ResponsibleParty.kind == "organisation", matches(ResponsibleParty.name))
            )
            query = query.where(or_(matches(Outfall.code), matches(Outfall.national_code),
                                    matches(Outfall.name), exists(organisation)))
        if self.types:
            query = query.where(Outfall.outfall_type.in_(self.types))
        if self.stages:
            query = query.where(Outfall.stage.in_(self.stages))
        if self.towns:
            query = query.where(Outfall.town_id.in_(self.towns))
        if self.waters:
            query = query.where(Outfall.water_body_id.in_(self.waters))
        plan_conditions = []
        if self.measures:
            plan_conditions.append(RectificationPlan.measure.in_(self.measures))
        if self.statuses:
            plan_conditions.append(RectificationPlan.status.in_(self.statuses))
        if plan_conditions:
            if self.overdue:
                # Together, the conditions hold for one and the same plan (an overdue plan 整治中).
                plan_conditions.append(plan_overdue_condition(today))
            # "Any plan" as a list of outfall ids read from the (status|measure, outfall_id) index:
            # one pass over the matching plans, not a correlated EXISTS run for every outfall.
            query = query.where(Outfall.id.in_(select(RectificationPlan.outfall_id).where(*plan_conditions)))
        elif self.overdue:
            query = query.where(plan_summary.overdue_condition(today))
        if self.bbox:
            west, south, east, north = self.bbox
            query = query.where(Outfall.longitude.between(west, east), Outfall.latitude.between(south, north))
        return query


# Only ASCII digits count ("²" is a digit to str.isdigit), and no more than a database id can hold.
_ID = re.compile(r"[0-9]{1,10}")
_DIGITS = re.compile(r"[0-9]+")
# Control characters: a NUL cannot even be sent to PostgreSQL, and none belongs in a search.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def parse_id(text: str) -> int | None:
    """A database id written in a URL (``town=3``), or None for anything else (``²``, ``-1``, 3000000000)."""
    number = int(text) if _ID.fullmatch(text) else 0
    return number if 0 < number <= MAX_DATABASE_ID else None


# Beyond any real list; keeps the SQL offset (page × page size) far inside 64 bits.
MAX_PAGE = 100000


def page_number(text: str | None) -> int:
    """A list's ``?page=``: 1 for anything that is not a page number, at most MAX_PAGE (then an empty page)."""
    if not text or not _DIGITS.fullmatch(text):
        return 1
    return MAX_PAGE if len(text) > len(str(MAX_PAGE)) else min(max(int(text), 1), MAX_PAGE)


def clean_text(text: str) -> str:
    """Text from a URL as a search term: control characters become spaces, ends are trimmed."""
    return _CONTROL.sub(" ", text).strip()


def plan_overdue_condition(today: date):
    """SQL on ``RectificationPlan``: this plan is unfinished past its deadline (or the end of its
    transition period). An outfall with such a plan is ``plan_summary.overdue_condition``."""
    due = func.coalesce(RectificationPlan.transition_ends_on, RectificationPlan.deadline)
    return and_(RectificationPlan.status.notin_(DONE_STATUSES), due.is_not(None), due < today)


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    """West, south, east, north of ``minLon,minLat,maxLon,maxLat``; FilterError if not finite and in range."""
    text = clean_text(text)[:100]
    parts = text.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise FilterError(f"bbox={text}：应为 minLon,minLat,maxLon,maxLat 四个数") from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise FilterError(f"bbox={text}：经纬度超出范围或最小值大于最大值")
    return west, south, east, north
