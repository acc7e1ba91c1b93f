"""Where a citizen's report goes, and why: the town, the water body, the department, the chief on duty.

``route`` is the rule book, a pure function over plain data (no database, no app), so every rule is
unit-tested; ``route_report`` loads that data in five queries and calls it. Each choice adds one
Chinese sentence to ``Routing.reasons``, which the report keeps so staff and the reporter can see
why it went where it went.

The rules:

- **Town.** A chosen outfall's registered town wins (towns keep their own outfall lists, DOMAIN.md §1).
  Otherwise the town whose boundary covers the point. A point on a boundary — within
  ``BOUNDARY_TOLERANCE_METRES`` of it, so that floating-point rounding cannot decide — that several
  towns share belongs to the one with the **lowest id** (the town recorded first), so the same point
  always goes to the same town. Outside every town: the nearest town within
  ``ROUTING_NEAREST_TOWN_KM`` (ties: lowest id); beyond that, the district handles the report
  (``town_id`` None, ``handler`` "district").
- **Water body.** The chosen outfall's receiving water; else the nearest water body (river, lake or
  reservoir geometry) within ``ROUTING_RIVER_METRES`` (ties: lowest id); else none.
- **Department** (a code of the department table) from ``DEPARTMENT_ROUTES``: ``category:<report
  type>`` first, then ``outfall_type:<code>`` for the outfall's level-2 type and then its level-1
  type, then ``default``. A code that names no department handling reports is passed over, and the
  reasons say so; with no usable default the department stays open (None) for staff to choose.
- **River chief.** The chief on duty at ``at`` for the water body, then for the town (a shift covers
  ``starts_at <= at < ends_at``, so at the hour of a handover the incoming chief is on duty; should
  shifts overlap, the one that started last wins). Failing that, the town's town-level chief (the one
  on the report's water body first, then by rank and id), then a district-level chief (likewise).

Distances are in metres on a local equirectangular projection centred on the report's point, scaled
by the WGS84 ellipsoid's radii of curvature at that latitude: within 0.2 % of the geodesic distance
over the few kilometres routing looks at, without a projection library.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Department, DutyShift, Outfall, RiverChief, Town, WaterBody
from portal.models.types import utcnow
from portal.registry.vocabulary import OUTFALL_SUBTYPES, OUTFALL_TYPES, REPORT_CATEGORIES

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

# A point this close to a town's boundary counts as on it (GPS is good to metres, not millimetres).
BOUNDARY_TOLERANCE_METRES = 1.0
WGS84_A = 6378137.0  # semi-major axis, metres
WGS84_E2 = 6.69437999014e-3  # first eccentricity squared
WATER_NOUNS = {"river": "该河", "lake": "该湖", "reservoir": "该水库"}
DISTRICT = "district"
TOWN = "town"


class Position(NamedTuple):
    """A point in WGS84 degrees, in GeoJSON order (longitude first)."""

    lon: float
    lat: float


@dataclass(frozen=True)
class Area:
    """A town or a water body as routing sees it: id, name and GeoJSON geometry (None if unknown)."""

    id: int
    name: str
    geometry: dict | None
    kind: str = TOWN  # for water bodies: vocabulary.WATER_BODY_KINDS


@dataclass(frozen=True)
class OutfallFacts:
    """What routing needs to know about the outfall a report is about."""

    code: str
    town_id: int | None
    water_body_id: int | None
    outfall_type: str | None
    outfall_subtype: str | None = None


@dataclass(frozen=True)
class Chief:
    """A river chief who may be given a report: ``town_id`` set for town-level chiefs."""

    id: int
    name: str
    town_id: int | None = None
    water_body_id: int | None = None
    level_rank: int = 3


@dataclass(frozen=True)
class Shift:
    """One duty shift: a chief on duty for a water body or a town over [starts_at, ends_at)."""

    id: int
    chief_id: int
    chief_name: str
    starts_at: datetime
    ends_at: datetime
    water_body_id: int | None = None
    town_id: int | None = None


@dataclass
class Routing:
    """Where a report goes: handler "town" (with ``town_id``) or "district" (``town_id`` None)."""

    town_id: int | None
    handler: str
    water_body_id: int | None
    department: str | None  # a department code
    chief_id: int | None
    reasons: list[str] = field(default_factory=list)


def route(point: tuple[float, float] | None, *, outfall: OutfallFacts | None, towns: Iterable[Area],
          waters: Iterable[Area], shifts: Iterable[Shift], town_chiefs: Iterable[Chief],
          district_chiefs: Iterable[Chief], config: Mapping, at: datetime,
          category: str = "other", departments: Mapping[str, str] | None = None) -> Routing:
    """Decide town, water body, department and chief for a report at ``point`` (lon, lat) at ``at``.

    ``departments`` maps the codes of the departments that handle reports to their names; None
    accepts every code in DEPARTMENT_ROUTES and names it by its code.
    """
    if category not in REPORT_CATEGORIES:
        raise ValueError(f"unknown report category {category!r}")
    if at.tzinfo is None:
        raise ValueError("routing needs an aware datetime")
    towns, waters = sorted(towns, key=_by_id), sorted(waters, key=_by_id)
    point = Position(*point) if point is not None else None
    reasons: list[str] = []
    town = _choose_town(point, outfall, towns, float(config["ROUTING_NEAREST_TOWN_KM"]) * 1000, reasons)
    water = _choose_water(point, outfall, waters, float(config["ROUTING_RIVER_METRES"]), reasons)
    department = _choose_department(category, outfall, config["DEPARTMENT_ROUTES"], departments, reasons)
    chief_id = _choose_chief(town, water, list(shifts), list(town_chiefs), list(district_chiefs), at,
                             ZoneInfo(config["TIMEZONE"]), reasons)
    return Routing(
        town_id=town.id if town else None, handler=TOWN if town else DISTRICT,
        water_body_id=water.id if water else None, department=department, chief_id=chief_id, reasons=reasons,
    )


def _by_id(item):
    """Sort key: the record's id, so that ties always break the same way."""
    return item.id


