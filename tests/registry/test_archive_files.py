"""An outfall's photos and documents: `portal import-photos` with the bureau's example folder, the
refusals a clerk sees (by row and column), PDFs that are not harmless, photos stripped of their
position, and files that never outlive a refusal or a removal."""
from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import ExifTags, Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import func, select

from factories import make_outfall
from portal import audit
from portal.db import transaction
from portal.extensions import db
from portal.models import AuditEntry, OutfallDocument, OutfallPhoto
from portal.photos import storage_for
from portal.registry import archive_files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bureau" / "photos"
HEADER = "排污口编码,文件名,类型,标题/说明,拍摄日期/文件日期\n"


@pytest.fixture
def outfalls(app):
    """The two outfalls the example manifest names (HZ-WS-001, HZ-GY-001), committed."""
    records = {"HZ-WS-001": make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", outfall_type="municipal_wwtp"),
               "HZ-GY-001": make_outfall("HZ-GY-001", name="呼中镇林产品加工厂排污口", outfall_type="industrial")}
    db.session.commit()
    return records


@pytest.fixture
def folder(tmp_path):
    """A copy of the bureau's example folder that a test may change."""
    target = tmp_path / "photos"
    shutil.copytree(EXAMPLES, target)
    return target


def stored_files(app) -> list[Path]:
    """Every file in the photo storage, staging area included."""
    root = storage_for(app).root
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def jpeg(colour=(40, 120, 200), size=(64, 48), exif=None) -> bytes:
    """A small JPEG, with ``exif`` if given."""
    buffer = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, colour).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def pdf(change=None) -> bytes:
    """A one-page PDF written by pypdf, after ``change(writer)`` if given."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if change:
        change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def with_javascript(writer) -> None:
    """An open action that runs a script when the document is opened."""
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert('hi')")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def with_launch(writer) -> None:
    """An open action that starts a program."""
    action = DictionaryObject({NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def write_manifest(folder: Path, rows: list[str]) -> None:
    """Replace the folder's manifest with these rows under the usual header."""
    (folder / "manifest.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


# The example folder through the command ---------------------------------------------------------

def test_the_example_folder_imports_photos_by_kind_and_the_permit(app, runner, outfalls):
    result = runner.invoke(args=["import-photos", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert "已新增照片 4 张、文件 1 份" in result.output

    plant = db.session.merge(outfalls["HZ-WS-001"])
    factory = db.session.merge(outfalls["HZ-GY-001"])
    assert sorted(p.kind for p in plant.photos) == ["sampling_point", "signboard"]
    assert sorted(p.kind for p in factory.photos) == ["after", "before"]
    signboard = next(p for p in plant.photos if p.kind == "signboard")
    assert signboard.caption == "呼中镇污水处理厂排污口标识牌（示例）"
    assert signboard.taken_at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() == "2026-09-15"
    assert signboard.content_type == "image/jpeg" and signboard.source.endswith("photos")
    [permit] = plant.documents
    original = (EXAMPLES / "hz-ws-001-permit.pdf").read_bytes()
    assert (permit.kind, permit.title, permit.issued_on.isoformat()) == (
        "permit", "呼中镇污水处理厂排污许可证（示例）", "2024-03-01")
    assert permit.sha256 == hashlib.sha256(original).hexdigest() and permit.size_bytes == len(original)
    storage = storage_for(app)
    assert storage.open(permit.storage_key) == original
    assert all(storage.open(p.storage_key).startswith(b"\xff\xd8") for p in plant.photos + factory.photos)
    assert len(stored_files(app)) == 5
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.in_(["outfall_photo_added", "outfall_document_added"]))) == 5


def test_importing_the_same_folder_again_stores_nothing_twice(app, runner, outfalls, folder):
    assert runner.invoke(args=["import-photos", str(folder)]).exit_code == 0
    files = stored_files(app)
    # The same files listed once more, for the same outfalls, under another name: still recognised.
    shutil.copy(folder / "hz-gy-001-before.jpg", folder / "copy.jpg")
    with (folder / "manifest.csv").open("a", encoding="utf-8") as manifest:
        manifest.write("HZ-GY-001,copy.jpg,整治前,同一张照片,2026-05-20\n")
    again = runner.invoke(args=["import-photos", str(folder)])
    assert again.exit_code == 0, again.output
    assert "已新增照片 0 张、文件 0 份，6 个已在档案中" in again.output
    assert stored_files(app) == files
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 4
    assert db.session.scalar(select(func.count()).select_from(OutfallDocument)) == 1


def test_a_dry_run_says_what_would_be_added_and_stores_nothing(app, runner, outfalls):
    result = runner.invoke(args=["import-photos", str(EXAMPLES), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "将新增照片 4 张、文件 1 份" in result.output and "试运行" in result.output
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0
    assert stored_files(app) == []


def test_an_xlsx_manifest_reads_as_the_csv_does(app, runner, outfalls, folder):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["照片与文件清单"])  # a title row above the header
    sheet.append(["排污口编码", "文件名", "类型", "标题/说明", "拍摄日期/文件日期"])
    sheet.append(["HZ-WS-001", "hz-ws-001-signboard.jpg", "标志牌", "标识牌", "2026-09-15"])
    sheet.append(["HZ-WS-001", "hz-ws-001-permit.pdf", "许可证", None, None])
    (folder / "manifest.csv").unlink()
    workbook.save(folder / "manifest.xlsx")
    result = runner.invoke(args=["import-photos", str(folder)])
    assert result.exit_code == 0, result.output
    plant = db.session.merge(outfalls["HZ-WS-001"])
    assert [p.kind for p in plant.photos] == ["signboard"]
    assert [(d.kind, d.title) for d in plant.documents] == [("permit", "排污许可证")]  # a blank title: the kind


# Refusals ---------------------------------------------------------------------------------------

def test_every_bad_row_is_refused_by_row_and_column_and_nothing_is_stored(app, runner, outfalls, folder, tmp_path):
    app.config["DOCUMENT_MAX_BYTES"] = 2048
    (tmp_path / "secret.jpg").write_bytes(jpeg())  # a real photo, but outside the folder
    (folder / "notes.jpg").write_text("会议纪要，不是照片", encoding="utf-8")
    (folder / "page.pdf").write_bytes(b"<html><script>alert(1)</script></html>")
    (folder / "big.pdf").write_bytes(pdf(lambda w: w.add_metadata({"/Subject": "x" * 3000})))
    (folder / "script.pdf").write_bytes(pdf(with_javascript))
    (folder / "locked.pdf").write_bytes(pdf(lambda w: w.encrypt("secret", algorithm="AES-128")))
    write_manifest(folder, [
        "HZ-WS-001,hz-ws-001-signboard.jpg,标识牌,好的一行,2026-09-15",  # row 2: fine
        "HZ-XX-999,hz-ws-001-signboard.jpg,标识牌,,",  # 3: unknown outfall
        "HZ-WS-001,missing.jpg,标识牌,,",  # 4: no such file
        "HZ-WS-001,../secret.jpg,标识牌,,",  # 5: outside the folder
        f"HZ-WS-001,{tmp_path / 'secret.jpg'},标识牌,,",  # 6: an absolute path
        "HZ-WS-001,notes.jpg,整治前,,",  # 7: not an image
        "HZ-WS-001,page.pdf,排污许可证,,",  # 8: not a PDF
        "HZ-WS-001,hz-ws-001-permit.pdf,整治前,,",  # 9: a PDF given a photo's kind
        "HZ-WS-001,hz-gy-001-after.jpg,合影,,",  # 10: an unknown kind
        "HZ-WS-001,big.pdf,监测报告,,",  # 11: too big
        "HZ-WS-001,hz-gy-001-after.jpg,整治后,,2026年13月1日",  # 12: no such date
        "HZ-WS-001,script.pdf,监测报告,,",  # 13: a PDF that runs a script
        "HZ-WS-001,locked.pdf,设置审批文件,,",  # 14: an encrypted PDF
    ])
    result = runner.invoke(args=["import-photos", str(folder)])
    assert result.exit_code == 1
    report = result.output
    assert "数据库未作任何更改" in report
    assert "第 3 行「排污口编码」：台账中没有编码为“HZ-XX-999”的排污口" in report
    assert "第 4 行「文件名」：文件夹中找不到文件“missing.jpg”" in report
    assert "第 5 行「文件名」：“../secret.jpg”不在导入的文件夹内" in report
    assert f"第 6 行「文件名」：“{tmp_path / 'secret.jpg'}”不在导入的文件夹内" in report
    assert "第 7 行「文件名」：“notes.jpg”：文件不是可识别的图片" in report
    assert "第 8 行「文件名」：“page.pdf”：文件不是 PDF 文档" in report
    assert "第 9 行「类型」：“整治前”是照片的类型，但“hz-ws-001-permit.pdf”是 PDF 文件" in report
    assert "第 10 行「类型」：无法识别的类型“合影”" in report
    assert "第 11 行「文件名」：“big.pdf”：文件过大（3.4 KB），每份文件最多 2 KB" in report
    assert "第 12 行「拍摄日期/文件日期」：“2026年13月1日”不是存在的日期" in report
    assert "第 13 行「文件名」：“script.pdf”：PDF 文件含有脚本" in report
    assert "第 14 行「文件名」：“locked.pdf”：PDF 文件已加密" in report
    assert "第 2 行" not in report
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0
    assert stored_files(app) == []


def test_a_link_inside_the_folder_that_leads_outside_is_refused(app, runner, outfalls, folder, tmp_path):
    (tmp_path / "secret.jpg").write_bytes(jpeg())
    (folder / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    write_manifest(folder, ["HZ-WS-001,link.jpg,标识牌,,", "HZ-WS-001,sub/../../secret.jpg,标识牌,,"])
    result = runner.invoke(args=["import-photos", str(folder)])
    assert result.exit_code == 1
    assert "第 2 行「文件名」：“link.jpg”指向导入的文件夹以外的位置" in result.output
    assert "第 3 行「文件名」：“sub/../../secret.jpg”不在导入的文件夹内" in result.output
    assert stored_files(app) == []


def test_a_folder_without_a_manifest_or_header_is_refused_whole(app, runner, outfalls, folder):
    (folder / "manifest.csv").unlink()
    result = runner.invoke(args=["import-photos", str(folder)])
    assert result.exit_code == 1 and "文件夹中没有清单 manifest.csv" in result.output
    (folder / "manifest.csv").write_text("编码,名称\nHZ-WS-001,x\n", encoding="utf-8")
    result = runner.invoke(args=["import-photos", str(folder)])
    assert result.exit_code == 1 and "找不到清单的表头" in result.output


def test_no_file_is_left_when_the_transaction_fails_after_the_import(app, outfalls, folder):
    with pytest.raises(RuntimeError):
        with transaction():
            result = archive_files.import_manifest(folder)
            assert result.photos_added == 4
            assert len(stored_files(app)) == 5  # staged, waiting for the commit
            raise RuntimeError("the database went away")
    assert stored_files(app) == []
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0


# PDFs and photos one by one ---------------------------------------------------------------------

@pytest.mark.parametrize("data,reason,words", [
    (pdf(with_javascript), "active_content", "脚本"),
    (pdf(with_javascript).replace(b"/JavaScript", b"/J#61vaScript"), "active_content", "脚本"),
    (pdf(with_launch), "active_content", "启动程序"),
    (pdf(lambda w: w.add_attachment("payload.exe", b"MZ...")), "active_content", "嵌入的附件"),
    (pdf(lambda w: w.encrypt("secret", algorithm="AES-128")), "encrypted", "已加密"),
    (b"<!doctype html><html><body>permit</body></html>", "not_a_pdf", "不是 PDF"),
    (pdf()[:-40], "truncated", "不完整"),
    (b"%PDF-1.7\nnothing here\n%%EOF\n", "broken", "已损坏"),
    (b"", "empty", "为空"),
], ids=["javascript", "javascript-hex-escaped", "launch", "embedded-file", "encrypted", "html-renamed",
        "truncated", "broken", "empty"])
def test_a_document_that_is_not_a_harmless_pdf_is_refused(app, outfalls, data, reason, words):
    outfall = db.session.merge(outfalls["HZ-WS-001"])
    with pytest.raises(archive_files.FileRefused) as refused:
        with transaction():
            archive_files.add_document(outfall, data, "permit.pdf", "permit", "排污许可证")
    assert refused.value.reason == reason and words in str(refused.value)
    assert db.session.scalar(select(func.count()).select_from(OutfallDocument)) == 0
    assert stored_files(app) == []


def test_a_photo_with_a_gps_position_is_stored_without_it(app, outfalls):
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (51.0, 59.0, 30.0), 3: "E", 4: (123.0, 36.0, 10.0)}
    exif[ExifTags.Base.Make] = "PhoneMaker"
    original = jpeg(exif=exif)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the camera wrote it
    outfall = db.session.merge(outfalls["HZ-GY-001"])
    with transaction():
        stored = archive_files.add_photo(outfall, original, "IMG_0001.jpg", "before", "排口现状", actor=audit.CLI_ACTOR)
    assert stored.new
    kept = storage_for(app).open(stored.record.storage_key)
    image = Image.open(io.BytesIO(kept))
    assert not image.getexif() and b"Exif" not in kept and b"PhoneMaker" not in kept
    assert (stored.record.width, stored.record.height) == (64, 48)


def test_a_photo_refused_by_the_pipeline_says_why(app, outfalls):
    outfall = db.session.merge(outfalls["HZ-GY-001"])
    with pytest.raises(archive_files.FileRefused) as refused:
        archive_files.add_photo(outfall, b"GIF89a not really", "x.gif", "before")
    assert refused.value.reason == "not_an_image" and "不是可识别的图片" in str(refused.value)
    with pytest.raises(archive_files.FileRefused) as refused:
        archive_files.add_photo(outfall, jpeg(), "x.jpg", "selfie")
    assert refused.value.reason == "kind"


def test_the_same_pdf_twice_for_one_outfall_is_kept_once_but_another_outfall_gets_its_own(app, outfalls):
    data = (EXAMPLES / "hz-ws-001-permit.pdf").read_bytes()
    plant, factory = db.session.merge(outfalls["HZ-WS-001"]), db.session.merge(outfalls["HZ-GY-001"])
    with transaction():
        first = archive_files.add_document(plant, data, "a.pdf", "permit", "许可证")
        second = archive_files.add_document(plant, data, "b.pdf", "approval", "另一个标题")
        other = archive_files.add_document(factory, data, "a.pdf", "permit", "许可证")
    assert first.new and not second.new and second.record.id == first.record.id and other.new
    assert len(stored_files(app)) == 2


def test_removing_a_file_deletes_it_after_the_commit_and_not_on_a_rollback(app, outfalls):
    outfall = db.session.merge(outfalls["HZ-GY-001"])
    with transaction():
        photo = archive_files.add_photo(outfall, jpeg(), "a.jpg", "after").record
        document = archive_files.add_document(outfall, pdf(), "a.pdf", "rectification", "验收意见").record
    photo_path = storage_for(app).path(photo.storage_key)
    document_path = storage_for(app).path(document.storage_key)
    with pytest.raises(RuntimeError):
        with transaction():
            archive_files.remove_photo(photo, audit.CLI_ACTOR)
            raise RuntimeError("changed my mind")
    assert photo_path.is_file()
    photo = db.session.get(OutfallPhoto, photo.id)
    with transaction():
        archive_files.remove_photo(photo, audit.CLI_ACTOR)
        archive_files.remove_document(document, audit.CLI_ACTOR)
        assert photo_path.is_file()  # not before the commit
    assert not photo_path.exists() and not document_path.exists()
    assert db.session.scalar(select(func.count()).select_from(OutfallPhoto)) == 0
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"outfall_photo_removed", "outfall_document_removed"} <= actions


def test_a_document_left_in_staging_by_a_crash_is_recovered_by_sweep_photos(app, runner, outfalls):
    import os
    import time

    outfall = db.session.merge(outfalls["HZ-WS-001"])
    document = archive_files.add_document(outfall, pdf(), "a.pdf", "permit", "许可证").record
    db.session.commit()  # the database commits, then the process dies before moving the file
    db.session.info.pop("portal.after_commit", None)
    db.session.info.pop("portal.on_rollback", None)
    [staged] = stored_files(app)
    assert staged.parent.name == ".staging"
    old = time.time() - 3 * 3600
    os.utime(staged, (old, old))
    result = runner.invoke(args=["sweep-photos", "--older-than-hours", "1"])
    assert result.exit_code == 0 and "已归位 1 个" in result.output
    assert storage_for(app).open(document.storage_key) == pdf()
