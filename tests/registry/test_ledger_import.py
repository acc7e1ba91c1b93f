"""Importing the bureau's ledger: formats, column rules, refusals, re-import history."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Outfall, OutfallEvent, Town, WaterBody
from portal.registry.ledger_import import LedgerRejected
from committing import import_ledger
from factories import make_town
from ledger_files import BUREAU_TOWNS, flat_header, row, sheet_rows, text_cell, write_csv, write_raw_xlsx, write_xlsx


@pytest.fixture(autouse=True)
def district_towns(app):
    """The district's four towns exist before its ledger is imported (a new town must be confirmed)."""
    for name in BUREAU_TOWNS:
        make_town(name)
    db.session.commit()


def outfall(code) -> Outfall:
    return db.session.scalar(select(Outfall).where(Outfall.code == code))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rejected(path) -> LedgerRejected:
    """The refusal an import of this file raises."""
    with pytest.raises(LedgerRejected) as info:
        import_ledger(path)
    return info.value


# --- the sample ledger -------------------------------------------------------------------------

def test_sample_ledger_imports_as_it_is(app, sample_ledger):
    result = import_ledger(sample_ledger)
    assert len(result.added) == 24 and not result.changed
    assert count(Outfall) == 24
    assert {t.name for t in db.session.scalars(select(Town))} == {"呼中镇", "呼源镇", "碧水镇", "宏伟镇"}
    first = outfall("HZ-S-0001")
    assert first.name == "呼中镇冷水鱼养殖场入碧水河排污口"
    assert (first.longitude, first.latitude) == (123.5951, 52.0243)
    assert first.outfall_type == "agricultural" and first.outfall_subtype == "aquaculture_large"
    assert first.plan.measure == "standardise" and first.plan.status == "completed"
    assert first.plan.deadline == date(2026, 8, 28)
    assert first.supervising_leader == "张立新"
    assert first.responsible_party.kind == "organisation"
    # HZ-S-0004 gives its position in 度分秒, HZ-S-0003 its deadline as 2026年10月27日, HZ-S-0005 as 2026/12/26.
    dms = outfall("HZ-S-0004")
    assert dms.longitude == pytest.approx(123 + 23 / 60 + 47 / 3600, abs=1e-6)
    assert dms.latitude == pytest.approx(51 + 56 / 60 + 14 / 3600, abs=1e-6)
    assert outfall("HZ-S-0003").plan.deadline == date(2026, 10, 27)
    assert outfall("HZ-S-0005").plan.deadline == date(2026, 12, 26)
    # The town is merged down each town's six rows: every row gets it.
    assert [o.town.name for o in (outfall("HZ-S-0005"), outfall("HZ-S-0021"), outfall("HZ-S-0024"))] == [
        "呼中镇", "呼中镇", "宏伟镇"]
    assert outfall("HZ-S-0002").plan.measure == "keep"
    assert outfall("HZ-S-0007").note == "与上游排口合并后保留一处"
    # The footer line under the table (填表人：…) is not an outfall.
    assert all(o.code.startswith("HZ-S-") for o in db.session.scalars(select(Outfall)))


def test_importing_the_same_ledger_again_changes_nothing(app, sample_ledger):
    import_ledger(sample_ledger)
    events = count(OutfallEvent)
    result = import_ledger(sample_ledger)
    assert result.unchanged == 24 and not result.added and not result.changed
    assert count(OutfallEvent) == events


# --- headers ------------------------------------------------------------------------------------

def test_header_found_below_title_rows_in_any_column_order(app, tmp_path):
    header = ["备注", "纬度", "经度", "所在镇", "排污口名称", "排污口类型", "排污口编码"]
    path = write_xlsx(tmp_path / "l.xlsx", [row("A-1"), row("A-2")], header=header,
                      title_rows=("标题", "副标题", "填报日期：2026年11月1日", ""))
    import_ledger(path)
    assert outfall("A-2").latitude == 52.0306 and outfall("A-2").name == "测试排污口A-2"


def test_two_row_header_with_merged_group(app, tmp_path):
    path = write_xlsx(tmp_path / "l.xlsx", [row(整治类型="依法取缔", 整治进展="未开始", 整治时限=date(2027, 1, 26))])
    import_ledger(path)
    plan = outfall("HZ-T-0001").plan
    assert (plan.measure, plan.status, plan.deadline) == ("ban", "not_started", date(2027, 1, 26))


def test_two_row_header_in_csv(app, tmp_path):
    names = flat_header()
    group_row = ["整治情况" if n in ("整治类型", "整治措施", "整治时限", "整治进展") else n for n in names]
    sub_row = [n if n in ("整治类型", "整治措施", "整治时限", "整治进展") else "" for n in names]
    path = tmp_path / "l.csv"
    import csv
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(group_row)
        writer.writerow(sub_row)
        writer.writerow([row(整治类型="清理合并")[n] or "" for n in names])
    import_ledger(path)
    assert outfall("HZ-T-0001").plan.measure == "merge"


