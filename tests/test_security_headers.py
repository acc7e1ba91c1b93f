"""The browser's security headers and the session cookie's flags (portal/security.py)."""
from __future__ import annotations

import pytest
from factories import make_outfall, make_report
from helpers import commit_and_forget

from portal import create_app
from portal.config import ConfigError

PUBLIC_PAGES = ["/", "/outfalls", "/progress", "/rivers", "/data", "/reports", "/reports/new"]


def directives(response) -> dict[str, str]:
    """The response's Content-Security-Policy as directive name → sources."""
    policy = response.headers["Content-Security-Policy"]
    pairs = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_cannot_be_framed_sniffed_or_run_inline_script(client, path):
    """Every public page: a CSP without inline script, no framing, nosniff, a referrer policy."""
    response = client.get(path)
    assert response.status_code == 200
    csp = directives(response)
    assert csp["script-src"] == "'self'"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_script_the_policy_would_block(client):
    """Only external scripts and JSON data blocks: the pages work under their own policy."""
    import re

    for path in PUBLIC_PAGES:
        html = client.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline event handlers
        assert "style=" not in html, path  # style-src 'self': no inline styles either


def test_images_may_come_from_the_basemap_tile_servers_and_photo_previews(client):
    """img-src allows the configured tiles (OSM, 天地图) and data:/blob: for photo thumbnails."""
    sources = directives(client.get("/"))["img-src"].split()
    for source in ("'self'", "data:", "blob:", "https://tile.openstreetmap.org",
                   "https://*.tile.openstreetmap.org", "https://*.tianditu.gov.cn"):
        assert source in sources


def test_an_outfall_page_and_the_api_carry_the_headers_too(client, app):
    """Not only the list pages: records, GeoJSON and static files say nosniff and deny framing."""
    outfall = make_outfall(code="HZ-SEC-1", name="安全头测试排口")
    for path in (f"/outfalls/{outfall.code}", "/api/v1/outfalls.geojson", "/static/css/portal.css"):
        with client.get(path) as response:  # closes the static file
            assert response.status_code == 200, path
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert response.headers["X-Frame-Options"] == "DENY", path


def test_the_private_report_pages_keep_their_no_referrer(client):
    """The reporter's private page chose no-referrer (its address is a secret): it keeps exactly that."""
    report, secret = make_report()
    code = report.tracking_code
    commit_and_forget()
    response = client.get(f"/reports/{code}/private/{secret}")
    assert response.status_code == 200
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers["X-Frame-Options"] == "DENY"
    public = client.get(f"/reports/{code}")
    assert public.headers.getlist("Referrer-Policy") == ["strict-origin-when-cross-origin"]


def test_no_https_redirect_and_no_hsts_by_default(client):
    """The TLS proxy decides about HTTPS: plain HTTP is served, and no HSTS is promised."""
    response = client.get("/outfalls")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    response = client.get("/outfalls", base_url="https://portal.test")
    assert "Strict-Transport-Security" not in response.headers


def test_session_cookie_is_samesite_lax_and_httponly(app):
    """The session cookie is never sent with another site's form post, and no script can read it."""
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is False
    with app.test_request_context("/"):
        from flask import session

        session["probe"] = "1"
        response = app.make_response("x")
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie
    language = app.test_client().get("/language/en?next=/outfalls").headers.getlist("Set-Cookie")
    assert language and all("SameSite=Lax" in value and "Secure" not in value for value in language)


def test_secure_cookie_and_hsts_behind_https(database_url, tmp_path, monkeypatch):
    """SESSION_COOKIE_SECURE=True: the cookie is Secure and HTTPS answers promise HSTS."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                      "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                      "SERVER_NAME": "portal.test", "SESSION_COOKIE_SECURE": True})
    with app.test_request_context("/"):
        from flask import session

        session["probe"] = "1"
        response = app.make_response("x")
        app.session_interface.save_session(app, session, response)
    assert "Secure" in response.headers["Set-Cookie"]
    client = app.test_client()
    language = client.get("/language/en?next=/outfalls", base_url="https://portal.test")
    assert all("Secure" in cookie for cookie in language.headers.getlist("Set-Cookie"))
    with client.get("/static/css/portal.css") as plain:
        assert "Strict-Transport-Security" not in plain.headers
    with client.get("/static/css/portal.css", base_url="https://portal.test") as secure:
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("value", ["yes", 1, "True", None])
def test_session_cookie_secure_must_be_a_boolean(database_url, tmp_path, monkeypatch, value):
    """A typo in SESSION_COOKIE_SECURE stops start-up with a message naming it."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                    "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                    "SESSION_COOKIE_SECURE": value})
