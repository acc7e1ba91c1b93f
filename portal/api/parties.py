"""/api/v1/parties.csv: the public list of responsible parties as CSV (persons masked, no telephone)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, request

from portal import calendar
from portal.api import bp, error_response
from portal.freshness import conditional
from portal.data_version import REGISTRY
from portal.public.parties import town_from_args
from portal.registry import parties


@bp.get("/parties.csv")
@conditional(REGISTRY)
def parties_csv():
    """The parties and their outfalls, one row per party and outfall; ``?town=<id>`` for one town."""
    town, problem = town_from_args(request.args)
    if problem:
        return error_response(400, [problem])
    body = parties.csv_text(parties.party_list(town.id if town else None))
    response = Response(body.encode("utf-8"), mimetype="text/csv")
    day = calendar.today().isoformat()
    name = f"{current_app.config['DISTRICT_NAME']}入河排污口责任主体-{day}.csv"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"parties-{day}.csv\"; filename*=UTF-8''{quote(name, safe='')}")
    response.headers["Cache-Control"] = "no-cache"
    return response
