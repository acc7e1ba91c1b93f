"""A resident on a 390 px phone: a small header with 我要举报 in reach, lists as cards, nothing wider
than the screen; and the maps' basemap, labels and credit."""
from __future__ import annotations

import re

import pytest
from browser_server import new_page, serve_portal
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
# /outfalls at 390 px before the cards (a squeezed 8-column table): 14,010 px tall in Chinese.
LIST_HEIGHT_BEFORE = 14010

PAGE_SIZE = """() => ({height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth})"""

LINES_OF = """(cells) => cells.map((cell) => {
    const style = getComputedStyle(cell);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const range = document.createRange();
    range.selectNodeContents(cell.querySelector('a') || cell.firstChild || cell);
    const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
    return {text: cell.textContent.trim(), lines: lines.size, tall: cell.getBoundingClientRect().height / line};
})"""


def in_english(page):
    """Choose English for the rest of the visit, as the header's link does."""
    page.goto("/language/en?next=/outfalls")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("path", ["/", "/outfalls", "/outfalls/DEMO-HZ-001", "/progress", "/reports/new"])
def test_header_is_small_and_the_report_button_visible_on_a_phone(page, language, path):
    """At 390 px the header takes at most a fifth of the screen, with 我要举报 on it."""
    if language == "en":
        in_english(page)
    page.goto(path)
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 0.2 * PHONE["height"], header
    report = page.locator(".site-header .header-report")
    expect(report).to_be_visible()
    expect(report).to_have_text("Report a problem" if language == "en" else "我要举报")
    assert report.bounding_box()["y"] + report.bounding_box()["height"] <= header["height"]
    expect(page.locator("#site-nav")).to_be_hidden()  # folded behind the menu button


def test_menu_button_opens_and_folds_the_navigation(page):
    """The menu button says whether it is open; Escape folds it and gives the focus back."""
    page.goto("/outfalls")
    button = page.locator("#menu-button")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    nav = page.locator("#site-nav")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="整治进展").click()
    expect(page).to_have_url(re.compile(r"/progress$"))
    expect(page.locator("#site-nav")).to_be_hidden()
    page.locator("#menu-button").click()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(page.locator("#site-nav")).to_be_hidden()
    expect(page.locator("#menu-button")).to_be_focused()


def test_navigation_is_reachable_without_javascript(browser, live_server):
    """Without script the menu is a link to the navigation, which then shows."""
    context = browser.new_context(base_url=live_server, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/outfalls")
    expect(page.locator("#menu-button")).to_be_hidden()
    expect(page.locator("#site-nav")).to_be_hidden()
    page.locator(".menu-link").click()
    expect(page.locator("#site-nav")).to_be_visible()
    expect(page.locator("#site-nav").get_by_role("link", name="河湖长公示")).to_be_visible()
    context.close()


def test_desktop_shows_the_navigation_without_a_menu_button(browser, live_server):
    """On a wide screen the navigation is always shown, the list's filters open and the list a table."""
    page = new_page(browser, live_server, width=1280, height=900)
    page.goto("/outfalls")
    expect(page.locator("#site-nav")).to_be_visible()
    expect(page.locator("#menu-button")).to_be_hidden()
    expect(page.locator(".menu-link")).to_be_hidden()
    assert page.locator(".site-header").bounding_box()["height"] < 100
    expect(page.locator("#f-town")).to_be_visible()  # filters fold on a phone only
    # The real table stays on a wide screen.
    head = page.locator("table.outfalls thead")
    assert head.evaluate("(head) => getComputedStyle(head).display") == "table-header-group"
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_outfall_list_is_cards_on_a_phone(page, language):
    """A page of 50 outfalls: cards no wider than the screen, names in at most two lines."""
    if language == "en":
        in_english(page)
    page.goto("/outfalls")
    rows = page.locator("table.outfalls tbody tr")
    assert rows.count() == 50
    size = page.evaluate(PAGE_SIZE)
    assert size["width"] <= PHONE["width"], size
    if language == "zh":
        assert size["height"] < 0.7 * LIST_HEIGHT_BEFORE, size
    names = page.locator("table.outfalls tbody td.card-title").evaluate_all(LINES_OF)
    assert all(name["lines"] <= 2 for name in names), [n for n in names if n["lines"] > 2]
    # Each card is one box no wider than the screen, its cells labelled with their column's name.
    first = rows.first
    assert first.bounding_box()["width"] <= PHONE["width"]
    label = first.locator("td[data-label]").first.evaluate("(cell) => getComputedStyle(cell, '::before').content")
    assert ("所在镇" if language == "zh" else "Town") in label


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_first_screen_of_the_list_shows_the_search_and_the_first_outfall(page, language):
    """On a phone the filters start folded (six selects filled the first screen), one tap away."""
    if language == "en":
        in_english(page)
    page.goto("/outfalls")
    expect(page.locator("#q")).to_be_visible()
    expect(page.locator("#f-town")).to_be_hidden()
    assert page.locator("table.outfalls tbody tr").first.bounding_box()["y"] < PHONE["height"]
    page.locator(".more-filters summary").click()
    expect(page.locator("#f-town")).to_be_visible()


def test_river_chiefs_and_overdue_tables_are_cards_on_a_phone(page):
    """A river's chiefs and the overdue towns on /progress fit the screen, names unbroken."""
    page.goto("/rivers")
    page.locator("main a[href*='/rivers/']").first.click()
    expect(page.locator("table.chiefs")).to_be_visible()
    size = page.evaluate(PAGE_SIZE)
    assert size["width"] <= PHONE["width"], size
    chiefs = page.locator("table.chiefs tbody th").evaluate_all(LINES_OF)
    assert chiefs and all(chief["lines"] <= 2 for chief in chiefs), chiefs

    page.goto("/progress")
    size = page.evaluate(PAGE_SIZE)
    assert size["width"] <= PHONE["width"], size
    towns = page.locator(".table-cards tbody th").evaluate_all(LINES_OF)
    assert towns and all(town["lines"] == 1 for town in towns), towns


def submit_a_report(page):
    """File a report through the form as a resident does; end on its confirmation page."""
    page.goto("/reports/new")
    expect(page.locator("#report-map")).to_be_visible()
    page.locator("#report-map").click(position={"x": 180, "y": 120})
    expect(page.locator("#lat")).not_to_have_value("")
    page.locator("#category").select_option("dry_weather")
    page.locator("#description").fill("晴天时管口一直在排浑水，有臭味。")
    page.locator("#consent").check()
    page.locator("#report-form [type=submit][name=submit]").click()
    expect(page).to_have_url(re.compile(r"/reports/[2-9A-Z]{8}/submitted$"))


def test_private_link_wraps_on_a_phone(page):
    """The confirmation page's long private link wraps instead of widening the page."""
    submit_a_report(page)
    expect(page.locator(".private-link")).to_be_visible()
    size = page.evaluate(PAGE_SIZE)
    assert size["width"] <= PHONE["width"], size


# ── The maps: configured basemap, names as labels, Leaflet's credit without the flag ─────────────────

TILE = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                     "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a6"
                     "a10000000049454e44ae426082")


