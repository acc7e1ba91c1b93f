"""Migrations build an empty database that matches the models, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.config import normalise_database_url
from portal.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it, of the kind this test run uses."""
    server_url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server_url = normalise_database_url(server_url)
    name = f"portal_empty_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_builds_the_schema_of_the_models_and_downgrade_removes_it(empty_database_url, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "k", "DATABASE_URL": empty_database_url})
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
