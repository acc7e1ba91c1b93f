"""The back office's places: the waters file and the chiefs file uploaded (dry run, then import exactly
that file, logged), refusals by feature or by row and column, and the waters page with each board's
state and the action that marks a board updated."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import make_town, make_water_body
from portal import calendar
from portal.extensions import db
from portal.models import AuditEntry, RiverChief, WaterBody

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bureau"


def upload(client, kind: str, data: bytes, name: str):
    """Post a file to the upload page of ``kind`` (waters or chiefs)."""
    return client.post(f"/admin/{kind}/import", data={"upload": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def token_of(html: str) -> str:
    """The staged upload's token in a dry run's confirmation form."""
    return html.split('name="token" value="', 1)[1].split('"', 1)[0]


def count(model) -> int:
    """How many rows of a model are committed."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin_client(app, make_account, sign_in):
    """A client signed in as an administrator."""
    client = app.test_client()
    sign_in(client, make_account("admin"))
    return client


def test_waters_then_chiefs_are_dry_run_then_imported_and_logged(app, admin_client):
    for name in ("呼中镇", "碧水镇", "宏伟镇", "呼源镇"):
        make_town(name)
    db.session.commit()

    assert admin_client.get("/admin/waters/import").status_code == 200
    checked = upload(admin_client, "waters", (EXAMPLES / "waters.geojson").read_bytes(), "waters.geojson")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200, html
    assert "将新增 3 个" in html and "试运行" in html
    assert count(WaterBody) == 0
    done = admin_client.post("/admin/waters/import/confirm", data={"token": token_of(html)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/waters")
    assert count(WaterBody) == 3

    checked = upload(admin_client, "chiefs", (EXAMPLES / "chiefs.xlsx").read_bytes(), "河长名录.xlsx")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200, html
    assert "将新增 4 位" in html and count(RiverChief) == 0
    done = admin_client.post("/admin/chiefs/import/confirm", data={"token": token_of(html)})
    assert done.status_code == 302
    assert count(RiverChief) == 4
    listing = admin_client.get("/admin/waters").get_data(as_text=True)
    assert "已新增 4 位" in listing and "呼中水库" in listing
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"waters_imported", "chiefs_imported"} <= actions
    # The token is spent.
    again = admin_client.post("/admin/chiefs/import/confirm", data={"token": token_of(html)})
    assert again.status_code == 302 and again.headers["Location"].endswith("/admin/chiefs/import")
    assert count(RiverChief) == 4


def test_a_bad_chiefs_file_is_refused_by_row_and_column(app, admin_client):
    make_water_body("呼玛河")
    db.session.commit()
    bad = "姓名,级别,河湖,电话是否公开,联系电话\n王建国,区级,呼玛河,是,\n李明,部级,呼玛河,,\n".encode("utf-8-sig")

    response = upload(admin_client, "chiefs", bad, "chiefs.csv")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 2 行" in html and "电话是否公开" in html and "标记为公开，但没有填写电话" in html
    assert "第 3 行" in html and "“部级”不是河长级别" in html
    assert 'name="token"' not in html and count(RiverChief) == 0


def test_a_bad_waters_file_names_the_feature(app, admin_client):
    response = upload(admin_client, "waters", b'{"type": "FeatureCollection", "features": [{"type": "Feature", '
                      b'"properties": {"name": "x"}, "geometry": null}]}', "w.geojson")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 1 个要素（x）" in html and "缺少目标水质" in html


def test_an_empty_upload_is_asked_for_again(app, admin_client):
    response = admin_client.post("/admin/chiefs/import", data={}, content_type="multipart/form-data")

    assert response.status_code == 422 and "请选择文件" in response.get_data(as_text=True)


def test_the_waters_page_shows_overdue_boards_and_marks_one_updated(app, admin_client, monkeypatch):
    make_water_body("呼玛河", board_changed_on=date(2026, 11, 2))
    make_water_body("碧水河", board_changed_on=date(2026, 11, 2), board_updated_on=date(2026, 11, 3))
    db.session.commit()
    huma_id = db.session.scalar(select(WaterBody.id).where(WaterBody.name == "呼玛河"))
    monkeypatch.setattr(calendar, "_clock", lambda: datetime(2026, 11, 20, 2, tzinfo=timezone.utc))

    page = admin_client.get("/admin/waters").get_data(as_text=True)
    assert "已超过 15 天未更新" in page and "已是最新" in page
    assert "仍未更新现场公示牌" in app.test_client().get(f"/rivers/{huma_id}").get_data(as_text=True)

    done = admin_client.post("/admin/waters/board-updated", data={"water_id": huma_id})
    assert done.status_code == 302
    db.session.rollback()
    assert db.session.get(WaterBody, huma_id).board_updated_on == date(2026, 11, 20)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "river_board_updated"))
    assert "已超过 15 天未更新" not in admin_client.get("/admin/waters").get_data(as_text=True)
    assert "仍未更新现场公示牌" not in app.test_client().get(f"/rivers/{huma_id}").get_data(as_text=True)
    assert admin_client.post("/admin/waters/board-updated", data={"water_id": "x"}).status_code == 404


def test_only_the_bureau_uploads_or_marks_boards(app, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("town"))

    assert client.get("/admin/waters").status_code == 200
    assert "标记公示牌已更新" not in client.get("/admin/waters").get_data(as_text=True)
    assert client.get("/admin/chiefs/import").status_code == 403
    assert client.post("/admin/waters/board-updated", data={"water_id": 1}).status_code == 403


def test_a_refusal_reads_in_the_clerks_language(app, admin_client):
    make_water_body("呼玛河")
    db.session.commit()
    bad = "姓名,级别,河湖\n王建国,部级,胡玛河\n".encode("utf-8-sig")

    english = admin_client.post("/admin/chiefs/import?lang=en", data={"upload": (io.BytesIO(bad), "chiefs.csv")},
                                content_type="multipart/form-data").get_data(as_text=True)

    assert "2 problems found, nothing in the database was changed" in english
    assert "“部级” is not a river chief level" in english
    assert "there is no water with the name or code “胡玛河”; did you mean: 呼玛河?" in english


def test_a_waters_refusal_reads_in_english_too(app, admin_client):
    bad = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "x", '
           b'"target_class": "II"}, "geometry": {"type": "LineString", "coordinates": [[52.0, 123.4], [52.1, 123.5]]}}]}')

    english = admin_client.post("/admin/waters/import?lang=en", data={"upload": (io.BytesIO(bad), "w.geojson")},
                                content_type="multipart/form-data").get_data(as_text=True)

    assert "The waters file w.geojson was not imported" in english
    assert "Feature 1 (x): the position [52.0, 123.4] is outside WGS84" in english
    assert "longitude and latitude may be swapped" in english
