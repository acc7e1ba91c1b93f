"""Importing the bureau's monitoring sections (断面) and what the pages ask of them: the example file
through the CLI (and the back office in tests/admin), every kind of bad row refused by row and
column with nothing written, re-import changing nothing, and the compliance summary ("8 of 10")."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from factories import make_outfall, make_town, make_water_body
from portal.extensions import db
from portal.models import MonitoringSample, MonitoringSection
from portal.monitoring import sections, standards

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bureau" / "sections.csv"
ZONE = ZoneInfo("Asia/Shanghai")
HEADER = "断面编码,断面名称,断面级别,所在水体,经度,纬度,目标水质类别,关联排污口编码,上下游,备注"


@pytest.fixture
def places(app):
    """The waters and the outfall the example file names, as the bureau's other files give them."""
    huma = make_water_body("呼玛河", code="HMH", target_class="III")
    bishui = make_water_body("碧水河", code="BSH", target_class="II")
    plant = make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", town=make_town("呼中镇"), water_body=huma,
                         outfall_type="municipal_wwtp", outfall_subtype="municipal_wwtp",
                         latitude=52.0330, longitude=123.5880)
    db.session.commit()
    return {"huma": huma, "bishui": bishui, "plant": plant}


def count_sections() -> int:
    """How many sections the database holds."""
    return db.session.scalar(select(func.count()).select_from(MonitoringSection))


