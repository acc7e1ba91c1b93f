"""Downloads of the registry: CSV (UTF-8 with BOM, Chinese headers) and XLSX, streamed.

Both take the list's filter parameters (``/api/v1/outfalls.csv?town=2&overdue=1``); a parameter
the filter cannot read is refused with a JSON error rather than silently widening the download.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _

from portal import calendar
from portal.api import bp
from portal.freshness import conditional
from portal.data_version import REGISTRY
from portal.extensions import db
from portal.registry import open_data
from portal.registry.filters import OutfallFilter
from portal.urls import external_url_maker

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/outfalls.csv")
@conditional(REGISTRY)
def outfalls_csv():
    """The outfalls the filter lets through, as CSV that Excel opens cleanly in Chinese."""
    outfall_filter = OutfallFilter.from_args(request.args)
    if outfall_filter.problems:
        return _bad_filter(outfall_filter)
    chunks = open_data.stream_csv(outfall_filter, calendar.today(), external_url_maker("public.outfall_detail", "code"), db.engine)
    return _as_attachment(Response(chunks, mimetype="text/csv"), "csv")


@bp.get("/outfalls.xlsx")
@conditional(REGISTRY)
def outfalls_xlsx():
    """The outfalls the filter lets through, as an Excel workbook."""
    outfall_filter = OutfallFilter.from_args(request.args)
    if outfall_filter.problems:
        return _bad_filter(outfall_filter)
    # Sent as it is written: the first bytes leave at once and no worker sits silent building it.
    chunks = open_data.stream_xlsx(outfall_filter, calendar.today(), external_url_maker("public.outfall_detail", "code"),
                                   db.engine)
    response = Response(chunks, mimetype=XLSX_MIMETYPE)
    return _as_attachment(response, "xlsx")


def _as_attachment(response: Response, extension: str) -> Response:
    """Name the download by district and date, in Chinese with an ASCII fallback (RFC 6266/5987)."""
    day = calendar.today().isoformat()
    name = f"{current_app.config['DISTRICT_NAME']}入河排污口-{day}.{extension}"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"outfalls-{day}.{extension}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    # The data change with the ledger and with the date (what is overdue): keep it only to ask
    # again, which ``@conditional`` answers with 304 while nothing changed.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _bad_filter(outfall_filter: OutfallFilter):
    """A 400 in the API's error format, naming the parameters that could not be read."""
    description = _("无法识别的筛选条件：%(problems)s", problems="；".join(outfall_filter.problems))
    return jsonify(errors=[{"code": 400, "description": description}]), 400