# ── Town ─────────────────────────────────────────────────────────────────────────────────────


def _choose_town(point, outfall, towns, limit_m, reasons) -> Area | None:
    """The handling town, or None for the district."""
    by_id = {town.id: town for town in towns}
    if outfall is not None and outfall.town_id in by_id:
        town = by_id[outfall.town_id]
        reasons.append(f"所选排污口 {outfall.code} 登记在{town.name}，由该镇办理")
        return town
    if point is None:
        reasons.append("举报未给出位置，由区级统一受理")
        return None
    if not any(town.geometry for town in towns):
        reasons.append("尚未录入镇界，无法按位置确定所属镇，由区级统一受理")
        return None
    distances = _distances(point, towns, limit_m)
    on = sorted((town for metres, town in distances if metres <= BOUNDARY_TOLERANCE_METRES), key=_by_id)
    if len(on) == 1:
        reasons.append(f"位置在{on[0].name}界内")
        return on[0]
    if on:
        names = "、".join(town.name for town in on)
        reasons.append(f"位置在{names}的交界线上，按规则归最先登记的{on[0].name}")
        return on[0]
    if distances and distances[0][0] <= limit_m:
        metres, town = distances[0]
        reasons.append(f"位置不在任何镇界内，距最近的{town.name} {_length(metres)}"
                       f"（不超过 {_length(limit_m)}），归该镇办理")
        return town
    reasons.append(f"位置不在任何镇界内，{_length(limit_m)}内也没有镇，由区级统一受理")
    return None


# ── Water body ───────────────────────────────────────────────────────────────────────────────


def _choose_water(point, outfall, waters, limit_m, reasons) -> Area | None:
    """The water body the report concerns, or None."""
    by_id = {water.id: water for water in waters}
    if outfall is not None and outfall.water_body_id in by_id:
        water = by_id[outfall.water_body_id]
        reasons.append(f"所选排污口 {outfall.code} 排入{water.name}，归入{WATER_NOUNS.get(water.kind, '该水体')}")
        return water
    if point is None:
        reasons.append("举报未给出位置，未确定河流")
        return None
    distances = _distances(point, waters, limit_m)
    if distances and distances[0][0] <= limit_m:
        metres, water = distances[0]
        noun = WATER_NOUNS.get(water.kind, "该水体")
        if metres < 1:
            reasons.append(f"位置在{water.name}上，归入{noun}")
        else:
            reasons.append(f"距{water.name} {_length(metres)}，归入{noun}")
        return water
    reasons.append(f"{_length(limit_m)}内没有登记的河流或水体，未确定河流")
    return None


