"""/progress and /data: figures that add up, links that list exactly what they count, charts with tables."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import make_event, make_outfall, make_person, make_plan, make_town
from helpers import commit_and_forget, static_url, text_of

from portal.registry import open_data
from portal.calendar import today

CANARY_NAME = "甄某某测试"
CANARY_PHONE = "13987654321"


class _Links(HTMLParser):
    """Collects every link's target and text."""

    def __init__(self):
        super().__init__()
        self.links, self._href, self._text = [], None, []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)


def links(response):
    """(href, text) of every link on the page."""
    parser = _Links()
    parser.feed(response.get_data(as_text=True))
    return parser.links


def listed_total(client, href):
    """The number the list says it found ("共 N 个") when the link is followed."""
    page = text_of(client.get(href))
    match = re.search(r"共(?:登记排污口)? (\d+) 个", page)
    assert match, page[:300]
    return int(match.group(1))


@pytest.fixture
def registry(app):
    """A small registry: two towns with overdue work, one cleared, completions in two months, a person party."""
    now = today()
    huzhong, huyuan, bishui = make_town("呼中镇"), make_town("呼源镇"), make_town("碧水镇")
    farmer = make_person(CANARY_NAME)
    make_outfall("G-01", town=huzhong, outfall_type="agricultural", party=farmer, party_telephone=CANARY_PHONE,
                 stage="rectification", note=f"联系{CANARY_NAME} {CANARY_PHONE}",
                 plan={"measure": "ban", "status": "in_progress", "deadline": now - timedelta(days=3),
                       "responsible_party": farmer})
    make_outfall("G-02", town=huzhong, stage="rectification",
                 plan={"measure": "merge", "status": "not_started", "deadline": now - timedelta(days=90)})
    make_outfall("G-03", town=huyuan, stage="standardisation", outfall_type="municipal_wwtp", is_demo=True,
                 plan={"measure": "keep", "status": "closed", "completed_on": date(2025, 9, 10),
                       "verified_on": date(2025, 10, 1)})
    make_outfall("G-04", town=huyuan, stage="standardisation",
                 plan={"measure": "standardise", "status": "completed", "completed_on": date(2025, 11, 3)})
    make_outfall("G-05", town=bishui, stage="survey", plan=None)
    several = make_outfall("G-06", town=bishui, stage="rectification",
                           plan={"measure": "merge", "status": "completed", "completed_on": date(2025, 9, 30)})
    make_plan(several, measure="standardise", status="in_progress", deadline=now - timedelta(days=10))
    make_event(several, field="party_telephone", old=None, new=CANARY_PHONE)
    commit_and_forget()


def test_progress_shows_the_figures(client, registry):
    response = client.get("/progress")

    assert response.status_code == 200
    page = text_of(response)
    assert "登记的排污口 6 个" in page
    assert "有整治方案的排污口 5 个" in page
    # G-03 and G-04 finished; G-06 is only partly finished: 2 of 5.
    assert "有整治方案的 5 个排污口中，2 个已全部完成整治，占 40.0%" in page
    assert "分母：有整治方案的排污口（5 个），不含尚无整治方案的 1 个排污口" in page
    assert "另有 1 个排污口的多项整治要求中只有部分完成" in page
    assert "全区逾期未完成的排污口共 3 个" in page
    assert "以下统计包括 1 个为演示平台而虚构的排污口" in page


def test_every_figure_links_to_a_list_of_exactly_that_many_outfalls(client, registry):
    response = client.get("/progress")

    figures = [(href, int(text)) for href, text in links(response)
               if urlsplit(href).path == "/outfalls" and text.isdigit()]
    assert len(figures) >= 35  # summary, share, towns, stages, types, measures, statuses
    for href, value in figures:
        query = parse_qs(urlsplit(href).query)
        if query == {"status": ["completed", "closed"]}:
            # Outfalls with a finished plan include G-06, partly finished, as the page explains.
            assert listed_total(client, href) == value + 1, href
        else:
            assert listed_total(client, href) == value, href


def test_a_towns_overdue_count_links_to_its_overdue_outfalls(client, registry):
    response = client.get("/progress")

    rows = re.findall(r"<tr>\s*<th scope=\"row\">(\S+镇)</th>(.*?)</tr>", response.get_data(as_text=True), re.S)
    overdue_links = {}
    for town, cells in rows:
        hrefs = re.findall(r'href="([^"]+overdue=1[^"]*)"', cells)
        if hrefs:
            overdue_links[town] = unescape(hrefs[0])
    assert set(overdue_links) == {"呼中镇", "呼源镇", "碧水镇"}
    huzhong = parse_qs(urlsplit(overdue_links["呼中镇"]).query)
    assert huzhong["overdue"] == ["1"] and len(huzhong["town"]) == 1
    codes = re.findall(r'/outfalls/(G-\d+)"', client.get(overdue_links["呼中镇"]).get_data(as_text=True))
    assert sorted(set(codes)) == ["G-01", "G-02"]
    assert listed_total(client, overdue_links["呼源镇"]) == 0