def test_english_column_names(app, tmp_path):
    header = ["code", "name", "town", "receiving water", "longitude", "latitude", "type", "measure", "deadline",
              "status"]
    values = {"code": "EN-1", "name": "English outfall", "town": "呼源镇", "receiving water": "岭峰河",
              "longitude": "123.1", "latitude": "52.27", "type": "agricultural", "measure": "ban",
              "deadline": "2026-12-31", "status": "in progress"}
    import_ledger(write_csv(tmp_path / "en.csv", [values], header=header, title_rows=()))
    imported = outfall("EN-1")
    assert imported.town.name == "呼源镇" and imported.water_body.name == "岭峰河"
    assert imported.plan.measure == "ban" and imported.plan.status == "in_progress"


def test_headers_with_units_and_required_marks(app, tmp_path):
    header = ["*排污口编码", "*排污口名称", "所在镇", "排污口类型", "经度（°）", "纬度(°)"]
    values = {"*排污口编码": "U-1", "*排污口名称": "带单位", "所在镇": "呼中镇", "排污口类型": "其他排口",
              "经度（°）": "123.6", "纬度(°)": "52.0"}
    import_ledger(write_csv(tmp_path / "u.csv", [values], header=header))
    assert outfall("U-1").longitude == 123.6


def test_unrecognised_columns_are_ignored_and_reported(app, tmp_path):
    header = flat_header() + ["监测频次"]
    result = import_ledger(write_csv(tmp_path / "x.csv", [row() | {"监测频次": "每月"}], header=header))
    assert result.unknown_headers == ["监测频次"]
    assert "监测频次" in result.report()


def test_file_without_a_header_is_refused(app, tmp_path):
    path = tmp_path / "none.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    error = rejected(path)
    assert "找不到表头" in error.report()


def test_missing_required_column_is_named(app, tmp_path):
    header = [n for n in flat_header() if n != "所在镇"]
    error = rejected(write_csv(tmp_path / "m.csv", [row()], header=header))
    assert "缺少必需的列：所在镇" in error.report()


# --- encodings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings(app, tmp_path, encoding):
    import_ledger(write_csv(tmp_path / "e.csv", [row(排污口名称="碧水镇养殖场入小白河排污口")], encoding=encoding))
    assert outfall("HZ-T-0001").name == "碧水镇养殖场入小白河排污口"
    assert outfall("HZ-T-0001").town.name == "呼中镇"


def test_semicolon_and_tab_separated_csv(app, tmp_path):
    names = flat_header()
    for separator, code in ((";", "S-1"), ("\t", "S-2")):
        lines = [separator.join(names), separator.join(str(row(code)[n] or "") for n in names)]
        path = tmp_path / f"{code}.csv"
        path.write_text("\n".join(lines), encoding="utf-8")
        import_ledger(path)
        assert outfall(code) is not None


def test_undecodable_csv_is_refused(app, tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00" + bytes(range(256)) * 4)
    error = rejected(path)
    assert "UTF-16" in error.report()
    assert count(Outfall) == 0


# --- coordinates --------------------------------------------------------------------------------

@pytest.mark.parametrize("longitude, latitude, expected", [
    (123.5888, 52.0306, (123.5888, 52.0306)),
    ("123.5888", "52.0306", (123.5888, 52.0306)),
    ("123°35′20″", "52°01′50″", (123.588889, 52.030556)),
    ("123°35'20\"", "52°1'50\"", (123.588889, 52.030556)),
    ("123度35分20秒", "52度1分50秒", (123.588889, 52.030556)),
    ("东经123°35′20.5″", "北纬52°01′50″", (123.589028, 52.030556)),
    ("123°35.5′", "52°1.5′", (123.591667, 52.025)),
    ("E123.5888", "N52.0306", (123.5888, 52.0306)),
    ("１２３．５８８８", "５２．０３０６", (123.5888, 52.0306)),
])
def test_coordinate_forms(app, tmp_path, longitude, latitude, expected):
    import_ledger(write_xlsx(tmp_path / "c.xlsx", [row(经度=longitude, 纬度=latitude)]))
    found = outfall("HZ-T-0001")
    assert (found.longitude, found.latitude) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("longitude, latitude, column, words", [
    ("123.5x", 52.03, "经度", "不是有效的经度"),
    (123.5, "52°61′0″", "纬度", "不能大于等于 60"),
    (200, 52.03, "经度", "超出范围"),
    (123.5, None, "纬度", "经度和纬度须同时填写"),
    (52.03, 123.5, "纬度", "填反"),
    (52.03, 80.5, "经度", "填反"),
])
def test_bad_coordinates_are_named(app, tmp_path, longitude, latitude, column, words):
    error = rejected(write_xlsx(tmp_path / "c.xlsx", [row(), row("HZ-T-0002", 经度=longitude, 纬度=latitude)]))
    assert len(error.errors) == 1
    assert error.errors[0].row == 6 and error.errors[0].column == column
    assert words in error.errors[0].message
    assert count(Outfall) == 0


# --- dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [
    date(2026, 6, 30), "2026-06-30", "2026/06/30", "2026/6/30", "2026年6月30日", "2026年06月30日", "2026.6.30",
    "2026-06-30 00:00:00", 46203, "20260630",
])
def test_date_forms(app, tmp_path, cell):
    import_ledger(write_xlsx(tmp_path / "d.xlsx", [row(整治时限=cell)]))
    assert outfall("HZ-T-0001").plan.deadline == date(2026, 6, 30)


