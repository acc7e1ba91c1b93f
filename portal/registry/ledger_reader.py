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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portal.registry.ledger_format import COLUMNS_BY_FIELD, clean_text, csv_unprotected, field_for_header

if TYPE_CHECKING:
    from openpyxl.worksheet.cell_range import CellRange

HEADER_SEARCH_ROWS = 30
# Bounds that keep a hostile or broken file from exhausting memory or CPU. A sheet may declare any
# dimension (A1:XFD1048576 in a 5 KB file): the reader ignores it and reads what the file holds.
MAX_COLUMNS = 200  # a ledger has about 30 columns; cells further right are not read
MAX_BLANK_ROWS = 10_000  # this many blank rows in a row end the table (only stray formatting follows)
MAX_MERGED_RANGES = 100_000
# Unpacked size an .xlsx may reach, and how much smaller than that its parts may be packed: a larger
# or more compressed one is a zip bomb, not a ledger (real sheets pack 5–20 times).
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
_RATIO_CHECKED_FROM = 1024 * 1024  # small parts (styles, an empty sheet) may pack far better


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


def read_ledger_file(path: Path, max_bytes: int, max_rows: int) -> LedgerSheet:
    """Read an .xlsx or .csv ledger, or raise LedgerFileError saying what is wrong with the file.

    ``max_rows`` bounds the data rows under the header, so memory grows with the ledger, never
    beyond it.
    """
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > max_bytes:
        raise LedgerFileError(f"文件过大（{size / 1048576:.1f} MB），最大 {max_bytes / 1048576:.0f} MB")
    if size == 0:
        raise LedgerFileError("文件是空的")
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, max_rows)
    elif suffix in (".csv", ".txt"):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise LedgerFileError(f"无法读取文件：{error.strerror or error}") from None
        return _sheet_from_grid(None, _csv_grid(data), [], max_rows)
    elif suffix in (".xls", ".et", ".wps"):
        raise LedgerFileError("不支持旧版 Excel（.xls）或 WPS 格式：请在 Excel/WPS 中“另存为” .xlsx 后再导入")
    else:
        raise LedgerFileError(f"不支持 {suffix or '无扩展名'} 文件：台账须为 .xlsx 或 .csv")


def _no_header() -> LedgerFileError:
    """The refusal of a file in which no sheet has a ledger header where clerks put it."""
    required = "、".join(f"“{COLUMNS_BY_FIELD[f].header}”" for f in ("code", "name"))
    return LedgerFileError(f"找不到表头：前 {HEADER_SEARCH_ROWS} 行中没有一行同时含有 {required} 等列名")


def _too_many_rows(max_rows: int) -> LedgerFileError:
    """The refusal of a file with more rows than any district's ledger (LEDGER_MAX_ROWS)."""
    return LedgerFileError(f"台账超过 {max_rows} 行数据，不像是一个区的排污口台账（上限可由 LEDGER_MAX_ROWS 设置）")


def _sheet_from_grid(name, grid: list[list[Any]], merges: list, max_rows: int) -> LedgerSheet:
    """The ledger in an already read grid (a CSV file), header found as in a workbook's sheet."""
    found = _find_header(_filled(grid, merges, lambda merge: merge.min_row <= HEADER_SEARCH_ROWS + 1))
    if not found:
        raise _no_header()
    header_rows, columns, headers, unknown = found
    rows = [(number + 1, cells) for number, cells in enumerate(grid) if number >= header_rows and any(
        cell is not None for cell in cells)]
    if len(rows) > max_rows:
        raise _too_many_rows(max_rows)
    return LedgerSheet(columns, headers, rows, unknown, name)


def _read_xlsx(path: Path, max_rows: int) -> LedgerSheet:
    """The first sheet of a workbook that has a ledger header, read as a stream.

    The workbook is opened read-only, so cells are parsed row by row from the file and only the
    non-blank rows under the header are kept; merged ranges are read from the sheet's XML.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        _refuse_zip_bomb(path)
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter to a ledger.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                for sheet in workbook.worksheets:
                    found = _read_sheet(workbook, sheet, max_rows)
                    if found:
                        return found
            finally:
                workbook.close()
    except LedgerFileError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as error:
        raise LedgerFileError(f"无法读取此 Excel 文件：文件已损坏或不是 .xlsx 格式（{type(error).__name__}）") from None
    except Exception as error:  # defusedxml and lxml raise their own types for hostile XML
        raise LedgerFileError(f"无法读取此 Excel 文件：内容不符合 .xlsx 格式（{type(error).__name__}）") from None
    raise _no_header()


def _refuse_zip_bomb(path: Path) -> None:
    """Refuse, before any XML is parsed, a workbook that would unpack to far more than a ledger."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
            raise LedgerFileError(
                f"文件解压后超过 {MAX_UNPACKED_BYTES // 1048576} MB，不像是台账（可能是压缩炸弹），未读取")
        for info in members:
            if info.file_size >= _RATIO_CHECKED_FROM and info.file_size > MAX_COMPRESSION_RATIO * max(
                    info.compress_size, 1):
                raise LedgerFileError(
                    f"文件中的“{info.filename}”压缩比超过 {MAX_COMPRESSION_RATIO} 倍，不像是台账（可能是压缩炸弹），未读取")


