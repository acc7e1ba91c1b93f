"""The public map at /: what it gives a browser (scripts, data, configuration) and what it shows without one."""
from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import make_outfall, make_plan, make_town, make_water_body
from helpers import commit_and_forget, counted_statements

from portal import create_app
from portal.config import ConfigError
from portal.calendar import today


class _Page(HTMLParser):
    """Elements by id, every element's attributes in order, and the text inside each id'd element."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.by_id: dict[str, dict] = {}
        self.text: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.script_bodies: list[tuple[dict, str]] = []
        self._script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        attributes["<tag>"] = tag
        self.elements.append((tag, attributes))
        if "id" in attributes:
            self.by_id[attributes["id"]] = attributes
            self.text[attributes["id"]] = ""
        if tag == "script":
            self._script = (attributes, [])
        if tag not in self.VOID:
            self._open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.script_bodies.append((self._script[0], "".join(self._script[1])))
            self._script = None
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)
        for _, element_id in self._open:
            if element_id:
                self.text[element_id] += data

    def all(self, tag, **attributes):
        """Elements with this tag whose attributes have these values."""
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attributes.items())]


def page(client, query=None) -> _Page:
    """The map page, parsed."""
    response = client.get("/", query_string=query or {})
    assert response.status_code == 200
    parser = _Page()
    parser.feed(response.get_data(as_text=True))
    return parser


def folded(text: str) -> str:
    return " ".join(text.split())


# --- what the browser gets -------------------------------------------------------------------------------------


def test_front_page_is_the_map_with_its_libraries_from_the_portal_itself(client):
    parsed = page(client)

    scripts = [a["src"].split("?")[0] for a in parsed.all("script") if "src" in a]  # without a fingerprint
    # The server clusters (/api/v1/map): no clustering library to download.
    assert scripts == ["/static/js/site_menu.js", "/vendor/leaflet/leaflet.js", "/static/js/basemap.js",
                       "/static/js/map.js"]
    styles = [a["href"].split("?")[0] for a in parsed.all("link", rel="stylesheet")]
    assert "/vendor/leaflet/leaflet.css" in styles
    assert "/static/css/map.css" in styles
    assert not any(src.startswith(("http:", "https:", "//")) for src in scripts + styles)  # no CDN


def test_vendor_files_and_the_maps_own_files_are_served(client):
    for path in ("/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css", "/static/js/map.js", "/static/css/map.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    leaflet = client.get("/vendor/leaflet/leaflet.js")
    assert b"Leaflet" in leaflet.get_data()[:2000] and "javascript" in leaflet.mimetype
    leaflet.close()


def test_map_element_carries_its_data_sources_and_a_name(client):
    parsed = page(client)

    element = parsed.by_id["map"]
    assert element["aria-label"]
    assert element["data-map-url"] == "/api/v1/map"
    assert element["data-towns-url"] == "/api/v1/towns.geojson"
    assert element["data-waters-url"] == "/api/v1/waters.geojson"
    latitude, longitude = json.loads(element["data-centre"])
    assert 51 < latitude < 53 and 122 < longitude < 125  # 呼中区
    assert client.get(element["data-map-url"], query_string={"bbox": "122,51,125,53", "zoom": "9"}).status_code == 200


def test_no_inline_script_runs_and_the_scripts_texts_are_data(client):
    parsed = page(client)

    inline = [(attributes, body) for attributes, body in parsed.script_bodies if "src" not in attributes]
    assert [attributes.get("type") for attributes, _ in inline] == ["application/json"]  # nothing a CSP would block
    strings = json.loads(inline[0][1])
    assert inline[0][0]["id"] == "map-strings"
    assert strings["details_link"] == "查看排污口详情"
    assert set(strings["status_labels"]) == {"not_started", "in_progress", "completed", "closed", "none"}
    assert strings["type_marks"] == {"industrial": "工", "municipal_wwtp": "城", "agricultural": "农", "other": "其"}
    assert "onclick" not in client.get("/").get_data(as_text=True)


def test_scripts_texts_are_translated(client):
    parsed = page(client, {"lang": "en"})

    strings = json.loads(parsed.text["map-strings"])
    assert strings["status_labels"]["closed"] == "Closed out"
    assert strings["type_marks"]["industrial"] == "I"


# --- basemap configuration ----------------------------------------------------------------------------------


def layers(client):
    element = page(client).by_id["map"]
    return element["data-basemap"], json.loads(element["data-basemap-layers"])


def test_openstreetmap_by_default_with_its_attribution(client):
    basemap, tile_layers = layers(client)

    assert basemap == "osm"
    (layer,) = tile_layers
    assert layer["url"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "openstreetmap.org/copyright" in layer["attribution"]


def test_tianditu_vector_map_with_chinese_labels_and_the_key(app, client):
    app.config.update(BASEMAP="tianditu", TIANDITU_KEY="abc123def456")

    basemap, (vector, labels) = layers(client)

    assert basemap == "tianditu"
    for layer, name in ((vector, "vec"), (labels, "cva")):
        url = urlsplit(layer["url"])
        assert url.scheme == "https" and url.netloc == "t{s}.tianditu.gov.cn" and url.path == f"/{name}_w/wmts"
        assert parse_qs(url.query) == {
            "SERVICE": ["WMTS"], "REQUEST": ["GetTile"], "VERSION": ["1.0.0"], "LAYER": [name], "STYLE": ["default"],
            "TILEMATRIXSET": ["w"], "FORMAT": ["tiles"], "TILEMATRIX": ["{z}"], "TILEROW": ["{y}"],
            "TILECOL": ["{x}"], "tk": ["abc123def456"],
        }
        assert layer["subdomains"] == "01234567"
    assert "天地图" in vector["attribution"]


def test_no_basemap_at_all(app, client):
    app.config["BASEMAP"] = "none"

    assert layers(client) == ("none", [])


@pytest.mark.parametrize("settings, problem", [
    ({"BASEMAP": "google"}, "BASEMAP"),
    ({"BASEMAP": "tianditu"}, "TIANDITU_KEY"),
    ({"BASEMAP": "tianditu", "TIANDITU_KEY": "  "}, "TIANDITU_KEY"),
    ({"BASEMAP": "tianditu", "TIANDITU_KEY": "abc&tk=x"}, "TIANDITU_KEY"),
])
def test_a_wrong_basemap_setting_stops_the_start(monkeypatch, tmp_path, settings, problem):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=problem):
        create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", **settings})


def test_basemap_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_BASEMAP", "tianditu")
    monkeypatch.setenv("PORTAL_TIANDITU_KEY", "1234567890")  # read as JSON: a number, kept as the key text
    app = create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
    assert (app.config["BASEMAP"], app.config["TIANDITU_KEY"]) == ("tianditu", "1234567890")
    assert create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "BASEMAP": "none"}).config["BASEMAP"] == "none"


# --- the page without JavaScript ------------------------------------------------------------------------------


def test_the_first_view_is_the_towns_extent_given_with_the_page(app, client):
    # Without a town boundary the map opens on the district seat and fits the towns once they come.
    assert json.loads(page(client).by_id["map"]["data-bounds"]) is None

    with app.app_context():
        make_town("呼中镇", boundary=json.dumps({"type": "Polygon", "coordinates": [
            [[123.1, 51.8], [123.9, 51.8], [123.9, 52.3], [123.1, 51.8]]]}))
        make_town("碧水镇", boundary=json.dumps({"type": "MultiPolygon", "coordinates": [
            [[[122.6, 51.5], [122.9, 51.5], [122.9, 51.7], [122.6, 51.5]]],
            [[[124.0, 52.6], [124.2, 52.6], [124.2, 52.9], [124.0, 52.6]]]]}))
        make_town("宏伟镇")  # no boundary: nothing to add
        commit_and_forget()

    # The box around every boundary, so the map asks for its outfalls without waiting for the towns.
    assert json.loads(page(client).by_id["map"]["data-bounds"]) == [122.6, 51.5, 124.2, 52.9]


def test_filter_form_is_labelled_and_every_field_has_a_label(client):
    make_town("呼源镇")
    make_water_body("碧水河")
    commit_and_forget()
    parsed = page(client)

    form = parsed.by_id["map-filter-form"]
    assert form["method"] == "get" and form["action"] == "/"
    assert folded(parsed.text[form["aria-labelledby"]]) == "筛选排污口"
    fields = [a for tag, a in parsed.elements if tag in ("select", "input") and a.get("type") != "hidden"]
    assert {a["name"] for a in fields} == {"type", "town", "water", "measure", "status", "overdue"}
    labelled = {a.get("for") for a in parsed.all("label")}
    assert all(a["id"] in labelled for a in fields)


def test_filters_come_back_from_the_url_and_the_list_link_keeps_them(client):
    town = make_town("呼源镇")
    town_id = town.id
    commit_and_forget()
    query = {"type": "industrial", "town": str(town_id), "status": "in_progress", "overdue": "1", "q": "木材"}

    parsed = page(client, query)

    assert [a["value"] for a in parsed.all("option") if "selected" in a] == ["industrial", str(town_id),
                                                                             "in_progress"]
    assert "checked" in parsed.by_id["mf-overdue"]
    assert [a["value"] for a in parsed.all("input", type="hidden", name="q")] == ["木材"]  # kept, though not shown
    link = urlsplit(parsed.by_id["map-list-link"]["href"])
    assert link.path == "/outfalls"
    assert parse_qs(link.query) == {k: [v] for k, v in query.items()}


def test_counts_of_what_the_map_shows_by_status_without_javascript(client):
    now = today()
    for number, status in enumerate(["not_started", "not_started", "in_progress", "completed", "closed"]):
        make_outfall(f"HZ-M{number}", longitude=123.5, latitude=52.0,
                     plan={"status": status, "deadline": now - timedelta(days=1)})
    make_outfall("HZ-M8", longitude=123.5, latitude=52.0, plan=None)
    make_outfall("HZ-M9", plan={"status": "in_progress"})  # no coordinates
    commit_and_forget()

    parsed = page(client)

    rows = [a["data-status"] for a in parsed.all("tr") if "data-status" in a]
    assert rows == ["not_started", "in_progress", "completed", "closed", "none", "overdue"]
    text = folded(parsed.text["map-summary-table"].replace("!", ""))
    assert "未开始 2 整治中 1 已完成 1 已销号 1 尚无整治方案 1 其中已逾期 3" in text
    assert "共 7 个" in folded(parsed.text["map-status"]) and "6 个有坐标" in folded(parsed.text["map-status"])
    assert "另有 1 个" in folded(parsed.text["map-unlocated"])
    # Each count leads to the list of those outfalls.
    overdue_link = [a["href"] for a in parsed.all("a", **{"class": "count"}) if "overdue=1" in a["href"]]
    assert overdue_link == ["/outfalls?overdue=1"]


def test_counts_follow_the_filter(client):
    make_outfall("HZ-A1", outfall_type="industrial", longitude=123.5, latitude=52.0, plan={"status": "closed"})
    make_outfall("HZ-A2", outfall_type="other", longitude=123.5, latitude=52.0, plan={"status": "closed"})
    commit_and_forget()

    text = folded(page(client, {"type": "industrial"}).text["map-summary-table"])

    assert "已销号 1" in text


def test_legend_is_text_for_statuses_types_and_shapes(client):
    legend = folded(page(client).text["map-legend"])

    for words in ("未开始", "整治中", "已完成", "已销号", "尚无整治方案", "已逾期",
                  "工业排污口", "城镇污水处理厂排污口", "农业排口", "其他排口", "镇界", "河流"):
        assert words in legend, words


def test_near_me_is_offered_only_to_browsers_that_run_the_script(client):
    parsed = page(client)

    assert "hidden" in parsed.by_id["map-near"]  # map.js shows it where geolocation exists
    assert parsed.by_id["near-me-button"]["type"] == "button"


def test_navigation_marks_the_map_as_the_current_page(client):
    parsed = page(client)

    current = [a for a in parsed.all("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == ["/"]


def test_map_page_statement_count_does_not_grow_with_outfalls(app, client):
    app.extensions.pop("portal.page_cache", None)  # what rendering costs (a cached visit: tests/public/test_cached_pages.py)
    def add(first, count):
        for number in range(first, first + count):
            outfall = make_outfall(f"HZ-S{number:03d}", longitude=123.5, latitude=52.0,
                                   plan={"status": "in_progress", "deadline": today() - timedelta(days=1)})
            make_plan(outfall, measure="merge")

    add(0, 5)
    commit_and_forget()
    with counted_statements() as few:
        page(client)
    add(5, 45)
    commit_and_forget()
    with counted_statements() as many:
        assert "整治中 50" in folded(page(client).text["map-summary-table"])

    assert len(many) == len(few) <= 4, many


def test_unreadable_parameters_are_dropped_from_the_page_and_its_form(client):
    make_outfall("HZ-A1", outfall_type="industrial", longitude=123.5, latitude=52.0)
    commit_and_forget()

    parsed = page(client, {"type": "factory", "bbox": "1,2", "town": "呼中镇"})

    # The map's script fetches with the form's parameters, so it never asks the API for what it refuses.
    assert not parsed.all("input", type="hidden", name="bbox")
    assert not [a for a in parsed.all("option") if "selected" in a]
    assert "共 1 个" in folded(parsed.text["map-status"])
