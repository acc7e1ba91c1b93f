"""Importing a lab's results: both forms of the bureau's example files through the CLI, idempotent
re-import, corrections, and a refusal naming row and column for every kind of bad row."""
from __future__ import annotations

import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook
from sample_sites import EXAMPLES, make_example_sites
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import MonitoringSample
from portal.monitoring import lab_files
from portal.monitoring.results import OVER, WITHIN, verdict

BEIJING = timezone(timedelta(hours=8))
LONG = Path(EXAMPLES) / "samples-long.xlsx"
WIDE = Path(EXAMPLES) / "samples-wide.csv"
LONG_HEADER = "点位编码,采样时间,监测项目,监测结果,单位,检出限,采样人,检测单位"


@pytest.fixture
def sites(app):
    """The example outfalls and sections, committed."""
    return make_example_sites()


def samples(code: str | None = None) -> dict:
    """Stored results as {(site code, local time, parameter): sample}."""
    db.session.expire_all()
    found = {}
    for sample in db.session.scalars(select(MonitoringSample)):
        site = (sample.outfall or sample.section).code
        if code is None or site == code:
            found[(site, f"{sample.sampled_at.astimezone(BEIJING):%Y-%m-%d %H:%M}", sample.parameter)] = sample
    return found


def write_csv(tmp_path, lines, name="lab.csv"):
    """A CSV file as Excel saves "CSV UTF-8"."""
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode("utf-8-sig") + b"\r\n")
    return path


def refused(runner, path) -> str:
    """Run the import that must be refused; its message (and that nothing was written)."""
    before = db.session.scalar(select(func.count(MonitoringSample.id)))
    result = runner.invoke(args=["import-samples", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(MonitoringSample.id))) == before
    return result.output


def test_long_form_from_the_example_file(sites, runner):
    result = runner.invoke(args=["import-samples", str(LONG)])
    assert result.exit_code == 0, result.output
    assert "长表" in result.output and "新增 16 条" in result.output
    stored = samples()
    cod = stored[("HZ-GY-001", "2026-09-15 10:00", "COD")]
    assert (cod.value, cod.unit, cod.sampler, cod.lab) == (86, "mg/L", "刘洋", "大兴安岭环境监测中心站")
    assert cod.source == "化验结果导入 samples-long.xlsx"
    assert cod.limit.standard.code == "GB 8978-1996" and cod.limit.standard.grade == "一级"
    # 380 μg/L is stored as 0.38 mg/L, the unit the limits are written in.
    tp = stored[("HZ-GY-001", "2026-09-15 10:00", "TP")]
    assert (tp.value, tp.unit) == (pytest.approx(0.38), "mg/L")
    assert stored[("HZ-GY-001", "2026-09-15 10:00", "pH")].unit == ""
    # The plant at 8 ℃: GB 18918 一级A's cold NH3-N limit 8 applies, and 6.5 is within it.
    cold = stored[("HZ-WS-001", "2026-11-20 09:30", "NH3-N")]
    assert cold.limit.maximum == 8 and verdict(cold) == WITHIN
    # At 15 ℃ the plain limit 5 applies, and the same 6.5 exceeds it.
    warm = stored[("HZ-WS-001", "2026-09-10 09:30", "NH3-N")]
    assert warm.limit.maximum == 5 and verdict(warm) == OVER
    nd = stored[("HZ-WS-001", "2026-11-20 09:30", "TP")]
    assert (nd.value, nd.detection_limit, nd.below_detection) == (None, 0.01, True)
    assert nd.exceeds_limit is False  # 0.01 is within 0.5
    coliform = stored[("HZ-WS-001", "2026-11-20 09:30", "粪大肠菌群")]
    assert (coliform.value, coliform.unit) == (240, "个/L")
    flow = stored[("HZ-WS-001", "2026-11-20 09:30", "流量")]
    assert (flow.value, flow.unit, flow.limit) == (3200, "m³/d", None)
    assert stored[("HZ-WS-001", "2026-11-20 09:30", "水温")].unit == "℃"


