"""The parameters labs report: their codes, the names and units labs write, and how to read a value.

Every result is stored in its parameter's canonical unit (mg/L; 个/L for fecal coliforms; no unit for
pH; ℃ for water temperature; m³/d for flow), so that it meets the limits of ``portal.monitoring.
standards``, which are written in those units. A unit a parameter does not accept is refused by name,
never guessed. A value below the lab's detection limit (``<0.05``, ``＜0.05``, ``0.05L``, ``ND``,
``未检出``) stays a non-detect with its limit, converted by the same factor as a value.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from portal.monitoring.standards import FLOW, WATER_TEMPERATURE

# Concentrations: mg/L itself, and μg/L (three spellings of the micro sign) at a thousandth.
_CONCENTRATION = {"mg/l": 1.0, "毫克/升": 1.0, "μg/l": 0.001, "ug/l": 0.001, "微克/升": 0.001}
_COLIFORMS = {"个/l": 1.0, "mpn/l": 1.0, "个/升": 1.0, "个/100ml": 10.0, "mpn/100ml": 10.0,
              "个/ml": 1000.0, "mpn/ml": 1000.0}
_NO_UNIT = {"": 1.0, "无量纲": 1.0, "无": 1.0, "-": 1.0, "/": 1.0}
# NFKC turns ℃ into °C, so both spellings meet here.
_TEMPERATURE = {"°c": 1.0, "度": 1.0, "摄氏度": 1.0}
# A tonne of wastewater is a cubic metre; m³ folds to m3 under NFKC.
_FLOW = {"m3/d": 1.0, "t/d": 1.0, "吨/日": 1.0, "吨/天": 1.0, "立方米/日": 1.0, "立方米/天": 1.0,
         "m^3/d": 1.0, "m3/h": 24.0, "m^3/h": 24.0, "立方米/小时": 24.0, "l/s": 86.4, "升/秒": 86.4,
         "m3/s": 86400.0, "万m3/d": 10000.0, "万吨/日": 10000.0, "万吨/天": 10000.0}


@dataclass(frozen=True)
class Parameter:
    """One parameter: its code (as the standards' limits name it), its names and its units."""

    code: str
    label: str
    unit: str  # canonical, as stored and as the limits are written
    spellings: tuple[str, ...]
    units: dict[str, float] = field(default_factory=dict)  # folded unit → factor into ``unit``
    maximum: float | None = None  # a value above it is no reading at all (pH 14)
    unit_required: bool = True  # pH has none; every other parameter must say its unit

    def factor(self, unit_text: Any) -> float:
        """The factor from a unit as the lab wrote it into the canonical unit, or ValueError naming it."""
        key = fold_unit(unit_text)
        if key not in self.units:
            accepted = _SHOWN_UNITS.get(id(self.units)) or "、".join(unit for unit in self.units if unit)
            shown = re.sub(r"\s+", " ", str(unit_text or "")).strip() or "（空）"
            raise ValueError(f"单位“{shown}”不适用于{self.label}（可用：{accepted}）")
        return self.units[key]


# The accepted units as a refusal lists them, written as labs write them.
_SHOWN_UNITS = {id(_CONCENTRATION): "mg/L、μg/L", id(_COLIFORMS): "个/L、MPN/L、个/100mL、MPN/100mL、个/mL",
                id(_NO_UNIT): "无量纲（不填）", id(_TEMPERATURE): "℃",
                id(_FLOW): "m³/d、t/d、m³/h、L/s"}

PARAMETERS: tuple[Parameter, ...] = (
    Parameter("COD", "化学需氧量", "mg/L", ("COD", "CODcr", "COD(Cr)", "CODCr", "化学需氧量", "化学耗氧量",
                                         "化学需氧量(COD)", "化学需氧量(CODcr)"), _CONCENTRATION),
    Parameter("CODMn", "高锰酸盐指数", "mg/L", ("CODMn", "COD(Mn)", "高锰酸盐指数", "高锰酸钾指数"), _CONCENTRATION),
    Parameter("BOD5", "五日生化需氧量", "mg/L", ("BOD5", "BOD₅", "BOD", "五日生化需氧量", "生化需氧量",
                                           "五日生化需氧量(BOD5)"), _CONCENTRATION),
    Parameter("SS", "悬浮物", "mg/L", ("SS", "悬浮物", "悬浮物(SS)", "总悬浮物"), _CONCENTRATION),
    Parameter("TN", "总氮", "mg/L", ("TN", "总氮", "总氮(TN)"), _CONCENTRATION),
    Parameter("NH3-N", "氨氮", "mg/L", ("NH3-N", "NH₃-N", "NH3N", "NH4-N", "氨氮", "氨氮(NH3-N)"), _CONCENTRATION),
    Parameter("TP", "总磷", "mg/L", ("TP", "总磷", "总磷(TP)", "磷酸盐", "磷酸盐(以P计)"), _CONCENTRATION),
    Parameter("pH", "pH", "", ("pH", "pH值", "PH值", "酸碱度"), _NO_UNIT, maximum=14, unit_required=False),
    Parameter("DO", "溶解氧", "mg/L", ("DO", "溶解氧", "溶解氧(DO)"), _CONCENTRATION),
    Parameter("粪大肠菌群", "粪大肠菌群", "个/L", ("粪大肠菌群", "粪大肠菌群数", "粪大肠杆菌", "粪大肠菌"), _COLIFORMS),
    # Further parameters industrial and domestic effluent reports carry; no shipped standard limits them
    # yet, so they read "no applicable limit" until the bureau adds one (or a permit does).
    Parameter("石油类", "石油类", "mg/L", ("石油类", "矿物油"), _CONCENTRATION),
    Parameter("动植物油", "动植物油", "mg/L", ("动植物油", "动植物油类"), _CONCENTRATION),
    Parameter("挥发酚", "挥发酚", "mg/L", ("挥发酚", "挥发性酚类"), _CONCENTRATION),
    Parameter("LAS", "阴离子表面活性剂", "mg/L", ("LAS", "阴离子表面活性剂", "阴离子表面活性剂(LAS)"), _CONCENTRATION),
    Parameter("硫化物", "硫化物", "mg/L", ("硫化物",), _CONCENTRATION),
    Parameter("氟化物", "氟化物", "mg/L", ("氟化物", "氟化物(以F-计)"), _CONCENTRATION),
    Parameter("色度", "色度", "倍", ("色度", "色度(稀释倍数)"), {"倍": 1.0, "稀释倍数": 1.0, "": 1.0},
              unit_required=False),
    Parameter(WATER_TEMPERATURE, "水温", "℃", ("水温", "温度", "水温度"), _TEMPERATURE),
    Parameter(FLOW, "流量", "m³/d", ("流量", "日流量", "污水流量", "排放量", "日排放量"), _FLOW),
)
BY_CODE = {parameter.code: parameter for parameter in PARAMETERS}

# A qualifier after a name says how the lab expressed it, not what it is: 氨氮(以N计), 总磷(以P计).
_QUALIFIER = re.compile(r"\((?:以\w+计|as\w+)\)$")
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_SCIENTIFIC = re.compile(rf"({_NUMBER})\s*(?:[x×*]\s*10\s*\^?\s*([-+]?\d+)|e\s*([-+]?\d+))", re.IGNORECASE)
_LESS_THAN = re.compile(rf"^<\s*({_NUMBER})$")
_TRAILING_L = re.compile(rf"^({_NUMBER})\s*L$")
_NOT_DETECTED = re.compile(r"^(?:ND|N\.D\.|未检出|未检测出|低于检出限)(?:\(?\s*(?:检出限)?\s*[<:]?\s*(" + _NUMBER + r")\s*\)?)?$",
                           re.IGNORECASE)


def clean(value: Any) -> str:
    """A cell's text folded to half-width, spaces trimmed (Excel's 12.0 reads as 12)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def fold_name(text: Any) -> str:
    """A parameter name folded for look-up: width, case, spaces and bracket styles."""
    text = clean(text).lower()
    text = text.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    return re.sub(r"\s+", "", text)


def fold_unit(text: Any) -> str:
    """A unit folded for look-up: width (ｍｇ/Ｌ, ℃, m³, µ), case, spaces, 每 for /."""
    text = clean(text).lower().replace("µ", "μ").replace("每", "/")
    return re.sub(r"\s+", "", text)


_BY_SPELLING = {fold_name(spelling): parameter for parameter in PARAMETERS
                for spelling in (parameter.code, parameter.label, *parameter.spellings)}


def lookup(name: Any) -> Parameter | None:
    """The parameter a lab's name stands for (化学需氧量, CODcr, 氨氮(以N计) …), or None."""
    key = fold_name(name)
    if not key:
        return None
    found = _BY_SPELLING.get(key) or _BY_SPELLING.get(_QUALIFIER.sub("", key))
    if found is None:
        # "名称(代码)" as many labs write it: 氨氮(NH3-N), 总磷(TP), 化学需氧量(CODcr).
        match = re.fullmatch(r"(.+?)\((.+)\)", key)
        if match:
            found = (_BY_SPELLING.get(match.group(1)) or _BY_SPELLING.get(_QUALIFIER.sub("", match.group(1)))
                     or _BY_SPELLING.get(match.group(2)))
    return found


def split_header(text: Any) -> tuple[str, str | None]:
    """A header's name and the unit in its last brackets: ``结果(mg/L)`` → ("结果", "mg/L").

    Brackets that qualify the name (以N计, Cr) are not a unit: ``氨氮(以N计)`` → ("氨氮(以N计)", None).
    """
    folded = clean(text).replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    match = re.fullmatch(r"(.*?)\s*\(([^()]*)\)\s*", folded)
    if match and match.group(1):
        inner = match.group(2)
        if fold_unit(inner) in _ALL_UNITS:
            return match.group(1).strip(), inner.strip()
    return folded, None


_ALL_UNITS = {unit for parameter in PARAMETERS for unit in parameter.units if unit}


@dataclass(frozen=True)
class Reading:
    """A value as the lab wrote it: a number, or a non-detect with its detection limit (maybe unknown)."""

    value: float | None
    detection_limit: float | None = None
    non_detect: bool = False


def _number(text: str) -> float | None:
    """A decimal or scientific number (2.4×10^4, 1.5E3), or None."""
    if re.fullmatch(_NUMBER, text):
        return float(text)
    match = _SCIENTIFIC.fullmatch(text)
    if match:
        exponent = match.group(2) if match.group(2) is not None else match.group(3)
        return float(match.group(1)) * 10 ** int(exponent)
    return None


def read_reading(value: Any) -> Reading:
    """A result cell as a Reading; ValueError saying why it is not one (the caller names row and column)."""
    if isinstance(value, bool) or isinstance(value, (datetime, date)):
        raise ValueError(f"“{clean(value)}”不是监测结果（应为数值，或 <0.05、0.05L、ND、未检出）")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("不是有限的数值")
        return Reading(float(value))
    text = clean(value).replace("＜", "<").replace(",", "")
    shown = clean(value)
    if not text:
        raise ValueError("结果为空")
    if text.startswith("-") and _number(text[1:].strip()) is not None:
        raise ValueError(f"结果“{shown}”为负数，监测结果不能小于 0")
    number = _number(text)
    if number is not None:
        return Reading(number)
    for pattern in (_LESS_THAN, _TRAILING_L):
        match = pattern.fullmatch(text)
        if match:
            return Reading(None, float(match.group(1)), non_detect=True)
    match = _NOT_DETECTED.fullmatch(text)
    if match:
        limit = float(match.group(1)) if match.group(1) else None
        return Reading(None, limit, non_detect=True)
    raise ValueError(f"“{shown}”不是监测结果（应为数值，或 <0.05、0.05L、ND、未检出）")


def read_detection_limit(value: Any) -> float:
    """A 检出限 cell: a positive number (``<`` and ``L`` marks allowed); ValueError otherwise."""
    reading = read_reading(value)
    limit = reading.value if reading.value is not None else reading.detection_limit
    if limit is None or limit <= 0:
        raise ValueError(f"检出限“{clean(value)}”应为大于 0 的数值")
    return limit


def canonical(parameter: Parameter, reading: Reading, factor: float) -> Reading:
    """The reading in the parameter's canonical unit, checked against what the parameter can be."""
    value = None if reading.value is None else round(reading.value * factor, 10)
    limit = None if reading.detection_limit is None else round(reading.detection_limit * factor, 10)
    if value is not None and value < 0:
        raise ValueError("监测结果不能小于 0")
    if parameter.maximum is not None and value is not None and value > parameter.maximum:
        raise ValueError(f"{parameter.label} 应在 0–{parameter.maximum:g} 之间，文件中为 {value:g}")
    return Reading(value, limit, reading.non_detect)


def display_value(value: float | None, detection_limit: float | None) -> str:
    """A stored result as text: the number, or ``<DL`` for a non-detect (never 0)."""
    if value is None:
        return f"<{detection_limit:g}" if detection_limit is not None else "<?"
    return f"{value:g}"
