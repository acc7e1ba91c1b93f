"""Open data of monitoring: every result — outfalls' effluent and sections' water — as CSV or XLSX rows.

``COLUMNS`` is the one definition of the published fields (the writers take their headers from it
and /data lists it). A non-detect is written ``<DL`` (never 0); the verdict is 超标, 达标, 无法判定 or
无适用限值 exactly as the pages say it. The sampler is a person and is not published; the lab is.
Cells that a spreadsheet would run as a formula are protected as in the outfall downloads.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import tzinfo
from typing import IO, Any, Callable, Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload

from portal.models import MonitoringSample, StandardLimit
from portal.monitoring import results
from portal.monitoring.parameters import display_value
from portal.registry.ledger_format import csv_protected
from portal.registry.open_data import write_table_xlsx

BATCH_SIZE = 1000
YES, NO = "是", "否"
# Verdicts in the data's own language, whatever the visitor's interface language.
VERDICTS = {results.OVER: "超标", results.WITHIN: "达标", results.UNDETERMINED: "无法判定",
            results.NO_LIMIT: "无适用限值"}


@dataclass(frozen=True)
class Column:
    """One published field: its header, what it means (shown on /data), and how it is read."""

    header: str
    meaning: Any
    value: Callable[[MonitoringSample, tzinfo], Any]
    width: int = 14


def limit_text(limit: StandardLimit | None) -> str | None:
    """A limit as the bureau writes it (≤ 50, ≥ 5, 6–9, with its condition), without its unit."""
    if limit is None:
        return None
    number = "{:.10g}".format
    if limit.minimum is not None and limit.maximum is not None:
        text = f"{number(limit.minimum)}–{number(limit.maximum)}"
    elif limit.maximum is not None:
        text = f"≤ {number(limit.maximum)}"
    elif limit.minimum is not None:
        text = f"≥ {number(limit.minimum)}"
    else:
        text = ""
    return text + (f"（{limit.condition}）" if limit.condition else "")


def _site(sample: MonitoringSample):
    return sample.outfall or sample.section


def _value(sample: MonitoringSample, _zone):
    # A number stays a number (sortable in a spreadsheet); a non-detect is text "<DL".
    return display_value(None, sample.detection_limit) if sample.below_detection else sample.value


COLUMNS: list[Column] = [
    Column("点位编码", _l("排污口编码或监测断面编码。"), lambda s, z: _site(s).code, 16),
    Column("点位类型", _l("outfall：排污口出水；section：受纳水体的监测断面。"),
           lambda s, z: "outfall" if s.outfall_id is not None or s.outfall is not None else "section", 10),
    Column("点位名称", _l("排污口或断面的名称。"), lambda s, z: _site(s).name, 30),
    Column("采样时间", _l("采样的日期和时间，北京时间，ISO 8601 格式（如 2026-11-20T09:30:00+08:00）。"),
           lambda s, z: s.sampled_at.astimezone(z).isoformat(), 26),
    Column("监测项目", _l("监测项目代码：COD、BOD5、NH3-N、TP、pH、粪大肠菌群、水温、流量等。"),
           lambda s, z: s.parameter, 12),
    Column("结果", _l("测定值（已换算为标准单位）；低于检出限的写作“<检出限”，如 <0.05，不是零。"), _value, 10),
    Column("单位", _l("结果和限值的单位：mg/L；粪大肠菌群 个/L；水温 ℃；流量 m³/d；pH 无单位。"),
           lambda s, z: s.unit or "", 8),
    Column("限值", _l("评价该结果所用的限值，如 ≤ 50、≥ 5、6–9；无适用限值的为空。"),
           lambda s, z: limit_text(s.limit), 16),
    Column("执行标准", _l("限值所属的标准或排污许可证（排污口按排放标准，断面按 GB 3838 水质类别）。"),
           lambda s, z: s.limit.standard.label if s.limit else None, 24),
    Column("评价", _l("超标、达标、无法判定（未检出但检出限高于限值）或无适用限值。"),
           lambda s, z: VERDICTS[results.verdict(s)], 10),
    Column("检测单位", _l("出具结果的检测机构。"), lambda s, z: s.lab, 26),
    Column("是否演示数据", _l("“是”：为演示平台而虚构的数据。"), lambda s, z: s.is_demo, 10),
]
HEADERS = [column.header for column in COLUMNS]


def batches(session: Session) -> Iterator[list[MonitoringSample]]:
    """Every result in time order, a batch of ``BATCH_SIZE`` at a time, with its site and limit."""
    query = (select(MonitoringSample)
             .options(joinedload(MonitoringSample.outfall), joinedload(MonitoringSample.section),
                      joinedload(MonitoringSample.limit).joinedload(StandardLimit.standard))
             .order_by(MonitoringSample.sampled_at, MonitoringSample.id)
             .execution_options(yield_per=BATCH_SIZE))
    for batch in session.scalars(query).partitions():
        yield list(batch)


def csv_cell(value: Any) -> str:
    """A value as CSV text, formula marks protected."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float):
        return f"{value:.10g}"
    return csv_protected(str(value))


def stream_csv(engine: Engine, zone: tzinfo) -> Iterator[bytes]:
    """The CSV file as it is sent (UTF-8 with BOM), read through a session of its own."""
    with Session(engine) as session:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(HEADERS)
        yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
        for batch in batches(session):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([csv_cell(column.value(sample, zone)) for column in COLUMNS] for sample in batch)
            yield buffer.getvalue().encode("utf-8")


def write_xlsx(session: Session, zone: tzinfo) -> IO[bytes]:
    """The results as a write-only workbook in an anonymous temporary file, returned open at its start."""
    rows = ([column.value(sample, zone) for column in COLUMNS] for batch in batches(session) for sample in batch)
    return write_table_xlsx("监测结果", HEADERS, [column.width for column in COLUMNS], rows)
