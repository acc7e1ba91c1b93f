"""Public pages are served from the cache while their data are unchanged, and only those pages."""
import gzip
import os

import pytest
from flask import session

from factories import make_outfall
from portal import create_app
from portal.extensions import db
from portal.models import Outfall
from portal.page_cache import cached_page

CALLS: list[str] = []


def _add_views(app):
    @app.get("/test-cached")
    @cached_page("registry")
    def cached_view():
        CALLS.append("cached")
        names = ",".join(db.session.scalars(db.select(Outfall.name).order_by(Outfall.id)))
        return f"<p>{names}</p>" + "<p>填充</p>" * 200

    @app.get("/test-session")
    @cached_page("registry")
    def session_view():
        CALLS.append("session")
        session["seen"] = True
        return "<p>per visitor</p>"

    @app.get("/test-stale")
    @cached_page("registry", may_be_stale=True)
    def stale_view():
        CALLS.append("stale")
        return ",".join(db.session.scalars(db.select(Outfall.name).order_by(Outfall.id)))


@pytest.fixture
def cached_client(app):
    CALLS.clear()
    _add_views(app)
    make_outfall(name="一号排口")
    db.session.commit()
    return app.test_client()


def _rename(name):
    outfall = db.session.scalars(db.select(Outfall)).first()
    outfall.name = name
    db.session.commit()


def test_a_second_reader_gets_the_cached_page_until_the_data_change(cached_client):
    first = cached_client.get("/test-cached")
    second = cached_client.get("/test-cached")
    assert first.data == second.data and "一号排口" in second.get_data(as_text=True)
    assert CALLS == ["cached"]
    _rename("改名排口")
    third = cached_client.get("/test-cached")
    assert "改名排口" in third.get_data(as_text=True)
    assert CALLS == ["cached", "cached"]


def test_the_query_string_and_the_language_make_different_pages(cached_client):
    cached_client.get("/test-cached?a=1")
    cached_client.get("/test-cached?a=2")
    cached_client.get("/test-cached?a=1")
    cached_client.get("/test-cached?a=1&lang=en")  # an English page, and the choice is remembered:
    cached_client.get("/test-cached?a=1")  # the same address is now English too
    assert CALLS == ["cached"] * 4


def test_a_visitor_with_a_session_is_served_afresh(cached_client, app):
    cached_client.get("/test-cached")
    cached_client.set_cookie(app.config["SESSION_COOKIE_NAME"], "anything", domain="portal.test")
    cached_client.get("/test-cached")
    assert CALLS == ["cached", "cached"]


def test_a_page_that_touches_the_session_is_never_kept(cached_client):
    first = cached_client.get("/test-session")
    cached_client.delete_cookie("session")
    cached_client.get("/test-session")
    assert CALLS == ["session", "session"]
    assert "Set-Cookie" in first.headers


def test_the_etag_answers_304_and_compression_is_kept(cached_client):
    first = cached_client.get("/test-cached", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert "一号排口" in gzip.decompress(first.data).decode()
    again = cached_client.get("/test-cached", headers={"Accept-Encoding": "gzip",
                                                       "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    plain = cached_client.get("/test-cached", headers={"Accept-Encoding": "identity"})
    assert "一号排口" in plain.get_data(as_text=True) and "Content-Encoding" not in plain.headers
    assert CALLS == ["cached", "cached"]  # one rendering per encoding


def test_an_expensive_page_may_be_served_stale_within_its_window(cached_client, app):
    app.config["PAGE_CACHE_STALE_SECONDS"] = 60
    cached_client.get("/test-stale")
    _rename("改名排口")
    assert cached_client.get("/test-stale").get_data(as_text=True) == "一号排口"
    assert CALLS == ["stale"]


def test_the_cache_can_be_turned_off(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                      "DATABASE_URL": database_url, "PAGE_CACHE_SECONDS": 0})
    CALLS.clear()
    _add_views(app)
    with app.app_context():
        client = app.test_client()
        client.get("/test-cached")
        client.get("/test-cached")
        db.session.remove()
        db.engine.dispose()
    assert CALLS == ["cached", "cached"]


def _redis_url():
    import redis

    url = "redis://127.0.0.1:6379/13"
    try:
        redis.Redis.from_url(url, socket_timeout=0.5).flushdb()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return url


def test_servers_sharing_redis_share_the_cache(app, database_url, tmp_path, monkeypatch):
    url = _redis_url()
    make_outfall(name="一号排口")
    db.session.commit()
    CALLS.clear()
    config = {"TESTING": True, "SECRET_KEY": "test", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
              "DATABASE_URL": database_url, "PAGE_CACHE_REDIS_URL": url, "SERVER_NAME": "portal.test"}
    servers = []
    for number in (1, 2):
        monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / f"instance{number}"))
        server = create_app(config)
        _add_views(server)
        servers.append(server)
    for server in servers:
        with server.app_context():
            assert "一号排口" in server.test_client().get("/test-cached").get_data(as_text=True)
            db.session.remove()
    assert CALLS == ["cached"]
    _rename("改名排口")
    with servers[1].app_context():
        assert "改名排口" in servers[1].test_client().get("/test-cached").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    with servers[0].app_context():
        db.engine.dispose()


def test_readers_arriving_together_wait_for_one_rendering(cached_client, app):
    import threading

    from portal.page_cache import _RENDERING, _key

    with app.test_request_context("/test-cached", base_url="http://portal.test"):
        lock = _RENDERING[int(_key()[:8], 16) % len(_RENDERING)]
    lock.acquire()  # a rendering of the page is under way in another thread
    answers = []
    readers = [threading.Thread(target=lambda: answers.append(app.test_client().get("/test-cached").status_code))
               for _ in range(3)]
    for reader in readers:
        reader.start()
    lock.release()
    for reader in readers:
        reader.join(10)
    assert answers == [200, 200, 200]
    assert CALLS == ["cached"]  # the first reader through rendered it; the other two were served its copy
