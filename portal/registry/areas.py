"""Town boundaries: import a GeoJSON FeatureCollection, all of it or none of it.

Official boundaries are not public (DOMAIN.md §7), so the demo towns carry approximate polygons;
a bureau that has real ones replaces them with ``portal import-areas``. A file with any bad feature
is refused whole, with a message that names every bad feature and says what is wrong with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import Town
from portal.registry import geojson

# Column sizes of Town.name and Town.code: longer values would fail at the database instead.
NAME_MAX = 64
CODE_MAX = 32


@dataclass(frozen=True)
class AreasSummary:
    """What an import did: towns added, towns whose boundary or code changed, towns left as they were."""

    added: int
    updated: int
    unchanged: int = 0


class AreasRejected(geojson.GeoJSONRejected):
    """The file was refused as a whole; ``str()`` names each problem in Chinese."""

    noun = _l("镇界")


@dataclass(frozen=True)
class _Area:
    """One validated feature, ready to write."""

    name: str
    code: str | None
    geometry: dict


def import_areas(path: Path) -> AreasSummary:
    """Add or update towns by name from a GeoJSON file; refuse the whole file if any feature is bad."""
    path = Path(path)
    areas = _read(path)
    _check_codes_free(path.name, areas)
    return _write(path.name, areas)


def _read(path: Path) -> list[_Area]:
    """Parse and validate the file, collecting every problem before refusing."""
    features = geojson.read_features(path, AreasRejected,
                                     "FeatureCollection 的 features 应为非空列表，文件中没有任何镇界。")
    problems, areas, first_index_of = [], [], {}
    for index, feature in enumerate(features, start=1):
        name, feature_problems = _feature_name(feature)
        if name and name in first_index_of:
            feature_problems.append(f"名称与第 {first_index_of[name]} 个要素重复，同一文件中每个镇只能出现一次")
        elif name:
            first_index_of[name] = index
        code, code_problems = _feature_code(feature)
        geometry, geometry_problems = geojson.feature_geometry(
            feature, geojson.POLYGONS, "镇界应为 Polygon 或 MultiPolygon")
        feature_problems += code_problems + geometry_problems
        if feature_problems:
            label = geojson.feature_label(index, name)
            problems.append(f"{label}：" + "；".join(feature_problems) + "。")
        else:
            areas.append(_Area(name, code, geometry))

    codes_seen = {}
    for area in areas:
        if area.code and area.code in codes_seen:
            problems.append(f"{area.name}：编码 {area.code} 与 {codes_seen[area.code]} 重复。")
        elif area.code:
            codes_seen[area.code] = area.name
    if problems:
        raise AreasRejected(path.name, problems)
    return areas


def _feature_name(feature) -> tuple[str | None, list[str]]:
    """The feature's town name, stripped, and what is wrong with the feature or its name."""
    properties, problems = geojson.feature_properties(feature)
    if problems:
        return None, problems
    name = properties.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, ["缺少镇名（properties.name）"]
    name = name.strip()
    if len(name) > NAME_MAX:
        return name, [f"镇名超过 {NAME_MAX} 个字符"]
    return name, []


def _feature_code(feature) -> tuple[str | None, list[str]]:
    """The optional town code as text, and what is wrong with it."""
    properties = feature.get("properties") if isinstance(feature, dict) else None
    code = properties.get("code") if isinstance(properties, dict) else None
    if isinstance(code, str) and not code.strip():
        code = None
    return geojson.read_code(code, "code", CODE_MAX)


def _check_codes_free(filename: str, areas: list[_Area]) -> None:
    """Refuse a code that another town in the database already carries (codes are unique)."""
    coded = {area.code: area.name for area in areas if area.code}
    if not coded:
        return
    holders = db.session.execute(select(Town.code, Town.name).where(Town.code.in_(coded))).all()
    problems = [
        f"{coded[code]}：编码 {code} 已属于数据库中的 {holder}，不能再给另一个镇。"
        for code, holder in holders if holder != coded[code]
    ]
    if problems:
        raise AreasRejected(filename, problems)


def _write(filename: str, areas: list[_Area]) -> AreasSummary:
    """Upsert the towns by name; only flushes (the command's ``transaction()`` commits)."""
    existing = {
        town.name: town
        for town in db.session.scalars(select(Town).where(Town.name.in_([a.name for a in areas])))
    }
    added = updated = unchanged = 0
    for area in areas:
        boundary = geojson.stored(area.geometry)
        town = existing.get(area.name)
        if town is None:
            db.session.add(Town(name=area.name, code=area.code, boundary=boundary,
                                boundary_source=filename, is_demo=False))
            added += 1
            continue
        before = (town.code, town.boundary, town.boundary_source, town.is_demo)
        town.boundary, town.boundary_source = boundary, filename
        # Real boundaries make a demo town real; its demo outfalls keep their own marks.
        town.is_demo = False
        if area.code:
            town.code = area.code
        if before == (town.code, town.boundary, town.boundary_source, town.is_demo):
            unchanged += 1
        else:
            updated += 1
    db.session.flush()
    return AreasSummary(added=added, updated=updated, unchanged=unchanged)
