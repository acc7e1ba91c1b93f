"""Reports as CSV and XLSX for the bureau's statistics: every lifecycle timestamp and fact, never the contact.

``COLUMNS`` is the one definition of what an export holds. What is never in it: the reporter's name,
telephone and e-mail (not even sealed: those columns are not loaded at all), the description (it may
hold personal data; a published report's redacted ``public_description`` is given instead) and the
digest of the private link. Instants are in the district's time zone (TIMEZONE) without an offset,
``YYYY-MM-DD HH:MM:SS`` in CSV and date-times in XLSX; dates are ISO.

"In time" follows the public figures (``portal.reports.accountability``): accepted in time is yes
when the district date of acceptance is on or before ``accept_due``; answered in time likewise with
``finish_due`` (extensions included). Either is no when the step came late, or has not come and its
deadline has passed; empty while it may still come in time, and for answers of reports never accepted.

Rows are read a batch at a time (``yield_per``), so an export of 100,000 reports keeps one batch in
memory; the XLSX workbook is write-only for the same reason. Text is protected against formula
injection as the open-data downloads do (``portal.registry.ledger_format``).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, joinedload

from portal import calendar
from portal.extensions import db
from portal.models import Report
from portal.registry import vocabulary as vocab
from portal.registry.ledger_format import csv_protected, write_only_text
from portal.workflow import BEING_HANDLED, REJECTION_REASONS

BATCH_SIZE = 1000
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
XLSX_DATE_FORMAT = "yyyy-mm-dd"
# The columns an export never reads, so no personal data is even loaded.
PRIVATE_COLUMNS = (Report.reporter_name_sealed, Report.reporter_phone_sealed, Report.reporter_email_sealed,
                   Report.description, Report.secret_digest, Report.address_text, Report.routing_reasons)


@dataclass(frozen=True)
class Context:
    """What every row is read with: the district's zone, today, and the language of labels."""

    zone: ZoneInfo
    today: date
    english: bool


@dataclass(frozen=True)
class Column:
    """One exported field: its Chinese and English headers, how it is read, its XLSX width."""

    header: str
    header_en: str
    value: Callable[[Report, Context], Any]
    width: int = 14


def _label(vocabulary: vocab.Vocabulary, attribute: str) -> Callable[[Report, Context], str | None]:
    """A column of a code's label, Chinese or English."""
    def label(report: Report, context: Context) -> str | None:
        code = getattr(report, attribute)
        term = vocabulary.get(code)
        if term is None:
            return code
        return term.label_en if context.english else term.label

    return label


def _channel(report: Report, context: Context) -> str | None:
    """How the report arrived, as the intake names its channels."""
    from portal.reports.intake import CHANNELS  # the intake owns the list; imported late, it is heavy

    names = CHANNELS.get(report.channel)
    return (names[1] if context.english else names[0]) if names else report.channel


def _instant(attribute: str) -> Callable[[Report, Context], datetime | None]:
    """A column of a stored instant, as the district's wall-clock time (naive)."""
    def instant(report: Report, context: Context) -> datetime | None:
        value = getattr(report, attribute)
        return value.astimezone(context.zone).replace(tzinfo=None) if value else None

    return instant


def _attribute(attribute: str) -> Callable[[Report, Context], Any]:
    """A column of a plain attribute."""
    return lambda report, context: getattr(report, attribute)


def _department(report: Report, context: Context) -> str | None:
    """The handling department's name."""
    if report.department is None:
        return report.department_code
    return report.department.name_en if context.english else report.department.name


def _on_time(done: str, due: str, waiting: Callable[[Report], bool]) -> Callable[[Report, Context], bool | None]:
    """A yes/no column: the step ``done`` came by ``due``; None while it may still come (``waiting``)."""
    def on_time(report: Report, context: Context) -> bool | None:
        deadline, moment = getattr(report, due), getattr(report, done)
        if moment is not None:
            return deadline is None or moment.astimezone(context.zone).date() <= deadline
        if not waiting(report):
            return None
        return None if deadline is None or deadline >= context.today else False

    return on_time


def _public_description(report: Report, context: Context) -> str | None:
    """The redacted description, only for a published report (the original may hold personal data)."""
    return report.public_description if report.published else None


