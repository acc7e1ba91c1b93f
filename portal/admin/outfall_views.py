"""The back office's registry pages: the outfalls one may act on, and one outfall's archive (一口一档).

The archive page is the workbench for one outfall. Each part of it — the ledger's fields and their
history, the standard and permit, rectification steps, photos and documents — is drawn by its own
partial under ``templates/admin/outfalls/`` and changed by its own views module; this module only
lists outfalls and shows the page.
"""
from __future__ import annotations

from dataclasses import replace

from flask import abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import access
from portal.admin.guard import requires
from portal.extensions import db
from portal.models import Outfall, Town
from portal.registry import queries
from portal.registry.filters import OutfallFilter, page_number

PER_PAGE = 50


def outfall_or_404(code: str, action: str = "view") -> Outfall:
    """The outfall with this code if the signed-in account may take ``action`` on it; 404 otherwise
    (an outfall outside one's town is not one's business, and not forbidden either: it is public)."""
    outfall = queries.outfall_by_code(code)
    if outfall is None or not access.can(current_user, "view", outfall):
        abort(404)
    if not access.can(current_user, action, outfall):
        abort(403)
    return outfall


@requires("view_registry")
def outfalls():
    """The outfalls, with the public list's filters and search; a town officer sees their town first."""
    outfall_filter = OutfallFilter.from_args(request.args)
    if current_user.role == "town" and current_user.town_id and not outfall_filter.towns:
        outfall_filter = replace(outfall_filter, towns=(current_user.town_id,))
    pagination = queries.outfall_page(outfall_filter, sort=request.args.get("sort", "code"),
                                      page=page_number(request.args.get("page")), per_page=PER_PAGE)
    towns = db.session.scalars(select(Town).order_by(Town.name)).all()
    return render_template("admin/outfalls/list.html", pagination=pagination, towns=towns,
                           outfall_filter=outfall_filter,
                           page_url=lambda number: url_for("admin.outfalls", **{**request.args.to_dict(), "page": number}))


@requires("view_registry")
def outfall(code: str):
    """One outfall's archive, with what the account may change on it."""
    record = outfall_or_404(code)
    actions = {action: access.can(current_user, action, record) for action in access.OUTFALL_ACTIONS}
    return render_template("admin/outfalls/outfall.html", outfall=record, may=actions)