# ── Department ───────────────────────────────────────────────────────────────────────────────


def _choose_department(category, outfall, routes, departments, reasons) -> str | None:
    """The department named by the report type, else by the outfall's type, else the default."""
    names = departments if departments is not None else {code: code for code in routes.values()}
    label = REPORT_CATEGORIES.label(category)
    candidates = [(routes.get(f"category:{category}"), f"按举报类型“{label}”交由{{name}}")]
    if outfall is not None:
        for code, vocabulary in ((outfall.outfall_subtype, OUTFALL_SUBTYPES), (outfall.outfall_type, OUTFALL_TYPES)):
            if code:
                candidates.append((routes.get(f"outfall_type:{code}"),
                                   f"排污口 {outfall.code} 类型为“{vocabulary.label(code)}”，交由{{name}}"))
    subject = f"举报类型“{label}”" + ("及所涉排污口类型" if outfall is not None else "")
    candidates.append((routes.get("default"), f"{subject}无专门分工，由{{name}}（默认）办理"))
    for department, reason in candidates:
        if not department:
            continue
        if department in names:
            reasons.append(reason.format(name=names[department]))
            return department
        reasons.append(f"分工表中的部门编码“{department}”没有对应的承办部门，跳过")
    reasons.append("没有可用的承办部门，待区生态环境局指定")
    return None


# ── River chief ──────────────────────────────────────────────────────────────────────────────


def _choose_chief(town, water, shifts, town_chiefs, district_chiefs, at, zone, reasons) -> int | None:
    """The chief on duty for the water, then the town; else the town's chief, then the district's."""
    for target, attribute in ((water, "water_body_id"), (town, "town_id")):
        if target is None:
            continue
        current = [s for s in shifts if getattr(s, attribute) == target.id and s.starts_at <= at < s.ends_at]
        if current:
            shift = max(current, key=lambda s: (s.starts_at, -s.id))
            reasons.append(f"{target.name} {_window(shift, zone)} 值班河长：{shift.chief_name}")
            return shift.chief_id
    nobody = "、".join(t.name for t in (water, town) if t is not None)
    nobody = f"此时{nobody}无人值班" if nobody else "未确定河流和镇，无从查值班表"
    water_id = water.id if water else None
    if town is not None:
        chief = _first_chief([c for c in town_chiefs if c.town_id == town.id], water_id)
        if chief:
            reasons.append(f"{nobody}，转由{town.name}镇级河长{_chief_label(chief, water)}")
            return chief.id
        nobody += f"，{town.name}没有登记镇级河长"
    chief = _first_chief(district_chiefs, water_id)
    if chief:
        reasons.append(f"{nobody}，转由区级河长{_chief_label(chief, water)}")
        return chief.id
    reasons.append(f"{nobody}，也没有登记区级河长，需人工指定河长")
    return None


def _first_chief(chiefs: list[Chief], water_id: int | None) -> Chief | None:
    """The chief for the report's water body if there is one, else the highest-ranking, first recorded."""
    return min(chiefs, key=lambda c: (c.water_body_id != water_id or water_id is None, c.level_rank, c.id),
               default=None)


def _chief_label(chief: Chief, water: Area | None) -> str:
    """A chief's name, with the water body they answer for when it is the report's."""
    on_water = water is not None and chief.water_body_id == water.id
    return f"{chief.name}（{water.name}）" if on_water else chief.name


def _window(shift: Shift, zone: ZoneInfo) -> str:
    """A shift's times as a clerk writes them: 11月29日 08:00–20:00, or both dates across midnight."""
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    day = "{0.month}月{0.day}日 {0:%H:%M}"
    return f"{day.format(start)}–{end:%H:%M}" if start.date() == end.date() else \
        f"{day.format(start)}–{day.format(end)}"


# ── Geometry ─────────────────────────────────────────────────────────────────────────────────