@pytest.fixture(scope="module")
def osm_server(tmp_path_factory):
    """The portal with BASEMAP = "osm" (the tiles are answered by the test, not the internet)."""
    with serve_portal(tmp_path_factory.mktemp("osm"), "portal_osm", BASEMAP="osm") as url:
        yield url


@pytest.mark.parametrize("path, box", [("/reports/new", "#report-map"), ("/", "#map"),
                                       ("/outfalls/DEMO-HZ-001", "#outfall-map")])
def test_every_map_draws_the_configured_basemap_with_a_plain_credit(browser, osm_server, path, box):
    """Each map draws BASEMAP's tiles and credits Leaflet without the flag."""
    page = new_page(browser, osm_server)
    tiles = []

    def answer(route):
        """Answer a tile request with a blank tile, noting it was asked for."""
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=TILE)

    page.route(re.compile(r"https://([a-c]\.)?tile\.openstreetmap\.org/.*"), answer)
    page.goto(path)
    expect(page.locator(box)).to_be_visible()
    expect(page.locator(f"{box} img.leaflet-tile").first).to_be_attached()
    assert tiles
    credit = page.locator(f"{box} .leaflet-control-attribution")
    expect(credit).to_contain_text("OpenStreetMap")
    expect(credit.get_by_role("link", name="Leaflet")).to_be_visible()
    assert credit.locator("svg").count() == 0  # no flag before "Leaflet"
    page.context.close()


def test_report_form_map_names_towns_and_rivers(page):
    """The report form's map labels the towns and rivers, and the labels let taps through."""
    page.goto("/reports/new")
    expect(page.locator("#report-map")).to_be_visible()
    towns = page.locator("#report-map .leaflet-tooltip.town-label")
    expect(towns.filter(has_text="呼中镇")).to_have_count(1)
    expect(page.locator("#report-map .leaflet-tooltip.water-label").filter(has_text="呼玛河").first).to_be_attached()
    # The labels never catch the tap that drops the pin.
    assert towns.first.evaluate("(label) => getComputedStyle(label).pointerEvents") == "none"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_page_is_wider_than_a_phone(page, language):
    """Every public page fits 390 px: tables become cards, signboards stack their labels in English."""
    if language == "en":
        in_english(page)
    page.goto("/rivers")
    river = page.locator("main a[href*='/rivers/']").first.get_attribute("href")
    for path in ["/", "/outfalls", "/outfalls/DEMO-HZ-001", "/outfalls/DEMO-HZ-001/sign", "/progress", "/rivers",
                 river, "/data", "/reports", "/reports/new"]:
        page.goto(path)
        size = page.evaluate(PAGE_SIZE)
        assert size["width"] <= PHONE["width"], (path, size)
    # A signboard's facts stay readable: no value squeezed to a column a few letters wide.
    page.goto("/outfalls/DEMO-HZ-001/sign")
    widths = page.locator(".sign-facts dd").evaluate_all("(cells) => cells.map((cell) => cell.clientWidth)")
    assert widths and min(widths) > 150, widths
