"""Monitoring downloads on /data: every result as CSV and XLSX — site, kind, time with +08:00, value or
<DL (never 0), unit, limit, standard, verdict, lab — with cells no spreadsheet runs as a formula."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from helpers import text_of
from portal.extensions import db
from sample_sites import EXAMPLES, make_example_sites


@pytest.fixture
def imported(app, runner):
    """The example sites with both example lab files imported."""
    make_example_sites()
    for name in ("samples-long.xlsx", "samples-wide.csv"):
        result = runner.invoke(args=["import-samples", str(Path(EXAMPLES) / name)])
        assert result.exit_code == 0, result.output
    db.session.remove()


def csv_rows(client) -> list[dict]:
    """The CSV download as dicts by header."""
    response = client.get("/api/v1/monitoring.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese headers
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_sheet(response):
    """The XLSX body's first sheet (the temporary file it was sent from closed)."""
    body = response.get_data()
    response.close()
    return load_workbook(io.BytesIO(body)).active


def test_the_csv_has_every_result_with_its_verdict(client, imported):
    rows = csv_rows(client)
    assert len(rows) == 16 + 36
    by_key = {(r["点位编码"], r["采样时间"], r["监测项目"]): r for r in rows}
    cold = by_key[("HZ-WS-001", "2026-11-20T09:30:00+08:00", "NH3-N")]
    assert (cold["点位类型"], cold["结果"], cold["单位"], cold["限值"], cold["执行标准"], cold["评价"]) == (
        "outfall", "6.5", "mg/L", "≤ 8（水温≤12℃）", "GB 18918-2002 一级A", "达标")
    assert cold["检测单位"] == "大兴安岭环境监测中心站" and cold["点位名称"] == "呼中镇污水处理厂排污口"
    assert by_key[("HZ-WS-001", "2026-09-10T09:30:00+08:00", "NH3-N")]["评价"] == "超标"
    nd = by_key[("HZ-WS-001", "2026-11-20T09:30:00+08:00", "TP")]
    assert (nd["结果"], nd["评价"]) == ("<0.01", "达标")
    section = by_key[("DM-HMH-01", "2026-11-20T10:15:00+08:00", "NH3-N")]
    assert (section["点位类型"], section["结果"], section["执行标准"]) == ("section", "<0.025", "GB 3838-2002 III类")
    flow = by_key[("HZ-WS-001", "2026-11-20T09:30:00+08:00", "流量")]
    assert (flow["结果"], flow["单位"], flow["限值"], flow["评价"]) == ("3200", "m³/d", "", "无适用限值")
    assert not any(r["结果"] in ("0", "0.0") for r in rows)
    assert "采样人" not in rows[0] and "陈静" not in str(rows)  # the sampler is a person: not published


def test_the_xlsx_has_the_same_rows_numbers_as_numbers(client, imported):
    response = client.get("/api/v1/monitoring.xlsx")
    assert response.status_code == 200
    rows = [tuple(row) for row in xlsx_sheet(response).iter_rows(values_only=True)]
    header = rows[0]
    assert header[:4] == ("点位编码", "点位类型", "点位名称", "采样时间") and len(rows) == 1 + 52
    found = {(r[0], r[3], r[4]): dict(zip(header, r)) for r in rows[1:]}
    assert found[("HZ-GY-001", "2026-09-15T10:00:00+08:00", "TP")]["结果"] == pytest.approx(0.38)
    assert found[("DM-HMH-GK", "2026-11-21T09:20:00+08:00", "TP")]["结果"] == "<0.01"


def test_formula_text_is_protected(client, app, runner, tmp_path):
    make_example_sites()
    path = tmp_path / "lab.csv"
    path.write_text("点位编码,采样时间,监测项目,监测结果,单位,检测单位\n"
                    "HZ-GY-001,2026-09-15 10:00,COD,86,mg/L,+cmd|' /C calc'!A0\n", encoding="utf-8")
    assert runner.invoke(args=["import-samples", str(path)]).exit_code == 0
    db.session.remove()
    assert csv_rows(client)[0]["检测单位"] == "'+cmd|' /C calc'!A0"
    sheet = xlsx_sheet(client.get("/api/v1/monitoring.xlsx"))
    cell = sheet.cell(row=2, column=11)
    assert cell.value == "+cmd|' /C calc'!A0" and cell.data_type == "s"


def test_the_data_page_links_the_downloads_and_explains_the_fields(client, app):
    page = client.get("/data")
    html = page.get_data(as_text=True)
    assert "/api/v1/monitoring.csv" in html and "/api/v1/monitoring.xlsx" in html
    assert "监测结果的字段" in text_of(page) and "评价" in text_of(page)


def test_an_empty_database_gives_a_header_only(client, app):
    assert csv_rows(client) == []