def test_towns_are_marked_cleared_in_words_not_colour_alone(client, registry):
    html = client.get("/progress").get_data(as_text=True)

    row = re.search(r'<th scope="row">呼源镇</th>(.*?)</tr>', html.split('id="overdue-heading"')[1], re.S).group(1)
    assert "已清零" in row
    row = re.search(r'<th scope="row">呼中镇</th>(.*?)</tr>', html.split('id="overdue-heading"')[1], re.S).group(1)
    assert "未清零" in row
    assert "0（已清零）" in html and "2（未清零）" in html  # written in the chart as well


def test_completions_per_month_include_empty_months(client, registry):
    html = client.get("/progress").get_data(as_text=True)

    months = html.split('id="months-heading"')[1].split("</section>")[0]
    rows = dict(re.findall(r'<time datetime="(\d{4}-\d{2})">[^<]+</time></th>\s*<td class="num">(\d+)</td>', months))
    assert rows["2025-09"] == "2"
    assert rows["2025-10"] == "0"
    assert rows["2025-11"] == "1"
    assert list(rows)[0] == "2025-09"
    assert list(rows)[-1] == f"{today():%Y-%m}"


def test_charts_are_images_with_titles_and_tables_carry_their_numbers(client, registry):
    html = client.get("/progress").get_data(as_text=True)

    charts = re.findall(r"<svg\b[^>]*>.*?</svg>", html, re.S)
    assert len(charts) == 8
    for chart in charts:
        opening = chart.split(">", 1)[0]
        assert 'role="img"' in opening
        labelled_by = re.search(r'aria-labelledby="([^"]+)"', opening).group(1).split()
        assert re.search(rf'<title id="{labelled_by[0]}">[^<]+</title>', chart)
        assert "<a " not in chart  # links live in the tables, where everyone can reach them
    tables = re.findall(r"<table\b.*?</table>", html, re.S)
    assert len(tables) == 10  # the eight charts' tables, and complaints per town and per department
    for table in tables:
        assert "<caption" in table and '<th scope="col"' in table and '<th scope="row"' in table
    assert re.findall(r"<script[^>]*>", html) == [f'<script src="{static_url("js/site_menu.js")}">']  # the header's menu


def test_no_person_name_or_telephone_on_progress(client, registry):
    html = client.get("/progress").get_data(as_text=True)

    for secret in (CANARY_NAME, CANARY_NAME[1:], CANARY_PHONE):
        assert secret not in html


def test_data_last_changed_is_shown(client, app):
    moment = datetime(2026, 4, 2, 1, 30, tzinfo=timezone.utc)  # 09:30 in the district
    outfall = make_outfall("G-10", updated_at=moment - timedelta(days=3))
    make_event(outfall, field="stage", old="survey", new="monitoring", occurred_at=moment)
    commit_and_forget()

    for path in ("/progress", "/data"):
        page = text_of(client.get(path))
        assert re.search(r"数据最后更新：\s*2026年4月2日 09:30", page), path


def test_an_empty_registry_has_a_progress_page(client):
    response = client.get("/progress")

    assert response.status_code == 200
    page = text_of(response)
    assert "还没有排污口制定整治方案" in page and "还没有完成整治的记录" in page


def test_progress_in_english_uses_english_labels(client, registry):
    response = client.get("/progress", query_string={"lang": "en"})

    assert response.status_code == 200
    assert "Standardisation" in text_of(response)


def test_navigation_and_feed_discovery(client, registry):
    html = client.get("/outfalls").get_data(as_text=True)

    assert 'href="/progress"' in html and 'href="/data"' in html
    assert re.search(r'<link rel="alternate" type="application/atom\+xml" href="/feed.atom"', html)


# --- /data -------------------------------------------------------------------------------------------


def test_data_page_states_licence_fields_downloads_and_privacy(app, client, registry):
    app.config.update(DATA_LICENCE_NAME="测试许可 1.0", DATA_LICENCE_URL="https://example.org/licence")

    response = client.get("/data")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text_of(response)
    assert re.search(r'<a href="https://example.org/licence" rel="license">测试许可 1.0</a>', html)
    targets = {urlsplit(href).path for href, _ in links(response)}
    assert {"/api/v1/outfalls.csv", "/api/v1/outfalls.xlsx", "/api/v1/outfalls.geojson", "/feed.atom",
            "/progress"} <= targets
    outfall_fields = html.split('id="fields-heading"')[1].split('id="monitoring-fields-heading"')[0]
    fields = re.findall(r'<th scope="row" lang="zh-Hans">([^<]+)</th>', outfall_fields)
    assert fields == open_data.HEADERS  # the same list the files are written from
    assert "备注" not in fields
    assert "张**" in page and "演示" in page
    assert CANARY_NAME not in html