def write_csv(tmp_path, *rows, header=HEADER, name="sections.csv") -> Path:
    """A sections CSV with the usual header and these rows (row 2 is the first)."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_the_example_file_imports_through_the_cli(runner, places):
    result = runner.invoke(args=["import-sections", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "已新增 4 个" in result.output
    found = {s.code: s for s in db.session.scalars(select(MonitoringSection))}
    assert set(found) == {"DM-HMH-01", "DM-HMH-02", "DM-HMH-GK", "DM-BSH-01"}
    upstream, downstream, national, bishui = (found[c] for c in ("DM-HMH-01", "DM-HMH-02", "DM-HMH-GK", "DM-BSH-01"))
    assert (upstream.outfall.code, upstream.position, upstream.level) == ("HZ-WS-001", "upstream", "outfall")
    assert (downstream.outfall.code, downstream.position) == ("HZ-WS-001", "downstream")
    assert upstream.target_class is None and upstream.judged_class == "III"  # the water's class
    assert national.level == "national" and national.water_body.name == "呼玛河"  # named by the water's code
    assert national.longitude == pytest.approx(123.765) and national.latitude == pytest.approx(52.015)  # 度分秒
    assert bishui.judged_class == "II" and bishui.level == "district"
    assert all(s.source == "断面导入 sections.csv" for s in found.values())


def test_re_importing_changes_nothing_and_a_changed_row_is_reported(runner, places, tmp_path):
    assert runner.invoke(args=["import-sections", str(EXAMPLE)]).exit_code == 0
    again = runner.invoke(args=["import-sections", str(EXAMPLE)])
    assert again.exit_code == 0
    assert "已新增 0 个，已修改 0 个，无变化 4 个" in again.output
    changed = tmp_path / "sections.csv"
    shutil.copy(EXAMPLE, changed)
    text = changed.read_text(encoding="utf-8-sig").replace("呼玛河呼中镇下游断面", "呼玛河呼中镇下游控制断面")
    changed.write_text(text.replace("123.483000,51.987000,Ⅱ类", "123.483000,51.987000,III"), encoding="utf-8")
    result = runner.invoke(args=["import-sections", str(changed)])
    assert result.exit_code == 0, result.output
    assert "已修改 2 个" in result.output
    assert "修改 DM-HMH-02：断面名称 呼玛河呼中镇下游断面 → 呼玛河呼中镇下游控制断面" in result.output
    assert "修改 DM-BSH-01：目标水质类别 II → III" in result.output
    assert sections.section_by_code("DM-BSH-01").judged_class == "III"
    assert count_sections() == 4


def test_a_dry_run_reports_and_writes_nothing(runner, places):
    result = runner.invoke(args=["import-sections", "--dry-run", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "将新增 4 个" in result.output and "试运行" in result.output
    assert count_sections() == 0


ROW = "DM-X-01,测试断面,区控,呼玛河,123.59,52.03,III,,,"
BAD_ROWS = {
    "unknown level": ("DM-X-01,测试断面,乡控,呼玛河,123.59,52.03,III,,,", "断面级别", "不是断面级别"),
    "unknown water": ("DM-X-01,测试断面,区控,呼玛湖,123.59,52.03,III,,,", "所在水体", "请先导入水体"),
    "unknown outfall": ("DM-X-01,测试断面,区控,呼玛河,123.59,52.03,III,HZ-XX-999,下游,", "关联排污口编码",
                        "没有编码为“HZ-XX-999”的排污口"),
    "outfall without position": ("DM-X-01,测试断面,区控,呼玛河,123.59,52.03,III,HZ-WS-001,,", "上下游",
                                 "两项须同时填写"),
    "position without outfall": ("DM-X-01,测试断面,区控,呼玛河,123.59,52.03,III,,下游,", "关联排污口编码",
                                 "两项须同时填写"),
    "unknown position": ("DM-X-01,测试断面,区控,呼玛河,123.59,52.03,III,HZ-WS-001,旁边,", "上下游", "不是上下游位置"),
    "longitude without latitude": ("DM-X-01,测试断面,区控,呼玛河,123.59,,III,,,", "纬度", "同时填写"),
    "bad longitude": ("DM-X-01,测试断面,区控,呼玛河,东经一百二十三度,52.03,III,,,", "经度", "不是有效的经度"),
    "latitude out of range": ("DM-X-01,测试断面,区控,呼玛河,52.03,123.59,III,,,", "纬度", "超出范围"),
    "bad class": ("DM-X-01,测试断面,区控,呼玛河,123.59,52.03,VI,,,", "目标水质类别", "不是地表水水质类别"),
    "missing code": (",测试断面,区控,呼玛河,123.59,52.03,III,,,", "断面编码", "必填"),
    "bad code": ("DM X/01,测试断面,区控,呼玛河,123.59,52.03,III,,,", "断面编码", "斜杠"),
    "missing name": ("DM-X-01,,区控,呼玛河,123.59,52.03,III,,,", "断面名称", "必填"),
    "missing water": ("DM-X-01,测试断面,区控,,123.59,52.03,III,,,", "所在水体", "必填"),
}


@pytest.mark.parametrize("kind", sorted(BAD_ROWS))
def test_each_kind_of_bad_row_is_refused_by_row_and_column(runner, places, tmp_path, kind):
    row, column, message = BAD_ROWS[kind]
    good = "DM-Y-01,另一断面,区控,碧水河,123.48,51.98,,,,"
    path = write_csv(tmp_path, good, row)
    result = runner.invoke(args=["import-sections", str(path)])
    assert result.exit_code == 1, result.output
    assert f"第 3 行「{column}」" in result.output, result.output
    assert message in result.output
    assert "数据库未作任何更改" in result.output
    assert count_sections() == 0  # the good row was not written either


def test_a_code_twice_in_the_file_names_both_rows(runner, places, tmp_path):
    path = write_csv(tmp_path, ROW, ROW.replace("测试断面", "重复断面"))
    result = runner.invoke(args=["import-sections", str(path)])
    assert result.exit_code == 1
    assert "第 3 行「断面编码」：断面编码“DM-X-01”与第 2 行重复" in result.output
    assert count_sections() == 0


def test_a_file_without_a_required_column_or_header_is_refused_whole(runner, places, tmp_path):
    no_water = write_csv(tmp_path, "DM-X-01,测试断面,区控", header="断面编码,断面名称,断面级别")
    result = runner.invoke(args=["import-sections", str(no_water)])
    assert result.exit_code == 1 and "缺少必需的列：所在水体" in result.output
    not_sections = write_csv(tmp_path, "1,2", header="甲,乙", name="other.csv")
    result = runner.invoke(args=["import-sections", str(not_sections)])
    assert result.exit_code == 1 and "找不到表头" in result.output
    word = tmp_path / "sections.doc"
    word.write_bytes(b"\xd0\xcf\x11\xe0")
    result = runner.invoke(args=["import-sections", str(word)])
    assert result.exit_code == 1 and "不支持 .doc 文件" in result.output
    assert count_sections() == 0


def test_an_xlsx_with_a_title_row_imports_like_the_csv(runner, places, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["呼中区监测断面"])
    sheet.append(HEADER.split(","))
    sheet.append(["DM-HMH-02", "呼玛河呼中镇下游断面", "上下游断面", "HMH", 123.6055, 52.033, "Ⅲ", "HZ-WS-001", "下游", None])
    path = tmp_path / "sections.xlsx"
    workbook.save(path)
    result = runner.invoke(args=["import-sections", str(path)])
    assert result.exit_code == 0, result.output
    section = sections.section_by_code("DM-HMH-02")
    assert (section.level, section.target_class, section.position) == ("outfall", "III", "downstream")


# --- queries --------------------------------------------------------------------------------------


def make_section(code="DM-HMH-02", water=None, **fields) -> MonitoringSection:
    """A section on ``water`` (flushed, not committed)."""
    section = MonitoringSection(code=code, name=fields.pop("name", f"{code} 断面"), water_body=water, **fields)
    db.session.add(section)
    db.session.flush()
    return section


def sample_section(section, day, values: dict[str, float]) -> list[MonitoringSample]:
    """One sampling of the section at 10:00 local time on ``day``, judged by the one rule."""
    samples = [MonitoringSample(section=section, sampled_at=datetime(day.year, day.month, day.day, 10, tzinfo=ZONE),
                                parameter=parameter, value=value, unit="mg/L") for parameter, value in values.items()]
    db.session.add_all(samples)
    standards.judge_all(samples, ZONE)
    db.session.flush()
    return samples


def test_compliance_counts_samplings_that_met_the_class(app, places):
    section = make_section(water=places["huma"])
    start = datetime(2026, 1, 5)
    for month in range(10):
        ammonia = 1.6 if month in (3, 7) else 0.4  # class III allows 1.0 mg/L NH3-N
        sample_section(section, start + timedelta(days=30 * month), {"COD": 12.0, "NH3-N": ammonia, "SS": 9.0})
    db.session.commit()
    summary = sections.compliance(section, ZONE, last=sections.RECENT_SAMPLINGS)
    assert summary.water_class == "III"
    assert (summary.met, len(summary.judged), summary.total_samplings) == (8, 10, 10)
    failed = [s for s in summary.samplings if not s.met]
    assert [s.failed_parameters for s in failed] == [["NH3-N"], ["NH3-N"]]
    assert summary.latest.at == datetime(2026, 10, 2, 10, tzinfo=ZONE) and summary.latest.met
    # The last few only: the latest 3 samplings hold one failure (month 7).
    assert (sections.compliance(section, ZONE, last=3).met, len(sections.compliance(section, ZONE, last=3).judged)) == (2, 3)


def test_a_section_without_samples_or_limits_has_no_verdict(app, places):
    empty = make_section("DM-EMPTY", water=places["huma"])
    unjudged = make_section("DM-SS", water=places["huma"])
    sample_section(unjudged, datetime(2026, 3, 1), {"SS": 20.0})  # GB 3838 sets no SS limit
    nowhere = make_section("DM-NOCLASS", water=None)
    sample_section(nowhere, datetime(2026, 3, 1), {"COD": 50.0})
    assert not sections.compliance(empty, ZONE).has_samples
    for section in (unjudged, nowhere):
        summary = sections.compliance(section, ZONE)
        assert summary.has_samples and summary.judged == [] and summary.met == 0
        assert not summary.latest.met


def test_sections_near_an_outfall_with_distance_and_position(app, places):
    section_rows = {
        "DM-HMH-01": dict(latitude=52.0330, longitude=123.5792, outfall=places["plant"], position="upstream"),
        "DM-HMH-02": dict(latitude=52.0330, longitude=123.6055, outfall=places["plant"], position="downstream"),
        "DM-HMH-NEAR": dict(latitude=52.0400, longitude=123.5880),  # same water, 0.8 km, not linked
        "DM-HMH-FAR": dict(latitude=52.2000, longitude=123.5880),  # same water, 18 km
    }
    for code, fields in section_rows.items():
        make_section(code, water=places["huma"], **fields)
    make_section("DM-BSH-01", water=places["bishui"], latitude=52.0331, longitude=123.5881)  # another water
    db.session.commit()
    nearby = sections.sections_near_outfall(places["plant"])
    assert [(n.section.code, n.position, n.linked) for n in nearby] == [
        ("DM-HMH-01", "upstream", True), ("DM-HMH-02", "downstream", True), ("DM-HMH-NEAR", None, False)]
    assert [round(n.distance_km, 1) for n in nearby] == [0.6, 1.2, 0.8]
    assert [s.code for s in sections.sections_of_water(places["huma"])] == [
        "DM-HMH-01", "DM-HMH-02", "DM-HMH-FAR", "DM-HMH-NEAR"]


def test_haversine_distance():
    # One degree of latitude is about 111.2 km anywhere.
    assert sections.distance_km(52.0, 123.5, 53.0, 123.5) == pytest.approx(111.2, abs=0.1)
    assert sections.distance_km(52.0, 123.5, 52.0, 123.5) == 0


def test_a_changed_class_judges_the_sections_samples_again(runner, places, tmp_path):
    path = write_csv(tmp_path, "DM-X-01,测试断面,区控,呼玛河,123.59,52.03,,,,")
    assert runner.invoke(args=["import-sections", str(path)]).exit_code == 0
    section = sections.section_by_code("DM-X-01")
    sample_section(section, datetime(2026, 3, 1), {"NH3-N": 0.8})
    db.session.commit()
    assert sections.compliance(section, ZONE).met == 1  # within class III's 1.0
    stricter = write_csv(tmp_path, "DM-X-01,测试断面,区控,呼玛河,123.59,52.03,II,,,", name="stricter.csv")
    result = runner.invoke(args=["import-sections", str(stricter)])
    assert result.exit_code == 0, result.output
    assert "重新评价 1 条监测数据" in result.output
    db.session.expire_all()
    section = sections.section_by_code("DM-X-01")
    assert sections.compliance(section, ZONE).met == 0  # over class II's 0.5
    assert section.samples[0].limit.standard.grade == "II类"


def test_the_bureaus_files_fit_together_with_the_sections(runner, client):
    """Towns, waters, ledger, sections and a lab's file, each through its command, as the README loads them."""
    bureau = EXAMPLE.parent
    for command, name in (("import-areas", "towns.geojson"), ("import-waters", "waters.geojson"),
                          ("import-ledger", "ledger.csv"), ("import-sections", "sections.csv"),
                          ("import-samples", "samples-wide.csv")):
        result = runner.invoke(args=[command, str(bureau / name)])
        assert result.exit_code == 0, (command, result.output)
    downstream = sections.section_by_code("DM-HMH-02")
    assert downstream.outfall.code == "HZ-WS-001" and downstream.samples
    html = client.get("/outfalls/HZ-WS-001").get_data(as_text=True)
    assert '下游 1.2 km 的断面 <a href="/sections/DM-HMH-02">DM-HMH-02（呼玛河呼中镇下游断面）</a>' in html
    assert '上游 0.6 km 的断面 <a href="/sections/DM-HMH-01">' in html


