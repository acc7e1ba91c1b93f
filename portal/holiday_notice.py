"""The State Council's holiday notice as a file: read and check it, then store its years' CalendarDay rows.

The file (``instance/holidays.csv``; ``instance/holidays.example.csv`` shows the format) is a CSV with
the header ``date,kind,name``; ``kind`` is ``休`` / ``holiday`` (a statutory rest day) or ``班`` /
``workday`` (an adjusted working day, 调休); ``#`` lines and blank lines are ignored. A year in the
file replaces that year's rows wholly: portal.calendar then takes the year from the notice alone.

Checking reads the whole file and lists every problem (line by line, Chinese with English in
brackets, as the other commands do) before anything is written; storing only flushes — the command
wraps it in ``transaction()``.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import delete, func, select

from portal.extensions import db
from portal.models import CalendarDay

HEADER = ("date", "kind", "name")
KINDS = {"休": False, "holiday": False, "班": True, "workday": True}  # kind → working
MAX_PROBLEMS = 20  # listed; the rest are counted
NAME_LENGTH = CalendarDay.__table__.c.name.type.length
_DATE_FORMATS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
)


class NoticeRejected(Exception):
    """The file cannot be loaded; ``problems`` lists every reason, each one line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def report(self) -> str:
        """Every problem (the first MAX_PROBLEMS, then how many more), and that nothing was written."""
        shown = self.problems[:MAX_PROBLEMS]
        if len(self.problems) > MAX_PROBLEMS:
            rest = len(self.problems) - MAX_PROBLEMS
            shown.append(f"……另有 {rest} 处问题（…and {rest} more）。")
        return "\n".join(shown + ["节假日文件未导入，数据库未作任何更改（nothing written）。"])


@dataclass
class Notice:
    """The days of a checked file, by date: ``working`` False for 休, True for 班; and their names."""

    source: str
    days: dict[date, tuple[bool, str]] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        """The years the file covers (each replaced wholly)."""
        return sorted({day.year for day in self.days})

    def count(self, year: int | None = None) -> tuple[int, int]:
        """How many rest days (休) and adjusted working days (班) it lists, in ``year`` or in all."""
        kinds = [working for day, (working, _) in self.days.items() if year is None or day.year == year]
        return kinds.count(False), kinds.count(True)


def parse_date(text: str) -> date | None:
    """A date written 2027-01-01, 2027/1/1 or 2027年1月1日; None if it is none of those or no such day."""
    text = text.strip()
    for pattern in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                return None
    return None