def test_date_forms_in_csv(app, tmp_path):
    rows = [row("D-1", 整治时限="2026年6月30日"), row("D-2", 整治时限="2026/06/30"), row("D-3", 整治时限="46203")]
    import_ledger(write_csv(tmp_path / "d.csv", rows))
    assert {outfall(c).plan.deadline for c in ("D-1", "D-2", "D-3")} == {date(2026, 6, 30)}


@pytest.mark.parametrize("cell, words", [
    ("2026-02-30", "不是存在的日期"), ("下个月", "不是日期"), ("2026年13月1日", "不是存在的日期"),
])
def test_bad_dates_are_named(app, tmp_path, cell, words):
    error = rejected(write_xlsx(tmp_path / "d.xlsx", [row(整治时限=cell)]))
    assert [(e.row, e.column) for e in error.errors] == [(5, "整治时限")]
    assert words in error.errors[0].message


# --- vocabularies and other column rules -------------------------------------------------------

def test_vocabulary_spellings(app, tmp_path):
    rows = [
        row("V-1", 排污口类型="工业", 排污口类别="工矿企业排污口", 整治类型="取缔", 整治进展="进行中", 排放方式="连续排放"),
        row("V-2", 排污口类型="其它排口", 排污口类别="城镇雨洪排口", 整治类型="保留", 整治进展="销号", 审批登记情况="已备案"),
    ]
    import_ledger(write_xlsx(tmp_path / "v.xlsx", rows))
    first, second = outfall("V-1"), outfall("V-2")
    assert (first.plan.measure, first.plan.status, first.discharge_mode) == ("ban", "in_progress", "continuous")
    assert (second.outfall_type, second.plan.measure, second.plan.status) == ("other", "keep", "closed")
    assert second.approval_status == "registered"


def test_unknown_values_list_what_is_accepted(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "v.xlsx", [row(整治类型="改造")]))
    assert error.errors[0].column == "整治类型"
    assert "“改造”不是可用的值" in error.errors[0].message and "依法取缔" in error.errors[0].message


def test_category_must_belong_to_type(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "v.xlsx", [row(排污口类型="工业排污口", 排污口类别="规模化水产养殖排污口")]))
    assert error.errors[0].column == "排污口类别" and "农业排口" in error.errors[0].message


def test_required_cells(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "r.xlsx", [row(排污口名称=None), row("HZ-T-0002", 所在镇=None)]))
    assert [(e.row, e.column) for e in error.errors] == [(5, "排污口名称"), (6, "所在镇")]
    assert all("必填" in e.message for e in error.errors)


def test_duplicate_codes_in_one_file(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "r.xlsx", [row("DUP-1"), row("X-2"), row("DUP-1")]))
    assert [(e.row, e.column) for e in error.errors] == [(7, "排污口编码")]
    assert "与第 5 行重复" in error.errors[0].message


def test_codes_with_spaces_or_slashes_are_refused(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "r.xlsx", [row("HZ 01"), row("HZ/02")]))
    assert len(error.errors) == 2 and all("编码" in e.message for e in error.errors)


def test_bad_telephone(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "r.xlsx", [row(责任主体联系电话="找老王")]))
    assert error.errors[0].column == "责任主体联系电话"


def test_plan_details_without_a_measure(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "r.xlsx", [row(整治类型=None)]))
    assert error.errors[0].column == "整治类型" and "缺少整治类型" in error.errors[0].message


def test_blank_status_means_not_started(app, tmp_path):
    import_ledger(write_xlsx(tmp_path / "s.xlsx", [row(整治进展=None)]))
    assert outfall("HZ-T-0001").plan.status == "not_started"


def test_natural_person_party_is_recognised(app, tmp_path):
    rows = [row("P-1", 责任主体="李秀英"), row("P-2", 责任主体="宏伟镇人民政府"), row("P-3", 责任主体="呼中区冷水鱼养殖场")]
    import_ledger(write_xlsx(tmp_path / "p.xlsx", rows))
    assert outfall("P-1").responsible_party.kind == "person"
    assert outfall("P-1").responsible_party.public_name == "李**"
    assert outfall("P-2").responsible_party.kind == "organisation"
    assert outfall("P-3").responsible_party.kind == "organisation"


def test_party_kind_column_wins_over_the_guess(app, tmp_path):
    header = flat_header() + ["责任主体类型"]
    rows = [row("K-1", 责任主体="王家渔场") | {"责任主体类型": "个人"}]
    import_ledger(write_csv(tmp_path / "k.csv", rows, header=header))
    assert outfall("K-1").responsible_party.kind == "person"


