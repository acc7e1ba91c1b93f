"""Hostile bytes and numbers in every public address: a clear message or a 404, never a server error.

A parametrised fuzz over every public GET route (from the app's own URL map, so a new route is
covered without editing this file) × hostile values in its path and in every parameter the site reads.
"""
from __future__ import annotations

import re

import pytest
from factories import make_outfall, make_town, make_water_body
from helpers import commit_and_forget

from portal import create_app

# Raw, already percent-encoded: NUL, a superscript two (int() accepts it, SQL does not), numbers past
# PostgreSQL's 32-bit INTEGER ids and past 64 bits, infinities and NaN, a very long text, a byte that is not UTF-8, CR/LF, a negative.
HOSTILE = ["%00", "AB%00C", "%C2%B2", "3000000000", "99999999999999999999", "9223372036854775808", "-9223372036854775809",
           "1e999", "-1e999", "nan", "inf", "x" * 5000, "%ff", "%ff%fe", "%0d%0aSet-Cookie:x=y", "-1", "0",
           "%E2%80%AE", "1,2,3,4", "nan,nan,nan,nan", "-180,-90,1e999,90", "%20"]
PARAMETERS = ["q", "town", "water", "type", "measure", "status", "stage", "overdue", "bbox", "page", "sort",
              "lang", "lat", "lon", "next", "code", "outfall", "thumb", "radius"]
RAW_VARIABLE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _public_get_rules():
    """Every GET route of the portal, with the names of its path variables."""
    import os
    import tempfile

    os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp())
    app = create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
    return sorted(rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods)


RULES = _public_get_rules()


def _paths(rule: str, value: str) -> list[str]:
    """The route with every path variable set to the hostile value, and each alone (others sound)."""
    sound = {"code": "HZ-P01", "town_id": "1", "water_body_id": "1", "photo_id": "1", "secret": "s" * 20,
             "package": "leaflet", "filename": "leaflet.js", "storage_key": "HZ-P01/a.png",
             "document_id": "1"}
    names = RAW_VARIABLE.findall(rule)
    paths = [RAW_VARIABLE.sub(lambda _m: value, rule)]
    for name in names:
        paths.append(RAW_VARIABLE.sub(lambda m, name=name: value if m.group(1) == name else sound[m.group(1)], rule))
    return paths if names else [rule]


@pytest.fixture
def registry(app):
    """A little registry, so that pages have rows to draw while reading hostile parameters."""
    town = make_town("Test Town")
    water = make_water_body("Test River")
    make_outfall("HZ-P01", name="Test Outfall", town=town, water_body=water, longitude=123.5, latitude=52.0)
    commit_and_forget()


@pytest.mark.parametrize("rule", RULES)
def test_hostile_values_never_cause_a_server_error(app, client, registry, rule):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # collect every failure, answered as a server would
    failures = []
    for value in HOSTILE:
        together = "&".join(f"{name}={value}" for name in PARAMETERS)
        # Each parameter alone too (one refused parameter must not hide a fault in another), on the
        # routes that read parameters: those without path variables.
        alone = [] if "<" in rule else [f"{name}={value}" for name in PARAMETERS]
        for path in _paths(rule, value):
            for query in [together, *alone]:
                response = client.get(f"{path}?{query}")
                body = response.get_data()
                response.close()
                if response.status_code >= 500 or b"Traceback" in body:
                    failures.append((response.status_code, f"{path[:80]}?{query[:80]}"))
                elif response.status_code >= 400 and response.mimetype == "text/html":
                    assert b'class="site-header"' in body or b"<main>" in body, (path, query, body[:200])
    assert not failures, failures[:10]


@pytest.mark.parametrize("rule", [r for r in RULES if "<" not in r])
def test_head_requests_answer_like_get(client, registry, rule):
    response = client.head(rule)
    response.close()  # as a WSGI server does (it closes a streamed download's file)
    assert response.status_code < 500, rule


# --- the cases seen, one by one ---------------------------------------------------------------------------


def test_a_nul_byte_in_the_search_is_no_fault_and_finds_the_outfall(client, registry):
    response = client.get("/outfalls?q=Test%00Outfall")
    assert response.status_code == 200  # the NUL is read as a space, never sent to the database
    assert "HZ-P01" in client.get("/outfalls?q=HZ-P01%00").text


@pytest.mark.parametrize("path", ["/outfalls/AB%00C", "/outfalls/HZ-P01%00", "/outfalls/%00/sign", "/photos/a%00b.png",
                                  "/rivers/99999999999999999999", "/rivers/3000000000", "/towns/9223372036854775808/signs",
                                  "/rivers/0"])
def test_impossible_addresses_get_the_sites_404(client, registry, path):
    response = client.get(path)
    assert response.status_code == 404 and 'class="site-header"' in response.text


@pytest.mark.parametrize("value", ["%C2%B2", "9223372036854775808", "99999999999999999999", "-1", "%00"])
def test_a_town_that_cannot_be_an_id_is_ignored_by_pages_and_refused_by_the_api(client, registry, value):
    page = client.get(f"/outfalls?town={value}")
    assert page.status_code == 200 and "HZ-P01" in page.text
    api = client.get(f"/api/v1/outfalls.geojson?town={value}")
    assert api.status_code == 400 and api.is_json and "town=" in api.json["errors"][0]["description"]


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "%C2%B2", "-5", "x"])
def test_a_page_number_out_of_reach_gives_a_page_not_a_fault(client, registry, value):
    for path in ("/outfalls", "/reports"):
        assert client.get(f"{path}?page={value}").status_code == 200


@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "-180,-90,1e999,90", "1,2,3", "inf,0,1,1", "1,1,0,0"])
def test_a_bad_bbox_is_a_json_400_with_a_message(client, registry, bbox):
    response = client.get(f"/api/v1/outfalls.geojson?bbox={bbox}")
    assert response.status_code == 400 and response.is_json
    assert "bbox" in response.json["errors"][0]["description"]


@pytest.mark.parametrize("query", ["lat=1e999&lon=123.5", "lat=nan&lon=123.5", "lat=52&lon=-1e999", "lat=%00&lon=1",
                                   "lat=%20&lon=%20"])
def test_a_bad_position_for_nearby_reports_is_a_json_400(client, registry, query):
    response = client.get(f"/reports/nearby.json?{query}")
    assert response.status_code == 400 and response.is_json and response.json["error"]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize("query", ["town=%C2%B2", "bbox=nan,nan,nan,nan", "type=%00", "water=99999999999999999999"])
def test_a_download_with_a_bad_filter_is_refused_before_any_row(client, registry, extension, query):
    response = client.get(f"/api/v1/outfalls.{extension}?{query}")
    assert response.status_code == 400 and response.is_json
    assert "Content-Disposition" not in response.headers
