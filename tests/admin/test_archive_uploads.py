"""The archive page's photos and documents in the back office: who sees the forms, uploads of several
photos (all stored or none), a PDF checked before it is kept and recognised when sent twice, removal."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from factories import make_outfall, make_town
from helpers import text_of
from portal.extensions import db
from portal.models import AuditEntry, OutfallDocument, OutfallPhoto
from portal.photos import storage_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bureau" / "photos"
PERMIT = (EXAMPLES / "hz-ws-001-permit.pdf").read_bytes()


def jpeg(colour=(30, 90, 160)) -> bytes:
    """A small JPEG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def stored_files(app) -> list[Path]:
    """Every file in the photo storage, staging area included."""
    root = storage_for(app).root
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def plant(app):
    """HZ-WS-001 in 呼中镇, committed."""
    outfall = make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", town=make_town("呼中镇"))
    db.session.commit()
    return outfall


@pytest.fixture
def admin_client(app, make_account, sign_in):
    """A client signed in as an administrator."""
    client = app.test_client()
    sign_in(client, make_account("admin"))
    return client


def upload_photos(client, files, kind="signboard", caption="排污口标识牌"):
    """POST photos (name, bytes) to HZ-WS-001's archive."""
    return client.post("/admin/outfalls/HZ-WS-001/photos", content_type="multipart/form-data",
                       data={"kind": kind, "caption": caption,
                             "photos": [(io.BytesIO(data), name) for name, data in files]})


def upload_document(client, data, name="permit.pdf", kind="permit", title="排污许可证", issued_on="2024-03-01"):
    """POST one document to HZ-WS-001's archive."""
    return client.post("/admin/outfalls/HZ-WS-001/documents", content_type="multipart/form-data",
                       data={"kind": kind, "title": title, "issued_on": issued_on, "document": (io.BytesIO(data), name)})


def test_an_administrator_uploads_several_photos_that_the_archive_then_shows(app, plant, admin_client):
    response = upload_photos(admin_client, [("IMG_1.jpg", jpeg()), ("IMG_2.jpg", jpeg((200, 40, 40)))])
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/outfalls/HZ-WS-001#files")
    photos = db.session.scalars(select(OutfallPhoto)).all()
    assert [(p.kind, p.caption) for p in photos] == [("signboard", "排污口标识牌")] * 2
    assert all(p.uploaded_by_id is not None for p in photos)
    assert len(stored_files(app)) == 2
    page = admin_client.get("/admin/outfalls/HZ-WS-001")
    assert "已上传 2 张照片" in text_of(page)
    html = page.get_data(as_text=True)
    assert html.count(f'/photos/{photos[0].storage_key}"') == 1 and "删除照片：排污口标识牌" in html
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "outfall_photo_added")) == 2
    again = upload_photos(admin_client, [("IMG_1.jpg", jpeg())])
    assert again.status_code == 303
    assert "1 张已在档案中，未重复保存" in text_of(admin_client.get("/admin/outfalls/HZ-WS-001"))
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 2


def test_one_bad_photo_among_good_ones_stores_none_and_names_it(app, plant, admin_client):
    response = upload_photos(admin_client, [("good.jpg", jpeg()), ("notes.jpg", "会议纪要".encode())])
    assert response.status_code == 422
    text = text_of(response)
    assert "照片“notes.jpg”：文件不是可识别的图片" in text and "所选文件均未保存" in text
    assert 'value="排污口标识牌"' in response.get_data(as_text=True)  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0
    assert stored_files(app) == []


def test_no_photo_chosen_or_an_unknown_kind_is_refused(app, plant, admin_client):
    assert "请选择要上传的照片" in text_of(upload_photos(admin_client, []))
    assert "请选择照片类型" in text_of(upload_photos(admin_client, [("a.jpg", jpeg())], kind="selfie"))
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0


def test_a_pdf_is_kept_once_and_served_from_the_archive_list(app, plant, admin_client):
    response = upload_document(admin_client, PERMIT)
    assert response.status_code == 303
    document = db.session.scalar(select(OutfallDocument))
    assert (document.kind, document.title, document.issued_on.isoformat(), document.size_bytes) == (
        "permit", "排污许可证", "2024-03-01", len(PERMIT))
    page = admin_client.get("/admin/outfalls/HZ-WS-001")
    assert "已上传文件“排污许可证”" in text_of(page)
    assert f'href="/outfalls/HZ-WS-001/documents/{document.id}"' in page.get_data(as_text=True)
    assert upload_document(admin_client, PERMIT, title="又一次").status_code == 303
    assert "这份文件已在档案中（“排污许可证”），未重复保存" in text_of(admin_client.get("/admin/outfalls/HZ-WS-001"))
    assert db.session.scalar(select(func.count()).select_from(OutfallDocument)) == 1
    assert len(stored_files(app)) == 1


