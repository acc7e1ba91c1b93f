"""Data endpoints carry ETag and Last-Modified from the data versions and answer a reader who already
holds the current data with 304, before reading a single row."""
from __future__ import annotations

import pytest
from factories import make_outfall, make_water_body
from helpers import commit_and_forget, counted_statements
from sqlalchemy import update

from portal.extensions import db
from portal.models import MonitoringSection, Outfall

ENDPOINTS = [
    "/api/v1/outfalls.geojson", "/api/v1/outfalls.geojson?town=1", "/api/v1/outfalls.csv",
    "/api/v1/outfalls.xlsx", "/api/v1/monitoring.csv", "/api/v1/monitoring.xlsx", "/api/v1/sections.geojson",
    "/api/v1/sections.csv", "/api/v1/parties.csv", "/api/v1/towns.geojson", "/api/v1/waters.geojson",
    "/feed.atom",
]


@pytest.fixture
def registry(app):
    huma = make_water_body("呼玛河")
    make_outfall("CR-001", name="条件请求排污口", water_body=huma, longitude=123.6, latitude=52.0)
    db.session.add(MonitoringSection(code="DM-CR-01", name="条件请求断面", level="district", water_body=huma,
                                     longitude=123.61, latitude=52.01))
    commit_and_forget()


def fetch(client, path, **headers):
    response = client.get(path, headers=headers)
    response.get_data()
    response.close()
    return response


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_matching_etag_gets_304_without_the_body_being_computed(client, registry, path):
    first = fetch(client, path)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Last-Modified"]

    with counted_statements() as statements:
        again = fetch(client, path, **{"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert len(statements) == 1 and "data_version" in statements[0], statements


@pytest.mark.parametrize("path", ENDPOINTS)
def test_if_modified_since_the_last_change_gets_304(client, registry, path):
    first = fetch(client, path)

    assert fetch(client, path, **{"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    assert fetch(client, path, **{"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/outfalls.csv", "/api/v1/outfalls.geojson", "/feed.atom"])
def test_a_committed_change_makes_the_old_etag_stale(client, registry, path):
    etag = fetch(client, path).headers["ETag"]
    db.session.execute(update(Outfall).values(name="改名后的排污口"))
    db.session.commit()

    response = fetch(client, path, **{"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    if "feed" not in path:
        assert "改名后的排污口" in response.get_data(as_text=True)


def test_the_etag_differs_by_parameters_and_language_and_not_by_their_order(app, client, registry):
    def etag(path):
        return fetch(app.test_client(), path).headers["ETag"]

    assert etag("/api/v1/outfalls.csv?type=other&stage=survey") == etag("/api/v1/outfalls.csv?stage=survey&type=other")
    assert etag("/api/v1/outfalls.csv?type=other") != etag("/api/v1/outfalls.csv")
    assert etag("/api/v1/outfalls.geojson?lang=en") != etag("/api/v1/outfalls.geojson")


def test_a_compressed_answers_etag_is_recognised(client, registry):
    first = fetch(client, "/api/v1/outfalls.geojson", **{"Accept-Encoding": "gzip"})
    assert first.headers.get("Content-Encoding") == "gzip"

    again = fetch(client, "/api/v1/outfalls.geojson",
                  **{"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_refused_filter_carries_no_validator(client, registry):
    response = fetch(client, "/api/v1/outfalls.csv?type=nonsense")

    assert response.status_code == 400 and "ETag" not in response.headers
