"""Scratch databases for tests: a file on SQLite, or a database of its own on a PostgreSQL server."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from portal.config import normalise_database_url


@contextmanager
def scratch_database(folder: Path, prefix: str = "portal_test"):
    """Yield the URL of a new, empty database, dropped afterwards on PostgreSQL.

    PostgreSQL is used when PORTAL_TEST_DATABASE_URL names a server, SQLite otherwise.
    """
    server_url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{folder / (prefix + '.db')}"
        return
    server_url = normalise_database_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE: a test that failed mid-request may still hold a pooled connection.
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
