"""Column types shared by the models."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


# The largest id a row can have: primary keys are INTEGER, which PostgreSQL keeps in 32 bits. An id
# beyond it written in a URL matches nothing, and must not reach the database (an overflow there).
MAX_DATABASE_ID = 2**31 - 1


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC, so SQLite and PostgreSQL give back the same instant."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(timezone.utc)
