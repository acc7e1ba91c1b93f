"""GeoJSON of outfalls, towns and water bodies for the map and for other software.

Coordinates are WGS84 longitude, latitude (RFC 7946). Responses carry a strong ETag and may be
cached briefly; labels follow the visitor's language, so they vary with the language cookie.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring

from flask import Response, request
from flask_babel import gettext as _
from sqlalchemy import select

from portal import calendar
from portal.api import bp, error_response
from portal.freshness import conditional
from portal.data_version import REGISTRY
from portal.extensions import db
from portal.models import Town, WaterBody
from portal.registry import locations
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.urls import external_url_maker

GEOJSON = "application/geo+json"
OUTFALLS_MAX_AGE = 60  # seconds: a status change shows on the map within a minute
PLACES_MAX_AGE = 300  # boundaries and rivers change only on import


@bp.get("/outfalls.geojson")
@conditional(REGISTRY)
def outfalls_geojson():
    """Located outfalls that the filter in the query string lets through (see OutfallFilter)."""
    outfall_filter = OutfallFilter.from_args(request.args)
    if outfall_filter.problems:
        return error_response(400, [_("参数无效：%(problem)s", problem=problem)
                                    for problem in outfall_filter.problems])
    rows = locations.located_outfalls(outfall_filter, calendar.today())
    body = '{"type":"FeatureCollection","features":[' + ",".join(_outfall_features(rows)) + "]}"
    return _geojson_response(body, OUTFALLS_MAX_AGE)


# One outfall as GeoJSON text. Filling a template with values encoded one by one is several times
# faster than building a dict per outfall and encoding them all, which counts at 100,000 outfalls.
_FEATURE = (
    '{"type":"Feature","id":%s,"geometry":{"type":"Point","coordinates":[%r,%r]},"properties":{'
    '"code":%s,"name":%s,"is_demo":%s,"town":%s,"water_body":%s,'
    '"outfall_type":%s,"type_label":%s,"measure":%s,"measure_label":%s,"status":%s,"status_label":%s,'
    '"deadline":%s,"transition_ends_on":%s,"overdue":%s,"responsible_party":%s,"url":%s}}'
)


def _json_text(value) -> str:
    """A string (or None) as JSON: the C encoder json.dumps itself uses, keeping Chinese as it is."""
    return "null" if value is None else encode_basestring(value)


def _outfall_features(rows):
    """GeoJSON features, as JSON texts, of ``locations.LOCATED_COLUMNS`` rows; no personal data."""
    text = _json_text
    page_url = external_url_maker("public.outfall_detail", "code")
    party_name = locations.PublicPartyNames()
    vocabularies = {"type": vocab.OUTFALL_TYPES, "measure": vocab.MEASURES, "status": vocab.PLAN_STATUSES}
    # Each code and its label, encoded once per response instead of once per outfall.
    encoded = {key: {term.code: (text(term.code), text(vocabulary.display(term.code))) for term in vocabulary}
               for key, vocabulary in vocabularies.items()}
    unknown = (None, None)  # a code outside the vocabulary (or none): shown as it is
    for (code, name, is_demo, longitude, latitude, outfall_type, town, water_body, measure, status, deadline,
         transition_ends_on, overdue, party_id, party, party_kind, party_is_demo) in rows:
        type_code, type_label = encoded["type"].get(outfall_type, unknown)
        measure_code, measure_label = encoded["measure"].get(measure, unknown)
        status_code, status_label = encoded["status"].get(status, unknown)
        if type_code is None:
            type_code = type_label = text(outfall_type)
        if measure_code is None:
            measure_code = measure_label = text(measure)
        if status_code is None:
            status_code = status_label = text(status)
        code_text = text(code)
        yield _FEATURE % (
            code_text, float(longitude), float(latitude),
            code_text, text(name), "true" if is_demo else "false", text(town), text(water_body),
            type_code, type_label, measure_code, measure_label, status_code, status_label,
            f'"{deadline.isoformat()}"' if deadline else "null",
            f'"{transition_ends_on.isoformat()}"' if transition_ends_on else "null",
            "true" if overdue else "false",
            # A person's name is masked (张*); no telephone is even selected.
            text(party_name(party_id, party, party_kind, party_is_demo)),
            text(page_url(code)),
        )


def _labels(vocabulary) -> dict:
    """Code → label in the visitor's language, looked up once per response instead of per feature."""
    return {term.code: vocabulary.display(term.code) for term in vocabulary}


@bp.get("/towns.geojson")
@conditional(REGISTRY)
def towns_geojson():
    """Town boundaries, with where each came from (demo boundaries are approximate)."""
    rows = db.session.execute(
        select(Town.id, Town.name, Town.code, Town.boundary, Town.boundary_source, Town.is_demo)
        .where(Town.boundary.is_not(None)).order_by(Town.name)
    )
    features = [{
        "type": "Feature",
        "id": row.id,
        "geometry": json.loads(row.boundary),
        "properties": {"id": row.id, "name": row.name, "code": row.code,
                       "boundary_source": row.boundary_source, "is_demo": bool(row.is_demo)},
    } for row in rows]
    return _geojson_response(_collection(features), PLACES_MAX_AGE)


@bp.get("/waters.geojson")
@conditional(REGISTRY)
def waters_geojson():
    """Rivers, lakes and reservoirs that have a geometry, with their GB 3838 target class."""
    rows = db.session.execute(
        select(WaterBody.id, WaterBody.name, WaterBody.kind, WaterBody.target_class, WaterBody.geometry,
               WaterBody.is_demo)
        .where(WaterBody.geometry.is_not(None)).order_by(WaterBody.name)
    )
    kind_labels = _labels(vocab.WATER_BODY_KINDS)
    features = [{
        "type": "Feature",
        "id": row.id,
        "geometry": json.loads(row.geometry),
        "properties": {"id": row.id, "name": row.name, "kind": row.kind,
                       "kind_label": kind_labels.get(row.kind, row.kind), "target_class": row.target_class,
                       "is_demo": bool(row.is_demo)},
    } for row in rows]
    return _geojson_response(_collection(features), PLACES_MAX_AGE)


def _collection(features: list[dict]) -> str:
    """A FeatureCollection as compact JSON text."""
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))


def _geojson_response(body: str, max_age: int) -> Response:
    """GeoJSON with a short public cache life (``@conditional`` gives it its ETag and Last-Modified)."""
    response = Response(body, mimetype=GEOJSON)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.vary.add("Cookie")  # the language cookie changes the labels
    return response
