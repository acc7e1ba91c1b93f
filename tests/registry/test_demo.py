"""The demo data: a full, consistent, clearly invented registry that a second run leaves alone."""
import json
from datetime import date

from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import delete, func, select

from portal import calendar
from portal.extensions import db
from portal.models import (
    DischargeStandard,
    MonitoringSample,
    Outfall,
    OutfallEvent,
    RectificationPlan,
    ResponsibleParty,
    RiverChief,
    StandardisationItem,
    StandardLimit,
    Town,
    WaterBody,
)
from portal import demo
from portal.registry import stages, vocabulary
from committing import seed_demo

# The standards' limits and the departments ship with the migrations and are not demo data.
REFERENCE_TABLES = {"department", "discharge_standard", "standard_limit"}


@pytest.fixture
def seeded(app, runner):
    """The registry after `portal seed-demo`, with the command's output."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def outfalls():
    """All outfalls as committed (rolling back anything left uncommitted)."""
    db.session.rollback()
    return db.session.scalars(select(Outfall).order_by(Outfall.code)).all()


def snapshot():
    """Every row of every non-reference table, to compare the database before and after."""
    with db.engine.connect() as conn:
        return {
            table.name: conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            for table in db.metadata.sorted_tables if table.name not in REFERENCE_TABLES
        }


def test_seed_reports_what_it_added(seeded):
    assert "已填入演示数据" in seeded
    assert "镇 4" in seeded and "排污口 60" in seeded
    assert db.session.scalar(select(func.count(Town.id))) == 4
    assert db.session.scalar(select(func.count(WaterBody.id))) >= 6


def test_seed_covers_every_type_subtype_measure_status_and_stage(seeded):
    rows = outfalls()
    assert {o.outfall_type for o in rows} == set(vocabulary.OUTFALL_TYPES.codes())
    assert {o.outfall_subtype for o in rows} == set(vocabulary.OUTFALL_SUBTYPES.codes())
    assert {o.plan.measure for o in rows} == set(vocabulary.MEASURES.codes())
    assert {o.plan.status for o in rows} == set(vocabulary.PLAN_STATUSES.codes())
    assert {o.stage for o in rows} == set(vocabulary.STAGES.codes())
    for o in rows:
        assert vocabulary.OUTFALL_SUBTYPES.get(o.outfall_subtype).parent == o.outfall_type


def test_outfalls_are_spread_over_the_four_towns_and_their_rivers(seeded):
    rows = outfalls()
    assert {o.town.name for o in rows} == {"呼中镇", "呼源镇", "碧水镇", "宏伟镇"}
    assert {"呼玛河", "呼玛河支流", "碧水河", "小白河", "岭峰河"} <= {o.water_body.name for o in rows}
    assert any(o.water_body.kind == "reservoir" for o in rows)
    assert any(o.responsible_party.is_person for o in rows)
    assert any(not o.responsible_party.is_person for o in rows)
    assert all(o.supervising_leader for o in rows)
    # A party's telephone only once the party is traced (outfalls just found or sampled have none yet).
    assert all(o.party_telephone for o in rows if o.responsible_party)
    assert any(o.responsible_party is None for o in rows)
    assert any(o.national_code for o in rows) and any(not o.national_code for o in rows)


def test_unfinished_plans_include_overdue_and_on_time_ones(seeded):
    on = calendar.today()
    unfinished = [o.plan for o in outfalls() if not o.plan.is_done]
    overdue = [p for p in unfinished if p.is_overdue(on)]
    on_time = [p for p in unfinished if p.deadline and not p.is_overdue(on)]
    assert overdue and on_time
    # A transition period keeps a plan whose deadline has passed from being overdue, until it ends.
    assert any(p.transition_ends_on and p.deadline < on <= p.transition_ends_on for p in on_time)
    assert any(p.transition_ends_on and p.transition_ends_on < on for p in overdue)


def test_plans_stages_and_dates_agree_with_each_other(seeded):
    on = calendar.today()
    rows = outfalls()
    codes = {o.code for o in rows}
    for o in rows:
        plan = o.plan
        assert date(2022, 1, 1) <= o.found_on <= min(on, date(2026, 12, 31))
        if plan.status in ("completed", "closed"):
            assert o.found_on < plan.completed_on < on
        else:
            assert plan.completed_on is None
        assert (plan.verified_on is not None) == (plan.status == "closed")
        if plan.verified_on:
            assert plan.completed_on <= plan.verified_on < on
        # The stage is the data's, by the one rule (portal.registry.stages).
        assert o.stage == stages.derive_stage(o)
        if o.stage == "standardisation":
            assert plan.measure == "keep" or plan.status == "closed"
        if plan.merged_into:
            assert plan.measure == "merge" and plan.merged_into.code in codes
    assert sum(1 for o in rows if o.plan.merged_into) >= 3


def test_every_outfall_has_a_history_and_a_full_checklist(seeded):
    for o in outfalls():
        kinds = [e.kind for e in sorted(o.events, key=lambda e: e.occurred_at)]
        assert kinds[0] == "created" and kinds.count("created") == 1
        assert all(e.source == "演示数据" for e in o.events)
        status_changes = [(e.old_value, e.new_value) for e in o.events if e.field == "status"]
        if o.plan.status == "closed":
            assert ("completed", "closed") in status_changes
        for e in o.events:
            if e.field == "status":
                assert {e.old_value, e.new_value} <= set(vocabulary.PLAN_STATUSES.codes())
        assert sorted(i.item for i in o.checklist) == sorted(vocabulary.CHECKLIST_ITEMS.codes())
        assert all(i.done == (i.done_on is not None) for i in o.checklist)
    assert db.session.scalar(select(func.count(StandardisationItem.id)).where(StandardisationItem.done)) > 0
    assert db.session.scalar(select(func.count(OutfallEvent.id)).where(OutfallEvent.kind == "changed")) > 60


def test_samples_are_judged_by_the_limit_that_applies(seeded):
    """Effluent by the discharge standard of its source or by its permit (DOMAIN.md §6), never by the
    river's GB 3838 class; the cold-water NH3-N limit by the water temperature taken with the sample."""
    # Effluent only: the demo's sections (GB 3838, by design) are tested in tests/public/test_section_pages.py.
    samples = db.session.scalars(select(MonitoringSample).where(MonitoringSample.outfall_id.is_not(None))).all()
    assert any(s.exceeds_limit for s in samples)
    assert any(s.exceeds_limit is False for s in samples)
    assert any(s.limit is None for s in samples)  # shown as "no limit", never as compliant
    zone = ZoneInfo("Asia/Shanghai")
    for s in samples:
        if s.limit is None:
            continue
        outfall, standard = s.outfall, s.limit.standard
        assert standard.kind != "surface_water", (outfall.code, s.parameter)
        assert s.limit.parameter == s.parameter
        if outfall.outfall_subtype == "municipal_wwtp":
            assert standard.label == "GB 18918-2002 一级A"
            if s.parameter == "NH3-N":
                cold = s.sampled_at.astimezone(zone).month in (11, 12, 1, 2, 3, 4)
                assert s.limit.condition == ("水温≤12℃" if cold else "")
        elif outfall.outfall_subtype in ("industrial_enterprise", "park_wwtp"):
            # The demo's rivers are class II or III: grade 一级, or the permit's stricter limit.
            assert standard.label == "GB 8978-1996 一级" or (standard.kind == "permit" and standard.outfall is outfall)
        elif outfall.outfall_subtype == "livestock_large":
            assert standard.label == "GB 18596-2001 "
        else:
            raise AssertionError(f"{outfall.code} ({outfall.outfall_subtype}) has no standard by rule")
    monitored = {s.outfall_id for s in samples}
    plant = next(o for o in outfalls() if o.outfall_subtype == "municipal_wwtp" and o.id in monitored)
    assert {"COD", "NH3-N", "TP", "BOD5", "TN", "水温"} <= {s.parameter for s in plant.samples}
    assert {s.limit.condition for s in plant.samples if s.parameter == "NH3-N"} == {"", "水温≤12℃"}
    # Industrial effluent is sampled for what GB 8978 limits: no CODMn or DO, which judge rivers.
    factory = next(o for o in outfalls() if o.outfall_subtype == "industrial_enterprise" and o.id in monitored)
    assert {s.parameter for s in factory.samples} <= {"COD", "BOD5", "SS", "NH3-N", "TP", "pH"}