def test_a_waters_new_class_judges_its_sections_again(app, places):
    section = make_section("DM-HMH-X", water=places["huma"])  # takes the water's class III
    own = make_section("DM-HMH-Y", water=places["huma"], target_class="III")
    for each in (section, own):
        sample_section(each, datetime(2026, 3, 1), {"NH3-N": 0.8})
    db.session.commit()
    places["huma"].target_class = "II"
    assert sections.rejudge_sections_of(places["huma"]) == 1
    db.session.commit()
    assert sections.compliance(section, ZONE).met == 0 and sections.compliance(own, ZONE).met == 1


def test_importing_waters_with_a_new_class_judges_the_sections_again(runner, places, tmp_path):
    bureau = EXAMPLE.parent
    assert runner.invoke(args=["import-waters", str(bureau / "waters.geojson")]).exit_code == 0
    section = make_section("DM-HMH-X", water=places["huma"])
    sample_section(section, datetime(2026, 3, 1), {"NH3-N": 0.8})  # within III, over II
    db.session.commit()
    collection = json.loads((bureau / "waters.geojson").read_text(encoding="utf-8"))
    huma = next(f for f in collection["features"] if f["properties"]["编码"] == "HMH")
    huma["properties"]["目标水质"] = "II"
    stricter = tmp_path / "waters.geojson"
    stricter.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["import-waters", str(stricter)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    section = sections.section_by_code("DM-HMH-X")
    assert section.judged_class == "II" and sections.compliance(section, ZONE).met == 0
