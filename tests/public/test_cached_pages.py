"""The public registry pages are served from the page cache: a second anonymous visit costs one look
at the data versions, and a committed change shows on the very next visit (/progress and the map:
within a minute)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from factories import make_chief, make_outfall, make_town, make_water_body
from helpers import commit_and_forget, counted_statements
from sqlalchemy import select, update

from portal.calendar import today
from portal.extensions import db
from portal.models import MonitoringSection, Outfall, Town, WaterBody


@pytest.fixture
def registry(app):
    huzhong = make_town("呼中镇")
    huma = make_water_body("呼玛河")
    make_chief("王河长", water_body=huma, town=huzhong)
    outfall = make_outfall("PC-001", name="缓存测试排污口", town=huzhong, water_body=huma,
                           plan={"status": "in_progress", "deadline": today() - timedelta(days=3)})
    db.session.add(MonitoringSection(code="DM-PC-01", name="缓存测试断面", level="district", water_body=huma,
                                     longitude=123.6, latitude=52.0, outfall=outfall, position="downstream"))
    commit_and_forget()
    return {"town": db.session.scalar(select(Town.id)), "water": db.session.scalar(select(WaterBody.id))}


def pages(ids):
    return ["/", "/outfalls", "/outfalls?town=%d" % ids["town"], "/outfalls/PC-001", "/data", "/rivers",
            "/rivers/%d" % ids["water"], "/sections", "/sections/DM-PC-01", "/parties",
            "/outfalls/PC-001/sign", "/towns/%d/signs" % ids["town"]]


def test_a_second_anonymous_visit_is_served_from_the_cache(client, registry):
    missed = []
    for path in [*pages(registry), "/progress"]:
        first = client.get(path)
        assert first.status_code == 200, path
        with counted_statements() as statements:
            second = client.get(path)

        assert second.status_code == 200, path
        assert second.get_data() == first.get_data(), path
        if not (len(statements) == 1 and "data_version" in statements[0]):
            missed.append(path)

    assert missed == []


def test_a_committed_change_shows_on_the_next_visit(client, registry):
    for path in pages(registry):
        assert client.get(path).status_code == 200, path
    db.session.execute(update(Outfall).values(name="改名后的排污口"))
    db.session.commit()

    for path in ("/outfalls", "/outfalls?town=%d" % registry["town"], "/outfalls/PC-001",
                 "/rivers/%d" % registry["water"], "/outfalls/PC-001/sign", "/towns/%d/signs" % registry["town"]):
        assert "改名后的排污口" in client.get(path).get_data(as_text=True), path


def test_progress_and_the_map_are_recounted_at_most_once_a_minute(app, client, registry, monkeypatch):
    app.config["PAGE_CACHE_STALE_SECONDS"] = 60
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    for path in ("/progress", "/"):
        assert "呼中镇" in client.get(path).get_data(as_text=True)
    db.session.execute(update(Town).values(name="新名镇"))
    db.session.commit()

    clock[0] += 30
    for path in ("/progress", "/"):
        assert "新名镇" not in client.get(path).get_data(as_text=True), path  # half a minute old at most
    clock[0] += 31
    for path in ("/progress", "/"):
        assert "新名镇" in client.get(path).get_data(as_text=True), path


def test_each_language_has_its_own_page(app, client, registry):
    chinese = client.get("/outfalls").get_data(as_text=True)
    english = app.test_client().get("/outfalls?lang=en").get_data(as_text=True)

    assert 'lang="en"' in english and 'lang="zh-Hans"' in chinese
    assert app.test_client().get("/outfalls").get_data(as_text=True) == chinese


def test_a_visitor_with_a_session_gets_the_page_rendered_for_them(app, client, registry):
    client.get("/outfalls")
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], "anything", domain="portal.test")
    with counted_statements() as statements:
        assert client.get("/outfalls").status_code == 200

    assert len(statements) > 1