def test_merged_into_refers_to_an_outfall(app, tmp_path):
    header = flat_header() + ["合并至"]
    rows = [row("M-1", 整治类型="清理合并") | {"合并至": "M-2"}, row("M-2", 整治类型="规范整治"),
            row("M-3", 整治类型="清理合并") | {"合并至": "NOPE"}]
    error = rejected(write_csv(tmp_path / "m.csv", rows, header=header))
    assert [(e.row, e.column) for e in error.errors] == [(5, "合并至")]
    import_ledger(write_csv(tmp_path / "m2.csv", rows[:2], header=header))
    assert outfall("M-1").plan.merged_into.code == "M-2"


# --- all or nothing ----------------------------------------------------------------------------

def test_a_file_with_bad_rows_is_refused_whole_and_names_each(app, tmp_path, sample_ledger):
    import_ledger(sample_ledger)
    before = {o.code: (o.name, o.plan.status) for o in db.session.scalars(select(Outfall))}
    events, towns, waters = count(OutfallEvent), count(Town), count(WaterBody)
    rows = [row("HZ-S-0001", 整治进展="整治中", 所在镇="新镇"), row("NEW-1", 受纳水体="新河"),
            row("BAD-1", 整治时限="2026-13-01"), row("BAD-2", 经度="abc"), row("BAD-3", 排污口类型="工厂")]
    error = rejected(write_xlsx(tmp_path / "bad.xlsx", rows))
    assert [(e.row, e.column) for e in error.errors] == [(5, "所在镇"), (7, "整治时限"), (8, "经度"), (9, "排污口类型")]
    report = error.report()
    assert "数据库未作任何更改" in report
    assert "第 5 行「所在镇」：镇“新镇”不在系统中" in report
    assert "第 7 行「整治时限」" in report and "第 8 行「经度」" in report and "第 9 行「排污口类型」" in report
    db.session.expire_all()
    assert {o.code: (o.name, o.plan.status) for o in db.session.scalars(select(Outfall))} == before
    assert (count(OutfallEvent), count(Town), count(WaterBody)) == (events, towns, waters)


def test_garbage_files_are_refused(app, tmp_path):
    fake = tmp_path / "ledger.xlsx"
    fake.write_text("this is not a workbook", encoding="utf-8")
    assert "无法读取此 Excel 文件" in rejected(fake).report()
    old = tmp_path / "ledger.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    assert "另存为" in rejected(old).report()
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "空" in rejected(empty).report()


def test_oversized_file_is_refused(app, tmp_path):
    app.config["LEDGER_MAX_BYTES"] = 1000
    path = write_csv(tmp_path / "big.csv", [row(f"B-{n}") for n in range(50)])
    assert "文件过大" in rejected(path).report()
    assert count(Outfall) == 0


# --- re-import and history ---------------------------------------------------------------------

def test_reimport_updates_by_code_and_records_history(app, tmp_path, sample_ledger):
    import_ledger(sample_ledger)
    rows = [row("HZ-S-0003", 排污口名称="呼源镇污水处理厂入岭峰河排污口", 所在镇="呼源镇", 受纳水体="岭峰河",
                经度=123.052835, 纬度=52.245632, 排污口类型="城镇污水处理厂排污口", 排污口类别="城镇污水处理厂排污口",
                责任主体="呼中区呼源污水处理厂", 责任主体联系电话="0457-3361093", 审批登记情况="未审批",
                整治类型="依法取缔", 整治措施="封堵排污口，拆除排污管线", 整治时限="2026年12月31日",
                整治进展="整治中", 包保领导="陈志强")]
    result = import_ledger(write_xlsx(tmp_path / "update.xlsx", rows))
    assert [c.code for c in result.changed] == ["HZ-S-0003"] and not result.added
    changed_fields = {f for f, _, _ in result.changed[0].changes}
    assert {"status", "deadline"} <= changed_fields
    updated = outfall("HZ-S-0003")
    assert updated.plan.status == "in_progress" and updated.plan.deadline == date(2026, 12, 31)
    events = {e.field: e for e in updated.events if e.kind == "changed"}
    assert (events["status"].old_value, events["status"].new_value) == ("not_started", "in_progress")
    assert (events["deadline"].old_value, events["deadline"].new_value) == ("2026-10-27", "2026-12-31")
    assert events["status"].source == "台账导入：update.xlsx"
    assert [e.kind for e in updated.events if e.kind == "created"] == ["created"]
    # Outfalls absent from the second file are left alone.
    assert outfall("HZ-S-0004").plan.status == "in_progress"


def test_columns_missing_from_a_reimport_keep_their_values(app, tmp_path):
    import_ledger(write_xlsx(tmp_path / "a.xlsx", [row(包保领导="王建国", 备注="原备注")]))
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型"]
    import_ledger(write_csv(tmp_path / "b.csv", [row()], header=header))
    kept = outfall("HZ-T-0001")
    assert kept.supervising_leader == "王建国" and kept.note == "原备注" and kept.plan.measure == "standardise"


def test_clearing_a_plan_measure_is_refused(app, tmp_path):
    import_ledger(write_xlsx(tmp_path / "a.xlsx", [row()]))
    empty_plan = row(整治类型=None, 整治措施=None, 整治时限=None, 整治进展=None)
    error = rejected(write_xlsx(tmp_path / "b.xlsx", [empty_plan]))
    assert error.errors[0].column == "整治类型" and "不能清空" in error.errors[0].message


