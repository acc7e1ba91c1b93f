"""Builders of ledger files for tests: .xlsx with title rows and merged two-row headers, and CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook

# The sample ledger's header: 整治情况 merged over four sub-columns.
HEADER = ["序号", "排污口编码", "排污口名称", "所在镇", "受纳水体", "经度", "纬度", "排污口类型", "排污口类别",
          "责任主体", "责任主体联系电话", "排放方式", "审批登记情况",
          ("整治情况", ["整治类型", "整治措施", "整治时限", "整治进展"]), "包保领导", "备注"]


def flat_header(header=HEADER) -> list[str]:
    """The header as one row of column names (sub-columns in place of their group)."""
    names = []
    for item in header:
        names.extend(item[1] if isinstance(item, tuple) else [item])
    return names


def row(code="HZ-T-0001", **overrides) -> dict:
    """One valid outfall row keyed by column name; override any column by name."""
    values = {
        "序号": 1, "排污口编码": code, "排污口名称": f"测试排污口{code}", "所在镇": "呼中镇", "受纳水体": "呼玛河",
        "经度": 123.5888, "纬度": 52.0306, "排污口类型": "工业排污口", "排污口类别": "工矿企业排污口",
        "责任主体": "呼中区测试木材厂", "责任主体联系电话": "0457-3300000", "排放方式": "间歇",
        "审批登记情况": "已审批", "整治类型": "规范整治", "整治措施": "设置标识牌", "整治时限": date(2026, 6, 30),
        "整治进展": "整治中", "包保领导": "王建国", "备注": None,
    }
    values.update(overrides)
    return values


def write_xlsx(path: Path, rows: list[dict], header=HEADER, title_rows=("某区入河排污口台账", "填报单位：测试"),
               footer=("填表人：测试",)) -> Path:
    """An .xlsx ledger like the bureau's: title rows, a merged two-row header, data, a footer."""
    workbook = Workbook()
    sheet = workbook.active
    width = len(flat_header(header))
    for number, title in enumerate(title_rows, start=1):
        sheet.cell(number, 1, title)
        sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=width)
    top = len(title_rows) + 1
    column = 1
    for item in header:
        if isinstance(item, tuple):
            group, subs = item
            sheet.cell(top, column, group)
            sheet.merge_cells(start_row=top, start_column=column, end_row=top, end_column=column + len(subs) - 1)
            for offset, sub in enumerate(subs):
                sheet.cell(top + 1, column + offset, sub)
            column += len(subs)
        else:
            sheet.cell(top, column, item)
            sheet.merge_cells(start_row=top, start_column=column, end_row=top + 1, end_column=column)
            column += 1
    names = flat_header(header)
    for offset, values in enumerate(rows):
        for position, name in enumerate(names, start=1):
            value = values.get(name)
            cell = sheet.cell(top + 2 + offset, position, value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    for offset, text in enumerate(footer):
        sheet.cell(top + 3 + len(rows) + offset, 1, text)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[dict], header=None, encoding="utf-8-sig", title_rows=("某区排污口台账",)) -> Path:
    """A CSV ledger in the given encoding, with a title row and a one-row header."""
    names = header or flat_header()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for title in title_rows:
        writer.writerow([title] + [""] * (len(names) - 1))
    writer.writerow(names)
    for values in rows:
        writer.writerow(["" if values.get(n) is None else _csv_value(values.get(n)) for n in names])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _csv_value(value):
    return value.isoformat() if isinstance(value, date) else value


# --- a bureau-style ledger ------------------------------------------------------------------------
# Twenty-four invented outfalls (示例数据), written the way district bureaus keep their ledgers: two
# title rows merged across the table, the 整治情况 group merged over four sub-columns, the rows grouped
# by town with each town's cell merged down its rows, some positions in 度分秒, deadlines as Excel
# dates, 2026年10月28日 and 2026/09/28 text, and notes under the table.

