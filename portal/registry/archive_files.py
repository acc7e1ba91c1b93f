"""An outfall's photos and documents (一口一档): added, recognised when added twice, removed.

Photos go through the citizens' pipeline (``portal.photos.inspect_and_clean``): decoded, checked for
size and pixel count, re-drawn as a new JPEG without EXIF, GPS or any other metadata. Documents are
PDFs only, and only harmless ones: the bytes must be a PDF (``%PDF-`` at the start, ``%%EOF`` at the
end, parsed by pypdf), not encrypted, and without JavaScript, launch or import actions, embedded
files or rich media, since a downloaded archive file is opened by whoever reads the outfall's page.

Both kinds of file live in the one photo storage under random keys. Functions here only flush: the
file is staged at once and moved into place when the caller's ``transaction()`` commits (deleted
if it rolls back); a removed file is deleted after the commit. The same file added twice to the same
outfall (same SHA-256 of what is stored) is recognised and not stored again.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit, photos
from portal.db import after_commit
from portal.extensions import db
from portal.importing import FileRejected, RowError
from portal.models import Account, Outfall, OutfallDocument, OutfallPhoto
from portal.refusal import Refused
from portal.registry import vocabulary

PDF_CONTENT_TYPE = "application/pdf"
PDF_SUFFIX = ".pdf"
CAPTION_MAX = 200
TITLE_MAX = 200
SOURCE_MAX = 200
# A PDF with more objects than this is not an archive document but a way to keep the checker busy.
MAX_PDF_OBJECTS = 200_000
# What makes a PDF act rather than show: scripts, actions that start programs, fetch or send data,
# and files carried inside it. Read as names of dictionary keys, action types and annotation kinds.
ACTIVE_NAMES = frozenset({
    "/JavaScript", "/JS", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/RichMedia",
    "/RichMediaExecute", "/EmbeddedFiles", "/EmbeddedFile", "/FileAttachment", "/XFA",
})
# The same, found in the raw bytes (objects no reference reaches, which a viewer may still run). Only
# long names: a short one such as /JS would match compressed bytes by chance.
_RAW_ACTIVE = re.compile(rb"/(?:JavaScript|Launch|EmbeddedFiles?|RichMedia|ImportData|SubmitForm)(?![A-Za-z0-9])")

NOT_A_PDF = _l("文件不是 PDF 文档（只接受 PDF 格式的文件）")


class FileRefused(Refused):
    """A photo or document was refused; ``message`` says why in the user's language, ``reason`` is a
    stable code (the photo pipeline's reasons, or ``not_a_pdf``, ``truncated``, ``broken``,
    ``encrypted``, ``active_content``, ``too_large``, ``empty``, ``kind``)."""

    def __init__(self, message, reason: str):
        """A refusal with its message and its stable reason."""
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    """The record a file is kept as, and whether it was new (False: the same file was already there)."""

    record: OutfallPhoto | OutfallDocument
    new: bool


def is_pdf(data: bytes) -> bool:
    """Whether the bytes announce a PDF (what ``import-photos`` reads a file as; never the file name)."""
    return bytes(data[:5]) == b"%PDF-"


def clean_photo(data: bytes) -> photos.CleanPhoto:
    """The photo cleaned as citizens' photos are, within the portal's size limit; FileRefused if refused."""
    try:
        return photos.inspect_and_clean(data, max_bytes=current_app.config["REPORT_PHOTO_MAX_BYTES"],
                                        zone=current_app.config["TIMEZONE"])
    except photos.PhotoRejected as rejected:
        raise FileRefused(rejected.message, rejected.reason) from None


def check_pdf(data: bytes) -> None:
    """Refuse (FileRefused) anything but a complete, readable, unencrypted PDF without active content
    and within ``DOCUMENT_MAX_BYTES``."""
    limit = current_app.config["DOCUMENT_MAX_BYTES"]
    if not data:
        raise FileRefused(_l("文件为空（0 字节），请重新选择文件"), "empty")
    if len(data) > limit:
        raise FileRefused(_l("文件过大（%(size)s），每份文件最多 %(limit)s",
                             size=_size(len(data), up=True), limit=_size(limit)), "too_large")
    if not is_pdf(data):
        raise FileRefused(NOT_A_PDF, "not_a_pdf")
    if b"%%EOF" not in data[-2048:]:
        raise FileRefused(_l("PDF 文件不完整（缺少文件结尾标记），可能没有下载或复制完整"), "truncated")
    reader = _parse(data)
    if reader.is_encrypted:
        raise FileRefused(_l("PDF 文件已加密（设置了密码或权限限制），请上传未加密的文件"), "encrypted")
    if _RAW_ACTIVE.search(data) or _has_active_content(reader):
        raise FileRefused(_l("PDF 文件含有脚本、启动程序的动作或嵌入的附件，为安全起见不予接收；"
                             "请用“打印为 PDF”另存一份后上传"), "active_content")


def _size(size: int, up: bool = False) -> str:
    """A size as a clerk reads it: MB to one decimal, or KB under 1 MB; ``up`` rounds up, so that a
    file just over the limit never reads as the limit itself."""
    unit, name = (1024 * 1024, "MB") if size >= 1024 * 1024 else (1024, "KB")
    tenths = size * 10 / unit
    value = (math.ceil(tenths) if up else math.floor(tenths)) / 10
    return f"{value:.1f}".removesuffix(".0") + " " + name


def file_size(size: int) -> str:
    """A stored file's size as a page shows it (1.2 MB, 35 KB)."""
    return _size(size, up=True)


