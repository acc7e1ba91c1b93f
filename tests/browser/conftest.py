"""Real-browser journeys: the portal served on a local port, with demo data, driven in Chromium.

Browser tests use Debian's Chromium through Playwright. Outside CI they are skipped, with a
message, when no browser is installed; in CI (CI=true) a missing browser is a failure.
"""
from __future__ import annotations

import os
import shutil

import pytest
from browser_server import new_page, serve_portal

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
    """The portal with demo data, served on a free local port; yields its URL."""
    with serve_portal(tmp_path_factory.mktemp("browser"), "portal_browser") as url:
        yield url


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (its own cookies) on a phone-sized screen, with the server's URL as base."""
    page = new_page(browser, live_server)
    refused = []  # the portal's own Content-Security-Policy must never have to refuse anything
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    yield page
    page.context.close()
    assert not refused, f"the page broke its Content-Security-Policy: {refused}"
