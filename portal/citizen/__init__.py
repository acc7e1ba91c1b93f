"""The citizens' side of reports on the web: the report form, the tracking pages, the private page.

``blueprint.py`` holds the URL map; importing this package imports the views that fill it. The
domain (intake, tracking, privacy) lives in ``portal.reports`` and imports nothing from here.
"""
from portal.citizen import intake_views, tracking_views  # noqa: F401  (the views register their routes)
from portal.citizen.blueprint import bp

__all__ = ["bp"]
