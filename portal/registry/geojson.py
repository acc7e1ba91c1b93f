"""Reading GeoJSON files the bureau sends: the checks every place import shares (town boundaries,
waters), so that a file is refused for the same reasons, in the same words, whatever it holds.

A reader collects problems rather than stopping at the first; the importer refuses the whole file
with its own exception (``GeoJSONRejected`` or a subclass) naming each bad feature.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")
# RFC 7946 has no "crs" member; older files may still carry one. WGS84 and CGCS2000 (within
# centimetres of it, DOMAIN.md §7) are the only systems whose degrees can be stored as they are.
ACCEPTED_CRS_MARKERS = ("CRS84", "4326", "4490")

# GEOS's reasons, in the clerk's words; the original text follows in brackets for a GIS specialist.
VALIDITY_REASONS = {
    "Ring Self-intersection": _l("环自相交"),
    "Self-intersection": _l("边界自相交"),
    "Too few points": _l("顶点过少"),
    "Hole lies outside shell": _l("内环（洞）在外环之外"),
    "Nested holes": _l("内环相互嵌套"),
    "Interior is disconnected": _l("内部被分割成互不相连的部分"),
    "Nested shells": _l("多个外环相互嵌套"),
    "Duplicate Rings": _l("存在重复的环"),
    "Invalid Coordinate": _l("坐标无效"),
    "Ring is not closed": _l("环未闭合"),
}


class GeoJSONRejected(Exception):
    """A GeoJSON file refused as a whole; ``str()`` names each problem in Chinese."""

    noun = _l("GeoJSON")

    def __init__(self, filename: str, problems: list[str]):
        self.filename = filename
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [_("%(noun)s文件 %(file)s 未导入，数据库未作任何更改。发现 %(n)s 处问题：", noun=self.noun,
                   file=self.filename, n=len(self.problems))]
        lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines)


def read_features(path: Path, rejected: type[GeoJSONRejected], empty: str) -> list:
    """The features of a FeatureCollection file, or ``rejected`` saying why the file is not one.

    ``empty`` is the refusal of a collection without features, in the importer's words.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise rejected(path.name, [_("文件不是 UTF-8 编码的文本，不是 GeoJSON。")]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise rejected(path.name, [
            _("文件不是有效的 JSON（第 %(line)s 行第 %(column)s 列：%(error)s）。", line=error.lineno, column=error.colno,
              error=error.msg)
        ]) from None
    except RecursionError:  # a hostile nesting of brackets
        raise rejected(path.name, [_("文件的 JSON 嵌套过深，不是 GeoJSON。")]) from None

    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise rejected(path.name, [
            _("顶层应为 GeoJSON FeatureCollection（\"type\": \"FeatureCollection\"），实际为 %(found)s。", found=repr(found))
        ])
    crs_problem = _crs_problem(document.get("crs"))
    if crs_problem:
        raise rejected(path.name, [crs_problem])
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise rejected(path.name, [empty])
    return features


def _crs_problem(crs) -> str | None:
    """Why a legacy "crs" member rules the file out, or None when it is absent or WGS84-like."""
    if crs is None:
        return None
    described = json.dumps(crs, ensure_ascii=False)
    if any(marker in described for marker in ACCEPTED_CRS_MARKERS):
        return None
    return _("文件声明的坐标系 %(crs)s 不是 WGS84 经纬度；请先转换为 EPSG:4326（CGCS2000 经纬度亦可）再导入。",
             crs=described)


