"""Start-up validation of every setting, and the settings that shape requests (proxies, limits)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from portal import create_app
from portal.config import ConfigError
from portal.extensions import limiter

KEYS = {"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}


@pytest.fixture
def make_app(monkeypatch, tmp_path):
    """Build the portal with the given settings on top of the required keys, in a scratch instance."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))

    def make(**settings):
        return create_app({**KEYS, "TESTING": True, **settings})

    return make


BAD_SETTINGS = [
    ("REPORT_NOTIFY_EMAILS", {"*": "bureau@example.cn"}),
    ("REPORT_NOTIFY_EMAILS", {"*": ["not an address"]}),
    ("REPORT_NOTIFY_EMAILS", {"*": ["bureau@example"]}),
    ("REPORT_NOTIFY_EMAILS", ["bureau@example.cn"]),
    ("REPORT_NOTIFY_EMAILS", {"": ["bureau@example.cn"]}),
    ("REPORT_NOTIFY_WEBHOOKS", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1"),
    ("REPORT_NOTIFY_WEBHOOKS", ["qyapi.weixin.qq.com/cgi-bin/webhook/send"]),
    ("REPORT_NOTIFY_WEBHOOKS", ["ftp://example.cn/robot"]),
    ("REPORT_PHOTO_LIMIT", "six"),
    ("REPORT_PHOTO_LIMIT", 0),
    ("REPORT_PHOTO_LIMIT", 6.5),
    ("REPORT_PHOTO_MAX_BYTES", -1),
    ("REPORT_ACCEPT_WORKING_DAYS", "2"),
    ("REPORT_FINISH_DAYS", 0),
    ("REPORT_REOPEN_DAYS", None),
    ("REPORT_DUPLICATE_METRES", float("nan")),
    ("REPORT_DUPLICATE_DAYS", True),
    ("LEDGER_MAX_BYTES", 0),
    ("MAX_CONTENT_LENGTH", None),
    ("SMTP_PORT", 0),
    ("SMTP_PORT", 65536),
    ("SMTP_PORT", "25"),
    ("SMTP_STARTTLS", "yes"),
    ("SMTP_SSL", 1),
    ("NOTIFY_MAX_ATTEMPTS", 0),
    ("NOTIFY_TIMEOUT_SECONDS", 0),
    ("SQLITE_BUSY_TIMEOUT", "5"),
    ("MAIL_FROM", "平台 <noreply>"),
    ("SMTP_USERNAME", ["user"]),
    ("LANGUAGES", ["zh_Hans_CN", "fr"]),
    ("LANGUAGES", "en"),
    ("LANGUAGES", []),
    ("DEFAULT_LOCALE", "fr"),
    ("DISTRICT_NAME", ""),
    ("DISTRICT_NAME_EN", None),
    ("REPORT_TELEPHONE", " "),
    ("DATA_LICENCE_NAME", ["CC BY 4.0"]),
    ("DATA_LICENCE_URL", "creativecommons.org/licenses/by/4.0"),
    ("PUBLIC_BASE_URL", "hz.example.cn"),
    ("PUBLIC_BASE_URL", "https://hz.example.cn/?x=1"),
    ("PUBLIC_BASE_URL", "https://hz.example.cn:port/"),
    ("TRUSTED_HOSTS", "hz.example.cn"),
    ("TRUSTED_HOSTS", ["hz.example.cn/portal"]),
    ("TRUSTED_HOSTS", []),
    ("RATELIMIT_STORAGE_URI", "redis"),
    ("OUTFALLS_PER_PAGE", 0),
    ("REPORT_RATE_LIMIT", "10 per hr"),
    ("REPORT_ATTEMPT_RATE_LIMIT", "sixty an hour"),
    ("REPORTER_ACTION_RATE_LIMIT", 30),
    ("MAX_FORM_PARTS", 0),
    ("MAX_FORM_PARTS", "64"),
    ("MAX_FORM_PARTS", 20),
    ("PROXY_FIX_HOPS", 6),
    ("PROXY_FIX_HOPS", -1),
    ("PROXY_FIX_HOPS", True),
]


@pytest.mark.parametrize(("key", "value"), BAD_SETTINGS, ids=[f"{k}={v!r}" for k, v in BAD_SETTINGS])
def test_a_wrong_setting_stops_start_up_naming_it(make_app, key, value):
    with pytest.raises(ConfigError, match=key):
        make_app(**{key: value})


def test_the_defaults_start(make_app):
    app = make_app()
    assert app.config["MAX_FORM_PARTS"] == 64
    assert app.config["PROXY_FIX_HOPS"] == 0


GOOD_SETTINGS = [
    ("REPORT_NOTIFY_EMAILS", {"*": ["bureau@example.cn"], "呼中镇": ["town@hz.example.gov.cn"]}),
    ("REPORT_NOTIFY_WEBHOOKS", ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"]),
    ("MAIL_FROM", "呼中区排污口平台 <noreply@example.gov.cn>"),
    ("PUBLIC_BASE_URL", "https://hz.example.cn:8443/portal/"),
    ("TRUSTED_HOSTS", ["hz.example.cn", ".example.gov.cn", "10.0.0.5:8080"]),
    ("LANGUAGES", ["en"]),
    ("REPORT_DUPLICATE_METRES", 250.5),
]


@pytest.mark.parametrize(("key", "value"), GOOD_SETTINGS, ids=[k for k, _ in GOOD_SETTINGS])
def test_a_sound_setting_starts(make_app, key, value):
    settings = {key: value, "DEFAULT_LOCALE": "en"} if key == "LANGUAGES" else {key: value}
    assert make_app(**settings).config[key] == value


def test_numbers_from_the_environment_become_text(make_app, monkeypatch):
    # PORTAL_* values are parsed as JSON: a password or a telephone of digits arrives as a number.
    monkeypatch.setenv("PORTAL_SMTP_PASSWORD", "123456")
    monkeypatch.setenv("PORTAL_REPORT_TELEPHONE", "12345")
    app = make_app()
    assert app.config["SMTP_PASSWORD"] == "123456" and app.config["REPORT_TELEPHONE"] == "12345"


def test_every_problem_is_named_at_once(make_app):
    with pytest.raises(ConfigError) as refused:
        make_app(REPORT_PHOTO_LIMIT="six", SMTP_PORT=0, LANGUAGES=["xx"])
    assert all(key in str(refused.value) for key in ("REPORT_PHOTO_LIMIT", "SMTP_PORT", "LANGUAGES"))


def test_trusted_hosts_default_to_the_configured_names_and_this_machine(make_app):
    app = make_app(PUBLIC_BASE_URL="https://hz.example.cn/portal", SERVER_NAME="portal.internal:8000")
    assert app.config["TRUSTED_HOSTS"] == ["hz.example.cn", "portal.internal", "localhost", "127.0.0.1", "::1"]


def test_the_command_line_shows_a_wrong_setting_without_a_traceback(tmp_path):
    """`portal` started with a typo in its instance config says what is wrong, in one message."""
    (tmp_path / "config.py").write_text(
        f"SECRET_KEY = 'k'\nREPORTER_KEY = {KEYS['REPORTER_KEY']!r}\nREPORT_NOTIFY_EMAILS = {{'*': 'a@b.cn'}}\n",
        encoding="utf-8")
    environment = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path)}
    environment.pop("PORTAL_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", "routes"], env=environment,
                            capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "REPORT_NOTIFY_EMAILS" in output and "Traceback" not in output


def _limited_app(make_app, **settings):
    """The portal with limits on and one tiny limited route that echoes the visitor's address."""
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **settings)

    @limiter.limit("1 per hour")
    def whoami():
        from flask import request

        return request.remote_addr or ""

    app.add_url_rule("/_whoami", "whoami", whoami)
    return app


def test_behind_one_proxy_each_resident_has_their_own_limit(make_app):
    client = _limited_app(make_app, PROXY_FIX_HOPS=1).test_client()
    first = client.get("/_whoami", headers={"X-Forwarded-For": "198.51.100.7"})
    assert first.status_code == 200 and first.text == "198.51.100.7"
    assert client.get("/_whoami", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    other = client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert other.status_code == 200 and other.text == "203.0.113.9"


def test_without_proxy_hops_forwarded_addresses_are_ignored(make_app):
    client = _limited_app(make_app).test_client()
    assert client.get("/_whoami", headers={"X-Forwarded-For": "198.51.100.7"}).text == "127.0.0.1"
    assert client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
