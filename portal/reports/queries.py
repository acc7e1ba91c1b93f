"""Finding reports: for the public (by code, the published list), for the reporter (the private
link), and for staff (their queues, always inside ``portal.access.visible_reports``)."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date

from flask import current_app, g, has_request_context
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from portal import access, calendar, data_version
from portal.extensions import db
from portal.models import Account, Report
from portal.registry.vocabulary import OPEN_REPORT_STATUSES
from portal.reports import privacy
from portal.reports.paging import BoundedCount, BoundedPagination, limited

# Queues and their badges count up to this many reports and then read "1,000+": past that, an exact
# number tells a member of staff nothing more, and counting a million rows would cost every page.
QUEUE_COUNT_BOUND = 1000

QUEUES = ("new", "mine", "due_soon", "overdue", "open", "answered", "all")
QUEUE_LABELS = {"new": ("待受理", "New"), "mine": ("我的", "Mine"), "due_soon": ("即将到期", "Due soon"),
                "overdue": ("已超期", "Overdue"), "open": ("办理中", "Open"),
                "answered": ("待结案", "To close"), "all": ("全部", "All")}
BEING_HANDLED = tuple(s for s in OPEN_REPORT_STATUSES if s != "submitted")


def find_by_code(code: str) -> Report | None:
    """The report with this tracking code as people type it (case, spaces, dashes), or None."""
    normalised = privacy.normalise_tracking_code(code or "")
    if not normalised or len(normalised) > 16 or any(c not in privacy.TRACKING_ALPHABET for c in normalised):
        return None
    return db.session.scalar(select(Report).where(Report.tracking_code == normalised))


def find_private(code: str, secret: str) -> Report | None:
    """The report whose private link this is, or None; the secret's digest is compared in constant time."""
    report = find_by_code(code)
    if report is None or not secret:
        return None
    if not hmac.compare_digest(privacy.digest(secret).encode(), report.secret_digest.encode()):
        return None
    return report