def _broken_pdf() -> FileRefused:
    """The refusal of a PDF that cannot be parsed."""
    return FileRefused(_l("PDF 文件已损坏，无法读取"), "broken")


def _parse(data: bytes):
    """The PDF read by pypdf, every page found; FileRefused if it cannot be."""
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about repairs; a repaired file is fine
            _quiet_pypdf()
            reader = PdfReader(io.BytesIO(data), strict=False)
            if not reader.is_encrypted and len(reader.pages) < 1:
                raise _broken_pdf()
    except FileRefused:
        raise
    except Exception as error:  # untrusted input: any failure to parse it is a refusal
        raise _broken_pdf() from error
    return reader


def _quiet_pypdf() -> None:
    """pypdf logs every repair of a damaged file as a warning: not an event worth the server's log."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _has_active_content(reader) -> bool:
    """Whether any object reachable from the trailer names a script, action, embedded file or form
    that acts (names are compared after pypdf decodes them, so ``/J#61vaScript`` is caught too)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    visited = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while stack:
                item = stack.pop()
                if isinstance(item, IndirectObject):
                    reference = (item.idnum, item.generation)
                    if reference in seen:
                        continue
                    seen.add(reference)
                    item = item.get_object()
                visited += 1
                if visited > MAX_PDF_OBJECTS:
                    raise _broken_pdf()
                if isinstance(item, DictionaryObject):  # streams too: their dictionary is read, not their data
                    for key, value in item.items():
                        if key in ACTIVE_NAMES or (isinstance(value, NameObject) and value in ACTIVE_NAMES):
                            return True
                        if not isinstance(value, NameObject):
                            stack.append(value)
                elif isinstance(item, ArrayObject):
                    for value in item:
                        if isinstance(value, NameObject):
                            if value in ACTIVE_NAMES:
                                return True
                        else:
                            stack.append(value)
    except FileRefused:
        raise
    except Exception as error:
        raise _broken_pdf() from error
    return False


def photo_kind(text: str) -> str | None:
    """The PHOTO_KINDS code a label, alias or code means, or None."""
    return _kind(vocabulary.PHOTO_KINDS, text)


def document_kind(text: str) -> str | None:
    """The DOCUMENT_KINDS code a label, alias or code means, or None."""
    return _kind(vocabulary.DOCUMENT_KINDS, text)


def _kind(vocab: vocabulary.Vocabulary, text: str) -> str | None:
    """The code of ``vocab`` that a code, label or alias means, or None."""
    if not text:
        return None
    if text in vocab.codes():
        return text
    term = vocab.lookup(text)
    return term.code if term else None


def existing_photo(outfall: Outfall, sha256: str) -> OutfallPhoto | None:
    """The outfall's photo whose stored image has this SHA-256, if any."""
    return db.session.scalar(select(OutfallPhoto).where(OutfallPhoto.outfall_id == outfall.id,
                                                         OutfallPhoto.sha256 == sha256).limit(1))


def existing_document(outfall: Outfall, sha256: str) -> OutfallDocument | None:
    """The outfall's document with this SHA-256, if any."""
    return db.session.scalar(select(OutfallDocument).where(OutfallDocument.outfall_id == outfall.id,
                                                            OutfallDocument.sha256 == sha256).limit(1))


def add_photo(outfall: Outfall, data: bytes | None, filename: str | None, kind: str, caption: str | None = None,
              taken_at: datetime | None = None, actor: Account | str = audit.CLI_ACTOR, source: str | None = None,
              *, cleaned: photos.CleanPhoto | None = None) -> Stored:
    """Add a photo to the outfall's archive (flush only); FileRefused if the photo or its kind is refused.

    ``cleaned`` is the photo already through ``clean_photo`` (an import checks every file first).
    ``taken_at`` defaults to the time the camera recorded. The photo's GPS position is dropped with
    the rest of its metadata: the outfall's own position is the one the public sees.
    """
    if kind not in vocabulary.PHOTO_KINDS.codes():
        raise FileRefused(_l("未知的照片类型“%(kind)s”", kind=kind), "kind")
    cleaned = cleaned or clean_photo(data or b"")
    existing = existing_photo(outfall, cleaned.sha256)
    if existing is not None:
        return Stored(existing, new=False)
    staged = photos.photo_batch(photos.storage_for(current_app)).stage(cleaned.image, ".jpg")
    photo = OutfallPhoto(
        outfall=outfall, kind=kind, storage_key=staged.key, content_type=cleaned.content_type,
        width=cleaned.width, height=cleaned.height, sha256=cleaned.sha256,
        taken_at=taken_at or cleaned.taken_at, caption=_clip(caption, CAPTION_MAX),
        uploaded_by_id=actor.id if isinstance(actor, Account) else None, source=_clip(source, SOURCE_MAX),
    )
    db.session.add(photo)
    db.session.flush()
    audit.record(actor, "outfall_photo_added", photo, label=outfall.code,
                 detail={"kind": kind, "filename": _clip(filename, 120), "source": photo.source})
    return Stored(photo, new=True)


def add_document(outfall: Outfall, data: bytes, filename: str | None, kind: str, title: str | None,
                 issued_on: date | None = None, actor: Account | str = audit.CLI_ACTOR,
                 source: str | None = None, *, checked: bool = False) -> Stored:
    """Add a PDF to the outfall's archive (flush only); FileRefused if it is not a harmless PDF.

    ``checked`` says ``check_pdf`` has already passed (an import checks every file first). A blank
    title becomes the kind's name.
    """
    if kind not in vocabulary.DOCUMENT_KINDS.codes():
        raise FileRefused(_l("未知的文件类型“%(kind)s”", kind=kind), "kind")
    data = bytes(data or b"")
    if not checked:
        check_pdf(data)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = existing_document(outfall, sha256)
    if existing is not None:
        return Stored(existing, new=False)
    staged = photos.photo_batch(photos.storage_for(current_app)).stage(data, PDF_SUFFIX)
    document = OutfallDocument(
        outfall=outfall, kind=kind, title=_clip(title, TITLE_MAX) or vocabulary.DOCUMENT_KINDS.display(kind),
        storage_key=staged.key, size_bytes=len(data), sha256=sha256, issued_on=issued_on,
        uploaded_by_id=actor.id if isinstance(actor, Account) else None, source=_clip(source, SOURCE_MAX),
    )
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "outfall_document_added", document, label=outfall.code,
                 detail={"kind": kind, "filename": _clip(filename, 120), "source": document.source})
    return Stored(document, new=True)


