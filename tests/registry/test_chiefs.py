"""Importing the river chiefs' roster (河长名录): CSV or XLSX under the headers clerks use, all of a
file or none of it, the file being the roster of the boards it names."""
from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from factories import make_outfall, make_town
from helpers import commit_and_forget

from portal import calendar
from portal.db import transaction
from portal.extensions import db
from portal.models import DutyShift, Outfall, RiverChief, WaterBody
from portal.registry import chiefs, waters

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bureau"
HEADER = ["编号", "姓名", "职务", "级别", "河湖", "镇", "职责", "监督电话", "电话是否公开", "任职日期"]


@pytest.fixture
def places(app):
    """The bureau's towns and waters, as the example files give them."""
    for name in ("呼中镇", "碧水镇", "宏伟镇", "呼源镇"):
        make_town(name)
    with transaction():
        waters.import_waters(EXAMPLES / "waters.geojson")
    db.session.remove()


def write_csv(tmp_path, rows, header=HEADER, filename="chiefs.csv") -> Path:
    """A chiefs CSV file (UTF-8 with BOM, as Excel saves it)."""
    path = tmp_path / filename
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def import_committed(path):
    """Import as the command does, in one transaction."""
    with transaction():
        return chiefs.import_chiefs(path)


def board(water_name: str) -> list[tuple]:
    """A water's chiefs as (level, name, town) from the top down, as committed."""
    db.session.rollback()
    water = db.session.scalar(select(WaterBody).where(WaterBody.name == water_name))
    return [(c.level, c.name, c.town.name if c.town else None) for c in sorted(water.chiefs, key=lambda c: (c.level_rank, c.id))]


def test_the_bureaus_chiefs_file_imports_through_the_command(places, runner):
    result = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.csv")])

    assert result.exit_code == 0, result.output
    assert "共 4 位河长" in result.output and "已新增 4 位" in result.output
    assert board("呼玛河") == [("district", "王建国", None), ("town", "李明", "呼中镇")]
    assert board("碧水河") == [("district", "赵立新", None)]
    assert board("呼中水库") == [("district", "孙海", None)]
    wang = db.session.scalar(select(RiverChief).where(RiverChief.name == "王建国"))
    assert (wang.code, wang.title, wang.telephone, wang.telephone_is_official) == ("HZ-HZ-01", "区长", "0457-3322101", True)
    assert wang.appointed_on == date(2024, 3, 1) and wang.source == "chiefs.csv"
    li = db.session.scalar(select(RiverChief).where(RiverChief.name == "李明"))
    assert (li.telephone, li.telephone_is_official) == ("13904571234", False)

    again = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.csv")])
    assert "已新增 0 位，已修改 0 位，无变化 4 位" in again.output, again.output


def test_the_workbook_with_other_headers_and_merged_rivers_says_the_same(places, runner):
    first = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.xlsx")])
    assert first.exit_code == 0, first.output
    assert board("呼玛河") == [("district", "王建国", None), ("town", "李明", "呼中镇")]
    assert board("呼中水库") == [("district", "孙海", None)]  # named by its code HZSK

    same = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.csv")])
    assert "无变化 4 位" in same.output, same.output


@pytest.mark.parametrize("header", [
    ["河长姓名", "河湖名称", "河长级别", "行政职务", "联系电话"],
    ["姓名*", "所在河流", "层级", "现任职务", "手机号码"],
    ["河湖长姓名", "河湖", "级别", "职务", "电话"],
])
def test_header_spellings_clerks_use(places, tmp_path, header):
    path = write_csv(tmp_path, [["王建国", "呼玛河", "区级河长", "区长", "0457-3322101"],
                                ["李明", "呼玛河", "镇级", "呼中镇镇长", "13904571234"]], header=header)

    summary = import_committed(path)

    assert summary.added == ["王建国", "李明"]
    assert board("呼玛河") == [("district", "王建国", None), ("town", "李明", None)]
    # No 电话是否公开 column: no telephone is public.
    assert not any(c.telephone_is_official for c in db.session.scalars(select(RiverChief)))


