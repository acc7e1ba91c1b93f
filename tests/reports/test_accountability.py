"""Complaint figures per town and department, and the /reports lists behind each figure."""
from __future__ import annotations

import re
import statistics
from datetime import date, datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import _DISTRICT, BEIJING, make_report, make_town
from helpers import commit_and_forget, counted_statements, text_of

from portal import calendar
from portal.config import ConfigError
from portal.extensions import db
from portal.models import Report
from portal.reports import accountability
from portal.reports.accountability import year_period

YEAR = year_period(2026)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An instant on a district date."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


def report(town=None, department="eeb", created=date(2026, 6, 1), accepted=None, answered=None, status=None,
           accept_due=None, finish_due=None, published=True, rating=None, **fields):
    """A report with its lifecycle set directly: ``accepted`` / ``answered`` are instants (or dates).

    ``town=_DISTRICT`` for a report no town handles; deadlines from the calendar unless given.
    """
    accepted = at(accepted) if isinstance(accepted, date) and not isinstance(accepted, datetime) else accepted
    answered = at(answered) if isinstance(answered, date) and not isinstance(answered, datetime) else answered
    if status is None:
        status = "resolved" if answered else "accepted" if accepted else "submitted"
    created_at = at(created, 9, 0)
    record, _secret = make_report(
        town=town, department_code=department, created_at=created_at, accepted_at=accepted, answered_at=answered,
        status=status, published=published, rating=rating,
        accept_due=accept_due or calendar.add_working_days(created, 2),
        finish_due=finish_due or created + timedelta(days=62), **fields)
    return record


def row(rows, name):
    """The row of this name."""
    return next(r for r in rows if r.name == name)


# --- the figures -------------------------------------------------------------------------------------


def test_figures_count_each_town_and_department(app):
    huzhong, huyuan = make_town("呼中镇"), make_town("呼源镇")
    for day in (1, 2, 3):  # accepted and answered in time
        report(huzhong, created=date(2026, 6, day), accepted=date(2026, 6, day), answered=date(2026, 6, 20),
               rating=4)
    report(huzhong, created=date(2026, 6, 8), accepted=date(2026, 6, 15), answered=date(2026, 9, 30),
           rating=1)  # late twice
    report(huzhong, created=date(2026, 6, 9), department="water")  # never accepted: overdue
    for day in range(1, 6):
        report(huyuan, department="water", created=date(2026, 7, day), accepted=date(2026, 7, day))
    db.session.flush()

    result = accountability.figures(YEAR, date(2026, 10, 1))

    town = row(result.by_town, "呼中镇").figures
    assert (town.received, town.accepted_in_time, town.accepted_late) == (5, 3, 1)
    assert town.accepted_share == 60.0
    assert (town.accepted, town.answered_in_time, town.answered_late) == (4, 3, 1)
    assert town.answered_share == 75.0
    assert town.overdue == 1  # the one never accepted
    assert (town.rated, town.rating_mean) == (4, 3.25)
    water = row(result.by_department, "水务局").figures
    assert (water.received, water.accepted_in_time, water.answered) == (6, 5, 0)
    assert water.median_working_days is None
    assert row(result.by_department, "生态环境局").figures.received == 4
    assert result.total.figures.received == 10


def test_rows_are_sorted_by_name_with_the_district_last(app):
    for name in ("碧水镇", "呼中镇", "宏伟镇"):
        make_town(name)
    db.session.flush()

    result = accountability.figures(YEAR, date(2026, 7, 10))

    assert [r.name for r in result.by_town] == sorted(["碧水镇", "呼中镇", "宏伟镇"]) + [""]
    assert result.by_town[-1].kind == "district"
    names = [r.name for r in result.by_department]
    assert names == sorted(names) and "生态环境局" in names


def test_a_report_without_a_town_counts_under_the_district(app):
    make_town("呼中镇")
    for day in range(1, 6):
        report(_DISTRICT, created=date(2026, 5, day))
    db.session.flush()

    result = accountability.figures(YEAR, date(2026, 5, 6))

    district = result.by_town[-1]
    assert district.kind == "district" and district.figures.received == 5 and district.ranked
    assert row(result.by_town, "呼中镇").figures.received == 0


def test_merged_duplicates_and_other_periods_are_not_received(app):
    town = make_town("呼中镇")
    report(town, created=date(2026, 3, 1))
    report(town, created=date(2026, 3, 2), status="merged")
    report(town, created=date(2025, 12, 31))
    db.session.flush()

    assert row(accountability.figures(YEAR, date(2026, 7, 1)).by_town, "呼中镇").figures.received == 1
    assert row(accountability.figures(year_period(2025), date(2026, 7, 1)).by_town, "呼中镇").figures.received == 1


