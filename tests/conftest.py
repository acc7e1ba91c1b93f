"""Fixtures: an app on a real database (SQLite by default, PostgreSQL with PORTAL_TEST_DATABASE_URL).

The schema is built once per run by the real migrations; each test then starts from empty tables
(the standards' limits, which the migration ships as reference data, stay).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import normalise_database_url
from portal.extensions import db

SAMPLE_LEDGER = Path(__file__).resolve().parents[2] / "shared" / "data" / "ledger-sample.xlsx"
REFERENCE_TABLES = {"alembic_version", "discharge_standard", "standard_limit"}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A new, migrated database for this test run, dropped afterwards on PostgreSQL."""
    server_url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not server_url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"
        _migrate(url, tmp_path_factory.mktemp("instance"))
        yield url
        return
    server_url = normalise_database_url(server_url)
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, tmp_path_factory.mktemp("instance"))
        yield url
    finally:
        with admin.connect() as conn:
            # FORCE: a test that failed mid-request may still hold a pooled connection.
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url, instance_path):
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The portal on the test database, with an instance folder of its own."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False, "SERVER_NAME": "portal.test",
    })
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
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
def sample_ledger():
    """The bureau's sample ledger (24 invented outfalls), as it is."""
    if not SAMPLE_LEDGER.exists():
        pytest.fail(f"sample ledger missing: {SAMPLE_LEDGER}")
    return SAMPLE_LEDGER