def test_a_title_row_above_the_header_and_a_note_below_are_skipped(places, tmp_path):
    path = tmp_path / "chiefs.csv"
    path.write_text("呼中区河长名录\n姓名,级别,河湖\n王建国,区级,呼玛河\n\n填表人：河长办\n", encoding="gb18030")

    assert import_committed(path).added == ["王建国"]


@pytest.mark.parametrize("row,expected", [
    (["", "王建国", "区长", "省长级", "呼玛河", "", "", "", "", ""], "第 2 行「级别」：“省长级”不是河长级别"),
    (["", "王建国", "", "", "呼玛河", "", "", "", "", ""], "第 2 行「级别」：必填"),
    (["", "", "区长", "区级", "呼玛河", "", "", "", "", ""], "第 2 行「姓名」：必填"),
    (["", "王建国", "区长", "区级", "胡玛河", "", "", "", "", ""], "第 2 行「河湖」：找不到名称或编码为“胡玛河”的河湖；是否为：呼玛河"),
    (["", "王建国", "区长", "区级", "", "呼忠镇", "", "", "", ""], "第 2 行「镇」：找不到名为“呼忠镇”的镇；是否为：呼源镇、呼中镇？"),
    (["", "王建国", "区长", "区级", "", "", "", "", "", ""], "第 2 行「河湖」：河湖和镇至少填写一项"),
    (["", "王建国", "区长", "区级", "呼玛河", "", "", "电话待定", "", ""], "第 2 行「监督电话」：“电话待定”不是有效的电话号码"),
    (["", "王建国", "区长", "区级", "呼玛河", "", "", "0457-3322101", "公开一半", ""], "第 2 行「电话是否公开」：“公开一半”应填“是”或“否”"),
    (["", "王建国", "区长", "区级", "呼玛河", "", "", "", "是", ""], "第 2 行「电话是否公开」：标记为公开，但没有填写电话"),
    (["", "王建国", "区长", "区级", "呼玛河", "", "", "", "", "上个月"], "第 2 行「任职日期」："),
    (["HZ 01", "王建国", "区长", "区级", "呼玛河", "", "", "", "", ""], "第 2 行「编号」：编码“HZ 01”含有空格"),
])
def test_each_kind_of_bad_row_is_refused_by_row_and_column(places, tmp_path, row, expected):
    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [row]))

    assert expected in refused.value.report(), refused.value.report()
    assert "数据库未作任何更改" in refused.value.report()
    db.session.rollback()
    assert db.session.scalars(select(RiverChief)).all() == []


def test_every_bad_row_is_listed_and_nothing_is_written(places, runner, tmp_path):
    path = write_csv(tmp_path, [
        ["A1", "王建国", "区长", "区级", "呼玛河", "", "", "", "", ""],
        ["A1", "李明", "镇长", "镇级", "呼玛河", "呼中镇", "", "", "", ""],
        ["", "王建国", "区长", "区级", "呼玛河", "", "", "", "", ""],
    ])

    result = runner.invoke(args=["import-chiefs", str(path)])

    assert result.exit_code == 1
    assert "第 3 行「编号」：编号“A1”与第 2 行重复" in result.output
    assert "第 4 行「姓名」：王建国 在同一河湖、镇下与第 2 行重复" in result.output
    assert "Traceback" not in result.output
    db.session.rollback()
    assert db.session.scalars(select(RiverChief)).all() == []


def test_a_file_without_the_needed_columns_says_which(places, tmp_path):
    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [["王建国", "区长"]], header=["姓名", "职务", "级别"]))

    assert "缺少必需的列：河湖（或镇）" in refused.value.report()

    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [["a", "b"]], header=["甲", "乙"]))
    assert "找不到表头" in refused.value.report()