def test_a_period_runs_by_the_districts_dates(app):
    town = make_town("呼中镇")
    # 31 Dec 2025 at 23:30 in the district is 15:30 UTC the same day; 1 Jan 2026 00:30 is 16:30 UTC on 31 Dec.
    make_report(town=town, created_at=datetime(2025, 12, 31, 15, 30, tzinfo=timezone.utc))
    make_report(town=town, created_at=datetime(2025, 12, 31, 16, 30, tzinfo=timezone.utc))
    db.session.flush()

    assert accountability.figures(year_period(2025), date(2026, 7, 1)).total.figures.received == 1
    assert accountability.figures(YEAR, date(2026, 7, 1)).total.figures.received == 1


def test_four_reports_show_no_figures_and_five_do(client):
    town = make_town("呼源镇")
    for day in range(1, 5):
        report(town, created=date(2026, 4, day), accepted=date(2026, 4, day))
    commit_and_forget()

    page = text_of(client.get("/progress?period=2026"))
    assert "呼源镇 不足 5 件，不排名" in page
    assert "全区合计 不足 5 件，不排名" in page

    report(make_town("呼源镇"), created=date(2026, 4, 6), accepted=date(2026, 4, 6))
    commit_and_forget()

    page = text_of(client.get("/progress?period=2026"))
    assert "呼源镇 不足" not in page
    assert re.search(r"呼源镇 5 100\.0% 按时 5 件，超时 0 件", page)


def test_the_threshold_is_a_validated_setting(app):
    from portal import create_app

    with pytest.raises(ConfigError, match="ACCOUNTABILITY_MIN_REPORTS"):
        create_app({**app.config, "ACCOUNTABILITY_MIN_REPORTS": 0})
    with pytest.raises(ConfigError, match="ACCOUNTABILITY_MIN_REPORTS"):
        create_app({**app.config, "ACCOUNTABILITY_MIN_REPORTS": "five"})
    assert app.config["ACCOUNTABILITY_MIN_REPORTS"] == 5

    town = make_town("呼中镇")
    for day in (1, 2):
        report(town, created=date(2026, 4, day))
    db.session.flush()
    app.config["ACCOUNTABILITY_MIN_REPORTS"] = 2
    assert row(accountability.figures(YEAR, date(2026, 5, 1)).by_town, "呼中镇").ranked


def test_acceptance_in_time_follows_the_national_day_holiday(app):
    town = make_town("呼中镇")
    created = date(2026, 9, 30)
    due = calendar.add_working_days(created, 2)
    assert due == date(2026, 10, 9)  # 1–7 October are off; Monday–Friday counting would give 2 October
    report(town, created=created, accept_due=due, accepted=date(2026, 10, 8))
    report(town, created=created, accept_due=due, accepted=at(date(2026, 10, 9), 23, 30))  # still the 9th
    report(town, created=created, accept_due=due, accepted=at(date(2026, 10, 10), 0, 30))  # the working Saturday
    report(town, created=created, accept_due=due, accepted=date(2026, 10, 12))
    report(town, created=created, accept_due=due)  # not accepted yet
    db.session.flush()

    before = row(accountability.figures(YEAR, date(2026, 10, 9)).by_town, "呼中镇").figures
    after = row(accountability.figures(YEAR, date(2026, 10, 10)).by_town, "呼中镇").figures

    assert (after.accepted_in_time, after.accepted_late) == (2, 2)
    assert after.accepted_share == 40.0
    assert before.overdue == 0  # the unaccepted one is due on the 9th: not overdue that day …
    assert after.overdue == 1  # … but the day after


def test_answered_in_time_counts_the_extension(app):
    town = make_town("呼中镇")
    created = date(2026, 6, 1)
    for day in range(5):
        # finish_due already includes the extension (the lead's extend step moves it).
        report(town, created=created + timedelta(days=day), accepted=created + timedelta(days=day),
               finish_due=date(2026, 9, 1), answered=date(2026, 8, 30) if day < 3 else date(2026, 9, 2),
               extension_days=30 if day == 0 else None)
    db.session.flush()

    figures = row(accountability.figures(YEAR, date(2026, 10, 1)).by_town, "呼中镇").figures

    assert (figures.answered_in_time, figures.answered_late, figures.accepted) == (3, 2, 5)
    assert figures.answered_share == 60.0


