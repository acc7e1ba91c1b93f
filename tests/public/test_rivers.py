"""River-chief boards (河长公示): the water bodies, their chiefs from the top down, and their outfalls."""
from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from factories import make_chief, make_outfall, make_plan, make_town, make_water_body
from helpers import commit_and_forget, counted_statements, parse, row_for, row_with, text_of

from portal import calendar
from portal.extensions import db


def test_index_lists_every_water_body_with_its_outfall_count(client):
    huma, reservoir = make_water_body("呼玛河"), make_water_body("呼中水库", kind="reservoir", target_class="II")
    make_water_body("小白河", is_demo=True)
    for code in ("HZ-001", "HZ-002"):
        make_outfall(code, water_body=huma)
    make_outfall("HZ-003", water_body=reservoir)
    ids = {"呼玛河": huma.id, "呼中水库": reservoir.id}
    commit_and_forget()

    response = client.get("/rivers")

    assert response.status_code == 200
    assert row_for(response, "呼玛河") == ["呼玛河", "河流", "III 类", "2 个"]
    assert row_for(response, "呼中水库") == ["呼中水库", "水库", "II 类", "1 个"]
    assert row_for(response, "小白河 演示") == ["小白河 演示", "河流", "III 类", "0 个"]
    assert f"/rivers/{ids['呼玛河']}" in parse(response).links
    html = response.get_data(as_text=True)
    assert "<caption" in html and '<th scope="col">' in html and '<th scope="row">' in html


def test_navigation_leads_to_the_river_boards(client):
    make_outfall("HZ-001")
    commit_and_forget()

    response = client.get("/rivers")

    assert re.search(r'<a href="/rivers" aria-current="page">河湖长公示</a>', response.get_data(as_text=True))
    assert "/rivers" in parse(client.get("/outfalls")).links


def test_board_shows_the_waters_facts(app, client):
    app.config["REPORT_TELEPHONE"] = "0457-7654321"
    river = make_water_body("呼玛河", target_class="II", supervision_telephone="0457-3322101")
    river_id = river.id
    commit_and_forget()

    page = text_of(client.get(f"/rivers/{river_id}"))

    for expected in ("呼玛河河长公示牌", "类别 河流", "水质目标 地表水 II 类（GB 3838-2002）", "监督电话 0457-3322101",
                     "举报电话 0457-7654321", "入河排污口 0 个", "尚未录入河长", "没有排入呼玛河的已登记排污口"):
        assert expected in page, expected


def test_board_lists_chiefs_from_the_top_level_down_with_duties_and_telephone(client):
    river = make_water_body("呼玛河")
    hz, hy = make_town("呼中镇"), make_town("呼源镇")
    make_chief("村河长", level="village", water_body=river, town=hz, title="向阳社区党支部书记")
    make_chief("呼源镇河长", level="town", water_body=river, town=hy, title="呼源镇党委书记")
    make_chief("呼中镇河长", level="town", water_body=river, town=hz, title="呼中镇党委书记",
               duties="负责呼玛河呼中镇段的日常管理保护。", telephone="0457-3321007", telephone_is_official=True)
    make_chief("区总河长", level="district", water_body=river, title="区委书记、区总河长")
    make_chief("省河长", level="province", water_body=river, title="副省长")
    make_chief("别的河长", level="district", water_body=make_water_body("碧水河"))
    river_id = river.id
    commit_and_forget()

    response = client.get(f"/rivers/{river_id}")

    table = re.search(r'<table class="chiefs">.*?</table>', response.get_data(as_text=True), re.S).group(0)
    rows = [row for row in parse_table(table) if row and row[0] != "层级"]
    assert [(row[0], row[1]) for row in rows] == [
        ("省级", "省河长"), ("区级", "区总河长"), ("镇级", "呼中镇河长"), ("镇级", "呼源镇河长"), ("村级", "村河长"),
    ]
    assert rows[2] == ["镇级", "呼中镇河长", "呼中镇党委书记", "呼中镇段", "负责呼玛河呼中镇段的日常管理保护。",
                       "0457-3321007"]
    assert rows[1][3] == "全河段（区内）"
    assert rows[0][4:] == ["没有记录", "没有记录"]
    assert "别的河长" not in text_of(response)


def parse_table(markup: str) -> list[list[str]]:
    """Rows of cell texts of a table's markup."""
    return parse(SimpleNamespace(get_data=lambda as_text=True: markup)).rows


