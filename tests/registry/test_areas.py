"""Importing town boundaries from GeoJSON: all of a file or none of it, with a message naming each fault."""
import json

import pytest
from shapely.geometry import shape
from sqlalchemy import select

from portal.extensions import db
from portal.models import Town
from portal.registry import areas
from committing import import_areas

SQUARE = [[123.50, 52.00], [123.65, 52.00], [123.65, 52.10], [123.50, 52.10], [123.50, 52.00]]
BOWTIE = [[123.80, 51.95], [123.95, 52.10], [123.95, 51.95], [123.80, 52.10], [123.80, 51.95]]


def polygon(ring=SQUARE):
    """A GeoJSON Polygon from one ring."""
    return {"type": "Polygon", "coordinates": [ring]}


def feature(name, geometry, code=None):
    """A GeoJSON Feature with the properties the import reads."""
    properties = {} if name is None else {"name": name}
    if code is not None:
        properties["code"] = code
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write(tmp_path, features, filename="towns.geojson"):
    """A FeatureCollection file in tmp_path."""
    path = tmp_path / filename
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def towns():
    """Every town in the database by name, as committed (rolling back anything left uncommitted)."""
    db.session.rollback()
    return {t.name: t for t in db.session.scalars(select(Town))}


def test_import_adds_towns_then_reimport_updates_them(app, runner, tmp_path):
    first = write(tmp_path, [
        feature("呼中镇", polygon(), code="232764100"),
        feature("碧水镇", polygon([[123.7, 51.9], [123.9, 51.9], [123.9, 52.0], [123.7, 51.9]])),
    ], "towns-2025.geojson")
    result = runner.invoke(args=["import-areas", str(first)])
    assert result.exit_code == 0, result.output
    assert "新增 2 个，更新 0 个" in result.output
    town = towns()["呼中镇"]
    assert town.code == "232764100"
    assert town.boundary_source == "towns-2025.geojson"
    assert town.is_demo is False
    assert shape(town.boundary_geometry).equals(shape(polygon()))

    moved = [[x + 0.01, y] for x, y in SQUARE]
    second = write(tmp_path, [feature("呼中镇", polygon(moved))], "towns-2026.geojson")
    result = runner.invoke(args=["import-areas", str(second)])
    assert result.exit_code == 0, result.output
    assert "新增 0 个，更新 1 个" in result.output
    after = towns()
    assert len(after) == 2
    assert shape(after["呼中镇"].boundary_geometry).equals(shape(polygon(moved)))
    assert after["呼中镇"].boundary_source == "towns-2026.geojson"
    assert after["呼中镇"].code == "232764100"  # a file without codes keeps the ones on record


def test_reimporting_the_same_file_reports_nothing_changed(app, tmp_path):
    path = write(tmp_path, [feature("呼中镇", polygon())])
    assert import_areas(path).added == 1
    again = import_areas(path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)


def test_polygon_and_multipolygon_are_both_accepted(app, tmp_path):
    multi = {"type": "MultiPolygon", "coordinates": [
        [SQUARE], [[[123.0, 52.2], [123.1, 52.2], [123.1, 52.3], [123.0, 52.2]]],
    ]}
    summary = import_areas(write(tmp_path, [feature("呼中镇", polygon()), feature("呼源镇", multi)]))
    assert summary.added == 2
    stored = towns()
    assert stored["呼中镇"].boundary_geometry["type"] == "Polygon"
    assert stored["呼源镇"].boundary_geometry["type"] == "MultiPolygon"
    assert len(shape(stored["呼源镇"].boundary_geometry).geoms) == 2


def test_one_bad_feature_refuses_the_whole_file_and_names_it(app, runner, tmp_path):
    import_areas(write(tmp_path, [feature("呼中镇", polygon())], "before.geojson"))
    path = write(tmp_path, [
        feature("呼源镇", polygon([[123.0, 52.2], [123.1, 52.2], [123.1, 52.3], [123.0, 52.2]])),
        feature("碧水镇", polygon(BOWTIE)),
        feature("呼中镇", polygon([[x + 0.05, y] for x, y in SQUARE])),
    ], "bad.geojson")

    result = runner.invoke(args=["import-areas", str(path)])

    assert result.exit_code == 1
    assert "bad.geojson 未导入" in result.output
    assert "第 2 个要素（碧水镇）" in result.output
    assert "自相交" in result.output
    assert "第 1 个要素" not in result.output and "第 3 个要素" not in result.output
    after = towns()
    assert set(after) == {"呼中镇"}  # 呼源镇 was valid but not added
    assert after["呼中镇"].boundary_source == "before.geojson"
    assert shape(after["呼中镇"].boundary_geometry).equals(shape(polygon()))


