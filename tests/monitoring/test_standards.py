"""Which limits judge a result (issue 9's "Done when"): effluent by the discharge standard of its
source or by its permit, a section's water by GB 3838 at its class, a non-detect never 超标, and the
outfall page saying what was sampled, by which standard and why, in Chinese and in English."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from factories import make_outfall, make_water_body
from helpers import commit_and_forget, text_of

from portal import audit
from portal.db import transaction
from portal.extensions import db
from portal.models import (
    DischargeStandard,
    MonitoringSample,
    MonitoringSection,
    StandardLimit,
)
from portal.monitoring import operations, results, standards

ZONE = ZoneInfo("Asia/Shanghai")
BEIJING = timezone(timedelta(hours=8))
SAMPLED = datetime(2026, 6, 1, 10, 0, tzinfo=BEIJING)


def industrial(code="HZ-GY-001", water_class="III", **fields):
    """A factory's outfall (工矿企业排污口) on a river of the given class."""
    water = make_water_body(f"测试河{water_class}", target_class=water_class)
    return make_outfall(code, name="呼中镇林产品加工厂排污口", water_body=water, outfall_type="industrial",
                        outfall_subtype="industrial_enterprise", **fields)


def treatment_plant(code="HZ-WS-001"):
    """A municipal treatment plant's outfall on the 呼玛河."""
    return make_outfall(code, name="呼中镇污水处理厂排污口", water_body=make_water_body("呼玛河"),
                        outfall_type="municipal_wwtp", outfall_subtype="municipal_wwtp")


def sample(site, parameter, value, *, at=SAMPLED, unit="mg/L", detection_limit=None):
    """A result at an outfall or a section, not yet judged."""
    where = {"section": site} if isinstance(site, MonitoringSection) else {"outfall": site}
    record = MonitoringSample(parameter=parameter, value=value, unit=unit, sampled_at=at,
                              detection_limit=detection_limit, **where)
    db.session.add(record)
    return record


def judged(*samples):
    """Judge the samples together (so water temperature qualifies the others) and flush."""
    standards.judge_all(samples, ZONE)
    db.session.flush()
    return samples


def permit(outfall, number="91232700MA1TEST001P", valid_from=date(2026, 1, 1), valid_until=date(2030, 12, 31),
           **limits):
    """A discharge permit of the outfall with maximum limits in mg/L (COD=60 …)."""
    record = DischargeStandard(code=number, grade="", title=f"排污许可证 {number}", kind="permit",
                               valid_from=valid_from, valid_until=valid_until,
                               limits=[StandardLimit(parameter=p, unit="mg/L", maximum=m) for p, m in limits.items()])
    outfall.permits.append(record)
    db.session.flush()
    return record


# --- effluent ---------------------------------------------------------------------------------------


def test_an_industrial_outfall_into_class_iii_water_is_judged_by_gb_8978_grade_one(app):
    outfall = industrial(water_class="III")
    over, within = judged(sample(outfall, "COD", 120.0), sample(outfall, "COD", 90.0, at=SAMPLED + timedelta(days=1)))
    assert over.limit.standard.label == "GB 8978-1996 一级" and over.limit.maximum == 100
    assert results.verdict(over) == results.OVER and results.verdict(within) == results.WITHIN
    # Never the river's GB 3838 class: 90 mg/L of COD would be far over class III's 20.
    assert within.limit.standard.kind == "effluent"


def test_an_industrial_outfall_into_class_iv_water_is_judged_by_gb_8978_grade_two(app):
    outfall = industrial(code="HZ-GY-002", water_class="IV")
    (result,) = judged(sample(outfall, "COD", 120.0))
    assert result.limit.standard.label == "GB 8978-1996 二级" and result.limit.maximum == 150
    assert results.verdict(result) == results.WITHIN


def test_a_treatment_plant_is_judged_by_gb_18918_one_a_with_the_cold_water_ammonia_limit(app):
    plant = treatment_plant()
    cold_at, warm_at, untested_at = SAMPLED, SAMPLED + timedelta(days=30), SAMPLED + timedelta(days=60)
    cold, _cold_water = judged(sample(plant, "NH3-N", 6.5, at=cold_at), sample(plant, "水温", 8.0, at=cold_at, unit="℃"))
    warm, _warm_water = judged(sample(plant, "NH3-N", 6.5, at=warm_at), sample(plant, "水温", 15.0, at=warm_at, unit="℃"))
    (untested,) = judged(sample(plant, "NH3-N", 6.5, at=untested_at))

    assert cold.limit.standard.label == "GB 18918-2002 一级A"
    assert (cold.limit.maximum, cold.limit.condition) == (8, "水温≤12℃")
    assert results.verdict(cold) == results.WITHIN
    assert (warm.limit.maximum, warm.limit.condition) == (5, "")
    assert results.verdict(warm) == results.OVER
    # No temperature measured with it: the plain limit, not the lenient one.
    assert (untested.limit.maximum, untested.limit.condition) == (5, "")
    assert results.verdict(untested) == results.OVER
    assert _cold_water.limit is None  # the temperature itself is never judged


