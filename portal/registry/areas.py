"""Town boundaries: import a GeoJSON FeatureCollection, all of it or none of it.

Official boundaries are not public (DOMAIN.md §7), so the demo towns carry approximate polygons;
a bureau that has real ones replaces them with ``portal import-areas``. A file with any bad feature
is refused whole, with a message that names every bad feature and says what is wrong with it.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import select

from portal.extensions import db
from portal.models import Town

ACCEPTED_GEOMETRIES = ("Polygon", "MultiPolygon")
# Column sizes of Town.name and Town.code: longer values would fail at the database instead.
NAME_MAX = 64
CODE_MAX = 32
# RFC 7946 has no "crs" member; older files may still carry one. WGS84 and CGCS2000 (within
# centimetres of it, DOMAIN.md §7) are the only systems whose degrees can be stored as they are.
ACCEPTED_CRS_MARKERS = ("CRS84", "4326", "4490")

# GEOS's reasons, in the clerk's words; the original text follows in brackets for a GIS specialist.
VALIDITY_REASONS = {
    "Ring Self-intersection": "环自相交",
    "Self-intersection": "边界自相交",
    "Too few points": "顶点过少",
    "Hole lies outside shell": "内环（洞）在外环之外",
    "Nested holes": "内环相互嵌套",
    "Interior is disconnected": "内部被分割成互不相连的部分",
    "Nested shells": "多个外环相互嵌套",
    "Duplicate Rings": "存在重复的环",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}


@dataclass(frozen=True)
class AreasSummary:
    """What an import did: towns added, towns whose boundary or code changed, towns left as they were."""

    added: int
    updated: int
    unchanged: int = 0


class AreasRejected(Exception):
    """The file was refused as a whole; ``str()`` names each problem in Chinese."""

    def __init__(self, filename: str, problems: list[str]):
        self.filename = filename
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"镇界文件 {self.filename} 未导入，数据库未作任何更改。发现 {len(self.problems)} 处问题："]
        lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines)


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
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AreasRejected(path.name, ["文件不是 UTF-8 编码的文本，不是 GeoJSON。"]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise AreasRejected(path.name, [
            f"文件不是有效的 JSON（第 {error.lineno} 行第 {error.colno} 列：{error.msg}）。"
        ]) from None

    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise AreasRejected(path.name, [
            f"顶层应为 GeoJSON FeatureCollection（\"type\": \"FeatureCollection\"），实际为 {found!r}。"
        ])
    crs_problem = _crs_problem(document.get("crs"))
    if crs_problem:
        raise AreasRejected(path.name, [crs_problem])
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise AreasRejected(path.name, ["FeatureCollection 的 features 应为非空列表，文件中没有任何镇界。"])

    problems, areas, first_index_of = [], [], {}
    for index, feature in enumerate(features, start=1):
        name, feature_problems = _feature_name(feature)
        if name and name in first_index_of:
            feature_problems.append(f"名称与第 {first_index_of[name]} 个要素重复，同一文件中每个镇只能出现一次")
        elif name:
            first_index_of[name] = index
        code, code_problems = _feature_code(feature)
        geometry, geometry_problems = _feature_geometry(feature)
        feature_problems += code_problems + geometry_problems
        if feature_problems:
            label = f"第 {index} 个要素" + (f"（{name}）" if name else "")
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


def _crs_problem(crs) -> str | None:
    """Why a legacy "crs" member rules the file out, or None when it is absent or WGS84-like."""
    if crs is None:
        return None
    described = json.dumps(crs, ensure_ascii=False)
    if any(marker in described for marker in ACCEPTED_CRS_MARKERS):
        return None
    return (f"文件声明的坐标系 {described} 不是 WGS84 经纬度；请先转换为 EPSG:4326"
            "（CGCS2000 经纬度亦可）再导入。")


def _feature_name(feature) -> tuple[str | None, list[str]]:
    """The feature's town name, stripped, and what is wrong with the feature or its name."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, ["不是 GeoJSON Feature 对象"]
    properties = feature.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return None, ["properties 应为对象"]
    name = (properties or {}).get("name")
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
    if code is None or (isinstance(code, str) and not code.strip()):
        return None, []
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        return None, ["编码（properties.code）应为文字或整数"]
    code = str(code).strip()
    if len(code) > CODE_MAX:
        return None, [f"编码超过 {CODE_MAX} 个字符"]
    return code, []


def _feature_geometry(feature) -> tuple[dict | None, list[str]]:
    """The feature's geometry as a GeoJSON dict, and every reason it cannot be a town boundary."""
    if not isinstance(feature, dict):
        return None, []
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        return None, ["缺少几何图形（geometry）"]
    kind = geometry.get("type")
    if kind not in ACCEPTED_GEOMETRIES:
        return None, [f"几何类型为 {kind}，镇界应为 Polygon 或 MultiPolygon"]
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    problems = _structure_problems(polygons)
    if problems:
        return None, problems
    problems = _range_problems(polygons)
    if problems:
        return None, problems
    parsed = shape(geometry)
    if parsed.is_empty:
        return None, ["几何图形为空"]
    if not parsed.is_valid:
        return None, [_explain(parsed)]
    return {"type": kind, "coordinates": coordinates}, []


def _structure_problems(polygons) -> list[str]:
    """Whether the coordinates nest as polygons → rings → [lon, lat] pairs, with closed rings."""
    if not isinstance(polygons, list) or not polygons:
        return ["coordinates 结构不正确（应为多边形 → 环 → [经度, 纬度] 的嵌套数组）"]
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return ["coordinates 结构不正确（多边形应为由环组成的非空数组）"]
        for ring in polygon:
            if not isinstance(ring, list) or not all(_is_position(p) for p in ring):
                return ["coordinates 结构不正确（每个点应为 [经度, 纬度] 数字对）"]
            if len(ring) < 4:
                return [f"环只有 {len(ring)} 个点，闭合多边形的环至少需要 4 个点（首尾相同）"]
            if ring[0][:2] != ring[-1][:2]:
                return ["环未闭合（首点与末点不同）"]
    return []


def _is_position(value) -> bool:
    """Whether a value is a GeoJSON position: 2 or 3 finite numbers."""
    return (
        isinstance(value, list) and len(value) in (2, 3)
        and all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in value)
    )


def _range_problems(polygons) -> list[str]:
    """Coordinates outside WGS84's ranges, usually projected metres or swapped longitude/latitude."""
    for polygon in polygons:
        for ring in polygon:
            for lon, lat, *_ in ring:
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    hint = ("，经纬度可能颠倒" if -180 <= lat <= 180 and -90 <= lon <= 90
                            else "，文件可能使用投影坐标（米），请转换为 WGS84 经纬度")
                    return [f"坐标 [{lon}, {lat}] 超出 WGS84 经纬度范围（经度 −180～180，纬度 −90～90）{hint}"]
    return []


def _explain(geometry) -> str:
    """GEOS's reason a geometry is invalid, in Chinese, with the place and the original text."""
    reason = explain_validity(geometry)
    match = re.match(r"^(.*?)\[\s*([-\d.eE+]+)\s+([-\d.eE+]+)\s*\]$", reason)
    words, where = (match.group(1), f"，位于 [{match.group(2)}, {match.group(3)}]") if match else (reason, "")
    chinese = next((zh for en, zh in VALIDITY_REASONS.items() if words.startswith(en)), "边界不合法")
    return f"{chinese}{where}（GEOS：{reason}）"


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
        boundary = json.dumps(area.geometry, ensure_ascii=False, separators=(",", ":"))
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