def test_one_industrial_outfall_holds_a_permit_that_takes_precedence(seeded):
    holders = [o for o in outfalls() if o.permits]
    assert len(holders) == 1 and holders[0].outfall_type == "industrial"
    holder, permit = holders[0], holders[0].permits[0]
    assert permit.kind == "permit" and permit.code.startswith("DEMO-")
    zone = ZoneInfo("Asia/Shanghai")
    valid = [s for s in holder.samples if permit.valid_from <= s.sampled_at.astimezone(zone).date() <= permit.valid_until]
    assert valid
    for s in valid:
        expected = "permit" if s.parameter in {"COD", "NH3-N"} else "effluent"
        assert s.limit.standard.kind == expected, s.parameter
    assert {s.limit.standard.label for s in valid if s.parameter == "BOD5"} == {"GB 8978-1996 一级"}


def test_every_seeded_row_says_it_is_demo(seeded):
    for town in db.session.scalars(select(Town)):
        assert town.is_demo and "演示" in town.boundary_source
    assert all(w.is_demo for w in db.session.scalars(select(WaterBody)))
    for chief in db.session.scalars(select(RiverChief)):
        assert chief.is_demo and chief.name.endswith("（演示）")
    for o in outfalls():
        assert o.is_demo and o.code.startswith("DEMO-") and o.name.endswith("（演示）")
    assert all(s.is_demo for s in db.session.scalars(select(MonitoringSample)))
    for party in db.session.scalars(select(ResponsibleParty)):
        assert party.is_demo and party.public_name.endswith("（演示）")


