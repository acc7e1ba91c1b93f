"""The archive page's photos and documents (templates/admin/outfalls/_files.html): upload photos with
a kind and caption, upload one PDF with a kind, title and date, remove either.

A view reads the form and the files, calls ``registry.archive_files`` inside one transaction and goes
back to the archive page; a refusal draws the page again with the message and what was typed (the
files must be chosen again: a browser cannot be given them back). Several photos are all stored or,
when one is refused, none.
"""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access
from portal.admin.outfall_views import outfall_or_404
from portal.admin.guard import requires
from portal.db import transaction
from portal.refusal import Refused
from portal.registry import archive_files
from portal.registry import vocabulary as vocab

MAX_PHOTOS = 10  # photos in one upload


@requires("view_registry")
def archive_photos_upload(code: str):
    """Add the chosen photos, of one kind and with one caption, to the outfall's archive."""
    outfall = outfall_or_404(code, "upload_files")
    typed = {"part": "photos", "kind": request.form.get("kind", ""), "caption": request.form.get("caption", "")}
    uploads = []
    try:
        kind = _choice(typed["kind"], vocab.PHOTO_KINDS, _("请选择照片类型。"))
        caption = _text(typed["caption"], archive_files.CAPTION_MAX, _("说明"))
        uploads = _files("photos", current_app.config["REPORT_PHOTO_MAX_BYTES"])
        if not uploads:
            raise Refused(_("请选择要上传的照片。"))
        if len(uploads) > MAX_PHOTOS:
            raise Refused(_("一次最多上传 %(max)s 张照片，您选择了 %(n)s 张。", max=MAX_PHOTOS, n=len(uploads)))
        cleaned = []
        for name, data in uploads:  # every photo checked before any is stored
            try:
                cleaned.append((name, archive_files.clean_photo(data)))
            except archive_files.FileRefused as refused:
                raise Refused(_("照片“%(name)s”：%(reason)s", name=name or _("未命名"), reason=refused)) from None
        with transaction():
            stored = [archive_files.add_photo(outfall, None, name, kind, caption, None, current_user._get_current_object(),
                                              cleaned=photo) for name, photo in cleaned]
    except Refused as refused:
        return _refused(outfall, typed, refused, files_chosen=bool(uploads))
    added = sum(1 for item in stored if item.new)
    message = _("已上传 %(n)s 张照片。", n=added)
    if added < len(stored):
        message += " " + _("%(n)s 张已在档案中，未重复保存。", n=len(stored) - added)
    flash(message, "success")
    return redirect(url_for("admin.outfall", code=outfall.code, _anchor="files"), code=303)


@requires("view_registry")
def archive_document_upload(code: str):
    """Add one PDF, with its kind, title and date, to the outfall's archive."""
    outfall = outfall_or_404(code, "upload_files")
    typed = {"part": "document", "kind": request.form.get("kind", ""), "title": request.form.get("title", ""),
             "issued_on": request.form.get("issued_on", "")}
    uploads = []
    try:
        kind = _choice(typed["kind"], vocab.DOCUMENT_KINDS, _("请选择文件类型。"))
        title = _text(typed["title"], archive_files.TITLE_MAX, _("标题"))
        issued_on = _day(typed["issued_on"])
        uploads = _files("document", current_app.config["DOCUMENT_MAX_BYTES"])
        if len(uploads) != 1:
            raise Refused(_("请选择一份 PDF 文件。"))
        [(name, data)] = uploads
        try:
            with transaction():
                stored = archive_files.add_document(outfall, data, name, kind, title, issued_on,
                                                    current_user._get_current_object())
        except archive_files.FileRefused as refused:
            raise Refused(_("文件“%(name)s”：%(reason)s", name=name or _("未命名"), reason=refused)) from None
    except Refused as refused:
        return _refused(outfall, typed, refused, files_chosen=bool(uploads))
    if stored.new:
        flash(_("已上传文件“%(title)s”。", title=stored.record.title), "success")
    else:
        flash(_("这份文件已在档案中（“%(title)s”），未重复保存。", title=stored.record.title), "success")
    return redirect(url_for("admin.outfall", code=outfall.code, _anchor="files"), code=303)


@requires("view_registry")
def archive_photo_remove(code: str, photo_id: int):
    """Remove one of the outfall's photos; its file is deleted once the removal is committed."""
    outfall = outfall_or_404(code, "upload_files")
    photo = archive_files.photo_of(outfall, photo_id)
    if photo is None:
        abort(404)
    with transaction():
        archive_files.remove_photo(photo, current_user._get_current_object())
    flash(_("已删除照片。"), "success")
    return redirect(url_for("admin.outfall", code=outfall.code, _anchor="files"), code=303)


@requires("view_registry")
def archive_document_remove(code: str, document_id: int):
    """Remove one of the outfall's documents; its file is deleted once the removal is committed."""
    outfall = outfall_or_404(code, "upload_files")
    document = archive_files.document_of(outfall, document_id)
    if document is None:
        abort(404)
    title = document.title
    with transaction():
        archive_files.remove_document(document, current_user._get_current_object())
    flash(_("已删除文件“%(title)s”。", title=title), "success")
    return redirect(url_for("admin.outfall", code=outfall.code, _anchor="files"), code=303)


def files_context() -> dict:
    """What _files.html needs besides ``outfall`` and ``may``: the documents in order, and sizes."""
    return {"archive_documents": archive_files.documents_of, "file_size": archive_files.file_size}


def _refused(outfall, typed: dict, refused: Refused, files_chosen: bool):
    """The archive page again, with the refusal over the form it came from and what was typed."""
    message = str(refused)
    if files_chosen:
        message += _("（所选文件均未保存，请改正后重新选择。）")
    actions = {action: access.can(current_user, action, outfall) for action in access.OUTFALL_ACTIONS}
    return render_template("admin/outfalls/outfall.html", outfall=outfall, may=actions,
                           files_form={**typed, "error": message}), 422


def _files(field: str, limit: int) -> list[tuple[str, bytes]]:
    """The request's files under ``field``: (browser's file name, bytes read one past ``limit`` at most,
    enough to refuse a file too large). An input left empty is no file."""
    files = []
    for upload in request.files.getlist(field):
        try:
            data = upload.stream.read(limit + 1)
        finally:
            upload.close()
        name = (upload.filename or "").strip()[:120]
        if name or data:
            files.append((name, data))
    return files


def _choice(code: str, vocabulary: vocab.Vocabulary, missing: str) -> str:
    """A code of ``vocabulary``, or a refusal."""
    if code not in vocabulary.codes():
        raise Refused(missing)
    return code


def _text(text: str, limit: int, label: str) -> str | None:
    """Free text within ``limit`` characters and without control characters; None when blank."""
    text = (text or "").strip()
    if len(text) > limit:
        raise Refused(_("%(label)s过长（%(n)s 字），最多 %(max)s 字。", label=label, n=len(text), max=limit))
    if any(ord(c) < 32 and c not in "\t" or ord(c) == 127 for c in text):
        raise Refused(_("%(label)s含有不可见的控制字符，请删除后重新填写。", label=label))
    return text or None


def _day(text: str) -> date | None:
    """The form's date (YYYY-MM-DD, as a date input sends it), or a refusal naming what was typed."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(_("“%(text)s”不是日期，请按 2026-06-30 的格式填写。", text=text)) from None
