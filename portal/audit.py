"""The staff log: ``record`` adds one entry to the caller's transaction (it never commits).

Every staff action and every sign-in calls it exactly once, inside the same ``transaction()`` as the
change it records, so the log can neither miss a change nor record one that was rolled back.
"""
from __future__ import annotations

import json

from portal.extensions import db
from portal.models import Account, AuditEntry
from portal.models.types import utcnow

CLI_ACTOR = "cli"  # a command run on the server
SYSTEM_ACTOR = "system"  # cron: escalation, sending


def record(actor: Account | str, action: str, subject=None, *, reason: str | None = None,
           detail: dict | None = None, address: str | None = None, label: str | None = None) -> AuditEntry:
    """Log that ``actor`` (an account, or CLI_ACTOR / SYSTEM_ACTOR) did ``action`` to ``subject``.

    ``subject`` is a model instance (its table and id are kept, and its tracking code or username
    as the label) or None. ``detail`` is a small JSON-able dict; never put a reporter's contact in it.
    """
    entry = AuditEntry(occurred_at=utcnow(), action=action, reason=(reason or "").strip() or None,
                       detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None,
                       address=address)
    if isinstance(actor, Account):
        entry.actor, entry.actor_name = actor, actor.username
    else:
        entry.actor_name = actor
    if subject is not None:
        entry.subject_type = subject.__tablename__
        entry.subject_id = getattr(subject, "id", None)
        entry.subject_label = label or getattr(subject, "tracking_code", None) or getattr(subject, "username", None)
    elif label:
        entry.subject_label = label
    db.session.add(entry)
    return entry