def test_the_stage_follows_the_data_of_each_import(app, tmp_path):
    # The stage follows from the data (registry.stages): work completed but not yet verified is
    # still rectification; closed out (已销号, after verification) it is standardisation; taken back to
    # 整治中, rectification again.
    import_ledger(write_xlsx(tmp_path / "a.xlsx", [row(整治类型="规范整治", 整治进展="整治中")]))
    assert outfall("HZ-T-0001").stage == "rectification"
    import_ledger(write_xlsx(tmp_path / "b.xlsx", [row(整治类型="规范整治", 整治进展="已完成")]))
    assert outfall("HZ-T-0001").stage == "rectification"
    import_ledger(write_xlsx(tmp_path / "c.xlsx", [row(整治类型="规范整治", 整治进展="已销号")]))
    assert outfall("HZ-T-0001").stage == "standardisation"
    import_ledger(write_xlsx(tmp_path / "d.xlsx", [row(整治类型="规范整治", 整治进展="整治中")]))
    assert outfall("HZ-T-0001").stage == "rectification"


# --- dry run ------------------------------------------------------------------------------------

def test_dry_run_reports_without_writing(app, tmp_path, sample_ledger):
    result = import_ledger(sample_ledger, dry_run=True)
    assert len(result.added) == 24 and result.new_towns == []
    assert count(Outfall) == 0 and count(Town) == 4
    import_ledger(sample_ledger)
    update = write_xlsx(tmp_path / "u.xlsx", [row("HZ-S-0001", 排污口名称="改名的排污口"), row("NEW-9")])
    result = import_ledger(update, dry_run=True)
    assert [c.code for c in result.added] == ["NEW-9"]
    report = result.report(dry_run=True)
    assert "修改 HZ-S-0001" in report and "排污口名称 呼中镇冷水鱼养殖场入碧水河排污口 → 改名的排污口" in report
    assert "试运行" in report
    db.session.expire_all()
    assert outfall("HZ-S-0001").name == "呼中镇冷水鱼养殖场入碧水河排污口" and outfall("NEW-9") is None


# --- spreadsheet quirks -------------------------------------------------------------------------

def test_vertically_merged_town_applies_to_each_row(app, tmp_path):
    path = write_xlsx(tmp_path / "m.xlsx", [row("T-1", 所在镇="碧水镇"), row("T-2", 所在镇=None), row("T-3", 所在镇=None)])
    from openpyxl import load_workbook
    workbook = load_workbook(path)
    sheet = workbook.active
    town_column = flat_header().index("所在镇") + 1
    sheet.merge_cells(start_row=5, start_column=town_column, end_row=7, end_column=town_column)
    sheet.merge_cells(start_row=9, start_column=1, end_row=9, end_column=10)  # a merged footer note
    workbook.save(path)
    import_ledger(path)
    assert {outfall(c).town.name for c in ("T-1", "T-2", "T-3")} == {"碧水镇"}
    assert count(Outfall) == 3


def test_header_in_a_later_sheet(app, tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [row()])
    from openpyxl import load_workbook
    workbook = load_workbook(path)
    notes = workbook.create_sheet("填表说明", 0)
    notes["A1"] = "请按要求填写"
    workbook.save(path)
    import_ledger(path)
    assert outfall("HZ-T-0001") is not None


# --- forms seen in other districts' ledgers -------------------------------------------------------

def test_category_written_in_the_type_column(app, tmp_path):
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型"]
    values = {"排污口编码": "C-1", "排污口名称": "散排口", "所在镇": "呼中镇", "排污口类型": "城镇生活污水散排口"}
    import_ledger(write_csv(tmp_path / "c.csv", [values], header=header))
    assert (outfall("C-1").outfall_type, outfall("C-1").outfall_subtype) == ("other", "urban_domestic_scattered")


@pytest.mark.parametrize("cell, expected", [
    ("123.5888, 52.0306", (123.5888, 52.0306)),
    ("123.5888，52.0306", (123.5888, 52.0306)),
    ("北纬52°01′50″ 东经123°35′20″", (123.588889, 52.030556)),
    ("E123°35′20″, N52°01′50″", (123.588889, 52.030556)),
])
def test_position_in_one_column(app, tmp_path, cell, expected):
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型", "经纬度"]
    values = {"排污口编码": "P-1", "排污口名称": "一列坐标", "所在镇": "呼中镇", "排污口类型": "其他排口", "经纬度": cell}
    import_ledger(write_csv(tmp_path / "p.csv", [values], header=header))
    found = outfall("P-1")
    assert (found.longitude, found.latitude) == pytest.approx(expected, abs=1e-6)


def test_unreadable_position_is_named(app, tmp_path):
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型", "经纬度"]
    values = {"排污口编码": "P-1", "排污口名称": "一列坐标", "所在镇": "呼中镇", "排污口类型": "其他排口", "经纬度": "呼中镇东"}
    error = rejected(write_csv(tmp_path / "p.csv", [values], header=header))
    assert error.errors[0].column == "经纬度"


