"""Daily snapshots of the progress figures: what they count, one per day, taken by `portal snapshot-progress`
on the day the clock says."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from factories import make_outfall, make_plan, make_town
from portal import calendar
from portal.extensions import db
from portal.models import ProgressSnapshot
from portal.registry import snapshots


@pytest.fixture
def clock(monkeypatch):
    """``clock(datetime)``: move the district's clock (portal.calendar's test seam)."""
    def move(instant):
        """Make ``instant`` the current time."""
        monkeypatch.setattr(calendar, "_clock", lambda: instant)
    return move


@pytest.fixture
def registry(app):
    """Two towns: in 呼中镇 one outfall finished on time, one finished late, one overdue; in 碧水镇 one
    finished late but within its transition period (on time), one with two plans of which one is open."""
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    make_outfall("ON-TIME", town=huzhong, plan={"deadline": date(2026, 6, 30), "status": "completed",
                                               "completed_on": date(2026, 6, 1)})
    make_outfall("LATE", town=huzhong, plan={"deadline": date(2026, 6, 30), "status": "closed",
                                            "completed_on": date(2026, 7, 15)})
    make_outfall("OVERDUE", town=huzhong, plan={"deadline": date(2026, 8, 20), "status": "in_progress"})
    make_outfall("TRANSITION", town=bishui, plan={"deadline": date(2026, 6, 30), "transition_ends_on": date(2026, 9, 30),
                                                 "status": "completed", "completed_on": date(2026, 9, 1)})
    two = make_outfall("TWO-PLANS", town=bishui, plan={"deadline": date(2026, 6, 30), "status": "completed",
                                                      "completed_on": date(2026, 8, 1)})
    make_plan(two, deadline=date(2027, 6, 30), status="in_progress")
    db.session.commit()


def count_snapshots() -> int:
    """How many snapshots are kept."""
    return db.session.scalar(select(func.count()).select_from(ProgressSnapshot))


def test_a_snapshot_counts_overdue_completed_and_completed_late(app, registry):
    figures = snapshots.figures(date(2026, 10, 1))
    assert figures["total"] == 5 and figures["with_plan"] == 5
    assert figures["overdue"] == 1  # OVERDUE; TWO-PLANS' open plan is not due until 2027
    assert figures["completed"] == 3  # ON-TIME, LATE, TRANSITION; TWO-PLANS has an open plan
    assert figures["completed_late"] == 1  # LATE; TRANSITION finished within its transition period
    assert figures["by_status"]["completed"] == 3 and figures["by_status"]["in_progress"] == 2
    towns = {town["name"]: town for town in figures["towns"]}
    assert towns["呼中镇"] == {"name": "呼中镇", "outfalls": 3, "overdue": 1, "completed": 2, "completed_late": 1}
    assert towns["碧水镇"]["completed"] == 1 and towns["碧水镇"]["completed_late"] == 0
    # Earlier, the same plan was not yet overdue.
    assert snapshots.figures(date(2026, 8, 1))["overdue"] == 0


def test_taking_a_day_again_replaces_it(app, registry):
    snapshots.take_snapshot(date(2026, 10, 1))
    db.session.commit()
    make_outfall("NEW", town=make_town("呼中镇"), plan={"deadline": date(2026, 9, 1)})
    snapshots.take_snapshot(date(2026, 10, 1))
    db.session.commit()
    assert count_snapshots() == 1
    assert snapshots.snapshot_on(date(2026, 10, 1)).overdue == 2


def test_the_command_takes_the_snapshot_of_the_day_the_clock_says(app, registry, runner, clock):
    # 2026-10-01 17:00 UTC is already 2 October in the district (UTC+8).
    clock(datetime(2026, 10, 1, 17, 0, tzinfo=timezone.utc))
    result = runner.invoke(args=["snapshot-progress"])
    assert result.exit_code == 0 and "已记录 2026-10-02 的进展统计" in result.output
    assert runner.invoke(args=["snapshot-progress"]).exit_code == 0  # idempotent: the day is replaced
    clock(datetime(2026, 10, 3, 1, 0, tzinfo=timezone.utc))
    assert runner.invoke(args=["snapshot-progress"]).exit_code == 0
    db.session.remove()
    assert [s.day for s in snapshots.history()] == [date(2026, 10, 2), date(2026, 10, 3)]
    stored = db.session.scalar(select(ProgressSnapshot.figures).where(ProgressSnapshot.day == date(2026, 10, 3)))
    assert json.loads(stored)["overdue"] == 1


def test_snapshots_as_csv_have_a_district_row_and_a_row_per_town(app, registry):
    snapshots.take_snapshot(date(2026, 10, 1))
    lines = snapshots.as_csv(snapshots.history()).splitlines()
    assert lines[0] == ",".join(snapshots.CSV_COLUMNS)
    assert lines[1] == "2026-10-01,,5,5,1,3,1"
    assert "2026-10-01,呼中镇,3,,1,2,1" in lines
