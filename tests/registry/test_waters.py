"""Importing rivers, lakes and reservoirs from GeoJSON: all of a file or none of it, matched by code
then name, with the board dated when what it shows changes."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from shapely.geometry import shape
from sqlalchemy import select

from factories import make_outfall, make_water_body
from helpers import commit_and_forget

from portal import calendar
from portal.db import transaction
from portal.extensions import db
from portal.models import WaterBody
from portal.registry import waters

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bureau"
LINE = {"type": "LineString", "coordinates": [[123.40, 52.00], [123.50, 52.03], [123.60, 52.03]]}
LAKE = {"type": "Polygon", "coordinates": [[[123.64, 52.09], [123.67, 52.09], [123.67, 52.11], [123.64, 52.09]]]}


def feature(geometry=LINE, **properties):
    """A Feature with these properties."""
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write(tmp_path, features, filename="waters.geojson") -> Path:
    """A FeatureCollection file in tmp_path."""
    path = tmp_path / filename
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def import_committed(path):
    """Import as the command does, in one transaction."""
    with transaction():
        return waters.import_waters(path)


def stored() -> dict[str, WaterBody]:
    """Every water body by name, as committed."""
    db.session.rollback()
    return {w.name: w for w in db.session.scalars(select(WaterBody))}


def move_clock(monkeypatch, day: date):
    """Put the district's clock at noon on ``day``."""
    monkeypatch.setattr(calendar, "_clock", lambda: datetime(day.year, day.month, day.day, 4, tzinfo=timezone.utc))


def test_the_bureaus_waters_file_imports_through_the_command(app, runner):
    result = runner.invoke(args=["import-waters", str(EXAMPLES / "waters.geojson")])

    assert result.exit_code == 0, result.output
    assert "新增 3 个，已修改 0 个" in result.output
    found = stored()
    assert (found["呼玛河"].code, found["呼玛河"].kind, found["呼玛河"].target_class) == ("HMH", "river", "III")
    assert (found["碧水河"].code, found["碧水河"].target_class) == ("BSH", "II")
    reservoir = found["呼中水库"]
    assert (reservoir.code, reservoir.kind, reservoir.target_class) == ("HZSK", "reservoir", "II")
    assert json.loads(reservoir.geometry)["type"] == "Polygon"
    assert "III 类" in found["呼玛河"].goals
    assert found["呼玛河"].board_changed_on == calendar.today()
    assert found["呼玛河"].source == "waters.geojson" and found["呼玛河"].is_demo is False

    again = runner.invoke(args=["import-waters", str(EXAMPLES / "waters.geojson")])
    assert "新增 0 个，已修改 0 个，无变化 3 个" in again.output, again.output
    assert "公示牌内容有变化" not in again.output


def test_a_ledgers_water_is_completed_by_name_and_a_coded_one_renamed_by_code(app, tmp_path):
    make_outfall("HZ-001", water_body=make_water_body("呼玛河", target_class=None, kind="river"))
    make_water_body("旧名河", code="BSH")
    commit_and_forget()

    summary = import_committed(write(tmp_path, [
        feature(名称="呼玛河", 编码="HMH", 类型="河流", 目标水质="Ⅲ类"),
        feature(name="碧水河", code="BSH", kind="river", target_class="II"),
    ]))

    assert summary.added == [] and len(summary.updated) == 2
    found = stored()
    assert set(found) == {"呼玛河", "碧水河"}
    assert found["呼玛河"].code == "HMH" and found["呼玛河"].target_class == "III"
    assert len(found["呼玛河"].outfalls) == 1  # the ledger's 受纳水体 connects
    assert shape(json.loads(found["碧水河"].geometry)).equals(shape(LINE))


def test_the_board_is_dated_only_when_what_it_shows_changes(app, tmp_path, monkeypatch):
    move_clock(monkeypatch, date(2026, 11, 2))
    import_committed(write(tmp_path, [feature(name="呼玛河", code="HMH", kind="river", target_class="III",
                                              goals="水质达到 III 类")]))
    assert stored()["呼玛河"].board_changed_on == date(2026, 11, 2)

    move_clock(monkeypatch, date(2026, 11, 20))
    moved = {"type": "LineString", "coordinates": [[123.40, 52.00], [123.70, 52.05]]}
    summary = import_committed(write(tmp_path, [feature(moved, name="呼玛河", code="HMH", kind="river",
                                                        target_class="III", goals="水质达到 III 类")]))
    assert summary.updated == [("呼玛河", ["geometry"])] and summary.board_changed == []
    assert stored()["呼玛河"].board_changed_on == date(2026, 11, 2)  # a redrawn line is not a board change

    summary = import_committed(write(tmp_path, [feature(moved, name="呼玛河", code="HMH", kind="river",
                                                        target_class="III", goals="水质稳定达到 III 类")]))
    assert summary.board_changed == ["呼玛河"]
    assert stored()["呼玛河"].board_changed_on == date(2026, 11, 20)


