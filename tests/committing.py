"""The registry's importers and the demo seed called as the `portal` commands call them: in one transaction.

The domain functions only flush; the command wraps each call in ``transaction()`` (a dry run is
rolled back instead). Tests that need the outcome committed — a later request, a second import that
must see the first, a refusal that must leave the earlier import standing — call these.
"""
from __future__ import annotations

from portal.db import transaction
from portal.extensions import db
from portal import demo
from portal.registry import areas, ledger_import, roster


def import_ledger(path, dry_run: bool = False, create_towns=False):
    """Import a ledger and commit it; a dry run is rolled back, as `portal import-ledger --dry-run` does."""
    if dry_run:
        result = ledger_import.import_ledger(path, dry_run=True, create_towns=create_towns)
        db.session.rollback()
        return result
    with transaction():
        return ledger_import.import_ledger(path, create_towns=create_towns)


def import_areas(path):
    """Import town boundaries and commit them."""
    with transaction():
        return areas.import_areas(path)


def import_roster(path):
    """Import a duty roster and commit it."""
    with transaction():
        return roster.import_roster(path)


def seed_demo():
    """Seed the demo data and commit it (None if it was already there)."""
    with transaction():
        return demo.seed()
