"""The river chiefs' duty roster (值班表): import shifts from a CSV file, all of it or none of it.

The file has one shift per row under a header row (a title row above it is fine). Columns, in any
order:

- ``河长姓名`` and/or ``河长编号`` (the chief's id): with both, the number decides and the name must match it;
- ``河流`` (a water body's name) or ``镇`` (a town's name): exactly one of them per row;
- ``开始时间``, ``结束时间``: local time (``TIMEZONE``), e.g. ``2026-11-29 08:00``; ``2026/11/29 8:00``,
  seconds and ``24:00`` (midnight at the end of the day) are accepted too;
- ``备注``: optional.

Re-importing: for every river or town the file names, the file is that target's roster from its
earliest start to its latest end. Shifts already recorded for the target entirely inside that period
are replaced by the file's; shifts reaching outside it are kept, and a row overlapping one of them is
refused. So importing the same file twice changes nothing, and a corrected December roster replaces
December's without touching November's. No two shifts of the same river or town may overlap.

Any bad row refuses the whole file, and nothing is written; the refusal names each bad row.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from portal.extensions import db
from portal.importing import FileRejected, RowError
from portal.models import DutyShift, RiverChief, Town, WaterBody
from portal.registry.ledger_format import clean_text

# The ledger's CSV reader already copes with what Excel and WPS save (UTF-8 with or without BOM,
# GB18030, UTF-16, comma, tab or semicolon).
from portal.registry.ledger_reader import LedgerFileError
from portal.registry.ledger_reader import _csv_grid as csv_grid
from portal.registry.vocabulary import normalise_label

MAX_BYTES = 5 * 1024 * 1024
HEADER_SEARCH_ROWS = 10
NOTE_MAX = 500
# Header spellings clerks use, folded with vocabulary.normalise_label, → field.
HEADERS = {
    "chief_name": ("河长姓名", "河长", "姓名", "值班河长", "值班人"),
    "chief_id": ("河长编号", "河长id", "河长ID", "编号"),
    "water": ("河流", "河湖", "水体", "河流名称", "河湖名称"),
    "town": ("镇", "乡镇", "镇名", "所属镇"),
    "starts_at": ("开始时间", "开始", "起始时间", "值班开始"),
    "ends_at": ("结束时间", "结束", "截止时间", "值班结束"),
    "note": ("备注", "说明"),
}
FIELD_BY_HEADER = {normalise_label(spelling): name for name, spellings in HEADERS.items() for spelling in spellings}
COLUMN_NAMES = {name: spellings[0] for name, spellings in HEADERS.items()}
TIME_PATTERN = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*T?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2})\s*秒?)?\s*分?"
)





class RosterRejected(FileRejected):
    """The roster was refused whole; nothing was written."""

    noun = _l("值班表")


@dataclass
class RosterSummary:
    """What an import did."""

    filename: str
    added: int
    replaced: int
    by_target: dict[str, int] = field(default_factory=dict)
    unknown_headers: list[str] = field(default_factory=list)

    def report(self) -> str:
        """A summary a clerk can check against the file."""
        targets = "、".join(f"{name} {count} 个" for name, count in self.by_target.items())
        lines = [f"值班表“{self.filename}”：已导入 {self.added} 个班次（{targets}），替换原有 {self.replaced} 个。"]
        if self.unknown_headers:
            lines.append(f"未识别、已忽略的列：{'、'.join(self.unknown_headers)}")
        return "\n".join(lines)


@dataclass
class _Row:
    """One checked row, ready to write."""

    number: int
    chief: RiverChief
    target: tuple[str, int]  # ("water" | "town", id)
    target_name: str
    starts_at: datetime
    ends_at: datetime
    note: str | None


def import_roster(path: Path) -> RosterSummary:
    """Import a roster CSV file, all or nothing; see the module docstring."""
    path = Path(path)
    filename = path.name
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    columns, grid, unknown = _read(path)
    rows, errors = _check_rows(columns, grid, zone)
    errors += _overlaps_within_file(rows, zone)
    if errors:
        raise RosterRejected(filename, sorted(errors, key=lambda e: e.row))
    if not rows:
        raise RosterRejected(filename, problem="表头下没有任何班次")
    replaced, kept = _existing_shifts(rows)
    errors = _overlaps_with_kept(rows, kept, zone)
    if errors:
        raise RosterRejected(filename, sorted(errors, key=lambda e: e.row))

    source = f"值班表导入 {filename}"[:200]
    for shift in replaced:
        db.session.delete(shift)
    db.session.flush()
    for row in rows:
        kind, target_id = row.target
        db.session.add(DutyShift(
            chief=row.chief, water_body_id=target_id if kind == "water" else None,
            town_id=target_id if kind == "town" else None, starts_at=row.starts_at, ends_at=row.ends_at,
            note=row.note, source=source,
        ))
    db.session.flush()  # the command's transaction() commits
    by_target: dict[str, int] = {}
    for row in rows:
        by_target[row.target_name] = by_target.get(row.target_name, 0) + 1
    return RosterSummary(filename, len(rows), len(replaced), by_target, unknown)


def _read(path: Path) -> tuple[dict[str, int], list[tuple[int, list]], list[str]]:
    """field → column, the data rows (numbered as a spreadsheet shows them), unrecognised headers."""
    if path.suffix.lower() not in (".csv", ".txt"):
        raise RosterRejected(path.name, problem=f"不支持 {path.suffix or '无扩展名'} 文件：值班表须为 .csv"
                                                "（在 Excel/WPS 中“另存为” CSV）")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise RosterRejected(path.name, problem=f"文件过大（{size / 1048576:.1f} MB），最大 {MAX_BYTES // 1048576} MB")
    if size == 0:
        raise RosterRejected(path.name, problem="文件是空的")
    try:
        grid = csv_grid(path.read_bytes())
    except LedgerFileError as error:
        raise RosterRejected(path.name, problem=str(error)) from None
    except UnicodeDecodeError:  # the reader lets this through for a UTF-8 BOM over other bytes
        raise RosterRejected(path.name, problem="文件以 UTF-8 标记开头，但内容不是有效的 UTF-8 文本") from None
    for index, cells in enumerate(grid[:HEADER_SEARCH_ROWS]):
        found = {c: FIELD_BY_HEADER.get(normalise_label(text)) for c, text in enumerate(cells) if text}
        if not {"starts_at", "ends_at"} <= set(found.values()):
            continue
        columns, unknown = {}, []
        for c, name in found.items():
            if name and name not in columns:
                columns[name] = c
            elif not name:
                unknown.append(clean_text(cells[c]))
        missing = [COLUMN_NAMES[name] for name in ("starts_at", "ends_at") if name not in columns]
        if "chief_name" not in columns and "chief_id" not in columns:
            missing.insert(0, "河长姓名（或河长编号）")
        if "water" not in columns and "town" not in columns:
            missing.append("河流（或镇）")
        if missing:
            raise RosterRejected(path.name, problem=f"缺少必需的列：{'、'.join(missing)}")
        rows = [(number + 1, cells) for number, cells in enumerate(grid) if number > index]
        return columns, rows, unknown
    raise RosterRejected(path.name, problem=f"找不到表头：前 {HEADER_SEARCH_ROWS} 行中没有一行同时含有"
                                            "“开始时间”“结束时间”等列名")


class _Lookup:
    """The chiefs, water bodies and towns a roster may name, loaded once."""

    def __init__(self):
        self.chiefs = {c.id: c for c in db.session.scalars(select(RiverChief))}
        self.chiefs_by_name = defaultdict(list)
        for chief in sorted(self.chiefs.values(), key=lambda c: c.id):
            self.chiefs_by_name[_key(chief.name)].append(chief)
        self.waters = {_key(w.name): w for w in db.session.scalars(select(WaterBody))}
        self.towns = {_key(t.name): t for t in db.session.scalars(select(Town))}


def _key(name: str) -> str:
    """A name folded for comparison: full-width brackets and spaces do not make another name."""
    return unicodedata.normalize("NFKC", clean_text(name)).replace(" ", "")


def _check_rows(columns, grid, zone) -> tuple[list[_Row], list[RowError]]:
    """Every row read and checked against the registry, with every problem found."""
    lookup = _Lookup()
    rows, errors = [], []
    for number, cells in grid:
        values = {name: _cell(cells, c) for name, c in columns.items()}
        if not any(values.values()):
            continue  # a blank line between blocks of shifts
        row_errors = []
        chief = _chief(values, lookup, number, row_errors)
        target, target_name = _target(values, lookup, number, row_errors)
        starts_at = _time(values, "starts_at", zone, number, row_errors)
        ends_at = _time(values, "ends_at", zone, number, row_errors)
        if starts_at and ends_at and ends_at <= starts_at:
            row_errors.append(RowError(number, COLUMN_NAMES["ends_at"], "结束时间早于或等于开始时间"))
        note = values.get("note")
        if note and len(note) > NOTE_MAX:
            row_errors.append(RowError(number, COLUMN_NAMES["note"], f"内容过长（{len(note)} 字），最多 {NOTE_MAX} 字"))
        if row_errors:
            errors += row_errors
        else:
            rows.append(_Row(number, chief, target, target_name, starts_at, ends_at, note or None))
    return rows, errors


def _cell(cells: list, column: int) -> str:
    """A cell's text, stripped; empty when the row is shorter than the header."""
    value = cells[column] if column < len(cells) else None
    return clean_text(value) if value is not None else ""


