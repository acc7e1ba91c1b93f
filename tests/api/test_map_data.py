"""/api/v1/map: clusters per grid cell or single outfalls and reports, bounded at every zoom."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from factories import make_outfall, make_person, make_report, make_town, make_water_body
from helpers import commit_and_forget
from sqlalchemy import func, insert, select

from portal import map_grid
from portal.calendar import today
from portal.extensions import db
from portal.models import Outfall, RectificationPlan, Report
from portal.registry import plan_summary

DISTRICT = (122.9, 51.6, 124.3, 52.4)  # 呼中区, roughly
BOX = ",".join(str(v) for v in DISTRICT)
DENSE_SPOT = (123.5888, 52.0306)  # 呼中镇
STATUSES = ("not_started", "in_progress", "completed", "closed")


def seed(spread: int = 300, dense: int = 0, seed_number: int = 7) -> None:
    """``spread`` outfalls over the district (one plan each, some overdue, some without a plan) and
    ``dense`` more within a few metres of one spot, with Core inserts as the scale dataset makes them."""
    rng = random.Random(seed_number)
    town, water = make_town("呼中镇"), make_water_body("呼玛河")
    rows = []
    for number in range(spread + dense):
        if number < spread:
            lon, lat = rng.uniform(DISTRICT[0], DISTRICT[2]), rng.uniform(DISTRICT[1], DISTRICT[3])
        else:
            lon, lat = DENSE_SPOT[0] + rng.uniform(0, 2e-5), DENSE_SPOT[1] + rng.uniform(0, 2e-5)
        rows.append({"code": f"HZ-M{number:06d}", "name": f"地图排污口{number}", "town_id": town.id,
                     "water_body_id": water.id, "outfall_type": rng.choice(("industrial", "agricultural")),
                     "stage": "survey", "longitude": lon, "latitude": lat})
    db.session.execute(insert(Outfall), rows)
    ids = db.session.scalars(select(Outfall.id).where(Outfall.code.like("HZ-M%")).order_by(Outfall.id)).all()
    plans = []
    for number, outfall_id in enumerate(ids):
        if number % 10 == 9:
            continue  # no plan yet
        status = STATUSES[number % 4]
        deadline = today() - timedelta(days=30) if number % 7 == 0 else today() + timedelta(days=90)
        plans.append({"outfall_id": outfall_id, "measure": "standardise", "status": status, "deadline": deadline})
    db.session.execute(insert(RectificationPlan), plans)
    plan_summary.refresh_all(db.session)
    commit_and_forget()


def in_box(answer, **conditions) -> int:
    """Outfalls in the answer's (widened) box that match, counted directly in the database."""
    west, south, east, north = answer["bbox"]
    query = select(func.count(Outfall.id)).where(Outfall.longitude.between(west, east),
                                                 Outfall.latitude.between(south, north))
    for column, value in conditions.items():
        query = query.where(getattr(Outfall, column) == value)
    return db.session.scalar(query)


def counted(answer) -> int:
    return sum(f["properties"]["count"] if f["properties"]["kind"] == "cluster" else 1 for f in answer["features"])


def get_map(client, **args):
    args.setdefault("bbox", BOX)
    response = client.get("/api/v1/map", query_string=args)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/geo+json"
    return response.get_json()


def test_every_zoom_stays_within_the_cap_and_counts_every_outfall_in_the_box_once(client):
    seed(spread=400, dense=5000)
    for zoom in range(map_grid.MIN_ZOOM, map_grid.MAX_ZOOM + 1):
        answer = get_map(client, zoom=zoom)
        assert len(answer["features"]) <= map_grid.MAX_FEATURES, zoom
        assert answer["zoom"] == zoom and answer["total"] == counted(answer) == in_box(answer) == 5400, zoom
        assert sum(answer["by_status"].values()) == 5400
        # 5,000 outfalls in one spot can never be drawn one by one: a cluster holds them at every zoom.
        assert max(f["properties"].get("count", 1) for f in answer["features"]) >= 5000, zoom