@pytest.mark.parametrize("bad, expected", [
    (feature(None, polygon()), "第 2 个要素：缺少镇名"),
    (feature("  ", polygon()), "第 2 个要素：缺少镇名"),
    (feature("宏伟镇", {"type": "LineString", "coordinates": [[123.4, 51.9], [123.5, 51.95]]}),
     "第 2 个要素（宏伟镇）：几何类型为 LineString"),
    (feature("宏伟镇", None), "第 2 个要素（宏伟镇）：缺少几何图形"),
    (feature("宏伟镇", polygon([[523.4, 51.9], [523.5, 51.9], [523.5, 52.0], [523.4, 51.9]])),
     "第 2 个要素（宏伟镇）：坐标 [523.4, 51.9] 超出 WGS84"),
    (feature("宏伟镇", polygon([[51.9, 123.4], [51.9, 123.5], [52.0, 123.5], [51.9, 123.4]])),
     "经纬度可能颠倒"),
    (feature("宏伟镇", polygon([[123.4, 51.9], [123.5, 51.9], [123.5, 52.0], [123.4, 52.0]])),
     "第 2 个要素（宏伟镇）：环未闭合"),
    (feature("宏伟镇", polygon([[123.4, 51.9], [123.5, 51.9], [123.4, 51.9]])), "至少需要 4 个点"),
    (feature("呼中镇", polygon()), "第 2 个要素（呼中镇）：名称与第 1 个要素重复"),
    (feature("宏伟镇", polygon(), code=["x"]), "编码（properties.code）应为文字或整数"),
])
def test_each_kind_of_bad_feature_is_named_and_nothing_is_written(app, tmp_path, bad, expected):
    path = write(tmp_path, [feature("呼中镇", polygon()), bad])
    with pytest.raises(areas.AreasRejected) as refused:
        import_areas(path)
    assert expected in str(refused.value)
    assert towns() == {}


def test_every_bad_feature_is_listed_not_only_the_first(app, tmp_path):
    path = write(tmp_path, [feature(None, polygon()), feature("碧水镇", polygon(BOWTIE))])
    with pytest.raises(areas.AreasRejected) as refused:
        import_areas(path)
    message = str(refused.value)
    assert "发现 2 处问题" in message
    assert "第 1 个要素：缺少镇名" in message and "第 2 个要素（碧水镇）" in message


def test_a_file_that_is_not_json_is_refused(app, runner, tmp_path):
    path = tmp_path / "towns.geojson"
    path.write_text("name,wkt\n呼中镇,POLYGON((...))\n", encoding="utf-8")
    result = runner.invoke(args=["import-areas", str(path)])
    assert result.exit_code == 1
    assert "不是有效的 JSON" in result.output
    assert towns() == {}


def test_json_that_is_not_a_feature_collection_is_refused(app, tmp_path):
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps(feature("呼中镇", polygon())), encoding="utf-8")
    with pytest.raises(areas.AreasRejected, match="FeatureCollection"):
        import_areas(path)
    assert towns() == {}


def test_a_projected_coordinate_system_is_refused(app, tmp_path):
    path = tmp_path / "projected.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
        "features": [feature("呼中镇", polygon())],
    }), encoding="utf-8")
    with pytest.raises(areas.AreasRejected, match="EPSG:4326"):
        import_areas(path)


def test_a_code_already_held_by_another_town_is_refused(app, tmp_path):
    import_areas(write(tmp_path, [feature("呼中镇", polygon(), code="232764100")], "a.geojson"))
    with pytest.raises(areas.AreasRejected, match="编码 232764100 已属于数据库中的 呼中镇"):
        import_areas(write(tmp_path, [feature("碧水镇", polygon(), code="232764100")], "b.geojson"))
    assert set(towns()) == {"呼中镇"}


def test_real_boundaries_replace_a_demo_towns_approximation(app, runner, tmp_path):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["import-areas", str(write(tmp_path, [feature("呼中镇", polygon())], "real.geojson"))])
    assert "新增 0 个，更新 1 个" in result.output
    town = towns()["呼中镇"]
    assert town.boundary_source == "real.geojson"
    assert town.is_demo is False
    assert shape(town.boundary_geometry).equals(shape(polygon()))
