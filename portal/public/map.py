"""The public map at /: clustered outfalls, filters, legend, outfalls near me.

The page works without JavaScript (the filter form, counts and a link to the list); with it,
static/js/map.js draws the map from /api/v1/*.geojson. Which basemap is drawn is configuration.
"""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _

from portal import calendar
from portal.data_version import REGISTRY
from portal.page_cache import cached_page
from portal.public import bp
from portal.registry import locations, queries
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter

# Where the map opens when no town has a boundary: the district seat, 呼中镇 (DOMAIN.md §7).
DISTRICT_CENTRE = (52.0306, 123.5888)
DISTRICT_ZOOM = 9

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TIANDITU_TILES = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


def basemap_layers(config) -> list[dict]:
    """The tile layers of the configured basemap, as Leaflet tileLayer URL templates and options."""
    basemap = config["BASEMAP"]
    if basemap == "osm":
        return [{
            "url": OSM_TILES, "maxZoom": 19,
            "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                           + _("贡献者"),
        }]
    if basemap == "tianditu":
        attribution = '&copy; <a href="https://www.tianditu.gov.cn/">' + _("天地图") + "</a>"
        key = config["TIANDITU_KEY"]
        # The vector map, then its Chinese annotation layer on top (DOMAIN.md §7).
        return [
            {"url": TIANDITU_TILES.format(s="{s}", layer=layer, key=key), "subdomains": "01234567",
             "maxZoom": 18, "attribution": attribution if layer == "vec" else ""}
            for layer in ("vec", "cva")
        ]
    return []


def type_marks() -> dict[str, str]:
    """The character drawn inside each type's marker: its label's first (工, 城, 农, 其; I, M, A, O)."""
    return {term.code: vocab.OUTFALL_TYPES.display(term.code)[:1] for term in vocab.OUTFALL_TYPES}


@bp.get("/")
@cached_page(REGISTRY, may_be_stale=True)
def home():
    """The public map, with a filter form and counts that work without JavaScript."""
    outfall_filter = OutfallFilter.from_args(request.args)
    return render_template(
        "public/map.html",
        filter=outfall_filter,
        choices=queries.filter_choices(),
        summary=locations.map_summary(outfall_filter, calendar.today()),
        basemap=current_app.config["BASEMAP"],
        basemap_layers=basemap_layers(current_app.config),
        centre=DISTRICT_CENTRE,
        zoom=DISTRICT_ZOOM,
        bounds=locations.towns_extent(),
        type_marks=type_marks(),
        status_labels={term.code: vocab.PLAN_STATUSES.display(term.code) for term in vocab.PLAN_STATUSES},
    )