def _read_sheet(workbook, sheet, max_rows: int) -> LedgerSheet | None:
    """The ledger in one read-only sheet, or None when its first rows hold no ledger header."""
    sheet.reset_dimensions()  # the declared dimension may be a lie (A1:XFD1048576); read what is there
    merges = _merged_ranges(workbook, sheet)
    header_merges = [m for m in merges if m.min_row <= HEADER_SEARCH_ROWS + 1]
    # Below the header only vertical merges are data (one town over several outfalls);
    # a merge across columns there is a note or a footer, kept in its first cell only.
    vertical = sorted((m for m in merges if m.min_col == m.max_col), key=lambda m: m.min_row)
    top_rows: list[list[Any]] = []
    rows: list[tuple[int, list[Any]]] = []
    found = None
    blank_run = 0
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = _trimmed(values)
        if found is None:
            top_rows.append(cells)
            if number < HEADER_SEARCH_ROWS + 1:
                continue
            found = _find_header(_filled(top_rows, header_merges, lambda merge: True))
            if found is None:
                return None
            rows = [(n + 1, c) for n, c in enumerate(top_rows) if n >= found[0] and c]
            continue
        if not cells:
            blank_run += 1
            if blank_run >= MAX_BLANK_ROWS:
                break
            continue
        blank_run = 0
        if len(rows) >= max_rows:
            raise _too_many_rows(max_rows)
        rows.append((number, cells))
    if found is None:
        found = _find_header(_filled(top_rows, header_merges, lambda merge: True))
        if found is None:
            return None
        rows = [(n + 1, c) for n, c in enumerate(top_rows) if n >= found[0] and c]
    header_rows, columns, headers, unknown = found
    _fill_vertical(rows, vertical, header_rows)
    if len(rows) > max_rows:
        raise _too_many_rows(max_rows)
    return LedgerSheet(columns, headers, rows, unknown, sheet.title)


def _trimmed(values) -> list[Any]:
    """A row's values up to its last filled cell, and never beyond ``MAX_COLUMNS``."""
    cells = list(values[:MAX_COLUMNS])
    while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
        cells.pop()
    return cells


def _merged_ranges(workbook, sheet) -> list[CellRange]:
    """The sheet's merged ranges, read from its XML as a stream (read-only sheets do not keep them).

    A bare expat parser builds no tree, so a sheet of a million rows costs no memory here; a
    document type declaration (the way to entity bombs) is refused, as defusedxml would.
    """
    from xml.parsers import expat

    from openpyxl.worksheet.cell_range import CellRange

    ranges: list[CellRange] = []

    def start(tag, attributes):
        if tag.rsplit(":", 1)[-1] != "mergeCell":
            return
        try:
            merged = CellRange(attributes.get("ref") or "")
        except (ValueError, TypeError):
            return  # a damaged reference merges nothing
        if merged.min_col <= MAX_COLUMNS:
            ranges.append(merged)
        if len(ranges) > MAX_MERGED_RANGES:
            raise LedgerFileError(f"工作表“{sheet.title}”的合并单元格超过 {MAX_MERGED_RANGES} 处，不像是台账")

    def doctype(*_):
        raise LedgerFileError("Excel 文件中含有文档类型声明（DTD），不是正常的 .xlsx，未读取")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    # The path of the sheet's part inside the package: openpyxl knows it, and keeps it private.
    with workbook._archive.open(sheet._worksheet_path) as source:
        parser.ParseFile(source)
    return ranges


def _fill_vertical(rows: list[tuple[int, list[Any]]], merges: list[CellRange], header_rows: int) -> None:
    """Give each data row the value of the vertical merge it lies in (a town merged down its rows).

    Only the rows the file holds are visited: a merge down to row 1048576 costs no more than the ledger.
    """
    if not merges or not rows:
        return
    numbers = [number for number, _ in rows]
    for merged in merges:
        if merged.max_row <= header_rows:
            continue
        first = bisect_left(numbers, merged.min_row)
        if first == len(numbers) or numbers[first] != merged.min_row:
            continue  # the merge's top cell is blank: nothing to repeat
        column = merged.min_col - 1
        top = rows[first][1]
        value = top[column] if column < len(top) else None
        if value is None:
            continue
        for index in range(first + 1, bisect_right(numbers, merged.max_row)):
            cells = rows[index][1]
            if len(cells) <= column:
                cells.extend([None] * (column + 1 - len(cells)))
            cells[column] = value


def _filled(grid: list[list[Any]], merges: list, applies) -> list[list[Any]]:
    """A copy of the grid in which the merged ranges ``applies`` accepts repeat their top-left value.

    Rows may be shorter than a merge (a read-only sheet's rows end at their last value): they are
    lengthened as far as the merge reaches, never beyond ``MAX_COLUMNS``.
    """
    grid = [list(row) for row in grid]
    for merged in merges:
        if not applies(merged) or merged.min_row > len(grid):
            continue
        first = grid[merged.min_row - 1]
        top_left = first[merged.min_col - 1] if merged.min_col <= len(first) else None
        if top_left is None:
            continue
        last_column = min(merged.max_col, MAX_COLUMNS)
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            row = grid[r]
            if len(row) < last_column:
                row.extend([None] * (last_column - len(row)))
            for c in range(merged.min_col - 1, last_column):
                row[c] = top_left
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
    # Text saved as UTF-16 without its mark, or a binary file, is full of NULs; a stray NUL in a
    # cell is left for the row checks, which name its row and column.
    if text.count("\x00") > max(8, len(text) // 100):
        raise LedgerFileError("文件含有二进制内容，不是文本 CSV")
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        # Cells right of MAX_COLUMNS are dropped as they are read, as in a workbook.
        # An apostrophe the portal's CSV downloads put before a formula mark comes off again.
        return [[csv_unprotected(cell) if cell.strip() else None for cell in row[:MAX_COLUMNS]]
                for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as error:  # e.g. a cell longer than the csv module's field limit
        raise LedgerFileError(f"无法按 CSV 读取此文件：{error}") from None


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