@pytest.mark.parametrize("cell, expected", [("2026年6月底", date(2026, 6, 30)), ("2026年12月底", date(2026, 12, 31)),
                                            ("2026-02月末", date(2026, 2, 28))])
def test_end_of_month_deadlines(app, tmp_path, cell, expected):
    import_ledger(write_xlsx(tmp_path / "d.xlsx", [row(整治时限=cell)]))
    assert outfall("HZ-T-0001").plan.deadline == expected


@pytest.mark.parametrize("measure, status, expected", [
    ("规范化整治", "已整改", ("standardise", "completed")), ("封堵", "未整改", ("ban", "not_started")),
    ("截污纳管", "正在整改", ("merge", "in_progress")), ("保留", "已验收", ("keep", "closed")),
])
def test_more_spellings_of_measures_and_statuses(app, tmp_path, measure, status, expected):
    import_ledger(write_xlsx(tmp_path / "m.xlsx", [row(整治类型=measure, 整治进展=status)]))
    plan = outfall("HZ-T-0001").plan
    assert (plan.measure, plan.status) == expected


def test_csv_with_a_utf8_mark_but_broken_bytes_is_refused(app, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "排污口编码,排污口名称\n".encode() + b"\xff\xfe\xfa")
    assert "UTF-8" in rejected(path).report()


# --- hostile and oversized files: bounded memory --------------------------------------------------

