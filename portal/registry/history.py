"""An outfall's dated history: every creation and every change of a field, with what caused it."""
from __future__ import annotations

from datetime import date
from typing import Any

from portal.models import Outfall, OutfallEvent
from portal.models.types import utcnow


def as_history_value(value: Any) -> str | None:
    """How a value is kept in history: codes and names as they are, dates as ISO, numbers as text."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def record_created(outfall: Outfall, source: str) -> None:
    """Note that the outfall entered the registry."""
    outfall.events.append(OutfallEvent(kind="created", new_value=outfall.code, source=source,
                                       occurred_at=utcnow()))


def record_changes(outfall: Outfall, changes: list[tuple[str, Any, Any]], source: str | None = None, *,
                   actor=None, reason: str | None = None) -> None:
    """Note each changed field with its old and new value, all at the same instant, with who made the
    change in the back office (``actor``, an Account) and why, or the import that made it (``source``)."""
    now = utcnow()
    for field_name, old, new in changes:
        outfall.events.append(OutfallEvent(
            kind="changed", field=field_name, old_value=as_history_value(old),
            new_value=as_history_value(new), source=source, occurred_at=now, actor=actor, reason=reason,
        ))
