"""The bureau's ledger (台账) format: its columns, and how each cell is read and written.

Import and export both work from ``COLUMNS``, so what one writes the other reads back unchanged.
Cell readers raise ``CellError`` with a message a clerk understands; they accept the forms clerks
actually type (度分秒 coordinates, 2026年6月30日, Excel date serials, full-width characters).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from portal.registry import vocabulary as vocab

COORDINATE_PLACES = 6  # about 0.1 m: finer than any survey, and stable through export → import


class CellError(ValueError):
    """A cell's value cannot be read; the message says why in the clerk's terms."""


# ---------------------------------------------------------------------------------------------
# Cell readers: each takes the raw cell value (never None or blank) and returns the stored value.


def clean_text(value: Any) -> str:
    """A cell as text: Excel's 12.0 becomes "12", runs of spaces (full-width too) become one."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return re.sub(r"\s+", " ", str(value)).strip()


def folded(value: Any) -> str:
    """A cell as text with full-width letters, digits and marks folded (Ｈ２ → H2, ： → :).

    Only for codes, numbers and dates: free text keeps the clerk's Chinese punctuation.
    """
    return unicodedata.normalize("NFKC", clean_text(value)).strip()


def read_text(max_length: int) -> Callable[[Any], str]:
    """A reader for free text of at most ``max_length`` characters."""

    def read(value: Any) -> str:
        text = clean_text(value)
        if len(text) > max_length:
            raise CellError(f"内容过长（{len(text)} 字），最多 {max_length} 字")
        return text

    return read


_CODE_FORBIDDEN = re.compile(r"[\s/\\?#%]")


def read_code(value: Any) -> str:
    """An outfall code: printed in URLs and on signboards, so no spaces or slashes."""
    code = folded(value)
    if len(code) > 64:
        raise CellError("编码过长，最多 64 个字符")
    if _CODE_FORBIDDEN.search(code):
        raise CellError(f"编码“{code}”含有空格、斜杠或 ? # % 等字符，编码中不能有这些字符")
    return code


_PHONE = re.compile(r"^[0-9\-+()（） ,，、/转]+$")


def read_telephone(value: Any) -> str:
    """A telephone number or several, as ledgers write them: 0457-3318271, 13904571234."""
    phone = folded(value)
    digits = re.sub(r"\D", "", phone)
    if not _PHONE.match(phone) or len(digits) < 5 or len(phone) > 32:
        raise CellError(f"“{phone}”不是有效的电话号码（例：0457-3318271 或 13904571234）")
    return phone


def read_vocabulary(vocabulary: vocab.Vocabulary) -> Callable[[Any], str]:
    """A reader that accepts any spelling of a vocabulary's terms and returns the term's code."""

    def read(value: Any) -> str:
        term = vocabulary.lookup(clean_text(value))
        if term is None:
            raise CellError(f"“{clean_text(value)}”不是可用的值；可填：{'、'.join(vocabulary.labels())}")
        return term.code

    return read


def read_water_class(value: Any) -> str:
    """A GB 3838 class written as III, Ⅲ, 3 or III类."""
    text = folded(value).upper().removesuffix("类")
    text = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}.get(text, text)
    if text not in vocab.WATER_QUALITY_CLASSES:
        raise CellError(f"“{clean_text(value)}”不是地表水水质类别（I–V 类）")
    return text


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MONTH_END = re.compile(r"^(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*月?\s*(?:底|末)$")
_EXCEL_EPOCH = date(1899, 12, 30)