def _chief(values, lookup: _Lookup, number: int, errors: list[RowError]) -> RiverChief | None:
    """The chief a row names by number and/or name."""
    name, raw_id = values.get("chief_name", ""), values.get("chief_id", "")
    if raw_id:
        folded = unicodedata.normalize("NFKC", raw_id)
        if not folded.isdigit():
            errors.append(RowError(number, COLUMN_NAMES["chief_id"], f"“{raw_id}”不是河长编号（应为整数）"))
            return None
        chief = lookup.chiefs.get(int(folded))
        if chief is None:
            errors.append(RowError(number, COLUMN_NAMES["chief_id"], f"没有编号为 {int(folded)} 的河长"))
        elif name and _key(name) != _key(chief.name):
            errors.append(RowError(number, COLUMN_NAMES["chief_name"],
                                   f"河长编号 {chief.id} 是“{chief.name}”，与所填姓名“{name}”不符"))
            return None
        return chief
    if not name:
        errors.append(RowError(number, COLUMN_NAMES["chief_name"], "缺少河长姓名（或河长编号）"))
        return None
    found = lookup.chiefs_by_name.get(_key(name), [])
    if not found:
        errors.append(RowError(number, COLUMN_NAMES["chief_name"], f"没有名为“{name}”的河长"))
        return None
    if len(found) > 1:
        numbers = "、".join(str(c.id) for c in found)
        errors.append(RowError(number, COLUMN_NAMES["chief_name"],
                               f"有 {len(found)} 位河长名为“{name}”（编号 {numbers}），请在“河长编号”列注明是哪一位"))
        return None
    return found[0]