def test_median_working_days_from_receipt_to_answer(app):
    town = make_town("呼中镇")
    spans = [
        (date(2026, 9, 28), date(2026, 10, 12)),  # Mon … Mon after National Day: 29, 30 Sep, 8, 9, 10 (Sat), 12 Oct
        (date(2026, 6, 1), date(2026, 6, 2)),  # 1
        (date(2026, 6, 1), date(2026, 6, 4)),  # 3
        (date(2026, 6, 5), date(2026, 6, 8)),  # Friday to Monday: 1
        (date(2026, 6, 1), date(2026, 6, 15)),  # 10
    ]
    for created, answered in spans:
        report(town, created=created, accepted=created, answered=answered)
    report(town, created=date(2026, 6, 1), accepted=date(2026, 6, 1))  # not answered: not in the median
    db.session.flush()

    assert [calendar.working_days_between(*span) for span in spans] == [6, 1, 3, 1, 10]
    figures = row(accountability.figures(YEAR, date(2026, 11, 1)).by_town, "呼中镇").figures
    assert figures.median_working_days == 3
    assert figures.answered == 5

    report(town, created=date(2026, 7, 1), accepted=date(2026, 7, 1), answered=date(2026, 7, 15))  # 10
    db.session.flush()
    assert row(accountability.figures(YEAR, date(2026, 11, 1)).by_town, "呼中镇").figures.median_working_days == 4.5


def test_overdue_now_moves_with_today(app):
    town = make_town("呼中镇")
    report(town, created=date(2026, 11, 27), accept_due=date(2026, 12, 1))  # awaiting acceptance
    report(town, created=date(2026, 9, 1), accepted=date(2026, 9, 1), finish_due=date(2026, 12, 2),
           status="in_progress")
    report(town, created=date(2026, 9, 1), accepted=date(2026, 9, 1), finish_due=date(2026, 11, 2),
           answered=date(2026, 11, 1))  # answered: never overdue
    report(town, created=date(2026, 9, 1), status="rejected", accept_due=date(2026, 9, 3))  # decided: not open
    report(town, created=date(2026, 9, 1), accepted=date(2026, 9, 1), finish_due=date(2026, 10, 1),
           answered=date(2026, 9, 20), status="reopened")  # reopened past its deadline: overdue again
    db.session.flush()

    def overdue(today):
        return row(accountability.figures(YEAR, today).by_town, "呼中镇").figures.overdue

    assert [overdue(date(2026, 12, day)) for day in (1, 2, 3)] == [1, 2, 3]


def test_satisfaction_is_the_mean_rating_and_how_many_rated(app):
    town = make_town("呼中镇")
    for rating in (5, 4, 4, None, None):
        report(town, accepted=date(2026, 6, 1), answered=date(2026, 6, 3), rating=rating)
    db.session.flush()

    figures = row(accountability.figures(YEAR, date(2026, 7, 1)).by_town, "呼中镇").figures

    assert figures.rated == 3 and round(figures.rating_mean, 2) == 4.33


def test_figures_take_the_same_few_queries_for_many_reports(app):
    town = make_town("呼中镇")

    def statements(n):
        for day in range(n):
            report(town, created=date(2026, 1, 1) + timedelta(days=day))
        db.session.flush()
        with counted_statements() as sent:
            accountability.figures(YEAR, date(2026, 12, 1))
        return len(sent)

    assert statements(3) == statements(40)


def test_periods_offer_the_last_twelve_months_and_each_year_with_reports(app):
    town = make_town("呼中镇")
    report(town, created=date(2024, 3, 1))
    report(town, created=date(2026, 3, 1))
    report(town, created=date(2025, 3, 1), status="merged")  # a merged duplicate alone does not make a year
    db.session.flush()

    keys = [period.key for period in accountability.periods(date(2026, 12, 1))]

    assert keys == ["12m", "2026", "2024"]
    last = accountability.last_twelve_months(date(2026, 12, 1))
    assert (last.start, last.end) == (date(2025, 12, 2), date(2026, 12, 1))
    leap = accountability.last_twelve_months(date(2028, 2, 29))
    assert (leap.start, leap.end) == (date(2027, 3, 1), date(2028, 2, 29))


# --- the page and its links --------------------------------------------------------------------------


