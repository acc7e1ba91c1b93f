"""Reading the photos of a citizen's request, keeping them across a preview, and the answer to a body
too large to read (413)."""
from __future__ import annotations

import dataclasses
import secrets

from flask import current_app, request, session
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from portal.citizen.blueprint import bp, refused_before_view
from portal.photos import Upload
from portal.reports.intake import StagedPhoto, still_staged


def read_uploads(files) -> list[Upload]:
    """The request's photos, each read no further than one byte past the size limit (enough to
    refuse it), with the spooled temporary files closed at once.

    A part with neither a file name nor bytes is a file input left empty, and is no photo; a named
    file of zero bytes is kept, so that it is refused by name rather than silently dropped.
    """
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"] + 1
    uploads = []
    for upload in files:
        try:
            data = upload.stream.read(limit)
        finally:
            upload.close()
        name = (upload.filename or "").strip()
        if name or data:
            uploads.append(Upload(filename=name[:120], data=data))
    return uploads


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """A request over MAX_CONTENT_LENGTH, or of more parts than MAX_FORM_PARTS, cannot be read at
    all, so only the message can be kept; it says which of the two it was."""
    config = current_app.config
    if request.content_length is not None and request.content_length <= config["MAX_CONTENT_LENGTH"]:
        message = _("一次提交的文件太多（每份举报最多 %(n)s 张照片）。请减少照片后重试。",
                    n=config["REPORT_PHOTO_LIMIT"])
    else:
        message = _("上传的内容过大（最多约 %(mb)s MB，每张照片最多 %(photo_mb)s MB）。请减少或压缩照片后重试。",
                    mb=config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                    photo_mb=config["REPORT_PHOTO_MAX_BYTES"] // (1024 * 1024))
    return refused_before_view(message, 413)


# Photos kept across a preview ------------------------------------------------------------------------

STAGED_FIELD = "staged_photos"  # the hidden field of the report form carrying the kept photos
_STAGED_SALT = "portal.citizen.staged-photos"
_STAGED_OWNER = "photo_owner"  # session key: a random id binding the kept photos to this visitor
STAGED_MAX_AGE = 24 * 3600  # seconds: as long as `portal sweep-photos` keeps staged files by default


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_STAGED_SALT)


def staged_token(photos: list[StagedPhoto]) -> str:
    """The hidden field's value naming the kept photos: signed, and bound to this visitor's session,
    so that nobody can claim a staged file that is not theirs; empty when there are none."""
    if not photos:
        return ""
    owner = session.get(_STAGED_OWNER) or secrets.token_urlsafe(16)
    session[_STAGED_OWNER] = owner
    return _serializer().dumps({"owner": owner, "photos": [dataclasses.astuple(photo) for photo in photos]})


def staged_from_form() -> list[StagedPhoto]:
    """The kept photos the form names, if its token is genuine, this visitor's and recent, and
    their files are still staged; none otherwise."""
    token = request.form.get(STAGED_FIELD, "")
    if not token:
        return []
    try:
        data = _serializer().loads(token, max_age=STAGED_MAX_AGE)
        if not session.get(_STAGED_OWNER) or data["owner"] != session[_STAGED_OWNER]:
            return []
        photos = [StagedPhoto(*map(str, row[:2]), *map(int, row[2:4]), str(row[4])) for row in data["photos"]]
    except (BadSignature, KeyError, TypeError, ValueError, IndexError):
        return []
    return still_staged(photos)
