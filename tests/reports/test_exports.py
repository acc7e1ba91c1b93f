"""Report exports for the bureau's statistics: every lifecycle column, district times, the contact and the
description never in the files, formulas neutralised, XLSX rows the same as CSV's, a condition filters."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timezone

import pytest
from factories import make_report, make_town, make_water_body
from openpyxl import load_workbook
from sqlalchemy import true

from portal import calendar
from portal.extensions import db
from portal.models import Account, Department, Report
from portal.reports import exports

NAME, PHONE, EMAIL = "王秘密", "13912345678", "wang.secret@example.cn"
DESCRIPTION = "我家住在呼中镇幸福路 88 号，门口的管子一直往河里排污水。"
UTC = timezone.utc


def csv_rows(condition=true(), english=False) -> list[list[str]]:
    """The CSV export as its rows (header first), as a spreadsheet reads them."""
    stream = io.BytesIO()
    exports.write_csv(stream, condition, english=english)
    data = stream.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_bytes(condition=true(), english=False) -> bytes:
    """The XLSX export as bytes."""
    stream = io.BytesIO()
    exports.write_xlsx(stream, condition, english=english)
    return stream.getvalue()


def xlsx_sheet(data: bytes):
    """The first sheet of an XLSX export as openpyxl reads it."""
    return load_workbook(io.BytesIO(data)).worksheets[0]


def by_header(rows: list[list[str]]) -> list[dict[str, str]]:
    """CSV data rows as header → cell."""
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.fixture
def handled(app):
    """A report that went through every step: accepted late (by the district's date), assigned, extended,
    answered in time, escalated once, rated, published with a redacted description, me-too'd; and a
    duplicate merged into it."""
    town = make_town("碧水镇")
    river = make_water_body("呼玛河")
    officer = Account(username="bishui_officer", role="town", town_id=town.id, password_hash="x")
    db.session.add(officer)
    db.session.flush()
    report, _ = make_report(
        town=town, water_body=river, name=NAME, phone=PHONE, email=EMAIL, description=DESCRIPTION,
        channel="telephone", category="dead_fish", status="resolved", assignee_id=officer.id,
        created_at=datetime(2026, 11, 2, 1, 30, tzinfo=UTC),
        accept_due=date(2026, 11, 4),
        accepted_at=datetime(2026, 11, 4, 16, 5, tzinfo=UTC),  # 00:05 on 5 November in the district: late
        assigned_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
        answered_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC), finish_due=date(2027, 1, 3),
        extension_days=30, extension_reason="需要等待水样检测结果", escalation_level=1,
        escalated_at=datetime(2026, 11, 6, 0, 0, tzinfo=UTC), rating=4, me_too_count=3, published=True,
        public_description="呼中镇某处管道往河里排污水。",
    )
    duplicate, _ = make_report(town=town, status="merged", merged_into_id=report.id,
                               created_at=datetime(2026, 11, 3, 1, 0, tzinfo=UTC), published=False,
                               public_description="不应出现的公开描述")
    db.session.commit()
    return report, duplicate


def test_every_lifecycle_column_is_there_in_chinese(handled):
    report, duplicate = handled

    rows = csv_rows()

    assert rows[0] == [
        "查询码", "来源渠道", "举报类型", "状态", "所在镇", "水体", "承办部门", "承办人", "提交时间", "受理期限",
        "受理时间", "不予受理原因", "交办时间", "答复时间", "办结期限", "延期天数", "延期原因", "结案时间", "合并至",
        "督办级别", "督办时间", "满意度评价", "附议人数", "是否公开", "按时受理", "按时办结", "公开描述",
    ]
    first, second = by_header(rows)
    assert first == {
        "查询码": report.tracking_code, "来源渠道": "电话（12345 转办等）", "举报类型": "死鱼", "状态": "已办结",
        "所在镇": "碧水镇", "水体": "呼玛河", "承办部门": "生态环境局", "承办人": "bishui_officer",
        "提交时间": "2026-11-02 09:30:00", "受理期限": "2026-11-04", "受理时间": "2026-11-05 00:05:00",
        "不予受理原因": "", "交办时间": "2026-11-05 10:00:00", "答复时间": "2026-11-20 16:00:00",
        "办结期限": "2027-01-03", "延期天数": "30", "延期原因": "需要等待水样检测结果", "结案时间": "",
        "合并至": "", "督办级别": "1", "督办时间": "2026-11-06 08:00:00", "满意度评价": "4", "附议人数": "3",
        "是否公开": "是", "按时受理": "否", "按时办结": "是", "公开描述": "呼中镇某处管道往河里排污水。",
    }
    assert second["查询码"] == duplicate.tracking_code
    assert second["状态"] == "已合并" and second["合并至"] == report.tracking_code
    assert second["公开描述"] == ""  # not published: nothing of the description


def test_english_headers_and_labels(handled):
    rows = csv_rows(english=True)

    assert rows[0][:4] == ["Tracking code", "Channel", "Report type", "Status"]
    first = by_header(rows)[0]
    assert first["Report type"] == "Dead fish" and first["Status"] == "Answered"
    assert first["Department"] == db.session.get(Department, "eeb").name_en
    assert first["Channel"] == "Telephone (12345 hotline forwards)"
    assert (first["Published"], first["Accepted in time"], first["Answered in time"]) == ("yes", "no", "yes")


def test_the_contact_the_description_and_the_secret_never_appear(handled):
    report, _ = handled
    secret_digest = db.session.get(Report, report.id).secret_digest

    csv_data = io.BytesIO()
    exports.write_csv(csv_data, true())
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes())) as archive:
        xlsx_text = b"".join(archive.read(name) for name in archive.namelist())

    for data in (csv_data.getvalue(), xlsx_text):
        for secret in (NAME, PHONE, EMAIL, DESCRIPTION, "幸福路", secret_digest, "不应出现的公开描述"):
            assert secret.encode("utf-8") not in data, secret
        assert report.tracking_code.encode() in data


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://evil.example","点我")', "+1+cmd|' /C calc'!A0",
                                     "-2+3", "@SUM(1)", "#N/A"])
def test_formulas_are_neutralised_in_both_formats(app, hostile):
    report, _ = make_report(extension_reason=hostile, published=True, public_description=hostile)
    db.session.commit()

    row = by_header(csv_rows())[0]
    expected = hostile if hostile == "#N/A" else "'" + hostile  # CSV: a leading apostrophe marks text
    assert row["延期原因"] == row["公开描述"] == expected

    sheet = xlsx_sheet(xlsx_bytes())
    header = [cell.value for cell in sheet[1]]
    cells = {header[i]: cell for i, cell in enumerate(sheet[2])}
    for column in ("延期原因", "公开描述"):
        assert cells[column].value == hostile and cells[column].data_type == "s"  # text, never a formula


def test_the_xlsx_has_the_same_rows_as_the_csv(handled, monkeypatch):
    monkeypatch.setattr(calendar, "_clock", lambda: datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    make_report(town=make_town("呼源镇"), accept_due=date(2099, 1, 1),  # waiting, not yet due
                created_at=datetime(2026, 11, 10, 1, 0, tzinfo=UTC))
    make_report(town=make_town("呼源镇"), accept_due=date(2026, 11, 12),  # waiting, overdue
                created_at=datetime(2026, 11, 11, 1, 0, tzinfo=UTC))
    db.session.commit()

    rows = csv_rows()
    sheet = xlsx_sheet(xlsx_bytes())

    assert [cell.value for cell in sheet[1]] == rows[0]
    assert sheet.max_row == len(rows) == 5
    dates = {"受理期限", "办结期限"}  # openpyxl reads a date cell back as midnight of that day
    for csv_row, xlsx_row in zip(rows[1:], sheet.iter_rows(min_row=2, values_only=True)):
        assert [exports.csv_cell(value.date() if header in dates and value else value)
                for header, value in zip(rows[0], xlsx_row)] == csv_row
    accepted_at = sheet.cell(row=2, column=rows[0].index("受理时间") + 1)
    assert accepted_at.value == datetime(2026, 11, 5, 0, 5) and accepted_at.is_date
    on_time = [row["按时受理"] for row in by_header(rows)]
    assert on_time == ["否", "", "", "否"]  # late; merged (never accepted); not yet due; overdue


def test_a_condition_filters_the_rows(handled):
    other, _ = make_report(town=make_town("呼源镇"))
    db.session.commit()

    rows = by_header(csv_rows(Report.town_id == other.town_id))
    assert [row["查询码"] for row in rows] == [other.tracking_code]
    sheet = xlsx_sheet(xlsx_bytes(Report.town_id == other.town_id))
    assert sheet.max_row == 2 and sheet.cell(row=2, column=1).value == other.tracking_code


def test_nothing_matching_gives_the_header_alone(app):
    assert csv_rows() == [exports.headers()]
    assert xlsx_sheet(xlsx_bytes()).max_row == 1


def test_reports_are_written_a_batch_at_a_time(app, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_SIZE", 2)
    for _ in range(5):
        make_report()
    db.session.commit()

    chunks = list(exports.csv_chunks(true()))

    assert len(chunks) == 1 + 3  # the header, then batches of 2, 2 and 1 reports
    assert [chunk.count(b"\n") for chunk in chunks[1:]] == [2, 2, 1]
