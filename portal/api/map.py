"""/api/v1/map: what a map shows of one view — clusters per grid cell, or single outfalls or reports.

``GET /api/v1/map?bbox=minLon,minLat,maxLon,maxLat&zoom=Z[&layer=outfalls|reports]`` with the
list's filters for outfalls (q, type, measure, status, stage, town, water, overdue) or category,
status and town for reports. The answer is a GeoJSON FeatureCollection with ``zoom``, ``cell``
(degrees), ``bbox`` (the box widened to whole cells: what was counted), ``total``, ``by_status``
(and ``overdue`` for outfalls); its size is bounded by the grid (portal.map_grid), not by the data.
It holds codes, never labels, so it is the same in every language and needs no ``Vary: Cookie``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from flask import Response, request
from flask_babel import gettext as _

from portal import calendar, data_version
from portal.api import bp, error_response
from portal.page_cache import cached_page
from portal.map_grid import GridError, grid_for, parse_box, parse_zoom
from portal.registry.filters import OutfallFilter
from portal.registry.map_data import outfall_map
from portal.reports.map_data import ReportMapFilter, report_map

MAP_MAX_AGE = 60  # seconds: a change shows on a reader's map within a minute
LAYERS = {"outfalls": data_version.REGISTRY, "reports": data_version.REPORTS}


@bp.get("/map")
# Widened boxes make readers' views coincide (a news story's readers open the same one): served from
# the page cache while the data are unchanged, so a district-wide count is made once, not per reader.
@cached_page(data_version.REGISTRY, data_version.REPORTS)
def map_data():
    """One view of the map, aggregated to the grid of its zoom."""
    layer = request.args.get("layer") or "outfalls"
    if layer not in LAYERS:
        return error_response(400, [_("layer=%(value)s：应为 outfalls 或 reports。", value=layer[:40])])
    try:
        grid = grid_for(parse_box(request.args.get("bbox")), parse_zoom(request.args.get("zoom")))
    except GridError as error:
        return error_response(400, [str(error)])
    filter_args = request.args.copy()
    filter_args.poplist("bbox")  # the grid's box is counted, not the filter's
    chosen = (OutfallFilter.from_args(filter_args) if layer == "outfalls"
              else ReportMapFilter.from_args(filter_args))
    if chosen.problems:
        return error_response(400, [_("参数无效：%(problem)s", problem=problem) for problem in chosen.problems])

    today = calendar.today()  # overdue changes at midnight without any commit
    normalised = json.dumps([layer, grid.zoom, grid.box, dataclasses.asdict(chosen), today.isoformat(),
                             data_version.numbers((LAYERS[layer],))], default=str)
    etag = hashlib.sha256(normalised.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):  # before any counting: a reader's unchanged view costs nothing
        return _cacheable(Response(status=304), etag)

    if layer == "outfalls":
        found = outfall_map(grid, dataclasses.replace(chosen, bbox=None), today)
    else:
        found = report_map(grid, chosen)
    body = {"type": "FeatureCollection", "zoom": grid.zoom, "cell": grid.cell, "bbox": list(grid.box),
            **{key: value for key, value in found.items() if key != "features"}, "features": found["features"]}
    response = Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        mimetype="application/geo+json")
    return _cacheable(response, etag)


def _cacheable(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = MAP_MAX_AGE
    return response
