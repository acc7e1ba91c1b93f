"""Fixtures: an app on a real database (SQLite by default, PostgreSQL with PORTAL_TEST_DATABASE_URL).

The schema is built once per run by the real migrations; each test then starts from empty tables
(the standards' limits and the departments, which the migrations ship as reference data, stay).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from databases import scratch_database

from portal import create_app
from portal.extensions import db
from portal.models import DischargeStandard, Outfall, StandardLimit

REFERENCE_TABLES = {"alembic_version", "department", "discharge_standard", "standard_limit"}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A new database for this test run, built by the real migrations."""
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        _migrate(url)
        yield url


def _migrate(url):
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The portal on the test database, with an instance folder of its own."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False, "SERVER_NAME": "portal.test", "RATELIMIT_ENABLED": False,
        # A test that changes data then reads a page sees the change; staleness is tested on its own.
        "PAGE_CACHE_STALE_SECONDS": 0,
    })
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            # Standards a test added (permits, an administrator's standard) go; the shipped ones stay.
            added = sa.select(DischargeStandard.id).where(DischargeStandard.is_builtin.is_(False))
            conn.execute(sa.delete(StandardLimit).where(StandardLimit.standard_id.in_(added)))
            conn.execute(sa.update(Outfall).values(standard_id=None))
            conn.execute(sa.delete(DischargeStandard).where(DischargeStandard.is_builtin.is_(False)))
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client for the portal."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Runs `portal` commands against the test app."""
    return app.test_cli_runner()


@pytest.fixture
def sample_ledger(tmp_path):
    """A bureau-style ledger of 24 invented outfalls (tests/ledger_files.py: write_bureau_ledger)."""
    from ledger_files import write_bureau_ledger

    return write_bureau_ledger(tmp_path / "ledger-sample.xlsx")