def test_a_huge_box_at_street_zoom_is_counted_in_larger_cells(client):
    seed(spread=300)
    answer = get_map(client, bbox="-180,-90,180,90", zoom=19)
    assert answer["cell"] > map_grid.cell_size(19)
    assert len(answer["features"]) <= map_grid.MAX_FEATURES and counted(answer) == 300


def test_single_outfalls_below_street_zoom_only_where_a_cell_holds_one(client):
    seed(spread=300)
    district = get_map(client, zoom=9)
    kinds = [f["properties"]["kind"] for f in district["features"]]
    assert kinds.count("cluster") > 0
    assert all(f["properties"]["count"] > 1 for f in district["features"] if f["properties"]["kind"] == "cluster")
    assert len(district["features"]) < 300  # aggregated: fewer features than outfalls

    street = get_map(client, zoom=map_grid.STREET_ZOOM)
    assert {f["properties"]["kind"] for f in street["features"]} == {"outfall"}
    assert len(street["features"]) == street["total"] == 300


def test_cluster_says_what_is_inside_and_where_to_zoom(client):
    seed(spread=0, dense=50)
    answer = get_map(client, zoom=10)
    (cluster,) = answer["features"]
    props = cluster["properties"]
    assert props["kind"] == "cluster" and props["count"] == 50
    assert sum(props["by_status"].values()) == 50 and props["by_status"]["none"] == 5
    assert props["overdue"] == db.session.scalar(select(func.count(Outfall.id)).where(
        plan_summary.overdue_condition(today())))
    west, south, east, north = props["bounds"]
    lon, lat = cluster["geometry"]["coordinates"]
    assert west <= lon <= east and south <= lat <= north
    assert east - west < 1e-4 and north - south < 1e-4  # the outfalls' own box, not the cell's


def test_filters_apply_to_counts_and_to_single_outfalls(client):
    seed(spread=300)
    industrial = get_map(client, zoom=9, type="industrial")
    assert industrial["total"] == counted(industrial) == in_box(industrial, outfall_type="industrial") < 300
    overdue = get_map(client, zoom=9, overdue="1")
    assert overdue["total"] == overdue["overdue"] == get_map(client, zoom=9)["overdue"] > 0
    street = get_map(client, zoom=16, status="completed")
    assert street["features"] and all(f["properties"]["status"] == "completed" for f in street["features"])


def test_a_single_outfall_carries_its_popup_and_a_person_only_masked(client):
    make_outfall("HZ-P0001", name="张家养殖场排口", party=make_person("张立新"), longitude=123.6, latitude=52.0,
                 plan={"status": "in_progress", "deadline": today() - timedelta(days=1)})
    commit_and_forget()
    response = client.get("/api/v1/map", query_string={"bbox": BOX, "zoom": 16})
    assert "张立新" not in response.get_data(as_text=True)
    (feature,) = response.get_json()["features"]
    props = feature["properties"]
    assert props["kind"] == "outfall" and props["code"] == "HZ-P0001" and props["responsible_party"] == "张**"
    assert props["status"] == "in_progress" and props["overdue"] is True
    assert props["url"].endswith("/outfalls/HZ-P0001")
    assert feature["geometry"]["coordinates"] == [123.6, 52.0]


