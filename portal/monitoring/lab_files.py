"""Importing a lab's results (化验结果): read → check every row → compare with what is stored → write.

Labs send spreadsheets in one of two shapes, told apart by the header:

- **long form**, one row per parameter: 点位/点位编码/排污口编码/断面编码 (an outfall's or a section's
  code), 采样时间 (a date, or date and time, local ``TIMEZONE``), 监测项目, 监测结果/结果, 单位 (or the
  unit in the result's header, ``结果(mg/L)``), 检出限, 采样人, 检测单位/监测单位, optional 流量(m³/d);
- **wide form**, one row per sampling: the site and time columns, then one column per parameter with
  its unit in the header (``COD(mg/L)``, ``总磷（μg/L）``) or in a units row under the header.

Every result becomes a ``MonitoringSample`` at its site in the parameter's canonical unit
(``portal.monitoring.parameters``), judged by ``portal.monitoring.standards.judge_all`` with the
water temperature sampled with it. A result is identified by (site, sampling time, parameter):
importing the same file twice changes nothing, a corrected value replaces the stored one and the
summary says so. Any bad row refuses the whole file, and nothing is written; each refusal names its
row and column (``第 N 行「列」：…``).
"""
from __future__ import annotations

import re
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from portal import calendar
from portal.extensions import db
from portal.importing import FileRejected, RowError
from portal.models import MonitoringSample, MonitoringSection, Outfall
from portal.monitoring import parameters as params
from portal.monitoring.standards import judge_all
from portal.registry import stages
from portal.registry.ledger_format import CellError, read_date
from portal.registry.ledger_reader import (
    MAX_BLANK_ROWS,
    LedgerFileError,
    _csv_grid,
    _fill_vertical,
    _merged_ranges,
    _refuse_zip_bomb,
    _trimmed,
)

# Bounds a lab's file never reaches (a year of weekly samples at every site is a few thousand rows);
# module constants so that tests can lower them.
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
HEADER_SEARCH_ROWS = 30
TEXT_MAX = {"sampler": 100, "lab": 200}
SOURCE_PREFIX = "化验结果导入 "
SOURCE_LENGTH = MonitoringSample.__table__.c.source.type.length

# Header spellings (folded by parameters.fold_name) → field. 点位 may hold a code or a site's name.
HEADERS = {
    "site": ("点位编码", "排污口编码", "断面编码", "站点编码", "编码", "点位代码", "监测点位编码", "采样点位编码",
             "点位编号", "排污口编号", "断面编号"),
    # A site's name, used when the file has no code column (a code column wins when both are there).
    "site_name": ("点位", "监测点位", "采样点位", "点位名称", "排污口", "排污口名称", "断面", "断面名称",
                  "监测断面", "采样地点", "监测点位名称"),
    # A file may give the day and the time in one column or in two (采样日期 + 采样时间).
    "sampled_at": ("采样时间", "监测时间", "时间", "采样日期时间", "采样日期及时间"),
    "sampled_on": ("采样日期", "监测日期", "日期"),
    "parameter": ("监测项目", "检测项目", "项目", "指标", "监测指标", "分析项目", "项目名称", "检测指标",
                  "污染物", "污染物名称", "监测因子", "因子"),
    "value": ("监测结果", "结果", "检测结果", "测定值", "浓度", "测定结果", "分析结果", "数值", "监测值", "检测值",
              "实测值", "测值", "监测浓度", "排放浓度"),
    "unit": ("单位", "计量单位", "结果单位"),
    "detection_limit": ("检出限", "方法检出限", "检测限"),
    "sampler": ("采样人", "采样人员", "采样员"),
    "lab": ("检测单位", "监测单位", "检测机构", "监测机构", "实验室", "分析单位"),
    # Columns a lab adds that the portal works out itself or does not keep: read past, not refused.
    "note": ("备注", "说明", "序号", "执行标准", "标准限值", "限值", "标准值", "达标情况", "是否达标", "评价",
             "评价结果", "超标倍数", "样品编号", "样品状态", "天气", "报告编号", "采样方式", "分析方法", "检测方法",
             "检测依据", "样品性状", "报告日期", "检测日期", "分析日期"),
}
_FIELD_BY_HEADER = {params.fold_name(spelling): name for name, spellings in HEADERS.items() for spelling in spellings}
_DATETIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*T?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})\s*秒?)?\s*分?)?"
)
_TIME = re.compile(r"(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?\s*分?")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")





