"""`portal import-holidays`: loading the State Council's notice, refusing a wrong file line by line."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import holidays
from sqlalchemy import select

from portal import PROJECT_ROOT, calendar
from portal.extensions import db
from portal.models import AuditEntry, CalendarDay

NOTICE_2027 = """\
# 2027 年节假日安排（为测试虚构）
date,kind,name
2027-01-01,休,元旦
2027/1/2,休,元旦
2027年1月3日,休,元旦
2027-02-06,班,春节调休上班

2027-02-08,holiday,春节
2027-02-09,休,春节
2027-02-10,休,春节
2027-02-11,休,春节
2027-02-12,休,春节
2027-02-20,workday,春节调休上班
"""


def write(tmp_path: Path, text: str, name: str = "holidays.csv", bom: bool = False) -> Path:
    """A notice file with ``text`` (UTF-8, with a BOM if asked)."""
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def stored_days() -> dict[date, bool]:
    return dict(db.session.execute(select(CalendarDay.day, CalendarDay.working)).all())


def audit_entries() -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar_imported")).all()


def test_import_loads_the_years_notice_and_the_calendar_follows_it(runner, tmp_path):
    assert not calendar.notice_loaded(2027)
    result = runner.invoke(args=["import-holidays", str(write(tmp_path, NOTICE_2027, bom=True))])
    assert result.exit_code == 0, result.output
    assert "2027 年：休息日 8 天，调休上班日 2 天" in result.output and "已导入" in result.output
    days = stored_days()
    assert len(days) == 10 and days[date(2027, 1, 2)] is False and days[date(2027, 2, 6)] is True
    assert calendar.notice_loaded(2027)
    assert calendar.is_working_day(date(2027, 2, 6))  # a Saturday, worked by the notice
    assert not calendar.is_working_day(date(2027, 2, 11))
    # 5 Feb (Fri) + 2: 6 Feb (adjusted Sat), then the holiday and its weekend run to 15 Feb.
    assert calendar.add_working_days(date(2027, 2, 5), 2) == date(2027, 2, 15)


def test_import_writes_one_audit_entry_by_the_cli(runner, tmp_path):
    runner.invoke(args=["import-holidays", str(write(tmp_path, NOTICE_2027))])
    [entry] = audit_entries()
    assert entry.actor_name == "cli" and entry.actor_id is None
    assert json.loads(entry.detail) == {"years": [2027], "holidays": 8, "workdays": 2}


def test_path_defaults_to_the_instance_folder(app, runner):
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    (Path(app.instance_path) / "holidays.csv").write_text(NOTICE_2027, encoding="utf-8")
    result = runner.invoke(args=["import-holidays"])
    assert result.exit_code == 0, result.output
    assert len(stored_days()) == 10


def test_missing_default_file_names_it(app, runner):
    result = runner.invoke(args=["import-holidays"])
    assert result.exit_code == 1
    assert f"无法读取节假日文件 {Path(app.instance_path) / 'holidays.csv'}：文件不存在" in result.output
    assert "数据库未作任何更改" in result.output


def test_dry_run_reports_and_writes_nothing(runner, tmp_path):
    result = runner.invoke(args=["import-holidays", "--dry-run", str(write(tmp_path, NOTICE_2027))])
    assert result.exit_code == 0, result.output
    assert "2027 年：休息日 8 天，调休上班日 2 天" in result.output and "试运行" in result.output
    assert stored_days() == {} and audit_entries() == []
    assert not calendar.notice_loaded(2027)


def test_a_year_in_the_file_replaces_that_year_only(runner, tmp_path):
    two_years = NOTICE_2027 + "2028-01-01,休,元旦\n2028-01-03,休,元旦\n"
    runner.invoke(args=["import-holidays", str(write(tmp_path, two_years, "both.csv"))])
    corrected = "date,kind,name\n2027-01-01,休,元旦\n2027-01-04,休,元旦\n"
    result = runner.invoke(args=["import-holidays", str(write(tmp_path, corrected, "fix.csv"))])
    assert result.exit_code == 0, result.output
    assert "替换已有的 10 条" in result.output
    days = stored_days()
    assert sorted(day for day in days if day.year == 2027) == [date(2027, 1, 1), date(2027, 1, 4)]
    assert sorted(day for day in days if day.year == 2028) == [date(2028, 1, 1), date(2028, 1, 3)]
    assert not calendar.is_working_day(date(2027, 1, 4)) and calendar.is_working_day(date(2027, 1, 7))
    assert calendar.is_working_day(date(2027, 2, 8))  # the first file's holiday is gone with its year
    assert len(audit_entries()) == 2


def test_dry_run_says_how_many_rows_would_be_replaced(runner, tmp_path):
    runner.invoke(args=["import-holidays", str(write(tmp_path, NOTICE_2027))])
    result = runner.invoke(args=["import-holidays", "--dry-run", str(write(tmp_path, NOTICE_2027, "again.csv"))])
    assert "替换已有的 10 条" in result.output and len(audit_entries()) == 1


def refused(runner, tmp_path, text: str) -> str:
    """Import ``text``; assert it is refused with nothing written, and return the output."""
    result = runner.invoke(args=["import-holidays", str(write(tmp_path, text))])
    assert result.exit_code == 1, result.output
    assert "节假日文件未导入，数据库未作任何更改（nothing written）。" in result.output
    assert stored_days() == {} and audit_entries() == []
    return result.output


def test_bad_header_is_refused(runner, tmp_path):
    output = refused(runner, tmp_path, "# notice\n日期,类型\n2027-01-01,休,元旦\n")
    assert "第 2 行：表头应为 date,kind,name，实为 日期,类型（bad header" in output


def test_empty_file_is_refused(runner, tmp_path):
    assert "没有表头" in refused(runner, tmp_path, "# only a comment\n\n")
    assert "没有任何日期" in refused(runner, tmp_path, "date,kind,name\n")


def test_every_bad_line_is_named(runner, tmp_path):
    output = refused(runner, tmp_path, (
        "date,kind,name\n"
        "2027-01-01,休,元旦\n"
        "2027-02-30,休,春节\n"
        "next monday,休,春节\n"
        "2027-02-08,放假,春节\n"
        "2027-01-01,休,元旦\n"
        "2027-02-10,班,春节调休\n"
        "2027-02-13,休,春节\n"  # a Saturday listed as a rest day: notices do that, not an error
        "2027-02-14,,\n"
        "2027-02-15,休,春节,多余\n"
    ))
    assert "第 3 行：日期“2027-02-30”无效" in output and "（bad date）" in output
    assert "第 4 行：日期“next monday”无效" in output
    assert "第 5 行：类型“放假”无法识别，应为 休（holiday）或 班（workday）（unknown kind）" in output
    assert "第 6 行：日期 2027-01-01 与第 2 行重复（the same date twice, first on line 2）" in output
    assert "第 7 行：2027-02-10 不是周六或周日，不能列为调休上班日（班）" in output
    assert "第 8 行" not in output
    assert "第 9 行：类型“”无法识别" in output
    assert "第 10 行：应有 3 列" in output


def test_a_year_without_any_holiday_is_refused(runner, tmp_path):
    output = refused(runner, tmp_path, "date,kind,name\n2027-01-01,休,元旦\n2028-02-05,班,调休\n")
    assert "2028 年没有任何休息日（休），可能选错了文件（no holiday in 2028: wrong file?）" in output
    assert "2027 年没有" not in output


def test_at_most_twenty_problems_are_listed(runner, tmp_path):
    lines = "".join(f"2027-03-{day:02d},放假,\n" for day in range(1, 26))
    output = refused(runner, tmp_path, "date,kind,name\n" + lines)
    assert "第 21 行" in output and "第 22 行" not in output
    assert "……另有 6 处问题（…and 6 more）。" in output  # 25 unknown kinds + no holiday in 2027


def test_unreadable_files_are_refused_with_the_reason(runner, tmp_path):
    (tmp_path / "latin1.csv").write_bytes("date,kind,name\n2027-01-01,休,元旦\n".encode("gb18030"))
    result = runner.invoke(args=["import-holidays", str(tmp_path / "latin1.csv")])
    assert result.exit_code == 1 and "不是 UTF-8 编码的文本" in result.output
    result = runner.invoke(args=["import-holidays", str(tmp_path)])
    assert result.exit_code == 1 and "这是一个目录" in result.output and stored_days() == {}


def test_example_file_is_2026s_notice_and_agrees_with_the_package(runner):
    example = PROJECT_ROOT / "instance" / "holidays.example.csv"
    assert "示例" in example.read_text(encoding="utf-8") and "国办发明电〔2025〕7号" in example.read_text(encoding="utf-8")
    result = runner.invoke(args=["import-holidays", str(example)])
    assert result.exit_code == 0, result.output
    assert "2026 年：休息日 33 天，调休上班日 6 天" in result.output
    package = holidays.China(years=2026)
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert calendar.is_working_day(day) == package.is_working_day(day), day
        day += timedelta(days=1)

