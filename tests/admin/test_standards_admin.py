"""The back office's standards: the standards page (shipped ones read-only, the bureau's own added with
their limits), an outfall's standard chosen with a reason, its permits, and `portal rejudge-samples`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from factories import make_outfall, make_town, make_water_body
from helpers import text_of
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    AuditEntry,
    DischargeStandard,
    MonitoringSample,
    Outfall,
    OutfallEvent,
)
from portal.monitoring import results, standards

BEIJING = timezone(timedelta(hours=8))
ZONE = ZoneInfo("Asia/Shanghai")


def _standard(code, grade):
    return db.session.scalar(select(DischargeStandard).where(DischargeStandard.code == code,
                                                             DischargeStandard.grade == grade))


def _sample(outfall, parameter="COD", value=80.0, day=1):
    """A result at the outfall judged by the rule, committed."""
    sample = MonitoringSample(outfall=outfall, parameter=parameter, value=value, unit="mg/L",
                              sampled_at=datetime(2026, 6, day, 10, tzinfo=BEIJING))
    db.session.add(sample)
    standards.judge_all([sample], ZONE)
    db.session.commit()
    return sample


def _verdicts(code):
    db.session.remove()
    outfall = db.session.scalar(select(Outfall).where(Outfall.code == code))
    return [results.verdict(sample) for sample in outfall.samples]


def _limit_rows(*rows):
    """Form data for limit rows: (parameter, unit, minimum, maximum, condition) from row 1 on."""
    data = {}
    for index, (parameter, unit, minimum, maximum, condition) in enumerate(rows):
        data.update({f"limits-{index}-parameter": parameter, f"limits-{index}-unit": unit,
                     f"limits-{index}-minimum": minimum, f"limits-{index}-maximum": maximum,
                     f"limits-{index}-condition": condition})
    return data


def _industrial(code="HZ-GY-001"):
    return make_outfall(code, name="呼中镇林产品加工厂排污口", water_body=make_water_body("呼玛河", target_class="III"),
                        outfall_type="industrial", outfall_subtype="industrial_enterprise", plan=None)


def test_the_standards_page_lists_every_standard_with_its_limits_and_keeps_shipped_ones(client, make_account, sign_in):
    sign_in(client, make_account("admin"))
    page = text_of(client.get("/admin/standards"))
    for label in ("GB 18918-2002 一级A", "GB 8978-1996 一级", "GB 8978-1996 二级", "GB 18596-2001", "GB 3838-2002 III类"):
        assert label in page
    assert "水温 ≤ 12 ℃" in page and "随系统发布，不能修改" in page

    shipped = _standard("GB 8978-1996", "一级")
    response = client.get(f"/admin/standards/{shipped.id}", follow_redirects=True)
    assert "GB 8978-1996 一级 是随系统发布的国家标准，不能修改或删除" in text_of(response)
    response = client.post(f"/admin/standards/{shipped.id}/delete", follow_redirects=True)
    assert "不能修改或删除" in text_of(response)
    assert _standard("GB 8978-1996", "一级") is not None
    assert client.get("/admin/standards/99999999").status_code == 404


def test_an_administrator_adds_a_rural_facility_standard_and_rural_results_are_judged_by_it(
        client, make_account, sign_in):
    facility = make_outfall("HW-NC-001", name="宏伟镇农村污水处理站排污口", town=make_town("宏伟镇"),
                            outfall_type="other", outfall_subtype="rural_treatment", plan=None)
    _sample(facility, "COD", 80.0)
    assert _verdicts("HW-NC-001") == [results.NO_LIMIT]
    admin = make_account("admin")
    sign_in(client, admin)

    response = client.post("/admin/standards/new", data={
        "code": "DB23/T 9999-2026", "grade": "一级", "title": "农村生活污水处理设施水污染物排放标准（测试）",
        "scope": "rural_facility", "note": "省生态环境厅发布（测试数据）",
        **_limit_rows(("COD", "", "", "60", ""), ("NH3-N", "μg/L", "", "8000", ""), ("NH3-N", "", "", "15", "水温<=12"))})
    assert response.status_code == 302, text_of(response)
    flashed = text_of(client.get(response.headers["Location"]))
    assert "已添加标准 DB23/T 9999-2026 一级" in flashed
    assert "已重新评价 1 个监测结果，其中 1 个评价结论改变" in flashed

    assert _verdicts("HW-NC-001") == [results.OVER]
    added = _standard("DB23/T 9999-2026", "一级")
    assert not added.is_builtin and added.kind == "effluent" and added.scope == "rural_facility"
    limits = {(l.parameter, l.condition): (l.unit, l.maximum) for l in added.limits}
    # μg/L is converted into the parameter's own unit; the condition is spelt the way the rule reads it.
    assert limits == {("COD", ""): ("mg/L", 60), ("NH3-N", ""): ("mg/L", 8), ("NH3-N", "水温≤12℃"): ("mg/L", 15)}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "standard_added")).actor_id == admin.id

    public = text_of(client.get("/outfalls/HW-NC-001"))
    assert "农村污水处理设施：执行生态环境局录入的农村生活污水处理设施排放标准 DB23/T 9999-2026 一级" in public


def test_a_duplicate_standard_and_bad_limit_rows_are_refused_by_name(client, make_account, sign_in):
    sign_in(client, make_account("admin"))
    base = {"code": "GB 8978-1996", "grade": "一级", "title": "重复", "scope": "industrial"}
    response = client.post("/admin/standards/new", data={**base, **_limit_rows(("COD", "", "", "90", ""))})
    assert response.status_code == 400
    assert "已有标准 GB 8978-1996 一级，不能重复添加" in text_of(response)

    base["code"] = "DB23/T 1-2026"
    cases = [
        (_limit_rows(("COD", "", "", "90", ""), ("pH", "", "9", "6", "")), "第 2 行（pH）：下限大于上限"),
        (_limit_rows(("COD", "kg", "", "90", "")), "第 1 行（COD）：单位“kg”不适用于该项目"),
        (_limit_rows(("COD", "", "", "abc", "")), "“abc”不是数字"),
        (_limit_rows(("COD", "", "", "90", "雨天")), "条件只能是水温条件"),
        (_limit_rows(("COD", "", "", "", "")), "第 1 行（COD）：请填写下限或上限"),
        (_limit_rows(("COD", "", "", "90", ""), ("COD", "", "", "80", "")), "第 2 行：COD 在第 1 行已有相同条件的限值"),
        ({}, "请至少填写一项限值"),
    ]
    for rows, message in cases:
        response = client.post("/admin/standards/new", data={**base, **rows})
        assert response.status_code == 400, message
        assert message in text_of(response)
    assert _standard("DB23/T 1-2026", "") is None


def test_the_bureau_sets_an_outfalls_standard_with_a_reason_kept_in_its_history(client, make_account, sign_in):
    outfall = _industrial()
    _sample(outfall, "COD", 120.0)
    admin = make_account("admin")
    sign_in(client, admin)

    archive = text_of(client.get("/admin/outfalls/HZ-GY-001"))
    assert "工业排污口，受纳水体呼玛河目标为 III 类：执行 GB 8978-1996 一级" in archive
    second = _standard("GB 8978-1996", "二级")

    refused = client.post("/admin/outfalls/HZ-GY-001/standard", data={"standard": str(second.id), "reason": " "})
    assert refused.status_code == 400 and "请填写原因" in text_of(refused)

    response = client.post("/admin/outfalls/HZ-GY-001/standard",
                           data={"standard": str(second.id), "reason": "环评批复按二级执行"}, follow_redirects=True)
    page = text_of(response)
    assert "已指定执行 GB 8978-1996 二级" in page and "其中 1 个评价结论改变" in page
    assert "生态环境局为本排污口指定执行 GB 8978-1996 二级（原因：环评批复按二级执行）" in page
    assert _verdicts("HZ-GY-001") == [results.WITHIN]
    event = db.session.scalar(select(OutfallEvent).where(OutfallEvent.field == "standard"))
    assert (event.old_value, event.new_value, event.reason, event.actor_id) == (
        None, "GB 8978-1996 二级", "环评批复按二级执行", admin.id)

    surface = _standard("GB 3838-2002", "III类")
    response = client.post("/admin/outfalls/HZ-GY-001/standard", data={"standard": str(surface.id), "reason": "试"})
    assert response.status_code == 400  # GB 3838 is not offered for effluent

    response = client.post("/admin/outfalls/HZ-GY-001/standard", data={"standard": "", "reason": "恢复按类型"},
                           follow_redirects=True)
    assert "已改为按排污口类型规则确定适用标准" in text_of(response)
    assert _verdicts("HZ-GY-001") == [results.OVER]


def test_a_permit_is_recorded_overrides_the_standard_and_can_be_removed_with_a_reason(client, make_account, sign_in):
    outfall = _industrial()
    _sample(outfall, "COD", 80.0)
    sign_in(client, make_account("admin"))

    form = client.get("/admin/outfalls/HZ-GY-001/permits/new")
    assert form.status_code == 200 and "排污许可证编号" in text_of(form)
    bad = client.post("/admin/outfalls/HZ-GY-001/permits/new", data={
        "number": "91232700MA1TEST001P", "valid_from": "2026-01-01", "valid_until": "2025-12-31",
        **_limit_rows(("COD", "", "", "60", ""))})
    assert bad.status_code == 400 and "有效期截止日期早于起始日期" in text_of(bad)

    response = client.post("/admin/outfalls/HZ-GY-001/permits/new", data={
        "number": "91232700MA1TEST001P", "valid_from": "2026-01-01", "valid_until": "2030-12-31",
        "note": "许可证正本", **_limit_rows(("COD", "", "", "60", ""))}, follow_redirects=True)
    page = text_of(response)
    assert "已登记排污许可证 91232700MA1TEST001P" in page and "其中 1 个评价结论改变" in page
    assert _verdicts("HZ-GY-001") == [results.OVER]
    permit = _standard("91232700MA1TEST001P", "")
    assert permit.kind == "permit" and permit.outfall.code == "HZ-GY-001"

    again = client.post("/admin/outfalls/HZ-GY-001/permits/new", data={
        "number": "91232700MA1TEST001P", "valid_from": "2026-01-01", "valid_until": "2030-12-31",
        **_limit_rows(("COD", "", "", "60", ""))})
    assert again.status_code == 400 and "已经登记" in text_of(again)

    response = client.post(f"/admin/outfalls/HZ-GY-001/permits/{permit.id}/delete", data={"reason": "录入错误"},
                           follow_redirects=True)
    assert "已删除排污许可证 91232700MA1TEST001P" in text_of(response)
    assert _verdicts("HZ-GY-001") == [results.WITHIN]
    fields = [(e.old_value, e.new_value, e.reason) for e in
              db.session.scalars(select(OutfallEvent).where(OutfallEvent.field == "permit").order_by(OutfallEvent.id))]
    assert fields == [(None, "91232700MA1TEST001P（2026-01-01 至 2030-12-31）", "许可证正本"),
                      ("91232700MA1TEST001P", None, "录入错误")]


def test_only_the_bureau_sets_standards_and_a_town_officer_sees_the_basis(client, make_account, sign_in):
    huzhong = make_town("呼中镇")
    _industrial()
    officer = make_account("town", town=huzhong)
    db.session.commit()
    sign_in(client, officer)
    page = client.get("/admin/outfalls/HZ-GY-001")
    assert "执行 GB 8978-1996 一级" in text_of(page) and "改选适用标准" not in text_of(page)
    assert client.post("/admin/outfalls/HZ-GY-001/standard", data={"standard": "", "reason": "x"}).status_code == 403
    assert client.get("/admin/outfalls/HZ-GY-001/permits/new").status_code == 403
    assert client.get("/admin/standards").status_code == 403


def test_rejudge_samples_judges_every_outfall_again_and_says_how_many_changed(app, runner):
    outfall = _industrial()
    sample = _sample(outfall, "COD", 120.0)
    sample.limit = None  # as the migration left effluent once judged by GB 3838
    db.session.commit()
    result = runner.invoke(args=["rejudge-samples"])
    assert result.exit_code == 0, result.output
    assert "1 个评价结论改变" in result.output
    assert _verdicts("HZ-GY-001") == [results.OVER]
    again = runner.invoke(args=["rejudge-samples"])
    assert "0 个评价结论改变" in again.output


def test_the_bureaus_own_standard_is_changed_and_removed_and_its_results_judged_again(client, make_account, sign_in):
    facility = make_outfall("HW-NC-001", outfall_type="other", outfall_subtype="rural_treatment", plan=None)
    _sample(facility, "COD", 80.0)
    sign_in(client, make_account("admin"))
    rural = {"code": "DB23/T 9999-2026", "grade": "一级", "title": "农村生活污水处理设施水污染物排放标准（测试）",
             "scope": "rural_facility"}
    assert client.post("/admin/standards/new", data={**rural, **_limit_rows(("COD", "", "", "60", ""))}).status_code == 302
    added = _standard("DB23/T 9999-2026", "一级")
    assert _verdicts("HW-NC-001") == [results.OVER]

    form = text_of(client.get(f"/admin/standards/{added.id}"))
    assert "编辑标准 DB23/T 9999-2026 一级" in form
    response = client.post(f"/admin/standards/{added.id}", data={**rural, **_limit_rows(("COD", "", "", "100", ""))},
                           follow_redirects=True)
    assert "已保存标准 DB23/T 9999-2026 一级" in text_of(response) and "其中 1 个评价结论改变" in text_of(response)
    assert _verdicts("HW-NC-001") == [results.WITHIN]

    # An outfall set to it keeps it from being deleted; once none is, it goes and its results lose their limit.
    other = make_outfall("HW-NC-002", outfall_type="other", outfall_subtype="rural_treatment", plan=None,
                         standard=db.session.get(DischargeStandard, added.id), standard_note="试点")
    db.session.commit()
    refused = client.post(f"/admin/standards/{added.id}/delete", follow_redirects=True)
    assert "排污口 HW-NC-002 指定执行此标准" in text_of(refused)
    other = db.session.get(Outfall, other.id)
    other.standard = None
    db.session.commit()
    response = client.post(f"/admin/standards/{added.id}/delete", follow_redirects=True)
    assert "已删除标准 DB23/T 9999-2026 一级" in text_of(response) and "其中 1 个评价结论改变" in text_of(response)
    assert _verdicts("HW-NC-001") == [results.NO_LIMIT]
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "standard_deleted"))