def read_date(value: Any) -> date:
    """A date as a real Excel date, an Excel serial, 2026-06-30, 2026/06/30 or 2026年6月30日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A date cell that lost its format shows Excel's serial day number (46203 = 2026-06-30).
        if 1 <= value < 80000:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise CellError(f"“{value}”不是日期（例：2026-06-30 或 2026年6月30日）")
    text = folded(value)
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return _EXCEL_EPOCH + timedelta(days=int(float(text)))
    month_end = _MONTH_END.match(text)
    if month_end:
        # 2026年6月底 (a deadline "by the end of June"): the month's last day.
        year, month = int(month_end[1]), int(month_end[2])
        if not 1 <= month <= 12:
            raise CellError(f"“{text}”不是存在的月份")
        return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                parsed = date(year, month, day)
            except ValueError:
                raise CellError(f"“{text}”不是存在的日期（{year}年没有{month}月{day}日）") from None
            if not 1950 <= parsed.year <= 2100:
                raise CellError(f"“{text}”的年份不合理")
            return parsed
    raise CellError(f"“{text}”不是日期（例：2026-06-30、2026/06/30 或 2026年6月30日）")


# NFKC (see folded) turns ″ into ′′, so both spellings of the seconds mark are accepted.
_DMS = re.compile(
    r"^(?P<deg>\d+(?:\.\d+)?)\s*(?:°|度|º|˚)\s*"
    r"(?:(?P<min>\d+(?:\.\d+)?)\s*(?:′|'|’|‘|分)\s*)?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)\s*(?:″|′′|\"|”|“|''|’’|秒)\s*)?$"
)
_HEMISPHERE = re.compile(r"^(东经|北纬|西经|南纬|[ENWS])\s*|\s*([ENWS])$", re.IGNORECASE)


def _read_degrees(value: Any, axis: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        degrees = float(value)
    else:
        text = folded(value)
        sign = 1
        hemisphere = _HEMISPHERE.search(text)
        if hemisphere:
            marker = (hemisphere.group(1) or hemisphere.group(2)).upper()
            sign = -1 if marker in ("W", "S", "西经", "南纬") else 1
            text = _HEMISPHERE.sub("", text).strip()
        example = "123.5888 或 123°35′20″" if axis == "经度" else "52.0306 或 52°01′50″"
        try:
            degrees = float(text.rstrip("°º˚度"))
        except ValueError:
            match = _DMS.match(text)
            if not match:
                raise CellError(f"“{clean_text(value)}”不是有效的{axis}，应为十进制度数或度分秒（例：{example}）") from None
            minutes = float(match["min"] or 0)
            seconds = float(match["sec"] or 0)
            if minutes >= 60 or seconds >= 60:
                raise CellError(f"“{clean_text(value)}”的分或秒不能大于等于 60")
            degrees = float(match["deg"]) + minutes / 60 + seconds / 3600
        degrees *= sign
    limit = 180 if axis == "经度" else 90
    if not -limit <= degrees <= limit:
        hint = "，是否与经度填反了？" if axis == "纬度" and 73 <= degrees <= 136 else ""
        raise CellError(f"{axis}“{clean_text(value)}”超出范围（−{limit}～{limit}）{hint}")
    return round(degrees, COORDINATE_PLACES)


_LATITUDE_MARK = re.compile(r"北纬|南纬|^[NS]|[NS]$", re.IGNORECASE)


def read_position(value: Any) -> tuple[float, float]:
    """A position in one cell, 经度 then 纬度 unless marked: "123.5888, 52.0306", "北纬52°1′50″ 东经123°35′20″"."""
    text = folded(value)
    parts = [p for p in re.split(r"\s*[,;，；、/]\s*|\s+(?=[东西南北ENWS])", text) if p]
    if len(parts) != 2:
        raise CellError(f"“{clean_text(value)}”应为用逗号隔开的经度和纬度（例：123.5888, 52.0306）")
    first, second = parts
    if _LATITUDE_MARK.search(first) and not _LATITUDE_MARK.search(second):
        first, second = second, first
    longitude, latitude = read_longitude(first), _read_degrees(second, "纬度")
    return longitude, latitude


def read_longitude(value: Any) -> float:
    """Longitude in WGS84 decimal degrees, from decimal or 度分秒 (123°35′20″) text."""
    return _read_degrees(value, "经度")


def read_latitude(value: Any) -> float:
    """Latitude in WGS84 decimal degrees, from decimal or 度分秒 (52°01′50″) text."""
    return _read_degrees(value, "纬度")


# ---------------------------------------------------------------------------------------------
# Cell writers: the stored value → what the exported cell holds.


def write_plain(value: Any) -> Any:
    """Numbers, dates and text go into the cell as they are."""
    return value


def write_vocabulary(vocabulary: vocab.Vocabulary) -> Callable[[Any], str | None]:
    """A writer that puts a code's Chinese label in the cell."""
    return lambda code: vocabulary.label(code) if code else None


# ---------------------------------------------------------------------------------------------
# Text in spreadsheets: never a formula.
#
# In .xlsx files every text is written as a text cell (openpyxl would otherwise store "=1+1" as a
# live formula and "#N/A" as an error), so it shows and reads back exactly as stored. A CSV file
# has no cell types: a spreadsheet opening it runs any cell starting with = + - @ (or a tab or CR
# before them) as a formula. Such text gets a leading apostrophe, which Excel and WPS show as the
# usual "this is text" mark; text that itself starts with an apostrophe gets one more, so that
# ``csv_unprotected`` (applied by the importer to every CSV cell) gives back exactly what was stored.