def _peak_bytes(function):
    """The most memory Python allocated while ``function`` ran, and its result or refusal."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            outcome = function()
        except LedgerRejected as error:
            outcome = error
        return tracemalloc.get_traced_memory()[1], outcome
    finally:
        tracemalloc.stop()


LEDGER_HEADER = ["排污口编码", "排污口名称", "所在镇", "排污口类型"]


def test_a_lone_cell_at_xfd1048576_is_refused_in_bounded_memory(app, tmp_path):
    # 1.6 KB on disk; the sheet declares A1:XFD1048576 (17 billion cells) and holds one cell there.
    path = write_raw_xlsx(tmp_path / "last-cell.xlsx", '<row r="1048576">' + text_cell("XFD1048576", "x") + "</row>",
                          dimension="A1:XFD1048576")
    peak, outcome = _peak_bytes(lambda: import_ledger(path))
    assert isinstance(outcome, LedgerRejected) and "找不到表头" in outcome.report()
    assert peak < 20 * 1024 * 1024


def test_a_ledger_with_a_lying_dimension_and_far_cells_imports_what_it_holds(app, tmp_path):
    rows = [["某区台账"], LEDGER_HEADER, ["F-1", "远处的单元格", "呼中镇", "其他排口"],
            ["F-2", "第二个", None, "工业排污口"]]
    data = sheet_rows(rows) + '<row r="1048576">' + text_cell("XFD1048576", "x") + "</row>"
    # The town is merged from row 3 down to the sheet's last row; the title across every column.
    path = write_raw_xlsx(tmp_path / "far.xlsx", data, dimension="A1:XFD1048576",
                          merges=("A1:XFD1", "C3:C1048576"))
    peak, outcome = _peak_bytes(lambda: import_ledger(path))
    assert not isinstance(outcome, LedgerRejected), outcome.report()
    assert [c.code for c in outcome.added] == ["F-1", "F-2"]
    assert outfall("F-2").town.name == "呼中镇"
    assert peak < 20 * 1024 * 1024


def test_a_zip_bomb_is_refused_before_parsing(app, tmp_path):
    rows = [LEDGER_HEADER, ["Z-1", "压缩炸弹", "呼中镇", "其他排口"]]
    path = write_raw_xlsx(tmp_path / "bomb.xlsx", sheet_rows(rows), padding=30 * 1024 * 1024)
    assert path.stat().st_size < 200 * 1024
    peak, outcome = _peak_bytes(lambda: import_ledger(path))
    assert isinstance(outcome, LedgerRejected) and "压缩炸弹" in outcome.report()
    assert peak < 5 * 1024 * 1024
    assert count(Outfall) == 0


def test_a_workbook_declaring_a_huge_unpacked_size_is_refused(app, tmp_path, monkeypatch):
    from portal.registry import ledger_reader

    monkeypatch.setattr(ledger_reader, "MAX_UNPACKED_BYTES", 1024 * 1024)
    rows = [LEDGER_HEADER] + [[f"U-{n}", f"排污口{n}号，名称写得很长很长很长" * 3, "呼中镇", "其他排口"] for n in range(20000)]
    path = write_raw_xlsx(tmp_path / "big.xlsx", sheet_rows(rows))
    report = rejected(path).report()
    assert "解压后超过 1 MB" in report and "压缩炸弹" in report


@pytest.mark.parametrize("writer", ["xlsx", "csv"])
def test_more_rows_than_ledger_max_rows_are_refused(app, tmp_path, writer):
    app.config["LEDGER_MAX_ROWS"] = 3
    rows = [row(f"R-{n}") for n in range(4)]
    path = (write_xlsx(tmp_path / "many.xlsx", rows, footer=()) if writer == "xlsx"
            else write_csv(tmp_path / "many.csv", rows))
    report = rejected(path).report()
    assert "超过 3 行" in report and "LEDGER_MAX_ROWS" in report
    app.config["LEDGER_MAX_ROWS"] = 4
    assert len(import_ledger(path).added) == 4


# --- the dry run's verdict is the real run's verdict ---------------------------------------------
# Everything the database would refuse (NOT NULL, unique, NUL bytes, lengths) is decided by the
# checks, before anything is written: a file a dry run accepts imports, and one it refuses is
# refused with the same row messages.

def both_runs(path):
    """The dry run's and then the real run's outcome for one file: an ImportResult or a LedgerRejected."""
    outcomes = []
    for dry_run in (True, False):
        try:
            outcomes.append(import_ledger(path, dry_run=dry_run))
        except LedgerRejected as error:
            db.session.rollback()
            outcomes.append(error)
    dry, real = outcomes
    assert type(dry) is type(real), (dry, real)
    if isinstance(dry, LedgerRejected):
        assert dry.report() == real.report()
    else:
        assert (len(dry.added), len(dry.changed), dry.unchanged) == (len(real.added), len(real.changed), real.unchanged)
    return real


def row_messages(outcome) -> list[tuple[int, str, str]]:
    assert isinstance(outcome, LedgerRejected), outcome.report()
    return [(e.row, e.column, e.message) for e in outcome.errors]


def test_plan_columns_without_a_measure_column_are_refused_in_both_runs(app, tmp_path):
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型", "整治措施", "整治时限", "整治进展"]
    rows = [row("PL-1"), row("PL-2", 整治措施=None, 整治时限=None, 整治进展=None)]
    outcome = both_runs(write_csv(tmp_path / "plan.csv", rows, header=header))
    [(number, column, message)] = row_messages(outcome)
    assert (number, column) == (3, "整治措施") and "整治类型" in message
    assert count(Outfall) == 0


def test_plan_columns_without_a_measure_column_update_an_existing_plan(app, tmp_path):
    import_ledger(write_xlsx(tmp_path / "a.xlsx", [row("PL-1", 整治进展="整治中")]))
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型", "整治时限", "整治进展"]
    result = both_runs(write_csv(tmp_path / "b.csv", [row("PL-1", 整治时限="2027-05-31", 整治进展=None)], header=header))
    assert [c.code for c in result.changed] == ["PL-1"]
    plan = outfall("PL-1").plan
    # A blank 整治进展 keeps the plan's status: a plan never loses it.
    assert (plan.deadline, plan.status) == (date(2027, 5, 31), "in_progress")


def test_a_status_without_a_plan_or_measure_is_refused(app, tmp_path):
    header = ["排污口编码", "排污口名称", "所在镇", "排污口类型", "整治进展"]
    outcome = both_runs(write_csv(tmp_path / "s.csv", [row("ST-1", 整治进展="整治中")], header=header))
    assert [(n, c) for n, c, _ in row_messages(outcome)] == [(3, "整治进展")]


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f"])
def test_control_characters_in_cells_are_row_messages(app, tmp_path, character):
    rows = [row("NUL-1"), row("NUL-2", 排污口名称=f"坏{character}名称", 备注=f"备{character}注")]
    outcome = both_runs(write_csv(tmp_path / "nul.csv", rows))
    assert [(n, c) for n, c, _ in row_messages(outcome)] == [(4, "排污口名称"), (4, "备注")]
    assert "控制字符" in outcome.errors[0].message
    assert count(Outfall) == 0


def test_a_csv_saved_as_binary_is_still_refused_whole(app, tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("code,name,town,type\nX-1,a,b,c\n".encode("utf-16-le"))  # UTF-16 without its mark: NULs
    assert "二进制" in rejected(path).report()


def test_over_long_text_is_a_row_message_in_both_runs(app, tmp_path):
    rows = [row("LONG-1", 排污口名称="长" * 201), row("LONG-2", 所在镇="镇" * 65), row("LONG-3", 包保领导="王" * 65)]
    outcome = both_runs(write_xlsx(tmp_path / "long.xlsx", rows))
    assert [(n, c) for n, c, _ in row_messages(outcome)] == [(5, "排污口名称"), (6, "所在镇"), (7, "包保领导")]
    assert all("内容过长" in m for _, _, m in row_messages(outcome))


def test_codes_differing_only_in_case_are_duplicates(app, tmp_path):
    outcome = both_runs(write_xlsx(tmp_path / "case.xlsx", [row("HZ-C-1"), row("hz-c-1")]))
    [(number, column, message)] = row_messages(outcome)
    assert (number, column) == (6, "排污口编码") and "第 5 行" in message and "大小写" in message


def test_a_code_differing_in_case_from_the_registry_is_refused(app, tmp_path):
    import_ledger(write_xlsx(tmp_path / "a.xlsx", [row("HZ-C-1")]))
    outcome = both_runs(write_xlsx(tmp_path / "b.xlsx", [row("hz-c-1")]))
    [(number, column, message)] = row_messages(outcome)
    assert (number, column) == (5, "排污口编码") and "“HZ-C-1”" in message
    assert count(Outfall) == 1


def test_national_codes_swapped_between_two_outfalls(app, tmp_path):
    header = flat_header() + ["国家编码"]
    first = [row("SW-1") | {"国家编码": "232764-0001"}, row("SW-2") | {"国家编码": "232764-0002"}]
    import_ledger(write_csv(tmp_path / "a.csv", first, header=header))
    swapped = [row("SW-1") | {"国家编码": "232764-0002"}, row("SW-2") | {"国家编码": "232764-0001"}]
    result = both_runs(write_csv(tmp_path / "b.csv", swapped, header=header))
    assert sorted(c.code for c in result.changed) == ["SW-1", "SW-2"]
    db.session.expire_all()
    assert (outfall("SW-1").national_code, outfall("SW-2").national_code) == ("232764-0002", "232764-0001")


def test_a_national_code_moved_to_a_new_outfall(app, tmp_path):
    header = flat_header() + ["国家编码"]
    import_ledger(write_csv(tmp_path / "a.csv", [row("MV-1") | {"国家编码": "232764-0009"}], header=header))
    moved = [row("MV-1") | {"国家编码": None}, row("MV-2") | {"国家编码": "232764-0009"}]
    result = both_runs(write_csv(tmp_path / "b.csv", moved, header=header))
    assert [c.code for c in result.added] == ["MV-2"]
    db.session.expire_all()
    assert outfall("MV-2").national_code == "232764-0009" and outfall("MV-1").national_code is None


def test_a_very_long_file_name_still_imports(app, tmp_path):
    path = write_xlsx(tmp_path / ("ledger-" * 34 + ".xlsx"), [row("FN-1")])  # 243 characters
    result = both_runs(path)
    assert [c.code for c in result.added] == ["FN-1"]
    [event] = outfall("FN-1").events
    assert event.source.startswith("台账导入：ledger-ledger-") and len(event.source) == 200


# --- the example ledger shipped with the package ----------------------------------------------------

def test_the_shipped_example_ledger_imports_cleanly(app):
    """portal/examples/ledger-example.xlsx (rebuilt by scripts/make-example-ledger) never rots."""
    from importlib.resources import files

    from openpyxl import load_workbook

    example = Path(str(files("portal") / "examples" / "ledger-example.xlsx"))
    workbook = load_workbook(example, read_only=True)
    title = workbook.active["A1"].value
    workbook.close()
    assert "示例数据" in title and "非真实" in title
    result = import_ledger(example, dry_run=True)
    assert len(result.added) >= 20 and not result.changed and not result.unknown_headers
    assert all(change.code.startswith("DEMO-") for change in result.added)
    assert count(Outfall) == 0
    import_ledger(example)
    names = list(db.session.scalars(select(Outfall.name)))
    assert len(names) == len(result.added) and all(name.endswith("（演示）") for name in names)


# --- towns the registry does not know ------------------------------------------------------------

def test_a_misspelt_town_is_refused_with_the_closest_known_name(app, tmp_path):
    error = rejected(write_xlsx(tmp_path / "typo.xlsx", [row("T-1"), row("T-2", 所在镇="碧水"),
                                                        row("T-3", 所在镇="呼忠镇"), row("T-4", 所在镇="黑河")]))
    assert [(e.row, e.column) for e in error.errors] == [(6, "所在镇"), (7, "所在镇"), (8, "所在镇")]
    report = error.report()
    assert "第 6 行「所在镇」：镇“碧水”不在系统中；是否应为“碧水镇”？" in report
    assert "镇“呼忠镇”不在系统中；是否应为“呼中镇”或“呼源镇”？" in report  # equally close: both named
    assert "镇“黑河”不在系统中；已有的镇：呼中镇、呼源镇、宏伟镇、碧水镇。" in report
    assert error.unknown_towns == ["碧水", "呼忠镇", "黑河"]
    assert count(Town) == 4 and count(Outfall) == 0


def test_a_new_town_is_created_only_when_confirmed(app, tmp_path):
    path = write_xlsx(tmp_path / "new.xlsx", [row("T-1", 所在镇="雄关镇"), row("T-2", 所在镇="苍山镇")])
    with pytest.raises(LedgerRejected):
        import_ledger(path, create_towns=["雄关镇"])  # 苍山镇 was not confirmed
    result = import_ledger(path, dry_run=True, create_towns=True)
    assert result.new_towns == ["苍山镇", "雄关镇"] and count(Town) == 4
    import_ledger(path, create_towns=["雄关镇", "苍山镇"])
    assert outfall("T-1").town.name == "雄关镇" and count(Town) == 6


def test_the_command_refuses_an_unknown_town_and_creates_it_when_told(app, runner, tmp_path):
    path = write_xlsx(tmp_path / "new.xlsx", [row("T-1", 所在镇="雄关镇")])
    refused = runner.invoke(args=["import-ledger", str(path)])
    assert refused.exit_code == 1 and "镇“雄关镇”不在系统中" in refused.output
    created = runner.invoke(args=["import-ledger", "--create-towns", str(path)])
    assert created.exit_code == 0, created.output
    assert "已新增镇：雄关镇" in created.output and outfall("T-1").town.name == "雄关镇"
