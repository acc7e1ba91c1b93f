"""The frame of every public page (templates/base.html): description, share card, favicon, and words
for residents only — no developer text, one name for each thing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import commit_and_forget, text_of

from portal.db import transaction
from portal import demo

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3400-\u9fff]")
PUBLIC_PAGES = ["/", "/outfalls", "/outfalls/DEMO-HZ-001", "/progress", "/rivers", "/data", "/reports",
                "/reports/new", "/outfalls/DEMO-HZ-001/sign"]


@pytest.fixture
def demo_data(app):
    """The invented demo registry, as `portal seed-demo` writes it."""
    with transaction():
        demo.seed()
    commit_and_forget()


def meta(html: str, attribute: str, name: str) -> str | None:
    """The content of <meta attribute="name" content="…">, or None when the page has none."""
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html)
    return match and match.group(1)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_page_has_a_description_and_a_share_card(client, demo_data, path):
    """Each page: a description, and og:title/description/image (an absolute URL) for share cards."""
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    description = meta(html, "name", "description")
    assert description and len(description) > 20
    assert meta(html, "property", "og:description") == description
    title = meta(html, "property", "og:title")
    assert title and "入河排污口" in title
    image = meta(html, "property", "og:image")
    assert re.fullmatch(r"http://portal\.test/static/img/share\.png\?v=[0-9a-f]{12}", image), image  # fingerprinted


def test_an_outfall_page_describes_that_outfall(client, demo_data):
    """An outfall's page describes that outfall, not the site in general."""
    html = client.get("/outfalls/DEMO-HZ-001").get_data(as_text=True)
    assert "DEMO-HZ-001" in meta(html, "name", "description")
    assert meta(html, "name", "description") != meta(client.get("/outfalls").get_data(as_text=True), "name",
                                                     "description")


def test_english_pages_describe_themselves_in_english(client, demo_data):
    """English pages carry English descriptions and an English share-card locale."""
    client.get("/language/en?next=/")
    for path in ("/", "/outfalls", "/progress", "/rivers", "/data"):
        html = client.get(path).get_data(as_text=True)
        description = meta(html, "name", "description")
        assert description and not CJK.search(description), (path, description)
        assert meta(html, "property", "og:locale") == "en_US"


def test_share_image_and_favicon_are_served(client):
    """The favicon the pages link to and the share image are served."""
    html = client.get("/outfalls").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    with client.get(icon) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data
    with client.get("/static/img/share.png") as response:
        assert response.status_code == 200
        assert response.data.startswith(b"\x89PNG")


DEVELOPER_WORDS = re.compile(r"portal [a-z]|import-areas|import-ledger|seed-demo|\bconfig\b|BASEMAP|TIANDITU_KEY")


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_no_developer_text_on_public_pages(client, demo_data, path):
    """No command names or setting names in what a resident reads."""
    text = text_of(client.get(path))
    assert not DEVELOPER_WORDS.search(text), DEVELOPER_WORDS.search(text).group(0)


def test_map_data_speaks_to_residents(client, demo_data):
    """The towns' boundary note the map shows (from the demo's boundaries) names no command."""
    towns = client.get("/api/v1/towns.geojson").get_json()
    sources = {feature["properties"]["boundary_source"] for feature in towns["features"]}
    assert sources and not any(DEVELOPER_WORDS.search(source or "") for source in sources)


def test_one_name_for_each_thing_in_pages_and_scripts():
    """查询码 (not 跟踪编号) and 私人链接 (not 个人链接) in every template and script the public sees."""
    files = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("static/js/*.js")]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "跟踪编号" not in text and "个人链接" not in text, path


def test_header_offers_report_button_menu_and_navigation(client):
    """Every page: 我要举报 as the header's button, a menu for phones, the navigation itself."""
    html = client.get("/outfalls").get_data(as_text=True)
    assert 'class="header-report"' in html and "我要举报" in html
    assert re.search(r'<button type="button" class="menu-button" id="menu-button" aria-expanded="false" '
                     r'aria-controls="site-nav" hidden>', html)
    assert '<a class="menu-link" href="#site-nav">' in html
    assert "js/site_menu.js" in html
    assert re.search(r'<nav class="site-nav" id="site-nav"', html)
