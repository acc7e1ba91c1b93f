"""The outfall record page (一口一档): monitoring matrix and charts, stages, people, photos, map, cost."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from factories import (
    BEIJING,
    limit_for,
    make_checklist_item,
    make_chief,
    make_event,
    make_outfall,
    make_party,
    make_person,
    make_photo,
    make_plan,
    make_sample,
    make_town,
    make_water_body,
)
from helpers import commit_and_forget, counted_statements, parse, text_of
from PIL import Image

from portal import calendar
from portal.extensions import db
from portal.models import OutfallPhoto
from portal.public.charts import ChartPoint, LimitLine, line_chart, nice_step

SVG = "{http://www.w3.org/2000/svg}"
DAY_1 = datetime(2026, 6, 1, 9, 0, tzinfo=BEIJING)
DAY_2 = datetime(2026, 7, 1, 9, 0, tzinfo=BEIJING)
DAY_3 = datetime(2026, 8, 1, 9, 0, tzinfo=BEIJING)


def section(html: str, pattern: str) -> str:
    """The first piece of markup matching a regular expression (DOTALL), or a failed test."""
    found = re.search(pattern, html, re.S)
    assert found, f"nothing matches {pattern!r}"
    return found.group(0)


def matrix_rows(response) -> dict[str, list[str]]:
    """The monitoring matrix as {first word of the row header: [cell texts]}, plus the header row under ''."""
    table = section(response.get_data(as_text=True), r'<table class="sample-matrix">.*?</table>')
    rows = parse_html(table).rows
    return {"" if index == 0 else row[0].split()[0]: row[1:] for index, row in enumerate(rows)}


def parse_html(html: str):
    """Table rows and links of a piece of markup, as ``parse`` gives them for a response."""
    return parse(SimpleNamespace(get_data=lambda as_text=True: html))


def charts_by_title(response) -> dict[str, ET.Element]:
    """Every inline SVG chart of the page, parsed, by its <title>."""
    html = response.get_data(as_text=True)
    charts = {}
    for markup in re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="chart".*?</svg>', html, re.S):
        element = ET.fromstring(markup)
        charts[element.find(f"{SVG}title").text] = element
    return charts


# --- monitoring: the parameter × date matrix ----------------------------------------------------------------------


def test_matrix_marks_over_within_no_limit_and_no_data(client):
    outfall = make_outfall("HZ-100")
    make_sample(outfall, "COD", 80.0, limit=limit_for("COD"), sampled_at=DAY_1)
    make_sample(outfall, "NH3-N", 2.5, limit=limit_for("NH3-N"), sampled_at=DAY_1)
    make_sample(outfall, "石油类", 0.3, limit=None, sampled_at=DAY_1)
    make_sample(outfall, "COD", 30.0, limit=limit_for("COD"), sampled_at=DAY_2)
    make_sample(outfall, "DO", 1.5, limit=limit_for("DO", "GB 3838-2002", "III类"), sampled_at=DAY_2)
    commit_and_forget()

    rows = matrix_rows(client.get("/outfalls/HZ-100"))

    assert rows[""] == ["2026年6月1日", "2026年7月1日"]
    assert rows["COD"] == ["80 ▲ 超标", "30 ○ 达标"]
    assert rows["NH3-N"] == ["2.5 ○ 达标", "— 无数据"]
    assert rows["石油类"] == ["0.3 □ 无适用限值", "— 无数据"]
    # Dissolved oxygen has a floor: falling below it is the breach.
    assert rows["DO"] == ["— 无数据", "1.5 ▲ 超标"]
    # Missing data and "no limit" are never shown as compliant.
    for name in ("NH3-N", "石油类", "DO"):
        for cell in rows[name]:
            if "无数据" in cell or "无适用限值" in cell:
                assert "达标" not in cell


def test_matrix_cells_carry_the_verdict_in_words_and_class_and_rows_name_unit_and_limit(client):
    outfall = make_outfall("HZ-101")
    make_sample(outfall, "COD", 80.0, limit=limit_for("COD"), sampled_at=DAY_1)
    make_sample(outfall, "TP", 0.1, limit=limit_for("TP"), sampled_at=DAY_2)
    commit_and_forget()

    html = client.get("/outfalls/HZ-101").get_data(as_text=True)
    table = section(html, r'<table class="sample-matrix">.*?</table>')

    verdicts = re.findall(r'<td class="verdict verdict-(\w+)" data-verdict="(\w+)">', table)
    assert [a for a, b in verdicts if a == b] == ["over", "no_data", "no_data", "within"]
    assert "<caption" in table and '<th scope="col">' in table and '<th scope="row">' in table
    header = section(table, r'<tr id="parameter-1">.*?</th>')
    assert "COD" in header and "mg/L" in header and "≤ 50 mg/L" in header


def test_several_samples_of_a_parameter_on_one_day_are_all_shown_and_any_breach_counts(client):
    outfall = make_outfall("HZ-102")
    make_sample(outfall, "COD", 20.0, limit=limit_for("COD"), sampled_at=DAY_1)
    make_sample(outfall, "COD", 70.0, limit=limit_for("COD"), sampled_at=DAY_1 + timedelta(hours=4))
    commit_and_forget()

    rows = matrix_rows(client.get("/outfalls/HZ-102"))

    assert rows[""] == ["2026年6月1日"]
    assert rows["COD"] == ["20、70 ▲ 超标"]


def test_sampling_dates_are_the_districts_local_dates(client):
    outfall = make_outfall("HZ-103")
    # 23:30 on 31 May in UTC is 07:30 on 1 June in 呼中.
    make_sample(outfall, "COD", 20.0, limit=limit_for("COD"),
                sampled_at=datetime(2026, 5, 31, 23, 30, tzinfo=timezone.utc))
    commit_and_forget()

    assert matrix_rows(client.get("/outfalls/HZ-103"))[""] == ["2026年6月1日"]


def test_no_samples_means_no_matrix_and_says_so(client):
    make_outfall("HZ-104")
    commit_and_forget()

    response = client.get("/outfalls/HZ-104")

    assert "没有监测记录" in text_of(response)
    assert "sample-matrix" not in response.get_data(as_text=True)


# --- monitoring: charts -------------------------------------------------------------------------------------------


def test_each_parameter_has_a_chart_with_its_limit_line_and_marked_over_limit_points(client):
    outfall = make_outfall("HZ-110")
    make_sample(outfall, "COD", 80.0, limit=limit_for("COD"), sampled_at=DAY_1)
    make_sample(outfall, "COD", 30.0, limit=limit_for("COD"), sampled_at=DAY_2)
    make_sample(outfall, "pH", 9.6, limit=limit_for("pH"), sampled_at=DAY_1)
    make_sample(outfall, "石油类", 0.3, limit=None, sampled_at=DAY_2)
    commit_and_forget()

    response = client.get("/outfalls/HZ-110")
    charts = charts_by_title(response)

    assert set(charts) == {"COD 测定值", "pH 测定值", "石油类 测定值"}
    cod = charts["COD 测定值"]
    assert cod.get("role") == "img"
    assert cod.get("aria-labelledby") == f"{cod.get('id')}-title {cod.get('id')}-desc"
    assert "超标 1 次，达标 1 次" in cod.find(f"{SVG}desc").text
    limit = cod.find(f".//{SVG}g[@class='limit limit-max']")
    assert limit is not None and limit.get("data-value") == "50"
    limit_y = float(limit.find(f"{SVG}line").get("y1"))
    points = {p.get("data-value"): p for p in cod.iter(f"{SVG}g") if (p.get("class") or "").startswith("point ")}
    assert points["80"].get("class") == "point point-over" and points["30"].get("class") == "point point-within"
    # Over the limit: a filled triangle above the line; within: a ring below it.
    over_mark, within_mark = points["80"].find(f"{SVG}path"), points["30"].find(f"{SVG}circle")
    assert over_mark is not None and within_mark is not None
    assert float(re.match(r"M[\d.]+ ([\d.]+)", over_mark.get("d")).group(1)) < limit_y < float(within_mark.get("cy"))
    assert "2026年6月1日：80 mg/L，超标" == points["80"].find(f"{SVG}title").text
    # pH has a range: both bounds are drawn.
    ph = charts["pH 测定值"]
    assert ph.find(f".//{SVG}g[@class='limit limit-max']").get("data-value") == "9"
    assert ph.find(f".//{SVG}g[@class='limit limit-min']").get("data-value") == "6"
    # No limit: no limit line, and the point is neither over nor within.
    oil = charts["石油类 测定值"]
    assert oil.find(f".//{SVG}g[@class='limit limit-max']") is None
    assert [g.get("data-state") for g in oil.iter(f"{SVG}g") if g.get("data-state")] == ["no_limit"]


def test_each_chart_links_to_its_numbers_in_the_matrix(client):
    outfall = make_outfall("HZ-111")
    make_sample(outfall, "COD", 30.0, limit=limit_for("COD"), sampled_at=DAY_1)
    make_sample(outfall, "TP", 0.7, limit=limit_for("TP"), sampled_at=DAY_1)
    commit_and_forget()

    html = client.get("/outfalls/HZ-111").get_data(as_text=True)

    figures = re.findall(r'<figure class="chart-figure">(.*?)</figure>', html, re.S)
    assert len(figures) == 2
    for figure, (anchor, parameter) in zip(figures, [("parameter-1", "COD"), ("parameter-2", "TP")]):
        assert f'href="#{anchor}"' in figure and f"查看{parameter}的各次数值" in figure
        assert re.search(rf'<tr id="{anchor}">\s*<th scope="row">\s*<span class="parameter">{parameter}</span>', html)


def test_a_seasonal_limit_is_drawn_only_where_it_applied(client):
    outfall = make_outfall("HZ-112")
    cold, warm = limit_for("NH3-N", condition="水温≤12℃"), limit_for("NH3-N")
    make_sample(outfall, "NH3-N", 7.0, limit=cold, sampled_at=DAY_1)
    make_sample(outfall, "NH3-N", 7.0, limit=warm, sampled_at=DAY_2)
    make_sample(outfall, "NH3-N", 4.0, limit=warm, sampled_at=DAY_3)
    commit_and_forget()

    chart = charts_by_title(client.get("/outfalls/HZ-112"))["NH3-N 测定值"]

    lines = {g.get("data-value"): g for g in chart.iter(f"{SVG}g") if g.get("class") == "limit limit-max"}
    assert set(lines) == {"8", "5"}
    cold_segment, warm_segment = lines["8"].find(f"{SVG}line"), lines["5"].find(f"{SVG}line")
    # The cold-water limit ends where the warm one begins, halfway between the samples.
    assert float(cold_segment.get("x2")) == pytest.approx(float(warm_segment.get("x1")))
    assert "水温≤12℃" in "".join(lines["8"].itertext())
    states = [g.get("data-state") for g in chart.iter(f"{SVG}g") if g.get("data-state")]
    assert states == ["within", "over", "within"]


def test_line_chart_is_well_formed_svg_with_title_axes_and_distinct_marks():
    svg = line_chart(
        chart_id="c", title="COD <测定值>", description="描述 & 说明",
        points=[ChartPoint(date(2026, 1, 1), 80, "over", "a"), ChartPoint(date(2026, 2, 1), 30, "within", "b"),
                ChartPoint(date(2026, 3, 1), 10, "no_limit", "c")],
        limits=[LimitLine(50, "max", "上限 50")], x_label="采样日期", y_label="COD（mg/L）",
        format_x=lambda d: d.isoformat(),
    )

    root = ET.fromstring(str(svg))
    assert root.find(f"{SVG}title").text == "COD <测定值>" and root.find(f"{SVG}desc").text == "描述 & 说明"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "采样日期" in texts and "COD（mg/L）" in texts and "2026-01-01" in texts and "2026-03-01" in texts
    marks = [list(g)[1].tag.replace(SVG, "") for g in root.iter(f"{SVG}g") if g.get("data-state")]
    assert marks == ["path", "circle", "rect"]
    # The value axis starts at 0 and reaches past the highest value.
    ticks = [float(t) for t in texts if re.fullmatch(r"[\d.]+", t)]
    assert min(ticks) == 0 and max(ticks) >= 80


def test_line_chart_with_a_single_point_and_nice_steps():
    svg = line_chart(chart_id="one", title="t", description="d",
                     points=[ChartPoint(date(2026, 1, 1), 0.02, "within", "x")],
                     limits=[LimitLine(0.2, "max", "上限 0.2")])
    root = ET.fromstring(str(svg))
    circle = root.find(f".//{SVG}circle")
    width = float(root.get("viewBox").split()[2])
    assert float(circle.get("cx")) == pytest.approx((64 + width - 20) / 2)  # the middle of the plot area
    assert [nice_step(s) for s in (10, 1, 0.26, 130)] == [2, 0.2, 0.1, 50]


# --- stages, timeline, plan ---------------------------------------------------------------------------------------


def test_stepper_marks_done_current_and_future_stages_with_words_and_dates(client):
    outfall = make_outfall("HZ-120", stage="tracing", found_on=date(2026, 3, 2))
    make_event(outfall, field="stage", old="survey", new="monitoring",
               occurred_at=datetime(2026, 4, 5, 10, tzinfo=BEIJING))
    make_event(outfall, field="stage", old="monitoring", new="tracing",
               occurred_at=datetime(2026, 5, 6, 10, tzinfo=BEIJING))
    commit_and_forget()

    html = client.get("/outfalls/HZ-120").get_data(as_text=True)

    stages = section(html, r'<ol class="stages">.*?</ol>')
    items = re.findall(r"<li class=\"(\w+)\"([^>]*)>(.*?)</li>", stages, re.S)
    assert [state for state, _, _ in items] == ["past", "past", "current", "future", "future"]
    assert [('aria-current="step"' in attrs) for _, attrs, _ in items] == [False, False, True, False, False]
    words = [" ".join(re.sub(r"<[^>]+>", " ", body).split()) for _, _, body in items]
    assert words[0] == "✓ 排查 已完成 始于 2026年3月2日"
    assert words[1] == "✓ 监测 已完成 始于 2026年4月5日"
    assert words[2] == "3 溯源 当前阶段 始于 2026年5月6日"
    assert words[3] == "4 整治 未开始"


def test_timeline_lists_dated_milestones_with_overdue_and_upcoming_marked(client):
    later = calendar.today() + timedelta(days=30)
    outfall = make_outfall("HZ-121", found_on=date(2022, 5, 1), stage="rectification",
                           plan={"deadline": date(2022, 8, 20), "status": "in_progress", "measure": "ban"})
    make_outfall("HZ-122", found_on=date(2022, 5, 1),
                 plan={"deadline": date(2022, 8, 20), "transition_ends_on": later, "status": "in_progress"})
    make_checklist_item(outfall, "signboard", done=True, done_on=date(2022, 9, 1))
    commit_and_forget()

    overdue = section(client.get("/outfalls/HZ-121").get_data(as_text=True), r'<ol class="timeline">.*?</ol>')
    entries = [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in re.findall(r"<li.*?</li>", overdue, re.S)]
    assert entries == ["2022年5月1日 发现并登记排污口", "2022年8月20日 整治时限 已逾期",
                       "2022年9月1日 规范化建设：标识牌完成"]

    extended = section(client.get("/outfalls/HZ-122").get_data(as_text=True), r'<ol class="timeline">.*?</ol>')
    assert "已逾期" not in extended
    extended_text = " ".join(re.sub(r"<[^>]+>", " ", extended).split())
    assert "2022年8月20日 整治时限 （已批准过渡期）" in extended_text and "过渡期结束 尚未到期" in extended_text


def test_plan_shows_measure_text_deadline_overdue_and_transition(client):
    make_outfall("HZ-123", plan={"measure": "standardise", "measures_text": "改造排水设施", "status": "in_progress",
                                 "deadline": date(2022, 8, 20), "transition_ends_on": date(2023, 8, 20)})
    commit_and_forget()

    page = text_of(client.get("/outfalls/HZ-123"))

    for expected in ("规范整治", "改造排水设施", "2022年8月20日", "过渡期至 2023年8月20日", "已逾期"):
        assert expected in page, expected


# --- people -------------------------------------------------------------------------------------------------------


def test_the_receiving_rivers_chiefs_for_this_stretch_are_listed_from_the_top(client):
    town, other_town = make_town("呼中镇"), make_town("碧水镇")
    river = make_water_body("呼玛河")
    make_chief("村河长甲", level="village", water_body=river, town=town, title="向阳村党支部书记")
    make_chief("镇河长乙", level="town", water_body=river, town=town, title="呼中镇镇长", telephone="0457-3300001",
               telephone_is_official=True)
    make_chief("他镇河长丙", level="town", water_body=river, town=other_town)
    make_chief("区河长丁", level="district", water_body=river, title="区长")
    make_chief("他河河长戊", level="district", water_body=make_water_body("碧水河"))
    make_outfall("HZ-130", town=town, water_body=river, supervising_leader="区生态环境局局长")
    river_id = river.id
    commit_and_forget()

    response = client.get("/outfalls/HZ-130")

    table = section(response.get_data(as_text=True), r'<table class="chiefs">.*?</table>')
    rows = parse_html(table).rows[1:]
    assert [row[:3] for row in rows] == [
        ["区级", "区河长丁", "区长"], ["镇级", "镇河长乙", "呼中镇镇长"], ["村级", "村河长甲", "向阳村党支部书记"],
    ]
    assert rows[1][3:] == ["呼玛河呼中镇段", "0457-3300001"]
    page = text_of(response)
    assert "他镇河长丙" not in page and "他河河长戊" not in page
    assert "区生态环境局局长" in page
    assert f"/rivers/{river_id}" in parse(response).links


def test_a_person_as_responsible_party_is_masked_and_their_telephone_withheld(client):
    make_outfall("HZ-131", party=make_person("张立新"), party_telephone="13912345678",
                 plan={"responsible_party": make_person("欧阳明")})
    commit_and_forget()

    html = client.get("/outfalls/HZ-131").get_data(as_text=True)

    assert "张**" in html and "立新" not in html and "13912345678" not in html and "欧阳明" not in html


# --- photos -------------------------------------------------------------------------------------------------------


def _png(colour="red") -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _store(app, key: str, content: bytes) -> Path:
    path = Path(app.instance_path) / "photos" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_photos_are_shown_by_kind_with_captions_as_alt_text(app, client):
    outfall = make_outfall("HZ-140", name="测试排口")
    make_photo(outfall, "HZ-140/before.png", kind="before", caption="整治前：岸边排口直排")
    make_photo(outfall, "HZ-140/after.png", kind="after", caption=None)
    commit_and_forget()

    html = client.get("/outfalls/HZ-140").get_data(as_text=True)

    photos = section(html, r'<section aria-labelledby="photos-heading">.*?</section>')
    assert re.findall(r"<h3>([^<]+)</h3>", photos) == ["整治前", "整治后"]
    images = re.findall(r'<img src="([^"]+)"\s+alt="([^"]+)"', photos)
    assert images == [("/photos/HZ-140/before.png", "整治前：岸边排口直排"), ("/photos/HZ-140/after.png", "整治后照片：测试排口")]


def test_no_photos_says_so(client):
    make_outfall("HZ-141")
    commit_and_forget()

    assert "暂无标识牌、采样点或整治前后照片" in text_of(client.get("/outfalls/HZ-141"))


def test_a_registered_photo_is_served_from_the_instance_folder(app, client):
    make_photo(make_outfall("HZ-142"), "HZ-142/before.png")
    commit_and_forget()
    content = _png()
    _store(app, "HZ-142/before.png", content)

    with client.get("/photos/HZ-142/before.png") as response:
        assert response.status_code == 200
        assert response.data == content and response.mimetype == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_outfall_photos_are_served_from_the_configured_photo_storage(app, client, tmp_path):
    app.config["PHOTO_ROOT"] = str(tmp_path / "elsewhere")
    make_photo(make_outfall("HZ-146"), "HZ-146/before.png")
    commit_and_forget()
    content = _png("green")
    stored = tmp_path / "elsewhere" / "HZ-146" / "before.png"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(content)
    _store(app, "HZ-146/before.png", _png("blue"))  # the old hard-coded folder is not read

    with client.get("/photos/HZ-146/before.png") as response:
        assert response.status_code == 200 and response.data == content
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.cache_control.max_age == 24 * 3600
        etag = response.headers["ETag"]
    with client.get("/photos/HZ-146/before.png", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    stored.unlink()
    assert client.get("/photos/HZ-146/before.png").status_code == 404


def test_the_staging_area_is_never_served(app, client, tmp_path):
    app.config["PHOTO_ROOT"] = str(tmp_path)
    make_photo(make_outfall("HZ-147"), ".staging/abcdefghijklmnopqrstuvwx.jpg", content_type="image/jpeg")
    commit_and_forget()
    (tmp_path / ".staging").mkdir()
    (tmp_path / ".staging" / "abcdefghijklmnopqrstuvwx.jpg").write_bytes(b"\xff\xd8 not yet public")

    assert client.get("/photos/.staging/abcdefghijklmnopqrstuvwx.jpg").status_code == 404


def test_files_not_registered_as_photos_are_never_served(app, client):
    make_photo(make_outfall("HZ-143"), "HZ-143/before.png")
    make_photo(make_outfall("HZ-144"), "../config.py")  # a key that would leave the photo folder
    make_photo(make_outfall("HZ-145"), "HZ-145/drawing.svg", content_type="image/svg+xml")
    commit_and_forget()
    _store(app, "HZ-143/before.png", _png())
    _store(app, "HZ-143/unregistered.png", _png("blue"))
    _store(app, "HZ-145/drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    secret = Path(app.instance_path) / "config.py"
    secret.write_text("SECRET_KEY = 'do-not-leak'\n", encoding="utf-8")

    for path in ("/photos/HZ-143/unregistered.png", "/photos/unknown.png", "/photos/../config.py",
                 "/photos/%2e%2e/config.py", "/photos/HZ-143/../../config.py", "/photos/..%2Fconfig.py",
                 "/photos/HZ-145/drawing.svg"):
        with client.get(path) as response:
            assert response.status_code == 404, path
            assert b"do-not-leak" not in response.data
    assert db.session.query(OutfallPhoto).count() == 3


# --- map, links, reporting ----------------------------------------------------------------------------------------


def test_map_draws_the_point_town_boundary_and_river_and_states_the_coordinates_without_script(client):
    boundary = {"type": "Polygon", "coordinates": [[[123.5, 52.0], [123.7, 52.0], [123.7, 52.1], [123.5, 52.0]]]}
    river = {"type": "LineString", "coordinates": [[123.5, 52.03], [123.7, 52.04]]}
    town = make_town("呼中镇", boundary=json.dumps(boundary), boundary_source="近似边界（测试）")
    make_outfall("HZ-150", town=town, water_body=make_water_body("呼玛河", geometry=json.dumps(river)),
                 latitude=52.0306, longitude=123.5888)
    make_outfall("HZ-151")
    commit_and_forget()

    html = client.get("/outfalls/HZ-150").get_data(as_text=True)

    data = json.loads(section(html, r'(?<=<script type="application/json" id="outfall-map-data">).*?(?=</script>)'))
    assert data["point"] == [52.0306, 123.5888]
    assert data["town"]["geometry"] == boundary and data["water"]["geometry"] == river
    assert '<div id="outfall-map" class="outfall-map" hidden' in html
    assert "排污口位于纬度 52.030600、经度 123.588800（WGS84）" in text_of_html(html)
    assert re.search(r'<script src="/vendor/leaflet/leaflet\.js\?v=[0-9a-f]{12}">', html) and "/static/js/outfall_map.js" in html
    assert '/vendor/leaflet/leaflet.css' in html

    no_position = client.get("/outfalls/HZ-151").get_data(as_text=True)
    assert "outfall-map" not in no_position and "leaflet" not in no_position
    assert "没有记录坐标" in no_position


def text_of_html(html: str) -> str:
    """Text of markup, as ``text_of`` gives for a response."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_report_button_signboard_and_qr_links_and_telephone(app, client):
    app.config["REPORT_TELEPHONE"] = "0457-7777777"
    make_outfall("HZ-160", national_code="N-160")
    commit_and_forget()

    response = client.get("/outfalls/N-160")  # a national code finds the page too

    links = parse(response).links
    assert links.count("/reports/new?outfall=HZ-160") == 2
    assert re.search(r'<a class="button button-report" href="/reports/new\?outfall=HZ-160">举报此排污口的问题</a>',
                     response.get_data(as_text=True))
    assert "/outfalls/HZ-160/sign" in links and "/outfalls/HZ-160/qr.svg" in links
    assert '<img class="outfall-qr" src="/outfalls/HZ-160/qr.svg"' in response.get_data(as_text=True)
    assert "tel:0457-7777777" in links


