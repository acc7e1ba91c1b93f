"""Published citizen reports as GeoJSON, for the map's report layer and for other software.

Only what ``visibility.public_view`` makes public: approximate positions (three decimals), category,
status, handling town and department; never the reporter's identity or anything they added later.
"""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from flask import current_app

from portal import calendar
from portal.api import bp
from portal.api.geo import _geojson_response
from portal.reports import messages, queries, visibility

REPORTS_MAX_AGE = 60  # seconds


@bp.get("/reports.geojson")
def reports_geojson():
    """Every published report with a position, newest first."""
    today = calendar.today()
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    features = []
    for report in queries.located_published_reports():
        view = visibility.public_view(report, today)
        if view["position"] is None:
            continue
        latitude, longitude = view["position"]
        features.append({
            "type": "Feature",
            "id": view["tracking_code"],
            "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
            "properties": {
                "code": view["tracking_code"],
                "category": view["category"],
                "category_label": view["category_label"],
                "status": view["status"],
                "status_label": view["status_label"],
                "town": view["town"],
                "department": view["department"],
                "submitted_on": view["submitted_at"].astimezone(zone).date().isoformat(),
                "me_too_count": view["me_too_count"],
                "description": view["description"],
                "url": messages.public_url(report),
            },
        })
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    return _geojson_response(body, REPORTS_MAX_AGE)
