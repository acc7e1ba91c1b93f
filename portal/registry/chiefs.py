"""River chiefs (河长名录) from the bureau's file (``portal import-chiefs``), all of it or none of it.

A CSV or XLSX file with one chief per row under a header row (title rows above it are fine; the
ledger's reader copes with Excel's and WPS's encodings and refuses zip bombs). Columns, in any
order and under the spellings clerks use (see ``HEADERS``):

- 编号 (the bureau's code for the chief: optional, matched first), 姓名 (required), 职务,
  级别 (省级/市级/区级（县级）/镇级（乡级）/村级, also written 区级河长 …; a file without the column
  takes the level from the office: 区长 → 区级, 镇长 → 镇级, 村/社区 → 村级);
- 河湖 (a water body by name or code, a stretch such as 呼玛河呼中镇段, or several: 呼玛河、碧水河) and/or
  镇 (a town): at least one;
- 职责, 监督电话 or 联系电话, 电话是否公开 (是/否: only a line marked 是 is ever shown in public —
  an office's number; a person's own number never is), 任职日期.

The file is the roster of the boards it names: the board of each water named on a row, and the
town board (chiefs of a town without a river) of each town named on a row without a river. A chief
on such a board whom the file no longer lists leaves it: deleted when nothing refers to the record,
otherwise (a duty shift, an outfall's 包保领导, an account, a report) the record is kept and only taken
off the board (its water and town unlinked), and the summary says so. A change to a water's chiefs
dates its board (``board_changed_on``). Importing the same file again changes nothing.

Afterwards, outfalls whose 包保领导 text names a chief and which are not linked yet are linked.
``LeaderIndex`` is how the ledger import resolves 包保领导 to a chief.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
import warnings
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import calendar
from portal.extensions import db
from portal.importing import FileRejected, RowError
from portal.models import (
    Account,
    DutyShift,
    Outfall,
    Report,
    RiverChief,
    Town,
    WaterBody,
)
from portal.registry import vocabulary as vocab
from portal.registry.ledger_format import (
    CellError,
    clean_text,
    header_key,
    read_code,
    read_date,
    read_telephone,
    read_text,
)

# The ledger's reader already copes with what Excel and WPS save and refuses hostile workbooks.
from portal.registry.ledger_reader import LedgerFileError
from portal.registry.ledger_reader import _csv_grid as csv_grid
from portal.registry.ledger_reader import _fill_vertical as fill_vertical
from portal.registry.ledger_reader import _merged_ranges as merged_ranges
from portal.registry.ledger_reader import _refuse_zip_bomb as refuse_zip_bomb
from portal.registry.ledger_reader import _trimmed as trimmed

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000  # a district has tens of chiefs; a province a few thousand
HEADER_SEARCH_ROWS = 30
NAME_MAX = RiverChief.__table__.c.name.type.length
TITLE_MAX = RiverChief.__table__.c.title.type.length
CODE_MAX = RiverChief.__table__.c.code.type.length
SOURCE_MAX = RiverChief.__table__.c.source.type.length
DUTIES_MAX = 2000
RANKS = {"province": 1, "city": 2, "district": 3, "town": 4, "village": 5}
# Header spellings clerks use → field; the first spelling is how messages name the column.
HEADERS = {
    "code": ("编号", "河长编号", "河湖长编号", "编码", "河长编码", "人员编号", "code"),
    "name": ("姓名", "河长姓名", "河湖长姓名", "河长", "河湖长", "名字", "河长名字", "name"),
    "title": ("职务", "行政职务", "现任职务", "担任职务", "所任职务", "职位", "单位职务", "工作单位及职务",
              "单位及职务", "title"),
    "level": ("级别", "河长级别", "河湖长级别", "层级", "河长层级", "河湖长层级", "等级", "河长等级", "level"),
    "water": ("河湖", "河湖名称", "所在河流", "所在河湖", "河流", "河流名称", "负责河湖", "负责河流", "所辖河湖",
              "包保河湖", "河湖（水库）", "河流（湖泊、水库）", "水体", "水体名称", "河湖编码", "河段", "water"),
    "town": ("镇", "乡镇", "所在镇", "所在乡镇", "所属镇", "所属乡镇", "镇名", "乡镇名称", "负责乡镇", "乡镇（街道）",
             "town"),
    "duties": ("职责", "工作职责", "河长职责", "主要职责", "职责范围", "履职内容", "duties"),
    "telephone": ("监督电话", "联系电话", "电话", "电话号码", "手机", "手机号码", "联系方式", "办公电话",
                  "监督举报电话", "telephone"),
    "public": ("电话是否公开", "是否公开", "电话公开", "是否公开电话", "公开电话", "公开"),
    "appointed_on": ("任职日期", "任职时间", "任命日期", "任命时间", "任职起始日期", "上任日期", "appointed"),
}
FIELD_BY_HEADER = {header_key(spelling): name for name, spellings in HEADERS.items() for spelling in spellings}
COLUMN_NAMES = {name: spellings[0] for name, spellings in HEADERS.items()}
SAME_AS_ABOVE = {"同上", "〃", "\"", "”", "同前", "同左"}
YES = {"是", "公开", "y", "yes", "true", "1", "√", "✓", "对"}
NO = {"否", "不公开", "n", "no", "false", "0", "×", "不"}
# What a board shows of a chief: a change to one of them dates the water's board.
SHOWN = ("name", "title", "level", "town_id", "duties", "telephone", "telephone_is_official")
FIELD_LABELS = {"code": _l("编号"), "name": _l("姓名"), "title": _l("职务"), "level": _l("级别"),
                "water_body_id": _l("河湖"), "town_id": _l("镇"), "duties": _l("职责"), "telephone": _l("电话"),
                "telephone_is_official": _l("电话是否公开"), "appointed_on": _l("任职日期")}
# What may still refer to a chief taken off a board (the summary names them).
REFERENCE_LABELS = {"值班表": _l("值班表"), "排污口包保领导": _l("排污口包保领导"), "账户": _l("账户"), "举报": _l("举报")}





class ChiefsRejected(FileRejected):
    """The chiefs file was refused whole; nothing was written."""

    noun = _l("河长名录")


@dataclass
class ChiefsSummary:
    """What an import did, or in a dry run would do."""

    filename: str
    rows: int
    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    unlinked: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, what still refers to it)
    boards_changed: list[str] = field(default_factory=list)
    outfalls_linked: int = 0
    unknown_headers: list[str] = field(default_factory=list)
    changed_on: date | None = None

    def report(self, dry_run: bool = False) -> str:
        """A summary a clerk can check against the file."""
        lines = [_("河长名录“%(file)s”：共 %(n)s 位河长。", file=self.filename, n=self.rows)]
        counts = {"added": len(self.added), "changed": len(self.updated), "same": self.unchanged}
        lines.append(_("将新增 %(added)s 位，将修改 %(changed)s 位，无变化 %(same)s 位。", **counts) if dry_run
                     else _("已新增 %(added)s 位，已修改 %(changed)s 位，无变化 %(same)s 位。", **counts))
        if self.added:
            lines.append(_("新增：%(names)s", names="、".join(self.added)))
        for name, fields in self.updated:
            lines.append(_("修改 %(name)s：%(fields)s", name=name, fields="、".join(str(FIELD_LABELS[f]) for f in fields)))
        if self.removed:
            names = "、".join(self.removed)
            lines.append(_("不再列于名录、将从公示牌删除：%(names)s", names=names) if dry_run
                         else _("不再列于名录、已从公示牌删除：%(names)s", names=names))
        for name, refs in self.unlinked:
            refs = "、".join(str(REFERENCE_LABELS.get(ref, ref)) for ref in refs)
            lines.append(_("%(name)s 不再列于名录，将移出公示牌；因仍被%(refs)s引用，保留其记录", name=name, refs=refs)
                         if dry_run else
                         _("%(name)s 不再列于名录，已移出公示牌；因仍被%(refs)s引用，保留其记录", name=name, refs=refs))
        if self.boards_changed:
            lines.append(_("公示牌河长有变化，变更日期记为 %(date)s：%(waters)s", date=self.changed_on.isoformat(),
                           waters="、".join(self.boards_changed)))
        if not dry_run and self.outfalls_linked:
            lines.append(_("已按包保领导姓名关联 %(n)s 个排污口。", n=self.outfalls_linked))
        if self.unknown_headers:
            lines.append(_("未识别、已忽略的列：%(headers)s", headers="、".join(self.unknown_headers)))
        if dry_run:
            lines.append(_("（试运行：未写入数据库）"))
        return "\n".join(lines)


@dataclass
class _Row:
    """One checked row: the chief's values as they will be stored (fields of absent columns left out)."""

    number: int
    values: dict
    water: WaterBody | None
    town: Town | None

    @property
    def board(self) -> tuple[str, int]:
        """The board this row puts its chief on: the water's, else the town's."""
        return ("water", self.water.id) if self.water else ("town", self.town.id)


