"""The public outfall list and record pages: what they show, what they must never show, and their cost."""
from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import (
    limit_for,
    make_checklist_item,
    make_event,
    make_outfall,
    make_party,
    make_person,
    make_plan,
    make_sample,
    make_town,
    make_water_body,
)
from helpers import (
    commit_and_forget,
    counted_statements,
    parse,
    row_for,
    row_with,
    static_url,
    text_of,
)

from portal import calendar
from portal.extensions import db


def listed_codes(response):
    """The outfall codes in the list table, in order."""
    return [row[0] for row in parse(response).rows[1:]]


# --- the list ---------------------------------------------------------------------------------------


def test_list_shows_outfalls_their_facts_and_the_count(app, client):
    app.config.update(DISTRICT_NAME="测试区", REPORT_TELEPHONE="0457-7654321")
    make_outfall("HZ-001", name="呼源镇生活污水散排口", town=make_town("呼源镇"),
                 water_body=make_water_body("呼玛河"), outfall_type="other", is_demo=True,
                 plan={"measure": "merge", "status": "in_progress"})
    make_outfall("HZ-002", name="呼中镇污水处理厂排污口", outfall_type="municipal_wwtp", plan=None)
    make_outfall("HZ-003", name="碧水镇木材厂排口", town=make_town("碧水镇"), outfall_type="industrial")
    commit_and_forget()

    response = client.get("/outfalls")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert "共登记排污口 3 个" in text_of(response)
    assert "测试区入河排污口公开平台" in text_of(response)
    assert "0457-7654321" in text_of(response)
    assert listed_codes(response) == ["HZ-001", "HZ-002", "HZ-003"]
    assert "/outfalls/HZ-002" in parse(response).links
    assert row_for(response, "HZ-001") == [
        "HZ-001", "呼源镇生活污水散排口 演示", "呼源镇", "呼玛河", "其他排口", "清理合并", "整治中", "未定",
    ]
    assert row_for(response, "HZ-002")[1:5] == ["呼中镇污水处理厂排污口", "呼中镇", "呼玛河", "城镇污水处理厂排污口"]
    assert row_for(response, "HZ-002")[5] == "尚无整治方案"
    assert "演示" not in row_for(response, "HZ-003")[1]


def test_list_is_accessible_without_javascript(client):
    make_outfall("HZ-001")
    commit_and_forget()

    html = client.get("/outfalls").get_data(as_text=True)

    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert re.search(r'<label for="q">[^<]+</label>', html) and 'id="q" name="q"' in html
    assert "<caption" in html and '<th scope="col">' in html and '<th scope="row">' in html
    assert 'name="viewport"' in html
    # The only script is the header's menu button, and the page works without it.
    assert re.findall(r"<script[^>]*>", html) == [f'<script src="{static_url("js/site_menu.js")}">']


@pytest.mark.parametrize("search", ["HZ-007", "HZ-00", "木材厂", "兴安林业", "林业局", "23276400700"])
def test_search_finds_by_code_name_national_code_or_organisation(client, search):
    make_outfall("HZ-007", national_code="23276400700", name="宏伟镇木材厂排口",
                 party=make_party("兴安林业局宏伟林场"))
    make_outfall("HZ-100", name="碧水镇生活污水散排口", party=make_party("碧水镇人民政府"))
    commit_and_forget()

    response = client.get("/outfalls", query_string={"q": search})

    assert listed_codes(response) == ["HZ-007"]
    assert f"与“{search}”匹配的排污口共 1 个" in text_of(response)
    assert f'value="{search}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("search", ["%", "_"])
def test_wildcard_characters_are_searched_literally(client, search):
    make_outfall("HZ-001", name="碧水镇排口")
    make_outfall("HZ_002", name="100%雨水排口")
    commit_and_forget()

    response = client.get("/outfalls", query_string={"q": search})

    assert listed_codes(response) == ["HZ_002"]


def test_search_without_match_says_so(client):
    make_outfall("HZ-001")
    commit_and_forget()

    response = client.get("/outfalls", query_string={"q": "不存在的排口"})

    assert listed_codes(response) == []
    assert "共 0 个" in text_of(response) and "没有找到匹配的排污口" in text_of(response)


# --- personal information -------------------------------------------------------------------------------