COLUMNS: list[Column] = [
    Column("查询码", "Tracking code", _attribute("tracking_code"), 12),
    Column("来源渠道", "Channel", _channel, 14),
    Column("举报类型", "Report type", _label(vocab.REPORT_CATEGORIES, "category"), 18),
    Column("状态", "Status", _label(vocab.REPORT_STATUSES, "status"), 12),
    Column("所在镇", "Town", lambda r, c: r.town.name if r.town else None, 10),
    Column("水体", "Water body", lambda r, c: r.water_body.name if r.water_body else None, 12),
    Column("承办部门", "Department", _department, 16),
    Column("承办人", "Assignee", lambda r, c: r.assignee.username if r.assignee else None, 12),
    Column("提交时间", "Received at", _instant("created_at"), 20),
    Column("受理期限", "Acceptance due", _attribute("accept_due"), 12),
    Column("受理时间", "Accepted at", _instant("accepted_at"), 20),
    Column("不予受理原因", "Reason not accepted", _label(REJECTION_REASONS, "rejection_reason"), 20),
    Column("交办时间", "Assigned at", _instant("assigned_at"), 20),
    Column("答复时间", "Answered at", _instant("answered_at"), 20),
    Column("办结期限", "Answer due", _attribute("finish_due"), 12),
    Column("延期天数", "Extension days", _attribute("extension_days"), 10),
    Column("延期原因", "Extension reason", _attribute("extension_reason"), 24),
    Column("结案时间", "Closed at", _instant("closed_at"), 20),
    Column("合并至", "Merged into", lambda r, c: r.merged_into.tracking_code if r.merged_into else None, 12),
    Column("督办级别", "Escalation level", _attribute("escalation_level"), 10),
    Column("督办时间", "Escalated at", _instant("escalated_at"), 20),
    Column("满意度评价", "Rating", _attribute("rating"), 10),
    Column("附议人数", "Me-too count", _attribute("me_too_count"), 10),
    Column("是否公开", "Published", _attribute("published"), 10),
    Column("按时受理", "Accepted in time", _on_time("accepted_at", "accept_due",
                                                    lambda r: r.status == "submitted"), 10),
    Column("按时办结", "Answered in time", _on_time("answered_at", "finish_due",
                                                    lambda r: r.status in BEING_HANDLED), 10),
    Column("公开描述", "Public description", _public_description, 40),
]


def headers(english: bool = False) -> list[str]:
    """The column headers, Chinese or English."""
    return [column.header_en if english else column.header for column in COLUMNS]


def export_rows(condition, *, english: bool = False, session: Session | None = None) -> Iterator[list]:
    """The values of every report matching ``condition`` (an SQL condition on Report), oldest first.

    Values are Python values (text, numbers, dates, naive district date-times, True/False/None);
    the writers format them. Reports are read ``BATCH_SIZE`` at a time, their town, water body,
    department, assignee and merge target joined in the same query, their private columns never.
    """
    context = Context(ZoneInfo(current_app.config["TIMEZONE"]), calendar.today(), english)
    query = (
        select(Report).where(condition)
        .options(*(defer(column, raiseload=True) for column in PRIVATE_COLUMNS),
                 joinedload(Report.town), joinedload(Report.water_body), joinedload(Report.department),
                 joinedload(Report.assignee), joinedload(Report.merged_into).load_only(Report.tracking_code))
        .order_by(Report.created_at, Report.id)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for report in (session or db.session).scalars(query):
        yield [column.value(report, context) for column in COLUMNS]


# ---------------------------------------------------------------------------------------------
# CSV


def csv_cell(value: Any, english: bool = False) -> str:
    """A value as CSV text: date-times and dates ISO, flags 是/否 (yes/no), text never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("yes" if value else "no") if english else ("是" if value else "否")
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return csv_protected(str(value))


def csv_chunks(condition, *, english: bool = False, session: Session | None = None) -> Iterator[bytes]:
    """The CSV file as bytes: UTF-8 with a BOM (so Excel reads the Chinese), the header, then a chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers(english))
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    rows = 0
    for row in export_rows(condition, english=english, session=session):
        writer.writerow([csv_cell(value, english) for value in row])
        rows += 1
        if rows % BATCH_SIZE == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def write_csv(stream: IO, condition, *, english: bool = False, session: Session | None = None) -> None:
    """Write the CSV file to a binary stream (or a text stream, which then gets the same text)."""
    text = isinstance(stream, io.TextIOBase)
    for chunk in csv_chunks(condition, english=english, session=session):
        stream.write(chunk.decode("utf-8") if text else chunk)


# ---------------------------------------------------------------------------------------------
# XLSX


def write_xlsx(path_or_stream, condition, *, english: bool = False, session: Session | None = None) -> None:
    """Write the reports as an .xlsx workbook to a path or a binary stream, row by row (write-only)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Reports" if english else "举报")
    for position, column in enumerate(COLUMNS):
        sheet.column_dimensions[get_column_letter(position + 1)].width = column.width
    sheet.freeze_panes = "B2"
    bold = Font(bold=True)
    header = []
    for text in headers(english):
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in export_rows(condition, english=english, session=session):
        sheet.append([_xlsx_value(sheet, value, english) for value in row])
    workbook.save(path_or_stream)


def _xlsx_value(sheet, value: Any, english: bool):
    """A cell's content: numbers, dates and date-times as such, flags as 是/否, text always as text.

    Dates and date-times get a cell of their own (for their format); text goes through
    ``write_only_text``, which types as text what a spreadsheet would run.
    """
    if isinstance(value, bool):
        return ("yes" if value else "no") if english else ("是" if value else "否")
    if isinstance(value, (datetime, date)):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = XLSX_DATETIME_FORMAT if isinstance(value, datetime) else XLSX_DATE_FORMAT
        return cell
    return write_only_text(sheet, value) if isinstance(value, str) else value
