"""The map's grid: which cells a map view is counted in, so that map data never grow with the data.

At zoom ``z`` a cell is ``CELL_PIXELS`` screen pixels wide at the equator (Web Mercator's 256-pixel
world), in degrees of longitude and the same number of degrees of latitude. Cells are numbered from
(-180°, -90°), the same for every reader, and a requested box is widened to whole cells: two readers
whose screens show nearly the same place ask for the same cells, so their answers (and caches,
ETags) are shared, and a cell's count never depends on where someone's screen edge happened to be.

The feature cap: a response has at most one feature per cell, and a grid never has more than
``MAX_CELLS`` cells — a box too large for its zoom (a huge screen, a hand-made URL) is counted in
cells twice as large, as often as needed. Single outfalls are sent instead of cells only when there
are at most ``MAX_FEATURES`` of them, so no answer holds more than ``MAX_FEATURES`` features.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

MAX_FEATURES = 2000
MAX_CELLS = MAX_FEATURES
CELL_PIXELS = 64  # a cluster's circle is about 40 px: one per cell leaves room between them
TILE_PIXELS = 256
MIN_ZOOM, MAX_ZOOM = 0, 19
# From this zoom on (about 1:35,000; streets and single buildings) single outfalls are shown.
STREET_ZOOM = 14
ORIGIN_LON, ORIGIN_LAT = -180.0, -90.0
_ZOOM = re.compile(r"[0-9]{1,2}")


class GridError(ValueError):
    """A map request's box or zoom that cannot be read; the message says what is wrong, translated."""


@dataclass(frozen=True)
class Grid:
    """Whole cells covering a box: cell ``(i, j)`` spans ``west + i*cell`` … and ``south + j*cell`` …
    where (west, south) is the box's corner, itself a multiple of ``cell`` from the origin."""

    zoom: int
    cell: float  # degrees, both ways
    west: float
    south: float
    east: float
    north: float
    first_column: int  # of the global grid, for the SQL that numbers cells
    first_row: int

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.west, self.south, self.east, self.north

    @property
    def columns(self) -> int:
        return round((self.east - self.west) / self.cell)

    @property
    def rows(self) -> int:
        return round((self.north - self.south) / self.cell)

    @property
    def shows_single_outfalls(self) -> bool:
        """Whether at this zoom single outfalls are drawn (when there are few enough of them)."""
        return self.zoom >= STREET_ZOOM


def cell_size(zoom: int) -> float:
    """A cell's size in degrees at this zoom (before widening for a large box)."""
    return CELL_PIXELS * 360.0 / (TILE_PIXELS * 2 ** zoom)


def parse_zoom(text: str | None) -> int:
    """``zoom=`` as an integer 0–19; GridError otherwise."""
    text = (text or "").strip()
    if not text:
        raise GridError(_("缺少参数 zoom（地图缩放级别，%(low)s–%(high)s 的整数）。", low=MIN_ZOOM, high=MAX_ZOOM))
    if not _ZOOM.fullmatch(text) or not MIN_ZOOM <= int(text) <= MAX_ZOOM:
        raise GridError(_("zoom=%(value)s：应为 %(low)s–%(high)s 的整数。", value=text[:20], low=MIN_ZOOM,
                          high=MAX_ZOOM))
    return int(text)


def parse_box(text: str | None) -> tuple[float, float, float, float]:
    """``bbox=minLon,minLat,maxLon,maxLat`` in WGS84 degrees; GridError when unreadable or out of range."""
    text = (text or "").strip()[:200]
    if not text:
        raise GridError(_("缺少参数 bbox（minLon,minLat,maxLon,maxLat）。"))
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise GridError(_("bbox=%(value)s：应为 minLon,minLat,maxLon,maxLat 四个数。", value=text[:60])) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise GridError(_("bbox=%(value)s：应为 minLon,minLat,maxLon,maxLat 四个数。", value=text[:60]))
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise GridError(_("bbox=%(value)s：经度应在 -180 到 180、纬度在 -90 到 90 之间，且最小值小于最大值。",
                          value=text[:60]))
    return west, south, east, north


def grid_for(box: tuple[float, float, float, float], zoom: int) -> Grid:
    """The whole cells covering ``box`` at ``zoom``, at most MAX_CELLS of them."""
    cell = cell_size(zoom)
    while True:
        grid = _snapped(box, zoom, cell)
        if grid.columns * grid.rows <= MAX_CELLS:
            return grid
        cell *= 2