def _distances(point: Position, areas: list[Area], limit_m: float) -> list[tuple[float, Area]]:
    """(metres, area) for every area with a geometry that may lie within ``limit_m``, nearest first."""
    # Here, not at the top: shapely and numpy (26 MB) load in the workers that route a report, not in all.
    from shapely.geometry import Point, shape

    kx, ky = _metres_per_degree(point.lat)
    # A box of ``limit_m`` around the point, in degrees: areas whose bounds miss it are too far.
    margin_x, margin_y = (limit_m + BOUNDARY_TOLERANCE_METRES) / kx, (limit_m + BOUNDARY_TOLERANCE_METRES) / ky
    found = []
    for area in areas:
        if not area.geometry:
            continue
        geometry = shape(area.geometry)
        west, south, east, north = geometry.bounds
        if west - margin_x > point.lon or east + margin_x < point.lon or \
                south - margin_y > point.lat or north + margin_y < point.lat:
            continue
        found.append((_project(geometry, point, kx, ky).distance(Point(0, 0)), area))
    return sorted(found, key=lambda pair: (pair[0], pair[1].id))


def _metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at a latitude, on the WGS84 ellipsoid."""
    phi = math.radians(lat)
    w = math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
    prime_vertical = WGS84_A / w
    meridional = WGS84_A * (1 - WGS84_E2) / w ** 3
    return math.radians(1) * prime_vertical * math.cos(phi), math.radians(1) * meridional


def _project(geometry: BaseGeometry, origin: Position, kx: float, ky: float) -> BaseGeometry:
    """The geometry in metres east and north of ``origin``."""
    import shapely

    return shapely.transform(geometry, lambda coords: (coords - (origin.lon, origin.lat)) * (kx, ky))


def _length(metres: float) -> str:
    """A distance as a resident reads it: 120 米, 1.2 公里."""
    if metres < 1000:
        return f"{round(metres)} 米"
    return f"{metres / 1000:.1f}".rstrip("0").rstrip(".") + " 公里"


# ── Loading from the database ────────────────────────────────────────────────────────────────


def route_report(lat: float | None, lon: float | None, outfall: Outfall | None = None, category: str = "other",
                 at: datetime | None = None) -> Routing:
    """Route a report at (lat, lon) WGS84 degrees (both None: no position) about an optional ``Outfall``.

    Loads towns, water bodies, the shifts current at ``at`` (default now) and the town- and
    district-level chiefs and the departments in five queries, whatever their number, and applies ``route``.
    """
    at = at or utcnow()
    if (lat is None) != (lon is None):
        raise ValueError("give both latitude and longitude, or neither")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"not a WGS84 position: lat={lat!r}, lon={lon!r}")
    towns = [Area(id_, name, _geojson(boundary))
             for id_, name, boundary in db.session.execute(select(Town.id, Town.name, Town.boundary))]
    waters = [Area(id_, name, _geojson(geometry), kind) for id_, name, geometry, kind in db.session.execute(
        select(WaterBody.id, WaterBody.name, WaterBody.geometry, WaterBody.kind))]
    shifts = [Shift(*row) for row in db.session.execute(
        select(DutyShift.id, DutyShift.chief_id, RiverChief.name, DutyShift.starts_at, DutyShift.ends_at,
               DutyShift.water_body_id, DutyShift.town_id)
        .join(RiverChief, RiverChief.id == DutyShift.chief_id)
        .where(DutyShift.starts_at <= at, DutyShift.ends_at > at))]
    town_chiefs, district_chiefs = [], []
    for id_, name, level, town_id, water_body_id, rank in db.session.execute(
            select(RiverChief.id, RiverChief.name, RiverChief.level, RiverChief.town_id,
                   RiverChief.water_body_id, RiverChief.level_rank)
            .where(RiverChief.level.in_((TOWN, DISTRICT)))):
        chief = Chief(id_, name, town_id, water_body_id, rank)
        if level == DISTRICT:
            district_chiefs.append(chief)
        elif town_id is not None:
            town_chiefs.append(chief)
    departments = dict(db.session.execute(
        select(Department.code, Department.name).where(Department.handles_reports.is_(True))).all())
    facts = None
    if outfall is not None:
        facts = OutfallFacts(outfall.code, outfall.town_id, outfall.water_body_id, outfall.outfall_type,
                             outfall.outfall_subtype)
    return route(
        Position(lon, lat) if lat is not None else None, outfall=facts, towns=towns, waters=waters,
        shifts=shifts, town_chiefs=town_chiefs, district_chiefs=district_chiefs, config=current_app.config,
        at=at, category=category, departments=departments,
    )


def _geojson(text: str | None) -> dict | None:
    """A stored GeoJSON geometry as a dict."""
    return json.loads(text) if text else None