def test_a_permits_limits_take_precedence_and_what_it_omits_falls_back_to_the_standard(app):
    outfall = industrial()
    permit(outfall, COD=60)
    cod, bod = judged(sample(outfall, "COD", 80.0), sample(outfall, "BOD5", 25.0))
    assert cod.limit.standard.kind == "permit" and cod.limit.maximum == 60
    assert results.verdict(cod) == results.OVER  # within GB 8978's 100, over the permit's 60
    assert bod.limit.standard.label == "GB 8978-1996 一级" and results.verdict(bod) == results.OVER
    assert standards.for_outfall(outfall, SAMPLED.date()).reason == standards.BY_PERMIT


def test_a_permit_outside_its_validity_does_not_apply(app):
    outfall = industrial()
    permit(outfall, valid_from=date(2020, 1, 1), valid_until=date(2024, 12, 31), COD=60)
    (cod,) = judged(sample(outfall, "COD", 80.0))
    assert cod.limit.standard.label == "GB 8978-1996 一级"
    assert results.verdict(cod) == results.WITHIN
    (early,) = judged(sample(outfall, "COD", 80.0, at=datetime(2023, 5, 1, 10, tzinfo=BEIJING)))
    assert early.limit.standard.kind == "permit" and results.verdict(early) == results.OVER


# --- sections ---------------------------------------------------------------------------------------


def test_a_section_is_judged_by_gb_3838_at_its_own_class_or_its_waters(app):
    water = make_water_body("碧水河", target_class="II")
    own = MonitoringSection(code="DM-BSH-01", name="碧水河碧水镇断面", water_body=water, target_class="III")
    inherited = MonitoringSection(code="DM-BSH-02", name="碧水河出境断面", water_body=water)
    db.session.add_all([own, inherited])
    db.session.flush()
    at_own, at_inherited = judged(sample(own, "COD", 18.0), sample(inherited, "COD", 18.0))
    assert at_own.limit.standard.label == "GB 3838-2002 III类" and results.verdict(at_own) == results.WITHIN
    assert at_inherited.limit.standard.label == "GB 3838-2002 II类"
    assert results.verdict(at_inherited) == results.OVER


# --- non-detects ------------------------------------------------------------------------------------


def test_a_non_detect_is_never_over_and_within_only_when_its_detection_limit_is(app):
    outfall = industrial()
    low, high = judged(sample(outfall, "NH3-N", None, detection_limit=0.05),
                       sample(outfall, "NH3-N", None, detection_limit=20.0, at=SAMPLED + timedelta(days=1)))
    assert low.limit.maximum == 15 and high.limit.maximum == 15
    assert results.verdict(low) == results.WITHIN
    # A detection limit above the limit says nothing about compliance: 无法判定, never 超标.
    assert high.exceeds_limit is None and results.verdict(high) == results.UNDETERMINED


# --- a standard the bureau adds -------------------------------------------------------------------


def test_adding_a_rural_facility_standard_makes_it_their_default(app):
    admin = audit.CLI_ACTOR  # the back office's form is tested in tests/admin/test_standards_admin.py
    facility = make_outfall("HW-NC-001", name="宏伟镇农村污水处理站排污口", outfall_type="other",
                            outfall_subtype="rural_treatment")
    judged(sample(facility, "COD", 80.0))
    facility_id = facility.id
    commit_and_forget()
    facility = db.session.get(type(facility), facility_id)
    assert facility.samples[0].limit is None
    assert standards.for_outfall(facility).reason == standards.NO_RURAL_STANDARD

    with transaction():
        added, tally = operations.add_standard(
            admin, code="DB23/T 0000-2026", grade="一级", title="农村生活污水处理设施水污染物排放标准（测试）",
            scope="rural_facility", note="测试", limits=[operations.LimitRow("COD", maximum=60)], zone=ZONE)
    assert tally.changed == 1

    db.session.remove()
    facility = db.session.get(type(facility), facility_id)
    applicable = standards.for_outfall(facility)
    assert applicable.reason == standards.BY_TYPE_RURAL and applicable.standard.code == "DB23/T 0000-2026"
    assert results.verdict(facility.samples[0]) == results.OVER


# --- the page says why ------------------------------------------------------------------------------


def _page(client, code, english=False):
    return text_of(client.get(f"/outfalls/{code}", query_string={"lang": "en"} if english else {}))