def remove_photo(photo: OutfallPhoto, actor: Account | str) -> None:
    """Remove a photo from its outfall's archive; its file is deleted once the removal commits."""
    audit.record(actor, "outfall_photo_removed", photo, label=photo.outfall.code,
                 detail={"kind": photo.kind, "caption": photo.caption})
    _delete_after_commit(photo.storage_key)
    db.session.delete(photo)
    db.session.flush()


def remove_document(document: OutfallDocument, actor: Account | str) -> None:
    """Remove a document from its outfall's archive; its file is deleted once the removal commits."""
    audit.record(actor, "outfall_document_removed", document, label=document.outfall.code,
                 detail={"kind": document.kind, "title": document.title})
    _delete_after_commit(document.storage_key)
    db.session.delete(document)
    db.session.flush()


def _delete_after_commit(key: str) -> None:
    """Delete a stored file once the transaction commits (never before: a rollback keeps the row).

    Only files the storage made (random keys) are deleted; a photo registered under a path of the
    ledger's (``HZ-001/before.jpg``) belongs to whoever put it there.
    """
    if not photos.KEY_PATTERN.fullmatch(key):
        return
    storage = photos.storage_for(current_app)
    after_commit(lambda: storage.delete(key))


def photo_of(outfall: Outfall, photo_id: int) -> OutfallPhoto | None:
    """The outfall's own photo with this id (another outfall's is None)."""
    return db.session.scalar(select(OutfallPhoto).where(OutfallPhoto.id == photo_id,
                                                         OutfallPhoto.outfall_id == outfall.id))


