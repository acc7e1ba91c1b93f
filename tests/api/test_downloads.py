"""Open-data downloads: CSV that Excel reads in Chinese, XLSX with the same rows, filters, privacy, cost."""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from factories import make_outfall, make_party, make_person, make_town, make_water_body
from helpers import commit_and_forget, counted_statements
from sqlalchemy import select

from portal.extensions import db
from portal.models import Town
from portal.registry import open_data
from portal.calendar import today

CANARY_NAME = "甄某某测试"
CANARY_PHONE = "13987654321"
ORGANISATION_PHONE = "0457-3300999"
NOTE = "备注：现场联系人手机 13711112222"

HEADERS = [
    "排污口编码", "国家编码", "排污口名称", "所在镇", "受纳水体", "经度", "纬度", "排污口类型", "排污口类别", "责任主体",
    "排放方式", "审批登记情况", "所处阶段", "整治类型", "整治措施", "整治时限", "整治进展", "过渡期截止", "完成日期",
    "验收销号日期", "是否逾期", "包保领导", "是否演示数据", "页面链接",
]
SECRETS = (CANARY_NAME, CANARY_NAME[1:], CANARY_PHONE, ORGANISATION_PHONE, "13711112222", "现场联系人")


def csv_rows(response):
    """The CSV body as a list of rows (header first), read the way a program would read it."""
    body = response.get_data()
    response.close()  # as a WSGI server does once it has sent the body
    assert body.startswith(b"\xef\xbb\xbf"), body[:10]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def xlsx_rows(response):
    """The first sheet of the XLSX body as a list of rows of values (header first)."""
    body = response.get_data()
    response.close()  # closes the temporary file the body was sent from
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def as_csv_text(value):
    """An XLSX cell value as the CSV writes it, to compare the two files."""
    return open_data.csv_cell(value.date() if hasattr(value, "date") and callable(value.date) else value)


@pytest.fixture
def registry(app):
    """Three outfalls: an organisation's, a natural person's (the canary), and one with nothing but a code."""
    now = today()
    bishui = make_town("碧水镇")
    river = make_water_body("碧水河")
    make_outfall(
        "D-001", national_code="N-232764-001", name="碧水镇污水处理厂排污口", town=bishui, water_body=river,
        longitude=123.5888, latitude=52.0306, outfall_type="municipal_wwtp", outfall_subtype="municipal_wwtp",
        party=make_party("碧水镇污水处理厂"), party_telephone=ORGANISATION_PHONE, discharge_mode="continuous",
        approval_status="approved", stage="standardisation", supervising_leader="碧水镇镇长", note=NOTE,
        plan={"measure": "keep", "measures_text": "规范化建设", "deadline": date(2025, 6, 30), "status": "closed",
              "completed_on": date(2025, 6, 1), "verified_on": date(2025, 6, 20)},
    )
    farmer = make_person(CANARY_NAME)
    make_outfall(
        "D-002", name="个体养殖场排污口", outfall_type="agricultural", party=farmer, party_telephone=CANARY_PHONE,
        stage="rectification", is_demo=True, note=f"{CANARY_NAME} {CANARY_PHONE}",
        plan={"measure": "ban", "status": "in_progress", "deadline": now - timedelta(days=10),
              "transition_ends_on": None, "responsible_party": farmer},
    )
    unknown = make_outfall("D-003", name="未溯源排口", stage="survey", plan=None)
    unknown.water_body = None  # not yet known
    commit_and_forget()


