"""portal.db.transaction(): the one commit, its hooks, and nesting."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.db import after_commit, on_rollback, transaction
from portal.extensions import db
from portal.models import Town


def names() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Town.name)))


def test_the_block_is_committed_and_then_the_after_commit_hooks_run(app):
    seen = []
    with transaction():
        db.session.add(Town(name="呼中镇"))
        after_commit(lambda: seen.append(names()))
        on_rollback(lambda: seen.append("rolled back"))
    assert seen == [["呼中镇"]]


def test_an_error_rolls_everything_back_and_runs_only_the_rollback_hooks(app):
    seen = []
    with pytest.raises(ValueError):
        with transaction():
            db.session.add(Town(name="呼中镇"))
            after_commit(lambda: seen.append("moved"))
            on_rollback(lambda: seen.append("discarded"))
            raise ValueError("refused")
    assert seen == ["discarded"] and names() == []
    with transaction():  # the hooks of the failed block are gone
        db.session.add(Town(name="碧水镇"))
    assert seen == ["discarded"]


def test_a_nested_block_joins_the_outer_one(app):
    with pytest.raises(RuntimeError):
        with transaction():
            with transaction():
                db.session.add(Town(name="呼中镇"))
            assert names() == ["呼中镇"]  # flushed, not committed
            raise RuntimeError("outer fails")
    assert names() == []


def test_every_after_commit_hook_runs_even_when_one_fails(app):
    seen = []

    def broken():
        raise OSError("disk full")

    with pytest.raises(OSError):
        with transaction():
            after_commit(broken)
            after_commit(lambda: seen.append("second"))
    assert seen == ["second"]
