"""Exporting the registry as the bureau's ledger (.xlsx), in the shape the importer reads back."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal import calendar
from portal.extensions import db
from portal.models import Outfall, RectificationPlan
from portal.registry.ledger_format import EXPORT_COLUMNS as COLUMNS
from portal.registry.ledger_format import set_text_cell
from portal.registry.ledger_mapping import ledger_values

HEADER_ROW = 3  # rows 1–2 carry the title and the filing line, as the bureau's own ledgers do


def export_ledger(path: Path, title: str | None = None) -> int:
    """Write every outfall to an .xlsx ledger at ``path`` (atomically); return how many.

    ``title`` replaces the title row (the example ledger says there that its data is invented).
    """
    outfalls = db.session.scalars(
        select(Outfall).order_by(Outfall.code).options(
            joinedload(Outfall.town), joinedload(Outfall.water_body), joinedload(Outfall.responsible_party),
            joinedload(Outfall.supervising_chief),
            selectinload(Outfall.plans).joinedload(RectificationPlan.merged_into),
        )
    ).unique().all()
    workbook = build_workbook((ledger_values(outfall) for outfall in outfalls), title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a failed export never leaves half a ledger behind.
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".xlsx.part")
    os.close(handle)
    try:
        workbook.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return len(outfalls)


def build_workbook(rows, title: str | None = None) -> Workbook:
    """A ledger workbook: title, filing line, two-row header with merged groups, one row per outfall."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "排污口台账"
    last = len(COLUMNS)
    district = current_app.config["DISTRICT_NAME"]
    sheet.cell(1, 1, title or f"{district}入河排污口排查整治台账")
    sheet.cell(2, 1, f"导出日期：{calendar.today():%Y年%m月%d日}")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")

    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    index = 0
    while index < last:
        column = COLUMNS[index]
        if column.group:
            span = 1
            while index + span < last and COLUMNS[index + span].group == column.group:
                span += 1
            sheet.cell(HEADER_ROW, index + 1, column.group)
            sheet.merge_cells(start_row=HEADER_ROW, start_column=index + 1,
                              end_row=HEADER_ROW, end_column=index + span)
            for offset in range(span):
                sheet.cell(HEADER_ROW + 1, index + offset + 1, COLUMNS[index + offset].header)
            index += span
        else:
            sheet.cell(HEADER_ROW, index + 1, column.header)
            sheet.merge_cells(start_row=HEADER_ROW, start_column=index + 1, end_row=HEADER_ROW + 1,
                              end_column=index + 1)
            index += 1
    for row in (HEADER_ROW, HEADER_ROW + 1):
        for col in range(1, last + 1):
            cell = sheet.cell(row, col)
            cell.font, cell.fill, cell.border = header_font, header_fill, border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for position, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = column.width

    for number, values in enumerate(rows, start=1):
        values = {**values, "seq": number}
        excel_row = HEADER_ROW + 1 + number
        for position, column in enumerate(COLUMNS, start=1):
            value = values.get(column.field)
            written = column.write(value) if value is not None else None
            cell = sheet.cell(excel_row, position)
            if isinstance(written, str):
                set_text_cell(cell, written)  # "=1+1" in a name stays text, and reads back as text
            else:
                cell.value = written
            if column.number_format and value is not None:
                cell.number_format = column.number_format
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 2, 3)
    return workbook