def test_a_natural_persons_name_and_telephone_never_appear_and_are_not_searchable(client):
    farmer = make_person("张立新")
    outfall = make_outfall("HZ-020", name="呼中镇养殖场排口", party=farmer, party_telephone="13912345678",
                           outfall_type="agricultural", plan={"responsible_party": farmer})
    make_plan(outfall, responsible_party=make_person("欧阳明"), measure="ban")
    make_event(outfall, field="party", old="张立新", new="呼中镇人民政府")
    make_event(outfall, field="party_telephone", old="13912345678", new="13800000000")
    commit_and_forget()

    for search in ("张立新", "立新", "欧阳明"):
        response = client.get("/outfalls", query_string={"q": search})
        assert listed_codes(response) == [], f"searching {search!r} must not find a person"
    pages = [
        client.get("/outfalls"), client.get("/outfalls", query_string={"q": "张立新"}),
        client.get("/outfalls/HZ-020"),
    ]
    for response in pages:
        html = response.get_data(as_text=True)
        for secret in ("立新", "欧阳明", "13912345678", "13800000000"):
            # The search box may echo what the visitor typed; nothing else may carry the name.
            assert secret not in html.replace('value="张立新"', "").replace("与“张立新”", ""), secret
    detail = text_of(pages[-1])
    assert "张**" in detail and "欧**" in detail
    assert "个人联系电话不公开" in detail


def test_an_organisations_telephone_is_shown(client):
    make_outfall("HZ-021", party=make_party("呼中区示例木业有限公司"), party_telephone="0457-3300000")
    commit_and_forget()

    detail = text_of(client.get("/outfalls/HZ-021"))

    assert "呼中区示例木业有限公司" in detail
    assert "0457-3300000" in detail


# --- rectification ---------------------------------------------------------------------------------------


def test_overdue_marker_only_for_unfinished_work_past_its_deadline(client):
    past = date(2022, 8, 20)
    make_outfall("HZ-030", plan={"deadline": past, "status": "in_progress"})
    make_outfall("HZ-031", plan={"deadline": past, "status": "completed", "completed_on": date(2022, 8, 1)})
    later = calendar.today() + timedelta(days=365)
    make_outfall("HZ-032", plan={"deadline": past, "status": "in_progress", "transition_ends_on": later})
    several = make_outfall("HZ-033", plan={"deadline": later, "status": "in_progress"})
    make_plan(several, deadline=past, status="not_started", responsible_party=make_party("第二责任单位"))
    commit_and_forget()

    response = client.get("/outfalls")

    assert "已逾期" in row_for(response, "HZ-030")[-1]
    assert "已逾期" not in row_for(response, "HZ-031")[-1]
    assert "已逾期" not in row_for(response, "HZ-032")[-1]
    assert "过渡期至" in row_for(response, "HZ-032")[-1]
    # The row shows the main plan; another unit's overdue plan is counted beside it, not hidden.
    assert "已逾期" not in row_for(response, "HZ-033")[-1]
    assert "另有 1 项整治要求，其中 1 项已逾期" in row_for(response, "HZ-033")[5]
    assert "已逾期" in text_of(client.get("/outfalls/HZ-030"))
    assert "已逾期" not in text_of(client.get("/outfalls/HZ-031"))


def test_detail_shows_the_record(client):
    target = make_outfall("HZ-050", name="呼中镇污水处理厂排污口", plan=None)
    make_outfall(
        "HZ-040", national_code="N-232764-040", name="宏伟镇散排口", is_demo=True,
        town=make_town("宏伟镇"), water_body=make_water_body("呼中河", target_class="II"),
        outfall_type="other", outfall_subtype="urban_domestic_scattered", discharge_mode="intermittent",
        approval_status="unapproved", latitude=52.0306, longitude=123.5888, found_on=date(2026, 5, 12),
        stage="rectification", supervising_leader="区生态环境局局长",
        plan={"measure": "merge", "measures_text": "接入市政管网", "deadline": date(2026, 8, 20),
              "status": "closed", "completed_on": date(2026, 8, 1), "verified_on": date(2026, 8, 15),
              "merged_into": target},
    )
    commit_and_forget()

    response = client.get("/outfalls/HZ-040")

    assert response.status_code == 200
    page = text_of(response)
    for expected in (
        "HZ-040", "N-232764-040", "宏伟镇散排口 演示", "宏伟镇", "呼中河（水质目标：II 类）", "其他排口",
        "城镇生活污水散排口", "间歇", "未审批", "纬度 52.030600，经度 123.588800", "2026年5月12日",
        "区生态环境局局长", "清理合并", "接入市政管网", "2026年8月20日", "已销号", "2026年8月1日",
        "2026年8月15日", "尚未确定",
    ):
        assert expected in page, expected
    assert "/outfalls/HZ-050" in parse(response).links


