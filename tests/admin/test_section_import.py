"""The back office's sections upload: the example file dry-run first (nothing written), then imported
exactly as checked and logged; a bad file refused by row and column; the list; who may upload."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import make_outfall, make_town, make_water_body
from portal.extensions import db
from portal.models import AuditEntry, MonitoringSection

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bureau" / "sections.csv"


@pytest.fixture
def places(app):
    """The waters and the outfall the example file names."""
    huma = make_water_body("呼玛河", code="HMH", target_class="III")
    make_water_body("碧水河", code="BSH", target_class="II")
    make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", town=make_town("呼中镇"), water_body=huma,
                 outfall_type="municipal_wwtp", outfall_subtype="municipal_wwtp")
    db.session.commit()


def count_sections() -> int:
    """How many sections the database holds."""
    return db.session.scalar(select(func.count()).select_from(MonitoringSection))


def upload(client, data: bytes, name: str = "sections.csv"):
    """POST a sections file to the upload form (its dry run)."""
    return client.post("/admin/sections/import", data={"sections_file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_the_example_file_is_dry_run_then_imported(app, places, make_account, sign_in):
    admin = make_account("admin")
    client = app.test_client()
    sign_in(client, admin)
    assert client.get("/admin/sections/import").status_code == 200
    checked = upload(client, EXAMPLE.read_bytes())
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200, html
    assert "将新增 4 个" in html and "DM-HMH-02" in html and "试运行" in html
    assert count_sections() == 0  # the dry run wrote nothing
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/admin/sections/import/confirm", data={"token": token})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/sections")
    assert count_sections() == 4
    listing = client.get("/admin/sections").get_data(as_text=True)
    assert "已新增 4 个" in listing and "DM-HMH-GK" in listing and "国控断面" in listing
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sections_imported"))
    assert entry is not None and entry.actor_name == admin.username
    # The token is spent: confirming again imports nothing twice.
    again = client.post("/admin/sections/import/confirm", data={"token": token})
    assert again.status_code == 302 and again.headers["Location"].endswith("/admin/sections/import")


def test_a_bad_file_is_refused_by_row_and_column_and_nothing_is_written(app, places, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("admin"))
    bad = EXAMPLE.read_bytes().decode("utf-8-sig").replace("HZ-WS-001,下游", "HZ-WS-999,下游").encode()
    response = upload(client, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 4 行" in html and "关联排污口编码" in html and "没有编码为“HZ-WS-999”的排污口" in html
    assert 'name="token"' not in html  # nothing to confirm
    assert count_sections() == 0
    english = client.post("/admin/sections/import?lang=en",
                          data={"sections_file": (io.BytesIO(bad), "sections.csv")},
                          content_type="multipart/form-data").get_data(as_text=True)
    assert "1 problems found, nothing in the database was changed" in english
    assert "there is no outfall with the code “HZ-WS-999”; import the ledger first" in english


def test_a_confirmation_without_a_staged_file_is_refused(app, places, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("admin"))
    response = client.post("/admin/sections/import/confirm", data={"token": "x" * 32})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/sections/import")
    assert count_sections() == 0


def test_a_town_officer_sees_the_list_but_may_not_upload(app, places, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("town"))
    listing = client.get("/admin/sections")
    assert listing.status_code == 200 and "上传断面文件" not in listing.get_data(as_text=True)
    assert upload(client, EXAMPLE.read_bytes()).status_code == 403
    assert count_sections() == 0


def test_the_outfall_archive_lists_its_sections(app, places, make_account, sign_in, runner):
    assert runner.invoke(args=["import-sections", str(EXAMPLE)]).exit_code == 0
    client = app.test_client()
    sign_in(client, make_account("town", town=make_town("呼中镇")))
    html = client.get("/admin/outfalls/HZ-WS-001").get_data(as_text=True)
    assert 'id="archive-sections-heading"' in html
    assert '<a href="/sections/DM-HMH-02">DM-HMH-02（呼玛河呼中镇下游断面）</a>尚无监测数据' in html
    assert 'href="/admin/sections"' in html and 'href="/admin/sections/import"' not in html
