"""Published citizen reports for one map view: counts per grid cell, or single reports at street zoom.

Only published reports are ever selected, and only at their public position, rounded to
``visibility.PUBLIC_POSITION_DECIMALS`` (about 100 m) exactly as /api/v1/reports.geojson and the
report's page give it: cells are counted, averaged and bounded on the rounded positions, so not even
a cell of one report tells more than its page does. Nothing personal is selected (no reporter, no
description, no contact). The filter is a subset of /reports' own: category, status and town.
"""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Float, Numeric, cast, func, literal, select

from portal.extensions import db
from portal.map_grid import MAX_FEATURES, ORIGIN_LAT, ORIGIN_LON, Grid, cell_index, counted_cells
from portal.models import Report, Town
from portal.registry.filters import clean_text, parse_id
from portal.registry.vocabulary import REPORT_CATEGORIES, REPORT_STATUSES
from portal.reports.accountability import DISTRICT
from portal.reports.visibility import PUBLIC_POSITION_DECIMALS
from portal.urls import external_url_maker

_ID_CHUNK = 500


@dataclass(frozen=True)
class ReportMapFilter:
    """Which published reports a map shows: categories, statuses (codes) and a town's id or DISTRICT."""

    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    town: int | str | None = None
    problems: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args) -> ReportMapFilter:
        """Read the filter; values that cannot be read are noted in ``problems`` (``name=value``)."""
        problems, chosen = [], {}
        for parameter, vocabulary in (("category", REPORT_CATEGORIES), ("status", REPORT_STATUSES)):
            codes = []
            for code in args.getlist(parameter):
                if code in vocabulary:
                    codes.append(code)
                elif code:
                    problems.append(f"{parameter}={clean_text(code)[:40]}")
            chosen[parameter] = tuple(dict.fromkeys(codes))
        town = (args.get("town") or "").strip()
        town_value = None
        if town == DISTRICT:
            town_value = DISTRICT
        elif town:
            town_value = parse_id(town)
            if town_value is None:
                problems.append(f"town={clean_text(town)[:40]}")
        return cls(chosen["category"], chosen["status"], town_value, tuple(problems))

    def conditions(self) -> list:
        found = [Report.published.is_(True), Report.latitude.is_not(None), Report.longitude.is_not(None)]
        if self.categories:
            found.append(Report.category.in_(self.categories))
        if self.statuses:
            found.append(Report.status.in_(self.statuses))
        if self.town == DISTRICT:
            found.append(Report.town_id.is_(None))
        elif self.town is not None:
            found.append(Report.town_id == self.town)
        return found


def _public(column):
    """SQL: a coordinate as the public sees it, rounded as ``visibility.public_view`` rounds it."""
    return cast(func.round(cast(column, Numeric), PUBLIC_POSITION_DECIMALS), Float)


def report_map(grid: Grid, report_filter: ReportMapFilter) -> dict:
    """The map data of a view: ``features`` (GeoJSON dicts), ``total`` and ``by_status`` (report statuses)."""
    longitude, latitude = _public(Report.longitude), _public(Report.latitude)
    located = (
        select(
            cell_index(longitude, literal(ORIGIN_LON, Float), literal(grid.cell, Float)).label("column"),
            cell_index(latitude, literal(ORIGIN_LAT, Float), literal(grid.cell, Float)).label("row"),
            Report.id.label("id"), longitude.label("longitude"), latitude.label("latitude"),
            Report.status.label("status"),
        )
        # The raw columns bound the box (so that an index on them serves); the rounded ones are counted.
        .where(*report_filter.conditions(),
               Report.longitude.between(grid.west, grid.east), Report.latitude.between(grid.south, grid.north))
        .subquery("located")
    )
    statuses = REPORT_STATUSES.codes()
    cells = counted_cells(db.session, located, statuses)
    total = sum(cell.count for cell in cells)
    by_status = dict.fromkeys(statuses, 0)
    for cell in cells:
        for code, count in cell.by_status.items():
            by_status[code] += count

    if grid.shows_single_outfalls and total <= MAX_FEATURES:
        query = _single_query().where(*report_filter.conditions(),
                                      Report.longitude.between(grid.west, grid.east),
                                      Report.latitude.between(grid.south, grid.north))
        features = [feature for _, feature in _single_reports([db.session.execute(query)])]
    else:
        lone_ids = [cell.first_id for cell in cells if cell.count == 1]
        singles = dict(_single_reports(
            db.session.execute(_single_query().where(Report.published.is_(True),
                                                     Report.id.in_(lone_ids[start:start + _ID_CHUNK])))
            for start in range(0, len(lone_ids), _ID_CHUNK)))
        features = [singles[cell.first_id] if cell.count == 1 and cell.first_id in singles else cell.feature()
                    for cell in cells]
    return {"features": features, "total": total, "by_status": by_status}


def _single_query():
    return (
        select(Report.id, Report.tracking_code, Report.longitude, Report.latitude, Report.category,
               Report.status, Town.name, Report.created_at, Report.me_too_count)
        .select_from(Report)
        .outerjoin(Town, Town.id == Report.town_id)
        .order_by(Report.created_at.desc(), Report.id.desc())
    )


def _single_reports(results):
    """(id, feature) of single published reports, popup-ready: codes, not labels."""
    page_url = external_url_maker("reports.track", "code")
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    for result in results:
        for report_id, code, longitude, latitude, category, status, town, created_at, me_too in result:
            yield report_id, {
                "type": "Feature",
                "id": code,
                "geometry": {"type": "Point", "coordinates": [round(longitude, PUBLIC_POSITION_DECIMALS),
                                                              round(latitude, PUBLIC_POSITION_DECIMALS)]},
                "properties": {
                    "kind": "report", "code": code, "category": category, "status": status, "town": town,
                    "submitted_on": created_at.astimezone(zone).date().isoformat(),
                    "me_too_count": me_too or 0, "url": page_url(code),
                },
            }