class SamplesRejected(FileRejected):
    """The lab's file was refused whole; nothing was written."""

    noun = _l("化验结果")


@dataclass
class Change:
    """A stored result the file corrects: what it was and what it becomes."""

    site: str
    sampled_at: datetime
    parameter: str
    unit: str
    old: str
    new: str


@dataclass
class SiteCount:
    """What the file does at one site."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0


@dataclass
class SamplesSummary:
    """What an import did (or, in a dry run, would do)."""

    filename: str
    form: str  # "long" | "wide"
    by_site: dict[str, SiteCount] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        """Results new to the portal."""
        return sum(count.added for count in self.by_site.values())

    @property
    def replaced(self) -> int:
        """Stored results the file corrected."""
        return sum(count.replaced for count in self.by_site.values())

    @property
    def unchanged(self) -> int:
        """Results the portal already held exactly so."""
        return sum(count.unchanged for count in self.by_site.values())

    def report(self, dry_run: bool = False, zone=None) -> str:
        """A summary the clerk can check against the file."""
        verb = "将" if dry_run else "已"
        form = "长表（每行一个项目）" if self.form == "long" else "宽表（每列一个项目）"
        lines = [f"化验结果“{self.filename}”（{form}）：{verb}新增 {self.added} 条，{verb}替换 {self.replaced} 条，"
                 f"未变 {self.unchanged} 条。" + ("（试导入，未写入数据库）" if dry_run else "")]
        for site, count in self.by_site.items():
            lines.append(f"  {site}：新增 {count.added}，替换 {count.replaced}，未变 {count.unchanged}")
        for change in self.changes:
            moment = change.sampled_at.astimezone(zone) if zone else change.sampled_at
            lines.append(f"  替换 {change.site} {moment:%Y-%m-%d %H:%M} {change.parameter}：{change.old} → {change.new}"
                         f"{(' ' + change.unit) if change.unit else ''}")
        if self.unknown_headers:
            lines.append(f"未识别、已忽略的列：{'、'.join(self.unknown_headers)}")
        return "\n".join(lines)


@dataclass
class _Result:
    """One checked result, ready to compare and write."""

    row: int
    column: str
    site: Outfall | MonitoringSection
    sampled_at: datetime
    parameter: params.Parameter
    value: float | None
    detection_limit: float | None
    sampler: str | None
    lab: str | None

    @property
    def key(self) -> tuple:
        """What identifies the result: its site, sampling time and parameter."""
        return (type(self.site).__name__, self.site.id, self.sampled_at, self.parameter.code)


def display_name(path: Path) -> str:
    """The file's name as messages and the source column show it: undecodable bytes become �."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Reading the file into a grid.


def read_grid(path: Path) -> list[tuple[int, list[Any]]]:
    """The rows of the first sheet that holds a lab header (CSV: the file), as (Excel row number, cells).

    Uses the ledger reader's defences: size bounds, zip-bomb check, any CSV encoding. Formula cells are
    kept as their formula text (``=…``) so that the checks refuse them instead of reading a cached value.
    """
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise LedgerFileError(f"文件过大（{size / 1048576:.1f} MB），最大 {MAX_BYTES / 1048576:.0f} MB")
    if size == 0:
        raise LedgerFileError("文件是空的")
    if suffix in (".csv", ".txt"):
        grid = _csv_grid(path.read_bytes())
        if len(grid) > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise LedgerFileError(f"文件超过 {MAX_ROWS} 行数据，不像是一份化验结果")
        return [(number, _trimmed(cells)) for number, cells in enumerate(grid, start=1)]
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_grid(path)
    if suffix in (".xls", ".et", ".wps"):
        raise LedgerFileError("不支持旧版 Excel（.xls）或 WPS 格式：请另存为 .xlsx 后再导入")
    raise LedgerFileError(f"不支持 {suffix or '无扩展名'} 文件：化验结果须为 .xlsx 或 .csv")