def test_a_chief_no_longer_listed_leaves_the_board_and_a_referenced_one_keeps_the_record(places, tmp_path, monkeypatch):
    import_committed(EXAMPLES / "chiefs.csv")
    li = db.session.scalar(select(RiverChief).where(RiverChief.name == "李明"))
    outfall = make_outfall("HZ-WS-001", water_body=li.water_body, town=li.town)
    outfall.supervising_chief_id, outfall.supervising_leader = li.id, "李明"
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    db.session.add(DutyShift(chief_id=li.id, water_body_id=li.water_body_id, starts_at=start,
                             ends_at=start + timedelta(days=1)))
    wang_id = db.session.scalar(select(RiverChief.id).where(RiverChief.name == "王建国"))
    commit_and_forget()
    later = calendar.today() + timedelta(days=3)
    monkeypatch.setattr(calendar, "_clock", lambda: datetime(later.year, later.month, later.day, 4, tzinfo=timezone.utc))

    # 呼玛河's roster now: 王建国 only, and a new town chief; 碧水河 is not in the file and keeps its chief.
    summary = import_committed(write_csv(tmp_path, [
        ["HZ-HZ-01", "王建国", "区长", "区级", "呼玛河", "", "", "0457-3322101", "是", "2024-03-01"],
        ["", "周强", "呼中镇党委书记", "镇级", "呼玛河", "呼中镇", "", "", "", ""],
    ]))

    assert summary.added == ["周强"] and summary.removed == []
    assert summary.unlinked == [("李明", ["值班表", "排污口包保领导"])]
    assert "李明 不再列于名录，已移出公示牌；因仍被值班表、排污口包保领导引用，保留其记录" in summary.report()
    assert board("呼玛河") == [("district", "王建国", None), ("town", "周强", "呼中镇")]
    assert board("碧水河") == [("district", "赵立新", None)]
    kept = db.session.scalar(select(RiverChief).where(RiverChief.name == "李明"))
    assert kept is not None and kept.water_body_id is None and kept.town_id is None
    assert db.session.scalar(select(Outfall)).supervising_chief_id == kept.id
    assert db.session.scalar(select(DutyShift)).chief_id == kept.id
    assert db.session.get(RiverChief, wang_id) is not None
    huma = db.session.scalar(select(WaterBody).where(WaterBody.name == "呼玛河"))
    bishui = db.session.scalar(select(WaterBody).where(WaterBody.name == "碧水河"))
    assert huma.board_changed_on == later and bishui.board_changed_on != later

    # Dropped again with nothing referring to it: 周强 is deleted.
    summary = import_committed(write_csv(tmp_path, [
        ["HZ-HZ-01", "王建国", "区长", "区级", "呼玛河", "", "", "0457-3322101", "是", "2024-03-01"]]))
    assert summary.removed == ["周强"] and summary.unlinked == []
    assert db.session.scalar(select(RiverChief).where(RiverChief.name == "周强")) is None


def test_a_code_matches_first_and_renames(places, tmp_path):
    import_committed(EXAMPLES / "chiefs.csv")
    summary = import_committed(write_csv(tmp_path, [
        ["HZ-HZ-01", "王建民", "区长", "区级", "呼玛河", "", "", "0457-3322101", "是", "2024-03-01"],
        ["HZ-HZ-02", "李明", "呼中镇镇长", "镇级", "呼玛河", "呼中镇", "负责呼玛河呼中镇段的日常管理保护，组织本镇入河排污口排查、溯源和整治。",
         "13904571234", "否", "2024-03-01"],
    ]))

    # A blank 职责 clears the duties on record: the file is what the board shows.
    assert summary.updated == [("王建民", ["name", "duties"])] and summary.added == [] and summary.removed == []
    assert board("呼玛河")[0] == ("district", "王建民", None)


