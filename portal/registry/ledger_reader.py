"""Reading a ledger file into rows: .xlsx or .csv, title rows above a one- or two-row header.

The reader knows nothing of outfalls beyond the column names of ``ledger_format``; it finds the
header, tells which column holds which field, and hands back each data row with the row number
the clerk sees in Excel.
"""
from __future__ import annotations

import codecs
import csv
import io
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.registry.ledger_format import COLUMNS_BY_FIELD, clean_text, field_for_header

HEADER_SEARCH_ROWS = 30
# Unpacked size an .xlsx may reach; a larger one is a zip bomb, not a ledger.
MAX_UNPACKED_BYTES = 300 * 1024 * 1024


class LedgerFileError(Exception):
    """The file as a whole cannot be read as a ledger (wrong format, no header, bad encoding)."""


@dataclass
class LedgerSheet:
    """What a ledger file holds: which column is which field, and the data rows under the header."""

    columns: dict[str, int]  # field → 0-based column index
    headers: dict[str, str]  # field → the header text as written in the file
    rows: list[tuple[int, list[Any]]]  # (row number as Excel shows it, cell values)
    unknown_headers: list[str] = field(default_factory=list)
    sheet_name: str | None = None


def read_ledger_file(path: Path, max_bytes: int) -> LedgerSheet:
    """Read an .xlsx or .csv ledger, or raise LedgerFileError saying what is wrong with the file."""
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > max_bytes:
        raise LedgerFileError(f"文件过大（{size / 1048576:.1f} MB），最大 {max_bytes / 1048576:.0f} MB")
    if size == 0:
        raise LedgerFileError("文件是空的")
    if suffix in (".xlsx", ".xlsm"):
        sheets = _xlsx_grids(path)
    elif suffix in (".csv", ".txt"):
        sheets = [(None, _csv_grid(path.read_bytes()), [])]
    elif suffix in (".xls", ".et", ".wps"):
        raise LedgerFileError("不支持旧版 Excel（.xls）或 WPS 格式：请在 Excel/WPS 中“另存为” .xlsx 后再导入")
    else:
        raise LedgerFileError(f"不支持 {suffix or '无扩展名'} 文件：台账须为 .xlsx 或 .csv")
    for name, grid, merges in sheets:
        found = _find_header(_filled(grid, merges, lambda merge: merge.min_row <= HEADER_SEARCH_ROWS + 1))
        if found:
            header_rows, columns, headers, unknown = found
            # Below the header only vertical merges are data (one town over several outfalls);
            # a merge across columns there is a note or a footer, kept in its first cell only.
            grid = _filled(grid, merges, lambda merge: merge.min_col == merge.max_col)
            rows = [(number + 1, cells) for number, cells in enumerate(grid) if number >= header_rows]
            return LedgerSheet(columns, headers, rows, unknown, name)
    required = "、".join(f"“{COLUMNS_BY_FIELD[f].header}”" for f in ("code", "name"))
    raise LedgerFileError(f"找不到表头：前 {HEADER_SEARCH_ROWS} 行中没有一行同时含有 {required} 等列名")


def _xlsx_grids(path: Path) -> list[tuple[str, list[list[Any]], list]]:
    """Every sheet of a workbook as a grid of values, with the sheet's merged ranges."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise LedgerFileError("文件解压后过大，不像是台账（可能是压缩炸弹）")
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter to a ledger.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, data_only=True)
    except LedgerFileError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as error:
        raise LedgerFileError(f"无法读取此 Excel 文件：文件已损坏或不是 .xlsx 格式（{type(error).__name__}）") from None
    except Exception as error:  # defusedxml and lxml raise their own types for hostile XML
        raise LedgerFileError(f"无法读取此 Excel 文件：内容不符合 .xlsx 格式（{type(error).__name__}）") from None
    grids = []
    for sheet in workbook.worksheets:
        grid = [list(row) for row in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]
        grids.append((sheet.title, grid, list(sheet.merged_cells.ranges)))
    workbook.close()
    return grids


def _filled(grid: list[list[Any]], merges: list, applies) -> list[list[Any]]:
    """A copy of the grid in which the merged ranges ``applies`` accepts repeat their top-left value."""
    grid = [list(row) for row in grid]
    for merged in merges:
        if not applies(merged) or merged.min_row > len(grid):
            continue
        top_left = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                grid[r][c] = top_left
    return grid


def _csv_grid(data: bytes) -> list[list[Any]]:
    """A CSV file's rows, whether Excel saved it as UTF-8 (with or without BOM), GB18030 or UTF-16."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data[len(codecs.BOM_UTF8):].decode("utf-8")
        except UnicodeDecodeError:
            raise LedgerFileError("文件以 UTF-8 标记开头，但内容无法按 UTF-8 读取：文件可能已损坏") from None
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise LedgerFileError("文件以 UTF-16 标记开头，但内容无法按 UTF-16 读取：文件可能已损坏") from None
    else:
        for encoding in ("utf-8", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise LedgerFileError("无法识别文件编码：请另存为“CSV UTF-8”或 GBK/GB18030 编码")
    if "\x00" in text:
        raise LedgerFileError("文件含有二进制内容，不是文本 CSV")
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [[cell if cell.strip() else None for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _find_header(grid: list[list[Any]]):
    """Locate the header (one row, or two when a merged group heads sub-columns).

    Returns (rows used up to and including the header, field → column, field → header text,
    unrecognised header texts), or None when no row looks like a ledger header.
    """
    for index, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        fields = _recognised(row)
        if not {"code", "name"} <= set(fields.values()):
            continue
        header_rows = index + 1
        labels = {c: (row[c], fields.get(c)) for c in range(len(row))}
        below = grid[index + 1] if index + 1 < len(grid) else []
        sub_fields = _recognised(below)
        code_column = next(c for c, f in fields.items() if f == "code")
        code_below = below[code_column] if code_column < len(below) else None
        # A second header row names sub-columns; under the code column it is blank or the same
        # header again (Excel repeats a vertically merged cell), never an outfall's code.
        if sub_fields and (code_below is None or field_for_header(code_below) == "code"):
            header_rows += 1
            for c, f in sub_fields.items():
                labels[c] = (below[c], f)
        columns, headers, unknown = {}, {}, []
        for c, (text, f) in sorted(labels.items()):
            if f and f not in columns:
                columns[f] = c
                headers[f] = clean_text(text)
            elif text is not None and not f and clean_text(text) and clean_text(text) not in unknown:
                unknown.append(clean_text(text))
        return header_rows, columns, headers, unknown
    return None


def _recognised(row: list[Any]) -> dict[int, str]:
    """Column index → field for the cells of a row that are known header names."""
    return {c: f for c, text in enumerate(row) if (f := field_for_header(text))}