def _snapped(box, zoom: int, cell: float) -> Grid:
    west, south, east, north = box
    # A hair of tolerance, so that a box already on the grid (as the browser sends it again) stays put.
    first_column = math.floor((west - ORIGIN_LON) / cell + 1e-9)
    first_row = math.floor((south - ORIGIN_LAT) / cell + 1e-9)
    last_column = max(first_column + 1, math.ceil((east - ORIGIN_LON) / cell - 1e-9))
    last_row = max(first_row + 1, math.ceil((north - ORIGIN_LAT) / cell - 1e-9))
    return Grid(
        zoom=zoom, cell=cell,
        west=ORIGIN_LON + first_column * cell, south=ORIGIN_LAT + first_row * cell,
        east=ORIGIN_LON + last_column * cell, north=ORIGIN_LAT + last_row * cell,
        first_column=first_column, first_row=first_row,
    )


class cell_index(FunctionElement):
    """SQL: the global cell number along one axis, ``floor((coordinate - origin) / cell)``, as an integer.

    ``cell_index(column, origin, cell)``; the coordinate is never below the origin, so SQLite, whose
    FLOOR exists only when built with its math functions, truncates instead (the same for x ≥ 0);
    PostgreSQL rounds a CAST to integer, so it floors first.
    """

    type = Integer()
    inherit_cache = True
    name = "cell_index"


@compiles(cell_index)
def _cell_index_default(element, compiler, **kw):
    coordinate, origin, cell = list(element.clauses)
    return "CAST(FLOOR((%s - %s) / %s) AS INTEGER)" % (
        compiler.process(coordinate, **kw), compiler.process(origin, **kw), compiler.process(cell, **kw))


@compiles(cell_index, "sqlite")
def _cell_index_sqlite(element, compiler, **kw):
    coordinate, origin, cell = list(element.clauses)
    return "CAST((%s - %s) / %s AS INTEGER)" % (
        compiler.process(coordinate, **kw), compiler.process(origin, **kw), compiler.process(cell, **kw))


@dataclass(frozen=True)
class Cell:
    """One counted cell of a view: how many, where (their mean position and bounds), by status."""

    count: int
    overdue: int
    mean_longitude: float
    mean_latitude: float
    bounds: tuple[float, float, float, float]  # west, south, east, north of the points themselves
    first_id: int  # the lowest id inside: the point itself when the cell holds one
    by_status: dict[str, int]

    def feature(self, **properties) -> dict:
        """The cell as a GeoJSON cluster feature; ``properties`` add to (or override) its own."""
        return {
            "type": "Feature",
            "geometry": {"type": "Point",
                         "coordinates": [round(self.mean_longitude, 5), round(self.mean_latitude, 5)]},
            "properties": {
                "kind": "cluster", "count": self.count, "by_status": self.by_status,
                # Where to zoom to see them apart: the box of the points themselves, not of the cell.
                "bounds": list(self.bounds), **properties,
            },
        }


def counted_cells(session, located, statuses) -> list[Cell]:
    """Count a view's points per cell in one grouped statement.

    ``located`` is a subquery with the columns ``column`` and ``row`` (``cell_index`` of each point),
    ``id``, ``longitude``, ``latitude``, ``status`` and, where it applies, ``overdue`` (1/0).
    """
    overdue = located.c.overdue if "overdue" in located.c else literal(0)
    rows = session.execute(
        select(
            func.count(), func.sum(overdue), func.avg(located.c.longitude), func.avg(located.c.latitude),
            func.min(located.c.longitude), func.min(located.c.latitude),
            func.max(located.c.longitude), func.max(located.c.latitude), func.min(located.c.id),
            *(func.sum(case((located.c.status == code, 1), else_=0)) for code in statuses),
        )
        .group_by(located.c.column, located.c.row)
        .order_by(located.c.row, located.c.column)
    )
    return [
        Cell(count=count, overdue=int(late or 0), mean_longitude=float(mean_lon), mean_latitude=float(mean_lat),
             bounds=(float(west), float(south), float(east), float(north)), first_id=first_id,
             by_status={code: int(n) for code, n in zip(statuses, by_status) if n})
        for count, late, mean_lon, mean_lat, west, south, east, north, first_id, *by_status in rows
    ]