def test_river_chiefs_sit_on_rivers_and_towns_at_three_levels(seeded):
    chiefs = db.session.scalars(select(RiverChief)).all()
    assert {c.level for c in chiefs} == {"district", "town", "village"}
    ranks = {"district": 3, "town": 4, "village": 5}
    for c in chiefs:
        assert c.level_rank == ranks[c.level] and c.water_body and c.telephone and c.duties and c.title
        assert (c.town is None) == (c.level == "district")
    assert {c.town.name for c in chiefs if c.town} == {"呼中镇", "呼源镇", "碧水镇", "宏伟镇"}


def test_towns_and_rivers_are_drawable_and_outfalls_lie_in_their_town(seeded):
    towns = {t.name: shape(t.boundary_geometry) for t in db.session.scalars(select(Town))}
    assert all(area.is_valid and len(area.exterior.coords) >= 6 for area in towns.values())
    names = list(towns)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert towns[a].intersection(towns[b]).area == 0, (a, b)
    for name, lat, lon in [("呼中镇", 52.0306, 123.5888), ("呼源镇", 52.27, 123.10),
                           ("碧水镇", 52.03, 123.86), ("宏伟镇", 51.93, 123.40)]:
        assert towns[name].contains(Point(lon, lat)), name
    for o in outfalls():
        assert towns[o.town.name].contains(Point(o.longitude, o.latitude)), o.code
    for water in db.session.scalars(select(WaterBody)):
        assert json.loads(water.geometry)["type"] == ("LineString" if water.kind == "river" else "Polygon")
        assert water.supervision_telephone.startswith("0457-")


def test_running_seed_twice_changes_nothing(seeded, runner):
    before = snapshot()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "演示数据已存在，未作更改" in result.output
    assert demo.seed() is None
    assert snapshot() == before


def test_seed_is_deterministic(app):
    def story():
        """What a visitor sees of each outfall, without database ids."""
        return [
            (o.code, o.name, o.longitude, o.latitude, o.found_on, o.stage, o.plan.status, o.plan.deadline,
             sorted((s.sampled_at, s.parameter, s.value) for s in o.samples))
            for o in outfalls()
        ]

    seed_demo()
    first = story()
    with db.engine.begin() as conn:
        # The demo permit is a standard of its outfall's: it and its limits go with the demo.
        permits = select(DischargeStandard.id).where(DischargeStandard.kind == "permit")
        conn.execute(delete(StandardLimit).where(StandardLimit.standard_id.in_(permits)))
        conn.execute(delete(DischargeStandard).where(DischargeStandard.kind == "permit"))
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                conn.execute(table.delete())
    db.session.expire_all()
    assert seed_demo() is not None
    assert story() == first


def test_seed_reuses_an_imported_town_without_touching_its_boundary(app, runner, tmp_path):
    real = {"type": "Polygon", "coordinates": [[[123.50, 51.99], [123.70, 51.99], [123.70, 52.09],
                                                  [123.50, 52.09], [123.50, 51.99]]]}
    path = tmp_path / "real-towns.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "呼中镇", "code": "232764100"}, "geometry": real},
    ]}), encoding="utf-8")
    assert runner.invoke(args=["import-areas", str(path)]).exit_code == 0
    imported = db.session.scalars(select(Town).where(Town.name == "呼中镇")).one().boundary

    result = runner.invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    assert "镇 3" in result.output
    db.session.expire_all()
    town = db.session.scalars(select(Town).where(Town.name == "呼中镇")).one()
    assert (town.boundary, town.boundary_source, town.code, town.is_demo) == (
        imported, "real-towns.geojson", "232764100", False)
    in_town = [o for o in outfalls() if o.town_id == town.id]
    assert len(in_town) > 10
    assert all(shape(real).contains(Point(o.longitude, o.latitude)) for o in in_town)
    assert db.session.scalar(select(func.count(Town.id))) == 4


def test_seed_refuses_a_registry_that_holds_real_outfalls(app):
    town = Town(name="呼中镇")
    db.session.add(Outfall(code="HZ-2025-001", name="真实排污口", town=town, outfall_type="other"))
    db.session.commit()
    before = snapshot()
    with pytest.raises(demo.DemoRefused, match="已有 1 个真实排污口"):
        demo.seed()
    assert snapshot() == before


def test_plans_name_their_party_and_persons_are_masked_in_public(seeded):
    plans = db.session.scalars(select(RectificationPlan)).all()
    assert len(plans) == 60
    assert all(p.responsible_party_id == p.outfall.responsible_party_id for p in plans
               if p.outfall.responsible_party_id is not None)
    persons = {p.responsible_party.public_name for p in plans if p.responsible_party.is_person}
    assert persons and all("*" in name for name in persons)
