"""Flask extensions, created unbound here and bound to the app in ``create_app``."""
from flask_compress import Compress
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

from portal.i18n import CatalogueBabel

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
babel = CatalogueBabel()
# Limits apply only where a view asks for one (report submission); storage from RATELIMIT_STORAGE_URI
# (Redis when several processes or servers serve: one budget per address across all of them).
# When that storage cannot be reached, a citizen is never turned away with a 500: each process counts
# the same limits in its own memory until the storage answers again (checked with a growing pause),
# and any other storage error lets the request through, logged. A dead Redis is found within a second
# (RATELIMIT_STORAGE_OPTIONS overrides these timeouts).
limiter = Limiter(key_func=get_remote_address, default_limits=[], in_memory_fallback_enabled=True,
                  swallow_errors=True, storage_options={"socket_connect_timeout": 1, "socket_timeout": 1})
# gzip and brotli for every text response (HTML, JSON, GeoJSON, CSV, JS, CSS); settings COMPRESS_*.
compress = Compress()
# Staff sessions (portal.admin); the citizen side has no accounts.
login_manager = LoginManager()

@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record):
    """Turn on what SQLite leaves off: foreign keys, and WAL so readers never wait for a writer."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
