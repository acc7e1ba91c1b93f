"""Staff sessions with Flask-Login: the identity is "id:session_version", so raising an account's
version (password change or reset, deactivation, TOTP reset) signs out every browser holding it.

A password step passed for an account with TOTP is kept in the session as a short-lived pending
sign-in (PENDING_SECONDS), not as a session: nothing else is reachable until the code is given.
"""
from __future__ import annotations

import time

from flask import g, session
from flask_login import login_user, logout_user

from portal.extensions import db, login_manager
from portal.models import Account

PENDING_KEY = "admin_pending"
PENDING_SECONDS = 5 * 60


def init_app(app) -> None:
    """Bind Flask-Login to the app, loading staff from the session's identity."""
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.user_loader(load_account)
    app.before_request(forget_cached_user)


def forget_cached_user() -> None:
    """Load each request's user afresh: Flask-Login caches it on ``g``, which outlives a request
    wherever an application context is shared by several (tests, scripts)."""
    g.pop("_login_user", None)


def load_account(identity: str) -> Account | None:
    """The account of a session identity, or None when it is stale, malformed or inactive."""
    account_id, _, version = str(identity).partition(":")
    if not (account_id.isdigit() and version.isdigit()):
        return None
    account = db.session.get(Account, int(account_id))
    if account is None or not account.active or account.session_version != int(version):
        return None
    return account


def start(account: Account) -> None:
    """Sign the account in on a fresh session (the old one's contents are dropped: no fixation)."""
    session.clear()
    login_user(account)
    session.permanent = False


def renew(account: Account) -> None:
    """Keep this browser signed in after the account's own version was raised (its own password change)."""
    login_user(account)


def end() -> None:
    """Sign out and drop everything the session held."""
    logout_user()
    session.clear()


def hold_pending(account: Account, next_path: str | None) -> None:
    """Remember that the password step passed, for the code step of the next few minutes."""
    session.clear()
    session[PENDING_KEY] = {"id": account.id, "version": account.session_version, "at": int(time.time()),
                            "next": next_path}


def pending() -> tuple[Account | None, str | None]:
    """The account whose code is awaited (None when there is none or it has expired), and its ``next``."""
    held = session.get(PENDING_KEY)
    if not isinstance(held, dict) or time.time() - held.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None, None
    account = load_account(f"{held.get('id')}:{held.get('version')}")
    return account, held.get("next")


def drop_pending() -> None:
    """Forget the pending sign-in."""
    session.pop(PENDING_KEY, None)
