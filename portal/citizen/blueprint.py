"""The citizen blueprint, and how it answers a request refused before its view could run.

The blueprint's name stays "reports" so every ``url_for('reports.…')`` keeps working.

A body over MAX_CONTENT_LENGTH (413), too many requests (429) or a stale CSRF token are refused
before the view runs. The visitor should still see the page they were on, with the reason: each
view module names, with ``@refusal_page(endpoint, …)``, the function that draws its page again
with a message; the error handlers look it up by the request's endpoint. The views depend on this
module, never the other way round.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

bp = Blueprint("reports", __name__, url_prefix="/reports")

# endpoint → function(message, status) drawing that endpoint's page again with the message
_REFUSAL_PAGES: dict[str, Callable[[str, int], object]] = {}
DEFAULT_REFUSAL_ENDPOINT = "reports.new_report"


def refusal_page(*endpoints: str):
    """Register the decorated function as the page answering a refusal of a request to these endpoints.

    The function gets the message and the status and returns a response, or None when it cannot
    draw the page (e.g. a private link that is wrong), in which case the report form answers.
    """
    def register(function):
        for endpoint in endpoints:
            _REFUSAL_PAGES[endpoint] = function
        return function
    return register


def refused_before_view(message: str, status: int):
    """The page of the refused request with the message (the report form for any other endpoint)."""
    page = _REFUSAL_PAGES.get(request.endpoint or "")
    answer = page(message, status) if page is not None else None
    if answer is None:
        answer = _REFUSAL_PAGES[DEFAULT_REFUSAL_ENDPOINT](message, status)
    return answer


@bp.errorhandler(429)
def too_many(_error):
    """Too many requests from one address: refuse on the page the visitor was on, keeping what was typed."""
    return refused_before_view(_("提交过于频繁，请稍后再试。如情况紧急，请拨打举报电话。"), 429)


@bp.errorhandler(CSRFError)
def page_expired(_error):
    """A stale or missing CSRF token (a form left open for an hour at the river): the same form again,
    in the visitor's language, with everything typed kept and a fresh token."""
    return refused_before_view(_("页面已过期，请再提交一次。"), 400)