def test_reports_layer_shows_only_published_reports_at_their_public_position(client):
    make_report(published=True, latitude=52.031234, longitude=123.588876, name="王小明", phone="13812345678")
    make_report(published=True, latitude=52.2, longitude=123.9, status="accepted")
    make_report(published=False, latitude=52.1, longitude=123.7, name="李秘密")
    make_report(published=False, latitude=52.031301, longitude=123.588801)  # beside a published one
    commit_and_forget()
    for zoom in (3, 9, 12, 16):
        response = client.get("/api/v1/map", query_string={"bbox": BOX, "zoom": zoom, "layer": "reports"})
        answer = response.get_json()
        text = response.get_data(as_text=True)
        assert answer["total"] == counted(answer) == 2, zoom
        assert sum(answer["by_status"].values()) == 2
        assert "王小明" not in text and "李秘密" not in text and "138" not in text
        for feature in answer["features"]:
            lon, lat = feature["geometry"]["coordinates"]
            assert lon == round(lon, 3) and lat == round(lat, 3), zoom  # never more precise than public
    street = get_map(client, zoom=16, layer="reports")
    assert {tuple(f["geometry"]["coordinates"]) for f in street["features"]} == {(123.589, 52.031), (123.9, 52.2)}
    unpublished = db.session.scalars(select(Report.tracking_code).where(Report.published.is_(False))).all()
    assert not {f["properties"]["code"] for f in street["features"]} & set(unpublished)
    accepted = get_map(client, zoom=16, layer="reports", status="accepted")
    assert [f["geometry"]["coordinates"] for f in accepted["features"]] == [[123.9, 52.2]]


@pytest.mark.parametrize("query", [
    {"zoom": "9"},
    {"bbox": BOX},
    {"bbox": "1,2,3", "zoom": "9"},
    {"bbox": "a,b,c,d", "zoom": "9"},
    {"bbox": "124,51,123,52", "zoom": "9"},
    {"bbox": "nan,51,123,52", "zoom": "9"},
    {"bbox": "0,-95,10,10", "zoom": "9"},
    {"bbox": BOX, "zoom": "20"},
    {"bbox": BOX, "zoom": "9.5"},
    {"bbox": BOX, "zoom": "-1"},
    {"bbox": BOX, "zoom": "9", "layer": "rivers"},
    {"bbox": BOX, "zoom": "9", "type": "volcano"},
    {"bbox": BOX, "zoom": "9", "town": "²"},
    {"bbox": BOX, "zoom": "9", "layer": "reports", "category": "volcano"},
    {"bbox": BOX, "zoom": "9", "layer": "reports", "town": "x"},
])
def test_bad_box_zoom_or_filter_is_a_json_400(client, query):
    response = client.get("/api/v1/map", query_string=query)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["description"]


def test_bad_zoom_is_explained_in_english_too(client):
    response = client.get("/api/v1/map?bbox=1,2,3,4&zoom=99&lang=en")
    assert "whole number from 0 to 19" in response.get_json()["errors"][0]["description"]


def test_unchanged_view_is_a_304_and_a_committed_change_changes_the_etag(client):
    seed(spread=20)
    first = client.get("/api/v1/map", query_string={"bbox": BOX, "zoom": 9})
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    again = client.get("/api/v1/map", query_string={"bbox": BOX, "zoom": 9}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    # A box a little different but inside the same cells is the same answer, with the same tag.
    nudged = client.get("/api/v1/map", query_string={"bbox": "122.9001,51.6001,124.2999,52.3999", "zoom": 9})
    assert nudged.headers["ETag"] == etag and nudged.get_json() == first.get_json()

    make_outfall("HZ-NEW01", longitude=123.5, latitude=52.0)
    commit_and_forget()
    changed = client.get("/api/v1/map", query_string={"bbox": BOX, "zoom": 9}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["total"] == 21


def test_box_is_widened_to_whole_cells_of_its_zoom():
    grid = map_grid.grid_for(DISTRICT, 9)
    assert grid.cell == map_grid.cell_size(9)
    assert grid.west <= DISTRICT[0] and grid.east >= DISTRICT[2]
    assert grid.south <= DISTRICT[1] and grid.north >= DISTRICT[3]
    assert grid.east - DISTRICT[2] < grid.cell and DISTRICT[0] - grid.west < grid.cell
    assert map_grid.grid_for(grid.box, 9) == grid  # a widened box stays as it is