FORMULA_MARKS = ("=", "+", "-", "@", "\t", "\r")
_PROTECTED_STARTS = (*FORMULA_MARKS, "'")
# Characters XML 1.0 cannot carry: openpyxl refuses a cell holding one.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def csv_protected(text: str) -> str:
    """Text as a CSV cell that no spreadsheet runs as a formula (see above)."""
    return "'" + text if text.startswith(_PROTECTED_STARTS) else text


def csv_unprotected(text: str) -> str:
    """The text ``csv_protected`` was given: one leading apostrophe off, where it added one."""
    if text.startswith("'") and text[1:].startswith(_PROTECTED_STARTS):
        return text[1:]
    return text


def set_text_cell(cell, text: str) -> None:
    """Put text in an openpyxl cell (ordinary or write-only) as a text cell, never a formula or error."""
    cell.value = XML_ILLEGAL.sub("", text)
    cell.data_type = "s"


def write_only_text(sheet, text: str):
    """Text for a write-only sheet's row: the text itself where openpyxl stores it as plain text (cheap:
    one shared cell), else a cell of its own typed as text — a formula "=…", an error code "#N/A", a
    character XML cannot carry."""
    # Here, not at the top: a worker that never writes a spreadsheet never loads openpyxl (35 MB).
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    if not (text.startswith("=") or text in ERROR_CODES or XML_ILLEGAL.search(text)):
        return text
    cell = WriteOnlyCell(sheet)
    set_text_cell(cell, text)
    return cell


# ---------------------------------------------------------------------------------------------
# The columns.


@dataclass(frozen=True)
class Column:
    """One ledger column: the field it fills, its header, other headers clerks use, how to read it."""

    field: str
    header: str
    aliases: tuple[str, ...]
    read: Callable[[Any], Any]
    write: Callable[[Any], Any] = write_plain
    group: str | None = None  # the merged header above it in a two-row header
    number_format: str | None = None
    width: int = 14
    exported: bool = True  # False: read on import only (the export writes the same data elsewhere)


PLAN_GROUP = "整治情况"