def document_of(outfall: Outfall, document_id: int) -> OutfallDocument | None:
    """The outfall's own document with this id (another outfall's is None)."""
    return db.session.scalar(select(OutfallDocument).where(OutfallDocument.id == document_id,
                                                            OutfallDocument.outfall_id == outfall.id))


def documents_of(outfall: Outfall) -> list[OutfallDocument]:
    """The outfall's documents in the order of DOCUMENT_KINDS, newest first within a kind."""
    order = {code: index for index, code in enumerate(vocabulary.DOCUMENT_KINDS.codes())}
    return sorted(outfall.documents, key=lambda d: (order.get(d.kind, len(order)),
                                                    -(d.issued_on or date.min).toordinal(), -d.id))


def _clip(text: str | None, limit: int) -> str | None:
    """Text stripped and cut to the column's length; None when blank."""
    text = (text or "").strip()
    return text[:limit] or None


# The manifest import (portal import-photos) ------------------------------------------------------
#
# A folder holds the files and manifest.csv (or manifest.xlsx), one file a row:
# 排污口编码, 文件名 (relative to the folder), 类型 (a PHOTO_KINDS label for an image, a DOCUMENT_KINDS
# label for a PDF: which one the file is comes from its bytes), 标题/说明 (a document's title, a photo's
# caption), 拍摄日期/文件日期 (a photo's day, a document's date of issue). Every row is checked, every
# file read and cleaned, before anything is stored: one bad row refuses the whole folder.

MANIFEST_NAMES = ("manifest.csv", "manifest.xlsx")
MANIFEST_MAX_BYTES = 5 * 1024 * 1024
MANIFEST_MAX_ROWS = 2000
MANIFEST_HEADER_ROWS = 10
MANIFEST_HEADERS = {
    "code": ("排污口编码", "编码", "排污口代码", "排口编码"),
    "filename": ("文件名", "文件", "文件名称", "照片文件", "路径"),
    "kind": ("类型", "种类", "照片类型", "文件类型", "类别"),
    "title": ("标题/说明", "标题", "说明", "题名", "照片说明", "文件标题"),
    "day": ("拍摄日期/文件日期", "拍摄日期", "文件日期", "日期", "签发日期", "发文日期"),
}
MANIFEST_COLUMNS = {name: spellings[0] for name, spellings in MANIFEST_HEADERS.items()}
_FIELD_BY_HEADER = {vocabulary.normalise_label(spelling): name
                    for name, spellings in MANIFEST_HEADERS.items() for spelling in spellings}


class ManifestRejected(FileRejected):
    """The folder was refused whole; nothing was written and no file stored."""

    noun = _l("照片与文件")
    untouched = _l("数据库未作任何更改，也未保存任何文件")

    @property
    def folder(self) -> str:
        """The folder's name (the file that was refused is the folder's manifest)."""
        return self.filename


