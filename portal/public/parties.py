"""/parties: the public list of responsible parties (责任主体清单) with their outfalls, by town."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from portal import calendar
from portal.data_version import REGISTRY
from portal.page_cache import cached_page
from portal.extensions import db
from portal.models.types import MAX_DATABASE_ID
from portal.models import Town
from portal.public import bp
from portal.registry import parties


def town_from_args(args) -> tuple[Town | None, str | None]:
    """The town ``?town=<id>`` names, and a message when the value names none (the filter is then ignored)."""
    value = (args.get("town") or "").strip()
    if not value:
        return None, None
    # ASCII digits only ('²'.isdigit() is true) and within the database's integer range.
    town = db.session.get(Town, int(value)) if value.isascii() and value.isdigit() and int(value) <= MAX_DATABASE_ID else None
    if town is None:
        return None, _("没有编号为“%(value)s”的镇，已显示全部镇。", value=value)
    return town, None


@bp.get("/parties")
@cached_page(REGISTRY)
def party_list():
    """Each party (a natural person's name masked), its kind and basis, its outfalls with status and deadline."""
    town, problem = town_from_args(request.args)
    entries = parties.party_list(town.id if town else None)
    towns = db.session.scalars(select(Town).order_by(Town.name)).all()
    return render_template("public/parties.html", entries=entries, towns=towns, town=town, problem=problem,
                           today=calendar.today())