def display_name(path: Path) -> str:
    """The file's name as messages show it: bytes that are not UTF-8 become �."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def import_chiefs(path: Path, dry_run: bool = False) -> ChiefsSummary:
    """Import a chiefs file, all or nothing; see the module docstring."""
    path = Path(path)
    filename = display_name(path)
    columns, headers, grid, unknown = _read(path, filename)
    rows, errors = _check_rows(columns, headers, grid)
    if errors:
        raise ChiefsRejected(filename, sorted(errors, key=lambda e: e.row))
    if not rows:  # an empty roster would take nobody off any board, and is more likely the wrong file
        raise ChiefsRejected(filename, problem=_("表头下没有任何河长"))
    summary = ChiefsSummary(filename, len(rows), unknown_headers=unknown, changed_on=calendar.today())
    on_record = db.session.scalars(select(RiverChief).order_by(RiverChief.id)).all()
    matched, conflicts = _match(rows, on_record)
    if conflicts:
        raise ChiefsRejected(filename, [RowError(row.number, headers.get("code", COLUMN_NAMES["code"]), _(
            "编号“%(code)s”已属于数据库中的河长 %(name)s（%(board)s），与本行的姓名和河湖都不同；"
            "如这一列只是序号，请把列名改为“序号”", code=row.values["code"], name=holder.name,
            board=holder.water_body.name if holder.water_body else holder.town.name if holder.town else _("未在公示牌上"),
        )) for row, holder in conflicts])
    _apply(rows, matched, on_record, summary, dry_run, source=filename[:SOURCE_MAX])
    if not dry_run:
        db.session.flush()
        summary.outfalls_linked = link_outfalls()
    return summary


# -- reading ------------------------------------------------------------------------------------------

def _read(path: Path, filename: str):
    """field → column, field → header text, the data rows (numbered as a spreadsheet shows them), unknown headers."""
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ChiefsRejected(filename, problem=_("文件过大（%(size)s MB），最大 %(max)s MB", size=round(size / 1048576, 1),
                                                 max=MAX_BYTES // 1048576))
    if size == 0:
        raise ChiefsRejected(filename, problem=_("文件是空的"))
    try:
        if suffix in (".csv", ".txt"):
            grid = [(number, cells) for number, cells in enumerate(csv_grid(path.read_bytes()), start=1)]
            found = _find_header(grid)
        elif suffix in (".xlsx", ".xlsm"):
            found = _read_workbook(path)
        elif suffix in (".xls", ".et", ".wps"):
            raise LedgerFileError(_("不支持旧版 Excel（.xls）或 WPS 格式：请在 Excel/WPS 中“另存为” .xlsx 后再导入"))
        else:
            raise LedgerFileError(_("不支持 %(suffix)s 文件：河长名录须为 .xlsx 或 .csv", suffix=suffix or _("无扩展名")))
    except LedgerFileError as error:
        raise ChiefsRejected(filename, problem=str(error)) from None
    except UnicodeDecodeError:
        raise ChiefsRejected(filename, problem=_("文件以 UTF-8 标记开头，但内容不是有效的 UTF-8 文本")) from None
    if found is None:
        raise ChiefsRejected(filename, problem=_("找不到表头：前 %(n)s 行中没有一行同时含有“姓名”（或“河长姓名”）"
                                                 "和“河湖”“镇”“级别”等列名", n=HEADER_SEARCH_ROWS))
    header_at, columns, headers, unknown, rows = found
    # Without a 级别 column the level follows the office (区长 → 区级); with one, every row needs it.
    missing = [COLUMN_NAMES[f] for f in ("name",) if f not in columns]
    if "water" not in columns and "town" not in columns:
        missing.append(_("河湖（或镇）"))
    if missing:
        raise ChiefsRejected(filename, problem=_("第 %(row)s 行的表头缺少必需的列：%(missing)s（已识别：%(found)s）",
                                                 row=header_at, missing="、".join(missing),
                                                 found="、".join(headers.values())))
    if len(rows) > MAX_ROWS:
        raise ChiefsRejected(filename, problem=_("超过 %(n)s 行数据，不像是河长名录", n=MAX_ROWS))
    return columns, headers, rows, unknown


def _read_workbook(path: Path):
    """The first sheet of a workbook with a chiefs header; vertically merged cells (a river over its chiefs) repeat."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        refuse_zip_bomb(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles and extensions openpyxl ignores do not matter here
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                sheet.reset_dimensions()
                grid = []
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    cells = trimmed(values)
                    if cells:
                        grid.append((number, cells))
                    if len(grid) > MAX_ROWS + HEADER_SEARCH_ROWS:
                        raise LedgerFileError(_("超过 %(n)s 行数据，不像是河长名录", n=MAX_ROWS))
                found = _find_header(grid)
                if found:
                    vertical = [m for m in merged_ranges(workbook, sheet) if m.min_col == m.max_col]
                    fill_vertical(found[4], sorted(vertical, key=lambda m: m.min_row), found[0])
                    return found
        finally:
            workbook.close()
    except LedgerFileError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as error:
        raise LedgerFileError(_("无法读取此 Excel 文件：文件已损坏或不是 .xlsx 格式（%(error)s）",
                                error=type(error).__name__)) from None
    except Exception as error:  # defusedxml and lxml raise their own types for hostile XML
        raise LedgerFileError(_("无法读取此 Excel 文件：内容不符合 .xlsx 格式（%(error)s）",
                                error=type(error).__name__)) from None
    return None