@pytest.mark.parametrize("data,message", [
    (b"<html><body>permit</body></html>", "文件“permit.pdf”：文件不是 PDF 文档"),
    (PERMIT.replace(b"/Producer", b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> /Producer"),
     "含有脚本、启动程序的动作或嵌入的附件"),
    (b"", "文件“permit.pdf”：文件为空（0 字节）"),
])
def test_a_document_that_is_not_a_harmless_pdf_is_refused_with_what_was_typed(app, plant, admin_client, data, message):
    response = upload_document(admin_client, data, title="许可证扫描件")
    assert response.status_code == 422
    assert message in text_of(response)
    assert 'value="许可证扫描件"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutfallDocument)) == 0
    assert stored_files(app) == []


def test_a_date_that_is_not_one_is_refused(app, plant, admin_client):
    response = upload_document(admin_client, PERMIT, issued_on="2024-02-30")
    assert response.status_code == 422 and "“2024-02-30”不是日期" in text_of(response)


def test_removing_a_photo_or_document_deletes_its_file(app, plant, admin_client):
    upload_photos(admin_client, [("a.jpg", jpeg())])
    upload_document(admin_client, PERMIT)
    photo, document = db.session.scalar(select(OutfallPhoto)), db.session.scalar(select(OutfallDocument))
    assert len(stored_files(app)) == 2
    other = make_outfall("HZ-GY-001")
    db.session.commit()
    # Another outfall's code does not reach this outfall's files.
    assert admin_client.post(f"/admin/outfalls/HZ-GY-001/photos/{photo.id}/delete").status_code == 404
    assert admin_client.post(f"/admin/outfalls/{other.code}/documents/{document.id}/delete").status_code == 404
    assert admin_client.post(f"/admin/outfalls/HZ-WS-001/photos/{photo.id}/delete").status_code == 303
    assert admin_client.post(f"/admin/outfalls/HZ-WS-001/documents/{document.id}/delete").status_code == 303
    assert stored_files(app) == []
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0
    assert "已删除文件“排污许可证”" in text_of(admin_client.get("/admin/outfalls/HZ-WS-001"))
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"outfall_photo_removed", "outfall_document_removed"} <= actions


def test_the_town_uploads_in_its_own_town_and_others_only_look(app, plant, make_account, sign_in):
    town = app.test_client()
    sign_in(town, make_account("town", town=plant.town))
    assert 'id="upload-photos-heading"' in town.get("/admin/outfalls/HZ-WS-001").get_data(as_text=True)
    assert upload_photos(town, [("a.jpg", jpeg())]).status_code == 303

    auditor = app.test_client()
    sign_in(auditor, make_account("auditor"))
    page = auditor.get("/admin/outfalls/HZ-WS-001").get_data(as_text=True)
    assert 'id="files-heading"' in page and 'id="upload-photos-heading"' not in page and "删除照片" not in page
    assert upload_photos(auditor, [("b.jpg", jpeg((1, 2, 3)))]).status_code == 403
    photo = db.session.scalar(select(OutfallPhoto))
    assert auditor.post(f"/admin/outfalls/HZ-WS-001/photos/{photo.id}/delete").status_code == 403

    elsewhere = app.test_client()
    sign_in(elsewhere, make_account("town", town=make_town("碧水镇")))
    assert upload_photos(elsewhere, [("c.jpg", jpeg((9, 9, 9)))]).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 1


def test_a_refusal_reads_in_english_for_staff_who_chose_english(app, plant, admin_client):
    admin_client.get("/language/en")
    response = admin_client.post("/admin/outfalls/HZ-WS-001/documents", content_type="multipart/form-data",
                                 data={"kind": "permit", "title": "", "issued_on": "",
                                       "document": (io.BytesIO(b"<html></html>"), "permit.pdf")})
    assert response.status_code == 422
    text = text_of(response)
    assert "File “permit.pdf”: The file is not a PDF document" in text
    assert "None of the chosen files was stored" in text and "照片和文件" not in text
