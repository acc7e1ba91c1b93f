"""Monitoring sections in public: the section page with its samples judged by GB 3838, the river
board's list, the outfall page's sentence ("下游 1.2 km 的断面 … 在最近 10 次采样中 8 次达到 III 类"),
the GeoJSON layer and the CSV download; a section without samples never reads 达标. Chinese and English.

(Named test_section_pages.py: tests/monitoring/test_sections.py holds the import's tests, and two test
modules of one basename cannot be collected together in this rootless layout.)
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from factories import make_outfall, make_town, make_water_body
from portal.extensions import db
from portal.models import MonitoringSample, MonitoringSection
from portal.monitoring import standards

ZONE = ZoneInfo("Asia/Shanghai")


def page_main(response) -> str:
    """The <main> of a page that answered 200."""
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    return html.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.fixture
def river(app):
    """呼玛河 with the treatment plant's outfall, a section 1.2 km downstream sampled 10 times (8 within
    class III), one 0.6 km upstream never sampled, and the national section far away."""
    huma = make_water_body("呼玛河", code="HMH", target_class="III")
    plant = make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", town=make_town("呼中镇"), water_body=huma,
                         outfall_type="municipal_wwtp", outfall_subtype="municipal_wwtp",
                         latitude=52.0330, longitude=123.5880)
    downstream = MonitoringSection(code="DM-HMH-02", name="呼玛河呼中镇下游断面", level="outfall", water_body=huma,
                                   latitude=52.0330, longitude=123.6055, outfall=plant, position="downstream")
    upstream = MonitoringSection(code="DM-HMH-01", name="呼玛河呼中镇上游断面", level="outfall", water_body=huma,
                                 latitude=52.0330, longitude=123.5792, outfall=plant, position="upstream")
    national = MonitoringSection(code="DM-HMH-GK", name="呼玛河出境断面", level="national", water_body=huma,
                                 latitude=52.015, longitude=123.765)
    db.session.add_all([downstream, upstream, national])
    samples = []
    for month in range(10):
        day = datetime(2026, 1, 5, 10, tzinfo=ZONE) + timedelta(days=30 * month)
        ammonia = 1.6 if month in (3, 7) else 0.4  # over class III's 1.0 mg/L twice
        samples += [MonitoringSample(section=downstream, sampled_at=day, parameter=parameter, value=value, unit="mg/L")
                    for parameter, value in (("COD", 12.0), ("NH3-N", ammonia), ("SS", 9.0))]
    db.session.add_all(samples)
    standards.judge_all(samples, ZONE)
    db.session.commit()
    return {"huma": huma, "plant": plant}


def test_the_section_page_shows_its_water_class_position_and_judged_samples(client, river):
    main = page_main(client.get("/sections/DM-HMH-02"))
    assert "呼玛河呼中镇下游断面" in main and "排污口上下游断面" in main
    assert f'href="/rivers/{river["huma"].id}"' in main
    assert "地表水 III 类（GB 3838-2002）" in main and "所在水体的水质目标" in main
    assert 'href="/outfalls/HZ-WS-001"' in main and "本断面位于其下游" in main
    assert "本断面在最近 10 次采样中 8 次达到 III 类。" in main
    # Each sampling judged, latest first: the two that missed name NH3-N.
    samplings = main.split('class="samplings"', 1)[1].split("</table>", 1)[0]
    assert samplings.count("达到 III 类") == 10 and samplings.count("未达到 III 类") == 2
    assert samplings.count("<td>NH3-N</td>") == 2
    assert samplings.index("2026-10-02 10:00") < samplings.index("2026-01-05 10:00")
    assert "GB 3838-2002 III类" in main
    assert 'id="outfall-map-data"' in main  # the map point
    # The outfall page's matrix: NH3-N over twice, SS without a limit (never 达标).
    assert 'class="sample-matrix"' in main
    assert main.count('data-verdict="over"') == 2
    assert "无适用限值" in main


def test_a_section_without_samples_says_so_and_never_reads_compliant(client, river):
    main = page_main(client.get("/sections/DM-HMH-01"))
    assert "尚无监测数据" in main
    assert "达标" not in main.replace("达标情况", "")
    english = page_main(client.get("/sections/DM-HMH-01?lang=en"))
    assert "No monitoring data yet" in english
    assert "compliant" not in english.lower().replace("compliance", "")


def test_an_unknown_section_is_not_found(client, river):
    assert client.get("/sections/DM-NOPE").status_code == 404


def test_the_outfall_page_names_the_downstream_section_and_how_it_fared(client, river):
    main = page_main(client.get("/outfalls/HZ-WS-001"))
    assert ('下游 1.2 km 的断面 <a href="/sections/DM-HMH-02">DM-HMH-02（呼玛河呼中镇下游断面）</a>'
            '在最近 10 次采样中 8 次达到 III 类') in main
    assert '上游 0.6 km 的断面 <a href="/sections/DM-HMH-01">DM-HMH-01（呼玛河呼中镇上游断面）</a>尚无监测数据' in main
    assert "DM-HMH-GK" not in main  # 12 km away and not linked
    english = page_main(client.get("/outfalls/HZ-WS-001?lang=en"))
    assert ('The section 1.2 km downstream, <a href="/sections/DM-HMH-02">DM-HMH-02 (呼玛河呼中镇下游断面)</a>: '
            'met class III in 8 of the last 10 samplings') in english


def test_the_river_board_lists_its_sections_with_their_compliance(client, river):
    main = page_main(client.get(f"/rivers/{river['huma'].id}"))
    assert "呼玛河上的监测断面（共 3 个）" in main
    for code in ("DM-HMH-01", "DM-HMH-02", "DM-HMH-GK"):
        assert f'href="/sections/{code}"' in main
    assert "在最近 10 次采样中 8 次达到 III 类" in main
    assert main.count("尚无监测数据") == 2
    english = page_main(client.get(f"/rivers/{river['huma'].id}?lang=en"))
    assert "Monitoring sections" in english and "No monitoring data yet" in english


def test_the_sections_list(client, river):
    main = page_main(client.get("/sections"))
    assert main.count('href="/sections/DM-') == 3
    assert "国控断面" in main


def test_sections_geojson_carries_code_level_class_and_compliance(client, river):
    response = client.get("/api/v1/sections.geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    features = {f["properties"]["code"]: f for f in response.get_json()["features"]}
    assert set(features) == {"DM-HMH-01", "DM-HMH-02", "DM-HMH-GK"}
    downstream = features["DM-HMH-02"]
    assert downstream["geometry"]["coordinates"] == [123.6055, 52.033]
    props = downstream["properties"]
    assert (props["level"], props["target_class"], props["samplings"], props["judged"], props["met"]) == (
        "outfall", "III", 10, 10, 8)
    assert props["compliance"] == "some_failed" and props["url"].endswith("/sections/DM-HMH-02")
    never = features["DM-HMH-01"]["properties"]
    assert (never["compliance"], never["met"], never["compliance_text"]) == ("no_data", None, "尚无监测数据")
    english = client.get("/api/v1/sections.geojson?lang=en").get_json()
    texts = {f["properties"]["code"]: f["properties"]["compliance_text"] for f in english["features"]}
    assert texts["DM-HMH-01"] == "No monitoring data yet"


def test_sections_csv_download_and_its_link_on_data(client, river):
    response = client.get("/api/v1/sections.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_code = {row["断面编码"]: row for row in rows}
    assert by_code["DM-HMH-02"]["达到目标类别次数"] == "8" and by_code["DM-HMH-02"]["可评价采样次数"] == "10"
    assert by_code["DM-HMH-01"]["最近采样次数"] == "0" and by_code["DM-HMH-01"]["达到目标类别次数"] == "0"
    assert by_code["DM-HMH-GK"]["断面级别"] == "国控断面"
    assert 'href="/api/v1/sections.csv"' in page_main(client.get("/data"))


def test_the_map_has_a_sections_layer_and_legend(client, river):
    html = client.get("/").get_data(as_text=True)
    assert 'data-sections-url="/api/v1/sections.geojson"' in html
    assert "监测断面" in html.split('id="map-legend"', 1)[1]
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Monitoring sections" in english.split('id="map-legend"', 1)[1]


def test_the_section_pages_in_english_have_no_chinese_but_the_data(client, app):
    import re

    from babel.messages.pofile import read_po

    from portal.i18n import TRANSLATIONS_DIR

    water = make_water_body("Test River", code="TR", target_class="II")
    section = MonitoringSection(code="DM-TR-01", name="Test Section", level="cross_county", water_body=water,
                                latitude=52.0, longitude=123.5, note="Below the bridge")
    db.session.add(section)
    samples = [MonitoringSample(section=section, sampled_at=datetime(2026, 5, 1, 9, tzinfo=ZONE), parameter=p,
                                value=v, unit="mg/L") for p, v in (("COD", 30.0), ("SS", 5.0))]
    db.session.add_all(samples)
    standards.judge_all(samples, ZONE)
    db.session.add(MonitoringSection(code="DM-TR-02", name="Empty Section", level="district", water_body=water))
    db.session.commit()
    with (TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        quoted = {run for m in read_po(handle) if isinstance(m.string, str) for run in re.findall(
            "[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+", m.string)}
    for path in ("/sections/DM-TR-01", "/sections/DM-TR-02", "/sections"):
        # A standard's grade is data as the standard names it (GB 3838-2002 II类), like any name.
        main = re.sub(r"[IV]+类", "", page_main(client.get(path + "?lang=en")))
        left = set(re.findall("[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+", main)) - quoted
        assert not left, (path, left)
    main = page_main(client.get("/sections/DM-TR-01?lang=en"))
    assert "This section: met class II in 0 of the last 1 samplings." in main
    assert "did not meet class II; over the limit: COD" in main


def test_the_demo_has_sections_up_and_downstream_of_its_plants_judged_by_gb_3838(app, client, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "监测断面" in result.output
    demo = db.session.scalars(db.select(MonitoringSection)).all()
    assert demo and all(s.is_demo and s.outfall is not None for s in demo)
    assert {s.position for s in demo} == {"upstream", "downstream"}
    judged = [sample for s in demo for sample in s.samples]
    assert judged and all(sample.limit is not None and sample.limit.standard.code == "GB 3838-2002"
                          for sample in judged)
    downstream = next(s for s in demo if s.position == "downstream")
    main = page_main(client.get(f"/outfalls/{downstream.outfall.code}"))
    assert f'href="/sections/{downstream.code}"' in main and "下游 1.2 km 的断面" in main
    assert "演示" in page_main(client.get(f"/sections/{downstream.code}"))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0  # a second run adds nothing
    assert len(db.session.scalars(db.select(MonitoringSection)).all()) == len(demo)


def test_the_board_lists_many_sections_in_a_fixed_number_of_queries(client, app):
    from helpers import counted_statements

    counts = {}
    for number in (1, 8):
        water = make_water_body(f"测试河{number}", target_class="III")
        for index in range(number):
            section = MonitoringSection(code=f"DM-T{number}-{index}", name=f"断面{index}", level="district",
                                        water_body=water)
            db.session.add(section)
            samples = [MonitoringSample(section=section, sampled_at=datetime(2026, 5, 1, 9, tzinfo=ZONE),
                                        parameter="COD", value=12.0, unit="mg/L")]
            db.session.add_all(samples)
            standards.judge_all(samples, ZONE)
        db.session.commit()
        counts[number] = water.id
    statements = {}
    for number, water_id in counts.items():
        db.session.remove()
        with counted_statements() as statements[number]:
            main = page_main(client.get(f"/rivers/{water_id}"))
        assert main.count("在最近 1 次采样中 1 次达到 III 类") == number
    assert len(statements[8]) == len(statements[1])


def test_a_hostile_section_name_is_shown_as_text(client, river):
    section = db.session.scalar(db.select(MonitoringSection).where(MonitoringSection.code == "DM-HMH-02"))
    section.name = '<script>alert("断面")</script>'
    db.session.commit()
    for path in ("/outfalls/HZ-WS-001", "/sections/DM-HMH-02", f"/rivers/{river['huma'].id}", "/sections"):
        html = client.get(path).get_data(as_text=True)
        assert '<script>alert("断面")' not in html, path
        assert "&lt;script&gt;alert(" in html, path
    features = client.get("/api/v1/sections.geojson").get_json()["features"]
    assert any(f["properties"]["name"] == '<script>alert("断面")</script>' for f in features)  # data, as it is


def test_sections_geojson_answers_304_while_unchanged(client, river):
    first = client.get("/api/v1/sections.geojson")
    again = client.get("/api/v1/sections.geojson", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
