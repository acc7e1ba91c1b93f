"""Migrations build an empty database that matches the models, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from databases import scratch_database
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it, of the kind this test run uses."""
    with scratch_database(tmp_path, "portal_empty") as url:
        yield url


def test_upgrade_builds_the_schema_of_the_models_and_downgrade_removes_it(empty_database_url, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert differences == []
            limits = conn.execute(sa.text(
                "SELECT l.maximum FROM standard_limit l JOIN discharge_standard s ON s.id = l.standard_id "
                "WHERE s.code = 'GB 18918-2002' AND s.grade = '一级A' AND l.parameter = 'COD'"
            )).scalars().all()
            assert limits == [50]
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
