"""Static files and packaged libraries: fingerprinted URLs, a year's cache, compressed bodies, 304s."""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest
import xstatic.pkg.leaflet
from flask import url_for

ROOT = Path(__file__).resolve().parent.parent
PORTAL_CSS = ROOT / "static" / "css" / "portal.css"
LEAFLET_JS = Path(xstatic.pkg.leaflet.BASE_DIR) / "leaflet.js"
YEAR = "public, max-age=31536000, immutable"


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_pages_link_static_files_and_libraries_by_their_content_hash(client):
    html = client.get("/reports/new").get_data(as_text=True)

    assert f'/static/css/portal.css?v={fingerprint(PORTAL_CSS)}"' in html
    assert f'/vendor/leaflet/leaflet.js?v={fingerprint(LEAFLET_JS)}"' in html
    assert not re.search(r'(?:src|href)="/(?:static|vendor)/[^"?]+"', html)  # none left without a hash


@pytest.mark.parametrize("path, file", [("/static/css/portal.css", PORTAL_CSS),
                                        ("/vendor/leaflet/leaflet.js", LEAFLET_JS)])
def test_the_current_hash_is_cached_a_year_and_any_other_address_briefly(client, path, file):
    with client.get(f"{path}?v={fingerprint(file)}") as current:
        assert current.status_code == 200 and current.headers["Cache-Control"] == YEAR
    for stale in (path, f"{path}?v=0123456789ab"):  # no hash, or a page cached before a deployment
        with client.get(stale) as response:
            assert response.status_code == 200 and response.data == file.read_bytes()
            assert "immutable" not in response.headers["Cache-Control"]
            assert re.fullmatch(r"public, max-age=\d{1,4}", response.headers["Cache-Control"])


@pytest.mark.parametrize("encoding, decompress", [("br", brotli.decompress), ("gzip", gzip.decompress)])
@pytest.mark.parametrize("path, file", [("/static/css/portal.css", PORTAL_CSS),
                                        ("/vendor/leaflet/leaflet.js", LEAFLET_JS)])
def test_text_files_go_out_compressed_and_decompress_to_the_file(client, path, file, encoding, decompress):
    with client.get(path, headers={"Accept-Encoding": encoding}) as response:
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert int(response.headers["Content-Length"]) == len(response.data) < file.stat().st_size / 2
        assert decompress(response.data) == file.read_bytes()


def test_brotli_is_preferred_and_a_browser_taking_neither_gets_the_file_as_it_is(client):
    with client.get("/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip, deflate, br"}) as both:
        assert both.headers["Content-Encoding"] == "br"
    with client.get("/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "identity"}) as plain:
        assert "Content-Encoding" not in plain.headers and plain.data == LEAFLET_JS.read_bytes()


def test_an_image_is_sent_as_it_is(client):
    share = ROOT / "static" / "img" / "share.png"
    with client.get("/static/img/share.png", headers={"Accept-Encoding": "br, gzip"}) as response:
        assert "Content-Encoding" not in response.headers and response.data == share.read_bytes()


def test_a_browser_holding_the_file_gets_304_per_encoding(client):
    url = f"/vendor/leaflet/leaflet.js?v={fingerprint(LEAFLET_JS)}"
    with client.get(url, headers={"Accept-Encoding": "br"}) as first:
        etag = first.headers["ETag"]
    with client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag}) as again:
        assert again.status_code == 304 and again.data == b""
        assert again.headers["Cache-Control"] == YEAR
    with client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}) as other:
        assert other.status_code == 200 and other.headers["Content-Encoding"] == "gzip"  # not the br bytes


def test_a_changed_file_gets_a_new_address(app, tmp_path):
    (tmp_path / "site.css").write_text("body { color: red }")
    app.static_folder = str(tmp_path)
    client = app.test_client()
    with app.test_request_context():
        before = url_for("static", filename="site.css")
        (tmp_path / "site.css").write_text("body { color: darkblue }")
        after = url_for("static", filename="site.css")

    assert before != after
    with client.get(before) as old_page_link:  # an old hash still gets the file, briefly cached
        assert old_page_link.status_code == 200 and old_page_link.data == b"body { color: darkblue }"
        assert "immutable" not in old_page_link.headers["Cache-Control"]
    with client.get(after) as current:
        assert current.headers["Cache-Control"] == YEAR


@pytest.mark.parametrize("path", ["/static/css/nothing.css", "/static/../portal/config.py",
                                  "/vendor/leaflet/../../../../etc/passwd", "/vendor/nope/leaflet.js"])
def test_no_file_outside_the_folders_and_no_missing_file_is_served(client, path):
    with client.get(path) as response:
        assert response.status_code == 404


def test_a_file_may_load_and_run_nothing_itself(client):
    """An SVG opened on its own is a document: it gets a policy that allows nothing."""
    with client.get("/static/favicon.svg") as response:
        assert response.headers["Content-Security-Policy"] == "default-src 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_too_large_to_keep_in_memory_is_streamed_with_the_same_caching(client, monkeypatch):
    from portal import static_assets

    monkeypatch.setattr(static_assets, "IN_MEMORY_MAX_BYTES", 0)
    monkeypatch.setattr(static_assets, "_assets", {})
    url = f"/static/css/portal.css?v={fingerprint(PORTAL_CSS)}"
    with client.get(url, headers={"Accept-Encoding": "identity"}) as response:
        assert response.status_code == 200 and response.data == PORTAL_CSS.read_bytes()
        assert response.headers["Cache-Control"] == YEAR
        etag = response.headers["ETag"]
    with client.get(url, headers={"Accept-Encoding": "identity", "If-None-Match": etag}) as again:
        assert again.status_code == 304
