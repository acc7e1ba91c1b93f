"""Open data: the registry as rows anyone may reuse, written as CSV or XLSX a batch at a time.

``COLUMNS`` is the one definition of the published fields: the CSV and XLSX writers take their
headers and values from it, and /data lists it as the field reference. What is never published:
a natural person's name (``ResponsibleParty.public_name`` masks it), any telephone of a party,
and the free-text note, which may hold personal data.
"""
from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, Callable, Iterable, Iterator

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.extensions import db
from portal.models import Outfall, RectificationPlan
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.registry.ledger_format import csv_protected, write_only_text

# Outfalls fetched from the database per round trip; each batch costs one more query, for its plans.
BATCH_SIZE = 1000

YES, NO = "是", "否"


@dataclass(frozen=True)
class Record:
    """One outfall as the downloads see it: the outfall, its main plan, whether any plan is overdue, its page."""

    outfall: Outfall
    plan: RectificationPlan | None
    overdue: bool
    url: str


@dataclass(frozen=True)
class Column:
    """One published field: its header in the files, what it means, its kind and how it is read."""

    header: str
    meaning: Any  # a lazy translation: /data shows it in the visitor's language
    kind: str  # text | number | date | flag | url
    value: Callable[[Record], Any]
    width: int = 14  # XLSX column width, in characters


def _plan(attribute: str) -> Callable[[Record], Any]:
    return lambda record: getattr(record.plan, attribute) if record.plan else None


def _label(vocabulary: vocab.Vocabulary, read: Callable[[Record], str | None]) -> Callable[[Record], str | None]:
    # Chinese labels: the data's own language, whatever the visitor's interface language.
    labels = {term.code: term.label for term in vocabulary}

    def label(record: Record) -> str | None:
        code = read(record)
        return labels.get(code, code) if code else None

    return label


def _party(record: Record) -> str | None:
    party = record.outfall.responsible_party
    return party.public_name if party else None


COLUMNS: list[Column] = [
    Column("排污口编码", _l("排污口在本区台账中的编码，也是其公开页面网址的一部分，长期不变。"), "text",
           lambda r: r.outfall.code, 16),
    Column("国家编码", _l("按 HJ 1235-2021 编制的全国统一编码；尚未赋码的为空。"), "text",
           lambda r: r.outfall.national_code, 22),
    Column("排污口名称", _l("排污口的名称。"), "text", lambda r: r.outfall.name, 36),
    Column("所在镇", _l("排污口所在的镇，即属地责任主体。"), "text", lambda r: r.outfall.town.name, 10),
    Column("受纳水体", _l("排污口排入的河流、湖泊或水库。"), "text",
           lambda r: r.outfall.water_body.name if r.outfall.water_body else None),
    Column("经度", _l("WGS84 经度（十进制度，保留 6 位小数）。"), "number", lambda r: r.outfall.longitude, 12),
    Column("纬度", _l("WGS84 纬度（十进制度，保留 6 位小数）。"), "number", lambda r: r.outfall.latitude, 12),
    Column("排污口类型", _l("一级类型：工业排污口、城镇污水处理厂排污口、农业排口或其他排口。"), "text",
           _label(vocab.OUTFALL_TYPES, lambda r: r.outfall.outfall_type), 20),
    Column("排污口类别", _l("二级类别，如城镇生活污水散排口。"), "text",
           _label(vocab.OUTFALL_SUBTYPES, lambda r: r.outfall.outfall_subtype), 24),
    Column("责任主体", _l("对排污口负责的单位；责任主体为自然人的，只公开姓氏（如“张**”）。"), "text", _party, 26),
    Column("排放方式", _l("连续、间歇或季节性排放。"), "text",
           _label(vocab.DISCHARGE_MODES, lambda r: r.outfall.discharge_mode), 10),
    Column("审批登记情况", _l("排污口设置是否经过审批或登记。"), "text",
           _label(vocab.APPROVAL_STATUSES, lambda r: r.outfall.approval_status)),
    Column("所处阶段", _l("专项行动五个阶段中排污口所处的阶段：排查、监测、溯源、整治、规范化建设。"), "text",
           _label(vocab.STAGES, lambda r: r.outfall.stage), 12),
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
           lambda r: r.outfall.supervising_chief.name if r.outfall.supervising_chief else r.outfall.supervising_leader,
           10),
    Column("是否演示数据", _l("“是”：为演示平台而虚构的数据，不是真实排污口。"), "flag",
           lambda r: r.outfall.is_demo, 10),
    Column("页面链接", _l("排污口公开页面（一口一档）的网址。"), "url", lambda r: r.url, 40),
]

HEADERS = [column.header for column in COLUMNS]


def records(outfall_filter: OutfallFilter, today: date, page_url: Callable[[str], str],
            session: Session | None = None) -> Iterator[list[Record]]:
    """The outfalls a filter lets through, in code order, as batches of ``BATCH_SIZE`` records.

    The outfalls are read from a server-side cursor, and each batch's plans in one more query, so
    the statements grow with the batches, never with the rows, and one batch at a time is in memory.
    ``page_url`` maps a code to its page; ``session`` defaults to the request's.
    """
    # Plans are loaded per batch by outfall id (an index lookup) rather than joined to each row:
    # PostgreSQL plans a cursor for its first rows, and a per-row "first plan of this outfall"
    # subquery then costs a scan of every plan for every outfall.
    query = (
        outfall_filter.apply(select(Outfall), today)
        .options(joinedload(Outfall.town), joinedload(Outfall.water_body), joinedload(Outfall.responsible_party),
                 joinedload(Outfall.supervising_chief), selectinload(Outfall.plans))
        .order_by(Outfall.code)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for batch in (session or db.session).scalars(query).partitions():
        # Overdue as the list's filter means it: any of the outfall's plans, not only the main one.
        yield [Record(outfall, outfall.plan, any(plan.is_overdue(today) for plan in outfall.plans),
                      page_url(outfall.code))
               for outfall in batch]


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


def write_xlsx(batches: Iterable[list[Record]], sheet_title: str = "入河排污口") -> IO[bytes]:
    """The outfalls as an .xlsx in an anonymous temporary file, open at its start (``write_table_xlsx``)."""
    rows = ([column.value(record) for column in COLUMNS] for batch in batches for record in batch)
    return write_table_xlsx(sheet_title, HEADERS, [column.width for column in COLUMNS], rows)


def write_table_xlsx(sheet_title: str, headers: list[str], widths: list[float],
                     rows: Iterable[list[Any]]) -> IO[bytes]:
    """Write a header row and the rows to an .xlsx in an anonymous temporary file; return it open at its start.

    The workbook is write-only, so rows go to disk as they come and memory stays flat. The file has
    no name on disk: it disappears when the caller closes it, even if the download is interrupted.
    Every open-data workbook (outfalls, monitoring results) is written here.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for position, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(position + 1)].width = width
    sheet.freeze_panes = "B2"
    bold = Font(bold=True)
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_value(sheet, value) for value in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        workbook.save(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle


def _xlsx_value(sheet, value: Any):
    """What goes in a cell: numbers and dates as such (dates shown yyyy-mm-dd), text always as text.

    Text goes through ``write_only_text``, which types as text what a spreadsheet would run.
    """
    if isinstance(value, bool):
        return YES if value else NO
    return write_only_text(sheet, value) if isinstance(value, str) else value