BUREAU_TOWNS = ("呼中镇", "碧水镇", "呼源镇", "宏伟镇")
# Per town: the kinds of place it has, cycled: (name of the place, type, category, party, measure, 整治措施).
_BUREAU_PLACES = {
    "呼中镇": [("冷水鱼养殖场", "农业排口", "规模化水产养殖排污口", "呼中区呼中冷水鱼养殖场", "规范整治"),
              ("林产品加工厂", "工业排污口", "工矿企业排污口", "呼中区呼中林产品加工厂", "规范整治")],
    "碧水镇": [("雨水泵站", "其他排口", "城镇雨洪排口", "呼中区碧水雨水泵站", "保留"),
              ("养殖场", "农业排口", "规模化畜禽养殖排污口", "呼中区碧水养殖场", "保留")],
    "呼源镇": [("污水处理厂", "城镇污水处理厂排污口", "城镇污水处理厂排污口", "呼中区呼源污水处理厂", "依法取缔"),
              ("林场居民点", "其他排口", "农村生活污水散排口", "呼源镇人民政府", "依法取缔")],
    "宏伟镇": [("居民区", "其他排口", "城镇生活污水散排口", "宏伟镇人民政府", "清理合并"),
              ("木材加工厂", "工业排污口", "工矿企业雨洪排口", "呼中区宏伟木材加工厂", "清理合并")],
}
_BUREAU_WATERS = ("碧水河", "小白河", "岭峰河", "呼玛河")
_BUREAU_STATUS = {"规范整治": "已完成", "保留": "已销号", "依法取缔": "未开始", "清理合并": "整治中"}
_BUREAU_MEASURE_TEXT = {"规范整治": "设置标识牌和采样井，规范排水管线", "保留": "完善监测点和标识牌",
                        "依法取缔": "封堵排污口，拆除排污管线", "清理合并": "截污纳管，接入镇污水管网"}
_BUREAU_LEADERS = ("张立新", "刘春梅", "陈志强", "赵红霞", "王建国", "李秀英")
_BUREAU_DEADLINES = [date(2026, 6, 30) + timedelta(days=30 * step - (1 if step else 0)) for step in range(8)]
# Where each town lies (decimal degrees): the rows spread around it.
_BUREAU_CENTRES = {"呼中镇": (123.60, 52.03), "碧水镇": (123.86, 52.03), "呼源镇": (123.10, 52.27),
                   "宏伟镇": (123.38, 51.93)}