@dataclass
class _ManifestRow:
    """One checked row, its file read and cleaned, ready to store."""

    number: int
    outfall: Outfall
    filename: str
    is_document: bool
    kind: str
    title: str | None
    day: date | None
    # The file, and the SHA-256 of what would be stored (the cleaned image of a photo, a PDF's bytes).
    # Bytes are not kept between the check and the writing: a folder of hundreds of 20 MB PDFs must
    # not sit in memory at once.
    path: object = None
    sha256: str = ""


@dataclass
class ManifestResult:
    """What an import did (or, in a dry run, would do)."""

    folder: str
    rows: int
    photos_added: int = 0
    documents_added: int = 0
    unchanged: int = 0
    unknown_headers: list[str] | None = None

    def report(self, dry_run: bool = False) -> str:
        """A summary a clerk can check against the manifest."""
        verb = "将新增" if dry_run else "已新增"
        lines = [f"照片与文件“{self.folder}”：清单 {self.rows} 行，{verb}照片 {self.photos_added} 张、"
                 f"文件 {self.documents_added} 份，{self.unchanged} 个已在档案中（未重复保存）。"]
        if self.unknown_headers:
            lines.append(f"未识别、已忽略的列：{'、'.join(self.unknown_headers)}")
        if dry_run:
            lines.append("（试运行：数据库未作任何更改，未保存任何文件。）")
        return "\n".join(lines)


def import_manifest(folder, dry_run: bool = False, actor: Account | str = audit.CLI_ACTOR) -> ManifestResult:
    """Import a folder of photos and PDFs listed in its manifest, all or nothing (flush only).

    Raises ManifestRejected naming each bad row and column; nothing is stored then. Re-importing
    the same folder adds nothing (files are recognised by SHA-256 per outfall).
    """
    from pathlib import Path

    folder = Path(folder)
    name = folder.name or str(folder)
    if not folder.is_dir():
        raise ManifestRejected(name, problem="不是文件夹")
    root = folder.resolve()
    columns, grid, unknown = _read_manifest(root, name)
    rows, errors = [], []
    outfalls: dict[str, Outfall | None] = {}
    for number, cells in grid:
        values = {field: _cell(cells, index) for field, index in columns.items()}
        if not any(values.values()):
            continue
        row_errors: list[RowError] = []
        row = _check_row(number, values, root, outfalls, row_errors)
        if row_errors:
            errors += row_errors
        elif row is not None:
            rows.append(row)
    if errors:
        raise ManifestRejected(name, errors)
    if not rows:
        raise ManifestRejected(name, problem="清单的表头下没有任何文件")
    result = ManifestResult(name, len(rows), unknown_headers=unknown)
    source = _clip(f"照片与文件导入 {name}", SOURCE_MAX)
    zone = _zone()
    seen: set[tuple[int, bool, str]] = set()
    for row in rows:
        if dry_run:
            known = (existing_document if row.is_document else existing_photo)(row.outfall, row.sha256)
            fresh = known is None and (row.outfall.id, row.is_document, row.sha256) not in seen
            seen.add((row.outfall.id, row.is_document, row.sha256))
        else:
            fresh = _write_row(row, name, actor, source, zone)
        if not fresh:
            result.unchanged += 1
        elif row.is_document:
            result.documents_added += 1
        else:
            result.photos_added += 1
    return result


def _write_row(row: _ManifestRow, folder: str, actor, source: str | None, zone) -> bool:
    """Store one checked row's file (checked again as it is read: it may have changed since); whether
    it was new. A file that no longer passes refuses the whole folder, which the rollback undoes."""
    try:
        data = row.path.read_bytes()
        if row.is_document:
            return add_document(row.outfall, data, row.filename, row.kind, row.title, row.day, actor, source).new
        # A day without a time: noon, so that the day reads the same in any zone near the district's.
        taken_at = datetime(row.day.year, row.day.month, row.day.day, 12, tzinfo=zone) if row.day else None
        return add_photo(row.outfall, data, row.filename, row.kind, row.title, taken_at, actor, source).new
    except FileRefused as refused:
        message = f"“{row.filename}”：{refused}（文件在检查后被改动）"
    except OSError as error:
        message = f"无法读取文件“{row.filename}”：{error.strerror or type(error).__name__}（文件在检查后被改动）"
    raise ManifestRejected(folder, [RowError(row.number, MANIFEST_COLUMNS["filename"], message)])