def field_for_header(text: Any) -> str | None:
    """The field a header cell names: 河长姓名, 姓名*, 电话是否公开（是/否） …"""
    if text is None or clean_text(text) == "":
        return None
    key = header_key(text)
    if key in FIELD_BY_HEADER:
        return FIELD_BY_HEADER[key]
    bare = re.sub(r"[（(][^）)]*[）)]", "", key)  # a note in brackets: 任职日期（年月日）
    return FIELD_BY_HEADER.get(bare)


def _find_header(grid: list[tuple[int, list]]):
    """(header row number, field → column, field → header text, unknown headers, data rows) or None."""
    for index, (number, cells) in enumerate(grid[:HEADER_SEARCH_ROWS]):
        found = {c: field_for_header(text) for c, text in enumerate(cells) if text is not None}
        names = set(found.values())
        if "name" not in names or not names & {"water", "town", "level"}:
            continue
        labels = {c: (cells[c], f) for c, f in found.items()}
        # A second header row names sub-columns under a merged group (联系方式 over 办公电话, 手机);
        # under the name column it is blank (the name cell merged down), never a person's name.
        header_at, first_data = number, index + 1
        if index + 1 < len(grid):
            below_number, below = grid[index + 1]
            sub = {c: f for c, text in enumerate(below) if text is not None and (f := field_for_header(text))}
            name_column = next(c for c, f in found.items() if f == "name")
            name_below = below[name_column] if name_column < len(below) else None
            if sub and (name_below is None or field_for_header(name_below) == "name"):
                labels.update({c: (below[c], f) for c, f in sub.items()})
                header_at, first_data = below_number, index + 2
        columns, headers, unknown = {}, {}, []
        for c, (text, name) in sorted(labels.items()):
            if name and name not in columns:
                columns[name] = c
                headers[name] = clean_text(text)
            elif clean_text(text) and clean_text(text) not in unknown:  # unknown, or a second column of a field
                unknown.append(clean_text(text))
        return header_at, columns, headers, unknown, [(n, list(c)) for n, c in grid[first_data:]]
    return None