def test_board_lists_the_rivers_outfalls_with_status_and_overdue_marker(client):
    river = make_water_body("呼玛河")
    later = calendar.today() + timedelta(days=60)
    make_outfall("HZ-002", name="呼中镇排口乙", water_body=river, town=make_town("呼中镇"), outfall_type="industrial",
                 plan={"deadline": date(2022, 8, 20), "status": "in_progress"})
    make_outfall("HZ-001", name="呼中镇排口甲", water_body=river, is_demo=True,
                 plan={"deadline": later, "status": "not_started"})
    several = make_outfall("HZ-003", water_body=river, plan={"deadline": later, "status": "in_progress"})
    make_plan(several, deadline=date(2022, 8, 20), status="not_started")
    make_outfall("HZ-004", water_body=river, plan=None)
    make_outfall("BS-001", water_body=make_water_body("碧水河"))
    river_id = river.id
    commit_and_forget()

    response = client.get(f"/rivers/{river_id}")

    assert row_for(response, "HZ-002") == ["HZ-002", "呼中镇排口乙", "呼中镇", "工业排污口", "整治中", "2022年8月20日 已逾期"]
    assert row_for(response, "HZ-001")[1] == "呼中镇排口甲 演示"
    assert "已逾期" not in row_for(response, "HZ-001")[-1]
    assert "另有 1 项整治要求已逾期" in row_for(response, "HZ-003")[-1]
    assert row_for(response, "HZ-004")[-1] == "尚无整治方案"
    assert row_for(response, "BS-001") is None
    assert "/outfalls/HZ-002" in parse(response).links
    assert "入河排污口 4 个" in text_of(response)


def test_unknown_river_is_a_chinese_not_found_page(client):
    commit_and_forget()

    response = client.get("/rivers/9999")

    assert response.status_code == 404
    assert "找不到页面" in text_of(response)
    assert client.get("/rivers/abc").status_code == 404


def test_board_statement_count_does_not_grow_with_chiefs_and_outfalls(app, client):
    app.extensions.pop("portal.page_cache", None)  # what rendering costs (a cached visit: tests/public/test_cached_pages.py)
    ids = {}
    for count in (2, 20):
        river = make_water_body(f"测试河{count}")
        for number in range(count):
            town = make_town(f"测试镇{number % 4}")
            make_chief(f"河长{count}-{number}", level=("district", "town", "village")[number % 3], water_body=river,
                       town=town if number % 3 else None)
            make_outfall(f"R{count}-{number:03d}", water_body=river, town=town)
        ids[count] = river.id
    commit_and_forget()

    statements = {}
    for count, river_id in ids.items():
        with counted_statements() as statements[count]:
            response = client.get(f"/rivers/{river_id}")
        assert f"入河排污口 {count} 个" in text_of(response)
        db.session.remove()

    # The water with its chiefs, outfalls and plans, and the board's monitoring sections.
    assert len(statements[20]) == len(statements[2]) <= 5, statements[20]


def on_day(monkeypatch, day: date):
    """Move the district's clock to the morning of ``day`` (as the acceptance tests move the server's)."""
    from datetime import datetime, timezone

    monkeypatch.setattr(calendar, "_clock", lambda: datetime(day.year, day.month, day.day, 2, tzinfo=timezone.utc))


def test_board_shows_the_goals_and_when_it_was_updated(client):
    river = make_water_body("呼玛河", goals="水质稳定达到 III 类。\n入河排污口全部完成整治。",
                            board_changed_on=date(2026, 11, 2), board_updated_on=date(2026, 11, 5))
    river_id = river.id
    commit_and_forget()

    page = text_of(client.get(f"/rivers/{river_id}"))

    assert "治理目标 水质稳定达到 III 类。 入河排污口全部完成整治。" in page
    assert "更新于 2026年11月5日" in page
    assert "仍未更新现场公示牌" not in page


def test_a_personal_telephone_never_reaches_the_board_the_supervision_line_does(client):
    river = make_water_body("呼玛河", supervision_telephone="0457-3322101")
    make_chief("李明", level="town", water_body=river, town=make_town("呼中镇"), title="呼中镇镇长",
               telephone="13904571234", telephone_is_official=False)
    make_chief("王建国", level="district", water_body=river, title="区长", telephone="0457-3300001",
               telephone_is_official=True)
    outfall = make_outfall("HZ-WS-001", water_body=river, town=make_town("呼中镇"))
    river_id = river.id
    commit_and_forget()

    board = client.get(f"/rivers/{river_id}").get_data(as_text=True)
    record = client.get("/outfalls/HZ-WS-001").get_data(as_text=True)
    sign = client.get("/outfalls/HZ-WS-001/sign").get_data(as_text=True)

    for html in (board, record, sign):
        assert "13904571234" not in html
    assert row_with(client.get(f"/rivers/{river_id}"), "李明")[-1] == "0457-3322101"
    assert row_with(client.get(f"/rivers/{river_id}"), "王建国")[-1] == "0457-3300001"
    assert "李明" in text_of(client.get("/outfalls/HZ-WS-001/sign"))
    assert outfall is not None


