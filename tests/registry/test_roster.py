"""Importing the duty roster from CSV: all of a file or none of it, and what routing then finds."""
from __future__ import annotations

import codecs
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from factories import make_chief, make_town, make_water_body
from portal.extensions import db
from portal.models import DutyShift
from portal.routing import route_report

BEIJING = timezone(timedelta(hours=8))
HEADER = "河长姓名,河流,镇,开始时间,结束时间,备注"


@pytest.fixture
def places(app):
    """Two rivers, two towns and their chiefs; committed, ids known."""
    huma, bishui_river = make_water_body("呼玛河"), make_water_body("碧水河")
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    chiefs = {
        "周志强": make_chief("周志强", water_body=huma, town=huzhong),
        "韩玉梅": make_chief("韩玉梅", water_body=huma, town=bishui),
        "郭建军": make_chief("郭建军", water_body=bishui_river, town=bishui),
        "郑国栋": make_chief("郑国栋", level="district", water_body=huma),
    }
    db.session.commit()
    return {"chiefs": {name: chief.id for name, chief in chiefs.items()},
            "waters": {"呼玛河": huma.id, "碧水河": bishui_river.id}, "towns": {"呼中镇": huzhong.id, "碧水镇": bishui.id}}


def write(tmp_path, lines, name="roster.csv", encoding="utf-8-sig"):
    """A roster CSV file (UTF-8 with BOM, as Excel saves "CSV UTF-8", unless told)."""
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def shifts():
    """Every recorded shift as (chief name, river or town name, local start, local end, note), in order."""
    db.session.rollback()
    rows = db.session.scalars(select(DutyShift).order_by(DutyShift.starts_at, DutyShift.id))
    return [(s.chief.name, (s.water_body or s.town).name, f"{s.starts_at.astimezone(BEIJING):%m-%d %H:%M}",
             f"{s.ends_at.astimezone(BEIJING):%m-%d %H:%M}", s.note) for s in rows]


GOOD = [
    "呼中区河长值班表（2026年11月29日—30日）",
    HEADER,
    "周志强,呼玛河,,2026-11-29 08:00,2026-11-29 20:00,",
    "韩玉梅,呼玛河,,2026-11-29 20:00,2026-11-30 08:00,夜班",
    "",
    "郭建军,,碧水镇,2026/11/29 0:00,2026/11/29 24:00,全天",
]