# -- checking -----------------------------------------------------------------------------------------

def _key(name: str) -> str:
    """A name folded for comparison: full-width brackets and spaces do not make another name."""
    return unicodedata.normalize("NFKC", clean_text(name)).replace(" ", "")


class _Places:
    """The waters (by name and by code) and towns a file may name, loaded once."""

    def __init__(self):
        waters = db.session.scalars(select(WaterBody)).all()
        self.waters = {_key(w.name): w for w in waters}
        self.water_codes = {_key(w.code).casefold(): w for w in waters if w.code}
        self.towns = {_key(t.name): t for t in db.session.scalars(select(Town))}

    def water(self, text: str) -> WaterBody | None:
        """The water a cell names: its name, its code, or a stretch of it (呼玛河呼中镇段, 呼玛河（区内段）)."""
        key = _key(text)
        found = self.waters.get(key) or self.water_codes.get(key.casefold())
        if found is None:
            bare = re.sub(r"[（(][^）)]*[）)]", "", key)
            found = self.waters.get(bare)
        if found is None:
            starts = [name for name in self.waters if key.startswith(name)]
            found = self.waters[max(starts, key=len)] if starts else None
        return found

    def water_names(self) -> list[str]:
        """The names of the waters on record."""
        return [w.name for w in self.waters.values()]

    def town(self, text: str) -> Town | None:
        """The town a cell names: 呼中镇, 呼中镇人民政府, or 呼中 for 呼中镇."""
        key = _key(text).removesuffix("人民政府").removesuffix("政府")
        return self.towns.get(key) or self.towns.get(key + "镇") or self.towns.get(key + "乡")

    def town_in(self, text: str) -> Town | None:
        """The town whose name a stretch's name contains (呼玛河呼中镇段 → 呼中镇), if exactly one."""
        inside = [town for name, town in self.towns.items() if name in _key(text)]
        return inside[0] if len(inside) == 1 else None