def test_dry_run_writes_nothing(places, runner):
    result = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.csv"), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "将新增 4 位" in result.output and "试运行" in result.output
    db.session.rollback()
    assert db.session.scalars(select(RiverChief)).all() == []


def test_outfalls_whose_leader_text_names_a_chief_are_linked_after_the_import(places, runner):
    huma = db.session.scalar(select(WaterBody).where(WaterBody.name == "呼玛河"))
    make_outfall("HZ-WS-001", water_body=huma, town=make_town("呼中镇"), supervising_leader="李明")
    make_outfall("HZ-GY-001", water_body=huma, town=make_town("呼中镇"), supervising_leader="张三")
    commit_and_forget()

    result = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.csv")])

    assert "已按包保领导姓名关联 1 个排污口" in result.output, result.output
    linked = {o.code: o.supervising_chief for o in db.session.scalars(select(Outfall))}
    assert linked["HZ-WS-001"].name == "李明" and linked["HZ-GY-001"] is None


def test_two_chiefs_of_one_name_are_told_apart_by_the_outfalls_water(places, tmp_path):
    import_committed(write_csv(tmp_path, [
        ["", "王伟", "副区长", "区级", "呼玛河", "", "", "", "", ""],
        ["", "王伟", "副区长", "区级", "碧水河", "", "", "", "", ""],
    ]))
    index = chiefs.LeaderIndex()
    water_ids = dict(db.session.execute(select(WaterBody.name, WaterBody.id)).all())

    chief, problem = index.resolve("王伟", None, water_ids["碧水河"])
    assert problem is None and chief.water_body_id == water_ids["碧水河"]
    chief, problem = index.resolve("王伟", None, water_ids["呼中水库"])
    assert chief is None and "有 2 位“王伟”" in problem
    assert index.resolve("张三", None, None) == (None, "包保领导「张三」不在河长名录中")


def test_a_damaged_workbook_is_refused_without_a_traceback(places, runner, tmp_path):
    path = tmp_path / "chiefs.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")

    result = runner.invoke(args=["import-chiefs", str(path)])

    assert result.exit_code == 1
    assert "无法读取此 Excel 文件" in result.output and "Traceback" not in result.output


def test_levels_written_as_clerks_write_them():
    assert [chiefs.level_for(text) for text in ("区级河长", "县级", "乡级", "镇", "村（社区）级", "市级河湖长", "省级总河长")] == [
        "district", "district", "town", "town", "village", "city", "province"]


def test_a_workbook_roster_with_a_title_merged_across(places, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["呼中区河长名单"])
    sheet.merge_cells("A1:D1")
    sheet.append(["河长姓名", "河长级别", "所在河流", "任职时间"])
    sheet.append(["王建国", "区级河长", "呼玛河", datetime(2024, 3, 1)])
    path = tmp_path / "名单.xlsx"
    workbook.save(path)

    summary = import_committed(path)

    assert summary.added == ["王建国"]
    assert db.session.scalar(select(RiverChief)).appointed_on == date(2024, 3, 1)


def test_a_first_ledger_keeps_its_leaders_as_text_until_the_chiefs_file_links_them(places, runner, tmp_path):
    from ledger_files import row, write_csv as write_ledger

    ledger = write_ledger(tmp_path / "ledger.csv", [row("HZ-WS-001", 包保领导="李明"), row("HZ-GY-001", 包保领导="王建国")])
    first = runner.invoke(args=["import-ledger", str(ledger)])
    assert first.exit_code == 0, first.output
    assert "2 个排污口的包保领导暂按文字保存" in first.output
    assert db.session.scalar(select(Outfall).where(Outfall.code == "HZ-WS-001")).supervising_chief_id is None

    result = runner.invoke(args=["import-chiefs", str(EXAMPLES / "chiefs.csv")])
    assert "已按包保领导姓名关联 2 个排污口" in result.output, result.output
    db.session.rollback()
    leaders = {o.code: (o.supervising_chief.name, o.supervising_chief.title) for o in db.session.scalars(select(Outfall))}
    assert leaders == {"HZ-WS-001": ("李明", "呼中镇镇长"), "HZ-GY-001": ("王建国", "区长")}

    again = runner.invoke(args=["import-ledger", str(ledger)])
    assert "无变化 2 个" in again.output and "暂按文字保存" not in again.output, again.output
    export = tmp_path / "out.xlsx"
    assert runner.invoke(args=["export-ledger", str(export)]).exit_code == 0
    written = [cell for line in openpyxl.load_workbook(export).active.iter_rows(values_only=True) for cell in line]
    assert "李明" in written and "王建国" in written


