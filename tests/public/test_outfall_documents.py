"""The public outfall page's photos and documents: photos by kind, documents listed and served only as
downloads (attachment, application/pdf, nosniff, a sandbox), and only under their own outfall."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from factories import make_outfall
from helpers import commit_and_forget, text_of
from portal.db import transaction
from portal.extensions import db
from portal.models import OutfallDocument
from portal.photos import storage_for
from portal.registry import archive_files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bureau" / "photos"


@pytest.fixture
def archive(app):
    """HZ-WS-001 and HZ-GY-001 with the bureau's example photos and permit, imported and committed."""
    make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", outfall_type="municipal_wwtp")
    make_outfall("HZ-GY-001", name="呼中镇林产品加工厂排污口", outfall_type="industrial")
    with transaction():
        archive_files.import_manifest(EXAMPLES)
    permit = db.session.scalar(db.select(OutfallDocument))
    ids = {"permit": permit.id}
    commit_and_forget()
    return ids


def test_the_outfall_page_shows_photos_by_kind_and_lists_its_documents(client, archive):
    response = client.get("/outfalls/HZ-WS-001")
    html = response.get_data(as_text=True)
    photos = re.search(r'<section aria-labelledby="photos-heading">.*?</section>', html, re.S).group(0)
    assert re.findall(r"<h3>([^<]+)</h3>", photos) == ["标识牌", "采样点"]
    assert "呼中镇污水处理厂排污口标识牌（示例）" in photos
    documents = re.search(r'<section aria-labelledby="documents-heading">.*?</section>', html, re.S).group(0)
    link = f'/outfalls/HZ-WS-001/documents/{archive["permit"]}'
    assert f'href="{link}"' in documents
    page_text = text_of(response)
    assert "呼中镇污水处理厂排污许可证（示例）" in page_text and "排污许可证" in page_text
    assert "文件日期 2024年3月1日" in page_text and "PDF，1.1 KB" in page_text

    factory = client.get("/outfalls/HZ-GY-001").get_data(as_text=True)
    assert re.findall(r"<h3>([^<]+)</h3>", re.search(
        r'<section aria-labelledby="photos-heading">.*?</section>', factory, re.S).group(0)) == ["整治前", "整治后"]
    assert "暂无档案文件" in factory


def test_the_photos_on_the_page_are_served_as_cleaned_jpegs(client, archive):
    html = client.get("/outfalls/HZ-GY-001").get_data(as_text=True)
    sources = re.findall(r'<img src="(/photos/[^"]+)"', html)
    assert len(sources) == 2
    for source in sources:
        response = client.get(source)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data.startswith(b"\xff\xd8")


def test_a_document_is_served_as_a_download_that_cannot_run(client, archive):
    response = client.get(f"/outfalls/HZ-WS-001/documents/{archive['permit']}")
    assert response.status_code == 200
    assert response.data == (EXAMPLES / "hz-ws-001-permit.pdf").read_bytes()
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("HZ-WS-001-呼中镇污水处理厂排污许可证（示例）.pdf") in disposition
    assert f'filename=HZ-WS-001-{archive["permit"]}.pdf;' in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox") and "default-src 'none'" in policy
    again = client.get(f"/outfalls/HZ-WS-001/documents/{archive['permit']}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_document_is_found_only_under_its_own_outfall(client, archive):
    permit = archive["permit"]
    assert client.get(f"/outfalls/HZ-GY-001/documents/{permit}").status_code == 404  # another outfall's
    assert client.get(f"/outfalls/HZ-XX-404/documents/{permit}").status_code == 404  # no such outfall
    assert client.get(f"/outfalls/HZ-WS-001/documents/{permit + 1000}").status_code == 404
    assert client.get("/outfalls/HZ-WS-001/documents/permit").status_code == 404
    assert client.get("/outfalls/HZ-WS-001/documents/-1").status_code == 404


def test_a_document_whose_file_is_gone_is_not_found(app, client, archive):
    document = db.session.get(OutfallDocument, archive["permit"])
    storage_for(app).path(document.storage_key).unlink()
    assert client.get(f"/outfalls/HZ-WS-001/documents/{archive['permit']}").status_code == 404


def test_a_title_with_path_characters_gives_a_plain_file_name(client, app):
    outfall = make_outfall("HZ-WS-002")
    with transaction():
        document = archive_files.add_document(outfall, (EXAMPLES / "hz-ws-001-permit.pdf").read_bytes(), "x.pdf",
                                              "approval", '../批复"\r\n').record
    response = client.get(f"/outfalls/HZ-WS-002/documents/{document.id}")
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition.split("filename*")[0]
    assert "filename*=UTF-8''HZ-WS-002-.._" + quote("批复") in disposition