def _closest(name: str, known) -> str:
    """A hint naming the known names most like ``name``, or the known names when few."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    if close:
        return _("；是否为：%(names)s？", names="、".join(close))
    if known and len(known) <= 8:
        return _("；已有：%(names)s", names="、".join(sorted(known)))
    return ""


def _check_rows(columns, headers, grid) -> tuple[list[_Row], list[RowError]]:
    """Every row read and checked against the places on record, with every problem found."""
    places = _Places()
    rows, errors = [], []
    first_of_code, first_of_chief = {}, {}
    previous_water = None
    for number, cells in grid:
        raw = {f: cells[c] for f, c in columns.items() if c < len(cells)}
        present = {f: v for f, v in raw.items() if v is not None and clean_text(v) != ""}
        if not present:
            continue
        if len(present) == 1 and any(mark in clean_text(next(iter(present.values()))) for mark in ("：", ":")):
            continue  # a note under the table: 填表人：… 制表日期：…
        row_errors: list[RowError] = []

        def fail(field_name, message):
            """Record a problem of this row in the column as the file heads it."""
            row_errors.append(RowError(number, headers.get(field_name, COLUMN_NAMES[field_name]), message))

        values: dict = {}
        for f, reader in (("name", _read_name), ("title", read_text(TITLE_MAX)),
                          ("duties", read_text(DUTIES_MAX)), ("telephone", _read_telephone),
                          ("appointed_on", read_date)):
            if f not in columns:
                continue
            if f not in present:
                values[f] = None
                continue
            if re.search(r"[\x00-\x08\x0e-\x1f\x7f]", str(present[f])):
                fail(f, _("含有不可见的控制字符（如 NUL），请删除后再导入"))
                continue
            try:
                values[f] = reader(present[f])
            except CellError as error:
                fail(f, str(error))
        if not values.get("name") and "name" not in [e.column for e in row_errors]:
            fail("name", _("必填，不能为空"))
        if "code" in present:
            try:
                code = read_code(present["code"])
                if len(code) > CODE_MAX:
                    raise CellError(_("编号过长，最多 %(n)s 个字符", n=CODE_MAX))
                values["code"] = code
            except CellError as error:
                fail("code", str(error))
        if "level" in columns and ("level" in present or not _office_level(values.get("title"))):
            _read_level(present, values, fail)
        else:  # no 级别 column, or a blank one beside an office that says it (区长, 镇长)
            values["level"] = _inferred_level(values.get("title"), present)
            values["level_rank"] = RANKS[values["level"]]
        # 同上 (or a row naming neither water nor town, as a merged cell saved to CSV leaves it) repeats the
        # water of the row above.
        if clean_text(present.get("water", "")) in SAME_AS_ABOVE or ("water" not in present and "town" not in present):
            if previous_water is not None:
                present["water"] = previous_water
            elif "water" in present:
                del present["water"]
        found_waters, town = _read_places(present, columns, places, fail)
        previous_water = present.get("water", previous_water)
        _read_public(present, columns, values, fail)
        if values.get("code"):
            folded_code = values["code"].casefold()
            if folded_code in first_of_code:
                fail("code", _("编号“%(code)s”与第 %(row)s 行重复", code=values["code"], row=first_of_code[folded_code]))
            first_of_code.setdefault(folded_code, number)
        if len(found_waters) > 1 and values.get("code"):
            fail("code", _("一行写了多条河湖，但编号只能属于一条河湖的河长记录：请分行填写，或留空编号"))
        for water in found_waters or [None]:
            if values.get("name") and (water or town):
                identity = (_key(values["name"]), water.id if water else None, town.id if town else None)
                if identity in first_of_chief:
                    fail("name", _("%(name)s 在同一河湖、镇下与第 %(row)s 行重复", name=values["name"],
                                   row=first_of_chief[identity]))
                first_of_chief.setdefault(identity, number)
        if row_errors:
            errors += row_errors
            continue
        # A chief of several rivers written on one row (呼玛河、碧水河) is a record on each board.
        for water in found_waters or [None]:
            row_values = dict(values, water_body_id=water.id if water else None, town_id=town.id if town else None)
            rows.append(_Row(number, row_values, water, town))
    return rows, errors


def _read_name(value: Any) -> str:
    """A person's name; the spaces clerks pad two-character names with (王  明) are not part of it."""
    name = read_text(NAME_MAX)(value)
    if re.fullmatch(r"[\u4e00-\u9fff·•\s]+", name):
        name = re.sub(r"\s+", "", name)
    return name