COLUMNS: list[Column] = [
    Column("seq", "序号", ("编号序号", "no", "no.", "#", "序"), lambda v: clean_text(v), width=6),
    Column("code", "排污口编码", ("排污口编号", "编码", "排口编码", "排口编号", "入河排污口编码", "本地编码",
                                 "地方编码", "code", "outfallcode", "localcode"), read_code, width=16),
    Column("national_code", "国家编码", ("全国统一编码", "国家排污口编码", "统一编码", "国家统一编码",
                                        "nationalcode"), read_code, width=22),
    Column("name", "排污口名称", ("名称", "排口名称", "入河排污口名称", "name", "outfallname"),
           read_text(200), width=36),
    Column("town", "所在镇", ("所在乡镇", "乡镇", "镇", "所属乡镇", "所属镇", "乡镇（街道）", "town"),
           read_text(64), width=10),
    Column("water_body", "受纳水体", ("受纳水体名称", "入河名称", "所在河流", "河流", "受纳河流",
                                     "receivingwater", "waterbody", "river"), read_text(100)),
    Column("longitude", "经度", ("东经", "longitude", "lon", "lng"), read_longitude,
           number_format="0.000000", width=12),
    Column("latitude", "纬度", ("北纬", "latitude", "lat"), read_latitude, number_format="0.000000", width=12),
    Column("position", "经纬度", ("坐标", "经纬度坐标", "位置坐标", "地理坐标", "coordinates", "position"),
           read_position, exported=False),
    Column("outfall_type", "排污口类型", ("类型", "一级类型", "排口类型", "排污口一级类型", "type",
                                         "outfalltype"), read_vocabulary(vocab.OUTFALL_TYPES),
           write_vocabulary(vocab.OUTFALL_TYPES), width=20),
    Column("outfall_subtype", "排污口类别", ("类别", "二级类型", "排口类别", "排污口二级类型", "细类",
                                            "subtype", "category"), read_vocabulary(vocab.OUTFALL_SUBTYPES),
           write_vocabulary(vocab.OUTFALL_SUBTYPES), width=24),
    Column("party", "责任主体", ("责任主体名称", "责任单位", "设置单位", "排污单位", "responsibleparty", "party"),
           read_text(200), width=26),
    Column("party_kind", "责任主体类型", ("主体类型", "责任主体性质", "partykind"),
           read_vocabulary(vocab.PARTY_KINDS), write_vocabulary(vocab.PARTY_KINDS), width=10),
    Column("party_telephone", "责任主体联系电话", ("联系电话", "电话", "责任主体电话", "责任人电话",
                                                 "telephone", "phone"), read_telephone, width=16),
    Column("party_basis", "责任主体认定依据", ("认定依据", "责任主体依据", "partybasis"),
           read_vocabulary(vocab.PARTY_BASES), write_vocabulary(vocab.PARTY_BASES), width=16),
    Column("party_basis_note", "认定说明", ("认定情况说明", "依据说明", "partybasisnote"), read_text(2000), width=24),
    Column("discharge_mode", "排放方式", ("排放规律", "dischargemode"), read_vocabulary(vocab.DISCHARGE_MODES),
           write_vocabulary(vocab.DISCHARGE_MODES), width=10),
    Column("approval_status", "审批登记情况", ("审批情况", "登记情况", "审批/登记情况", "审批备案情况",
                                              "approval", "approvalstatus"),
           read_vocabulary(vocab.APPROVAL_STATUSES), write_vocabulary(vocab.APPROVAL_STATUSES)),
    Column("found_on", "发现日期", ("排查日期", "发现时间", "founddate", "foundon"), read_date,
           number_format="yyyy-mm-dd", width=12),
    Column("stage", "所处阶段", ("阶段", "工作阶段", "当前阶段", "stage"), read_vocabulary(vocab.STAGES),
           write_vocabulary(vocab.STAGES), width=12),
    Column("measure", "整治类型", ("整治方式", "整治分类", "measure"), read_vocabulary(vocab.MEASURES),
           write_vocabulary(vocab.MEASURES), group=PLAN_GROUP, width=12),
    Column("measures_text", "整治措施", ("具体措施", "整治内容", "measures"), read_text(2000),
           group=PLAN_GROUP, width=30),
    Column("deadline", "整治时限", ("完成时限", "整治期限", "整治完成时限", "deadline"), read_date,
           group=PLAN_GROUP, number_format="yyyy-mm-dd", width=12),
    Column("status", "整治进展", ("整治状态", "进展情况", "进展", "整治进度", "status"),
           read_vocabulary(vocab.PLAN_STATUSES), write_vocabulary(vocab.PLAN_STATUSES), group=PLAN_GROUP,
           width=10),
    Column("transition_ends_on", "过渡期截止", ("过渡期", "过渡期限", "过渡期截止日期", "transitionends"),
           read_date, group=PLAN_GROUP, number_format="yyyy-mm-dd", width=12),
    Column("completed_on", "完成日期", ("整治完成日期", "实际完成日期", "completedon"), read_date,
           group=PLAN_GROUP, number_format="yyyy-mm-dd", width=12),
    Column("verified_on", "验收销号日期", ("销号日期", "验收日期", "verifiedon"), read_date, group=PLAN_GROUP,
           number_format="yyyy-mm-dd", width=12),
    Column("merged_into", "合并至", ("并入排污口", "合并后排污口编码", "合并至排污口", "mergedinto"), read_code,
           group=PLAN_GROUP, width=16),
    Column("supervising_leader", "包保领导", ("包保责任人", "包保领导姓名", "包保人", "supervisingleader"),
           read_text(64), width=10),
    Column("note", "备注", ("说明", "note", "remarks"), read_text(2000), width=24),
]

COLUMNS_BY_FIELD = {column.field: column for column in COLUMNS}
EXPORT_COLUMNS = [column for column in COLUMNS if column.exported]
REQUIRED_FIELDS = ("code", "name", "town", "outfall_type")
PLAN_FIELDS = tuple(c.field for c in COLUMNS if c.group == PLAN_GROUP)


def header_key(text: Any) -> str:
    """A header cell folded for matching: no spaces, marks of required (*), or width differences."""
    key = vocab.normalise_label(clean_text(text)).replace("*", "").replace("※", "")
    return key


_HEADER_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _spelling in (_column.header, _column.field, *_column.aliases):
        _HEADER_INDEX.setdefault(header_key(_spelling), _column.field)


def field_for_header(text: Any) -> str | None:
    """The field a header cell names, trying it with and without a bracketed unit: 经度（°）."""
    if text is None or clean_text(text) == "":
        return None
    key = header_key(text)
    if key in _HEADER_INDEX:
        return _HEADER_INDEX[key]
    return _HEADER_INDEX.get(re.sub(r"\(.*?\)|\[.*?\]", "", key))