def _zone():
    """The district's time zone, in which a manifest's photo day is read."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_app.config["TIMEZONE"])


def _read_manifest(root, name: str):
    """field → column, the data rows (numbered as a spreadsheet shows them), unrecognised headers."""
    from portal.registry.ledger_format import clean_text

    found = [root / candidate for candidate in MANIFEST_NAMES if (root / candidate).is_file()]
    if not found:
        raise ManifestRejected(name, problem="文件夹中没有清单 manifest.csv（或 manifest.xlsx）")
    if len(found) > 1:
        raise ManifestRejected(name, problem="文件夹中同时有 manifest.csv 和 manifest.xlsx，请只保留一份清单")
    manifest = found[0]
    size = manifest.stat().st_size
    if size == 0:
        raise ManifestRejected(name, problem=f"清单 {manifest.name} 是空的")
    if size > MANIFEST_MAX_BYTES:
        raise ManifestRejected(name, problem=f"清单 {manifest.name} 过大（{size / 1048576:.1f} MB），"
                                             f"最大 {MANIFEST_MAX_BYTES // 1048576} MB")
    grid = _manifest_grid(manifest, name)
    for index, cells in enumerate(grid[:MANIFEST_HEADER_ROWS]):
        recognised = {c: _FIELD_BY_HEADER.get(vocabulary.normalise_label(clean_text(text)))
                      for c, text in enumerate(cells) if text is not None and clean_text(text)}
        if not {"code", "filename"} <= set(recognised.values()):
            continue
        columns, unknown = {}, []
        for c, field in recognised.items():
            if field and field not in columns:
                columns[field] = c
            elif not field:
                unknown.append(clean_text(cells[c]))
        if "kind" not in columns:
            raise ManifestRejected(name, problem=f"清单缺少必需的列：{MANIFEST_COLUMNS['kind']}")
        rows = [(number + 1, cells) for number, cells in enumerate(grid) if number > index]
        if len(rows) > MANIFEST_MAX_ROWS:
            raise ManifestRejected(name, problem=f"清单行数过多（{len(rows)} 行），一次最多 {MANIFEST_MAX_ROWS} 行")
        return columns, rows, unknown
    raise ManifestRejected(name, problem=f"找不到清单的表头：前 {MANIFEST_HEADER_ROWS} 行中没有一行同时含有"
                                         "“排污口编码”“文件名”“类型”")


def _manifest_grid(manifest, name: str) -> list[list]:
    """The manifest's cells, row by row: a CSV in any encoding Excel or WPS saves, or a workbook's first sheet."""
    from portal.registry.ledger_reader import LedgerFileError, _csv_grid, _refuse_zip_bomb

    try:
        if manifest.suffix == ".csv":
            return _csv_grid(manifest.read_bytes())
        import openpyxl

        _refuse_zip_bomb(manifest)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it ignores
            workbook = openpyxl.load_workbook(manifest, read_only=True, data_only=True)
            try:
                grid = []
                for values in workbook.worksheets[0].iter_rows(values_only=True):
                    grid.append(list(values[:50]))
                    if len(grid) > MANIFEST_MAX_ROWS + MANIFEST_HEADER_ROWS:
                        break
                return grid
            finally:
                workbook.close()
    except LedgerFileError as error:
        raise ManifestRejected(name, problem=f"清单 {manifest.name} 无法读取：{error}") from None
    except UnicodeDecodeError:
        raise ManifestRejected(name, problem=f"清单 {manifest.name} 以 UTF-8 标记开头，但内容不是有效的 UTF-8 文本") from None
    except Exception as error:  # a damaged or hostile workbook
        raise ManifestRejected(name, problem=f"清单 {manifest.name} 无法读取：文件已损坏或不是 .xlsx 格式"
                                             f"（{type(error).__name__}）") from None


def _cell(cells: list, column: int):
    """A cell's value: text stripped, a date as it is; "" when blank or beyond the row's end."""
    from portal.registry.ledger_format import clean_text

    value = cells[column] if column < len(cells) else None
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value
    return clean_text(value)


def _check_row(number: int, values: dict, root, outfalls: dict, errors: list) -> _ManifestRow | None:
    """One row read, its outfall found, its file read and checked; problems appended to ``errors``."""
    from portal.registry import queries
    from portal.registry.ledger_format import CellError, read_code, read_date

    def refuse(field: str, message) -> None:
        """Note a problem of this row in ``field``'s column."""
        errors.append(RowError(number, MANIFEST_COLUMNS[field], str(message)))

    outfall = None
    code_text = values.get("code", "")
    if not code_text:
        refuse("code", "未填写排污口编码")
    else:
        try:
            code = read_code(code_text)
        except CellError as error:
            refuse("code", error)
        else:
            if code not in outfalls:
                outfalls[code] = queries.outfall_by_code(code)
            outfall = outfalls[code]
            if outfall is None:
                refuse("code", f"台账中没有编码为“{code}”的排污口（请先导入台账）")

    title = values.get("title") or None
    if title and len(title) > TITLE_MAX:
        refuse("title", f"内容过长（{len(title)} 字），最多 {TITLE_MAX} 字")
    day = None
    if values.get("day"):
        try:
            day = read_date(values["day"])
        except CellError as error:
            refuse("day", error)

    # The kind's label says what the file should be; "其他", which both lists have, leaves it to the bytes.
    kind_text = values.get("kind", "")
    as_photo, as_document = photo_kind(kind_text), document_kind(kind_text)
    if not kind_text:
        refuse("kind", "未填写类型")
    elif as_photo is None and as_document is None:
        refuse("kind", f"无法识别的类型“{kind_text}”，照片可填：{'、'.join(vocabulary.PHOTO_KINDS.labels())}；"
                       f"PDF 文件可填：{'、'.join(vocabulary.DOCUMENT_KINDS.labels())}")

    filename = values.get("filename", "")
    path = _file_in_folder(filename, root, refuse)
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            data = handle.read(max(current_app.config["DOCUMENT_MAX_BYTES"],
                                   current_app.config["REPORT_PHOTO_MAX_BYTES"]) + 1)
    except OSError as error:
        refuse("filename", f"无法读取文件“{filename}”：{error.strerror or type(error).__name__}")
        return None
    if as_photo and as_document:
        is_document = is_pdf(data)
    elif as_photo:
        if is_pdf(data):
            refuse("kind", f"“{kind_text}”是照片的类型，但“{filename}”是 PDF 文件")
            return None
        is_document = False
    elif as_document:
        is_document = True  # a file that is not a PDF is refused by check_pdf, naming the file
    else:
        is_document = is_pdf(data)
    kind = as_document if is_document else as_photo
    row = _ManifestRow(number, outfall, filename, is_document, kind or "other", title, day, path)
    try:
        if is_document:
            check_pdf(data)
            row.sha256 = hashlib.sha256(data).hexdigest()
        else:
            row.sha256 = clean_photo(data).sha256
    except FileRefused as refused:
        refuse("filename", f"“{filename}”：{refused}")
        return None
    return row


def _file_in_folder(filename: str, root, refuse):
    """The file a manifest names, if it is a file inside the folder; None (and a refusal) otherwise.

    A name is relative to the folder: an absolute path, a drive, ``..`` or a link leading outside
    is refused, so that a manifest cannot pick files from elsewhere on the server.
    """
    from pathlib import PurePosixPath, PureWindowsPath

    if not filename:
        refuse("filename", "未填写文件名")
        return None
    relative = filename.replace("\\", "/")
    if (PurePosixPath(relative).is_absolute() or PureWindowsPath(filename).drive
            or ".." in PurePosixPath(relative).parts or "\x00" in relative):
        refuse("filename", f"“{filename}”不在导入的文件夹内：文件名须是相对于该文件夹的路径，不能以 / 开头或含有 ..")
        return None
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        refuse("filename", f"“{filename}”指向导入的文件夹以外的位置，不予读取")
        return None
    if path.name in MANIFEST_NAMES and path.parent == root:
        refuse("filename", f"“{filename}”是清单本身，不是照片或文件")
        return None
    if not path.is_file():
        refuse("filename", f"文件夹中找不到文件“{filename}”")
        return None
    return path