def test_vocabulary_labels_follow_the_visitors_language(client):
    make_outfall("HZ-170", stage="tracing", outfall_type="industrial")
    commit_and_forget()

    page = text_of(client.get("/outfalls/HZ-170", query_string={"lang": "en"}))

    assert "Source tracing" in page and "Industrial outfall" in page and "Signboard" in page


# --- cost ---------------------------------------------------------------------------------------------------------


def _record_with(outfall, first, count, river):
    """Samples on many days, history, photos, checklist items and chiefs, ``count`` of each."""
    limits = [limit_for("COD"), limit_for("COD", "GB 3838-2002", "III类"), None]
    for number in range(first, first + count):
        day = DAY_1 + timedelta(days=number)
        make_sample(outfall, "COD", 10.0 + number, limit=limits[number % 3], sampled_at=day)
        make_sample(outfall, f"P{number % 4}", 1.0, limit=None, sampled_at=day)
        make_event(outfall, field="stage", old="survey", new="monitoring")
        make_photo(outfall, f"{outfall.code}/{number}.png", kind=("before", "after", "other")[number % 3])
        make_chief(f"河长{number}", level=("district", "town", "village")[number % 3], water_body=river,
                   town=outfall.town if number % 3 else None)
        make_plan_for(outfall, number)
    make_checklist_item(outfall, "signboard", done=True, done_on=date(2026, 1, 1))