@pytest.fixture
def handled(app):
    """Two towns (one with enough reports), the district, two departments; half of the reports published."""
    huzhong, huyuan = make_town("呼中镇"), make_town("呼源镇")
    plan = [
        # town, department, created, accepted, answered, rating, status
        (huzhong, "eeb", date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 20), 5, None),
        (huzhong, "eeb", date(2026, 5, 6), date(2026, 5, 12), date(2026, 8, 1), 2, None),  # late twice
        (huzhong, "eeb", date(2026, 5, 7), date(2026, 5, 8), None, None, "in_progress"),  # overdue
        (huzhong, "water", date(2026, 5, 8), None, None, None, None),  # overdue, never accepted
        (huzhong, "water", date(2026, 5, 11), date(2026, 5, 12), date(2026, 5, 13), 4, None),
        (huzhong, "eeb", date(2026, 5, 12), None, None, None, "rejected"),
        (huzhong, "eeb", date(2026, 5, 13), None, None, None, "merged"),
        (huyuan, "eeb", date(2026, 5, 14), date(2026, 5, 15), date(2026, 5, 18), 3, None),
        (_DISTRICT, "eeb", date(2026, 6, 1), date(2026, 6, 2), None, None, None),
        (huzhong, "eeb", date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 5), 5, None),  # another year
    ]
    records = []
    for number, (town, department, created, accepted, answered, rating, status) in enumerate(plan):
        records.append(report(town, department=department, created=created, accepted=accepted, answered=answered,
                              rating=rating, status=status, published=number % 2 == 0))
    db.session.flush()
    codes = [r.tracking_code for r in records]
    unpublished = {r.tracking_code for r in records if not r.published}
    commit_and_forget()
    return codes, unpublished


def complaint_links(html):
    """(href, text) of every /reports link in the complaints section."""
    section = html.split('id="complaints-heading"')[1].split("</section>")[0]
    return [(unescape(href), text) for href, text in re.findall(r'<a href="(/reports\?[^"]+)">(\d+)</a>', section)]


def row_links(html, name):
    """The /reports links of the first complaints row of this name, by the measure they list."""
    section = html.split('id="complaints-heading"')[1]
    cells = re.search(rf'<th scope="row">{name}</th>(.*?)</tr>', section, re.S).group(1)
    hrefs = [unescape(href) for href in re.findall(r'<a href="(/reports\?[^"]+)">', cells)]
    return {parse_qs(urlsplit(href).query)["measure"][0]: href for href in hrefs}


def listed_codes(client, href):
    """The tracking codes a /reports list shows (every page)."""
    response = client.get(href)
    assert response.status_code == 200, href
    return set(re.findall(r'<a href="/reports/([A-Z0-9]{8})">', response.get_data(as_text=True)))


def test_every_figure_links_to_exactly_the_published_reports_it_counts(app, client, handled):
    codes, unpublished = handled
    app.config["ACCOUNTABILITY_MIN_REPORTS"] = 1
    html = client.get("/progress?period=2026").get_data(as_text=True)

    links = complaint_links(html)
    assert len(links) > 40
    fewer = 0
    for href, value in links:
        listed = listed_codes(client, href)
        assert not listed & unpublished, href
        assert len(listed) <= int(value), href
        fewer += len(listed) < int(value)
    assert fewer  # some figures count reports that are not published: their lists are shorter

    # Once every report is published, every list holds exactly its figure's number.
    db.session.execute(db.update(Report).values(published=True))
    commit_and_forget()
    for href, value in complaint_links(client.get("/progress?period=2026").get_data(as_text=True)):
        assert len(listed_codes(client, href)) == int(value), href
    db.session.execute(db.update(Report).where(Report.tracking_code.in_(unpublished)).values(published=False))
    commit_and_forget()

    # Spot checks against what the test data says.
    town_links = row_links(html, "呼中镇")
    assert set(town_links) == set(accountability.MEASURES)
    query = parse_qs(urlsplit(town_links["received"]).query)
    assert query["period"] == ["2026"] and query["measure"] == ["received"]
    assert "镇：呼中镇" in text_of(client.get(town_links["received"]))
    # 呼中镇 in 2026: reports 0–6 less the merged 6; published are the even ones: 0, 2, 4.
    assert listed_codes(client, town_links["received"]) == {codes[0], codes[2], codes[4]}
    assert listed_codes(client, town_links["overdue"]) == {codes[2]}  # 3 is overdue too, but not published
    assert listed_codes(client, town_links["accepted_late"]) == set()  # 1 is late, but not published
    assert listed_codes(client, town_links["rated"]) == {codes[0], codes[4]}


def test_the_district_row_links_to_reports_without_a_town(app, client, handled):
    codes, _ = handled
    app.config["ACCOUNTABILITY_MIN_REPORTS"] = 1
    html = client.get("/progress?period=2026").get_data(as_text=True)

    received = [href for href, _ in complaint_links(html) if "town=district" in href and "measure=received" in href]
    assert listed_codes(client, received[0]) == {codes[8]}


