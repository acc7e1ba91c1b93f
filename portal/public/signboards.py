"""Signboards (一口一码): QR codes of outfall pages, printable A4 signboards, bulk print per town.

The QR code holds nothing but the outfall page's permanent address, so a signboard never needs
reprinting when a chief, a party or the rectification changes (DOMAIN.md §3).
"""
from __future__ import annotations

import io

import segno
from flask import abort, make_response, render_template, request
from flask_babel import gettext as _

from portal.data_version import REGISTRY
from portal.extensions import db
from portal.models import Town
from portal.monitoring import results
from portal.page_cache import cached_page
from portal.public import bp
from portal.registry import queries, record
from portal.urls import external_url

ONE_DAY = 24 * 3600
# Level Q restores up to a quarter of the symbol: an outdoor board gets dirty and scratched.
QR_ERROR_LEVEL = "q"
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules
QR_PNG_SCALE = 10


def outfall_page_url(code: str) -> str:
    """The absolute address of an outfall's page, as the public reaches it (see portal.urls)."""
    return external_url("public.outfall_detail", code=code)


def qr_code(code: str) -> segno.QRCode:
    """The QR code of an outfall page's address; the SVG and PNG are drawn from this one object."""
    return segno.make_qr(outfall_page_url(code), error=QR_ERROR_LEVEL)


def qr_svg(qr: segno.QRCode, title: str = "", description: str = "") -> bytes:
    """A scalable SVG of a QR code, black on white, sized by whoever shows it (viewBox only)."""
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", border=QR_BORDER, dark="#000", light="#fff", omitsize=True, xmldecl=True,
            svgclass="qr", lineclass="qr-modules", title=title or None, desc=description or None)
    return buffer.getvalue()


def qr_png(qr: segno.QRCode) -> bytes:
    """A PNG of a QR code, large enough to print at a few centimetres."""
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", border=QR_BORDER, scale=QR_PNG_SCALE, dark="#000", light="#fff")
    return buffer.getvalue()


def _image_response(body: bytes, mimetype: str):
    """A cacheable image: a day in any cache, and a 304 for a client that already has it."""
    response = make_response(body)
    response.mimetype = mimetype
    response.cache_control.public = True
    response.cache_control.max_age = ONE_DAY
    response.add_etag()
    return response.make_conditional(request)


def _canonical_code(code: str) -> str:
    """The ledger code of the outfall a URL names, or a 404."""
    canonical = queries.outfall_code(code)
    if canonical is None:
        abort(404)
    return canonical


@bp.get("/outfalls/<code>/qr.svg")
def outfall_qr_svg(code: str):
    """The outfall page's QR code as SVG, for signboards and print."""
    canonical = _canonical_code(code)
    url = outfall_page_url(canonical)
    body = qr_svg(qr_code(canonical), title=_("排污口 %(code)s 的二维码", code=canonical), description=url)
    return _image_response(body, "image/svg+xml")


@bp.get("/outfalls/<code>/qr.png")
def outfall_qr_png(code: str):
    """The outfall page's QR code as PNG, for tools that cannot place an SVG."""
    return _image_response(qr_png(qr_code(_canonical_code(code))), "image/png")


def _signboards(outfalls) -> list[dict]:
    """What each outfall's signboard prints, with two queries for all of them (chiefs, pollutants)."""
    chiefs = queries.town_chiefs({o.town_id for o in outfalls})
    parameters = queries.monitored_parameters([o.id for o in outfalls])
    return [{
        "outfall": outfall,
        "chief": record.town_chief(outfall, chiefs.get(outfall.town_id, [])),
        "parameters": results.ordered_parameters(parameters.get(outfall.id, [])),
        "page_url": outfall_page_url(outfall.code),
        "removed": record.is_removed(outfall),
    } for outfall in outfalls]


@bp.get("/outfalls/<code>/sign")
@cached_page(REGISTRY)
def outfall_sign(code: str):
    """The outfall's signboard (标识牌), ready to print on A4."""
    outfall = queries.outfall_for_signboard(code)
    if outfall is None:
        abort(404)
    return render_template("public/sign.html", sign=_signboards([outfall])[0])


@bp.get("/towns/<int:town_id>/signs")
@cached_page(REGISTRY)
def town_signs(town_id: int):
    """Every signboard of a town, one per printed page; outfalls already removed get none."""
    town = db.session.get(Town, town_id)
    if town is None:
        abort(404)
    signs = _signboards(queries.town_outfalls_for_signboards(town_id))
    return render_template("public/signs_town.html", town=town,
                           signs=[s for s in signs if not s["removed"]],
                           removed=[s["outfall"] for s in signs if s["removed"]])
