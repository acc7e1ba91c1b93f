"""Citizen reports: intake with photos, the reporter's privacy, tracking and the public reports."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from portal.reports import intake_views, tracking_views  # noqa: E402,F401  (registers the routes)
