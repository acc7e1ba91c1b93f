"""The back office's one door: every view declares what it needs, one before_request enforces it.

``@requires(action)`` names a ``portal.access.GLOBAL_ACTIONS`` action; ``@open_to_anyone`` marks the
few views a visitor without a session must reach (sign-in, its code step, sign-out). A view with
neither is refused (403): a route added without a declaration fails closed instead of open.
Object-level checks (a report of another town is "not found") belong to the domain queries.
"""
from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from portal import access

ACTION_ATTRIBUTE = "admin_action"
BEFORE_ENROLMENT_ATTRIBUTE = "admin_before_enrolment"
OPEN = None  # the declaration of a view open to anyone
UNDECLARED = "<undeclared>"


def requires(action: str):
    """Declare that the view needs ``action`` (checked with ``access.can`` before the view runs)."""
    if action not in access.GLOBAL_ACTIONS:
        raise KeyError(f"unknown action: {action!r}")

    def declare(view):
        setattr(view, ACTION_ATTRIBUTE, action)
        return view
    return declare


def open_to_anyone(view):
    """Declare that the view needs no session (sign-in and sign-out pages only)."""
    setattr(view, ACTION_ATTRIBUTE, OPEN)
    return view


def before_enrolment(view):
    """Let an administrator who has not yet enrolled TOTP reach this view (the enrolment itself)."""
    setattr(view, BEFORE_ENROLMENT_ATTRIBUTE, True)
    return view


def declared_action(view) -> str | None:
    """The view's declaration: an action, OPEN (None), or UNDECLARED."""
    return getattr(view, ACTION_ATTRIBUTE, UNDECLARED)


def must_enrol(account) -> bool:
    """Whether the account may do nothing before enrolling a second factor (administrators)."""
    return account.role == "admin" and not account.totp_enabled


def enforce():
    """The blueprint's before_request: sign-in, the admin's TOTP enrolment, then the view's action."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None  # no route matched: the 404 or 405 follows
    action = declared_action(view)
    if action == UNDECLARED:
        abort(403)
    if action is OPEN:
        return None
    if not current_user.is_authenticated:
        # Back to the page after signing in; a form's POST cannot be replayed, so its page is not kept.
        target = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
        return redirect(url_for("admin.login", next=target))
    if must_enrol(current_user) and not getattr(view, BEFORE_ENROLMENT_ATTRIBUTE, False):
        return redirect(url_for("admin.enrol_totp"))
    if not access.can(current_user, action):
        abort(403)
    return None


def endpoint_actions() -> dict[str, str | None]:
    """Every /admin endpoint and its declaration (an action, None for open, UNDECLARED), for tests."""
    return {endpoint: declared_action(view) for endpoint, view in current_app.view_functions.items()
            if endpoint.startswith("admin.")}
