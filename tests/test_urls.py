"""One builder of absolute URLs: every link that leaves the site names the portal as the public reaches it.

Each output that carries a link (QR code and signboard, GeoJSON, CSV, XLSX, the feed, the e-mail about
a new report) is read under three deployments: at the host's root, mounted under a sub-path by the
server (SCRIPT_NAME), and behind a public address that includes the sub-path (PUBLIC_BASE_URL).
"""
from __future__ import annotations

import csv
import io
import json
from io import BytesIO
from urllib.parse import urlsplit

import openpyxl
import pytest
import zxingcpp
from factories import make_event, make_outfall
from helpers import commit_and_forget
from PIL import Image
from sqlalchemy import select

from portal.config import ConfigError
from portal.db import transaction
from portal.extensions import db
from portal.models import OutboxMessage, Report
from portal import demo
from portal.urls import external_url

# (request's base URL, PUBLIC_BASE_URL, the root every absolute link must start with)
DEPLOYMENTS = {
    "root": ("http://portal.test/", "", "http://portal.test"),
    "script-name": ("http://portal.test/portal/", "", "http://portal.test/portal"),
    "public-base-with-path": ("http://portal.test/portal/", "https://hz.example.cn/portal", "https://hz.example.cn/portal"),
    "public-base-behind-prefix-stripping-proxy": ("http://portal.test/", "https://hz.example.cn/portal/",
                                                  "https://hz.example.cn/portal"),
}


class Deployment:
    """A test client mounted as a deployment says, and the root its absolute links must start with."""

    def __init__(self, client, base_url: str, root: str):
        self.client, self.base_url, self.root = client, base_url, root

    def get(self, path: str, **kwargs):
        """GET a path below the portal's root as this deployment serves it."""
        return self.client.get(path.lstrip("/"), base_url=self.base_url, **kwargs)

    def post(self, path: str, **kwargs):
        """POST to a path below the portal's root as this deployment serves it."""
        return self.client.post(path.lstrip("/"), base_url=self.base_url, **kwargs)


@pytest.fixture(params=list(DEPLOYMENTS), ids=list(DEPLOYMENTS))
def deployment(request, app):
    """The portal served under each deployment in turn."""
    base_url, public_base, root = DEPLOYMENTS[request.param]
    app.config["PUBLIC_BASE_URL"] = public_base
    return Deployment(app.test_client(), base_url, root)


@pytest.fixture
def outfall(app):
    """One located outfall with a change in its history (for the feed)."""
    record = make_outfall("HZ-U01", name="Test Outfall", longitude=123.5, latitude=52.0)
    make_event(record, field="status", old="not_started", new="in_progress")
    commit_and_forget()
    return "HZ-U01"


def test_qr_code_and_signboard(deployment, outfall):
    get, root = deployment.get, deployment.root
    png = get(f"/outfalls/{outfall}/qr.png")
    (barcode,) = zxingcpp.read_barcodes(Image.open(BytesIO(png.data)))
    assert barcode.text == f"{root}/outfalls/{outfall}"
    assert f"{root}/outfalls/{outfall}" in get(f"/outfalls/{outfall}/sign").text


def test_geojson_url_property(deployment, outfall):
    get, root = deployment.get, deployment.root
    (feature,) = json.loads(get("/api/v1/outfalls.geojson").data)["features"]
    assert feature["properties"]["url"] == f"{root}/outfalls/{outfall}"


def test_csv_and_xlsx_link_column(deployment, outfall):
    get, root = deployment.get, deployment.root
    response = get("/api/v1/outfalls.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    response.close()
    assert rows[1][-1] == f"{root}/outfalls/{outfall}"
    response = get("/api/v1/outfalls.xlsx")
    sheet = openpyxl.load_workbook(BytesIO(response.get_data()), read_only=True).active
    response.close()
    assert list(sheet.iter_rows(values_only=True))[1][-1] == f"{root}/outfalls/{outfall}"


def test_feed_links(deployment, outfall):
    from portal.models import Town

    get, root = deployment.get, deployment.root
    town = db.session.scalar(select(Town.id))
    feed = get(f"/feed.atom?town={town}").text
    assert f'href="{root}/outfalls/{outfall}"' in feed
    assert f'href="{root}/feed.atom?town={town}"' in feed
    assert f'href="{root}/outfalls?town={town}"' in feed
    assert "/portal/portal" not in feed


def test_email_about_a_new_report_links_its_public_page(deployment, app):
    with transaction():
        demo.seed()
    app.config["REPORT_NOTIFY_EMAILS"] = {"*": ["bureau@example.cn"]}
    response = deployment.post("/reports/new", content_type="multipart/form-data", data={
        "category": "direct_discharge", "description": "河边有一根管子往河里排灰色污水。", "consent": "y",
        "submit": "提交举报", "lat": "52.0306", "lon": "123.5888"})
    assert response.status_code == 303, response.text
    code = db.session.scalar(select(Report.tracking_code))
    (message,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
    assert f"{deployment.root}/reports/{code}" in message.body
    assert "/portal/portal" not in message.body
    mount = urlsplit(deployment.base_url).path.rstrip("/")
    confirmation = deployment.get(urlsplit(response.headers["Location"]).path.removeprefix(mount))
    assert f"{deployment.root}/reports/{code}</a>" in confirmation.text


def test_outside_a_request_the_public_base_url_is_used(app):
    app.config["PUBLIC_BASE_URL"] = "https://hz.example.cn/portal/"
    assert external_url("public.outfall_detail", code="HZ 1") == "https://hz.example.cn/portal/outfalls/HZ%201"


def test_outside_a_request_without_public_base_url_is_a_clear_error(app):
    app.config.update(PUBLIC_BASE_URL="", SERVER_NAME=None)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        external_url("public.outfall_detail", code="HZ-1")
