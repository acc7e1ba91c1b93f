"""The outfall filter shared by the list, the map, the downloads and /progress."""
from __future__ import annotations

from datetime import timedelta

import pytest
from factories import make_outfall, make_party, make_person, make_town, make_water_body
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.registry.filters import OutfallFilter
from portal.calendar import today
from portal.registry.queries import outfall_page


def codes(args=None, sort="code"):
    """The codes the list shows for these URL parameters, in order."""
    outfall_filter = OutfallFilter.from_args(MultiDict(args or {}))
    return [o.code for o in outfall_page(outfall_filter, sort=sort, per_page=1000).items]


@pytest.fixture
def registry(app):
    """Five outfalls that differ in town, water, type, measure, status and deadline."""
    now = today()
    bishui, huyuan = make_town("碧水镇"), make_town("呼源镇")
    river, lake = make_water_body("碧水河"), make_water_body("呼中水库", kind="reservoir")
    make_outfall("A-1", town=bishui, water_body=river, outfall_type="industrial", name="木材厂排口",
                 party=make_party("宏伟木材加工厂"),
                 plan={"measure": "ban", "status": "in_progress", "deadline": now - timedelta(days=3)})
    make_outfall("A-2", town=bishui, water_body=lake, outfall_type="agricultural",
                 plan={"measure": "merge", "status": "not_started", "deadline": now + timedelta(days=30)})
    make_outfall("A-3", town=huyuan, water_body=river, outfall_type="agricultural", party=make_person("王立新"),
                 plan={"measure": "standardise", "status": "completed", "deadline": now - timedelta(days=90)})
    make_outfall("A-4", town=huyuan, water_body=lake, outfall_type="other",
                 plan={"measure": "standardise", "status": "in_progress", "deadline": now - timedelta(days=10),
                       "transition_ends_on": now + timedelta(days=60)})
    make_outfall("A-5", town=huyuan, water_body=river, outfall_type="municipal_wwtp", plan=None,
                 longitude=123.1, latitude=52.27)
    db.session.commit()
    return {"bishui": bishui.id, "huyuan": huyuan.id, "river": river.id, "lake": lake.id}


def test_each_filter(registry):
    assert codes({"town": registry["bishui"]}) == ["A-1", "A-2"]
    assert codes({"water": registry["lake"]}) == ["A-2", "A-4"]
    assert codes({"type": "agricultural"}) == ["A-2", "A-3"]
    assert codes({"measure": "standardise"}) == ["A-3", "A-4"]
    assert codes({"status": "in_progress"}) == ["A-1", "A-4"]
    # A-4 is past its deadline but inside its transition period; A-3 is done: neither is overdue.
    assert codes({"overdue": "1"}) == ["A-1"]
    assert codes({"q": "木材"}) == ["A-1"]
    assert codes({"bbox": "123.0,52.2,123.2,52.3"}) == ["A-5"]


def test_filters_combine_and_repeat(registry):
    assert codes(MultiDict([("type", "agricultural"), ("type", "other")])) == ["A-2", "A-3", "A-4"]
    assert codes({"town": registry["huyuan"], "measure": "standardise", "status": "completed"}) == ["A-3"]


def test_a_person_is_not_found_by_name(registry):
    assert codes({"q": "王立新"}) == []


def test_unreadable_values_are_dropped_and_noted(registry):
    outfall_filter = OutfallFilter.from_args(MultiDict({"type": "factory", "town": "abc", "bbox": "1,2"}))
    assert outfall_filter.is_empty
    assert len(outfall_filter.problems) == 3


def test_filter_round_trips_through_url_parameters(registry):
    args = MultiDict([("q", "排口"), ("type", "industrial"), ("type", "other"), ("town", "3"), ("overdue", "1"),
                      ("bbox", "123,52,124,53")])
    outfall_filter = OutfallFilter.from_args(args)
    again = OutfallFilter.from_args(MultiDict([(k, v) for k, vs in outfall_filter.to_args().items()
                                               for v in (vs if isinstance(vs, list) else [vs])]))
    assert again == outfall_filter


def test_sorting(registry):
    # The due date is the end of the transition period where one was granted.
    assert codes(sort="deadline") == ["A-3", "A-1", "A-2", "A-4", "A-5"]
    assert codes(sort="-deadline") == ["A-4", "A-2", "A-1", "A-3", "A-5"]
    assert codes(sort="status") == ["A-2", "A-1", "A-4", "A-3", "A-5"]
    assert codes(sort="name")[0] == "A-1"


def test_list_page_filters_by_url_and_keeps_filters_across_pages(app, client, registry):
    app.config["OUTFALLS_PER_PAGE"] = 1
    response = client.get("/outfalls", query_string={"town": registry["huyuan"], "sort": "-deadline"})
    html = response.get_data(as_text=True)
    assert "符合条件的排污口共 3 个" in html
    assert f"town={registry['huyuan']}" in html and "sort=-deadline" in html and "page=2" in html
    assert f'<option value="{registry["huyuan"]}" selected>' in html


@pytest.mark.parametrize("raw", ["²", "١", "-1", "0", "9223372036854775808", "99999999999999999999", " 1", "1e3", "\x00"])
def test_an_id_is_only_ascii_digits_within_64_bits(raw):
    outfall_filter = OutfallFilter.from_args(MultiDict({"town": raw}))
    assert outfall_filter.towns == () and outfall_filter.problems


@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "-inf,-90,inf,90", "1e999,0,1e999,1", "0,0,1", "a,b,c,d"])
def test_a_bbox_must_be_four_finite_numbers_in_range(bbox):
    outfall_filter = OutfallFilter.from_args(MultiDict({"bbox": bbox}))
    assert outfall_filter.bbox is None and outfall_filter.problems[0].startswith("bbox=")


def test_control_characters_never_reach_a_search(registry):
    assert OutfallFilter.from_args(MultiDict({"q": "\x00HZ\r\n-1\x7f"})).search == "HZ -1"
    assert codes({"q": "HZ\x00"}) == codes({"q": "HZ"})


@pytest.mark.parametrize(("raw", "page"), [(None, 1), ("", 1), ("3", 3), ("0", 1), ("-2", 1), ("²", 1),
                                           ("99999999999999999999", 100000)])
def test_page_numbers_are_clamped(raw, page):
    from portal.registry.filters import page_number

    assert page_number(raw) == page
