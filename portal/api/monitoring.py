"""/api/v1/monitoring.csv and .xlsx: every published monitoring result, streamed like the outfall downloads."""
from __future__ import annotations

from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, current_app, send_file

from portal import calendar
from portal.api import bp
from portal.freshness import conditional
from portal.data_version import REGISTRY
from portal.extensions import db
from portal.monitoring import open_data

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


@bp.get("/monitoring.csv")
@conditional(REGISTRY)
def monitoring_csv():
    """Every result at outfalls and sections, as CSV that Excel opens cleanly in Chinese."""
    return _as_attachment(Response(open_data.stream_csv(db.engine, _zone()), mimetype="text/csv"), "csv")


@bp.get("/monitoring.xlsx")
@conditional(REGISTRY)
def monitoring_xlsx():
    """Every result at outfalls and sections, as an Excel workbook."""
    handle = open_data.write_xlsx(db.session, _zone())
    response = send_file(handle, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name="monitoring.xlsx")
    return _as_attachment(response, "xlsx")


def _as_attachment(response: Response, extension: str) -> Response:
    """Name the download by district and date, in Chinese with an ASCII fallback (RFC 6266/5987)."""
    day = calendar.today().isoformat()
    name = f"{current_app.config['DISTRICT_NAME']}监测结果-{day}.{extension}"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"monitoring-{day}.{extension}\"; filename*=UTF-8''{quote(name, safe='')}")
    response.headers["Cache-Control"] = "no-cache"
    return response