def test_csv_has_bom_chinese_headers_and_one_row_per_outfall(client, registry):
    response = client.get("/api/v1/outfalls.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.is_streamed
    rows = csv_rows(response)
    assert rows[0] == HEADERS
    assert [row[0] for row in rows[1:]] == ["D-001", "D-002", "D-003"]
    first = dict(zip(HEADERS, rows[1]))
    assert first == {
        "排污口编码": "D-001", "国家编码": "N-232764-001", "排污口名称": "碧水镇污水处理厂排污口", "所在镇": "碧水镇",
        "受纳水体": "碧水河", "经度": "123.588800", "纬度": "52.030600", "排污口类型": "城镇污水处理厂排污口",
        "排污口类别": "城镇污水处理厂排污口", "责任主体": "碧水镇污水处理厂", "排放方式": "连续",
        "审批登记情况": "已审批", "所处阶段": "规范化建设", "整治类型": "保留", "整治措施": "规范化建设",
        "整治时限": "2025-06-30", "整治进展": "已销号", "过渡期截止": "", "完成日期": "2025-06-01",
        "验收销号日期": "2025-06-20", "是否逾期": "否", "包保领导": "碧水镇镇长", "是否演示数据": "否",
        "页面链接": "http://portal.test/outfalls/D-001",
    }
    second = dict(zip(HEADERS, rows[2]))
    assert second["是否逾期"] == "是" and second["是否演示数据"] == "是"
    assert second["责任主体"] == "甄****"
    third = dict(zip(HEADERS, rows[3]))
    assert third["受纳水体"] == "" and third["整治类型"] == "" and third["是否逾期"] == "否"


def test_csv_is_named_by_date_in_chinese_with_an_ascii_fallback(client, registry):
    with client.get("/api/v1/outfalls.csv") as response:
        disposition = response.headers["Content-Disposition"]

    day = today().isoformat()
    assert disposition.startswith("attachment;")
    assert f'filename="outfalls-{day}.csv"' in disposition
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == f"呼中区入河排污口-{day}.csv"


def test_no_person_name_telephone_or_note_in_csv_or_xlsx(client, registry):
    csv_body = client.get("/api/v1/outfalls.csv").get_data().decode("utf-8-sig")
    xlsx_cells = " ".join(str(value) for row in xlsx_rows(client.get("/api/v1/outfalls.xlsx")) for value in row)

    for text in (csv_body, xlsx_cells):
        for secret in SECRETS:
            assert secret not in text, secret
        assert "备注" not in text and "电话" not in text
        assert "甄****" in text


def test_xlsx_has_the_same_rows_as_the_csv(client, registry):
    response = client.get("/api/v1/outfalls.xlsx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert f'filename="outfalls-{today().isoformat()}.xlsx"' in disposition and "filename*=UTF-8''" in disposition
    rows = xlsx_rows(response)
    assert rows[0] == HEADERS
    from_csv = csv_rows(client.get("/api/v1/outfalls.csv"))
    assert [[as_csv_text(value) for value in row] for row in rows[1:]] == from_csv[1:]
    # Numbers and dates are real numbers and dates in Excel.
    assert rows[1][HEADERS.index("经度")] == pytest.approx(123.5888)
    assert rows[1][HEADERS.index("整治时限")].date() == date(2025, 6, 30)


def test_downloads_honour_the_lists_filters(client, registry):
    town = db.session.scalar(select(Town.id).where(Town.name == "碧水镇"))

    for query, expected in (
        ({"overdue": "1"}, ["D-002"]),
        ({"town": str(town)}, ["D-001"]),
        ({"type": ["agricultural", "other"]}, ["D-002", "D-003"]),
        ({"q": "养殖"}, ["D-002"]),
        ({"q": CANARY_NAME}, []),  # a person cannot be found by name
    ):
        assert [row[0] for row in csv_rows(client.get("/api/v1/outfalls.csv", query_string=query))[1:]] == expected
        assert [row[0] for row in xlsx_rows(client.get("/api/v1/outfalls.xlsx", query_string=query))[1:]] == expected


@pytest.mark.parametrize("path", ["/api/v1/outfalls.csv", "/api/v1/outfalls.xlsx"])
@pytest.mark.parametrize("query", [{"type": "factory"}, {"town": "呼中"}, {"bbox": "1,2,3"}])
def test_an_unreadable_filter_is_refused_with_a_json_error(client, registry, path, query):
    response = client.get(path, query_string=query)

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    errors = response.get_json()["errors"]
    assert len(errors) == 1 and errors[0]["code"] == 400
    assert list(query)[0] in errors[0]["description"]


def test_the_list_links_to_downloads_of_what_it_shows(client, registry):
    html = client.get("/outfalls", query_string={"type": "agricultural", "overdue": "1"}).get_data(as_text=True)

    result_count = html.split('class="result-count"')[1].split("</p>")[0]
    assert "下载这些数据" in result_count
    assert 'href="/api/v1/outfalls.csv?type=agricultural&amp;overdue=1"' in result_count
    assert 'href="/api/v1/outfalls.xlsx?type=agricultural&amp;overdue=1"' in result_count


def test_page_links_use_the_public_base_url(app, client, registry):
    app.config["PUBLIC_BASE_URL"] = "https://hz.example.cn/"

    rows = csv_rows(client.get("/api/v1/outfalls.csv"))

    assert rows[1][-1] == "https://hz.example.cn/outfalls/D-001"


def test_text_that_looks_like_a_formula_stays_text(client, app):
    make_outfall("D-100", name="=HYPERLINK(\"http://evil.example\",\"点击\")", supervising_leader="@SUM(1)")
    commit_and_forget()

    row = dict(zip(HEADERS, csv_rows(client.get("/api/v1/outfalls.csv"))[1]))
    assert row["排污口名称"].startswith("'=")
    assert row["包保领导"] == "'@SUM(1)"
    with client.get("/api/v1/outfalls.xlsx") as response:
        workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    cell = workbook.worksheets[0].cell(2, HEADERS.index("排污口名称") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_xlsx_leaves_no_temporary_file_behind(client, registry, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    assert len(xlsx_rows(client.get("/api/v1/outfalls.xlsx"))) == 4

    assert os.listdir(scratch) == []


def _outfalls(first, count):
    """Outfalls each with its own party, a plan, and one of four towns."""
    towns = [make_town(name) for name in ("呼中镇", "呼源镇", "碧水镇", "宏伟镇")]
    for number in range(first, first + count):
        make_outfall(f"B-{number:03d}", town=towns[number % 4], party=make_party(f"下载测试单位{number}"),
                     plan={"deadline": date(2025, 8, 20), "status": "in_progress"})
    commit_and_forget()


@pytest.mark.parametrize("path", ["/api/v1/outfalls.csv", "/api/v1/outfalls.xlsx"])
def test_statement_count_does_not_grow_with_rows(client, app, monkeypatch, path):
    monkeypatch.setattr(open_data, "BATCH_SIZE", 7)  # so that 50 outfalls take several batches
    _outfalls(0, 5)
    with counted_statements() as few, client.get(path) as response:
        assert response.get_data()
    _outfalls(5, 45)
    with counted_statements() as many:
        response = client.get(path)
        rows = csv_rows(response) if path.endswith(".csv") else xlsx_rows(response)

    assert len(rows) == 51
    # One statement for every row (plans joined by the outfall's main plan id), however many batches.
    assert len(many) == len(few), many


def test_csv_is_sent_a_batch_at_a_time(client, app, monkeypatch):
    monkeypatch.setattr(open_data, "BATCH_SIZE", 7)
    _outfalls(0, 50)

    with client.get("/api/v1/outfalls.csv") as response:
        chunks = list(response.response)

    assert len(chunks) == 1 + 8  # the header, then ⌈50 / 7⌉ batches
    assert chunks[0].startswith("\ufeff排污口编码,".encode("utf-8"))
    assert sum(chunk.count(b"\n") for chunk in chunks) == 51


@pytest.mark.parametrize("path", ["/api/v1/outfalls.csv", "/api/v1/outfalls.xlsx"])
def test_the_download_starts_before_the_outfalls_are_read(client, app, path):
    _outfalls(0, 3)

    with counted_statements() as statements:
        response = client.get(path, buffered=False)
        chunks = iter(response.response)
        first = next(chunks)
        read_before_first_byte = [s for s in statements if "FROM outfall" in s]
        rest = b"".join(chunks)
    response.close()

    assert response.is_streamed
    assert read_before_first_byte == []  # the header went out before the query ran
    assert any("FROM outfall" in s for s in statements)
    if path.endswith(".csv"):
        assert first.startswith("\ufeff排污口编码,".encode("utf-8"))
        assert (first + rest).count(b"\n") == 4
    else:
        assert first.startswith(b"PK")  # the workbook's zip, its rows still to come
        rows = openpyxl.load_workbook(io.BytesIO(first + rest)).worksheets[0].iter_rows(values_only=True)
        assert len(list(rows)) == 4
