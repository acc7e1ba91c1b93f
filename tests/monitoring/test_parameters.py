"""The parameters labs report: names and spellings, units and their factors, and how values read."""
from __future__ import annotations

import pytest

from portal.monitoring import parameters as params
from portal.monitoring.results import PARAMETER_ORDER
from portal.monitoring.standards import FLOW, WATER_TEMPERATURE


def test_every_code_the_matrix_orders_is_a_parameter():
    assert set(PARAMETER_ORDER) <= set(params.BY_CODE)
    assert {WATER_TEMPERATURE, FLOW} <= set(params.BY_CODE)


@pytest.mark.parametrize(("written", "code"), [
    ("化学需氧量", "COD"), ("CODcr", "COD"), ("COD(Cr)", "COD"), ("ＣＯＤ（Ｃｒ）", "COD"), ("cod", "COD"),
    ("高锰酸盐指数", "CODMn"), ("五日生化需氧量", "BOD5"), ("BOD₅", "BOD5"), ("悬浮物", "SS"), ("总氮", "TN"),
    ("氨氮", "NH3-N"), ("氨氮(以N计)", "NH3-N"), ("氨氮（以N计）", "NH3-N"), ("NH3-N", "NH3-N"),
    ("总磷(以P计)", "TP"), ("pH值", "pH"), ("PH", "pH"), ("溶解氧", "DO"), ("粪大肠菌群数", "粪大肠菌群"),
    ("水温", "水温"), ("流量", "流量"),
])
def test_names_labs_write(written, code):
    assert params.lookup(written).code == code


def test_an_unknown_name_is_none():
    assert params.lookup("总汞") is None and params.lookup("") is None
    assert params.lookup("石油类").code == "石油类" and params.lookup("色度").unit == "倍"


@pytest.mark.parametrize(("code", "unit", "factor"), [
    ("COD", "mg/L", 1), ("COD", "ｍｇ／Ｌ", 1), ("TP", "μg/L", 0.001), ("TP", "ug/L", 0.001), ("TP", "µg/L", 0.001),
    ("粪大肠菌群", "个/L", 1), ("粪大肠菌群", "MPN/L", 1), ("粪大肠菌群", "个/100mL", 10),
    ("粪大肠菌群", "MPN/100mL", 10), ("粪大肠菌群", "个/mL", 1000), ("流量", "m³/d", 1), ("流量", "m3/d", 1),
    ("流量", "t/d", 1), ("流量", "m³/h", 24), ("流量", "L/s", 86.4), ("水温", "℃", 1), ("水温", "°C", 1),
    ("pH", "", 1), ("pH", "无量纲", 1),
])
def test_units_and_their_factors(code, unit, factor):
    assert params.BY_CODE[code].factor(unit) == pytest.approx(factor)


@pytest.mark.parametrize(("code", "unit"), [("COD", "g/L"), ("COD", "个/L"), ("粪大肠菌群", "mg/L"),
                                            ("流量", "m³"), ("pH", "mg/L"), ("COD", "")])
def test_an_unknown_unit_is_refused_by_name(code, unit):
    with pytest.raises(ValueError, match=f"单位“{unit or '（空）'}”不适用于"):
        params.BY_CODE[code].factor(unit)


@pytest.mark.parametrize(("written", "value", "limit"), [
    (12.5, 12.5, None), ("12.5", 12.5, None), ("１２．５", 12.5, None), ("2.4×10^4", 24000, None),
    ("1.5E3", 1500, None), ("<0.05", None, 0.05), ("＜0.05", None, 0.05), ("0.05L", None, 0.05),
    ("ND", None, None), ("nd", None, None), ("未检出", None, None), ("ND(0.02)", None, 0.02),
])
def test_values_and_non_detects(written, value, limit):
    reading = params.read_reading(written)
    assert reading.value == (pytest.approx(value) if value is not None else None)
    assert reading.detection_limit == limit
    assert reading.non_detect is (value is None)


@pytest.mark.parametrize("written", ["abc", "-3", "", "1.2.3", "<", "L"])
def test_bad_values_are_refused(written):
    with pytest.raises(ValueError):
        params.read_reading(written)


def test_a_non_detect_converts_with_the_same_factor():
    reading = params.canonical(params.BY_CODE["TP"], params.read_reading("<20"), params.BY_CODE["TP"].factor("μg/L"))
    assert (reading.value, reading.detection_limit) == (None, pytest.approx(0.02))


def test_ph_outside_0_to_14_is_refused():
    with pytest.raises(ValueError, match="0–14"):
        params.canonical(params.BY_CODE["pH"], params.read_reading("14.5"), 1)


def test_header_units():
    assert params.split_header("结果(mg/L)") == ("结果", "mg/L")
    assert params.split_header("总磷（μg/L）") == ("总磷", "μg/L")
    assert params.split_header("粪大肠菌群(MPN/L)") == ("粪大肠菌群", "MPN/L")
    assert params.split_header("氨氮(以N计)") == ("氨氮(以N计)", None)


def test_display_of_a_non_detect_is_never_zero():
    assert params.display_value(None, 0.05) == "<0.05"
    assert params.display_value(0.0, None) == "0"
