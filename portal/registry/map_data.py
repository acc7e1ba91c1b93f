"""Outfalls for one map view: counts per grid cell, or single outfalls at street zoom.

What a cell says is read from each outfall's own summary columns (portal.registry.plan_summary):
its main plan (``main_plan_id``) gives the status, ``open_due_on`` whether it is overdue. One grouped
statement counts every cell of the view, however many outfalls the box holds; single outfalls are
selected only when there are at most MAX_FEATURES of them (street zoom), or for a cell that holds
just one (a "1" in a circle would tell a reader less than the outfall itself). No personal data: a
person's name is masked (PublicPartyNames), no telephone is selected.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Float, case, literal, select
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.map_grid import MAX_FEATURES, ORIGIN_LAT, ORIGIN_LON, Cell, Grid, cell_index, counted_cells
from portal.models import Outfall, RectificationPlan, ResponsibleParty, Town, WaterBody
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.registry.locations import PublicPartyNames
from portal.registry.plan_summary import overdue_condition
from portal.urls import external_url_maker

NO_PLAN = "none"  # the by_status key of outfalls without a plan (or with a status outside the vocabulary)
_ID_CHUNK = 500


def outfall_map(grid: Grid, outfall_filter: OutfallFilter, today: date) -> dict:
    """The map data of a view: ``features`` (GeoJSON dicts), ``total``, ``by_status`` and ``overdue``.

    ``outfall_filter`` must carry no box of its own: the grid's box is the one counted.
    """
    main = aliased(RectificationPlan, name="main_plan")
    located = (
        select(
            cell_index(Outfall.longitude, literal(ORIGIN_LON, Float), literal(grid.cell, Float)).label("column"),
            cell_index(Outfall.latitude, literal(ORIGIN_LAT, Float), literal(grid.cell, Float)).label("row"),
            Outfall.id.label("id"), Outfall.longitude.label("longitude"), Outfall.latitude.label("latitude"),
            main.status.label("status"),
            case((overdue_condition(today), 1), else_=0).label("overdue"),
        )
        .select_from(Outfall)
        .outerjoin(main, main.id == Outfall.main_plan_id)
        .where(Outfall.longitude.between(grid.west, grid.east), Outfall.latitude.between(grid.south, grid.north))
    )
    located = outfall_filter.apply(located, today).subquery("located")
    statuses = vocab.PLAN_STATUSES.codes()
    cells = counted_cells(db.session, located, statuses)

    total = sum(cell.count for cell in cells)
    by_status = dict.fromkeys((*statuses, NO_PLAN), 0)
    for cell in cells:
        for code, count in cell.by_status.items():
            by_status[code] += count
    by_status[NO_PLAN] = total - sum(by_status[code] for code in statuses)
    overdue = sum(cell.overdue for cell in cells)

    if grid.shows_single_outfalls and total <= MAX_FEATURES:
        features = [feature for _, feature in _single_outfalls(_in_box(grid, outfall_filter, today))]
    else:
        singles = dict(_single_outfalls(_by_ids([cell.first_id for cell in cells if cell.count == 1], today)))
        features = [singles[cell.first_id] if cell.count == 1 and cell.first_id in singles else _cluster(cell)
                    for cell in cells]
    return {"features": features, "total": total, "by_status": by_status, "overdue": overdue}


def _cluster(cell: Cell) -> dict:
    by_status = dict(cell.by_status)
    unplanned = cell.count - sum(by_status.values())
    if unplanned:
        by_status[NO_PLAN] = unplanned
    return cell.feature(by_status=by_status, overdue=cell.overdue)


def _single_query(today: date):
    party = aliased(ResponsibleParty, name="party")
    main = aliased(RectificationPlan, name="main_plan")
    return (
        select(Outfall.id, Outfall.code, Outfall.name, Outfall.is_demo, Outfall.longitude, Outfall.latitude,
               Outfall.outfall_type, Town.name, WaterBody.name, main.status, main.deadline,
               main.transition_ends_on, case((overdue_condition(today), 1), else_=0),
               party.id, party.name, party.kind, party.is_demo)
        .select_from(Outfall)
        .join(Town, Town.id == Outfall.town_id)
        .outerjoin(WaterBody, WaterBody.id == Outfall.water_body_id)
        .outerjoin(party, party.id == Outfall.responsible_party_id)
        .outerjoin(main, main.id == Outfall.main_plan_id)
    )


def _in_box(grid: Grid, outfall_filter: OutfallFilter, today: date):
    query = _single_query(today).where(Outfall.longitude.between(grid.west, grid.east),
                                       Outfall.latitude.between(grid.south, grid.north))
    return [db.session.execute(outfall_filter.apply(query, today).order_by(Outfall.code))]


def _by_ids(ids: list[int], today: date):
    # In chunks: a statement's parameters are limited (SQLite: 32,766; some builds 999).
    return [db.session.execute(_single_query(today).where(Outfall.id.in_(ids[start:start + _ID_CHUNK])))
            for start in range(0, len(ids), _ID_CHUNK)]


def _single_outfalls(results) -> list[tuple[int, dict]]:
    """(id, feature) of single outfalls, popup-ready: codes, not labels (the page has the labels)."""
    page_url = external_url_maker("public.outfall_detail", "code")
    party_name = PublicPartyNames()
    features = []
    for result in results:
        for (outfall_id, code, name, is_demo, longitude, latitude, outfall_type, town, water_body, status,
             deadline, transition_ends_on, overdue, party_id, party, party_kind, party_is_demo) in result:
            features.append((outfall_id, {
                "type": "Feature",
                "id": code,
                "geometry": {"type": "Point", "coordinates": [float(longitude), float(latitude)]},
                "properties": {
                    "kind": "outfall", "code": code, "name": name, "is_demo": bool(is_demo),
                    "type": outfall_type, "town": town, "water_body": water_body, "status": status,
                    "deadline": deadline.isoformat() if deadline else None,
                    "transition_ends_on": transition_ends_on.isoformat() if transition_ends_on else None,
                    "overdue": bool(overdue),
                    # A person's name is masked (张*); no telephone is even selected.
                    "responsible_party": party_name(party_id, party, party_kind, party_is_demo),
                    "url": page_url(code),
                },
            }))
    return features
