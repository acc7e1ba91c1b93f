"""Monitoring in the back office: a lab's file uploaded (dry run, then import) with the CLI's importer,
and one result entered on an outfall's archive page; refusals by row and column, never a server error."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpers import text_of as page_text
from portal.extensions import db
from portal.models import AuditEntry, MonitoringSample
from sample_sites import EXAMPLES, make_example_sites

LONG = Path(EXAMPLES) / "samples-long.xlsx"
WIDE = Path(EXAMPLES) / "samples-wide.csv"


@pytest.fixture
def sites(app):
    """The example outfalls and sections, committed."""
    return make_example_sites()


def count() -> int:
    """How many results are stored."""
    db.session.expire_all()
    return db.session.scalar(select(func.count(MonitoringSample.id)))


def upload(client, path: Path, button: str = "dry_run", content: bytes | None = None):
    """Post a file to the upload page with one of its two buttons."""
    data = {"samples": (io.BytesIO(content if content is not None else path.read_bytes()), path.name),
            button: "1"}
    return client.post("/admin/monitoring/import", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(("path", "added"), [(LONG, 16), (WIDE, 36)])
def test_both_forms_dry_run_then_import_then_again(client, sites, make_account, sign_in, path, added):
    sign_in(client, make_account("admin"))
    assert "监测数据" in client.get("/admin/").get_data(as_text=True)
    dry = upload(client, path)
    assert dry.status_code == 200
    assert f"将新增 {added} 条" in page_text(dry) and count() == 0
    done = upload(client, path, "submit")
    assert done.status_code == 200 and f"已新增 {added} 条" in page_text(done)
    assert count() == added
    again = upload(client, path, "submit")
    assert f"已新增 0 条，已替换 0 条，未变 {added} 条" in page_text(again) and count() == added
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "samples_imported")) == 2


def test_a_correction_is_shown_as_replaced(client, sites, make_account, sign_in, tmp_path):
    sign_in(client, make_account("admin"))
    header = "点位编码,采样时间,监测项目,监测结果,单位"
    first = (header + "\nHZ-GY-001,2026-09-15 10:00,COD,86,mg/L\n").encode()
    upload(client, tmp_path / "a.csv", "submit", first)
    second = (header + "\nHZ-GY-001,2026-09-15 10:00,COD,90,mg/L\n").encode()
    corrected = upload(client, tmp_path / "b.csv", "dry_run", second)
    text = page_text(corrected)
    assert "将替换 1 条" in text and "HZ-GY-001 2026-09-15 10:00 COD：86 → 90 mg/L" in text


def test_bad_rows_are_listed_by_row_and_column_and_nothing_is_written(client, sites, make_account, sign_in, tmp_path):
    sign_in(client, make_account("admin"))
    content = "点位编码,采样时间,监测项目,监测结果,单位\nHZ-GY-001,2026-09-15 10:00,COD,86,mg/L\nHZ-NOPE,2026-09-15,COD,1,mg/L\n"
    response = upload(client, tmp_path / "bad.csv", "submit", content.encode())
    assert response.status_code == 422
    assert "第 3 行「点位编码」：未知的点位“HZ-NOPE”" in page_text(response) and count() == 0


@pytest.mark.parametrize(("name", "content", "message"), [
    ("results.xlsx", b"not a workbook at all", "无法读取此 Excel 文件"),
    ("results.pdf", b"%PDF-1.4", "不支持 .pdf 文件"),
    ("empty.csv", b"", "文件是空的"),
])
def test_a_crafted_file_is_refused_cleanly(client, sites, make_account, sign_in, tmp_path, name, content, message):
    sign_in(client, make_account("admin"))
    response = upload(client, tmp_path / name, "submit", content)
    assert response.status_code == 422 and message in page_text(response)


def test_no_file_is_a_form_error(client, sites, make_account, sign_in):
    sign_in(client, make_account("admin"))
    response = client.post("/admin/monitoring/import", data={"dry_run": "1"})
    assert response.status_code == 422 and "请选择化验结果文件" in page_text(response)


def test_a_town_officer_may_not_upload(client, sites, make_account, sign_in):
    sign_in(client, make_account("town"))
    assert client.get("/admin/monitoring/import").status_code == 403
    assert "监测数据" not in client.get("/admin/").get_data(as_text=True)


def test_one_result_entered_on_the_archive_page(client, sites, make_account, sign_in):
    sign_in(client, make_account("admin"))
    page = client.get("/admin/outfalls/HZ-WS-001")
    assert "录入一条监测结果" in page_text(page)
    response = client.post("/admin/outfalls/HZ-WS-001/monitoring", data={
        "parameter": "TP", "sampled_at": "2026-11-25T09:30", "value": "ND", "detection_limit": "10",
        "unit": "μg/L", "sampler": "陈静", "lab": "大兴安岭环境监测中心站"})
    assert response.status_code == 302
    sample = db.session.scalar(select(MonitoringSample))
    assert (sample.value, sample.detection_limit, sample.unit, sample.source) == (None, 0.01, "mg/L", "后台录入")
    assert sample.limit is not None and sample.exceeds_limit is False
    archive = client.get("/admin/outfalls/HZ-WS-001").get_data(as_text=True)
    assert "未检出（&lt;0.01）" in archive and "陈静" in archive


@pytest.mark.parametrize(("field", "value", "message"), [
    ("value", "abc", "“abc”不是监测结果"), ("value", "ND", "没有给出检出限"), ("unit", "g/L", "单位“g/L”不适用于"),
    ("sampled_at", "someday", "不是采样时间"), ("value", "-1", "为负数"),
])
def test_a_bad_entry_is_refused_on_its_field(client, sites, make_account, sign_in, field, value, message):
    sign_in(client, make_account("admin"))
    data = {"parameter": "COD", "sampled_at": "2026-11-25T09:30", "value": "30", "unit": "mg/L"}
    data[field] = value
    response = client.post("/admin/outfalls/HZ-WS-001/monitoring", data=data)
    assert response.status_code == 422 and message in page_text(response)
    assert count() == 0


def test_a_town_officer_cannot_enter_results(client, sites, make_account, sign_in):
    sign_in(client, make_account("town", town=sites["HZ-WS-001"].town))
    assert "录入一条监测结果" not in page_text(client.get("/admin/outfalls/HZ-WS-001"))
    response = client.post("/admin/outfalls/HZ-WS-001/monitoring", data={
        "parameter": "COD", "sampled_at": "2026-11-25T09:30", "value": "30"})
    assert response.status_code in (403, 404) and count() == 0