def test_import_reads_names_places_and_local_times(places, runner, tmp_path):
    result = runner.invoke(args=["import-roster", str(write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    assert "已导入 3 个班次（呼玛河 2 个、碧水镇 1 个），替换原有 0 个" in result.output
    assert shifts() == [
        ("郭建军", "碧水镇", "11-29 00:00", "11-30 00:00", "全天"),
        ("周志强", "呼玛河", "11-29 08:00", "11-29 20:00", None),
        ("韩玉梅", "呼玛河", "11-29 20:00", "11-30 08:00", "夜班"),
    ]
    stored = db.session.scalar(select(DutyShift).where(DutyShift.note == "夜班"))
    assert stored.starts_at == datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    assert stored.source == "值班表导入 roster.csv"


def test_routing_finds_the_imported_chief_on_duty_across_the_handover(places, runner, tmp_path):
    huma = make_water_body("呼玛河")
    huma.geometry = '{"type":"LineString","coordinates":[[123.5,52.0],[123.7,52.0]]}'
    db.session.commit()
    assert runner.invoke(args=["import-roster", str(write(tmp_path, GOOD))]).exit_code == 0
    before = route_report(52.001, 123.6, at=datetime(2026, 11, 29, 19, 59, tzinfo=BEIJING))
    after = route_report(52.001, 123.6, at=datetime(2026, 11, 29, 20, 0, tzinfo=BEIJING))
    assert (before.chief_id, after.chief_id) == (places["chiefs"]["周志强"], places["chiefs"]["韩玉梅"])
    assert after.reasons[-1] == "呼玛河 11月29日 20:00–11月30日 08:00 值班河长：韩玉梅"


def test_gb18030_files_and_chief_numbers_are_accepted(places, runner, tmp_path):
    number = places["chiefs"]["郑国栋"]
    path = write(tmp_path, ["河长编号,河长姓名,镇,开始时间,结束时间",
                            f"{number},,呼中镇,2026年11月29日 08:00,2026年11月29日 20:00",
                            f"{number},郑国栋,碧水镇,2026-11-29 08:00:00,2026-11-29 20:00:00"], encoding="gb18030")
    result = runner.invoke(args=["import-roster", str(path)])
    assert result.exit_code == 0, result.output
    assert [(chief, place) for chief, place, *_ in shifts()] == [("郑国栋", "呼中镇"), ("郑国栋", "碧水镇")]


def test_reimport_replaces_the_files_period_and_keeps_shifts_outside_it(places, runner, tmp_path):
    november = write(tmp_path, [HEADER, "周志强,呼玛河,,2026-11-28 08:00,2026-11-29 08:00,"], "november.csv")
    assert runner.invoke(args=["import-roster", str(november)]).exit_code == 0
    assert runner.invoke(args=["import-roster", str(write(tmp_path, GOOD))]).exit_code == 0

    again = runner.invoke(args=["import-roster", str(write(tmp_path, GOOD))])
    assert again.exit_code == 0 and "替换原有 3 个" in again.output
    assert len(shifts()) == 4

    corrected = write(tmp_path, [HEADER, "韩玉梅,呼玛河,,2026-11-29 08:00,2026-11-29 20:00,换班",
                                 "周志强,呼玛河,,2026-11-29 20:00,2026-11-30 08:00,换班"], "corrected.csv")
    result = runner.invoke(args=["import-roster", str(corrected)])
    assert result.exit_code == 0 and "替换原有 2 个" in result.output, result.output
    assert shifts() == [
        ("周志强", "呼玛河", "11-28 08:00", "11-29 08:00", None),  # before the corrected file's period: kept
        ("郭建军", "碧水镇", "11-29 00:00", "11-30 00:00", "全天"),  # another target: untouched
        ("韩玉梅", "呼玛河", "11-29 08:00", "11-29 20:00", "换班"),
        ("周志强", "呼玛河", "11-29 20:00", "11-30 08:00", "换班"),
    ]


def test_a_bad_file_is_refused_whole_with_every_bad_row_named(places, runner, tmp_path):
    assert runner.invoke(args=["import-roster", str(write(tmp_path, GOOD, "first.csv"))]).exit_code == 0
    before = shifts()
    bad = write(tmp_path, [
        HEADER,
        "周志强,呼玛河,,2026-12-01 08:00,2026-12-01 20:00,",    # 2: good on its own
        "李四,呼玛河,,2026-12-01 20:00,2026-12-02 08:00,",      # 3: unknown chief
        "韩玉梅,松花江,,2026-12-02 08:00,2026-12-02 20:00,",    # 4: unknown river
        "韩玉梅,,雄关镇,2026-12-02 08:00,2026-12-02 20:00,",    # 5: unknown town
        "郭建军,碧水河,,2026-12-03 20:00,2026-12-03 08:00,",    # 6: ends before it starts
        "韩玉梅,呼玛河,,2026-12-01 19:00,2026-12-01 23:00,",    # 7: overlaps row 2
        "韩玉梅,呼玛河,碧水镇,2026-12-04 08:00,2026-12-04 20:00,",  # 8: both a river and a town
        "韩玉梅,碧水河,,12月5日上午,2026-12-05 20:00,",           # 9: unreadable time
        "韩玉梅,,,2026-12-06 08:00,2026-12-06 20:00,",          # 10: no river or town
    ])
    result = runner.invoke(args=["import-roster", str(bad)])
    assert result.exit_code == 1
    assert "值班表“roster.csv”未导入：发现 8 处错误，数据库未作任何更改" in result.output
    for line in [
        "第 3 行「河长姓名」：没有名为“李四”的河长",
        "第 4 行「河流」：没有名为“松花江”的河流或水体",
        "第 5 行「镇」：没有名为“雄关镇”的镇",
        "第 6 行「结束时间」：结束时间早于或等于开始时间",
        "第 7 行：与第 2 行呼玛河的班次（2026-12-01 08:00–20:00）时间重叠",
        "第 8 行：“河流”（呼玛河）与“镇”（碧水镇）只能填一项",
        "第 9 行「开始时间」：无法识别的时间“12月5日上午”，应写作 2026-11-29 08:00",
        "第 10 行：缺少值班对象：请填写“河流”或“镇”",
    ]:
        assert line in result.output
    assert "第 2 行：" not in result.output
    assert shifts() == before


def test_a_row_overlapping_a_kept_shift_outside_the_files_period_is_refused(places, runner, tmp_path):
    assert runner.invoke(args=["import-roster", str(write(tmp_path, GOOD, "first.csv"))]).exit_code == 0
    # Starts inside 韩玉梅's night shift (20:00–08:00), which reaches beyond this file's period.
    path = write(tmp_path, [HEADER, "周志强,呼玛河,,2026-11-30 06:00,2026-11-30 18:00,"])
    result = runner.invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1
    assert ("第 2 行：与已有的呼玛河班次（韩玉梅，2026-11-29 20:00–2026-11-30 08:00）时间重叠；"
            "该班次超出本文件所覆盖的时段，不会被替换") in result.output
    assert len(shifts()) == 3


def test_chiefs_sharing_a_name_must_be_told_apart_by_number(places, runner, tmp_path):
    twin = make_chief("周志强", water_body=make_water_body("碧水河"), town=make_town("碧水镇"))
    db.session.commit()
    result = runner.invoke(args=["import-roster", str(write(tmp_path, GOOD))])
    assert result.exit_code == 1
    assert (f"第 3 行「河长姓名」：有 2 位河长名为“周志强”（编号 {places['chiefs']['周志强']}、{twin.id}），"
            "请在“河长编号”列注明是哪一位") in result.output

    wrong = write(tmp_path, ["河长编号,河长姓名,河流,开始时间,结束时间", f"{twin.id},韩玉梅,呼玛河,2026-11-29 08:00,2026-11-29 20:00"])
    result = runner.invoke(args=["import-roster", str(wrong)])
    assert f"第 2 行「河长姓名」：河长编号 {twin.id} 是“周志强”，与所填姓名“韩玉梅”不符" in result.output
    assert shifts() == []


@pytest.mark.parametrize(("lines", "problem"), [
    (["河长姓名,河流,开始时间", "周志强,呼玛河,2026-11-29 08:00"], "找不到表头"),
    (["河流,开始时间,结束时间", "呼玛河,2026-11-29 08:00,2026-11-29 20:00"], "缺少必需的列：河长姓名（或河长编号）"),
    ([HEADER], "表头下没有任何班次"),
])
def test_files_without_the_columns_or_rows_a_roster_needs_are_refused(places, runner, tmp_path, lines, problem):
    result = runner.invoke(args=["import-roster", str(write(tmp_path, lines))])
    assert result.exit_code == 1
    assert problem in result.output and "数据库未作任何更改" in result.output


def test_only_csv_files_are_read(places, runner, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"PK\x03\x04")
    result = runner.invoke(args=["import-roster", str(path)])
    assert result.exit_code == 1 and "值班表须为 .csv" in result.output
    undecodable = tmp_path / "binary.csv"
    undecodable.write_bytes(codecs.BOM_UTF8 + b"\xff\xfe\x00bad")
    result = runner.invoke(args=["import-roster", str(undecodable)])
    assert result.exit_code == 1 and "数据库未作任何更改" in result.output