def _read_telephone(value: Any) -> str:
    """A telephone as clerks annotate it: 0457-3322101（办）, 办公电话：0457-3322101, 手机 13904571234."""
    text = unicodedata.normalize("NFKC", clean_text(value))
    text = re.sub(r"[(][^0-9()]*[)]", "", text)  # (办), (办公室), (手机)
    text = re.sub(r"(办公室?电话|办公|电话|手机号?码?|座机|固话|监督电话|联系电话)\s*[:：]?", "", text).strip()
    try:
        return read_telephone(text or value)
    except CellError:
        return read_telephone(value)  # refused in the clerk's own words, not the cleaned ones


def _office_level(title: str | None) -> str | None:
    """The level an office implies: 村/社区 → 村级, 镇/乡 → 镇级, 区/县 → 区级, 市 → 市级, 省 → 省级."""
    text = title or ""
    for marks, level in ((("村", "社区", "嘎查"), "village"), (("镇", "乡", "街道"), "town"),
                         (("区", "县", "旗"), "district"), (("市", "地委", "行署"), "city"), (("省",), "province")):
        if any(mark in text for mark in marks):
            return level
    return None


def _inferred_level(title: str | None, present: dict) -> str:
    """The level of a row without one: from the office (区长 → 区级, 镇长 → 镇级), else from the town."""
    return _office_level(title) or ("town" if "town" in present else "district")


def level_for(text: str) -> str | None:
    """A chief level written as 区级, 区级河长, 县级河湖长, 镇, 乡级, 村（社区）级 …, or None."""
    spelled = unicodedata.normalize("NFKC", clean_text(text)).replace(" ", "")
    spelled = re.sub(r"(副?总?河湖长|副?总?河长|副?总?湖长)$", "", spelled)
    spelled = re.sub(r"[（(][^）)]*[）)]", "", spelled)  # 县（区）级, 乡（镇）级, 村（社区）级
    for candidate in (spelled, spelled + "级", spelled.removesuffix("级")):
        term = vocab.CHIEF_LEVELS.lookup(candidate)
        if term:
            return term.code
    extra = {"省": "province", "市": "city", "地市": "city", "区": "district", "县": "district", "县区": "district",
             "区县": "district", "镇": "town", "乡": "town", "乡镇": "town", "街道": "town", "村": "village",
             "社区": "village", "村社区": "village"}
    return extra.get(spelled.removesuffix("级"))


def _read_level(present, values, fail) -> None:
    """The chief's level (required) and its rank, from any of its spellings."""
    if "level" not in present:
        fail("level", _("必填，不能为空（可填：%(labels)s）", labels="、".join(vocab.CHIEF_LEVELS.labels())))
        return
    level = level_for(present["level"])
    if level is None:
        fail("level", _("“%(text)s”不是河长级别；可填：%(labels)s", text=clean_text(present["level"]),
                        labels="、".join(vocab.CHIEF_LEVELS.labels())))
        return
    values["level"], values["level_rank"] = level, RANKS[level]