def feature_properties(feature) -> tuple[dict | None, list[str]]:
    """A feature's properties (an empty dict when it has none), or what is wrong with the feature."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, [_("不是 GeoJSON Feature 对象")]
    properties = feature.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return None, [_("properties 应为对象")]
    return properties or {}, []


def property_value(properties: dict, keys: tuple[str, ...]):
    """The first of ``keys`` the properties carry with a value (English or Chinese spellings), and its key."""
    for key in keys:
        value = properties.get(key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return key, value
    return keys[0], None


def feature_label(index: int, name: str | None) -> str:
    """How a refusal names a feature: its number in the file and, when known, its name."""
    return _("第 %(n)s 个要素（%(name)s）", n=index, name=name) if name else _("第 %(n)s 个要素", n=index)


def read_code(value, key: str, max_length: int) -> tuple[str | None, list[str]]:
    """An optional code property as text (a number is accepted), and what is wrong with it."""
    if value is None:
        return None, []
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None, [_("编码（properties.%(key)s）应为文字或整数", key=key)]
    code = str(value).strip()
    if len(code) > max_length:
        return None, [_("编码超过 %(n)s 个字符", n=max_length)]
    return code, []


def feature_geometry(feature, accepted: tuple[str, ...], expected: str) -> tuple[dict | None, list[str]]:
    """The feature's geometry as a GeoJSON dict, and every reason it cannot be one of ``accepted``.

    ``expected`` completes the refusal of another type: "镇界应为 Polygon 或 MultiPolygon".
    """
    if not isinstance(feature, dict):
        return None, []
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        return None, [_("缺少几何图形（geometry）")]
    kind = geometry.get("type")
    if kind not in accepted:
        return None, [_("几何类型为 %(kind)s，%(expected)s", kind=kind, expected=expected)]
    coordinates = geometry.get("coordinates")
    if kind in POLYGONS:
        polygons = [coordinates] if kind == "Polygon" else coordinates
        problems = _polygon_structure_problems(polygons)
        rings = [ring for polygon in polygons for ring in polygon] if not problems else []
    else:
        lines = [coordinates] if kind == "LineString" else coordinates
        problems = _line_structure_problems(lines)
        rings = lines if not problems else []
    if problems:
        return None, problems
    problems = _range_problems(rings)
    if problems:
        return None, problems
    # Here, not at the top: shapely and numpy (26 MB) load in the worker that reads a place file, not in all.
    from shapely.geometry import shape

    parsed = shape(geometry)
    if parsed.is_empty:
        return None, [_("几何图形为空")]
    if kind in LINES and parsed.length == 0:
        return None, [_("线的所有点重合，长度为零")]
    if not parsed.is_valid:
        return None, [_explain(parsed)]
    return {"type": kind, "coordinates": coordinates}, []


def _polygon_structure_problems(polygons) -> list[str]:
    """Whether the coordinates nest as polygons → rings → [lon, lat] pairs, with closed rings."""
    if not isinstance(polygons, list) or not polygons:
        return [_("coordinates 结构不正确（应为多边形 → 环 → [经度, 纬度] 的嵌套数组）")]
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return [_("coordinates 结构不正确（多边形应为由环组成的非空数组）")]
        for ring in polygon:
            if not isinstance(ring, list) or not all(_is_position(p) for p in ring):
                return [_("coordinates 结构不正确（每个点应为 [经度, 纬度] 数字对）")]
            if len(ring) < 4:
                return [_("环只有 %(n)s 个点，闭合多边形的环至少需要 4 个点（首尾相同）", n=len(ring))]
            if ring[0][:2] != ring[-1][:2]:
                return [_("环未闭合（首点与末点不同）")]
    return []


def _line_structure_problems(lines) -> list[str]:
    """Whether the coordinates nest as lines → [lon, lat] pairs, each line of two points or more."""
    if not isinstance(lines, list) or not lines:
        return [_("coordinates 结构不正确（应为线 → [经度, 纬度] 的嵌套数组）")]
    for line in lines:
        if not isinstance(line, list) or not all(_is_position(p) for p in line):
            return [_("coordinates 结构不正确（每个点应为 [经度, 纬度] 数字对）")]
        if len(line) < 2:
            return [_("线只有 %(n)s 个点，至少需要 2 个点", n=len(line))]
    return []


def _is_position(value) -> bool:
    """Whether a value is a GeoJSON position: 2 or 3 finite numbers."""
    return (
        isinstance(value, list) and len(value) in (2, 3)
        and all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in value)
    )


def _range_problems(rings) -> list[str]:
    """Coordinates outside WGS84's ranges, usually projected metres or swapped longitude/latitude."""
    for ring in rings:
        for lon, lat, *_height in ring:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                hint = (_("，经纬度可能颠倒") if -180 <= lat <= 180 and -90 <= lon <= 90
                        else _("，文件可能使用投影坐标（米），请转换为 WGS84 经纬度"))
                return [_("坐标 [%(lon)s, %(lat)s] 超出 WGS84 经纬度范围（经度 −180～180，纬度 −90～90）%(hint)s",
                          lon=lon, lat=lat, hint=hint)]
    return []


def _explain(geometry) -> str:
    """GEOS's reason a geometry is invalid, in Chinese, with the place and the original text."""
    from shapely.validation import explain_validity

    reason = explain_validity(geometry)
    match = re.match(r"^(.*?)\[\s*([-\d.eE+]+)\s+([-\d.eE+]+)\s*\]$", reason)
    words, where = ((match.group(1), _("，位于 [%(lon)s, %(lat)s]", lon=match.group(2), lat=match.group(3)))
                    if match else (reason, ""))
    chinese = next((str(zh) for en, zh in VALIDITY_REASONS.items() if words.startswith(en)), _("边界不合法"))
    return _("%(reason)s%(where)s（GEOS：%(geos)s）", reason=chinese, where=where, geos=reason)


def stored(geometry: dict) -> str:
    """A geometry as the database keeps it: compact JSON text, Chinese unescaped."""
    return json.dumps(geometry, ensure_ascii=False, separators=(",", ":"))
