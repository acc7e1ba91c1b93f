"""Journeys through the public site in a real browser: map, outfall page, signboard, accessibility."""
from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect


def wait_for_map(page):
    """Wait until the map has drawn the markers of its latest request; return how many."""
    expect(page.locator("#map")).to_have_attribute("data-state", "ready")
    return int(page.locator("#map").get_attribute("data-outfall-count"))


def test_map_clusters_filters_to_a_town_and_opens_an_outfall_from_a_popup(page):
    page.goto("/")
    total = wait_for_map(page)
    assert total == 60
    expect(page.locator(".mk-cluster").first).to_be_visible()

    # On a phone the filters start folded away; the resident opens them first.
    if not page.locator("#map-filters").evaluate("(box) => box.open"):
        page.get_by_text("筛选排污口").click()
    page.locator("#mf-town").select_option(label="碧水镇")
    expect(page).to_have_url(re.compile(r"town=\d+"))
    page.wait_for_function("() => document.querySelector('#map').dataset.state === 'ready' && "
                           "Number(document.querySelector('#map').dataset.outfallCount) < 60")
    in_town = wait_for_map(page)
    assert 0 < in_town < total

    # A cluster zooms in when chosen; at street zoom the server sends single outfalls, which are
    # clicked as a resident would.
    page.locator(".leaflet-marker-icon.mk-cluster").first.click()
    still = """() => { const map = window.portalMap.map;
        return !document.querySelector('.leaflet-zoom-anim') && !(map._panAnim && map._panAnim._inProgress); }"""
    page.wait_for_function("() => window.portalMap.map.getZoom() > 9")
    page.wait_for_function(still)
    wait_for_map(page)
    page.evaluate("""() => {
        const map = window.portalMap.map;
        const outfall = window.portalMap.singles()[0] || null;
        const centre = outfall ? [outfall.geometry.coordinates[1], outfall.geometry.coordinates[0]] : map.getCenter();
        map.setView(centre, 16, {animate: false});
    }""")
    page.wait_for_function("() => document.querySelector('#map').dataset.state === 'ready' && "
                           "window.portalMap.map.getZoom() === 16 && window.portalMap.singles().length > 0 && "
                           "window.portalMap.singles().every((f) => f.properties.kind === 'outfall')")
    code = page.evaluate("() => window.portalMap.singles()[0].properties.code")
    page.locator(f'.leaflet-marker-icon.mk:not(.mk-section)[title*="{code}"]').click()
    link = page.locator(".leaflet-popup a.map-popup-link")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    link.click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("h1")).to_contain_text("演示")


def test_map_in_english_and_back(page):
    page.goto("/")
    wait_for_map(page)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    wait_for_map(page)
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


def test_printed_signboard_shows_its_qr_code(page):
    page.goto("/outfalls/DEMO-HZ-001/sign")
    page.emulate_media(media="print")
    qr = page.locator("img.sign-qr")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", qr.element_handle())
    box = qr.bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


@pytest.mark.parametrize("path", ["/", "/outfalls", "/outfalls/DEMO-HZ-001", "/progress"])
def test_no_serious_or_critical_accessibility_violations(page, path):
    page.goto(path)
    if path == "/":
        wait_for_map(page)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                                  f"{[n['target'] for n in v['nodes'][:3]]}" for v in serious)
