"""Public pages of the registry. URLs here are permanent: signboards print them as QR codes."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, render_template, request

from portal import calendar
from portal.photos import storage_for
from portal.public import bp, outfall_record
from portal.registry import monitoring, queries, record
from portal.registry.filters import OutfallFilter, page_number

PHOTO_MAX_AGE = 24 * 3600  # a registered photo never changes under its key


@bp.get("/outfalls")
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
def outfall_detail(code: str):
    """One outfall's record (一口一档): facts, map, stages, people, plan, timeline, photos, monitoring."""
    outfall = queries.outfall_by_code(code)
    if outfall is None:
        abort(404)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    today = calendar.today()
    matrix = monitoring.sample_matrix(outfall.samples, zone)
    return render_template(
        "public/outfall_detail.html", outfall=outfall, today=today, matrix=matrix,
        charts=outfall_record.parameter_charts(matrix), verdict_label=outfall_record.verdict_label,
        describe_limit=outfall_record.describe_limit, stage_dates=record.stage_dates(outfall, zone),
        milestones=record.milestones(outfall, zone, today), chiefs=record.stretch_chiefs(outfall),
        photo_groups=outfall_record.photos_by_kind(outfall.photos), map_data=outfall_record.map_data(outfall),
        report_url=outfall_record.report_url(outfall.code),
    )


@bp.get("/photos/<path:storage_key>")
def outfall_photo(storage_key: str):
    """A registered outfall photo from the photo storage; nothing else is ever served from it."""
    photo = queries.photo_by_key(storage_key)
    if photo is None or photo.content_type not in outfall_record.SAFE_PHOTO_TYPES:
        abort(404)
    try:
        data = storage_for(current_app).open_registered(photo.storage_key)
    except (OSError, ValueError):
        abort(404)
    response = Response(data, mimetype=photo.content_type)
    response.cache_control.public = True
    response.cache_control.max_age = PHOTO_MAX_AGE
    response.set_etag(photo.sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
