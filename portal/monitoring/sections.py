"""Monitoring cross-sections (断面): importing the bureau's list, and what pages ask of them.

The import reads a CSV or XLSX file with one section per row under a header row (title rows above
it are fine). Columns, in any order (other spellings clerks use are accepted, see ``HEADERS``):

- ``断面编码`` (required): the section's permanent code, e.g. DM-HMH-02; re-importing matches on it;
- ``断面名称`` (required);
- ``断面级别`` (required): 国控 / 省控 / 市控 / 区控 / 跨县（区）界 / 排污口上下游断面 (``SECTION_LEVELS``);
- ``所在水体`` (required): a water body already in the portal, by its code (HMH) or its name (呼玛河);
  an unknown one is refused — import the waters first;
- ``经度``, ``纬度``: decimal degrees or 度分秒, both or neither;
- ``目标水质类别``: I–V; empty: the water body's target class judges the section;
- ``关联排污口编码`` and ``上下游``: the outfall the section watches and whether it lies upstream or
  downstream of it; both or neither, and the outfall must exist;
- ``备注``.

A file with any bad row is refused whole and nothing is written; each refusal names its row (as
Excel numbers it) and column. Re-importing the same file changes nothing; a changed row updates its
section and the report names each change. A section the file no longer lists is kept (with its samples):
removing a section is not something a missing row should do silently. A section whose class or water changed has its samples
judged again (``standards.judge_all``), so a verdict never rests on the class it used to have.

Queries: the sections of a water body, the sections near an outfall (linked ones, and others on the
same water within ``NEARBY_KM``, with their distance), and a section's compliance summary: per
sampling (a local date and time at the section) it met its class when every judged parameter was
within its limit.
"""
from __future__ import annotations

import math
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.importing import FileRejected, RowError
from portal.models import (
    MonitoringSample,
    MonitoringSection,
    Outfall,
    StandardLimit,
    WaterBody,
)
from portal.monitoring import results, standards
from portal.registry.ledger_format import (
    CellError,
    clean_text,
    header_key,
    read_code,
    read_latitude,
    read_longitude,
    read_text,
    read_water_class,
)
from portal.registry.ledger_reader import (
    LedgerFileError,
    _csv_grid,
    _refuse_zip_bomb,
    _trimmed,
)
from portal.registry.vocabulary import SECTION_LEVELS, SECTION_POSITIONS

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000  # a district has tens of sections; more rows is the wrong file
HEADER_SEARCH_ROWS = 30
NAME_MAX = MonitoringSection.__table__.c.name.type.length
NOTE_MAX = 2000
SOURCE_MAX = MonitoringSection.__table__.c.source.type.length
# Sections on the same water this close to an outfall are shown on its page even when not linked to it.
NEARBY_KM = 5.0
EARTH_RADIUS_KM = 6371.0088
# How many of the latest samplings the outfall page and river board sum up.
RECENT_SAMPLINGS = 10

# Header spellings, folded with ledger_format.header_key, → field. The first spelling names the column
# in messages when the file's own header cannot be used.
HEADERS = {
    "code": ("断面编码", "断面编号", "断面代码", "编码", "sectioncode", "code"),
    "name": ("断面名称", "名称", "sectionname", "name"),
    "level": ("断面级别", "级别", "断面类型", "断面类别", "level"),
    "water": ("所在水体", "水体", "所在河流", "河流", "河湖", "所在河湖", "水体名称", "waterbody", "water"),
    "longitude": ("经度", "东经", "longitude", "lon", "lng"),
    "latitude": ("纬度", "北纬", "latitude", "lat"),
    "target_class": ("目标水质类别", "水质目标", "目标水质", "水质目标类别", "目标类别", "targetclass"),
    "outfall": ("关联排污口编码", "关联排污口", "排污口编码", "对应排污口", "outfall", "outfallcode"),
    "position": ("上下游", "上下游位置", "位置", "相对位置", "position"),
    "note": ("备注", "说明", "note", "remarks"),
}
FIELD_BY_HEADER = {header_key(spelling): name for name, spellings in HEADERS.items() for spelling in spellings}
REQUIRED = ("code", "name", "level", "water")
# The section's fields an import sets, in the order a change report lists them.
FIELDS = ("name", "level", "water_body", "longitude", "latitude", "target_class", "outfall", "position", "note")


