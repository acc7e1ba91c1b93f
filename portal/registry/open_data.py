"""Open data: the registry as rows anyone may reuse, written as CSV or XLSX a batch at a time.

``COLUMNS`` is the one definition of the published fields: the CSV and XLSX writers take their
headers and values from it, and /data lists it as the field reference. What is never published:
a natural person's name (``ResponsibleParty.public_name`` masks it), any telephone of a party,
and the free-text note, which may hold personal data.
"""
from __future__ import annotations

import csv
import io
import math
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import IO, Any, Callable, Iterable, Iterator
from xml.sax.saxutils import escape as xml_escape

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from portal.extensions import db
from portal.models import Outfall, RectificationPlan, ResponsibleParty, RiverChief, Town, WaterBody
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.registry.locations import PublicPartyNames
from portal.registry.plan_summary import is_overdue
from portal.registry.ledger_format import XML_ILLEGAL, csv_protected

# Rows fetched from the database's cursor at a time (and written to the download as one chunk).
BATCH_SIZE = 1000

YES, NO = "是", "否"


@dataclass(frozen=True)
class Record:
    """One outfall as the downloads see it: a row of ``_RECORD_COLUMNS`` (the outfall's fields, its
    town, water, public party name, leader and main plan), whether any plan is overdue, its page."""

    row: Any
    overdue: bool
    url: str
    party: str | None  # the party's public name (a person masked)


@dataclass(frozen=True)
class Column:
    """One published field: its header in the files, what it means, its kind and how it is read."""

    header: str
    meaning: Any  # a lazy translation: /data shows it in the visitor's language
    kind: str  # text | number | date | flag | url
    value: Callable[[Record], Any]
    width: int = 14  # XLSX column width, in characters


def _field(name: str) -> Callable[[Record], Any]:
    return lambda record: getattr(record.row, name)


def _plan(attribute: str) -> Callable[[Record], Any]:
    return _field("plan_" + attribute)


def _label(vocabulary: vocab.Vocabulary, read: Callable[[Record], str | None]) -> Callable[[Record], str | None]:
    # Chinese labels: the data's own language, whatever the visitor's interface language.
    labels = {term.code: term.label for term in vocabulary}

    def label(record: Record) -> str | None:
        code = read(record)
        return labels.get(code, code) if code else None

    return label


COLUMNS: list[Column] = [
    Column("排污口编码", _l("排污口在本区台账中的编码，也是其公开页面网址的一部分，长期不变。"), "text",
           _field("code"), 16),
    Column("国家编码", _l("按 HJ 1235-2021 编制的全国统一编码；尚未赋码的为空。"), "text",
           _field("national_code"), 22),
    Column("排污口名称", _l("排污口的名称。"), "text", _field("name"), 36),
    Column("所在镇", _l("排污口所在的镇，即属地责任主体。"), "text", _field("town"), 10),
    Column("受纳水体", _l("排污口排入的河流、湖泊或水库。"), "text",
           _field("water_body")),
    Column("经度", _l("WGS84 经度（十进制度，保留 6 位小数）。"), "number", _field("longitude"), 12),
    Column("纬度", _l("WGS84 纬度（十进制度，保留 6 位小数）。"), "number", _field("latitude"), 12),
    Column("排污口类型", _l("一级类型：工业排污口、城镇污水处理厂排污口、农业排口或其他排口。"), "text",
           _label(vocab.OUTFALL_TYPES, _field("outfall_type")), 20),
    Column("排污口类别", _l("二级类别，如城镇生活污水散排口。"), "text",
           _label(vocab.OUTFALL_SUBTYPES, _field("outfall_subtype")), 24),
    Column("责任主体", _l("对排污口负责的单位；责任主体为自然人的，只公开姓氏（如“张**”）。"), "text",
           lambda r: r.party, 26),
    Column("排放方式", _l("连续、间歇或季节性排放。"), "text",
           _label(vocab.DISCHARGE_MODES, _field("discharge_mode")), 10),
    Column("审批登记情况", _l("排污口设置是否经过审批或登记。"), "text",
           _label(vocab.APPROVAL_STATUSES, _field("approval_status"))),
    Column("所处阶段", _l("专项行动五个阶段中排污口所处的阶段：排查、监测、溯源、整治、规范化建设。"), "text",
           _label(vocab.STAGES, _field("stage")), 12),
    Column("整治类型", _l("主要整治方案的整治类型：依法取缔、清理合并、规范整治或保留。"), "text",
           _label(vocab.MEASURES, _plan("measure")), 12),
    Column("整治措施", _l("主要整治方案的具体措施。"), "text", _plan("measures_text"), 30),
    Column("整治时限", _l("主要整治方案应完成的日期。"), "date", _plan("deadline"), 12),
    Column("整治进展", _l("主要整治方案的进展：未开始、整治中、已完成或已销号。"), "text",
           _label(vocab.PLAN_STATUSES, _plan("status")), 10),
    Column("过渡期截止", _l("整治难度大、批准过渡期的，过渡期的最后一天；逾期按此日期判断。"), "date",
           _plan("transition_ends_on"), 12),
    Column("完成日期", _l("主要整治方案完成整治的日期。"), "date", _plan("completed_on"), 12),
    Column("验收销号日期", _l("整治经验收、排污口销号的日期。"), "date", _plan("verified_on"), 12),
    Column("是否逾期", _l("“是”：该排污口至少有一项整治要求超过时限（或过渡期）仍未完成，按下载当天判断。"), "flag",
           lambda r: r.overdue, 10),
    Column("包保领导", _l("河湖长制下负责该排污口的领导（公职人员）。"), "text",
           lambda r: r.row.chief_name if r.row.chief_name is not None else r.row.supervising_leader, 10),
    Column("是否演示数据", _l("“是”：为演示平台而虚构的数据，不是真实排污口。"), "flag",
           lambda r: bool(r.row.is_demo), 10),
    Column("页面链接", _l("排污口公开页面（一口一档）的网址。"), "url", lambda r: r.url, 40),
]

