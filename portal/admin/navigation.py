"""The back office's navigation: each entry names the action it needs, so nobody sees a link they
cannot follow. Adding an entry is one line in ENTRIES (with a count function for a badge)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import access
from portal.extensions import db
from portal.models import OutboxMessage


@dataclass(frozen=True)
class Entry:
    """One possible navigation link: its label, endpoint, the action it needs and an optional count."""

    label: object
    endpoint: str
    action: str
    count: Callable[[object], int] | None = None


@dataclass(frozen=True)
class Item:
    """A link as base.html draws it: ``count`` None means no badge."""

    label: str
    endpoint: str
    count: int | None


def failed_messages(_account) -> int:
    """How many outgoing messages were given up on (they need someone to look)."""
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status == "failed")) or 0


def reports_waiting(account) -> int:
    """The new reports the account can see, waiting to be accepted."""
    from portal.reports import queries

    return queries.queue_counts(account)["new"]


ENTRIES: list[Entry] = [
    Entry(_l("工作台"), "admin.index", "use_back_office"),
    Entry(_l("举报"), "admin.queue", "view_reports", count=reports_waiting),
    Entry(_l("排污口台账"), "admin.outfalls", "view_registry"),
    Entry(_l("监测断面"), "admin.sections_list", "view_registry"),
    Entry(_l("河湖与公示牌"), "admin.waters_list", "view_registry"),
    Entry(_l("监测数据"), "admin.samples_upload", "import_monitoring"),
    Entry(_l("排放标准"), "admin.standards", "manage_standards"),
    Entry(_l("审计日志"), "admin.audit_log", "view_audit"),
    Entry(_l("通知发件箱"), "admin.outbox", "view_outbox", count=failed_messages),
    Entry(_l("账户管理"), "admin.accounts", "manage_accounts"),
    Entry(_l("我的账户"), "admin.my_account", "use_back_office"),
]


def navigation(account) -> list[Item]:
    """The entries this account may follow, with their counts."""
    return [Item(str(entry.label), entry.endpoint, entry.count(account) if entry.count else None)
            for entry in ENTRIES if access.can(account, entry.action)]
