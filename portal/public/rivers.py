"""River-chief boards (河长公示): /rivers lists the water bodies, /rivers/<id> is one river's board."""
from __future__ import annotations

from flask import abort, current_app, render_template

from portal import calendar
from portal.data_version import REGISTRY
from portal.page_cache import cached_page
from portal.public import bp
from portal.registry import queries, waters


@bp.get("/rivers")
@cached_page(REGISTRY)
def rivers():
    """Every river, lake and reservoir with the number of outfalls discharging into it."""
    today, days = calendar.today(), current_app.config["RIVER_BOARD_UPDATE_DAYS"]
    return render_template("public/rivers.html", waters=queries.water_bodies_with_counts(),
                           overdue=lambda water: waters.board_overdue(water, today, days), days=days)


@bp.get("/rivers/<int:water_body_id>")
@cached_page(REGISTRY)
def river(water_body_id: int):
    """One water body's board: its facts, its chiefs from the top level down, and its outfalls."""
    water = queries.water_body_board(water_body_id)
    if water is None:
        abort(404)
    chiefs = sorted(water.chiefs, key=lambda c: (c.level_rank, c.town.name if c.town else "", c.id))
    outfalls = sorted(water.outfalls, key=lambda o: o.code)
    today = calendar.today()
    board = waters.board_state(water, today, current_app.config["RIVER_BOARD_UPDATE_DAYS"])
    return render_template("public/river.html", water=water, chiefs=chiefs, outfalls=outfalls,
                           today=today, board=board)
