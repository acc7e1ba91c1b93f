"""Following reports in a real browser: the reporter's private page, the map's report layer, the list."""
from __future__ import annotations

import io
import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

XSS = "<img src=x onerror=\"window.hacked=1\">"

# What /api/v1/map?layer=reports answers at street zoom with one published report (the demo data has
# none): codes only, the page has the labels; the town is data, and carries markup to be shown as text.
REPORTS = {"type": "FeatureCollection", "zoom": 16, "cell": 0.00034, "bbox": [123.5, 52.0, 123.7, 52.1],
           "total": 1, "by_status": {"accepted": 1}, "features": [{
    "type": "Feature", "id": "K7M2Q9XA",
    "geometry": {"type": "Point", "coordinates": [123.589, 52.031]},
    "properties": {"kind": "report", "code": "K7M2Q9XA", "category": "dead_fish", "status": "accepted",
                   "town": "呼中镇" + XSS, "submitted_on": "2026-11-02", "me_too_count": 3,
                   "url": "/reports/K7M2Q9XA"},
}]}


def serious_violations(page):
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_the_report_layer_is_off_until_switched_on_and_links_to_the_report(page):
    requests = []
    page.route(re.compile(r".*/api/v1/map\?.*layer=reports.*"), lambda route: (
        requests.append(route.request.url),
        route.fulfill(status=200, content_type="application/geo+json", body=json.dumps(REPORTS)),
    ))
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute("data-state", "ready")
    assert requests == []  # nothing fetched for a layer nobody asked for
    assert page.locator(".mk-report").count() == 1  # only the legend's sample

    page.get_by_label("在地图上显示公开的举报").check()

    expect(page.locator("#map")).to_have_attribute("data-report-count", "1")
    expect(page.locator("#map-reports-status")).to_contain_text("1 份公开的举报")
    marker = page.locator(".leaflet-marker-icon.mk-report")
    expect(marker).to_have_count(1)
    assert "K7M2Q9XA" in marker.get_attribute("title")
    page.evaluate("""() => {
        const layer = window.portalMap.reports();
        layer.eachLayer((marker) => marker.openPopup());
    }""")
    link = page.locator(".leaflet-popup a.map-report-link")
    expect(link).to_have_attribute("href", "/reports/K7M2Q9XA")
    expect(page.locator(".leaflet-popup h3")).to_have_text("死鱼")
    expect(page.locator(".leaflet-popup")).to_contain_text("呼中镇" + XSS)  # text, not markup
    assert page.evaluate("() => window.hacked") is None

    page.get_by_label("在地图上显示公开的举报").uncheck()
    expect(page.locator(".leaflet-marker-icon.mk-report")).to_have_count(0)
    page.get_by_label("在地图上显示公开的举报").check()
    expect(page.locator(".leaflet-marker-icon.mk-report")).to_have_count(1)
    assert requests and all("bbox=" in url and "zoom=" in url for url in requests)  # the visible box only


def test_the_map_with_the_report_layer_on_has_no_serious_accessibility_violations(page):
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute("data-state", "ready")
    page.get_by_label("在地图上显示公开的举报").check()
    expect(page.locator("#map")).to_have_attribute("data-report-count", "0")
    expect(page.locator("#map-reports-status")).to_contain_text("目前没有")

    assert not serious_violations(page)


@pytest.mark.parametrize("path", ["/reports", "/reports?code=ZZZZ9999", "/reports/ZZZZ9999"])
def test_report_pages_have_no_serious_accessibility_violations(page, path):
    page.goto(path)

    assert not serious_violations(page)


def test_lookup_of_an_unknown_code_says_so_and_keeps_it(page):
    page.goto("/reports")
    page.get_by_role("textbox", name="按查询码查找举报").fill("zzzz 9999")
    page.get_by_role("button", name="查询").click()

    expect(page.get_by_role("alert")).to_contain_text("没有找到查询码")
    expect(page.get_by_role("textbox", name="按查询码查找举报")).to_have_value("zzzz 9999")


def submit_report(page, description: str) -> tuple[str, str]:
    """File a report through the form's field-name contract; give (tracking code, private link path)."""
    page.goto("/reports/new")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post("/reports/new", multipart={
        "csrf_token": token, "lat": "52.0306", "lon": "123.5888", "category": "dry_weather",
        "description": description, "reporter_name": "甄测试", "reporter_phone": "13900001234",
        "public": "y", "consent": "y", "submit": "提交举报",
    })
    assert response.ok and response.url.endswith("/submitted"), response.url
    # The request followed the redirect, and the confirmation shows the private link only that once.
    html = response.text()
    code = re.search(r'class="tracking-code">([^<]+)<', html).group(1).strip()
    return code, re.search(r'class="private-link" id="private-link" href="([^"]+)"', html).group(1)


def test_the_reporter_adds_a_photo_on_the_private_page_and_the_public_page_stays_impersonal(page, tmp_path):
    photo = tmp_path / "又排了.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 110, 120)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    code, private_link = submit_report(page, "晴天排水，管口有泡沫。")

    page.goto(private_link)
    expect(page.locator("main")).to_contain_text("13900001234")
    assert not serious_violations(page)
    page.get_by_label("补充说明").fill("今天早上七点又排了一次。")
    page.get_by_label("补充照片").set_input_files(str(photo))
    page.get_by_role("button", name="提交补充信息").click()

    expect(page.locator(".flash")).to_contain_text("已收到您补充的信息")
    expect(page.locator(".timeline")).to_contain_text("今天早上七点又排了一次。")
    thumbnail = page.locator(".report-photos img")
    expect(thumbnail).to_have_count(1)
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", thumbnail.element_handle())

    page.goto(f"/reports/{code}")
    expect(page.locator("main")).to_contain_text("待受理")
    for private in ("13900001234", "甄测试", "今天早上七点", "晴天排水，管口有泡沫。"):
        expect(page.locator("body")).not_to_contain_text(private)
    assert not serious_violations(page)