def test_wide_form_from_the_example_file(sites, runner):
    result = runner.invoke(args=["import-samples", str(WIDE)])
    assert result.exit_code == 0, result.output
    assert "宽表" in result.output
    stored = samples()
    up = stored[("DM-HMH-01", "2026-11-20 10:15", "NH3-N")]
    assert (up.value, up.detection_limit) == (None, 0.025)  # written 0.025L
    assert up.limit.standard.code == "GB 3838-2002" and up.limit.standard.grade == "III类"
    gk_tp = stored[("DM-HMH-GK", "2026-11-21 09:20", "TP")]
    assert (gk_tp.value, gk_tp.detection_limit, gk_tp.unit) == (None, pytest.approx(0.01), "mg/L")  # ＜10 μg/L
    down_tp = stored[("DM-HMH-02", "2026-11-20 11:00", "TP")]
    assert down_tp.value == pytest.approx(0.15)
    assert stored[("DM-HMH-02", "2026-10-15 10:40", "粪大肠菌群")].value == 2400
    assert stored[("DM-HMH-GK", "2026-11-21 09:20", "pH")].value == 7.7
    assert "DM-HMH-02：新增 18" in result.output


def test_the_same_file_twice_changes_nothing(sites, runner):
    assert runner.invoke(args=["import-samples", str(LONG)]).exit_code == 0
    before = {key: (s.id, s.value, s.limit_id) for key, s in samples().items()}
    result = runner.invoke(args=["import-samples", str(LONG)])
    assert result.exit_code == 0, result.output
    assert "新增 0 条，已替换 0 条，未变 16 条" in result.output
    assert {key: (s.id, s.value, s.limit_id) for key, s in samples().items()} == before


def test_a_corrected_value_replaces_the_old_one_and_the_summary_says_so(sites, runner, tmp_path):
    first = write_csv(tmp_path, [LONG_HEADER, "HZ-GY-001,2026-09-15 10:00,COD,86,mg/L,,刘洋,监测站",
                                 "HZ-GY-001,2026-09-15 10:00,SS,42,mg/L,,刘洋,监测站"])
    assert runner.invoke(args=["import-samples", str(first)]).exit_code == 0
    corrected = write_csv(tmp_path, [LONG_HEADER, "HZ-GY-001,2026-09-15 10:00,COD,112,mg/L,,刘洋,监测站",
                                     "HZ-GY-001,2026-09-15 10:00,SS,42,mg/L,,刘洋,监测站"], name="lab2.csv")
    dry = runner.invoke(args=["import-samples", str(corrected), "--dry-run"])
    assert "将替换 1 条" in dry.output and "替换 HZ-GY-001 2026-09-15 10:00 COD：86 → 112 mg/L" in dry.output
    assert samples()[("HZ-GY-001", "2026-09-15 10:00", "COD")].value == 86  # a dry run writes nothing
    result = runner.invoke(args=["import-samples", str(corrected)])
    assert "已替换 1 条" in result.output and "86 → 112" in result.output
    stored = samples()
    assert len(stored) == 2
    cod = stored[("HZ-GY-001", "2026-09-15 10:00", "COD")]
    assert cod.value == 112 and verdict(cod) == OVER and cod.source == "化验结果导入 lab2.csv"


