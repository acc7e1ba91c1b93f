"""Markup planted in imported data (a ledger's outfall name, `import-areas` town names, rivers, a report)
is shown as text in the real browser, never run; and no page trips its own Content-Security-Policy.

The hostile pages run with the CSP switched off in the browser (bypass_csp), so that they test the
scripts' own defence: a tooltip built from an HTML string would run the planted handler even where the
portal's CSP would have stopped it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from browser_server import new_page, serve_portal
from playwright.sync_api import expect


def payload(where: str) -> str:
    """Markup that sets window.__xss to ``where`` if a browser ever treats it as HTML."""
    return f"<img src=x onerror=\"window.__xss='{where}'\">"


OUTFALL_CODE = "DEMO-HZ-001"
OUTFALL_NAME = payload("outfall") + "排口"
TOWN_NAME = payload("town") + "镇"
TOWN_SOURCE = payload("source")
WATER_NAME = payload("water") + "河"
REPORT_TEXT = payload("report") + " 管子排黑水"


def plant_markup(app):
    """Put markup into an outfall, a town (and its boundary's source), a river and a published report."""
    from factories import make_report
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Outfall, WaterBody

    outfall = db.session.scalar(select(Outfall).where(Outfall.code == OUTFALL_CODE))
    outfall.name = OUTFALL_NAME
    town = outfall.town
    town.name = TOWN_NAME
    town.boundary_source = TOWN_SOURCE
    water = outfall.water_body or db.session.scalars(select(WaterBody)).first()
    water.name = WATER_NAME
    report, _secret = make_report(town=town, description=REPORT_TEXT, published=True, status="accepted",
                                  latitude=outfall.latitude, longitude=outfall.longitude,
                                  created_at=datetime.now(timezone.utc))
    app.config["HOSTILE"] = {"report": report.tracking_code, "water": water.id, "town": town.id}
    db.session.commit()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A portal whose demo data carries planted markup; yields (URL, codes and ids of what was planted)."""
    planted = {}

    def prepare(app):
        """Plant the markup and note where it went."""
        plant_markup(app)
        planted.update(app.config["HOSTILE"])

    with serve_portal(tmp_path_factory.mktemp("hostile"), "portal_hostile", prepare) as url:
        yield url, planted


@pytest.fixture
def hostile_page(browser, hostile_server):
    """A phone-sized page on the hostile portal, with the portal's CSP not enforced by the browser."""
    url, _planted = hostile_server
    context = browser.new_context(base_url=url, viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def assert_nothing_ran(page):
    """No planted handler ran, and no planted <img> made it into the page as an element."""
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img[src='x']").count() == 0


def test_markup_in_town_river_outfall_and_report_names_is_text_on_the_home_map(hostile_page):
    """Town labels (shown without a click), river tooltips, the outfall's and a report's popups: all text."""
    page = hostile_page
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute("data-state", "ready")
    # The town's permanent label shows its name literally, without a click.
    expect(page.locator(".leaflet-tooltip.town-label").filter(has_text="<img src=x")).to_have_count(1)
    expect(page.locator("#map-boundary-note")).to_contain_text(TOWN_SOURCE)
    # Every other tooltip (the rivers') opened, and the planted outfall's popup.
    page.evaluate("""() => window.portalMap.map.eachLayer((layer) => {
        if (layer.getTooltip && layer.getTooltip() && layer.getLatLng === undefined && layer.getBounds) {
            layer.openTooltip(layer.getBounds().getCenter());
        }
    })""")
    expect(page.locator(".leaflet-tooltip").filter(has_text=WATER_NAME).first).to_be_attached()
    # At street zoom the map data hold the planted outfall itself: go there and open its popup.
    page.evaluate(f"""async () => {{
        const all = await (await fetch('/api/v1/outfalls.geojson')).json();
        const outfall = all.features.find((f) => f.properties.code === '{OUTFALL_CODE}');
        const [lon, lat] = outfall.geometry.coordinates;
        window.portalMap.map.setView([lat, lon], 17, {{animate: false}});
    }}""")
    page.wait_for_function(f"() => window.portalMap.markers()['{OUTFALL_CODE}']")
    page.evaluate(f"() => window.portalMap.markers()['{OUTFALL_CODE}'].openPopup()")
    popup = page.locator(".leaflet-popup")
    expect(popup.locator("h3")).to_contain_text(OUTFALL_NAME)
    expect(popup).to_contain_text(TOWN_NAME)
    expect(popup).to_contain_text(WATER_NAME)
    # The published reports' layer: the report's popup names the planted town as text too. (The
    # outfall's popup may stay open beside it: a redraw keeps unchanged markers and their popups.)
    page.locator("#map-reports-checkbox").check()
    expect(page.locator("#map")).to_have_attribute("data-report-count", "1")
    page.evaluate("""() => window.portalMap.reports().eachLayer((marker) => marker.openPopup())""")
    expect(page.locator(".leaflet-popup").filter(has_not_text=OUTFALL_NAME)).to_contain_text(TOWN_NAME)
    assert_nothing_ran(page)


def test_markup_in_an_outfall_name_is_text_in_its_map_tooltip(hostile_page):
    """The outfall page's map tooltip and the town's boundary credit show the ledger's name literally."""
    page = hostile_page
    page.goto(f"/outfalls/{OUTFALL_CODE}")
    expect(page.locator("h1")).to_contain_text(OUTFALL_NAME)
    point = page.locator("#outfall-map path.leaflet-interactive").last
    expect(point).to_be_visible()
    point.hover(force=True)
    expect(page.locator("#outfall-map .leaflet-tooltip")).to_have_text(OUTFALL_NAME)
    expect(page.locator("#outfall-map .leaflet-control-attribution")).to_contain_text(TOWN_SOURCE)
    assert_nothing_ran(page)


def test_markup_in_places_is_text_on_the_report_form_map_and_nearby_list(hostile_page, hostile_server):
    """The report form's map names towns and rivers as text labels."""
    page = hostile_page
    page.goto("/reports/new")
    expect(page.locator("#report-map")).to_be_visible()
    expect(page.locator("#report-map .leaflet-tooltip.town-label").filter(has_text="<img src=x")).to_have_count(1)
    expect(page.locator("#report-map .leaflet-tooltip.water-label").filter(has_text=WATER_NAME)).to_have_count(1)
    assert_nothing_ran(page)


@pytest.mark.parametrize("path", ["/outfalls", "/progress", "/rivers", "river", "report", "/reports"])
def test_markup_is_text_on_the_server_rendered_pages(hostile_page, hostile_server, path):
    """Pages the server renders (lists, boards, a report) escape the planted markup too."""
    page = hostile_page
    _url, planted = hostile_server
    path = {"river": f"/rivers/{planted['water']}", "report": f"/reports/{planted['report']}"}.get(path, path)
    response = page.goto(path)
    assert response.status == 200
    assert_nothing_ran(page)
    if path.startswith("/reports/"):
        expect(page.locator("main")).to_contain_text(REPORT_TEXT)


# ── The portal's own Content-Security-Policy: no page breaks it ──────────────────────────────────────

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


def a_river_board(page) -> str:
    """A river board's address, found as a visitor would, from the list of rivers."""
    page.goto("/rivers")
    return page.locator("main a[href*='/rivers/']").first.get_attribute("href")


@pytest.mark.parametrize("width", [390, 1280])
def test_no_page_trips_the_content_security_policy(browser, live_server, width):
    """Every public page, with its scripts, maps and report form at work, stays inside its CSP."""
    page = new_page(browser, live_server, width=width, height=900)
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.add_init_script(WATCH_VIOLATIONS)
    river = a_river_board(page)
    for path in ["/", "/outfalls", f"/outfalls/{OUTFALL_CODE}", "/progress", "/rivers", river, "/data",
                 "/reports", "/reports/new", f"/outfalls/{OUTFALL_CODE}/sign"]:
        response = page.goto(path)
        assert response.status == 200, path
        assert response.headers.get("content-security-policy"), path
        if path == "/":
            expect(page.locator("#map")).to_have_attribute("data-state", "ready")
            page.locator("#map-reports-checkbox").check()
        if path == "/reports/new":
            expect(page.locator("#report-map")).to_be_visible()
            page.locator("#report-map").click()  # drops a pin and asks for nearby reports
            expect(page.locator("#lat")).not_to_have_value("")
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("() => window.__cspViolations")
        assert violations == [], (path, violations)
    assert not [text for text in messages if "Content Security Policy" in text], messages
    page.context.close()
