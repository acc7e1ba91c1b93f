"""Routing a report: town, water body, department and river chief on duty, each with its reason.

Most tests call the pure core on the demo's own geometry (``portal.demo``); the last ones
run ``route_report`` against the seeded database.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from shapely.geometry import Polygon

from factories import make_chief, make_outfall, make_town, make_water_body
from portal import create_app
from portal.config import ConfigError, Defaults
from portal.db import transaction
from portal.extensions import db
from portal.models import DutyShift, Outfall, RiverChief, Town, WaterBody
from portal import demo
from portal.routing import Area, Chief, OutfallFacts, Position, Shift, route, route_report

BEIJING = timezone(timedelta(hours=8))
CONFIG = {key: value for key, value in vars(Defaults).items() if key.isupper()}
# The demo towns and waters with ids in the demo's order: 呼中镇 1, 呼源镇 2, 碧水镇 3, 宏伟镇 4.
TOWNS = [Area(number, name, {"type": "Polygon", "coordinates": [ring]})
         for number, (name, _segment, ring) in enumerate(demo.TOWNS, start=1)]
TOWN_IDS = {town.name: town.id for town in TOWNS}
WATERS = [
    Area(number, name, {"type": "Polygon", "coordinates": [points]} if kind != "river" else
         {"type": "LineString", "coordinates": points}, kind)
    for number, (name, kind, _class, _telephone, points) in enumerate(demo.WATER_BODIES, start=1)
]
WATER_IDS = {water.name: water.id for water in WATERS}
AT = datetime(2026, 11, 29, 10, 0, tzinfo=BEIJING)
METRES_PER_DEGREE_LAT = 111_250  # near 52° N; good to 0.1 % for the offsets these tests make


# The seeded departments that handle reports (the migration's table), code → name.
DEPARTMENTS = {"eeb": "生态环境局", "housing": "住建局", "water": "水务局", "agriculture": "农业农村局",
               "natural_resources": "自然资源局", "transport": "交通局"}


def routed(point, *, outfall=None, shifts=(), town_chiefs=(), district_chiefs=(), at=AT, category="other",
           towns=TOWNS, departments=DEPARTMENTS, **config):
    """Route with the demo geometry and the default settings, overridden by ``config``."""
    return route(point, outfall=outfall, towns=towns, waters=WATERS, shifts=shifts, town_chiefs=town_chiefs,
                 district_chiefs=district_chiefs, config={**CONFIG, **config}, at=at, category=category,
                 departments=departments)


def offset(point: Position, *, east_m: float = 0, north_m: float = 0) -> Position:
    """A point moved by metres east and north (spherical approximation, independent of the code)."""
    return Position(point.lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(point.lat))),
                    point.lat + north_m / METRES_PER_DEGREE_LAT)


def metres_in(reason: str) -> float:
    """The distance a reason quotes, in metres."""
    number, unit = re.search(r"([\d.]+) (米|公里)", reason).groups()
    return float(number) * (1000 if unit == "公里" else 1)


# ── Town ─────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", [name for name, _segment, _ring in demo.TOWNS])
def test_a_point_inside_each_demo_town_goes_to_that_town(name):
    ring = next(ring for town, _segment, ring in demo.TOWNS if town == name)
    inside = Polygon(ring).representative_point()
    result = routed((inside.x, inside.y))
    assert (result.town_id, result.handler) == (TOWN_IDS[name], "town")
    assert result.reasons[0] == f"位置在{name}界内"


def test_the_district_seat_is_in_huzhong_town():
    assert routed(Position(lon=123.5888, lat=52.0306)).town_id == TOWN_IDS["呼中镇"]


def test_a_point_on_a_shared_boundary_goes_to_the_town_recorded_first_whatever_the_order_given():
    # The middle of the edge 呼中镇 and 呼源镇 share, (123.36, 52.00)–(123.34, 52.08).
    on_edge = Position(123.35, 52.04)
    result = routed(on_edge, towns=list(reversed(TOWNS)))
    assert result.town_id == TOWN_IDS["呼中镇"]
    assert result.reasons[0] == "位置在呼中镇、呼源镇的交界线上，按规则归最先登记的呼中镇"

    # Give 呼源镇 the lower id and the same point goes to it instead.
    renumbered = [Area(10 - town.id, town.name, town.geometry) for town in TOWNS]
    assert next(t.name for t in renumbered if t.id == routed(on_edge, towns=renumbered).town_id) == "呼源镇"


def test_a_point_a_few_metres_inside_a_town_is_not_on_its_boundary():
    renumbered = [Area(10 - town.id, town.name, town.geometry) for town in TOWNS]  # 呼源镇 id lower than 呼中镇
    inside_huzhong = offset(Position(123.35, 52.04), east_m=5)
    result = routed(inside_huzhong, towns=renumbered)
    assert next(t.name for t in renumbered if t.id == result.town_id) == "呼中镇"
    assert result.reasons[0] == "位置在呼中镇界内"


def test_a_point_outside_every_town_goes_to_the_nearest_within_the_configured_distance():
    # 2 km due west of 呼源镇's westernmost corner (122.85, 52.25).
    near = offset(Position(122.85, 52.25), east_m=-2000)
    result = routed(near)
    assert (result.town_id, result.handler) == (TOWN_IDS["呼源镇"], "town")
    assert result.reasons[0].startswith("位置不在任何镇界内，距最近的呼源镇 ")
    assert metres_in(result.reasons[0]) == pytest.approx(2000, abs=60)

    closer_limit = routed(near, ROUTING_NEAREST_TOWN_KM=1.5)
    assert (closer_limit.town_id, closer_limit.handler) == (None, "district")
    assert closer_limit.reasons[0] == "位置不在任何镇界内，1.5 公里内也没有镇，由区级统一受理"


def test_a_point_far_outside_every_town_goes_to_the_district():
    result = routed(offset(Position(122.85, 52.25), east_m=-20_000))
    assert (result.town_id, result.handler) == (None, "district")
    assert result.reasons[0] == "位置不在任何镇界内，5 公里内也没有镇，由区级统一受理"


def test_without_a_position_or_any_boundary_the_district_handles_the_report():
    assert routed(None).handler == "district"
    assert routed(None).reasons[:2] == ["举报未给出位置，由区级统一受理", "举报未给出位置，未确定河流"]
    no_boundaries = routed((123.5888, 52.0306), towns=[Area(1, "呼中镇", None)])
    assert (no_boundaries.town_id, no_boundaries.handler) == (None, "district")
    assert "尚未录入镇界" in no_boundaries.reasons[0]


# ── Water body ───────────────────────────────────────────────────────────────────────────────

# The middle of the 呼玛河's last stretch, (123.95, 52.08)–(124.12, 52.10), in 碧水镇, far from other waters.
HUMA_STRETCH = Position(124.035, 52.09)


def test_the_nearest_river_within_500_metres_is_the_reports():
    result = routed(offset(HUMA_STRETCH, north_m=300))
    assert result.water_body_id == WATER_IDS["呼玛河"]
    reason = result.reasons[1]
    assert reason.startswith("距呼玛河 ") and reason.endswith(" 米，归入该河")
    # 300 m north of a stretch running about 10.8° north of east: 300 × cos 10.8° ≈ 295 m across.
    assert metres_in(reason) == pytest.approx(295, abs=3)


def test_no_river_is_chosen_beyond_500_metres_or_the_configured_distance():
    beyond = routed(offset(HUMA_STRETCH, north_m=600))
    assert beyond.water_body_id is None
    assert beyond.reasons[1] == "500 米内没有登记的河流或水体，未确定河流"
    assert routed(offset(HUMA_STRETCH, north_m=600), ROUTING_RIVER_METRES=1000).water_body_id == WATER_IDS["呼玛河"]


def test_a_point_on_a_reservoir_is_the_reservoirs():
    result = routed(Position(123.665, 52.10))
    assert result.water_body_id == WATER_IDS["呼中水库"]
    assert result.reasons[1] == "位置在呼中水库上，归入该水库"


def test_the_chosen_outfalls_town_and_water_win_over_the_point():
    outfall = OutfallFacts("DEMO-BS-001", town_id=TOWN_IDS["碧水镇"], water_body_id=WATER_IDS["碧水河"],
                           outfall_type="municipal_wwtp", outfall_subtype="municipal_wwtp")
    # The point is in 呼中镇, right on the 呼玛河.
    result = routed(Position(123.5888, 52.035), outfall=outfall)
    assert (result.town_id, result.water_body_id) == (TOWN_IDS["碧水镇"], WATER_IDS["碧水河"])
    assert result.reasons[:2] == ["所选排污口 DEMO-BS-001 登记在碧水镇，由该镇办理",
                                  "所选排污口 DEMO-BS-001 排入碧水河，归入该河"]


def test_an_outfall_without_a_water_body_leaves_the_nearest_river_to_decide():
    outfall = OutfallFacts("X-1", town_id=None, water_body_id=None, outfall_type="other")
    result = routed(offset(HUMA_STRETCH, north_m=100), outfall=outfall)
    assert (result.town_id, result.water_body_id) == (TOWN_IDS["碧水镇"], WATER_IDS["呼玛河"])


# ── Department ───────────────────────────────────────────────────────────────────────────────

PORT = OutfallFacts("DEMO-HZ-013", TOWN_IDS["呼中镇"], WATER_IDS["呼玛河"], "other", "port")


@pytest.mark.parametrize(("category", "outfall", "department", "reason"), [
    ("dead_fish", PORT, "eeb", "按举报类型“死鱼”交由生态环境局"),
    ("direct_discharge", None, "eeb", "按举报类型“直排/偷排”交由生态环境局"),
    ("colour_smell", PORT, "transport", "排污口 DEMO-HZ-013 类型为“港口码头排口”，交由交通局"),
    ("signboard", OutfallFacts("W-1", None, None, "municipal_wwtp", "municipal_wwtp"), "housing",
     "排污口 W-1 类型为“城镇污水处理厂排污口”，交由住建局"),
    ("dry_weather", OutfallFacts("S-1", None, None, "other", "urban_stormwater"), "housing",
     "排污口 S-1 类型为“城镇雨洪排口”，交由住建局"),
    # No route for large livestock farms: their level-1 type, agricultural, decides.
    ("colour_smell", OutfallFacts("L-1", None, None, "agricultural", "livestock_large"), "agriculture",
     "排污口 L-1 类型为“农业排口”，交由农业农村局"),
    ("colour_smell", None, "eeb", "举报类型“颜色或气味异常”无专门分工，由生态环境局（默认）办理"),
    ("other", OutfallFacts("I-1", None, None, "industrial", "industrial_enterprise"), "eeb",
     "举报类型“其他”及所涉排污口类型无专门分工，由生态环境局（默认）办理"),
    ("colour_smell", OutfallFacts("G-1", None, None, "other", "irrigation"), "water",
     "排污口 G-1 类型为“大中型灌区排口”，交由水务局"),
])
def test_the_department_follows_report_type_then_outfall_type_then_default(category, outfall, department, reason):
    result = routed(HUMA_STRETCH, outfall=outfall, category=category)
    assert result.department == department
    assert result.reasons[2] == reason


def test_department_routes_are_configuration():
    routes = {"default": "water", "category:signboard": "transport"}
    assert routed(HUMA_STRETCH, category="signboard", DEPARTMENT_ROUTES=routes).department == "transport"
    assert routed(HUMA_STRETCH, outfall=PORT, DEPARTMENT_ROUTES=routes).department == "water"


def test_a_code_naming_no_handling_department_is_passed_over_and_said():
    routes = {"default": "eeb", "category:signboard": "finance"}  # 财政局 funds the work, handles no report
    result = routed(HUMA_STRETCH, category="signboard", DEPARTMENT_ROUTES=routes)
    assert result.department == "eeb"
    assert "分工表中的部门编码“finance”没有对应的承办部门，跳过" in result.reasons


def test_with_no_usable_department_the_choice_is_left_to_the_bureau():
    result = routed(HUMA_STRETCH, DEPARTMENT_ROUTES={"default": "gone"})
    assert result.department is None
    assert result.reasons[2:4] == ["分工表中的部门编码“gone”没有对应的承办部门，跳过", "没有可用的承办部门，待区生态环境局指定"]


def test_an_unknown_report_category_is_refused():
    with pytest.raises(ValueError, match="category"):
        routed(HUMA_STRETCH, category="noise")


def test_routing_settings_are_checked_at_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    base = {"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    with pytest.raises(ConfigError, match="category:dead_fsh"):
        create_app({**base, "DEPARTMENT_ROUTES": {"default": "生态环境局", "category:dead_fsh": "生态环境局"}})
    with pytest.raises(ConfigError, match="default"):
        create_app({**base, "DEPARTMENT_ROUTES": {"category:dead_fish": "生态环境局"}})
    with pytest.raises(ConfigError, match="ROUTING_RIVER_METRES"):
        create_app({**base, "ROUTING_RIVER_METRES": "500"})


# ── River chief on duty ──────────────────────────────────────────────────────────────────────

HUMA_IN_BISHUI = offset(HUMA_STRETCH, north_m=100)  # 碧水镇, 100 m from the 呼玛河
DAY = Shift(1, chief_id=11, chief_name="白班河长", water_body_id=WATER_IDS["呼玛河"],
            starts_at=datetime(2026, 11, 29, 8, tzinfo=BEIJING), ends_at=datetime(2026, 11, 29, 20, tzinfo=BEIJING))
NIGHT = Shift(2, chief_id=12, chief_name="夜班河长", water_body_id=WATER_IDS["呼玛河"],
              starts_at=datetime(2026, 11, 29, 20, tzinfo=BEIJING), ends_at=datetime(2026, 11, 30, 8, tzinfo=BEIJING))
TOWN_SHIFT = Shift(3, chief_id=13, chief_name="镇值班河长", town_id=TOWN_IDS["碧水镇"],
                   starts_at=datetime(2026, 11, 29, 0, tzinfo=BEIJING),
                   ends_at=datetime(2026, 11, 30, 0, tzinfo=BEIJING))
BISHUI_CHIEFS = [Chief(21, "郭建军", TOWN_IDS["碧水镇"], WATER_IDS["碧水河"], 4),
                 Chief(22, "韩玉梅", TOWN_IDS["碧水镇"], WATER_IDS["呼玛河"], 4),
                 Chief(23, "周志强", TOWN_IDS["呼中镇"], WATER_IDS["呼玛河"], 4)]
DISTRICT_CHIEFS = [Chief(31, "郑国栋", None, WATER_IDS["呼玛河"], 3), Chief(32, "马俊峰", None, WATER_IDS["碧水河"], 3)]


def test_the_chief_on_duty_changes_at_the_handover_minute():
    shifts = [NIGHT, DAY, TOWN_SHIFT]
    before = routed(HUMA_IN_BISHUI, shifts=shifts, at=datetime(2026, 11, 29, 19, 59, tzinfo=BEIJING))
    assert before.chief_id == 11
    assert before.reasons[3] == "呼玛河 11月29日 08:00–20:00 值班河长：白班河长"
    at_switch = routed(HUMA_IN_BISHUI, shifts=shifts, at=datetime(2026, 11, 29, 20, 0, tzinfo=BEIJING))
    assert at_switch.chief_id == 12
    # A shift ends at its end: at 20:00 the day shift alone leaves nobody on duty for the river.
    alone = routed(HUMA_IN_BISHUI, shifts=[DAY], at=datetime(2026, 11, 29, 20, 0, tzinfo=BEIJING))
    assert alone.chief_id is None
    after = routed(HUMA_IN_BISHUI, shifts=shifts, at=datetime(2026, 11, 29, 20, 1, tzinfo=BEIJING))
    assert after.chief_id == 12
    assert after.reasons[3] == "呼玛河 11月29日 20:00–11月30日 08:00 值班河长：夜班河长"
    # The same instants given in UTC route the same way.
    assert routed(HUMA_IN_BISHUI, shifts=shifts, at=datetime(2026, 11, 29, 11, 59, tzinfo=timezone.utc)).chief_id == 11


def test_the_towns_shift_covers_when_no_one_is_on_duty_for_the_river():
    result = routed(HUMA_IN_BISHUI, shifts=[DAY, TOWN_SHIFT], at=datetime(2026, 11, 29, 21, 0, tzinfo=BEIJING))
    assert result.chief_id == 13
    assert result.reasons[3] == "碧水镇 11月29日 00:00–11月30日 00:00 值班河长：镇值班河长"
    away_from_rivers = routed(offset(HUMA_STRETCH, north_m=-2000), shifts=[DAY, TOWN_SHIFT])
    assert (away_from_rivers.water_body_id, away_from_rivers.chief_id) == (None, 13)


def test_without_a_shift_the_towns_chief_for_the_river_then_the_district_chief_take_the_report():
    town_chief = routed(HUMA_IN_BISHUI, shifts=[DAY], town_chiefs=BISHUI_CHIEFS, district_chiefs=DISTRICT_CHIEFS,
                        at=datetime(2026, 11, 29, 21, 0, tzinfo=BEIJING))
    assert town_chief.chief_id == 22  # 碧水镇's chief for the 呼玛河, not the one for the 碧水河
    assert town_chief.reasons[3] == "此时呼玛河、碧水镇无人值班，转由碧水镇镇级河长韩玉梅（呼玛河）"

    no_town_chief = routed(HUMA_IN_BISHUI, town_chiefs=BISHUI_CHIEFS[2:], district_chiefs=DISTRICT_CHIEFS)
    assert no_town_chief.chief_id == 31
    assert no_town_chief.reasons[3] == ("此时呼玛河、碧水镇无人值班，碧水镇没有登记镇级河长，"
                                        "转由区级河长郑国栋（呼玛河）")

    district = routed(offset(Position(122.85, 52.25), east_m=-20_000), town_chiefs=BISHUI_CHIEFS,
                      district_chiefs=list(reversed(DISTRICT_CHIEFS)))
    assert (district.handler, district.chief_id) == ("district", 31)  # no river: the first recorded
    assert district.reasons[3] == "未确定河流和镇，无从查值班表，转由区级河长郑国栋"

    nobody = routed(HUMA_IN_BISHUI)
    assert nobody.chief_id is None
    assert nobody.reasons[3].endswith("也没有登记区级河长，需人工指定河长")


# ── From the database ────────────────────────────────────────────────────────────────────────


@pytest.fixture
def seeded(app):
    """The demo registry (towns, rivers, chiefs, outfalls) in the database."""
    with transaction():
        demo.seed()


@pytest.fixture
def statements(app):
    """The SQL statements run on the database while the test lasts."""
    collected = []

    def collect(_conn, _cursor, statement, *_args):
        collected.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", collect)
    yield collected
    sa.event.remove(db.engine, "before_cursor_execute", collect)


def test_route_report_uses_the_database_in_four_queries(seeded, statements):
    huma = db.session.scalar(sa.select(WaterBody).where(WaterBody.name == "呼玛河"))
    bishui = db.session.scalar(sa.select(Town).where(Town.name == "碧水镇"))
    chief = db.session.scalar(sa.select(RiverChief).where(RiverChief.name == "郭建军（演示）"))
    db.session.add(DutyShift(chief=chief, water_body=huma, starts_at=DAY.starts_at, ends_at=DAY.ends_at))
    db.session.commit()

    statements.clear()
    result = route_report(HUMA_IN_BISHUI.lat, HUMA_IN_BISHUI.lon, category="dead_fish", at=AT)
    assert len(statements) == 5
    assert (result.town_id, result.water_body_id, result.chief_id) == (bishui.id, huma.id, chief.id)
    assert result.department == "eeb"
    assert result.reasons == [
        "位置在碧水镇界内", f"距呼玛河 {metres_in(result.reasons[1]):g} 米，归入该河", "按举报类型“死鱼”交由生态环境局",
        "呼玛河 11月29日 08:00–20:00 值班河长：郭建军（演示）",
    ]

    later = route_report(HUMA_IN_BISHUI.lat, HUMA_IN_BISHUI.lon, at=DAY.ends_at)
    assert later.chief_id != chief.id  # off duty at 20:00: the town's chief for the 呼玛河 takes over
    assert db.session.get(RiverChief, later.chief_id).name == "韩玉梅（演示）"


def test_route_report_about_a_demo_outfall_uses_its_town_water_and_type(seeded):
    outfall = db.session.scalar(sa.select(Outfall).where(Outfall.outfall_subtype == "port",
                                                         Outfall.code.like("DEMO-BS-%")))
    result = route_report(None, None, outfall=outfall, category="colour_smell", at=AT)
    assert (result.town_id, result.water_body_id) == (outfall.town_id, outfall.water_body_id)
    assert result.department == "transport"
    # Nobody on duty: 碧水镇's town-level chief for the 呼玛河, the water the outfall discharges into.
    assert db.session.get(RiverChief, result.chief_id).name == "韩玉梅（演示）"


def test_route_report_without_places_falls_back_to_the_district(app):
    town = make_town("呼中镇")
    make_chief("区总河长", level="district", water_body=make_water_body("呼玛河"))
    make_outfall(town=town)
    db.session.commit()
    result = route_report(52.03, 123.59, at=AT)
    assert (result.town_id, result.handler) == (None, "district")
    assert db.session.get(RiverChief, result.chief_id).name == "区总河长"
    with pytest.raises(ValueError):
        route_report(52.03, None)
    with pytest.raises(ValueError):
        route_report(123.59, 52.03)  # latitude and longitude swapped
