"""Real-browser journeys: the portal served on a local port, with demo data, driven in Chromium.

Browser tests use Debian's Chromium through Playwright. Outside CI they are skipped, with a
message, when no browser is installed; in CI (CI=true) a missing browser is a failure.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from databases import scratch_database
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _browser_missing_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium, shared by all browser tests."""
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The portal with demo data on a database of its own, served on a free local port; yields its URL."""
    from flask_migrate import upgrade

    from portal.registry import demo

    folder = tmp_path_factory.mktemp("browser")
    with scratch_database(folder, "portal_browser") as url:
        os.environ["PORTAL_INSTANCE_PATH"] = str(folder / "instance")
        app = create_app({"SECRET_KEY": "browser-tests", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": url, "BASEMAP": "none"})
        with app.app_context():
            upgrade()
            demo.seed()
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            with app.app_context():
                db.engine.dispose()
            os.environ.pop("PORTAL_INSTANCE_PATH", None)


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (its own cookies) on a phone-sized screen, with the server's URL as base."""
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