def test_figures_in_the_table_match_the_data(client, handled):
    page = text_of(client.get("/progress?period=2026"))

    # 呼中镇: 6 received (merged excluded), 3 of them accepted in time (0, 2, 4), 1 late (1); of 4 accepted,
    # 2 answered in time (0, 4), 1 late (1); 2 overdue (2 and 3); ratings 5, 2, 4.
    assert re.search(r"呼中镇 6 50\.0% 按时 3 件，超时 1 件 50\.0% 按时 2 件，超时 1 件 \S+ 已办结 3 件 2 3\.7 3 人评价", page)
    assert "呼源镇 不足 5 件，不排名" in page


def test_the_default_period_is_the_last_twelve_months_and_a_bad_one_falls_back(client, handled):
    default = client.get("/progress")
    bad = client.get("/progress?period=1999-99")

    assert default.status_code == bad.status_code == 200
    assert "最近 12 个月" in text_of(default)
    assert complaint_links(default.get_data(as_text=True)) == complaint_links(bad.get_data(as_text=True))
    options = re.findall(r'<option value="([^"]+)"', default.get_data(as_text=True))
    assert options == ["12m", "2026", "2025"]


def test_a_chosen_year_counts_only_that_year(client, handled):
    page = text_of(client.get("/progress?period=2025"))

    assert "2025年收到的举报" in page
    assert re.search(r'<option value="2025" selected>', client.get("/progress?period=2025").get_data(as_text=True))


# --- the /reports filters ----------------------------------------------------------------------------


@pytest.mark.parametrize("query, named", [
    ("town=abc", "没有编号为 abc 的镇"),
    ("town=3000000000", "没有编号为 3000000000 的镇"),
    ("town=999999", "没有编号为 999999 的镇"),
    ("department=nope", "没有代码为 nope 的部门"),
    ("period=last-year", "无法识别的时段（period）：last-year"),
    ("period=1850", "无法识别的时段（period）：1850"),
    ("measure=fastest", "无法识别的统计项（measure）：fastest"),
    ("measure=%00%01", "无法识别的统计项（measure）"),
])
def test_an_unreadable_filter_is_named_on_the_page_not_a_server_error(client, handled, query, named):
    response = client.get(f"/reports?{query}")

    assert response.status_code == 400
    page = text_of(response)
    assert "部分筛选条件无法识别，已忽略" in page and named in page
    assert "公开的举报" in page


def test_active_filters_are_shown_with_ways_to_remove_them(client, handled):
    town_id = make_town("呼中镇").id
    commit_and_forget()

    response = client.get(f"/reports?town={town_id}&department=eeb&period=2026&measure=received")

    html = response.get_data(as_text=True)
    page = text_of(response)
    assert response.status_code == 200
    assert "镇：呼中镇" in page and "部门：生态环境局" in page and "收到时间：2026年" in page
    assert "统计项：收到的举报" in page
    assert "这里只列出已公开的举报" in page and "可能比统计数字少" in page
    assert 'href="/reports">清除全部筛选条件</a>' in html
    removes = [unescape(href) for href in re.findall(r'<a href="([^"]+)">移除</a>', html)]
    assert len(removes) == 4
    assert "/reports?department=eeb&period=2026&measure=received" in removes
    # The pages of a filtered list keep the filter.
    assert "共 2 份" in page


def test_the_unfiltered_list_says_nothing_about_figures(client, handled):
    page = text_of(client.get("/reports"))

    assert "当前筛选条件" not in page and "可能比统计数字少" not in page


def test_complaint_figures_in_english(client, handled):
    response = client.get("/progress?period=2026&lang=en")
    section = response.get_data(as_text=True).split('id="complaints-heading"')[1].split("</section>")[0]

    text = " ".join(re.sub(r"<[^>]+>", " ", unescape(section)).split())
    assert "Fewer than 5 reports: not ranked" in text
    assert "Ecology and Environment" in text or "Environment" in text
    assert "District level" in text
    assert not re.search(r"[\u3400-\u9fff]", text.replace("呼中镇", "").replace("呼源镇", ""))

    listed = text_of(client.get("/reports?town=district&measure=overdue&period=12m&lang=en"))
    assert "Overdue now" in listed and "Remove" in listed


@pytest.mark.parametrize("counts", [{3: 1}, {1: 1, 4: 1}, {0: 5, 2: 1, 9: 3}, {7: 2, 1: 2}, {2: 4, 5: 4, 6: 1}])
def test_a_median_counted_from_how_many_reports_took_each_number_of_days_is_the_plain_median(counts):
    # The medians are folded from (days, how many) rows: the same figure as over one value per report.
    plain = statistics.median(days for days, times in counts.items() for _ in range(times))
    assert accountability._median(counts) == plain