def test_once_chiefs_are_on_record_a_leader_not_among_them_refuses_the_row(places, runner, tmp_path):
    from ledger_files import row, write_csv as write_ledger

    import_committed(EXAMPLES / "chiefs.csv")
    ledger = write_ledger(tmp_path / "ledger.csv", [row("HZ-WS-001", 包保领导="李明"), row("HZ-GY-001", 包保领导="张三")])

    result = runner.invoke(args=["import-ledger", str(ledger)])

    assert result.exit_code == 1
    assert "「包保领导」：包保领导「张三」不在河长名录中" in result.output, result.output
    db.session.rollback()
    assert db.session.scalars(select(Outfall)).all() == []
    assert db.session.scalars(select(RiverChief).where(RiverChief.name == "张三")).all() == []

    fixed = write_ledger(tmp_path / "ledger.csv", [row("HZ-WS-001", 包保领导="李明")])
    assert runner.invoke(args=["import-ledger", str(fixed)]).exit_code == 0
    db.session.rollback()
    assert db.session.scalar(select(Outfall)).supervising_chief.name == "李明"


def test_editing_an_outfalls_leader_points_it_at_the_named_chiefs_record(places, tmp_path):
    from portal.models import Account
    from portal.registry.editing import edit_outfall

    import_committed(EXAMPLES / "chiefs.csv")
    huma = db.session.scalar(select(WaterBody).where(WaterBody.name == "呼玛河"))
    outfall = make_outfall("HZ-WS-001", water_body=huma, town=make_town("呼中镇"), supervising_leader="李明")
    commit_and_forget()
    with transaction():
        chiefs.link_outfalls()

    with transaction():
        outfall = db.session.scalar(select(Outfall))
        clerk = Account(username="clerk", role="admin", display_name="测试", password_hash="x", session_version=1,
                        failed_logins=0, active=True, totp_enabled=False)
        db.session.add(clerk)
        changes = edit_outfall(outfall, {"supervising_leader": "王建国"}, clerk, "包保领导调整")

    assert [field for field, _old, _new in changes] == ["supervising_leader"]
    db.session.rollback()
    assert db.session.scalar(select(Outfall)).supervising_chief.name == "王建国"


def test_a_clerks_roster_as_written_by_hand(places, tmp_path):
    path = write_csv(tmp_path, [
        ["1", "呼玛河、碧水河", "王  建国", "县（区）级", "区长", "0457-3322101（办）", "男"],
        ["2", "呼玛河呼中镇段", "李明", "乡（镇）级河长", "呼中镇镇长", "手机：13904571234", ""],
        ["3", "HZSK", "孙海", "区级副总河长", "副区长", "", ""],
    ], header=["序号", "所在河流", "河长姓名", "河长级别", "行政职务", "联系电话", "性别"])

    summary = import_committed(path)

    assert summary.added == ["王建国", "王建国", "李明", "孙海"] and summary.unknown_headers == ["序号", "性别"]
    assert board("呼玛河") == [("district", "王建国", None), ("town", "李明", "呼中镇")]
    assert board("碧水河") == [("district", "王建国", None)]
    assert board("呼中水库") == [("district", "孙海", None)]
    phones = {c.name: c.telephone for c in db.session.scalars(select(RiverChief))}
    assert phones["王建国"] == "0457-3322101" and phones["李明"] == "13904571234"
    assert import_committed(path).unchanged == 4