def bureau_rows() -> list[dict]:
    """The 24 rows of the bureau-style ledger, in code order, keyed by column name.

    HZ-S-0001 … HZ-S-0024: the towns take turns; every fourth row from the fourth (宏伟镇) gives its
    position in 度分秒; every third row from the third its deadline as 2026年…月…日 text, and every
    fifth from the fifth as 2026/…/… text; every seventh has a note.
    """
    rows = []
    for number in range(1, 25):
        town = BUREAU_TOWNS[(number - 1) % 4]
        place, outfall_type, category, party, measure = _BUREAU_PLACES[town][((number - 1) // 4) % 2]
        water = _BUREAU_WATERS[(number - 1 + (number - 1) // 4) % 4]
        lon, lat = _BUREAU_CENTRES[town]
        lon, lat = round(lon + 0.0071 * (number % 5) - 0.012, 6), round(lat + 0.0043 * (number % 6) - 0.01, 6)
        deadline = _BUREAU_DEADLINES[(number + 1) % 8]
        row_values = {
            "序号": number, "排污口编码": f"HZ-S-{number:04d}", "排污口名称": f"{town}{place}入{water}排污口",
            "所在镇": town, "受纳水体": water, "经度": lon, "纬度": lat, "排污口类型": outfall_type,
            "排污口类别": category, "责任主体": party, "责任主体联系电话": f"0457-33{number * 3917 % 100000:05d}",
            "排放方式": "间歇" if number % 3 else "连续", "审批登记情况": ("已审批", "未审批", "已登记")[number % 3],
            "整治类型": measure, "整治措施": _BUREAU_MEASURE_TEXT[measure], "整治时限": deadline,
            "整治进展": _BUREAU_STATUS[measure], "包保领导": _BUREAU_LEADERS[(number - 1) % 6],
            "备注": "与上游排口合并后保留一处" if number % 7 == 0 else None,
        }
        if number % 4 == 0:
            row_values["经度"], row_values["纬度"] = dms(lon), dms(lat)
        if number % 3 == 0:
            row_values["整治时限"] = f"{deadline.year}年{deadline.month:02d}月{deadline.day:02d}日"
        elif number % 5 == 0:
            row_values["整治时限"] = f"{deadline:%Y/%m/%d}"
        rows.append(row_values)
    return rows


def dms(degrees: float) -> str:
    """Decimal degrees as the 度分秒 text surveyors write: 123°21′1″ (whole seconds)."""
    total = round(degrees * 3600)
    return f"{total // 3600}°{total % 3600 // 60}′{total % 60}″"


def write_bureau_ledger(path: Path) -> Path:
    """The bureau-style ledger (see ``bureau_rows``), rows grouped by town with the town cell merged."""
    rows = sorted(bureau_rows(), key=lambda r: BUREAU_TOWNS.index(r["所在镇"]))
    write_xlsx(path, rows, title_rows=("呼中区入河排污口排查整治台账（示例数据，非真实排污口）",
                                       "填报单位：呼中区生态环境局（示例）    填报日期：2026年11月20日"),
               footer=("填表人：示例    审核人：示例    联系电话：0457-0000000",))
    workbook = load_workbook(path)
    sheet = workbook.active
    town_column = flat_header().index("所在镇") + 1
    first_data_row = 5
    for index, town in enumerate(BUREAU_TOWNS):
        top = first_data_row + 6 * index
        for excel_row in range(top + 1, top + 6):
            sheet.cell(excel_row, town_column).value = None  # Excel keeps only the top cell of a merge
        sheet.merge_cells(start_row=top, start_column=town_column, end_row=top + 5, end_column=town_column)
    workbook.save(path)
    return path


# --- hand-written workbooks -----------------------------------------------------------------------
# Files openpyxl would never write: a lying dimension, cells at XFD1048576, zip bombs. The XML is
# written here so that the tests build every hostile file themselves.

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '</Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def text_cell(reference: str, text: str) -> str:
    """One inline-string cell of sheet XML."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{reference}" t="inlineStr"><is><t>{escaped}</t></is></c>'


def sheet_rows(rows: list[list[str]], first_row: int = 1) -> str:
    """Rows of text cells as sheet XML, from ``first_row`` on."""
    from openpyxl.utils import get_column_letter

    return "".join(
        f'<row r="{first_row + offset}">'
        + "".join(text_cell(f"{get_column_letter(c + 1)}{first_row + offset}", value)
                  for c, value in enumerate(values) if value is not None)
        + "</row>"
        for offset, values in enumerate(rows)
    )


def write_raw_xlsx(path: Path, sheet_data: str, dimension: str = "A1", merges: tuple[str, ...] = (),
                   padding: int = 0) -> Path:
    """A minimal .xlsx whose one sheet holds ``sheet_data`` (``<row>`` XML) and declares ``dimension``.

    ``padding`` adds that many bytes of whitespace inside the sheet: they pack almost to nothing,
    which is what a zip bomb looks like.
    """
    import zipfile

    merged = (f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
              + "</mergeCells>") if merges else ""
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<dimension ref="{dimension}"/><sheetData>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(head.encode())
            sheet.write(sheet_data.encode())
            chunk = b" " * (1024 * 1024)
            for _ in range(padding // len(chunk)):
                sheet.write(chunk)
            sheet.write(b" " * (padding % len(chunk)))
            sheet.write(f"</sheetData>{merged}</worksheet>".encode())
    return path
