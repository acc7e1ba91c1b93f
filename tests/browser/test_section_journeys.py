"""A resident follows a monitoring section from the map (its own layer, drawn with no basemap) to its
page, with the samples judged by GB 3838, and back to the outfall it watches; no serious accessibility
violation on the section page."""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect


def test_a_section_from_the_map_to_its_page_and_its_outfall(page):
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute("data-state", "ready")
    page.wait_for_function("() => Number(document.querySelector('#map').dataset.sectionCount) > 0")
    markers = page.locator(".leaflet-marker-icon.mk-section")
    assert markers.count() == int(page.locator("#map").get_attribute("data-section-count"))
    # Open a downstream section's popup (its title names it), as a keyboard user would.
    downstream = page.locator(".leaflet-marker-icon.mk-section[title*='下游断面']").first
    downstream.focus()
    page.keyboard.press("Enter")
    link = page.locator("a.map-section-link")
    expect(link).to_be_visible()
    expect(page.locator(".map-popup")).to_contain_text("排污口上下游断面")
    link.click()
    expect(page.locator("h1")).to_contain_text("下游断面")
    expect(page.locator(".compliance-summary")).to_contain_text("次采样中")
    expect(page.locator("table.sample-matrix")).to_be_visible()
    expect(page.locator("#outfall-map")).to_be_visible()  # the map point, drawn without a basemap
    results = Axe().run(page)
    serious = [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    page.locator("a[href^='/outfalls/']").first.click()
    expect(page.locator("#outfall-sections-heading")).to_be_visible()
    expect(page.locator(".section-sentences")).to_contain_text("下游 1.2 km 的断面")
