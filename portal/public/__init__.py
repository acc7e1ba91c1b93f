"""The public site: what residents and journalists see without signing in."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from portal.public import feeds, language, map, parties, progress, progress_history, rivers, sections, signboards, views  # noqa: E402,F401  (registers the routes)
