"""Reading the photos of a citizen's request, and the answer to a body too large to read (413)."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from portal.citizen.blueprint import bp, refused_before_view


def read_uploads(files) -> list[bytes]:
    """The uploaded photos' bytes, each read no further than one byte past the size limit (enough
    to refuse it), with the spooled temporary files closed at once."""
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"] + 1
    uploads = []
    for upload in files:
        try:
            data = upload.stream.read(limit)
        finally:
            upload.close()
        if data:
            uploads.append(data)
    return uploads


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """A request over MAX_CONTENT_LENGTH cannot be read at all, so only the message can be kept."""
    config = current_app.config
    message = _("上传的内容过大（最多约 %(mb)s MB，每张照片最多 %(photo_mb)s MB）。请减少或压缩照片后重试。",
                mb=config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                photo_mb=config["REPORT_PHOTO_MAX_BYTES"] // (1024 * 1024))
    return refused_before_view(message, 413)
