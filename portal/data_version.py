"""Which published data changed, and when: a counter per scope, raised in the commit that changes it.

Scopes: ``registry`` (outfalls and everything their pages, maps, lists and downloads show: places,
chiefs, plans, monitoring, photos, documents) and ``reports`` (citizen reports and their timelines).
Every commit through the session that adds, changes or deletes rows of a scope's tables — by the
ORM or by a bulk statement — raises the scope's number in that same transaction, so a cached page
or an ETag keyed to the numbers is never served once a change has been committed, on any server.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import DataVersion
from portal.models.types import utcnow

REGISTRY = "registry"
REPORTS = "reports"
SCOPES = (REGISTRY, REPORTS)

# Which scope each table's rows belong to; tables not named (accounts, audit, outbox, versions) publish nothing.
_TABLE_SCOPES = {
    **dict.fromkeys((
        "outfall", "rectification_plan", "rectification_step", "outfall_event", "discharge_standard",
        "standard_limit", "monitoring_section", "monitoring_sample", "standardisation_item",
        "outfall_photo", "outfall_document", "progress_snapshot", "responsible_party", "town",
        "water_body", "river_chief", "duty_shift", "department",
    ), (REGISTRY,)),
    **dict.fromkeys(("report", "report_photo", "report_update", "me_too"), (REPORTS,)),
    # Working days move report deadlines; holidays are shown with the registry's deadlines too.
    "calendar_day": (REGISTRY, REPORTS),
}
_CHANGED = "portal.data_version.changed"


def numbers(scopes=SCOPES) -> tuple[int, ...]:
    """The current number of each scope, in the order given (0 for a scope never written)."""
    found = dict(db.session.execute(select(DataVersion.scope, DataVersion.number)
                                    .where(DataVersion.scope.in_(scopes))).all())
    return tuple(found.get(scope, 0) for scope in scopes)


def last_changed(scopes=SCOPES) -> datetime | None:
    """When any of the scopes last changed (None if never)."""
    moments = db.session.scalars(select(DataVersion.changed_at).where(DataVersion.scope.in_(scopes))).all()
    return max(moments, default=None)


def mark_changed(session: Session, *scopes: str) -> None:
    """Note that the session's transaction changes these scopes (for writers that bypass both hooks)."""
    session.info.setdefault(_CHANGED, set()).update(scopes)


def pending(session: Session) -> set[str]:
    """The scopes the session's open transaction has changed so far (flushed, not yet committed):
    a cache keyed to ``numbers`` must not answer for them, the numbers rise only at the commit."""
    return set(session.info.get(_CHANGED, ()))


def remembered(name: str, scopes: tuple[str, ...], key, compute: Callable[[], Any], *, limit: int = 64) -> Any:
    """``compute()`` for ``key``, kept by this application (one worker) under ``name`` while the numbers
    of ``scopes`` stay the same (``Remembered``)."""
    store = current_app.extensions.get(name)
    if store is None:
        store = current_app.extensions.setdefault(name, Remembered(scopes, limit))
    return store.get(key, compute)


class Remembered:
    """Values a worker computed from the data of some scopes, kept while the scopes' numbers stay the
    same: a count of a million reports is computed once per change, not once per page. The newest
    ``limit`` keys are kept. Thread-safe (a worker serves several threads). One per application, since
    another application's database has numbers of its own.
    """

    def __init__(self, scopes: tuple[str, ...], limit: int):
        self.scopes, self.limit = scopes, limit
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, compute: Callable[[], Any]) -> Any:
        """What ``compute()`` gave for ``key`` at the current numbers, computed now if it is not kept.

        Within a transaction that has changed these scopes the value is computed and not kept: the
        changes may yet be rolled back, and the numbers rise only at the commit.
        """
        uncommitted = bool(pending(db.session()) & set(self.scopes))
        versions = numbers(self.scopes)
        with self._lock:
            found = None if uncommitted else self._kept.get(key)
            if found is not None and found[0] == versions:
                self._kept.move_to_end(key)
                return found[1]
        value = compute()
        if not uncommitted:
            with self._lock:
                self._kept[key] = (versions, value)
                self._kept.move_to_end(key)
                while len(self._kept) > self.limit:
                    self._kept.popitem(last=False)
        return value


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context) -> None:
    changed = session.info.setdefault(_CHANGED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in _TABLE_SCOPES and (obj not in session.dirty or session.is_modified(obj)):
            changed.update(_TABLE_SCOPES[table])


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    """Bulk INSERT, UPDATE and DELETE statements run through the session count as changes too."""
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and table.name in _TABLE_SCOPES:
            state.session.info.setdefault(_CHANGED, set()).update(_TABLE_SCOPES[table.name])


@event.listens_for(Session, "before_commit")
def _raise_numbers(session: Session) -> None:
    session.flush()  # what is still pending is part of this commit: note its scopes first
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    now = utcnow()
    for scope in sorted(changed):  # one order everywhere: two commits never wait on each other crosswise
        bumped = session.execute(
            update(DataVersion).where(DataVersion.scope == scope)
            .values(number=DataVersion.number + 1, changed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not bumped:  # a database made without the migration's rows (tests' create_all)
            try:
                with session.begin_nested():
                    session.execute(insert(DataVersion).values(scope=scope, number=1, changed_at=now))
            except IntegrityError:  # another process inserted it first
                session.execute(update(DataVersion).where(DataVersion.scope == scope)
                                .values(number=DataVersion.number + 1, changed_at=now))
    session.info.pop(_CHANGED, None)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)