def _target(values, lookup: _Lookup, number: int, errors: list[RowError]):
    """(("water" | "town", id), name) of the river or town a row's shift covers, or (None, None)."""
    water, town = values.get("water", ""), values.get("town", "")
    if water and town:
        errors.append(RowError(number, None, f"“河流”（{water}）与“镇”（{town}）只能填一项：一个班次值守一条河或一个镇"))
        return None, None
    if not water and not town:
        errors.append(RowError(number, None, "缺少值班对象：请填写“河流”或“镇”"))
        return None, None
    if water:
        record = lookup.waters.get(_key(water))
        if record is None:
            errors.append(RowError(number, COLUMN_NAMES["water"], f"没有名为“{water}”的河流或水体"))
            return None, None
        return ("water", record.id), record.name
    record = lookup.towns.get(_key(town))
    if record is None:
        errors.append(RowError(number, COLUMN_NAMES["town"], f"没有名为“{town}”的镇"))
        return None, None
    return ("town", record.id), record.name


def _time(values, name: str, zone: ZoneInfo, number: int, errors: list[RowError]) -> datetime | None:
    """A local date and time cell as an aware datetime."""
    text, column = values.get(name, ""), COLUMN_NAMES[name]
    if not text:
        errors.append(RowError(number, column, f"缺少{column}"))
        return None
    match = TIME_PATTERN.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match:
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            if (hour, minute, second) == (24, 0, 0):  # 24:00 is the end of the day
                return datetime(year, month, day, tzinfo=zone) + timedelta(days=1)
            return datetime(year, month, day, hour, minute, second, tzinfo=zone)
        except ValueError:
            pass
    errors.append(RowError(number, column, f"无法识别的时间“{text}”，应写作 2026-11-29 08:00（年-月-日 时:分）"))
    return None