def published_reports(page: int = 1, per_page: int = 50):
    """A page of the reports staff have published, newest first (a Flask-SQLAlchemy pagination)."""
    query = (select(Report).where(Report.published.is_(True))
             .options(selectinload(Report.town)).order_by(Report.created_at.desc(), Report.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def located_published_reports() -> list[Report]:
    """Every published report that has a position, with what ``public_view`` reads, loaded up front."""
    query = (select(Report).where(Report.published.is_(True), Report.latitude.is_not(None),
                                  Report.longitude.is_not(None))
             .options(selectinload(Report.town), selectinload(Report.updates), selectinload(Report.photos),
                      selectinload(Report.department))
             .order_by(Report.created_at.desc(), Report.id.desc()))
    return list(db.session.scalars(query))


# Staff ------------------------------------------------------------------------------------------------


def visible_report(account: Account | None, code: str) -> Report | None:
    """The report with this code if the account may see it; None otherwise (the view answers 404, so
    that a report of another town or department is not even confirmed to exist)."""
    report = find_by_code(code)
    if report is None or account is None or not access.can(account, "view", report):
        return None
    return report


@dataclass
class QueueFilter:
    """What a member of staff narrowed their queue to; every field optional."""

    town_id: int | None = None
    water_body_id: int | None = None
    department_code: str | None = None
    category: str | None = None
    status: str | None = None
    channel: str | None = None
    search: str | None = None

    def conditions(self) -> list:
        """The SQL conditions of the filter."""
        found = []
        for column, value in ((Report.town_id, self.town_id), (Report.water_body_id, self.water_body_id),
                              (Report.department_code, self.department_code), (Report.category, self.category),
                              (Report.status, self.status), (Report.channel, self.channel)):
            if value is not None and value != "":
                found.append(column == value)
        text = (self.search or "").strip()
        if text:
            code = privacy.normalise_tracking_code(text)
            pattern = f"%{_escape_like(text)}%"
            found.append(or_(Report.tracking_code == code, Report.description.ilike(pattern, escape="\\"),
                             Report.address_text.ilike(pattern, escape="\\")))
        return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def queue_condition(account: Account, queue: str, today: date | None = None):
    """The SQL condition of one of the QUEUES for this account, inside what it may see."""
    if queue not in QUEUES:
        raise KeyError(queue)
    today = today or calendar.today()
    accept_pending = Report.status == "submitted"
    handling = Report.status.in_(BEING_HANDLED)
    if queue == "new":
        condition = accept_pending
    elif queue == "mine":
        condition = and_(Report.assignee_id == account.id, Report.status.in_(OPEN_REPORT_STATUSES))
    elif queue == "due_soon":
        # Only this queue needs the working-day calendar (a query): the others do not ask for it.
        soon = calendar.add_working_days(today, current_app.config["REPORT_DUE_SOON_WORKING_DAYS"])
        condition = or_(and_(accept_pending, Report.accept_due >= today, Report.accept_due <= soon),
                        and_(handling, Report.finish_due >= today, Report.finish_due <= soon))
    elif queue == "overdue":
        condition = or_(and_(accept_pending, Report.accept_due < today), and_(handling, Report.finish_due < today))
    elif queue == "open":
        condition = Report.status.in_(OPEN_REPORT_STATUSES)
    elif queue == "answered":  # answered (or confirmed by the reporter): the supervisors close them
        condition = Report.status.in_(("resolved", "confirmed"))
    else:  # all
        condition = None
    visible = access.visible_reports(account)
    return visible if condition is None else and_(visible, condition)


def queue_page(account: Account, queue: str, filters: QueueFilter | None = None, *, page: int = 1,
               per_page: int = 50, today: date | None = None):
    """A page of a queue, the most urgent first (earliest deadline, then oldest); its total is
    counted up to ``QUEUE_COUNT_BOUND`` (``paging.BoundedPagination``)."""
    conditions = [queue_condition(account, queue, today), *(filters or QueueFilter()).conditions()]
    due = func.coalesce(Report.finish_due, Report.accept_due) if queue != "new" else Report.accept_due
    query = (select(Report).where(*conditions)
             .options(selectinload(Report.town), selectinload(Report.department), selectinload(Report.assignee))
             .order_by(due.asc().nulls_last() if queue in ("new", "mine", "due_soon", "overdue", "open")
                       else Report.created_at.desc(), Report.created_at.asc(), Report.id.asc()))
    return BoundedPagination(query, page=page, per_page=per_page, bound=QUEUE_COUNT_BOUND)


def queue_counts(account: Account, today: date | None = None) -> dict[str, BoundedCount]:
    """How many reports each queue holds for this account (the numbers in the navigation), each
    counted up to ``QUEUE_COUNT_BOUND`` ("1,000+"), in one statement of one bounded count per queue
    (each an index range, not a pass over every report). Every page of the back office shows them:
    they are counted again only when reports have changed (``data_version.remembered``, keyed to
    what the account may see), and once per request at most (the navigation and the tabs both ask)."""
    today = today or calendar.today()
    memo = g.setdefault("report_queue_counts", {}) if has_request_context() else {}
    key = (account.id, today)
    if key not in memo:
        scope = (account.id, account.active, account.role, account.town_id, account.department_code,
                 account.water_body_id, account.chief_id, today)
        memo[key] = data_version.remembered(_QUEUE_COUNTS, (data_version.REPORTS,), scope,
                                            lambda: _count_queues(account, today), limit=1024)
    return memo[key]


_QUEUE_COUNTS = "portal.queue_counts"


def _count_queues(account: Account, today: date) -> dict[str, BoundedCount]:
    names = [queue for queue in QUEUES if queue != "all"]
    counts = [select(func.count()).select_from(limited(select(Report).where(queue_condition(account, queue, today)),
                                                       QUEUE_COUNT_BOUND + 1)).scalar_subquery()
              for queue in names]
    row = db.session.execute(select(*counts)).one()
    return {name: BoundedCount(int(value), QUEUE_COUNT_BOUND) for name, value in zip(names, row)}


def matching(account: Account, filters: QueueFilter | None = None):
    """The SQL condition of every report this account may see that the filter lets through (exports)."""
    return and_(access.visible_reports(account), *(filters or QueueFilter()).conditions())
