"""Front-end libraries served by the portal itself from their Python packages (XStatic), never a CDN.

Pages on a phone inside WeChat, on an intranet or offline still get the map: the files come from
the installed packages, not from the repository or a third-party host.
"""
from __future__ import annotations

import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from flask import Blueprint, abort, send_from_directory

PACKAGES = {
    "leaflet": xstatic.pkg.leaflet,
    "leaflet-markercluster": xstatic.pkg.leaflet_markercluster,
}
ONE_WEEK = 7 * 24 * 3600

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@bp.get("/<package>/<path:filename>")
def static_file(package: str, filename: str):
    """A file of a packaged library, e.g. /vendor/leaflet/leaflet.js."""
    module = PACKAGES.get(package)
    if module is None:
        abort(404)
    # The version is in the package, so a week's caching is safe for slow connections.
    return send_from_directory(module.BASE_DIR, filename, max_age=ONE_WEEK)
