"""GeoJSON of outfalls, towns and water bodies: shape, filters, bounding boxes, privacy, errors and cost."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import (
    make_outfall,
    make_party,
    make_person,
    make_plan,
    make_town,
    make_water_body,
)
from helpers import commit_and_forget, counted_statements
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.registry import locations
from portal.registry.filters import OutfallFilter
from portal.calendar import today

CANARY_NAME = "甄地图测试"
CANARY_PHONE = "13911223344"
ORGANISATION_PHONE = "0457-3300888"


def geojson(client, query=None):
    """The outfalls' FeatureCollection for these parameters, checked to be GeoJSON."""
    response = client.get("/api/v1/outfalls.geojson", query_string=query or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    collection = json.loads(response.get_data(as_text=True))
    assert collection["type"] == "FeatureCollection"
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        longitude, latitude = feature["geometry"]["coordinates"]
        assert isinstance(longitude, float) and isinstance(latitude, float)
    return collection


def codes(client, query=None):
    """The codes of the outfalls the GeoJSON holds, in order."""
    return [feature["properties"]["code"] for feature in geojson(client, query)["features"]]


def at(longitude, latitude):
    """Outfall fields placing it at a point."""
    return {"longitude": longitude, "latitude": latitude}


# --- shape and properties -----------------------------------------------------------------------------


def test_each_outfall_is_a_point_with_its_facts_and_a_link(client):
    now = today()
    make_outfall("HZ-G01", name="呼中镇木材厂排污口", town=make_town("呼中镇"),
                 water_body=make_water_body("呼玛河"), outfall_type="industrial", is_demo=True,
                 party=make_party("呼中木材加工厂"), **at(123.5888, 52.0306),
                 plan={"measure": "standardise", "status": "in_progress", "deadline": now - timedelta(days=2)})
    commit_and_forget()

    (feature,) = geojson(client)["features"]

    assert feature["id"] == "HZ-G01"
    assert feature["geometry"]["coordinates"] == [123.5888, 52.0306]  # longitude first (RFC 7946)
    assert feature["properties"] == {
        "code": "HZ-G01", "name": "呼中镇木材厂排污口", "is_demo": True, "town": "呼中镇", "water_body": "呼玛河",
        "outfall_type": "industrial", "type_label": "工业排污口",
        "measure": "standardise", "measure_label": "规范整治",
        "status": "in_progress", "status_label": "整治中",
        "deadline": (now - timedelta(days=2)).isoformat(), "transition_ends_on": None, "overdue": True,
        "responsible_party": "呼中木材加工厂",
        "url": "http://portal.test/outfalls/HZ-G01",
    }


def test_outfalls_without_coordinates_are_left_out(client):
    make_outfall("HZ-G01", **at(123.5, 52.0))
    make_outfall("HZ-G02")  # no coordinates yet
    make_outfall("HZ-G03", longitude=123.5)  # half a position is no position
    commit_and_forget()

    assert codes(client) == ["HZ-G01"]


def test_main_plan_gives_status_and_any_overdue_plan_marks_the_outfall(client):
    now = today()
    late = make_outfall("HZ-G01", **at(123.5, 52.0), plan={"status": "completed", "deadline": now - timedelta(days=30)})
    make_plan(late, status="not_started", deadline=now - timedelta(days=1))  # a second unit's plan, late
    make_outfall("HZ-G02", **at(123.5, 52.0), plan={"status": "in_progress", "deadline": now - timedelta(days=5),
                                                     "transition_ends_on": now + timedelta(days=60)})
    make_outfall("HZ-G03", **at(123.5, 52.0), plan=None)
    commit_and_forget()

    properties = {f["properties"]["code"]: f["properties"] for f in geojson(client)["features"]}

    assert (properties["HZ-G01"]["status"], properties["HZ-G01"]["overdue"]) == ("completed", True)
    # Past the deadline but inside the transition period: not overdue.
    assert properties["HZ-G02"]["overdue"] is False
    assert properties["HZ-G02"]["transition_ends_on"] == (now + timedelta(days=60)).isoformat()
    assert {k: properties["HZ-G03"][k] for k in ("measure", "status", "status_label", "deadline", "overdue")} == {
        "measure": None, "status": None, "status_label": None, "deadline": None, "overdue": False}


def test_texts_are_encoded_exactly_whatever_they_contain(client):
    name = '引号"反斜杠\\换行\n制表\t和 emoji 🐟'
    make_outfall("HZ G/01 甲", name=name, **at(123.5, 52.0))
    commit_and_forget()

    (feature,) = geojson(client)["features"]

    assert feature["properties"]["name"] == name
    # The code is quoted in the link exactly as the site's own URLs quote it.
    assert feature["properties"]["url"] == "http://portal.test/outfalls/HZ%20G/01%20%E7%94%B2"


def test_links_use_the_public_base_url_when_set(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://hbj.example.cn/portal/"
    make_outfall("HZ-G01", **at(123.5, 52.0))
    commit_and_forget()

    (feature,) = geojson(client)["features"]

    assert feature["properties"]["url"] == "https://hbj.example.cn/portal/outfalls/HZ-G01"


def test_labels_follow_the_visitors_language(client):
    make_outfall("HZ-G01", outfall_type="agricultural", **at(123.5, 52.0),
                 plan={"measure": "ban", "status": "closed"})
    commit_and_forget()

    (feature,) = geojson(client, {"lang": "en"})["features"]

    assert (feature["properties"]["type_label"], feature["properties"]["measure_label"],
            feature["properties"]["status_label"]) == ("Agricultural outlet", "Ban", "Closed out")
    assert feature["properties"]["outfall_type"] == "agricultural"  # codes never change


def test_empty_registry_is_an_empty_collection(client):
    assert geojson(client) == {"type": "FeatureCollection", "features": []}


# --- privacy ------------------------------------------------------------------------------------------------


def test_no_natural_persons_name_or_any_telephone(client):
    make_outfall("HZ-G01", name="个体养殖场排污口", party=make_person(CANARY_NAME), party_telephone=CANARY_PHONE,
                 **at(123.5, 52.0), plan={"responsible_party": make_person(CANARY_NAME)})
    make_outfall("HZ-G02", party=make_party("呼中畜牧公司"), party_telephone=ORGANISATION_PHONE, **at(123.6, 52.1))
    commit_and_forget()

    body = client.get("/api/v1/outfalls.geojson").get_data(as_text=True)

    for secret in (CANARY_NAME, CANARY_NAME[1:], CANARY_PHONE, ORGANISATION_PHONE):
        assert secret not in body
    properties = {f["properties"]["code"]: f["properties"] for f in json.loads(body)["features"]}
    assert properties["HZ-G01"]["responsible_party"] == "甄****"
    assert properties["HZ-G02"]["responsible_party"] == "呼中畜牧公司"


# --- filters ------------------------------------------------------------------------------------------------


@pytest.fixture
def registry(app):
    """Four located outfalls that differ in every filtered respect, and one without a position."""
    now = today()
    bishui, huyuan = make_town("碧水镇"), make_town("呼源镇")
    river, lake = make_water_body("碧水河"), make_water_body("呼中水库", kind="reservoir")
    make_outfall("A-1", town=bishui, water_body=river, outfall_type="industrial", name="木材厂排口",
                 **at(123.9, 51.95), plan={"measure": "ban", "status": "in_progress",
                                           "deadline": now - timedelta(days=3)})
    make_outfall("A-2", town=bishui, water_body=lake, outfall_type="agricultural", **at(123.95, 52.0),
                 plan={"measure": "merge", "status": "not_started", "deadline": now + timedelta(days=30)})
    make_outfall("A-3", town=huyuan, water_body=river, outfall_type="agricultural", **at(123.1, 52.3),
                 plan={"measure": "standardise", "status": "completed", "deadline": now - timedelta(days=90)})
    make_outfall("A-4", town=huyuan, water_body=lake, outfall_type="municipal_wwtp", **at(123.2, 52.25), plan=None)
    make_outfall("A-5", town=bishui, water_body=river, outfall_type="industrial", plan={"measure": "ban"})
    ids = {"bishui": bishui.id, "huyuan": huyuan.id, "river": river.id, "lake": lake.id}
    commit_and_forget()
    return ids


def test_each_filter_of_the_list_applies(client, registry):
    assert codes(client) == ["A-1", "A-2", "A-3", "A-4"]
    assert codes(client, {"town": registry["bishui"]}) == ["A-1", "A-2"]
    assert codes(client, {"water": registry["lake"]}) == ["A-2", "A-4"]
    assert codes(client, {"type": "agricultural"}) == ["A-2", "A-3"]
    assert codes(client, {"measure": "ban"}) == ["A-1"]
    assert codes(client, {"status": "completed"}) == ["A-3"]
    assert codes(client, {"overdue": "1"}) == ["A-1"]
    assert codes(client, {"q": "木材"}) == ["A-1"]
    assert codes(client, [("type", "agricultural"), ("type", "municipal_wwtp"), ("town", registry["huyuan"])]) == [
        "A-3", "A-4"]


def test_same_outfalls_as_the_shared_filter_lets_through(app, client, registry):
    query = {"town": str(registry["bishui"])}
    rows = locations.located_outfalls(OutfallFilter.from_args(MultiDict(query)), today()).all()
    assert [row.code for row in rows] == codes(client, query)
    assert tuple(locations.located_outfalls(OutfallFilter(), today()).keys()) == locations.LOCATED_COLUMNS


@pytest.fixture
def grid(app):
    """Outfalls around the box 123.0–124.0 E, 52.0–52.5 N: inside, on each edge and corner, and outside."""
    points = {
        "inside": (123.5, 52.25),
        "west-edge": (123.0, 52.25), "east-edge": (124.0, 52.25),
        "south-edge": (123.5, 52.0), "north-edge": (123.5, 52.5),
        "sw-corner": (123.0, 52.0), "ne-corner": (124.0, 52.5),
        "west-out": (122.999999, 52.25), "east-out": (124.000001, 52.25),
        "south-out": (123.5, 51.999999), "north-out": (123.5, 52.500001),
        "far": (121.0, 50.0),
    }
    for name, (longitude, latitude) in points.items():
        make_outfall(name, **at(longitude, latitude))
    commit_and_forget()


def test_bbox_returns_exactly_the_outfalls_inside_it_edges_included(client, grid):
    assert sorted(codes(client, {"bbox": "123,52,124,52.5"})) == sorted([
        "inside", "west-edge", "east-edge", "south-edge", "north-edge", "sw-corner", "ne-corner"])


def test_bbox_combines_with_other_filters_and_may_be_a_point(client, grid):
    assert codes(client, {"bbox": "123.5,52.25,123.5,52.25"}) == ["inside"]
    assert codes(client, {"bbox": "0,0,1,1"}) == []
    assert codes(client, {"bbox": "123,52,124,52.5", "q": "corner"}) == ["ne-corner", "sw-corner"]


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bbox", ["123,52,124", "a,b,c,d", "124,52,123,52.5", "123,52,124,91", "123,,124,52.5"])
def test_bad_bbox_is_refused_with_a_json_error_in_chinese(client, bbox):
    response = client.get("/api/v1/outfalls.geojson", query_string={"bbox": bbox})

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    (error,) = response.get_json()["errors"]
    assert error["code"] == 400
    assert "bbox" in error["description"] and "参数无效" in error["description"]


def test_every_bad_parameter_is_listed(client):
    response = client.get("/api/v1/outfalls.geojson", query_string={"type": "factory", "town": "呼中镇"})

    assert response.status_code == 400
    descriptions = [e["description"] for e in response.get_json()["errors"]]
    assert len(descriptions) == 2
    assert any("type=factory" in d for d in descriptions) and any("town=呼中镇" in d for d in descriptions)


def test_unknown_api_address_and_method_are_json_errors(client):
    response = client.get("/api/v1/outfalls.kml")
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["code"] == 404
    assert response.get_json()["errors"][0]["description"]

    response = client.post("/api/v1/outfalls.geojson")
    assert response.status_code == 405
    assert response.get_json()["errors"][0]["code"] == 405
    assert "GET" in response.headers["Allow"]


def test_pages_outside_the_api_keep_their_own_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


# --- caching and cost -----------------------------------------------------------------------------------------


def test_cached_briefly_and_answers_304_while_unchanged(client):
    make_outfall("HZ-G01", **at(123.5, 52.0))
    commit_and_forget()

    first = client.get("/api/v1/outfalls.geojson")
    assert first.cache_control.public and 0 < first.cache_control.max_age <= 300
    assert "Cookie" in first.headers["Vary"]
    etag = first.headers["ETag"]

    assert client.get("/api/v1/outfalls.geojson", headers={"If-None-Match": etag}).status_code == 304

    make_outfall("HZ-G02", **at(123.6, 52.0))
    commit_and_forget()
    changed = client.get("/api/v1/outfalls.geojson", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def _located_outfalls(first, count):
    """Located outfalls each with its own party and two plans, in a few towns and on a few rivers."""
    towns = [make_town(name) for name in ("呼中镇", "呼源镇", "碧水镇", "宏伟镇")]
    rivers = [make_water_body(name) for name in ("呼玛河", "呼中河")]
    for number in range(first, first + count):
        party = make_person(f"张{number}") if number % 3 == 0 else make_party(f"测试单位G{number}")
        outfall = make_outfall(f"HZ-C{number:03d}", town=towns[number % 4], water_body=rivers[number % 2],
                               party=party, **at(123 + number / 100, 52 + number / 200),
                               plan={"status": "in_progress", "deadline": today() - timedelta(days=number)})
        make_plan(outfall, responsible_party=make_party(f"合并单位G{number}"), measure="merge")


def test_statement_count_does_not_grow_with_outfalls(client):
    _located_outfalls(0, 5)
    commit_and_forget()
    with counted_statements() as few:
        assert len(codes(client)) == 5
    with counted_statements() as few_filtered:
        assert len(codes(client, {"q": "测试单位", "overdue": "1", "bbox": "120,50,130,55"})) == 3

    _located_outfalls(5, 45)
    commit_and_forget()
    with counted_statements() as many:
        assert len(codes(client)) == 50
    with counted_statements() as many_filtered:
        assert len(codes(client, {"q": "测试单位", "overdue": "1", "bbox": "120,50,130,55"})) == 33

    assert len(many) == len(few) <= 2, many
    assert len(many_filtered) == len(few_filtered) <= 2, many_filtered


# --- towns and water bodies -----------------------------------------------------------------------------------

SQUARE = {"type": "Polygon", "coordinates": [[[123.0, 52.0], [123.5, 52.0], [123.5, 52.5], [123.0, 52.5],
                                              [123.0, 52.0]]]}
RIVER = {"type": "LineString", "coordinates": [[123.0, 52.0], [123.4, 52.1], [123.9, 52.05]]}


def test_towns_with_boundaries_and_where_they_came_from(client):
    make_town("呼中镇", code="232764100", boundary=json.dumps(SQUARE), boundary_source="近似边界（演示）", is_demo=True)
    make_town("呼源镇")  # no boundary imported yet
    commit_and_forget()

    response = client.get("/api/v1/towns.geojson")

    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert response.cache_control.max_age
    (feature,) = json.loads(response.get_data(as_text=True))["features"]
    assert feature["type"] == "Feature" and feature["geometry"] == SQUARE
    assert {k: feature["properties"][k] for k in ("name", "code", "boundary_source", "is_demo")} == {
        "name": "呼中镇", "code": "232764100", "boundary_source": "近似边界（演示）", "is_demo": True}


def test_water_bodies_with_geometry_kind_and_target_class(client):
    make_water_body("呼玛河", geometry=json.dumps(RIVER), target_class="II", supervision_telephone="0457-3322101")
    make_water_body("呼中水库", kind="reservoir", geometry=json.dumps(SQUARE), target_class="III")
    make_water_body("无名沟")  # no geometry
    commit_and_forget()

    response = client.get("/api/v1/waters.geojson")

    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    body = response.get_data(as_text=True)
    assert "0457-3322101" not in body  # the map needs no telephone
    features = {f["properties"]["name"]: f for f in json.loads(body)["features"]}
    assert set(features) == {"呼玛河", "呼中水库"}
    assert features["呼玛河"]["geometry"] == RIVER
    assert {k: features["呼中水库"]["properties"][k] for k in ("kind", "kind_label", "target_class")} == {
        "kind": "reservoir", "kind_label": "水库", "target_class": "III"}


def test_demo_data_is_valid_geojson_throughout(client):
    from portal.db import transaction
    from portal import demo

    with transaction():
        demo.seed()
    db.session.remove()

    outfalls = geojson(client)["features"]
    towns = json.loads(client.get("/api/v1/towns.geojson").get_data(as_text=True))["features"]
    waters = json.loads(client.get("/api/v1/waters.geojson").get_data(as_text=True))["features"]

    assert outfalls and all(f["properties"]["is_demo"] for f in outfalls)
    assert {f["properties"]["name"] for f in towns} == {"呼中镇", "呼源镇", "碧水镇", "宏伟镇"}
    assert all(f["properties"]["boundary_source"] for f in towns)
    assert {f["geometry"]["type"] for f in waters} == {"LineString", "Polygon"}
    # Persons are masked, and keep the demo mark.
    parties = {f["properties"]["responsible_party"] for f in outfalls}
    assert any(p.endswith("**（演示）") for p in parties)