def _overlaps_within_file(rows: list[_Row], zone: ZoneInfo) -> list[RowError]:
    """A row whose shift overlaps an earlier-starting one of the same river or town in the file."""
    errors = []
    for target_rows in _by_target(rows).values():
        latest = None  # the row reaching furthest so far
        for row in sorted(target_rows, key=lambda r: (r.starts_at, r.number)):
            if latest and row.starts_at < latest.ends_at:
                errors.append(RowError(row.number, None, f"与第 {latest.number} 行{row.target_name}的班次"
                                                         f"（{_window(latest.starts_at, latest.ends_at, zone)}）时间重叠"))
            if latest is None or row.ends_at > latest.ends_at:
                latest = row
    return errors


def _existing_shifts(rows: list[_Row]) -> tuple[list[DutyShift], list[DutyShift]]:
    """Recorded shifts of the file's rivers and towns near its period: (to replace, to keep)."""
    periods = {target: (min(r.starts_at for r in group), max(r.ends_at for r in group))
               for target, group in _by_target(rows).items()}
    water_ids = [target_id for kind, target_id in periods if kind == "water"]
    town_ids = [target_id for kind, target_id in periods if kind == "town"]
    start, end = min(p[0] for p in periods.values()), max(p[1] for p in periods.values())
    nearby = db.session.scalars(
        select(DutyShift).where(
            or_(DutyShift.water_body_id.in_(water_ids), DutyShift.town_id.in_(town_ids)),
            DutyShift.starts_at < end, DutyShift.ends_at > start,
        ).order_by(DutyShift.starts_at, DutyShift.id)
    ).all()
    replaced, kept = [], []
    for shift in nearby:
        target = ("water", shift.water_body_id) if shift.water_body_id else ("town", shift.town_id)
        period = periods.get(target)
        if period is None or shift.ends_at <= period[0] or shift.starts_at >= period[1]:
            continue
        (replaced if period[0] <= shift.starts_at and shift.ends_at <= period[1] else kept).append(shift)
    return replaced, kept


def _overlaps_with_kept(rows: list[_Row], kept: list[DutyShift], zone: ZoneInfo) -> list[RowError]:
    """A row overlapping a recorded shift that reaches outside the file's period (and so stays)."""
    errors = []
    for row in rows:
        kind, target_id = row.target
        for shift in kept:
            same_target = (shift.water_body_id if kind == "water" else shift.town_id) == target_id
            if same_target and shift.starts_at < row.ends_at and row.starts_at < shift.ends_at:
                errors.append(RowError(row.number, None, (
                    f"与已有的{row.target_name}班次（{shift.chief.name}，"
                    f"{_window(shift.starts_at, shift.ends_at, zone)}）时间重叠；该班次超出本文件所覆盖的时段，"
                    "不会被替换，请调整时间或在文件中包含其整个时段")))
    return errors


def _by_target(rows: list[_Row]) -> dict[tuple[str, int], list[_Row]]:
    """The rows grouped by the river or town they cover."""
    groups = defaultdict(list)
    for row in rows:
        groups[row.target].append(row)
    return groups


def _window(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """A shift's times in local time: 2026-11-29 08:00–20:00, or both dates across midnight."""
    start, end = start.astimezone(zone), end.astimezone(zone)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"