# ---------------------------------------------------------------------------------------------
# Import





class SectionsRejected(FileRejected):
    """The sections file was refused whole; nothing was written."""

    noun = _l("断面文件")


@dataclass
class SectionChange:
    """What one row does to one section: creates it, or changes these fields (field, old, new)."""

    code: str
    is_new: bool
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class SectionImportResult:
    """What an import did (or, in a dry run, would do)."""

    filename: str
    rows: int
    added: list[SectionChange] = field(default_factory=list)
    changed: list[SectionChange] = field(default_factory=list)
    unchanged: int = 0
    rejudged: int = 0
    unknown_headers: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The summary, one line each, that a clerk checks against the file."""
        lines = [_("断面文件“%(file)s”：共 %(n)s 个断面。", file=self.filename, n=self.rows)]
        if self.dry_run:
            lines.append(_("将新增 %(added)s 个，将修改 %(changed)s 个，无变化 %(same)s 个。",
                           added=len(self.added), changed=len(self.changed), same=self.unchanged))
        else:
            lines.append(_("已新增 %(added)s 个，已修改 %(changed)s 个，无变化 %(same)s 个。",
                           added=len(self.added), changed=len(self.changed), same=self.unchanged))
        if self.added:
            lines.append(_("新增：%(codes)s", codes="、".join(change.code for change in self.added)))
        for change in self.changed:
            details = _("；").join(_("%(field)s %(old)s → %(new)s", field=field_label(name), old=_shown(old),
                                     new=_shown(new)) for name, old, new in change.changes)
            lines.append(_("修改 %(code)s：%(details)s", code=change.code, details=details))
        if self.rejudged:
            lines.append(_("已按新的水质类别重新评价 %(n)s 条监测数据。", n=self.rejudged))
        if self.unknown_headers:
            lines.append(_("未识别、已忽略的列：%(headers)s", headers="、".join(self.unknown_headers)))
        if self.dry_run:
            lines.append(_("（试运行：未写入数据库）"))
        return lines

    def report(self) -> str:
        """The summary as one text."""
        return "\n".join(self.lines())


def field_label(name: str) -> str:
    """A section field as the file's column names it, in the reader's language."""
    return {
        "name": _("断面名称"), "level": _("断面级别"), "water_body": _("所在水体"), "longitude": _("经度"),
        "latitude": _("纬度"), "target_class": _("目标水质类别"), "outfall": _("关联排污口编码"),
        "position": _("上下游"), "note": _("备注"),
    }[name]


def _shown(value: Any) -> str:
    """A value in a change report: vocabulary labels for codes, （空） for nothing."""
    if value is None or value == "":
        return _("（空）")
    if value in SECTION_LEVELS:
        return SECTION_LEVELS.display(value)
    if value in SECTION_POSITIONS:
        return SECTION_POSITIONS.display(value)
    return str(value)


@dataclass
class _Row:
    """One checked row, ready to compare and write."""

    number: int
    code: str
    values: dict[str, Any]  # FIELDS → value (water_body a WaterBody, outfall an Outfall)


def import_sections(path: Path, dry_run: bool = False, filename: str | None = None) -> SectionImportResult:
    """Import a sections file, all or nothing (see the module docstring); only flushes.

    ``filename`` names the file in messages and in the sections' source (an upload's own name).
    """
    path = Path(path)
    filename = filename or path.name
    grid = _read_grid(path, filename)
    columns, headers, data_rows, unknown = _find_header(grid, filename)
    rows, errors = _check_rows(columns, headers, data_rows)
    if errors:
        raise SectionsRejected(filename, sorted(errors, key=lambda e: e.row))
    if not rows:
        raise SectionsRejected(filename, problem=_("表头下没有任何断面"))

    result = SectionImportResult(filename, len(rows), unknown_headers=unknown, dry_run=dry_run)
    existing = {s.code: s for s in db.session.scalars(
        select(MonitoringSection).where(MonitoringSection.code.in_([r.code for r in rows]))
        .options(selectinload(MonitoringSection.samples)))}
    source = _("断面导入 %(file)s", file=filename)[:SOURCE_MAX]
    to_rejudge = []
    for row in rows:
        section = existing.get(row.code)
        if section is None:
            result.added.append(SectionChange(row.code, True))
            if not dry_run:
                section = MonitoringSection(code=row.code, source=source)
                _apply(section, row.values)
                db.session.add(section)
            continue
        changes = _differences(section, row.values)
        if not changes:
            result.unchanged += 1
            continue
        result.changed.append(SectionChange(row.code, False, changes))
        if not dry_run:
            judged_before = section.judged_class
            _apply(section, row.values)
            section.source = source
            if section.judged_class != judged_before and section.samples:
                to_rejudge.append(section)
    if not dry_run:
        db.session.flush()  # the caller's transaction() commits
        result.rejudged = _rejudge(to_rejudge)
    return result


def _read_grid(path: Path, filename: str) -> list[list[Any]]:
    """The file's cells, row by row: a CSV in any encoding Excel or WPS saves, or an .xlsx's first sheet."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as error:
        raise SectionsRejected(filename, problem=_("无法读取文件：%(error)s", error=error.strerror or error)) from None
    if size > MAX_BYTES:
        raise SectionsRejected(filename, problem=_("文件过大（%(size).1f MB），最大 %(max)s MB",
                                                   size=size / 1048576, max=MAX_BYTES // 1048576))
    if size == 0:
        raise SectionsRejected(filename, problem=_("文件是空的"))
    try:
        if suffix in (".csv", ".txt"):
            return _csv_grid(path.read_bytes())
        if suffix in (".xlsx", ".xlsm"):
            return _xlsx_grid(path)
    except LedgerFileError as error:
        raise SectionsRejected(filename, problem=str(error)) from None
    except UnicodeDecodeError:
        raise SectionsRejected(filename, problem=_("文件内容不是有效的文本")) from None
    raise SectionsRejected(filename, problem=_("不支持 %(suffix)s 文件：断面文件须为 .xlsx 或 .csv",
                                               suffix=suffix or _("无扩展名")))


def _xlsx_grid(path: Path) -> list[list[Any]]:
    """The first non-empty sheet of a workbook, read as a stream, after the ledger's zip-bomb check."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        _refuse_zip_bomb(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles and extensions openpyxl ignores do not matter here
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                sheet.reset_dimensions()  # the declared dimension may be a lie; read what is there
                grid = []
                for values in sheet.iter_rows(values_only=True):
                    grid.append(_trimmed(values))
                    if len(grid) > MAX_ROWS + HEADER_SEARCH_ROWS:
                        raise LedgerFileError(_("文件超过 %(n)s 行，不像是断面清单", n=MAX_ROWS))
                if any(grid):
                    return grid
            return []
        finally:
            workbook.close()
    except LedgerFileError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as error:
        raise LedgerFileError(_("无法读取此 Excel 文件：文件已损坏或不是 .xlsx 格式（%(kind)s）",
                                kind=type(error).__name__)) from None
    except Exception as error:  # defusedxml and lxml raise their own types for hostile XML
        raise LedgerFileError(_("无法读取此 Excel 文件：内容不符合 .xlsx 格式（%(kind)s）",
                                kind=type(error).__name__)) from None


def _field_of(text: Any) -> str | None:
    """The field a header cell names, with or without a bracketed unit: 经度（°）."""
    if text is None or clean_text(text) == "":
        return None
    key = header_key(text)
    if key in FIELD_BY_HEADER:
        return FIELD_BY_HEADER[key]
    return FIELD_BY_HEADER.get(re.sub(r"\(.*?\)|\[.*?\]", "", key))


def _find_header(grid, filename):
    """(field → column, field → header as written, data rows numbered as Excel shows them, unknown headers)."""
    for index, cells in enumerate(grid[:HEADER_SEARCH_ROWS]):
        found = {c: _field_of(text) for c, text in enumerate(cells)}
        if not {"code", "name"} <= set(found.values()):
            continue
        columns, headers, unknown = {}, {}, []
        for c, name in found.items():
            if name and name not in columns:
                columns[name], headers[name] = c, clean_text(cells[c])
            elif not name and cells[c] is not None and clean_text(cells[c]):
                unknown.append(clean_text(cells[c]))
        missing = [HEADERS[name][0] for name in REQUIRED if name not in columns]
        if "longitude" in columns and "latitude" not in columns:
            missing.append(HEADERS["latitude"][0])
        if "latitude" in columns and "longitude" not in columns:
            missing.append(HEADERS["longitude"][0])
        if ("outfall" in columns) != ("position" in columns):
            missing.append(HEADERS["position" if "outfall" in columns else "outfall"][0])
        if missing:
            raise SectionsRejected(filename, problem=_("缺少必需的列：%(columns)s", columns="、".join(missing)))
        rows = [(number + 1, cells) for number, cells in enumerate(grid)
                if number > index and any(cell is not None and clean_text(cell) for cell in cells)]
        if len(rows) > MAX_ROWS:
            raise SectionsRejected(filename, problem=_("文件超过 %(n)s 行，不像是断面清单", n=MAX_ROWS))
        return columns, headers, rows, unknown
    raise SectionsRejected(filename, problem=_(
        "找不到表头：前 %(n)s 行中没有一行同时含有“断面编码”“断面名称”等列名", n=HEADER_SEARCH_ROWS))


def _key(name: str) -> str:
    """A name folded for comparison: width and spaces do not make another name."""
    return unicodedata.normalize("NFKC", clean_text(name)).replace(" ", "").lower()


class _Lookup:
    """The water bodies and outfalls a file may name, loaded once."""

    def __init__(self):
        """Load every water body and outfall code once."""
        waters = db.session.scalars(select(WaterBody)).all()
        self.waters_by_code = {_key(w.code): w for w in waters if w.code}
        self.waters_by_name = {_key(w.name): w for w in waters}
        self.outfall_codes = {_key(code): (outfall_id, code) for outfall_id, code in
                              db.session.execute(select(Outfall.id, Outfall.code))}

    def water(self, text: str) -> WaterBody | None:
        """A water body by its code first, then its name."""
        return self.waters_by_code.get(_key(text)) or self.waters_by_name.get(_key(text))

    def outfall(self, code: str) -> Outfall | None:
        """An outfall by its code (full-width and case differences forgiven)."""
        found = self.outfall_codes.get(_key(code))
        return db.session.get(Outfall, found[0]) if found else None


def _check_rows(columns, headers, data_rows) -> tuple[list[_Row], list[RowError]]:
    """Every row read and checked against the registry, with every problem found."""
    lookup = _Lookup()
    rows, errors, first_row_of = [], [], {}

    for number, cells in data_rows:
        raw = {name: (cells[c] if c < len(cells) else None) for name, c in columns.items()}
        raw = {name: (None if value is None or clean_text(value) == "" else value) for name, value in raw.items()}
        row_errors: list[RowError] = []

        def fail(name, message):
            """Note a problem in this row's column of that field."""
            row_errors.append(RowError(number, headers.get(name) or HEADERS[name][0], message))

        def read(name, reader):
            """A cell read by a ledger_format reader, or None (blank, or refused and noted)."""
            if raw.get(name) is None:
                return None
            try:
                return reader(raw[name])
            except CellError as error:
                fail(name, str(error))
                return None

        for name in REQUIRED:
            if raw.get(name) is None:
                fail(name, _("必填，不能为空"))
        code = read("code", read_code)
        if code:
            earlier = first_row_of.get(_key(code))
            if earlier:
                fail("code", _("断面编码“%(code)s”与第 %(row)s 行重复", code=code, row=earlier))
            else:
                first_row_of[_key(code)] = number
        values: dict[str, Any] = {"name": read("name", read_text(NAME_MAX)), "note": read("note", read_text(NOTE_MAX))}

        level = None
        if raw.get("level") is not None:
            term = SECTION_LEVELS.lookup(clean_text(raw["level"]))
            if term is None:
                fail("level", _("“%(value)s”不是断面级别；可填：%(labels)s", value=clean_text(raw["level"]),
                                labels="、".join(SECTION_LEVELS.labels())))
            else:
                level = term.code
        values["level"] = level

        water = None
        if raw.get("water") is not None:
            water = lookup.water(clean_text(raw["water"]))
            if water is None:
                fail("water", _("没有名称或编码为“%(water)s”的水体；请先导入水体（portal import-waters）再导入断面",
                                water=clean_text(raw["water"])))
        values["water_body"] = water

        longitude, latitude = read("longitude", read_longitude), read("latitude", read_latitude)
        if (raw.get("longitude") is None) != (raw.get("latitude") is None):
            missing = "latitude" if raw.get("latitude") is None else "longitude"
            fail(missing, _("经度和纬度须同时填写或同时留空"))
        values["longitude"], values["latitude"] = longitude, latitude

        values["target_class"] = read("target_class", read_water_class)

        outfall, position = None, None
        if raw.get("outfall") is not None:
            outfall_code = read("outfall", read_code)
            if outfall_code:
                outfall = lookup.outfall(outfall_code)
                if outfall is None:
                    fail("outfall", _("没有编码为“%(code)s”的排污口；请先导入台账再导入断面", code=outfall_code))
        if raw.get("position") is not None:
            term = SECTION_POSITIONS.lookup(clean_text(raw["position"]))
            if term is None:
                fail("position", _("“%(value)s”不是上下游位置；可填：%(labels)s", value=clean_text(raw["position"]),
                                   labels="、".join(SECTION_POSITIONS.labels())))
            else:
                position = term.code
        if (raw.get("outfall") is None) != (raw.get("position") is None):
            if raw.get("outfall") is None:
                fail("outfall", _("填写了上下游，但没有填写关联排污口编码；两项须同时填写或同时留空"))
            else:
                fail("position", _("填写了关联排污口编码，但没有填写上下游；两项须同时填写或同时留空"))
        values["outfall"], values["position"] = outfall, position

        if row_errors:
            errors += row_errors
        else:
            rows.append(_Row(number, code, values))
    return rows, errors


def _current(section: MonitoringSection) -> dict[str, Any]:
    """The section's importable fields, as the file's values are compared with them."""
    return {"name": section.name, "level": section.level, "water_body": section.water_body,
            "longitude": section.longitude, "latitude": section.latitude, "target_class": section.target_class,
            "outfall": section.outfall, "position": section.position, "note": section.note}


def _comparable(name: str, value: Any) -> Any:
    """A value as a change report shows it: a water's name, an outfall's code."""
    if name == "water_body":
        return value.name if value is not None else None
    if name == "outfall":
        return value.code if value is not None else None
    return value if value != "" else None


def _differences(section: MonitoringSection, values: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each field the row changes."""
    current = _current(section)
    changes = []
    for name in FIELDS:
        old, new = _comparable(name, current[name]), _comparable(name, values[name])
        if old != new:
            changes.append((name, old, new))
    return changes


def _apply(section: MonitoringSection, values: dict[str, Any]) -> None:
    """Set the section's fields from a checked row."""
    section.name = values["name"]
    section.level = values["level"]
    section.water_body = values["water_body"]
    section.longitude, section.latitude = values["longitude"], values["latitude"]
    section.target_class = values["target_class"] or None
    section.outfall = values["outfall"]
    section.position = values["position"]
    section.note = values["note"] or None


def _rejudge(sections: list[MonitoringSection]) -> int:
    """Judge the samples of these sections again by their class now; how many samples' limit changed."""
    if not sections:
        return 0
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    changed = 0
    for section in sections:
        before = {sample.id: sample.limit_id for sample in section.samples}
        standards.judge_all(section.samples, zone)
        db.session.flush()
        changed += sum(1 for sample in section.samples if before.get(sample.id) != sample.limit_id)
    return changed



def rejudge_sections_of(water: WaterBody) -> int:
    """Judge again the samples of the water's sections that take its class (no class of their own), after
    the water's target class changed (e.g. by ``portal import-waters``); how many samples' limit changed."""
    taking = [s for s in sections_of_water(water) if not s.target_class and s.samples]
    return _rejudge(taking)

# ---------------------------------------------------------------------------------------------
# Queries


def section_by_code(code: str) -> MonitoringSection | None:
    """The section with this code, or None."""
    return db.session.scalar(select(MonitoringSection).where(MonitoringSection.code == code))


def all_sections() -> list[MonitoringSection]:
    """Every section, by code."""
    return list(db.session.scalars(select(MonitoringSection).order_by(MonitoringSection.code)
                                   .options(selectinload(MonitoringSection.water_body),
                                            selectinload(MonitoringSection.outfall), *_with_samples())))


def _with_samples():
    """Load options for sections shown with their compliance: samples and the limits that judged them,
    in a fixed number of queries however many sections a board lists."""
    return (selectinload(MonitoringSection.samples).selectinload(MonitoringSample.limit)
            .selectinload(StandardLimit.standard),)


def sections_of_water(water: WaterBody) -> list[MonitoringSection]:
    """The sections laid out on a water body, by code, with their samples."""
    return list(db.session.scalars(select(MonitoringSection).where(MonitoringSection.water_body_id == water.id)
                                   .order_by(MonitoringSection.code).options(*_with_samples())))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two WGS84 points (haversine), in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class NearbySection:
    """A section as an outfall's page lists it: how far, and upstream or downstream when linked."""

    section: MonitoringSection
    distance_km: float | None
    position: str | None  # upstream | downstream, only for a section linked to this outfall
    linked: bool


def sections_near_outfall(outfall: Outfall, within_km: float = NEARBY_KM) -> list[NearbySection]:
    """The sections linked to the outfall, then other sections of its water within ``within_km``.

    One query for both (and none for samples when there is no section), since every outfall page asks.
    """
    def distance(section):
        """Kilometres from the outfall, None when either has no coordinates."""
        if None in (outfall.latitude, outfall.longitude, section.latitude, section.longitude):
            return None
        return distance_km(outfall.latitude, outfall.longitude, section.latitude, section.longitude)

    where = MonitoringSection.outfall_id == outfall.id
    if outfall.water_body_id is not None:
        where = or_(where, MonitoringSection.water_body_id == outfall.water_body_id)
    found = []
    for section in db.session.scalars(select(MonitoringSection).where(where).order_by(MonitoringSection.code)
                                      .options(*_with_samples())):
        away = distance(section)
        if section.outfall_id == outfall.id:
            found.append(NearbySection(section, away, section.position, True))
        elif away is not None and away <= within_km:
            found.append(NearbySection(section, away, None, False))
    return sorted(found, key=lambda n: (not n.linked, n.distance_km if n.distance_km is not None else math.inf,
                                        n.section.code))


@dataclass(frozen=True)
class Sampling:
    """All results taken at a section at one local date and time, and whether they met its class."""

    at: datetime  # local time at the section
    samples: tuple[MonitoringSample, ...]

    @property
    def judged(self) -> list[MonitoringSample]:
        """The results a limit judged (within or over): no-limit results and unjudgeable non-detects are left out."""
        return [s for s in self.samples if results.verdict(s) in (results.OVER, results.WITHIN)]

    @property
    def is_judged(self) -> bool:
        """Whether any result of the sampling could be judged at all."""
        return bool(self.judged)

    @property
    def met(self) -> bool:
        """Whether every judged result was within its limit (False when nothing could be judged)."""
        return self.is_judged and all(results.verdict(s) == results.WITHIN for s in self.judged)

    @property
    def failed_parameters(self) -> list[str]:
        """The parameters over their limit, in the bureau's order."""
        return results.ordered_parameters(s.parameter for s in self.samples
                                             if results.verdict(s) == results.OVER)


@dataclass(frozen=True)
class Compliance:
    """How often a section met its GB 3838 class: "met class III in 8 of 10 samplings"."""

    water_class: str | None
    samplings: list[Sampling]  # oldest first: the ones summed up
    total_samplings: int  # all samplings ever, for "the latest 10 of 14"

    @property
    def has_samples(self) -> bool:
        """Whether the section was sampled at all: without samples there is no verdict, never 达标."""
        return bool(self.samplings)

    @property
    def judged(self) -> list[Sampling]:
        """The samplings with at least one judged result."""
        return [s for s in self.samplings if s.is_judged]

    @property
    def met(self) -> int:
        """How many judged samplings met the class."""
        return sum(1 for s in self.judged if s.met)

    @property
    def latest(self) -> Sampling | None:
        """The most recent sampling, judged or not."""
        return self.samplings[-1] if self.samplings else None


def samplings(section: MonitoringSection, zone) -> list[Sampling]:
    """The section's samples grouped by sampling (one local date and time), oldest first."""
    groups: dict[datetime, list[MonitoringSample]] = {}
    for sample in sorted(section.samples, key=lambda s: (s.sampled_at, s.id or 0)):
        local = sample.sampled_at.astimezone(zone).replace(second=0, microsecond=0)
        groups.setdefault(local, []).append(sample)
    return [Sampling(at, tuple(group)) for at, group in groups.items()]


def compliance(section: MonitoringSection, zone, last: int | None = None) -> Compliance:
    """The section's compliance over all its samplings, or over the ``last`` few."""
    found = samplings(section, zone)
    chosen = found[-last:] if last else found
    return Compliance(section.judged_class, chosen, len(found))