def test_without_a_level_column_the_level_follows_the_office(places, tmp_path):
    summary = import_committed(write_csv(tmp_path, [["王建国", "呼玛河", "区长"], ["李明", "呼玛河", "呼中镇镇长"],
                                                    ["冯志刚", "呼玛河", "向阳社区党支部书记"]],
                                         header=["姓名", "河湖", "职务"]))

    assert len(summary.added) == 3
    assert [level for level, _name, _town in board("呼玛河")] == ["district", "town", "village"]


def test_a_numbering_column_headed_编号_does_not_rename_someone_else(places, tmp_path):
    import_committed(write_csv(tmp_path, [["1", "王建国", "区长", "区级", "呼玛河", "", "", "", "", ""]]))

    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [["1", "赵立新", "副区长", "区级", "碧水河", "", "", "", "", ""]]))

    message = refused.value.report()
    assert "第 2 行「编号」：编号“1”已属于数据库中的河长 王建国（呼玛河），与本行的姓名和河湖都不同" in message
    assert "请把列名改为“序号”" in message


def test_a_workbook_with_a_two_row_header_under_merged_groups(places, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["呼中区河长公示名单"])
    sheet.append(["河长姓名", "河长级别", "所在河流", "联系方式", None, "电话是否公开"])
    sheet.append([None, None, None, "办公电话", "手机", None])
    sheet.append(["王建国", "区级", "呼玛河", "0457-3322101", "13904571234", "是"])
    for merged in ("A2:A3", "B2:B3", "C2:C3", "D2:E2", "F2:F3"):
        sheet.merge_cells(merged)
    path = tmp_path / "名单.xlsx"
    workbook.save(path)

    summary = import_committed(path)

    assert summary.added == ["王建国"] and "手机" in summary.unknown_headers
    chief = db.session.scalar(select(RiverChief))
    assert (chief.telephone, chief.telephone_is_official) == ("0457-3322101", True)


def test_a_mobile_in_a_telephone_marked_public_is_refused(places, tmp_path):
    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [["", "王建国", "区长", "区级", "呼玛河", "", "",
                                                   "0457-3322101、13904571234", "是", ""]]))

    assert "第 2 行「电话是否公开」：标记为公开，但电话一栏同时有手机号码" in refused.value.report()


def test_同上_and_a_blank_river_under_a_merged_cell_repeat_the_river_above(places, tmp_path):
    summary = import_committed(write_csv(tmp_path, [
        ["王建国", "区级", "呼玛河", "", "区长"],
        ["李明", "镇级", "", "", "呼中镇镇长"],
        ["张三", "村级", "同上", "呼中镇", "向阳社区党支部书记"],
        ["赵立新", "", "碧水河", "", "副区长"],
    ], header=["姓名", "级别", "河湖", "镇", "职务"]))

    assert len(summary.added) == 4
    assert board("呼玛河") == [("district", "王建国", None), ("town", "李明", None), ("village", "张三", "呼中镇")]
    assert board("碧水河") == [("district", "赵立新", None)]  # a blank 级别 beside 副区长


def test_a_blank_level_beside_an_office_that_does_not_say_it_is_refused(places, tmp_path):
    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [["王建国", "", "呼玛河", "总工程师"]],
                                       header=["姓名", "级别", "河湖", "职务"]))

    assert "第 2 行「级别」：必填，不能为空" in refused.value.report()


def test_a_header_without_rows_is_refused(places, tmp_path):
    with pytest.raises(chiefs.ChiefsRejected) as refused:
        chiefs.import_chiefs(write_csv(tmp_path, [], header=["姓名", "级别", "河湖"]))

    assert "表头下没有任何河长" in refused.value.report()
