"""The production server (`portal serve`, gunicorn) and /healthz, which a proxy or supervisor asks."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from portal import create_app
from portal.config import ConfigError
from portal.extensions import db
from portal.serving import options

KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("database", ["sqlite:///{tmp}/no-such-folder/portal.db",
                                      "postgresql://postgres@127.0.0.1:1/portal"])
def test_healthz_answers_503_with_a_reason_when_the_database_does_not(tmp_path, monkeypatch, database):
    """A missing SQLite folder or a PostgreSQL port nobody listens on: 503 and a JSON reason, no error page."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "REPORTER_KEY": KEY,
                      "DATABASE_URL": database.format(tmp=tmp_path)})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert "数据库无响应" in body["reason"] and "database did not answer" in body["reason"]
    assert "127.0.0.1" not in body["reason"] and "no-such-folder" not in body["reason"]  # no address leaks
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_never_rate_limited(database_url, tmp_path, monkeypatch):
    """A monitor asks every few seconds from one address: even a site-wide default limit spares it."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "REPORTER_KEY": KEY, "DATABASE_URL": database_url,
                      "RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "2 per hour"})
    client = app.test_client()

    try:
        assert [client.get("/healthz").status_code for _ in range(4)] == [200] * 4
        assert [client.get("/api/v1/towns.geojson").status_code for _ in range(3)][-1] == 429  # the limit is live
    finally:
        with app.app_context():
            db.engine.dispose()  # this app's own pool: no connection left open after the test


def test_serve_settings_use_threaded_workers_and_refuse_a_bad_address():
    settings = options("127.0.0.1:8123", workers=3, threads=5)

    assert settings["worker_class"] == "gthread"
    assert (settings["bind"], settings["workers"], settings["threads"]) == (["127.0.0.1:8123"], 3, 5)
    assert options("unix:/run/portal.sock", 1, 1)["bind"] == ["unix:/run/portal.sock"]


@pytest.mark.parametrize("bind", ["nonsense", "127.0.0.1", "127.0.0.1:99999", "host:port"])
def test_serve_refuses_an_address_it_cannot_listen_on(runner, bind):
    result = runner.invoke(args=["serve", "--bind", bind])

    assert result.exit_code == 2
    assert "HOST:PORT" in result.output and "127.0.0.1:8000" in result.output


@pytest.mark.parametrize("setting", [{"SERVE_WORKERS": 0}, {"SERVE_THREADS": "four"}, {"SERVE_BIND": ""}])
def test_wrong_serve_settings_stop_start_up_naming_them(tmp_path, monkeypatch, setting):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))

    with pytest.raises(ConfigError, match=next(iter(setting))):
        create_app({"SECRET_KEY": "test", "REPORTER_KEY": KEY, **setting})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _portal_command() -> list[str]:
    script = Path(sys.executable).with_name("portal")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from portal.cli import main; main()"]


def test_portal_serve_starts_gunicorn_that_answers_healthz_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    environment = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_SECRET_KEY": "test",
                   "PORTAL_REPORTER_KEY": KEY, "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/portal.db"}
    server = subprocess.Popen([*_portal_command(), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--threads", "2"], env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        answer = None
        for _ in range(300):  # up to about 30 s for the master and a worker to boot on a busy machine
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    answer = (response.status, response.headers["Server"], response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert answer is not None, "portal serve did not answer"
        status, software, body = answer
        assert status == 200 and body == b'{"status":"ok"}\n' and "gunicorn" in software
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert server.returncode == 0, output
    assert "Using worker: gthread" in output and "GET /healthz" in output  # logs on stdout
