"""The site's own error pages (400, 404, 405, 413, 429, 500) in the visitor's language, never Werkzeug's."""
from __future__ import annotations

import re

import pytest
from factories import make_outfall
from flask import request
from helpers import commit_and_forget
from sqlalchemy import select

from portal.models import OutboxMessage

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
WERKZEUG = "The requested URL was not found on the server"


def main_of(response) -> str:
    """The text inside <main>, where a page says what went wrong."""
    match = re.search(r"<main[^>]*>(.*?)</main>", response.text, re.S)
    assert match, response.text[:300]
    return re.sub(r"<[^>]+>", " ", match.group(1))


@pytest.mark.parametrize("path", ["/no-such-page", "/outfalls/HZ-NONE", "/rivers/999999", "/towns/999999/signs",
                                  "/outfalls/HZ-NONE/qr.svg", "/static/nothing.css", "/reports/x/y/z"])
def test_unknown_addresses_get_the_sites_404_in_chinese(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert WERKZEUG not in response.text
    assert 'class="site-header"' in response.text and "找不到" in main_of(response)


@pytest.mark.parametrize("path", ["/no-such-page", "/outfalls/HZ-NONE"])
def test_the_404_page_in_english_has_no_chinese_in_its_text(client, path):
    client.get("/language/en")
    response = client.get(path)
    assert response.status_code == 404 and '<html lang="en">' in response.text
    assert not CJK.search(main_of(response)), main_of(response)


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/nothing.geojson")
    assert response.status_code == 404 and response.is_json
    assert response.json["errors"][0]["code"] == 404
    response = client.post("/api/v1/outfalls.geojson")
    assert response.status_code == 405 and response.is_json and "GET" in response.headers["Allow"]


def test_a_wrong_method_gets_the_sites_405_with_allow(client):
    response = client.post("/outfalls")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert "Method Not Allowed" not in response.text and "不支持" in main_of(response)


def test_a_too_large_body_gets_the_sites_413(app):
    app.config["MAX_CONTENT_LENGTH"] = 100

    @app.post("/_echo")
    def echo():
        return str(len(request.form))

    response = app.test_client().post("/_echo?lang=en", data={"text": "x" * 1000})
    assert response.status_code == 413 and "Too much data sent" in main_of(response)


@pytest.fixture
def faulty_app(app):
    """The portal with one view that fails, and exceptions answered as a server would (not raised into the test)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/_fault")
    def fault():
        raise RuntimeError("a bug")

    return app


def test_a_fault_gets_the_sites_500_page_in_the_visitors_language(faulty_app):
    client = faulty_app.test_client()
    response = client.get("/_fault")
    assert response.status_code == 500
    assert 'class="site-header"' in response.text and "服务器出错了" in main_of(response)
    assert "Traceback" not in response.text and "Internal Server Error" not in response.text
    english = client.get("/_fault?lang=en")
    assert english.status_code == 500 and "Server error" in main_of(english)
    assert not CJK.search(main_of(english))


def test_a_fault_in_the_frame_itself_still_gets_a_plain_bilingual_page(faulty_app, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the frame is broken too")

    monkeypatch.setattr("portal.errors.render_template", broken)
    response = faulty_app.test_client().get("/_fault")
    assert response.status_code == 500
    assert "服务器出错了" in response.text and "The server made an error" in response.text


# --- forged Host ------------------------------------------------------------------------------------------


FORGED = {"Host": "evil.example"}


@pytest.mark.parametrize("path", ["/", "/outfalls", "/outfalls/HZ-F01/qr.svg", "/outfalls/HZ-F01/sign",
                                  "/api/v1/outfalls.geojson", "/feed.atom", "/api/v1/outfalls.csv"])
def test_a_forged_host_is_refused_and_no_link_names_it(client, path):
    make_outfall("HZ-F01", longitude=123.5, latitude=52.0)
    commit_and_forget()
    response = client.get(path, headers=FORGED)
    assert response.status_code == 400
    assert "evil.example" not in response.get_data(as_text=True)


def test_the_forged_host_page_is_the_sites_own_in_the_visitors_language(client):
    response = client.get("/outfalls", headers=FORGED)
    assert response.status_code == 400 and "地址不属于本站" in main_of(response)
    english = client.get("/outfalls?lang=en", headers=FORGED)
    assert "Not this site's address" in main_of(english) and not CJK.search(main_of(english))
    assert "evil.example" not in english.text


def test_a_report_posted_under_a_forged_host_builds_no_message(app, client):
    from portal.db import transaction
    from portal import demo

    with transaction():
        demo.seed()
    app.config["REPORT_NOTIFY_EMAILS"] = {"*": ["bureau@example.cn"]}
    response = client.post("/reports/new", headers=FORGED, content_type="multipart/form-data", data={
        "category": "direct_discharge", "description": "河边有一根管子往河里排灰色污水。", "consent": "y",
        "submit": "提交举报", "lat": "52.0306", "lon": "123.5888"})
    assert response.status_code == 400
    assert not [m for m in app.extensions["sqlalchemy"].session.scalars(select(OutboxMessage))
                if "evil.example" in (m.body or "") + (m.payload or "")]


def test_configured_and_local_hosts_are_answered(app, client):
    assert client.get("/outfalls").status_code == 200  # SERVER_NAME portal.test
    assert client.get("/outfalls", headers={"Host": "127.0.0.1:5000"}).status_code == 200
    assert client.get("/outfalls", headers={"Host": "localhost"}).status_code == 200


def test_an_operator_can_trust_other_names(app):
    app.config["TRUSTED_HOSTS"] = [".example.gov.cn"]
    client = app.test_client()
    assert client.get("/outfalls", headers={"Host": "hz.example.gov.cn"}).status_code == 200
    assert client.get("/outfalls", headers={"Host": "evil.example"}).status_code == 400


# --- the visitor's language -------------------------------------------------------------------------------


def test_lang_in_a_link_sticks_for_the_visit(client):
    first = client.get("/outfalls?lang=en")
    assert '<html lang="en">' in first.text
    assert '<html lang="en">' in client.get("/rivers").text
    client.get("/progress?lang=zh_Hans_CN")
    assert '<html lang="zh-Hans">' in client.get("/rivers").text


def test_an_unknown_lang_changes_nothing(client):
    response = client.get("/outfalls?lang=xx")
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["/%0d%0aSet-Cookie:x=y", "/outfalls%0D%0ALocation:%20http://evil.example",
                                    "/outfalls?q=%0a", "/%00", "/\\evil.example", "//evil.example",
                                    "https://evil.example/", "/[", "http:/x"])
def test_the_language_switch_only_goes_back_to_a_clean_local_path(client, target):
    response = client.get(f"/language/en?next={target}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "\r" not in location and "\n" not in location and "evil.example" not in location
    assert not any(h.startswith("x=") for h in response.headers.getlist("Set-Cookie"))


def test_the_language_switch_keeps_a_page_with_spaces_and_chinese(client):
    response = client.get("/language/en?next=/outfalls?q=%E5%91%BC%E4%B8%AD %E9%95%87")
    assert response.headers["Location"] == "/outfalls?q=%E5%91%BC%E4%B8%AD%20%E9%95%87"