def test_stages_are_listed_in_order_with_the_current_one_marked(client):
    make_outfall("HZ-060", stage="tracing")
    commit_and_forget()

    html = client.get("/outfalls/HZ-060").get_data(as_text=True)

    stages = re.search(r'<ol class="stages">(.*?)</ol>', html, re.S).group(1)
    labels = re.findall(r'<span class="stage-label">([^<]+)</span>', stages)
    assert labels == ["排查", "监测", "溯源", "整治", "规范化建设"]
    current = re.findall(r'<li[^>]*aria-current="step"[^>]*>(.*?)</li>', stages, re.S)
    assert len(current) == 1 and "溯源" in current[0]


# --- monitoring, checklist, history ------------------------------------------------------------------------


def test_sample_results_exceeds_complies_or_no_applicable_limit(client):
    outfall = make_outfall("HZ-070")
    make_sample(outfall, "COD", 80.0, limit=limit_for("COD"))
    make_sample(outfall, "NH3-N", 2.5, limit=limit_for("NH3-N"))
    make_sample(outfall, "DO", 1.5, limit=limit_for("DO", "GB 3838-2002", "III类"))
    make_sample(outfall, "石油类", 0.3, limit=None)
    commit_and_forget()

    response = client.get("/outfalls/HZ-070")

    # Columns: date, parameter, value, standard, limit, verdict, sampler, lab.
    cod = row_with(response, "COD")
    assert cod[2:6] == ["80 mg/L", "GB 18918-2002 一级A", "≤ 50 mg/L", "超标"]
    assert row_with(response, "NH3-N")[5] == "达标"
    assert row_with(response, "DO")[3:6] == ["GB 3838-2002 III类", "≥ 5 mg/L", "超标"]
    assert row_with(response, "石油类")[5] == "无适用限值"
    assert "达标" not in row_with(response, "石油类")[5]


def test_checklist_distinguishes_done_not_done_and_no_record(client):
    outfall = make_outfall("HZ-080")
    make_checklist_item(outfall, "signboard", done=True, done_on=date(2026, 9, 1))
    make_checklist_item(outfall, "video", done=False)
    commit_and_forget()

    response = client.get("/outfalls/HZ-080")

    assert row_for(response, "标识牌") == ["标识牌", "已完成", "2026年9月1日"]
    assert row_for(response, "视频监控")[1] == "未完成"
    assert row_for(response, "采样点")[1] == "没有记录"
    assert row_for(response, "一口一档")[1] == "没有记录"


def test_history_is_dated_and_speaks_in_labels(client):
    outfall = make_outfall("HZ-090")
    make_event(outfall, kind="created", source="台账导入 ledger-2026-07.xlsx")
    make_event(outfall, field="status", old="in_progress", new="completed")
    make_event(outfall, field="stage", old="tracing", new="rectification")
    make_event(outfall, field="name", old="旧名称排口", new="新名称排口")
    commit_and_forget()

    page = text_of(client.get("/outfalls/HZ-090"))

    assert "建档" in page and "台账导入 ledger-2026-07.xlsx" in page
    assert "整治进展： 整治中 → 已完成" in page
    assert "所处阶段： 溯源 → 整治" in page
    assert "名称： 旧名称排口 → 新名称排口" in page
    assert "in_progress" not in page and "tracing" not in page
    assert "2026年7月1日" in page


def test_unknown_code_is_not_found(client):
    make_outfall("HZ-001")
    commit_and_forget()

    response = client.get("/outfalls/HZ-404")

    assert response.status_code == 404
    assert "HZ-404" in text_of(response)
    assert "/outfalls" in parse(response).links


# --- pagination -------------------------------------------------------------------------------------------