def test_the_town_chiefs_official_line_is_printed_on_the_signboard(client):
    river = make_water_body("呼玛河")
    make_chief("李明", level="town", water_body=river, town=make_town("呼中镇"), title="呼中镇镇长",
               telephone="0457-3321002", telephone_is_official=True)
    make_outfall("HZ-WS-001", water_body=river, town=make_town("呼中镇"))
    commit_and_forget()

    sign = text_of(client.get("/outfalls/HZ-WS-001/sign"))

    assert "镇级河长 李明（呼中镇镇长）" in sign and "镇级河长电话 0457-3321002" in sign


@pytest.mark.parametrize("days_later,updated_after,warned", [
    (15, False, False), (16, False, True), (40, True, False),
])
def test_a_board_changed_more_than_15_days_ago_and_not_updated_says_so(client, monkeypatch, days_later,
                                                                        updated_after, warned):
    changed = date(2026, 11, 2)
    river = make_water_body("呼玛河", board_changed_on=changed, board_updated_on=date(2026, 10, 1))
    if updated_after:
        river.board_updated_on = changed + timedelta(days=3)
    river_id = river.id
    commit_and_forget()
    on_day(monkeypatch, changed + timedelta(days=days_later))

    page = text_of(client.get(f"/rivers/{river_id}"))

    expected = "本公示牌内容已于 2026年11月2日 变更，已超过 15 天仍未更新现场公示牌"
    assert (expected in page) is warned, page


def test_the_allowed_days_are_configuration(app, client, monkeypatch):
    app.config["RIVER_BOARD_UPDATE_DAYS"] = 30
    river = make_water_body("呼玛河", board_changed_on=date(2026, 11, 2))
    river_id = river.id
    commit_and_forget()

    on_day(monkeypatch, date(2026, 11, 20))
    assert "仍未更新现场公示牌" not in text_of(client.get(f"/rivers/{river_id}"))
    on_day(monkeypatch, date(2026, 12, 3))
    assert "已超过 30 天仍未更新现场公示牌" in text_of(client.get(f"/rivers/{river_id}"))


def test_the_outfall_page_names_its_leader_from_the_record_and_links_to_the_board(client):
    river = make_water_body("呼玛河")
    chief = make_chief("王建国", level="district", water_body=river, title="区长")
    outfall = make_outfall("HZ-WS-001", water_body=river, supervising_leader="王建国")
    outfall.supervising_chief = chief
    river_id = river.id
    commit_and_forget()

    response = client.get("/outfalls/HZ-WS-001")

    page = text_of(response)
    assert "包保领导 王建国 （区长）" in page
    assert f"/rivers/{river_id}" in parse(response).links


def test_the_demo_boards_carry_goals_dates_and_one_late_board(client):
    from committing import seed_demo
    from portal.models import RiverChief, WaterBody

    seed_demo()
    waters = {w.name: w.id for w in db.session.scalars(select(WaterBody))}
    personal = [c.telephone for c in db.session.scalars(select(RiverChief)) if not c.telephone_is_official]
    db.session.remove()

    late = text_of(client.get(f"/rivers/{waters['呼玛河支流']}"))
    fine = client.get(f"/rivers/{waters['呼玛河']}").get_data(as_text=True)

    assert "仍未更新现场公示牌" in late and "治理目标 水质稳定达到地表水 III 类" in late
    assert "仍未更新现场公示牌" not in fine and "更新于" in fine
    assert personal and not any(number in fine for number in personal)


@pytest.mark.parametrize("days", [0, "15", True, 400])
def test_a_wrong_board_update_setting_stops_start_up_naming_it(monkeypatch, tmp_path, days):
    from portal import create_app
    from portal.config import ConfigError

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="RIVER_BOARD_UPDATE_DAYS"):
        create_app({"SECRET_KEY": "x", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                    "TESTING": True, "RIVER_BOARD_UPDATE_DAYS": days})


def test_the_index_marks_a_board_left_too_long(client, monkeypatch):
    make_water_body("呼玛河", board_changed_on=date(2026, 11, 2))
    make_water_body("碧水河", board_changed_on=date(2026, 11, 2), board_updated_on=date(2026, 11, 4))
    commit_and_forget()
    on_day(monkeypatch, date(2026, 11, 20))

    response = client.get("/rivers")

    assert row_for(response, "呼玛河 公示牌超过 15 天未更新") is not None
    assert row_for(response, "碧水河") is not None