HEADERS = [column.header for column in COLUMNS]


def _record_query(outfall_filter: OutfallFilter, today: date):
    """One statement for every row: the outfall's own columns, its town, water, party and chief, and
    its main plan joined by the id the outfall keeps (portal.registry.plan_summary)."""
    plan = aliased(RectificationPlan, name="main_plan")
    party = aliased(ResponsibleParty, name="party")
    chief = aliased(RiverChief, name="chief")
    query = (
        select(Outfall.code, Outfall.national_code, Outfall.name, Town.name.label("town"),
               WaterBody.name.label("water_body"), Outfall.longitude, Outfall.latitude, Outfall.outfall_type,
               Outfall.outfall_subtype, Outfall.discharge_mode, Outfall.approval_status, Outfall.stage,
               Outfall.supervising_leader, Outfall.is_demo, Outfall.open_due_on,
               chief.name.label("chief_name"), party.id.label("party_id"), party.name.label("party_name"),
               party.kind.label("party_kind"), party.is_demo.label("party_is_demo"),
               *(getattr(plan, name).label("plan_" + name) for name in _PLAN_FIELDS))
        .select_from(Outfall)
        .join(Town, Town.id == Outfall.town_id)
        .outerjoin(WaterBody, WaterBody.id == Outfall.water_body_id)
        .outerjoin(party, party.id == Outfall.responsible_party_id)
        .outerjoin(chief, chief.id == Outfall.supervising_chief_id)
        .outerjoin(plan, plan.id == Outfall.main_plan_id)
    )
    return outfall_filter.apply(query, today).order_by(Outfall.code)


_PLAN_FIELDS = ("measure", "measures_text", "deadline", "status", "transition_ends_on", "completed_on",
                "verified_on")


def records(outfall_filter: OutfallFilter, today: date, page_url: Callable[[str], str],
            session: Session | None = None) -> Iterator[list[Record]]:
    """The outfalls a filter lets through, in code order, as batches of ``BATCH_SIZE`` records.

    Plain rows from one statement, read from a server-side cursor a batch at a time, so memory
    holds one batch whatever the registry's size and the first rows come as soon as the database
    has them. ``page_url`` maps a code to its page; ``session`` defaults to the request's.
    """
    party_name = PublicPartyNames()
    result = (session or db.session).execute(
        _record_query(outfall_filter, today).execution_options(yield_per=BATCH_SIZE))
    for batch in result.partitions():
        # Overdue as the list's filter means it: any of the outfall's plans, not only the main one.
        yield [Record(row, is_overdue(row.open_due_on, today), page_url(row.code),
                      party_name(row.party_id, row.party_name, row.party_kind, row.party_is_demo))
               for row in batch]


# ---------------------------------------------------------------------------------------------
# CSV


def csv_cell(value: Any) -> str:
    """A value as CSV text: dates ISO, flags 是/否, coordinates with 6 decimals.

    Text that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe
    (``ledger_format.csv_protected``); the ledger importer takes it off again.
    """
    if isinstance(value, str):
        return csv_protected(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, date):
        return value.isoformat()
    return csv_cell(str(value))


def stream_csv(outfall_filter: OutfallFilter, today: date, page_url: Callable[[str], str],
               engine: Engine) -> Iterator[bytes]:
    """The CSV file, read through a session of its own as it is sent.

    A streamed response outlives the request that started it, and with it the request's session:
    this one is opened when the first chunk is wanted and closed after the last, or when the
    download is abandoned (the server then closes this generator).
    """
    with Session(engine) as session:
        yield from csv_chunks(records(outfall_filter, today, page_url, session))


