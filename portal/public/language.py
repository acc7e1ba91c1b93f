"""The language switch (中文 / English in the header): remember the choice, go back to the page."""
from __future__ import annotations

from flask import current_app, redirect, request, url_for

from portal.i18n import local_path, remember_language
from portal.public import bp


@bp.get("/language/<code>")
def switch_language(code: str):
    """Remember the visitor's language and go back to the page they were on (only a path on this site)."""
    response = redirect(local_path(request.args.get("next", "")) or url_for("public.home"))
    if code in current_app.config["LANGUAGES"]:
        remember_language(response, code)
    return response
