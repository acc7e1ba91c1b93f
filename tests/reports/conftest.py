"""Fixtures of the report tests: a client of an app whose rate limits are on."""
from __future__ import annotations

import pytest

from portal import create_app
from portal.extensions import db, limiter


@pytest.fixture
def limited_client(app):
    """A test client of the portal with Flask-Limiter switched on (the shared app has it off), on the
    same database and instance folder; the limits start from zero."""
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True})
    limiter.reset()
    with limited.app_context():
        yield limited.test_client()
        db.session.remove()
        db.engine.dispose()  # this app's own connection pool
    limiter.reset()
    limiter.enabled = False


@pytest.fixture
def csrf_client(app):
    """A test client of the portal with CSRF protection on, as in production, on the same database."""
    protected = create_app({**app.config, "WTF_CSRF_ENABLED": True})
    with protected.app_context():
        yield protected.test_client()
        db.session.remove()
        db.engine.dispose()  # this app's own connection pool