def _xlsx_grid(path: Path) -> list[tuple[int, list[Any]]]:
    """The first sheet of a workbook with a lab header, read as a stream, merged cells filled down."""
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        _refuse_zip_bomb(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
            try:
                for sheet in workbook.worksheets:
                    sheet.reset_dimensions()
                    rows: list[tuple[int, list[Any]]] = []
                    blank_run = 0
                    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                        cells = _trimmed(values)
                        if not cells:
                            blank_run += 1
                            if blank_run >= MAX_BLANK_ROWS:
                                break
                            continue
                        blank_run = 0
                        rows.append((number, cells))
                        if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                            raise LedgerFileError(f"文件超过 {MAX_ROWS} 行数据，不像是一份化验结果")
                    header = _find_header(rows)
                    if header is not None:
                        merges = [m for m in _merged_ranges(workbook, sheet) if m.min_col == m.max_col]
                        _fill_vertical(rows, sorted(merges, key=lambda m: m.min_row), header[0])
                        return rows
            finally:
                workbook.close()
    except LedgerFileError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as error:
        raise LedgerFileError(f"无法读取此 Excel 文件：文件已损坏或不是 .xlsx 格式（{type(error).__name__}）") from None
    except Exception as error:  # defusedxml and lxml raise their own types for hostile XML
        raise LedgerFileError(f"无法读取此 Excel 文件：内容不符合 .xlsx 格式（{type(error).__name__}）") from None
    raise LedgerFileError(_NO_HEADER)


_NO_HEADER = f"找不到表头：前 {HEADER_SEARCH_ROWS} 行中没有一行同时含有“点位编码”和“采样时间”等列名"


def _header_field(text: Any) -> tuple[str | None, str | None]:
    """The field a header cell names and the unit in its brackets: ``结果(mg/L)`` → ("value", "mg/L")."""
    if text is None or not params.clean(text):
        return None, None
    found = _FIELD_BY_HEADER.get(params.fold_name(text))
    if found:
        return found, None
    name, unit = params.split_header(text)
    return _FIELD_BY_HEADER.get(params.fold_name(name)), unit


def _find_header(rows: list[tuple[int, list[Any]]]):
    """The header among the first rows: (its index in rows, field → column, column → unit), or None."""
    for index, (number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if number > HEADER_SEARCH_ROWS:
            break
        columns: dict[str, int] = {}
        units: dict[int, str] = {}
        for column, text in enumerate(cells):
            name, unit = _header_field(text)
            if name and name not in columns:
                columns[name] = column
                if unit:
                    units[column] = unit
        if "site" not in columns and "site_name" in columns:
            columns["site"] = columns.pop("site_name")
        if "site" in columns and ("sampled_at" in columns or "sampled_on" in columns):
            return index, columns, units
    return None


# ---------------------------------------------------------------------------------------------
# The import.


def import_samples(path: Path, dry_run: bool = False) -> SamplesSummary:
    """Import a lab's results file, all or nothing; see the module docstring."""
    path = Path(path)
    filename = display_name(path)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    try:
        grid = read_grid(path)
    except LedgerFileError as error:
        raise SamplesRejected(filename, problem=str(error)) from None
    except OSError as error:
        raise SamplesRejected(filename, problem=f"无法读取文件：{error.strerror or error}") from None
    found = _find_header(grid)
    if found is None:
        raise SamplesRejected(filename, problem=_NO_HEADER)
    header_index, columns, header_units = found
    header_row, header_cells = grid[header_index]
    data = grid[header_index + 1:]
    sites = _SiteLookup()
    if "parameter" in columns and "value" in columns:
        form = "long"
        results, errors, unknown = _long_rows(columns, header_cells, header_units, data, sites, zone)
    else:
        form = "wide"
        results, errors, unknown = _wide_rows(columns, header_row, header_cells, header_units, data, sites, zone)
    if not errors and not results:
        errors.append(RowError(header_row, None, "表头下没有任何监测结果"))
    unique, conflicts = _deduplicated(results)
    errors += conflicts
    if errors:
        raise SamplesRejected(filename, sorted(errors, key=lambda e: e.row))
    summary = SamplesSummary(filename=filename, form=form, unknown_headers=unknown)
    _apply(unique, summary, f"{SOURCE_PREFIX}{filename}"[:SOURCE_LENGTH], zone, dry_run)
    return summary


class _SiteLookup:
    """Outfalls and sections by code (an outfall's national code too) or by their exact name."""

    def __init__(self):
        self._cache: dict[str, Outfall | MonitoringSection | None] = {}

    def find(self, text: str) -> Outfall | MonitoringSection | None:
        """The site a cell names, or None."""
        if text not in self._cache:
            self._cache[text] = self._by_code(text) or self._by_code(text.upper()) or self._by_name(text)
        return self._cache[text]

    @staticmethod
    def _by_code(code: str):
        return (db.session.scalar(select(Outfall).where(or_(Outfall.code == code, Outfall.national_code == code)))
                or db.session.scalar(select(MonitoringSection).where(MonitoringSection.code == code)))

    @staticmethod
    def _by_name(text: str):
        outfalls = db.session.scalars(select(Outfall).where(Outfall.name == text).limit(2)).all()
        sections = db.session.scalars(select(MonitoringSection).where(MonitoringSection.name == text).limit(2)).all()
        both = outfalls + sections
        return both[0] if len(both) == 1 else None


def _cell(cells: list[Any], column: int | None) -> Any:
    """The cell at a column, None when the row is shorter or the cell blank."""
    if column is None or column >= len(cells):
        return None
    value = cells[column]
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _formula(value: Any) -> bool:
    """Whether a cell holds a formula (an .xlsx formula, or text a spreadsheet would run as one)."""
    return isinstance(value, str) and value.lstrip().startswith("=")


def _text_field(value: Any, name: str) -> str | None:
    """Sampler or lab text, or ValueError when it is too long, a formula or holds control characters."""
    if value is None:
        return None
    if _formula(value):
        raise ValueError("单元格含公式，请填写文字")
    text = re.sub(r"\s+", " ", str(value)).strip()
    if _CONTROL_CHARACTERS.search(text):
        raise ValueError("含有不可见的控制字符")
    if len(text) > TEXT_MAX[name]:
        raise ValueError(f"内容过长（{len(text)} 字），最多 {TEXT_MAX[name]} 字")
    return text or None


def read_sampled_at(value: Any, zone, time_value: Any = None) -> datetime:
    """A sampling time in the district's zone: a date, a date and time, Excel's own values or serials.

    A date alone reads as 00:00 that day, so a file that gives only dates re-imports to the same key.
    ValueError says what was wrong.
    """
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 1 <= value < 80000:
            raise ValueError(f"“{params.clean(value)}”不是采样时间（例：2026-06-01 09:30）")
        moment = datetime(1899, 12, 30) + timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        text = params.clean(value)
        match = _DATETIME.fullmatch(text)
        if match:
            year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
            try:
                moment = datetime(year, month, day, hour, minute, second)
            except ValueError:
                raise ValueError(f"“{text}”不是有效的采样时间") from None
        else:
            try:
                moment = datetime.combine(read_date(value), time())
            except CellError:
                raise ValueError(f"“{text}”不是采样时间（例：2026-06-01 09:30 或 2026年6月1日）") from None
    if time_value is not None:
        moment = datetime.combine(moment.date(), _read_time(time_value))
    local = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
    if local.astimezone(timezone.utc) > calendar.now().astimezone(timezone.utc) + timedelta(days=1):
        raise ValueError(f"采样时间 {local:%Y-%m-%d %H:%M} 在未来")
    if local.year < 1990:
        raise ValueError(f"采样时间 {local:%Y-%m-%d} 太早，不像是本次监测")
    return local.astimezone(timezone.utc)


def _read_time(value: Any) -> time:
    """A time of day cell (09:30, 9时30分, Excel's time or fraction of a day)."""
    if isinstance(value, time):
        return value.replace(microsecond=0)
    if isinstance(value, datetime):
        return value.time().replace(microsecond=0)
    if isinstance(value, float) and 0 <= value < 1:
        seconds = round(value * 86400)
        return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    match = _TIME.fullmatch(params.clean(value))
    if match:
        hour, minute, second = (int(g) if g else 0 for g in match.groups())
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise ValueError(f"“{params.clean(value)}”不是时刻（例：09:30）")


def _site_and_time(cells, columns, headers, number, sites, zone, errors, time_column=None):
    """The row's site and sampling time, each refusal recorded with its column."""
    site = sampled_at = None
    site_value = _cell(cells, columns["site"])
    if site_value is None:
        errors.append(RowError(number, headers["site"], "未填写点位编码"))
    elif _formula(site_value):
        errors.append(RowError(number, headers["site"], "单元格含公式，请填写点位编码"))
    else:
        code = params.clean(site_value)
        site = sites.find(code)
        if site is None:
            errors.append(RowError(number, headers["site"],
                                   f"未知的点位“{code}”：既不是已登记排污口的编码，也不是已登记断面的编码"))
    # With both a date and a time column the date comes from the first, the time of day from the second.
    day_name = "sampled_on" if "sampled_on" in columns else "sampled_at"
    day_value = _cell(cells, columns[day_name])
    time_value = _cell(cells, columns["sampled_at"]) if day_name == "sampled_on" and "sampled_at" in columns else None
    if day_value is None:
        errors.append(RowError(number, headers[day_name], "未填写采样日期"))
    elif _formula(day_value) or _formula(time_value):
        errors.append(RowError(number, headers[day_name if _formula(day_value) else "sampled_at"],
                               "单元格含公式，请填写采样时间"))
    else:
        try:
            time_of_day = _read_time(time_value) if time_value is not None else None
        except ValueError as error:
            errors.append(RowError(number, headers["sampled_at"], str(error)))
            return site, None
        try:
            sampled_at = read_sampled_at(day_value, zone, time_of_day)
        except ValueError as error:
            errors.append(RowError(number, headers[day_name], str(error)))
    return site, sampled_at


def _people(cells, columns, headers, number, errors):
    """The row's sampler and lab."""
    found = {}
    for name in ("sampler", "lab"):
        try:
            found[name] = _text_field(_cell(cells, columns.get(name)), name)
        except ValueError as error:
            errors.append(RowError(number, headers[name], str(error)))
            found[name] = None
    return found["sampler"], found["lab"]


def _reading(parameter, raw, unit_text, limit_raw, number, column, limit_column, errors):
    """One result cell read, converted and checked, or None with its refusals recorded."""
    if _formula(raw):
        errors.append(RowError(number, column, "单元格含公式，请粘贴为数值后再导入"))
        return None
    try:
        factor = parameter.factor(unit_text)
    except ValueError as error:
        errors.append(RowError(number, column, str(error)))
        return None
    try:
        reading = params.read_reading(raw)
    except ValueError as error:
        errors.append(RowError(number, column, str(error)))
        return None
    if reading.non_detect and reading.detection_limit is None:
        if limit_raw is None:
            errors.append(RowError(number, column, f"“{params.clean(raw)}”为未检出，但没有给出检出限"
                                                   "（请填写“检出限”列，或写作 <0.05、0.05L）"))
            return None
        if _formula(limit_raw):
            errors.append(RowError(number, limit_column, "单元格含公式，请粘贴为数值后再导入"))
            return None
        try:
            reading = params.Reading(None, params.read_detection_limit(limit_raw), non_detect=True)
        except ValueError as error:
            errors.append(RowError(number, limit_column, str(error)))
            return None
    if reading.non_detect and reading.detection_limit <= 0:
        errors.append(RowError(number, column, "检出限应大于 0"))
        return None
    try:
        return params.canonical(parameter, reading, factor)
    except ValueError as error:
        errors.append(RowError(number, column, str(error)))
        return None


def _long_rows(columns, header_cells, header_units, data, sites, zone):
    """Results of a long-form file: one parameter per row (plus the row's 流量 column, if any)."""
    headers = {name: params.clean(header_cells[column]) for name, column in columns.items()}
    flow_column, unknown = None, []
    for column, text in enumerate(header_cells):
        if text is None or column in columns.values():
            continue
        name, unit = params.split_header(text)
        if params.lookup(name) is params.BY_CODE["流量"]:
            flow_column, header_units[column] = column, unit or header_units.get(column)
        elif params.clean(text):
            unknown.append(params.clean(text))
    results: list[_Result] = []
    errors: list[RowError] = []
    value_unit = header_units.get(columns["value"])
    for number, cells in data:
        if not any(_cell(cells, c) is not None for c in range(len(cells))):
            continue
        row_errors: list[RowError] = []
        site, sampled_at = _site_and_time(cells, columns, headers, number, sites, zone, row_errors)
        sampler, lab = _people(cells, columns, headers, number, row_errors)
        parameter_value = _cell(cells, columns["parameter"])
        parameter, unit_in_name = None, None
        if parameter_value is not None:
            # 化学需氧量(mg/L): the unit may be written with the name.
            name, unit_in_name = params.split_header(parameter_value)
            parameter = params.lookup(name)
        if parameter_value is None:
            row_errors.append(RowError(number, headers["parameter"], "未填写监测项目"))
        elif parameter is None:
            row_errors.append(RowError(number, headers["parameter"], f"未知的监测项目“{params.clean(parameter_value)}”"))
        raw = _cell(cells, columns["value"])
        unit_text = _cell(cells, columns.get("unit"))
        if unit_text is None:
            unit_text = unit_in_name or value_unit
        limit_raw = _cell(cells, columns.get("detection_limit"))
        reading = None
        if raw is None:
            row_errors.append(RowError(number, headers["value"], "未填写监测结果"))
        elif parameter is not None:
            if unit_text is None and parameter.unit_required:
                row_errors.append(RowError(number, headers.get("unit", headers["value"]),
                                           f"未填写单位（{parameter.label}须注明单位，如 {parameter.unit}）"))
            else:
                column = headers.get("unit", headers["value"])
                try:
                    parameter.factor(unit_text)
                    column = headers["value"]
                except ValueError:
                    pass  # the unit is at fault: name the column it came from
                reading = _reading(parameter, raw, unit_text, limit_raw, number, column,
                                   headers.get("detection_limit"), row_errors)
        flow = None
        flow_raw = _cell(cells, flow_column)
        flow_header = params.clean(header_cells[flow_column]) if flow_column is not None else ""
        if flow_raw is not None:
            flow_parameter = params.BY_CODE["流量"]
            flow = _reading(flow_parameter, flow_raw, header_units.get(flow_column), None, number, flow_header,
                            None, row_errors)
        errors += row_errors
        if row_errors:
            continue
        results.append(_Result(number, headers["value"], site, sampled_at, parameter, reading.value,
                               reading.detection_limit, sampler, lab))
        if flow is not None:
            results.append(_Result(number, flow_header, site, sampled_at, params.BY_CODE["流量"], flow.value,
                                   flow.detection_limit, sampler, lab))
    return results, errors, unknown


def _wide_rows(columns, header_row, header_cells, header_units, data, sites, zone):
    """Results of a wide-form file: one sampling per row, one column per parameter."""
    # A "监测结果" header over the parameter columns heads a group; it is no column of its own here.
    columns = {name: column for name, column in columns.items() if name not in ("parameter", "value", "unit")}
    headers = {name: params.clean(header_cells[column]) for name, column in columns.items()}
    errors: list[RowError] = []
    parameter_columns, labels, unknown = _parameter_columns(header_row, header_cells, columns, header_units, errors)
    # A two-row header: "监测结果" (or the like) merged over the parameters named in the row below.
    if not parameter_columns and not errors and data:
        number, cells = data[0]
        below_units: dict[int, str] = {}
        below = _parameter_columns(number, cells, columns, below_units, [])
        if below[0]:
            parameter_columns, labels, _ignored = below
            header_units.update(below_units)
            header_row, data = number, data[1:]
            unknown = [text for text in unknown if text not in below[1].values()]
    if not parameter_columns and not errors:
        errors.append(RowError(header_row, None, "表头中既没有“监测项目”“监测结果”列，也没有任何监测项目的列（如 COD(mg/L)）"))
    # A units row under the header: the site cell blank, and each parameter column a unit or blank.
    if data:
        number, cells = data[0]
        site_cell = _cell(cells, columns["site"])
        if (site_cell is None or params.clean(site_cell) in ("单位", "计量单位")) and any(
                _cell(cells, c) is not None for c in parameter_columns):
            for column in parameter_columns:
                unit = _cell(cells, column)
                if unit is not None:
                    header_units[column] = params.clean(unit)
            data = data[1:]
    for column, parameter in parameter_columns.items():
        unit = header_units.get(column)
        if unit is None and parameter.unit_required:
            errors.append(RowError(header_row, labels[column],
                                   f"没有单位：请在表头写明，如 {parameter.label}({parameter.unit})，或在表头下加一行单位"))
        else:
            try:
                parameter.factor(unit)
            except ValueError as error:
                errors.append(RowError(header_row, labels[column], str(error)))
    if errors:
        return [], errors, unknown
    results: list[_Result] = []
    for number, cells in data:
        if not any(_cell(cells, c) is not None for c in range(len(cells))):
            continue
        row_errors: list[RowError] = []
        site, sampled_at = _site_and_time(cells, columns, headers, number, sites, zone, row_errors)
        sampler, lab = _people(cells, columns, headers, number, row_errors)
        readings = []
        for column, parameter in parameter_columns.items():
            raw = _cell(cells, column)
            if raw is None or (isinstance(raw, str) and params.clean(raw) in _NOT_SAMPLED):
                continue  # not sampled this time
            reading = _reading(parameter, raw, header_units.get(column), None, number, labels[column], None,
                               row_errors)
            if reading is not None:
                readings.append((column, parameter, reading))
        if not readings and not row_errors:
            row_errors.append(RowError(number, None, "这一行没有任何监测结果"))
        errors += row_errors
        if row_errors:
            continue
        for column, parameter, reading in readings:
            results.append(_Result(number, labels[column], site, sampled_at, parameter, reading.value,
                                   reading.detection_limit, sampler, lab))
    return results, errors, unknown


def _parameter_columns(header_row, header_cells, columns, header_units, errors):
    """The parameter columns of a wide header: column → parameter, column → header text, ignored headers.

    A header with a unit but no known parameter is refused (a misspelt column must not vanish); the
    lab's own limit or verdict columns (限值, 标准, 评价 …) are read past.
    """
    parameter_columns: dict[int, params.Parameter] = {}
    labels: dict[int, str] = {}
    unknown: list[str] = []
    for column, text in enumerate(header_cells):
        if text is None or column in columns.values() or not params.clean(text):
            continue
        label = params.clean(text)
        name, unit = params.split_header(text)
        if _header_field(text)[0] is not None or any(word in name for word in _NOT_RESULTS):
            unknown.append(label)
            continue
        parameter = params.lookup(name)
        if parameter is None:
            if unit:
                errors.append(RowError(header_row, label, f"未知的监测项目“{name}”"))
            else:
                unknown.append(label)
            continue
        if parameter in parameter_columns.values():
            errors.append(RowError(header_row, label, f"{parameter.label}出现在两列中"))
            continue
        parameter_columns[column] = parameter
        labels[column] = label
        if unit:
            header_units[column] = unit
    return parameter_columns, labels, unknown


# What a wide sheet writes in a parameter's cell when it was not sampled that time.
_NOT_SAMPLED = ("-", "--", "—", "——", "/", "未测", "未检测", "未监测")
# Words of headers that hold a lab's limits or verdicts, not results (COD限值(mg/L), 执行标准).
_NOT_RESULTS = ("限值", "标准", "评价", "达标", "超标", "检出限")


def _deduplicated(results: list[_Result]) -> tuple[list[_Result], list[RowError]]:
    """One result per (site, time, parameter); the same result twice is fine, two values are refused."""
    first: dict[tuple, _Result] = {}
    errors = []
    for result in results:
        earlier = first.get(result.key)
        if earlier is None:
            first[result.key] = result
        elif (earlier.value, earlier.detection_limit) != (result.value, result.detection_limit):
            errors.append(RowError(result.row, result.column,
                                   f"与第 {earlier.row} 行重复（同一点位、采样时间和项目），但结果不同："
                                   f"{params.display_value(earlier.value, earlier.detection_limit)} 与 "
                                   f"{params.display_value(result.value, result.detection_limit)}"))
    return list(first.values()), errors


def _site_label(site) -> str:
    return site.code


def _apply(results: list[_Result], summary: SamplesSummary, source: str, zone, dry_run: bool) -> None:
    """Compare each result with what is stored at its key; add, replace, or leave it; then judge."""
    by_site: dict[tuple, list[_Result]] = defaultdict(list)
    for result in results:
        by_site[(type(result.site).__name__, result.site.id)].append(result)
    touched = []
    for results_here in by_site.values():
        site = results_here[0].site
        column = MonitoringSample.outfall_id if isinstance(site, Outfall) else MonitoringSample.section_id
        stored: dict[tuple, MonitoringSample] = {}
        for sample in db.session.scalars(select(MonitoringSample).where(column == site.id)
                                         .order_by(MonitoringSample.id)):
            key = (type(site).__name__, site.id, sample.sampled_at.astimezone(timezone.utc).replace(microsecond=0),
                   sample.parameter)
            stored.setdefault(key, sample)
        count = summary.by_site.setdefault(_site_label(site), SiteCount())
        for result in results_here:
            sample = stored.get(result.key)
            unit = result.parameter.unit
            if sample is None:
                count.added += 1
                if not dry_run:
                    sample = MonitoringSample(sampled_at=result.sampled_at, parameter=result.parameter.code)
                    if isinstance(site, Outfall):
                        sample.outfall = site
                    else:
                        sample.section = site
                    _fill(sample, result, source)
                    db.session.add(sample)
                    touched.append(sample)
                continue
            same = (_close(sample.value, result.value) and _close(sample.detection_limit, result.detection_limit)
                    and (sample.unit or "") == unit)
            if same:
                count.unchanged += 1
                if not dry_run and (result.sampler and sample.sampler != result.sampler
                                    or result.lab and sample.lab != result.lab):
                    sample.sampler = result.sampler or sample.sampler  # particulars a first file lacked
                    sample.lab = result.lab or sample.lab
                continue
            count.replaced += 1
            summary.changes.append(Change(
                site.code, result.sampled_at, result.parameter.code, unit,
                params.display_value(sample.value, sample.detection_limit) + (
                    f" {sample.unit}" if (sample.unit or "") != unit and sample.unit else ""),
                params.display_value(result.value, result.detection_limit)))
            if not dry_run:
                _fill(sample, result, source)
                touched.append(sample)
    if dry_run or not touched:
        return
    db.session.flush()
    # Judge every sample at the sites touched, so that a new water temperature rejudges its NH3-N too.
    for site in {id(r.site): r.site for r in results}.values():
        column = MonitoringSample.outfall_id if isinstance(site, Outfall) else MonitoringSample.section_id
        judge_all(db.session.scalars(select(MonitoringSample).where(column == site.id)).all(), zone)
        if isinstance(site, Outfall):
            # A first result at an outfall is data of stage 2 (监测): the stage follows, with its reason.
            db.session.refresh(site, ["samples"])
            stages.refresh_stage(site, source)
    db.session.flush()


def _fill(sample: MonitoringSample, result: _Result, source: str) -> None:
    """Write the file's result into a (new or stored) sample."""
    sample.value = result.value
    sample.detection_limit = result.detection_limit
    sample.unit = result.parameter.unit
    sample.sampler = result.sampler
    sample.lab = result.lab
    sample.source = source
    sample.is_demo = False


def _close(a: float | None, b: float | None) -> bool:
    """Whether two stored numbers are the same result (a float column may round the last digit)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


# ---------------------------------------------------------------------------------------------
# One result entered in the back office.


class EntryRefused(Exception):
    """A single result that cannot be stored: field → message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def enter_result(site: Outfall | MonitoringSection, values: dict[str, Any], source: str = "后台录入") -> str:
    """Store one result typed in the back office by the importer's rules; "added", "replaced" or "unchanged".

    ``values``: parameter (a code or name), sampled_at (local date and time), value (a number, or a
    non-detect such as <0.05 or ND), detection_limit (for ND), unit, sampler, lab. Refusals by field.
    """
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    errors: dict[str, str] = {}
    parameter = params.lookup(values.get("parameter"))
    if parameter is None:
        errors["parameter"] = f"未知的监测项目“{params.clean(values.get('parameter'))}”"
    sampled_at = None
    if not params.clean(values.get("sampled_at")):
        errors["sampled_at"] = "请填写采样时间"
    else:
        try:
            sampled_at = read_sampled_at(values["sampled_at"], zone)
        except ValueError as error:
            errors["sampled_at"] = str(error)
    people = {}
    for name in ("sampler", "lab"):
        try:
            people[name] = _text_field(values.get(name) or None, name)
        except ValueError as error:
            errors[name] = str(error)
    reading = None
    if parameter is not None:
        raw = values.get("value")
        unit = values.get("unit")
        unit = parameter.unit if unit is None or not params.clean(unit) else unit
        limit_raw = values.get("detection_limit") if params.clean(values.get("detection_limit")) else None
        if not params.clean(raw):
            errors["value"] = "请填写监测结果"
        else:
            found: list[RowError] = []
            reading = _reading(parameter, raw, unit, limit_raw, 0, "value", "detection_limit", found)
            for error in found:
                name = error.column
                if name == "value" and error.message.startswith("单位"):
                    name = "unit"
                errors.setdefault(name, error.message)
    if errors:
        raise EntryRefused(errors)
    result = _Result(0, "value", site, sampled_at, parameter, reading.value, reading.detection_limit,
                     people["sampler"], people["lab"])
    summary = SamplesSummary(filename="", form="entry")
    _apply([result], summary, source, zone, dry_run=False)
    count = next(iter(summary.by_site.values()))
    return "added" if count.added else "replaced" if count.replaced else "unchanged"
