"""Public pages of the registry. URLs here are permanent: signboards print them as QR codes."""
from __future__ import annotations

import re
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, render_template, request

from portal import calendar
from portal.data_version import REGISTRY
from portal.page_cache import cached_page
from portal.monitoring import results
from portal.photos import KEY_PATTERN, storage_for
from portal.public import bp, outfall_record
from portal.registry import archive_files, queries, record
from portal.registry.filters import OutfallFilter, page_number

PHOTO_MAX_AGE = 24 * 3600  # a registered photo never changes under its key
# A downloaded document that a browser shows anyway is a sandboxed page that may load nothing.
DOCUMENT_POLICY = "sandbox; default-src 'none'"
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|;]')


@bp.get("/outfalls")
@cached_page(REGISTRY)
def outfall_list():
    """The list of outfalls: the map's accessible twin, filtered, sorted and paged by URL."""
    outfall_filter = OutfallFilter.from_args(request.args)
    sort = request.args.get("sort", "code")
    page = page_number(request.args.get("page"))
    pagination = queries.outfall_page(outfall_filter, sort=sort, page=page,
                                      per_page=current_app.config["OUTFALLS_PER_PAGE"])
    return render_template("public/outfall_list.html", pagination=pagination, filter=outfall_filter,
                           search=outfall_filter.search, sort=sort, choices=queries.filter_choices(),
                           today=calendar.today())


@bp.get("/outfalls/<code>")
@cached_page(REGISTRY)
def outfall_detail(code: str):
    """One outfall's record (一口一档): facts, map, stages, people, plan, timeline, photos, monitoring."""
    outfall = queries.outfall_by_code(code)
    if outfall is None:
        abort(404)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    today = calendar.today()
    matrix = results.sample_matrix(outfall.samples, zone)
    return render_template(
        "public/outfall_detail.html", outfall=outfall, today=today, matrix=matrix,
        charts=outfall_record.parameter_charts(matrix), verdict_label=outfall_record.verdict_label,
        describe_limit=outfall_record.describe_limit, stage_dates=record.stage_dates(outfall, zone),
        milestones=record.milestones(outfall, zone, today), chiefs=record.stretch_chiefs(outfall),
        photo_groups=outfall_record.photos_by_kind(outfall.photos), map_data=outfall_record.map_data(outfall),
        report_url=outfall_record.report_url(outfall.code),
        documents=archive_files.documents_of(outfall), file_size=archive_files.file_size,
        # 监测依据: which standard or permit judges the effluent now, and why.
        basis=outfall_record.monitoring_basis(outfall, today), standard_label=outfall_record.standard_label,
        parameter_name=outfall_record.parameter_name, parameter_heading=outfall_record.parameter_heading,
        condition_text=outfall_record.condition_text,
        bounds_text=outfall_record.bounds_text,
    )


@bp.get("/photos/<path:storage_key>")
def outfall_photo(storage_key: str):
    """A registered outfall photo from the photo storage; nothing else is ever served from it."""
    photo = queries.photo_by_key(storage_key)
    if photo is None or photo.content_type not in outfall_record.SAFE_PHOTO_TYPES:
        abort(404)
    return _stored_file(photo.storage_key, photo.content_type, photo.sha256)


@bp.get("/outfalls/<code>/documents/<int:document_id>")
def outfall_document(code: str, document_id: int):
    """One of the outfall's documents (a checked PDF), always as a download: the browser saves it
    instead of opening it inside the portal's origin, and a sandbox keeps it from running anything."""
    outfall = queries.outfall_by_code(code)
    document = archive_files.document_of(outfall, document_id) if outfall is not None else None
    if document is None:
        abort(404)
    response = _stored_file(document.storage_key, archive_files.PDF_CONTENT_TYPE, document.sha256,
                            download_name=(f"{outfall.code}-{document.title}.pdf", f"{outfall.code}-{document.id}.pdf"))
    response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    return response


def _stored_file(key: str, content_type: str, sha256: str,
                 download_name: tuple[str, str] | None = None) -> Response:
    """A file from the photo storage, the one way stored files are served: the type the database
    recorded (never sniffed), cached by its SHA-256, a download when ``download_name`` (the name,
    and a plain ASCII one for old browsers) is given; 404 when the file is missing."""
    try:
        data = _read_stored(storage_for(current_app), key)
    except (OSError, ValueError):
        abort(404)
    response = Response(data, mimetype=content_type)
    response.cache_control.public = True
    response.cache_control.max_age = PHOTO_MAX_AGE
    response.set_etag(sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download_name is not None:
        response.headers.set("Content-Disposition", "attachment", **_download_names(*download_name))
    return response.make_conditional(request)


def _read_stored(storage, key: str) -> bytes:
    """A stored file's bytes: under a random key the storage made (uploads, imports), else under the
    path a ledger named (``HZ-001/before.jpg``)."""
    if KEY_PATTERN.fullmatch(key):
        try:
            return storage.open(key)
        except FileNotFoundError:
            pass  # a ledger's path may look like a key; try it as one
    return storage.open_registered(key)


def _download_names(name: str, ascii_name: str) -> dict[str, str]:
    """Content-Disposition's file names (RFC 6266): the ASCII one, and the UTF-8 one, with the
    characters no file system allows replaced."""
    name = _UNSAFE_IN_FILE_NAMES.sub("_", name).strip() or ascii_name
    return {"filename": ascii_name, "filename*": "UTF-8''" + quote(name, safe="!#$&+^`|~")}
