"""What an outfall's plans add up to, kept on the outfall itself (``Outfall.main_plan_id`` …).

Maps, lists, counts and downloads over 100,000 outfalls read these columns instead of aggregating
every plan on every request. They are kept true in one place: before every flush, each outfall whose
plans were added, changed or removed gets its summary computed again from its plans, whichever
writer (a view, an import, a command) changed them. Writers that insert plans in bulk with Core
statements, bypassing the session (the scale dataset), call ``refresh_all`` once afterwards.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, bindparam, case, event, func, select, update
from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from portal.models import Outfall, RectificationPlan
from portal.registry import vocabulary as vocab
from portal.registry.vocabulary import DONE_STATUSES

STATUS_RANKS = {code: rank for rank, code in enumerate(vocab.PLAN_STATUSES.codes())}
UNKNOWN_STATUS_RANK = 99  # a status outside the vocabulary sorts last


def summarise(plans) -> dict:
    """The summary columns of an outfall with these plans (any order)."""
    plans = sorted(plans, key=lambda plan: (plan.id is None, plan.id or 0))
    if not plans:
        return {"main_plan_id": None, "plans_due_on": None, "plans_status_rank": None, "open_due_on": None}
    dues = [plan.effective_deadline for plan in plans if plan.effective_deadline]
    open_dues = [plan.effective_deadline for plan in plans
                 if plan.effective_deadline and plan.status not in DONE_STATUSES]
    return {
        "main_plan_id": plans[0].id,
        "plans_due_on": min(dues, default=None),
        "plans_status_rank": min(STATUS_RANKS.get(plan.status, UNKNOWN_STATUS_RANK) for plan in plans),
        "open_due_on": min(open_dues, default=None),
    }


def is_overdue(open_due_on: date | None, today: date) -> bool:
    """Whether an outfall with this ``open_due_on`` has a plan unfinished past its deadline today."""
    return open_due_on is not None and open_due_on < today


def overdue_condition(today: date):
    """SQL on ``Outfall``: some plan of it is unfinished past its (transition) deadline."""
    return and_(Outfall.open_due_on.is_not(None), Outfall.open_due_on < today)


def refresh_all(session: Session) -> None:
    """Compute every outfall's summary again (after a bulk load of plans), in two statements: clear
    them all, then set them from one grouped pass over the plans (UPDATE … FROM), never a subquery
    per outfall. ``updated_at`` stays: a summary is derived, not an edit."""
    plan, table = RectificationPlan, Outfall.__table__
    due = func.coalesce(plan.transition_ends_on, plan.deadline)
    summary = (
        select(
            plan.outfall_id.label("outfall_id"),
            func.min(plan.id).label("main_plan_id"),
            func.min(due).label("plans_due_on"),
            func.min(case(STATUS_RANKS, value=plan.status, else_=UNKNOWN_STATUS_RANK)).label("plans_status_rank"),
            func.min(case((plan.status.notin_(DONE_STATUSES), due))).label("open_due_on"),
        )
        .group_by(plan.outfall_id)
        .subquery("summary")
    )
    session.execute(update(table).values({**dict.fromkeys(_COLUMNS), "updated_at": table.c.updated_at}))
    session.execute(update(table).where(table.c.id == summary.c.outfall_id).values(
        {**{column: summary.c[column] for column in _COLUMNS}, "updated_at": table.c.updated_at}))


@event.listens_for(Session, "after_flush")
def _note_touched_outfalls(session: Session, _context) -> None:
    """Note the outfalls whose plans this flush added, changed or removed, and the new outfalls.

    (``session.new``, ``dirty`` and ``deleted`` still hold what was flushed here.)
    """
    touched = session.info.setdefault(_TOUCHED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, RectificationPlan):
            history = inspect(obj).attrs.outfall_id.history
            touched.update(i for i in (*history.added, *history.unchanged, *history.deleted) if i is not None)
        elif isinstance(obj, Outfall) and obj in session.new:
            touched.add(obj.id)


@event.listens_for(Session, "after_flush_postexec")
def _summarise_touched_outfalls(session: Session, _context) -> None:
    """Write the touched outfalls' summaries from their plans as the database now has them.

    Written by a plain UPDATE on the flush's connection, and into the loaded outfalls as their
    committed state: a summary is derived, not an edit, so the outfall's ``updated_at`` (what /data
    reports as the data's last change) stays as it was.
    """
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    ids = sorted(touched)
    plans: dict[int, list] = {outfall_id: [] for outfall_id in ids}
    connection = session.connection()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in connection.execute(
            select(RectificationPlan.id, RectificationPlan.outfall_id, RectificationPlan.status,
                   RectificationPlan.deadline, RectificationPlan.transition_ends_on)
            .where(RectificationPlan.outfall_id.in_(chunk))
        ):
            plans[row.outfall_id].append(_PlanRow(row.id, row.status, row.transition_ends_on or row.deadline))
    summaries = {outfall_id: summarise(plans[outfall_id]) for outfall_id in ids}
    connection.execute(
        update(Outfall.__table__).where(Outfall.__table__.c.id == bindparam("outfall_id"))
        # updated_at set to itself: the column's onupdate would otherwise stamp it with now.
        .values({**{column: bindparam(column) for column in _COLUMNS},
                 "updated_at": Outfall.__table__.c.updated_at}),
        [{"outfall_id": outfall_id, **summary} for outfall_id, summary in summaries.items()],
    )
    for outfall_id, summary in summaries.items():
        outfall = session.identity_map.get(identity_key(Outfall, outfall_id))
        if outfall is not None:
            for column, value in summary.items():
                set_committed_value(outfall, column, value)


_COLUMNS = ("main_plan_id", "plans_due_on", "plans_status_rank", "open_due_on")
_TOUCHED = "portal.plan_summary_touched"


class _PlanRow:
    """A plan as the summary needs it: id, status and effective deadline."""

    __slots__ = ("id", "status", "effective_deadline")

    def __init__(self, plan_id, status, effective_deadline):
        self.id, self.status, self.effective_deadline = plan_id, status, effective_deadline