def test_licence_defaults_to_cc_by(app):
    assert app.config["DATA_LICENCE_NAME"] == "CC BY 4.0"
    assert app.config["DATA_LICENCE_URL"].startswith("https://creativecommons.org/licenses/by/4.0/")


# --- complaints (公众监督举报) -----------------------------------------------------------------------


def test_progress_shows_complaint_figures_per_town_and_department(client, registry):
    from factories import make_report

    huzhong = make_town("呼中镇")
    for minute in range(5):
        make_report(town=huzhong, created_at=datetime(2026, 11, 2, 9, minute, tzinfo=timezone(timedelta(hours=8))),
                    accepted_at=datetime(2026, 11, 3, 9, tzinfo=timezone.utc), status="accepted")
    commit_and_forget()

    response = client.get("/progress?period=2026")

    page = text_of(response)
    assert response.status_code == 200
    assert "举报办理情况" in page and "2026年收到的举报" in page
    assert re.search(r"呼中镇 5 100\.0% 按时 5 件，超时 0 件", page)
    assert "呼源镇 不足 5 件，不排名" in page and "区级（未划入镇的举报） 不足 5 件，不排名" in page
    assert re.search(r"生态环境局 5 100\.0%", page)
    assert "无论是否公开" in page  # the note says the lists show only the published reports
    html = response.get_data(as_text=True)
    section = html.split('id="complaints-heading"')[1]
    assert re.search(r'<a href="/reports\?town=\d+&amp;period=2026&amp;measure=received">5</a>', section)


def test_progress_with_an_unknown_period_shows_the_last_twelve_months(client, registry):
    response = client.get("/progress?period=%E2%80%A2;drop")

    assert response.status_code == 200
    assert "最近 12 个月" in text_of(response)


# --- history: the daily snapshots ----------------------------------------------------------------

def _snapshot_history():
    """Three days of snapshots: an outfall becomes overdue, then is finished late."""
    from portal.registry import snapshots

    town = make_town("呼中镇")
    outfall = make_outfall("H-1", town=town, plan={"deadline": date(2026, 9, 30), "status": "in_progress"})
    make_outfall("H-2", town=town, plan={"deadline": date(2026, 12, 31), "status": "completed",
                                        "completed_on": date(2026, 9, 1)})
    snapshots.take_snapshot(date(2026, 9, 30))
    snapshots.take_snapshot(date(2026, 10, 1))
    outfall.plan.status, outfall.plan.completed_on = "completed", date(2026, 10, 2)
    snapshots.take_snapshot(date(2026, 10, 2))
    commit_and_forget()


def test_progress_says_when_there_is_no_history_yet(client):
    page = text_of(client.get("/progress"))
    assert "历史变化" in page and "还没有每日统计记录" in page


def test_progress_shows_overdue_and_completions_over_time_with_late_ones(client, app):
    _snapshot_history()
    response = client.get("/progress")
    html, page = response.get_data(as_text=True), text_of(response)
    assert "截至 2026年10月2日：逾期未完成 0 个；整治全部完成 2 个，其中逾期完成 1 个。" in page
    assert 'id="history-overdue-chart-title"' in html and 'id="history-completed-chart-title"' in html
    rows = re.findall(r'<time datetime="(2026-\d\d-\d\d)">[^<]*</time></th>\s*<td class="num">(\d+)</td>\s*'
                      r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>', html)
    assert rows == [("2026-10-02", "0", "2", "1"), ("2026-10-01", "1", "1", "0"), ("2026-09-30", "0", "1", "0")]
    assert "/progress/snapshots/2026-10-01.csv" in html and "/progress/snapshots/2026-10-01.json" in html
    assert "/progress/snapshots.csv" in html


def test_each_snapshot_and_all_of_them_download(client, app):
    _snapshot_history()
    one = client.get("/progress/snapshots/2026-10-01.json")
    assert one.status_code == 200 and one.mimetype == "application/json"
    assert one.get_json()["overdue"] == 1 and one.get_json()["towns"][0]["name"] == "呼中镇"
    as_csv = client.get("/progress/snapshots/2026-10-01.csv")
    assert as_csv.mimetype == "text/csv" and "attachment" in as_csv.headers["Content-Disposition"]
    text = as_csv.data.decode("utf-8-sig")
    assert text.splitlines()[1] == "2026-10-01,,2,2,1,1,0"
    every = client.get("/progress/snapshots.csv").data.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in every[1:] if line.split(",")[1] == ""] == [
        "2026-09-30", "2026-10-01", "2026-10-02"]
    for missing in ("/progress/snapshots/2026-10-05.csv", "/progress/snapshots/2026-13-01.json",
                    "/progress/snapshots/yesterday.csv", "/progress/snapshots/20261001.json"):
        assert client.get(missing).status_code == 404, missing
