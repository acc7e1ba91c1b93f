"""Each outfall carries what its plans add up to, true after every change whichever way it was made."""
from datetime import date

from sqlalchemy import delete, insert, select, update

from factories import make_outfall, make_plan
from portal.extensions import db
from portal.models import Outfall, RectificationPlan
from portal.registry import plan_summary


def _summary(outfall):
    db.session.expire(outfall)
    return (outfall.main_plan_id, outfall.plans_due_on, outfall.plans_status_rank, outfall.open_due_on)


def test_an_outfall_without_plans_has_an_empty_summary(app):
    outfall = make_outfall(plan=None)
    db.session.commit()
    assert _summary(outfall) == (None, None, None, None)


def test_the_summary_follows_plans_added_changed_and_removed(app):
    outfall = make_outfall(plan={"deadline": date(2026, 6, 30), "status": "in_progress"})
    first = outfall.plans[0]
    db.session.commit()
    assert _summary(outfall) == (first.id, date(2026, 6, 30), 1, date(2026, 6, 30))

    second = make_plan(outfall, deadline=date(2026, 3, 31), transition_ends_on=date(2026, 12, 31),
                       status="not_started")
    db.session.commit()
    # The main plan stays the first; the earliest effective deadline is the first's (the second has a
    # transition period to the end of the year); the least advanced status is the second's.
    assert _summary(outfall) == (first.id, date(2026, 6, 30), 0, date(2026, 6, 30))

    first.status = "completed"
    db.session.commit()
    assert _summary(outfall) == (first.id, date(2026, 6, 30), 0, date(2026, 12, 31))

    db.session.delete(first)
    db.session.commit()
    assert _summary(outfall) == (second.id, date(2026, 12, 31), 0, date(2026, 12, 31))

    second.status = "closed"
    db.session.commit()
    assert _summary(outfall) == (second.id, date(2026, 12, 31), 3, None)


def test_a_plan_added_by_its_outfall_id_alone_counts(app):
    outfall = make_outfall(plan=None)
    db.session.commit()
    db.session.add(RectificationPlan(outfall_id=outfall.id, measure="ban", status="not_started",
                                     deadline=date(2026, 5, 1)))
    db.session.commit()
    assert _summary(outfall)[1:] == (date(2026, 5, 1), 0, date(2026, 5, 1))


def test_overdue_is_an_open_deadline_before_today(app):
    late = make_outfall(plan={"deadline": date(2026, 1, 31), "status": "in_progress"})
    done = make_outfall(plan={"deadline": date(2026, 1, 31), "status": "completed"})
    ahead = make_outfall(plan={"deadline": date(2027, 1, 31), "status": "in_progress"})
    db.session.commit()
    today = date(2026, 12, 1)
    overdue = set(db.session.scalars(select(Outfall.code).where(plan_summary.overdue_condition(today))))
    assert overdue == {late.code}
    assert not plan_summary.is_overdue(done.open_due_on, today)
    assert plan_summary.is_overdue(late.open_due_on, today) and not plan_summary.is_overdue(ahead.open_due_on, today)


def test_refresh_all_puts_right_what_bulk_statements_wrote(app):
    outfall = make_outfall(plan={"deadline": date(2026, 6, 30)})
    db.session.commit()
    # Core statements bypass the session's bookkeeping: the summary is stale until refresh_all.
    db.session.execute(insert(RectificationPlan).values(outfall_id=outfall.id, measure="merge",
                                                        status="not_started", deadline=date(2026, 2, 1)))
    db.session.execute(update(RectificationPlan).where(RectificationPlan.id == outfall.plans[0].id)
                       .values(status="closed"))
    db.session.commit()
    edited_at = db.session.scalar(select(Outfall.updated_at))
    plan_summary.refresh_all(db.session)
    db.session.commit()
    assert _summary(outfall)[1:] == (date(2026, 2, 1), 0, date(2026, 2, 1))
    assert outfall.updated_at == edited_at  # derived, not an edit: /data's "last changed" stays
    db.session.execute(delete(RectificationPlan))
    plan_summary.refresh_all(db.session)
    db.session.commit()
    assert _summary(outfall) == (None, None, None, None)
