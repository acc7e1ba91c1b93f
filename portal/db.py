"""The one place that commits: ``transaction()`` around a request's or a command's work.

Domain operations only add and flush; the view or the CLI command that called them wraps the call
in ``transaction()``, so that everything one user action changes — the report, its timeline, the
audit entry, the outgoing messages — is committed together or not at all. Work that must wait for
the commit (moving photo files into place) registers an ``after_commit`` hook; work that must undo
something outside the database when it fails (deleting staged files) registers ``on_rollback``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from portal.extensions import db

_AFTER_COMMIT = "portal.after_commit"
_ON_ROLLBACK = "portal.on_rollback"


@contextmanager
def transaction() -> Iterator[None]:
    """Run the block and commit; on any exception roll back and re-raise.

    After a successful commit the ``after_commit`` hooks run in order (a failing hook does not stop
    the others; the first failure is raised once all have run). After a rollback the ``on_rollback``
    hooks run. Nested use joins the outer transaction: only the outermost commits.
    """
    info = db.session.info
    depth = info.get("portal.depth", 0)
    info["portal.depth"] = depth + 1
    try:
        yield
        if depth == 0:
            db.session.commit()
    except BaseException:
        info["portal.depth"] = depth
        if depth == 0:
            db.session.rollback()
            _run(info.pop(_ON_ROLLBACK, []))
            info.pop(_AFTER_COMMIT, None)
        raise
    info["portal.depth"] = depth
    if depth == 0:
        info.pop(_ON_ROLLBACK, None)
        _run(info.pop(_AFTER_COMMIT, []))


def after_commit(hook: Callable[[], object]) -> None:
    """Run ``hook`` once the current transaction has committed."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(hook)


def on_rollback(hook: Callable[[], object]) -> None:
    """Run ``hook`` if the current transaction is rolled back instead."""
    db.session.info.setdefault(_ON_ROLLBACK, []).append(hook)


def discard_hooks() -> None:
    """Forget pending hooks (a request ended without committing): run the rollback ones."""
    db.session.info.pop(_AFTER_COMMIT, None)
    _run(db.session.info.pop(_ON_ROLLBACK, []))
    db.session.info.pop("portal.depth", None)


def init_app(app) -> None:
    """At the end of every request or command context, forget the hooks of work never committed
    (running their rollback hooks: staged photo files are deleted)."""
    app.teardown_appcontext(lambda _error: discard_hooks())


def _run(hooks: list[Callable[[], object]]) -> None:
    failure = None
    for hook in hooks:
        try:
            hook()
        except Exception as exc:  # the others still run: each file moved is one less to recover
            failure = failure or exc
    if failure is not None:
        raise failure