@pytest.mark.parametrize("build,chinese,english", [
    (lambda: industrial(), "工业排污口，受纳水体测试河III目标为 III 类：执行 GB 8978-1996 一级",
     "Industrial outfall; the receiving water 测试河III has target class III: GB 8978-1996 Grade 1 applies"),
    (lambda: treatment_plant(), "城镇污水处理厂：执行 GB 18918-2002 一级A；水温 ≤ 12 ℃ 时氨氮限值为 8 mg/L；采样时未测水温的，按 5 mg/L 评价",
     "Municipal treatment plant: GB 18918-2002 Grade 1A applies; at water temperature ≤ 12 °C the NH3-N limit is 8 mg/L"),
    (lambda: make_outfall("HW-NC-001", outfall_type="other", outfall_subtype="rural_treatment"),
     "农村污水处理设施：黑龙江省的排放标准尚未录入，暂无限值",
     "Rural sewage facility: Heilongjiang’s discharge standard has not been entered yet, so no limit applies"),
    (lambda: make_outfall("HY-YS-001", outfall_type="other", outfall_subtype="urban_stormwater"),
     "雨水排口：无适用的排放标准", "Stormwater outlet: no discharge standard applies"),
    (lambda: make_outfall("BS-XQ-001", outfall_type="agricultural", outfall_subtype="livestock_large"),
     "规模化畜禽养殖场：执行 GB 18596-2001", "Large livestock farm: GB 18596-2001 applies"),
])
def test_the_outfall_page_says_by_which_standard_and_why(client, build, chinese, english):
    outfall = build()
    code = outfall.code
    commit_and_forget()
    page = _page(client, code)
    assert "监测依据" in page and "排污口排出的废水（出水）" in page
    assert chinese in page
    assert english in _page(client, code, english=True)


def test_the_page_names_the_permit_and_the_standard_behind_it(client):
    outfall = industrial()
    permit(outfall, valid_from=date(2020, 1, 1), valid_until=date(2099, 12, 31), COD=60)
    commit_and_forget()
    page = _page(client, "HZ-GY-001")
    assert ("持有排污许可证 91232700MA1TEST001P（有效期 2020年1月1日 至 2099年12月31日）："
            "许可限值优先，许可未列的项目执行 GB 8978-1996 一级") in page
    assert "工业排污口，受纳水体测试河III目标为 III 类" in page
    english = _page(client, "HZ-GY-001", english=True)
    assert "Holds discharge permit 91232700MA1TEST001P (valid 1 Jan 2020 to 31 Dec 2099)" in english
    assert "the permit’s limits take precedence; parameters it does not list are judged by GB 8978-1996 Grade 1" in english


def test_a_result_without_a_limit_reads_no_applicable_limit_never_compliant(client):
    outfall = make_outfall("HY-YS-001", outfall_type="other", outfall_subtype="urban_stormwater")
    judged(sample(outfall, "COD", 30.0))
    commit_and_forget()
    assert "本排污口的监测结果均显示为“无适用限值”，不表示达标" in _page(client, "HY-YS-001")
    html = client.get("/outfalls/HY-YS-001").get_data(as_text=True)
    assert 'data-verdict="no_limit"' in html and 'data-verdict="within"' not in html


def test_the_basis_block_in_english_has_no_chinese_but_the_standards_own_titles(client):
    from test_translations import CJK_RUN, MARKED_CHINESE

    treatment_plant()
    commit_and_forget()
    html = client.get("/outfalls/HZ-WS-001", query_string={"lang": "en"}).get_data(as_text=True)
    block = html[html.index('<div class="monitoring-basis"'):html.index("</div>", html.index("basis-limits-caption"))]
    assert "Fecal coliforms (Fecal coliforms)" not in block and "Fecal coliforms" in block and "per L" in block
    assert not CJK_RUN.findall(MARKED_CHINESE.sub("", block))


def test_every_reason_the_rule_gives_has_its_own_words(app):
    from portal.public.outfall_record import explain_standard

    outfall = industrial()
    section = MonitoringSection(code="DM-T-01", name="测试断面", water_body=outfall.water_body)
    keys = {value for name, value in vars(standards).items()
            if name.startswith(("BY_", "NO_")) and isinstance(value, str)}
    assert len(keys) == 12
    standard = db.session.scalar(db.select(DischargeStandard).where(DischargeStandard.code == "GB 8978-1996"))
    with app.test_request_context():
        for key in keys:
            applicable = standards.Applicable(standard=standard, reason=key, water_class="III",
                                              permit=permit(outfall) if key == standards.BY_PERMIT else None)
            words = explain_standard(applicable, section if key in (standards.BY_SECTION_CLASS, standards.NO_SECTION_CLASS)
                                     else outfall)
            assert words and words != "评价依据没有记录。", key