def read_notice(path: Path) -> Notice:
    """Read and check the file at ``path``; raise NoticeRejected listing every problem found."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise NoticeRejected([f"无法读取节假日文件 {path}：文件不存在（cannot read the holiday file: no such file）。"])
    except IsADirectoryError:
        raise NoticeRejected([f"无法读取节假日文件 {path}：这是一个目录（cannot read the holiday file: it is a directory）。"])
    except OSError as error:
        raise NoticeRejected([f"无法读取节假日文件 {path}：{error.strerror or error}（cannot read the holiday file）。"])
    except UnicodeDecodeError:
        raise NoticeRejected([f"无法读取节假日文件 {path}：不是 UTF-8 编码的文本（cannot read the holiday file: not UTF-8 text）。"])
    return check_notice(text, source=path.name)


def check_notice(text: str, source: str = "") -> Notice:
    """Check the text of a notice file (header, dates, kinds, repeats, 班 on weekends, a 休 per year)."""
    notice, problems, first_line = Notice(source=source[:200]), [], {}
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if not header_seen:
            header_seen = True
            if tuple(cell.lower() for cell in cells) != HEADER:
                problems.append(f"第 {number} 行：表头应为 date,kind,name，实为 {line.strip()}"
                                f"（bad header: expected date,kind,name）。")
                break  # without the header the columns mean nothing: the rest would only repeat it
            continue
        problems.extend(_check_row(number, cells, notice, first_line))
    if not header_seen:
        problems.append("文件中没有表头 date,kind,name，也没有任何日期（no header and no dates: empty file）。")
    elif not problems and not notice.days:
        problems.append("文件中没有任何日期（no dates in the file）。")
    for year in sorted({day.year for day in first_line}):
        if not any(not working for day, (working, _) in notice.days.items() if day.year == year):
            problems.append(f"{year} 年没有任何休息日（休），可能选错了文件（no holiday in {year}: wrong file?）。")
    if problems:
        raise NoticeRejected(problems)
    return notice


def _check_row(number: int, cells: list[str], notice: Notice, first_line: dict[date, int]) -> list[str]:
    """The problems of one data line (none: its day is added to ``notice``)."""
    if len(cells) not in (2, 3):
        return [f"第 {number} 行：应有 3 列（date,kind,name），实有 {len(cells)} 列（expected 3 columns）。"]
    raw_date, raw_kind, name = cells[0], cells[1], cells[2] if len(cells) == 3 else ""
    problems = []
    day = parse_date(raw_date)
    if day is None:
        problems.append(f"第 {number} 行：日期“{raw_date}”无效，应写作 2027-01-01、2027/1/1 或 2027年1月1日"
                        f"（bad date）。")
    working = KINDS.get(raw_kind.lower())
    if working is None:
        problems.append(f"第 {number} 行：类型“{raw_kind}”无法识别，应为 休（holiday）或 班（workday）"
                        f"（unknown kind）。")
    if len(name) > NAME_LENGTH:
        problems.append(f"第 {number} 行：名称超过 {NAME_LENGTH} 个字（name too long）。")
    if day is not None and day in first_line:
        problems.append(f"第 {number} 行：日期 {day.isoformat()} 与第 {first_line[day]} 行重复"
                        f"（the same date twice, first on line {first_line[day]}）。")
        return problems
    if day is not None:
        first_line[day] = number
    if day is not None and working is True and day.weekday() < 5:
        problems.append(f"第 {number} 行：{day.isoformat()} 不是周六或周日，不能列为调休上班日（班）"
                        f"（a workday must be a Saturday or Sunday）。")
    if not problems:
        notice.days[day] = (working, name)
    return problems


@dataclass
class YearSummary:
    """What loading changes for one year: the file's counts and how many rows it replaces."""

    year: int
    holidays: int
    workdays: int
    replaced: int

    def line(self) -> str:
        """One line for the command's output."""
        text = (f"{self.year} 年：休息日 {self.holidays} 天，调休上班日 {self.workdays} 天"
                f"（{self.year}: {self.holidays} holidays, {self.workdays} adjusted working days）")
        if self.replaced:
            text += f"，替换已有的 {self.replaced} 条（replacing {self.replaced} rows）"
        return text + "。"


def summarise(notice: Notice) -> list[YearSummary]:
    """Per year of the file: its counts, and how many stored rows it would replace (one query)."""
    years = notice.years
    stored = Counter(dict(db.session.execute(
        select(func.extract("year", CalendarDay.day), func.count())
        .where(CalendarDay.day >= date(years[0], 1, 1), CalendarDay.day <= date(years[-1], 12, 31))
        .group_by(func.extract("year", CalendarDay.day))
    ).all())) if years else Counter()
    stored = Counter({int(year): count for year, count in stored.items()})
    return [YearSummary(year, *notice.count(year), replaced=stored[year]) for year in years]


def store(notice: Notice) -> list[YearSummary]:
    """Replace the CalendarDay rows of exactly the file's years by its days; only flushes."""
    summaries = summarise(notice)
    for year in notice.years:
        db.session.execute(delete(CalendarDay).where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
    db.session.add_all(CalendarDay(day=day, working=working, name=name, source=notice.source)
                       for day, (working, name) in sorted(notice.days.items()))
    db.session.flush()
    return summaries