def _read_places(present, columns, places: _Places, fail) -> tuple[list[WaterBody], Town | None]:
    """The waters (by name or code; several separated by 、) and the town a row names; at least one.

    A stretch written with its river (呼玛河呼中镇段) names the river, and the town when no 镇 is given.
    """
    found: list[WaterBody] = []
    town = None
    stretch_town = None
    if "water" in present:
        for text in [part for part in re.split(r"[、，,;；/]+", clean_text(present["water"])) if part.strip()]:
            text = text.strip()
            water = places.water(text)
            if water is None:
                fail("water", _("找不到名称或编码为“%(text)s”的河湖%(hint)s（请先用 import-waters 导入水体，或核对名称）",
                                text=text, hint=_closest(text, places.water_names())))
            elif water not in found:
                found.append(water)
                if _key(text) != _key(water.name) and (water.code is None or _key(text).casefold() != _key(water.code).casefold()):
                    stretch_town = stretch_town or places.town_in(text)
    if "town" in present:
        text = clean_text(present["town"])
        town = places.town(text)
        if town is None:
            fail("town", _("找不到名为“%(text)s”的镇%(hint)s", text=text,
                           hint=_closest(text, [t.name for t in places.towns.values()])))
    else:
        town = stretch_town
    if "water" not in present and "town" not in present:
        which = "water" if "water" in columns else "town"
        fail(which, _("河湖和镇至少填写一项：河长须属于某条河湖或某个镇"))
    return found, town


def _read_public(present, columns, values, fail) -> None:
    """Whether the telephone may be public: only a line the file marks 是 (an office's), never by default."""
    if "public" not in columns:
        values["telephone_is_official"] = False
        return
    text = unicodedata.normalize("NFKC", clean_text(present.get("public", ""))).strip().lower()
    if text in ("",) or text in NO:
        values["telephone_is_official"] = False
    elif text in YES:
        telephone = values.get("telephone")
        numbers = re.findall(r"\d[\d\-]{4,}\d", telephone or "")
        if not telephone:
            fail("public", _("标记为公开，但没有填写电话"))
        elif len(numbers) > 1 and any(re.fullmatch(r"1[3-9]\d{9}", n.replace("-", "")) for n in numbers):
            # A cell with an office line and a mobile: publishing it would publish the person's own number.
            fail("public", _("标记为公开，但电话一栏同时有手机号码：只有单位电话可以公开，请只保留单位电话，或改标“否”"))
        values["telephone_is_official"] = True
    else:
        fail("public", _("“%(text)s”应填“是”或“否”（只有单位的办公或监督电话才可标“是”公开）",
                         text=clean_text(present["public"])))


# -- writing ------------------------------------------------------------------------------------------

def _references() -> dict[int, list[str]]:
    """For each chief something refers to, what: the records a chief's deletion would break."""
    found: dict[int, list[str]] = defaultdict(list)
    for noun, column in (("值班表", DutyShift.chief_id), ("排污口包保领导", Outfall.supervising_chief_id),
                         ("账户", Account.chief_id), ("举报", Report.chief_id)):
        for chief_id in db.session.scalars(select(column).where(column.is_not(None)).distinct()):
            found[chief_id].append(noun)
    return found


def _match(rows: list[_Row], chiefs: list[RiverChief]):
    """Each row's chief on record: by code; else same name on the same water and town; else the same
    name on the same water; else a chief of that name no longer on any board. Each record once.

    A code matches only a record with the row's name or its board (a renamed chief, a chief moved to
    another river); a code held by someone else entirely is returned as a conflict: the column is
    more likely a row number than the bureau's codes.
    """
    by_code = {c.code.casefold(): c for c in chiefs if c.code}
    claimed: set[int] = set()
    matched: list[RiverChief | None] = [None] * len(rows)
    conflicts = []
    for index, row in enumerate(rows):  # codes first, so that a name match cannot take a coded record
        code = row.values.get("code")
        holder = by_code.get(code.casefold()) if code else None
        if holder is None:
            continue
        same_board = (holder.water_body_id, holder.town_id) == (row.values["water_body_id"], row.values["town_id"])
        if _key(holder.name) == _key(row.values["name"]) or same_board:
            matched[index] = holder
            claimed.add(holder.id)
        else:
            conflicts.append((row, holder))
    for test in (lambda c, r: c.water_body_id == r.values["water_body_id"] and c.town_id == r.values["town_id"],
                 lambda c, r: r.values["water_body_id"] is not None and c.water_body_id == r.values["water_body_id"],
                 lambda c, r: c.water_body_id is None and c.town_id is None):
        for index, row in enumerate(rows):
            if matched[index] is not None:
                continue
            code = row.values.get("code")
            for chief in chiefs:
                if (chief.id not in claimed and _key(chief.name) == _key(row.values["name"]) and test(chief, row)
                        and not (code and chief.code and chief.code.casefold() != code.casefold())):
                    matched[index] = chief
                    claimed.add(chief.id)
                    break
    return matched, conflicts


