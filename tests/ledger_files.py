"""Builders of ledger files for tests: .xlsx with title rows and merged two-row headers, and CSV."""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from openpyxl import Workbook

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