def test_dry_run_reports_and_writes_nothing(app, runner, tmp_path):
    path = write(tmp_path, [feature(name="呼玛河", kind="river", target_class="III")])

    result = runner.invoke(args=["import-waters", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "将新增 1 个" in result.output and "试运行" in result.output
    assert stored() == {}


def test_a_lake_polygon_and_a_kind_read_from_the_geometry(app, tmp_path):
    import_committed(write(tmp_path, [feature(LAKE, name="呼中水库", target_class="II"),
                                      feature(LAKE, name="月亮湖", target_class="II"),
                                      feature(name="小白河", target_class=3)]))

    found = stored()
    assert (found["呼中水库"].kind, found["月亮湖"].kind, found["小白河"].kind) == ("reservoir", "lake", "river")
    assert found["小白河"].target_class == "III"


@pytest.mark.parametrize("bad,expected", [
    (feature(name="呼玛河", kind="river"), "第 1 个要素（呼玛河）：缺少目标水质"),
    (feature(name="呼玛河", kind="河", target_class="VI"), "目标水质（properties.target_class）：“VI”不是地表水水质类别"),
    (feature(name="呼玛河", kind="海洋", target_class="II"), "类型（properties.kind）“海洋”不是可用的值"),
    (feature(LAKE, name="呼玛河", kind="river", target_class="II"), "几何类型为 Polygon，河流应为 LineString"),
    (feature(LINE, name="呼中水库", kind="水库", target_class="II"), "几何类型为 LineString，湖泊、水库应为 Polygon"),
    (feature({"type": "LineString", "coordinates": [[123.4, 52.0]]}, name="呼玛河", target_class="II"),
     "线只有 1 个点"),
    (feature({"type": "LineString", "coordinates": [[52.0, 123.4], [52.1, 123.5]]}, name="呼玛河", target_class="II"),
     "经纬度可能颠倒"),
    (feature(name="呼玛河", target_class="II", 监督电话="请拨打"), "监督电话（properties.监督电话）：“请拨打”不是有效的电话号码"),
    (feature(target_class="II"), "第 1 个要素：缺少名称"),
    (feature(name="呼玛河", code=["HMH"], target_class="II"), "编码（properties.code）应为文字或整数"),
])
def test_each_kind_of_bad_feature_is_named_with_its_property(app, tmp_path, bad, expected):
    with pytest.raises(waters.WatersRejected) as refused:
        waters.import_waters(write(tmp_path, [bad]))

    assert expected in str(refused.value), str(refused.value)
    assert "未导入，数据库未作任何更改" in str(refused.value)
    assert stored() == {}


def test_one_bad_feature_refuses_the_whole_file_through_the_command(app, runner, tmp_path):
    path = write(tmp_path, [feature(name="呼玛河", target_class="III"), feature(name="碧水河"),
                            feature(name="呼玛河", target_class="II")], "bad.geojson")

    result = runner.invoke(args=["import-waters", str(path)])

    assert result.exit_code == 1
    assert "水体文件 bad.geojson 未导入" in result.output
    assert "第 2 个要素（碧水河）：缺少目标水质" in result.output
    assert "第 3 个要素（呼玛河）：名称与第 1 个要素重复" in result.output
    assert "Traceback" not in result.output
    assert stored() == {}


def test_a_name_held_by_a_water_with_another_code_is_refused(app, tmp_path):
    make_water_body("呼玛河", code="HMH")
    make_water_body("碧水河", code="BSH")
    commit_and_forget()

    with pytest.raises(waters.WatersRejected) as refused:
        waters.import_waters(write(tmp_path, [feature(name="呼玛河", code="HM-2", target_class="III")]))
    assert "名称“呼玛河”已属于数据库中编码为 HMH 的水体" in str(refused.value)

    with pytest.raises(waters.WatersRejected) as refused:
        waters.import_waters(write(tmp_path, [feature(name="呼玛河", code="BSH", target_class="III")]))
    assert "编码 BSH 属于数据库中的“碧水河”，但名称“呼玛河”已属于另一个水体" in str(refused.value)
    assert stored()["碧水河"].code == "BSH"


def test_a_file_that_is_not_geojson_is_refused(app, runner, tmp_path):
    path = tmp_path / "waters.geojson"
    path.write_text("{not json", "utf-8")

    result = runner.invoke(args=["import-waters", str(path)])

    assert result.exit_code == 1 and "不是有效的 JSON" in result.output


def test_the_bureaus_approximate_towns_import_with_their_mark(app, runner):
    document = json.loads((EXAMPLES / "towns.geojson").read_text("utf-8"))
    assert all(f["properties"]["approximate"] is True for f in document["features"])

    result = runner.invoke(args=["import-areas", str(EXAMPLES / "towns.geojson")])

    assert result.exit_code == 0, result.output
    assert "新增 4 个" in result.output