def make_plan_for(outfall, number):
    """Another unit's plan, with a deadline and a merge target."""
    make_plan(outfall, responsible_party=make_party(f"单位{outfall.code}{number}"), deadline=date(2022, 8, 20),
              merged_into=make_outfall(f"{outfall.code}-M{number:03d}", plan=None))


def test_record_page_statement_count_does_not_grow_with_its_records(app, client):
    app.extensions.pop("portal.page_cache", None)  # what rendering costs (a cached visit: tests/public/test_cached_pages.py)
    small = make_outfall("HZ-S", party=make_party("单位甲"), water_body=make_water_body("小河"),
                         latitude=52.0, longitude=123.5)
    _record_with(small, 0, 3, small.water_body)
    large = make_outfall("HZ-L", party=make_party("单位乙"), water_body=make_water_body("大河"),
                         latitude=52.0, longitude=123.5)
    _record_with(large, 100, 30, large.water_body)
    commit_and_forget()

    with counted_statements() as few:
        small_page = client.get("/outfalls/HZ-S")
    db.session.remove()
    with counted_statements() as many:
        large_page = client.get("/outfalls/HZ-L")

    assert len(charts_by_title(large_page)) == 5 and len(matrix_rows(large_page)[""]) == 30
    assert len(charts_by_title(small_page)) == 4
    # One statement per part of the archive, however many rows each holds: the outfall with its town,
    # water, party and permits; plans; history; samples; checklist; photos; chiefs; rectification
    # steps; documents; sections.
    assert len(many) == len(few) <= 10, many
