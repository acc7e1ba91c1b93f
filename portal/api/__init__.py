"""The open-data API (/api/v1): GeoJSON, CSV and XLSX of the registry, with its own JSON errors."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import downloads, geo  # noqa: E402,F401  (registers the routes)