def csv_chunks(batches: Iterable[list[Record]]) -> Iterator[bytes]:
    """The CSV file as it is sent: UTF-8 with a BOM (so Excel reads the Chinese), then one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_cell(column.value(record)) for column in COLUMNS] for record in batch)
        yield buffer.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------
# XLSX


def stream_xlsx(outfall_filter: OutfallFilter, today: date, page_url: Callable[[str], str],
                engine: Engine, sheet_title: str = "入河排污口") -> Iterator[bytes]:
    """The outfalls as an .xlsx sent as it is written, read through a session of its own (as ``stream_csv``)."""
    with Session(engine) as session:
        rows = ([column.value(record) for column in COLUMNS]
                for batch in records(outfall_filter, today, page_url, session) for record in batch)
        yield from xlsx_chunks(sheet_title, HEADERS, [column.width for column in COLUMNS], rows)


def write_xlsx(batches: Iterable[list[Record]], sheet_title: str = "入河排污口") -> IO[bytes]:
    """The outfalls as an .xlsx in an anonymous temporary file, open at its start (``write_table_xlsx``)."""
    rows = ([column.value(record) for column in COLUMNS] for batch in batches for record in batch)
    return write_table_xlsx(sheet_title, HEADERS, [column.width for column in COLUMNS], rows)


def write_table_xlsx(sheet_title: str, headers: list[str], widths: list[float],
                     rows: Iterable[list[Any]]) -> IO[bytes]:
    """Write a header row and the rows to an .xlsx in an anonymous temporary file; return it open at its start.

    The file has no name on disk: it disappears when the caller closes it, even if the download is
    interrupted. The bytes are ``xlsx_chunks``'s, the one writer of every open-data workbook.
    """
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        for chunk in xlsx_chunks(sheet_title, headers, widths, rows):
            handle.write(chunk)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle


def xlsx_chunks(sheet_title: str, headers: list[str], widths: list[float],
                rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """A one-sheet .xlsx (header in bold, frozen under the header and the first column) as the
    bytes of its zip, produced while the rows are read, so the first bytes leave at once and memory
    holds one block of rows whatever their number.

    Written directly as SpreadsheetML (ISO/IEC 29500), several times faster than a workbook
    library's cell objects at 100,000 rows: text is always an inline string (never a formula,
    whatever it starts with, and without the characters XML cannot carry), numbers are numbers,
    dates and times are dates shown yyyy-mm-dd (hh:mm:ss), flags 是/否.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in _xlsx_frame(sheet_title).items():
            archive.writestr(name, text)
        yield sink.take()
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_sheet_head(widths).encode())
            block = [_xlsx_row(1, headers, header=True)]
            for number, row in enumerate(rows, start=2):
                block.append(_xlsx_row(number, row))
                if len(block) >= 500:
                    sheet.write("".join(block).encode())
                    block.clear()
                    chunk = sink.take()
                    if chunk:
                        yield chunk
            block.append("</sheetData></worksheet>")
            sheet.write("".join(block).encode())
    yield sink.take()


class _Sink(io.RawIOBase):
    """Where the zip writer puts its bytes until they are sent (it needs no seeking for that)."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap year, from March 1900 on)
_TEXT, _BOLD, _DATE, _DATETIME = 0, 1, 2, 3  # cell styles of _STYLES, in order


def _xlsx_row(number: int, values, header: bool = False) -> str:
    """One row of SpreadsheetML; empty values leave no cell. The hottest loop of a download (2.4
    million cells at 100,000 outfalls): text, the common case, is tested first."""
    cells = []
    row = str(number)
    text_cell = _HEADER_CELL if header else _TEXT_CELL
    for position, value in enumerate(values):
        if value is None or value == "":
            continue
        kind = type(value)
        if kind is bool:
            value, kind = (YES if value else NO), str
        if kind is str:
            if _NEEDS_ESCAPE.search(value):
                value = xml_escape(XML_ILLEGAL.sub("", value))
            cells.append(text_cell % (_column_letters(position), row, value))
        elif kind is datetime:
            serial = (value.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400
            cells.append(f'<c r="{_column_letters(position)}{row}" s="{_DATETIME}"><v>{serial!r}</v></c>')
        elif kind is date:
            cells.append(f'<c r="{_column_letters(position)}{row}" s="{_DATE}"><v>{(value - _EPOCH_DAY).days}</v></c>')
        elif kind in (int, float) and math.isfinite(value):
            cells.append(f'<c r="{_column_letters(position)}{row}"><v>{value!r}</v></c>')
        else:
            cells.append(_TEXT_CELL % (_column_letters(position), row, xml_escape(XML_ILLEGAL.sub("", str(value)))))
    return f'<row r="{row}">{"".join(cells)}</row>'


_TEXT_CELL = '<c r="%s%s" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>'
_HEADER_CELL = f'<c r="%s%s" t="inlineStr" s="{_BOLD}"><is><t xml:space="preserve">%s</t></is></c>'
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")
_EPOCH_DAY = _EPOCH.date()


@lru_cache(maxsize=256)
def _column_letters(position: int) -> str:
    """A, B, … Z, AA … for a 0-based column position."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_head(widths: list[float]) -> str:
    columns = "".join(f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
                      for n, width in enumerate(widths, start=1))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0"><pane xSplit="1" ySplit="1" topLeftCell="B2" '
        'activePane="bottomRight" state="frozen"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/>{"<cols>" + columns + "</cols>" if columns else ""}<sheetData>'
    )


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


def _xlsx_frame(sheet_title: str) -> dict[str, str]:
    """Every part of the workbook but its sheet's rows."""
    title = xml_escape(XML_ILLEGAL.sub("", sheet_title)[:31], {'"': "&quot;"})
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES,
    }