def test_pagination_keeps_the_search(app, client):
    app.config["OUTFALLS_PER_PAGE"] = 2
    for number in range(1, 6):
        make_outfall(f"HZ-1{number:02d}", name=f"呼玛河沿岸排口{number}")
    make_outfall("HZ-200", name="碧水镇排口")
    commit_and_forget()

    first = client.get("/outfalls", query_string={"q": "沿岸"})

    assert listed_codes(first) == ["HZ-101", "HZ-102"]
    assert "共 5 个" in text_of(first)
    next_links = [link for link in parse(first).links if link and "page=2" in link]
    assert next_links
    for link in next_links:
        assert parse_qs(urlsplit(link).query) == {"q": ["沿岸"], "page": ["2"]}
    second = client.get(next_links[0])
    assert listed_codes(second) == ["HZ-103", "HZ-104"]
    third = client.get("/outfalls", query_string={"q": "沿岸", "page": 3})
    assert listed_codes(third) == ["HZ-105"]


# --- cost: the number of SQL statements does not grow with the data -----------------------------------------


def _outfalls_with_everything(first, count):
    """Outfalls each with its own party, a plan and one of a few towns and rivers."""
    towns = [make_town(name) for name in ("呼中镇", "呼源镇", "碧水镇", "宏伟镇")]
    rivers = [make_water_body(name) for name in ("呼玛河", "呼中河")]
    for number in range(first, first + count):
        make_outfall(f"HZ-Q{number:03d}", town=towns[number % 4], water_body=rivers[number % 2],
                     party=make_party(f"测试单位Q{number}"),
                     plan={"deadline": date(2022, 8, 20), "status": "in_progress"})


def test_list_page_statement_count_does_not_grow_with_outfalls(client):
    _outfalls_with_everything(0, 5)
    commit_and_forget()
    with counted_statements() as few:
        assert len(listed_codes(client.get("/outfalls"))) == 5
    with counted_statements() as few_searched:
        client.get("/outfalls", query_string={"q": "测试单位"})

    _outfalls_with_everything(5, 35)
    commit_and_forget()
    with counted_statements() as many:
        assert len(listed_codes(client.get("/outfalls"))) == 40
    with counted_statements() as many_searched:
        assert len(listed_codes(client.get("/outfalls", query_string={"q": "测试单位"}))) == 40

    assert len(many) == len(few) <= 6, many
    assert len(many_searched) == len(few_searched) <= 6, many_searched


def _add_record_detail(outfall, first, count):
    """Samples, history, extra plans (with their own units and merge targets) and checklist items."""
    # Limits from different standards, so that loading each sample's standard would show in the count.
    limits = [limit_for("COD", "GB 18918-2002", grade) for grade in ("一级A", "一级B")]
    limits += [limit_for("COD", "GB 3838-2002", f"{cls}类") for cls in ("I", "II", "III", "IV", "V")]
    limits.append(None)
    for number in range(first, first + count):
        make_sample(outfall, "COD", 10.0 + number, limit=limits[number % len(limits)])
        make_event(outfall, field="status", old="not_started", new="in_progress")
        target = make_outfall(f"HZ-M{number:03d}", plan=None)
        make_plan(outfall, responsible_party=make_party(f"合并单位{number}"), merged_into=target)
    make_checklist_item(outfall, "signboard", done=True)


def test_detail_page_statement_count_does_not_grow_with_its_records(app, client):
    app.extensions.pop("portal.page_cache", None)  # what rendering costs (a cached visit: tests/public/test_cached_pages.py)
    small = make_outfall("HZ-S", party=make_party("单位甲"))
    _add_record_detail(small, 0, 5)
    large = make_outfall("HZ-L", party=make_party("单位乙"))
    _add_record_detail(large, 100, 40)
    commit_and_forget()

    with counted_statements() as few:
        response = client.get("/outfalls/HZ-S")
    assert len([row for row in parse(response).rows if "COD" in row]) == 5
    db.session.remove()
    with counted_statements() as many:
        response = client.get("/outfalls/HZ-L")
    assert len([row for row in parse(response).rows if "COD" in row]) == 40

    # One statement per part of the archive, however many rows each holds: the outfall with its town,
    # water, party and permits; plans; history; samples; checklist; photos; chiefs; rectification
    # steps; documents; sections.
    assert len(many) == len(few) <= 10, many
