"""Public pages of the registry. URLs here are permanent: signboards print them as QR codes."""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for

from portal.public import bp
from portal.registry import queries
from portal.registry.filters import OutfallFilter


@bp.get("/")
def home():
    """The registry list is the front page until the public map takes its place."""
    return redirect(url_for("public.outfall_list"))


@bp.get("/outfalls")
def outfall_list():
    """The list of outfalls: the map's accessible twin, filtered, sorted and paged by URL."""
    outfall_filter = OutfallFilter.from_args(request.args)
    sort = request.args.get("sort", "code")
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = queries.outfall_page(outfall_filter, sort=sort, page=page,
                                      per_page=current_app.config["OUTFALLS_PER_PAGE"])
    return render_template("public/outfall_list.html", pagination=pagination, filter=outfall_filter,
                           search=outfall_filter.search, sort=sort, choices=queries.filter_choices(),
                           today=queries.today())


@bp.get("/outfalls/<code>")
def outfall_detail(code: str):
    """One outfall's record (一口一档)."""
    outfall = queries.outfall_by_code(code)
    if outfall is None:
        abort(404)
    return render_template("public/outfall_detail.html", outfall=outfall, today=queries.today())


@bp.errorhandler(404)
def not_found(_error):
    """A Chinese 'not found' page for the public pages' own 404s (an unknown code); the API keeps its own."""
    return render_template("errors/404.html"), 404