def test_dry_run_reports_and_writes_nothing(sites, runner):
    result = runner.invoke(args=["import-samples", str(WIDE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "将新增" in result.output and "试导入" in result.output
    assert samples() == {}


def test_units_in_a_units_row_under_the_header(sites, runner, tmp_path):
    path = write_csv(tmp_path, ["点位编码,采样时间,化学需氧量,总磷,粪大肠菌群,流量",
                                "单位,,mg/L,ug/L,个/100mL,m³/h",
                                "HZ-WS-001,2026-11-01 09:00,40,200,50,100"])
    result = runner.invoke(args=["import-samples", str(path)])
    assert result.exit_code == 0, result.output
    stored = samples()
    assert stored[("HZ-WS-001", "2026-11-01 09:00", "TP")].value == pytest.approx(0.2)
    assert stored[("HZ-WS-001", "2026-11-01 09:00", "粪大肠菌群")].value == 500
    assert stored[("HZ-WS-001", "2026-11-01 09:00", "流量")].value == 2400


def test_merged_site_and_time_cells_in_a_workbook(sites, runner, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["点位编码", "采样时间", "监测项目", "结果(mg/L)"])
    sheet.append(["HZ-GY-001", datetime(2026, 10, 1, 9), "COD", 50])
    sheet.append([None, None, "氨氮", "<0.05"])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    workbook.save(tmp_path / "merged.xlsx")
    result = runner.invoke(args=["import-samples", str(tmp_path / "merged.xlsx")])
    assert result.exit_code == 0, result.output
    nh3 = samples()[("HZ-GY-001", "2026-10-01 09:00", "NH3-N")]
    assert (nh3.value, nh3.detection_limit) == (None, 0.05)


@pytest.mark.parametrize(("line", "message"), [
    ("HZ-XX-999,2026-09-15 10:00,COD,86,mg/L,,,", "第 2 行「点位编码」：未知的点位“HZ-XX-999”"),
    ("HZ-GY-001,2026-13-45,COD,86,mg/L,,,", "第 2 行「采样时间」：“2026-13-45”不是有效的采样时间"),
    ("HZ-GY-001,昨天上午,COD,86,mg/L,,,", "第 2 行「采样时间」："),
    ("HZ-GY-001,2099-01-01 10:00,COD,86,mg/L,,,", "第 2 行「采样时间」：采样时间 2099-01-01 10:00 在未来"),
    ("HZ-GY-001,2026-09-15 10:00,总汞,86,mg/L,,,", "第 2 行「监测项目」：未知的监测项目“总汞”"),
    ("HZ-GY-001,2026-09-15 10:00,COD,86,g/L,,,", "第 2 行「单位」：单位“g/L”不适用于化学需氧量"),
    ("HZ-GY-001,2026-09-15 10:00,COD,八十六,mg/L,,,", "第 2 行「监测结果」：“八十六”不是监测结果"),
    ("HZ-GY-001,2026-09-15 10:00,COD,ND,mg/L,,,", "第 2 行「监测结果」：“ND”为未检出，但没有给出检出限"),
    ("HZ-GY-001,2026-09-15 10:00,COD,-3,mg/L,,,", "第 2 行「监测结果」：结果“-3”为负数"),
    ("HZ-GY-001,2026-09-15 10:00,pH值,15.2,,,,", "第 2 行「监测结果」：pH 应在 0–14 之间"),
    ("HZ-GY-001,2026-09-15 10:00,COD,=1+1,mg/L,,,", "第 2 行「监测结果」：单元格含公式"),
    ("HZ-GY-001,2026-09-15 10:00,COD,ND,mg/L,零点零五,,", "第 2 行「检出限」："),
])
def test_each_kind_of_bad_row_is_refused_with_row_and_column(sites, runner, tmp_path, line, message):
    path = write_csv(tmp_path, [LONG_HEADER, line, "HZ-GY-001,2026-09-15 10:00,SS,42,mg/L,,,"])
    output = refused(runner, path)
    assert message in output
    assert "数据库未作任何更改" in output


def test_a_result_repeated_with_another_value_is_refused(sites, runner, tmp_path):
    path = write_csv(tmp_path, [LONG_HEADER, "HZ-GY-001,2026-09-15 10:00,COD,86,mg/L,,,",
                                "HZ-GY-001,2026-09-15 10:00,化学需氧量,90,mg/L,,,",
                                "HZ-GY-001,2026-09-15 10:00,CODcr,86,mg/L,,,"])
    output = refused(runner, path)
    assert "第 3 行「监测结果」：与第 2 行重复（同一点位、采样时间和项目），但结果不同：86 与 90" in output
    assert "第 4 行" not in output  # the same value again is no conflict


def test_wide_form_refusals_name_the_parameter_column(sites, runner, tmp_path):
    path = write_csv(tmp_path, ["断面编码,采样日期,COD(mg/L),氨氮(mg/L),总汞(mg/L)",
                                "DM-HMH-01,2026-11-20,12,0.3,"])
    assert "第 1 行「总汞(mg/L)」：未知的监测项目“总汞”" in refused(runner, path)
    path = write_csv(tmp_path, ["断面编码,采样日期,COD,氨氮(mg/L)", "DM-HMH-01,2026-11-20,12,0.3"], name="b.csv")
    assert "第 1 行「COD」：没有单位" in refused(runner, path)
    path = write_csv(tmp_path, ["断面编码,采样日期,COD(mg/L),氨氮(mg/L)", "DM-HMH-01,2026-11-20,12,ND"], name="c.csv")
    assert "第 2 行「氨氮(mg/L)」：“ND”为未检出，但没有给出检出限" in refused(runner, path)


def test_errors_of_several_rows_are_all_listed(sites, runner, tmp_path):
    path = write_csv(tmp_path, ["呼中区监测结果", LONG_HEADER, "HZ-GY-001,2026-09-15 10:00,COD,86,mg/L,,,",
                                "NOPE,2026-09-15 10:00,COD,86,mg/L,,,", "HZ-GY-001,2026-09-15 10:00,BOD5,abc,mg/L,,,"])
    output = refused(runner, path)
    assert "发现 2 处错误" in output and "第 4 行「点位编码」" in output and "第 5 行「监测结果」" in output


def test_crafted_files_are_refused_cleanly(sites, runner, tmp_path, monkeypatch):
    not_a_sheet = tmp_path / "results.xlsx"
    not_a_sheet.write_bytes(b"%PDF-1.4 not a workbook")
    assert "无法读取此 Excel 文件" in refused(runner, not_a_sheet)
    exe = tmp_path / "results.exe"
    exe.write_bytes(b"MZ")
    assert "不支持 .exe 文件" in refused(runner, exe)
    monkeypatch.setattr(lab_files, "MAX_BYTES", 1000)
    huge = write_csv(tmp_path, [LONG_HEADER] + ["HZ-GY-001,2026-09-15 10:00,COD,86,mg/L,,,"] * 100, name="huge.csv")
    assert "文件过大" in refused(runner, huge)
    monkeypatch.setattr(lab_files, "MAX_BYTES", 10 * 1024 * 1024)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (301 * 1024 * 1024))
    assert "压缩炸弹" in refused(runner, bomb)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["点位编码", "采样时间", "监测项目", "结果", "单位", "采样人"])
    sheet.append(["HZ-GY-001", "2026-09-15 10:00", "COD", "=SUM(1,2)", "mg/L", '=HYPERLINK("http://x","y")'])
    workbook.save(tmp_path / "formula.xlsx")
    output = refused(runner, tmp_path / "formula.xlsx")
    assert "第 2 行「结果」：单元格含公式" in output and "第 2 行「采样人」：单元格含公式" in output
    no_header = write_csv(tmp_path, ["a,b,c", "1,2,3"], name="plain.csv")
    assert "找不到表头" in refused(runner, no_header)


def test_a_file_named_in_odd_bytes_is_still_reported(sites, runner, tmp_path):
    path = tmp_path / "化验 结果.csv"
    shutil.copy(WIDE, path)
    result = runner.invoke(args=["import-samples", str(path)])
    assert result.exit_code == 0 and "化验 结果.csv" in result.output


def test_non_detects_on_the_public_page_are_never_zero_nor_over(sites, runner, client, tmp_path):
    assert runner.invoke(args=["import-samples", str(LONG)]).exit_code == 0
    # A non-detect whose detection limit (60) is above the limit (50) cannot be judged.
    path = write_csv(tmp_path, [LONG_HEADER, "HZ-WS-001,2026-10-05 09:30,COD,<60,mg/L,,陈静,监测站"])
    assert runner.invoke(args=["import-samples", str(path)]).exit_code == 0
    db.session.remove()
    html = client.get("/outfalls/HZ-WS-001").get_data(as_text=True)
    assert "未检出（&lt;0.01）" in html and "未检出（&lt;60）" in html
    assert "无法判定" in html
    # Drawn as hollow marks at their detection limits, never as zero.
    assert 'data-state="non_detect" data-value="0.01"' in html and 'data-state="non_detect" data-value="60"' in html
    assert 'data-state="over" data-value="60"' not in html
    # The matrix: TP's non-detect within 0.5 is 达标; COD on 5 October cannot be judged.
    from helpers import parse
    rows = parse(client.get("/outfalls/HZ-WS-001")).rows
    tp = next(row for row in rows if row and row[0].startswith("TP"))
    assert any("未检出" in cell and "达标" in cell for cell in tp)
    cod = next(row for row in rows if row and row[0].startswith("COD") and "限值" in row[0])
    assert any("未检出" in cell and "无法判定" in cell for cell in cod)
    assert not any("未检出" in cell and "超标" in cell for row in rows for cell in row)
    # The sampler is a person: masked; the lab is shown.
    assert "陈*" in html and "陈静" not in html and "大兴安岭环境监测中心站" in html


def test_a_wide_workbook_with_a_two_row_header_and_the_labs_own_columns(sites, runner, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["呼中区地表水监测报告"])
    sheet.append(["序号", "断面名称", "断面编码", "采样日期", "监测结果", None, None, "评价", "COD限值(mg/L)"])
    sheet.append([None, None, None, None, "化学需氧量（mg/L）", "氨氮(NH3-N)(mg/L)", "总磷(TP)(mg/L)", None, None])
    sheet.append([1, "呼玛河呼中镇上游断面", "dm-hmh-01", datetime(2026, 11, 20), 12, "—", "<0.01", "达标", 20])
    sheet.merge_cells("E2:G2")
    for column in "ABCD":
        sheet.merge_cells(f"{column}2:{column}3")
    workbook.save(tmp_path / "two-rows.xlsx")
    result = runner.invoke(args=["import-samples", str(tmp_path / "two-rows.xlsx")])
    assert result.exit_code == 0, result.output
    stored = samples()
    assert set(stored) == {("DM-HMH-01", "2026-11-20 00:00", "COD"), ("DM-HMH-01", "2026-11-20 00:00", "TP")}
    assert stored[("DM-HMH-01", "2026-11-20 00:00", "TP")].detection_limit == 0.01
    assert "评价" in result.output and "COD限值(mg/L)" in result.output  # read past, and said so


def test_a_long_file_with_site_names_and_units_in_the_parameter(sites, runner, tmp_path):
    path = write_csv(tmp_path, ["监测点位,采样日期,采样时间,检测项目,检测值,执行标准,是否达标,备注",
                                "呼中镇林产品加工厂排污口,2026/9/15,10:00,化学需氧量(mg/L),86,GB 8978-1996,是,",
                                "呼中镇林产品加工厂排污口,2026/9/15,10:00,pH值,7.4,GB 8978-1996,是,",
                                "呼中镇林产品加工厂排污口,2026/9/15,10:00,氨氮（以N计）(mg/L),未检出(<0.025),,,"])
    result = runner.invoke(args=["import-samples", str(path)])
    assert result.exit_code == 0, result.output
    stored = samples("HZ-GY-001")
    assert stored[("HZ-GY-001", "2026-09-15 10:00", "COD")].value == 86
    assert stored[("HZ-GY-001", "2026-09-15 10:00", "NH3-N")].detection_limit == 0.025


def test_a_first_result_at_an_outfall_moves_it_into_monitoring_with_the_reason(app, runner, tmp_path):
    from factories import make_outfall

    from portal.models import Outfall

    make_outfall("HZ-NEW", plan=None, stage="survey")
    db.session.commit()
    path = write_csv(tmp_path, [LONG_HEADER, "HZ-NEW,2026-11-20 10:00,COD,42,mg/L,,陈静,大兴安岭环境监测中心站"])

    result = runner.invoke(args=["import-samples", str(path)])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    outfall = db.session.scalar(select(Outfall).where(Outfall.code == "HZ-NEW"))
    assert outfall.stage == "monitoring"
    moved = [event for event in outfall.events if event.field == "stage"]
    assert [(event.old_value, event.new_value) for event in moved] == [("survey", "monitoring")]
    assert moved[0].reason == "已有排污口监测结果"