def _apply(rows: list[_Row], matched: list[RiverChief | None], chiefs: list[RiverChief], summary: ChiefsSummary,
           dry_run: bool, source: str) -> None:
    """Add, update and take off the boards' chiefs as the file says; only flushes."""
    waters = {w.id: w for w in db.session.scalars(select(WaterBody))}
    boards_changed: set[int] = set()
    for row, chief in zip(rows, matched):
        values = row.values
        if chief is None:
            summary.added.append(values["name"])
            if row.water:
                boards_changed.add(row.water.id)
            if not dry_run:
                db.session.add(RiverChief(**values, source=source, is_demo=False))
            continue
        changed = [f for f, v in values.items() if getattr(chief, f) != v and f != "level_rank"]
        if changed:
            summary.updated.append((values["name"], changed))
            if any(f in SHOWN for f in changed) or "water_body_id" in changed:
                boards_changed.update(i for i in (chief.water_body_id, values["water_body_id"]) if i)
        else:
            summary.unchanged += 1
        if not dry_run:
            for f, v in values.items():
                setattr(chief, f, v)
            if changed:
                chief.source = source
            chief.is_demo = False
    # The boards this file is the roster of; their chiefs it does not list leave them.
    boards = {row.board for row in rows}
    kept = {chief.id for chief in matched if chief is not None}
    references = _references()
    for chief in chiefs:
        board = ("water", chief.water_body_id) if chief.water_body_id else ("town", chief.town_id) if chief.town_id else None
        if chief.id in kept or board not in boards:
            continue
        if chief.water_body_id:
            boards_changed.add(chief.water_body_id)
        if chief.id in references:
            summary.unlinked.append((chief.name, references[chief.id]))
            if not dry_run:
                chief.water_body_id = chief.town_id = None
                chief.source = source
        else:
            summary.removed.append(chief.name)
            if not dry_run:
                db.session.delete(chief)
    summary.boards_changed = sorted(waters[i].name for i in boards_changed if i in waters)
    if not dry_run:
        for water_id in boards_changed:
            waters[water_id].board_changed_on = summary.changed_on


# -- 包保领导 -------------------------------------------------------------------------------------------

class LeaderIndex:
    """The chiefs on record by name, to resolve an outfall's 包保领导 text to one of them."""

    def __init__(self):
        self.by_name: dict[str, list[RiverChief]] = defaultdict(list)
        for chief in db.session.scalars(select(RiverChief).order_by(RiverChief.id)):
            self.by_name[_key(chief.name)].append(chief)

    @property
    def empty(self) -> bool:
        """No chief on record yet: a ledger may come before the chiefs file, and keeps the text."""
        return not self.by_name

    def resolve(self, name: str, town_id: int | None, water_body_id: int | None) -> tuple[RiverChief | None, str | None]:
        """The chief a 包保领导 names, and otherwise why not (None when there is nothing to say).

        Two chiefs of one name are told apart by the outfall's water, then its town.
        """
        if self.empty or not name:
            return None, None
        candidates = self.by_name.get(_key(name), [])
        if not candidates:
            return None, _("包保领导「%(name)s」不在河长名录中", name=name)
        if len(candidates) == 1:
            return candidates[0], None
        for narrowed in ([c for c in candidates if c.water_body_id == water_body_id and c.town_id == town_id],
                         [c for c in candidates if water_body_id and c.water_body_id == water_body_id],
                         [c for c in candidates if town_id and c.town_id == town_id]):
            if len(narrowed) == 1:
                return narrowed[0], None
        return None, _("河长名录中有 %(n)s 位“%(name)s”，无法按受纳水体和所在镇确定是哪一位；"
                       "请在河长名录中用编号区分，或核对包保领导", n=len(candidates), name=name)


def link_outfalls() -> int:
    """Link outfalls whose 包保领导 text names exactly one chief and that are not linked yet; how many."""
    index = LeaderIndex()
    if index.empty:
        return 0
    linked = 0
    for outfall in db.session.scalars(select(Outfall).where(
            Outfall.supervising_chief_id.is_(None), Outfall.supervising_leader.is_not(None))):
        chief, _problem = index.resolve(outfall.supervising_leader, outfall.town_id, outfall.water_body_id)
        if chief is not None:
            outfall.supervising_chief_id = chief.id
            linked += 1
    db.session.flush()
    return linked


def chiefs_on_record() -> int:
    """How many chief records there are (the ledger import refuses unknown leaders only when any)."""
    return db.session.scalar(select(func.count()).select_from(RiverChief)) or 0
