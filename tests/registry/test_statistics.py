"""The counts behind /progress: right, complete (zeros included), matching the list's filter, and cheap."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from factories import make_event, make_outfall, make_plan, make_town
from helpers import counted_statements
from sqlalchemy import update

from portal.extensions import db
from portal.models import Outfall
from portal.registry import statistics
from portal.calendar import today
from portal.registry.queries import outfall_page


def by_key(counts):
    """Counts as {key: value}."""
    return {count.key: count.value for count in counts}


def listed(outfall_filter):
    """How many outfalls the list shows for a filter."""
    return outfall_page(outfall_filter, per_page=1000).total


@pytest.fixture
def registry(app):
    """Outfalls in three towns (碧水镇 has none overdue) at every point of the programme."""
    now = today()
    huzhong, huyuan, bishui = make_town("呼中镇"), make_town("呼源镇"), make_town("碧水镇")
    make_town("宏伟镇")  # a town without outfalls: listed with zeros, and cleared
    make_outfall("P-01", town=huzhong, stage="survey", outfall_type="industrial", plan=None, is_demo=True)
    make_outfall("P-02", town=huzhong, stage="rectification", outfall_type="industrial",
                 plan={"measure": "ban", "status": "in_progress", "deadline": now - timedelta(days=5)})
    make_outfall("P-03", town=huzhong, stage="rectification", outfall_type="other",
                 plan={"measure": "merge", "status": "not_started", "deadline": now - timedelta(days=40)})
    make_outfall("P-04", town=huyuan, stage="standardisation", outfall_type="municipal_wwtp",
                 plan={"measure": "keep", "status": "closed", "deadline": now - timedelta(days=400),
                       "completed_on": date(2025, 3, 2), "verified_on": date(2025, 4, 1)})
    make_outfall("P-05", town=huyuan, stage="standardisation", outfall_type="other",
                 plan={"measure": "standardise", "status": "completed", "deadline": now - timedelta(days=300),
                       "completed_on": date(2025, 3, 20)})
    # Past its deadline but inside its transition period: not overdue.
    make_outfall("P-06", town=huyuan, stage="rectification", outfall_type="agricultural",
                 plan={"measure": "standardise", "status": "in_progress", "deadline": now - timedelta(days=30),
                       "transition_ends_on": now + timedelta(days=30)})
    # Two units feed this outfall: one has finished, the other is overdue.
    several = make_outfall("P-07", town=bishui, stage="rectification", outfall_type="other",
                           plan={"measure": "merge", "status": "completed", "completed_on": date(2025, 1, 10)})
    make_plan(several, measure="standardise", status="in_progress", deadline=now - timedelta(days=1))
    make_outfall("P-08", town=bishui, stage="monitoring", outfall_type="agricultural", plan=None)
    # A completion date on unfinished work (a reopened plan) is not a completion.
    make_outfall("P-09", town=bishui, stage="rectification", outfall_type="other",
                 plan={"measure": "ban", "status": "in_progress", "completed_on": date(2025, 2, 14),
                       "deadline": now + timedelta(days=60)})
    db.session.commit()
    return {"呼中镇": huzhong.id, "呼源镇": huyuan.id, "碧水镇": bishui.id}


def test_totals_by_stage_type_and_town_list_every_value(registry):
    stats = statistics.progress(today())

    assert stats.total == 9
    assert stats.demo == 1
    assert by_key(stats.by_stage) == {"survey": 1, "monitoring": 1, "tracing": 0, "rectification": 5,
                                      "standardisation": 2}
    assert by_key(stats.by_type) == {"industrial": 2, "municipal_wwtp": 1, "agricultural": 2, "other": 4}
    # Towns in name order, the same on every database.
    assert [(c.label, c.value) for c in stats.by_town] == [("呼中镇", 3), ("呼源镇", 3), ("宏伟镇", 0), ("碧水镇", 3)]


def test_measures_and_statuses_count_outfalls_with_such_a_plan(registry):
    stats = statistics.progress(today())

    # P-07 counts under both its measures and both its statuses.
    assert by_key(stats.by_measure) == {"ban": 2, "merge": 2, "standardise": 3, "keep": 1}
    assert by_key(stats.by_status) == {"not_started": 1, "in_progress": 4, "completed": 2, "closed": 1}


def test_share_finished_counts_an_outfall_only_when_all_its_plans_are_done(registry):
    share = statistics.progress(today()).share

    assert share.with_plan == 7  # P-01 and P-08 have no plan
    assert share.without_plan == 2
    assert share.finished == 2  # P-04, P-05; not P-07, whose second plan is still open
    assert share.partly_finished == 1  # P-07
    assert share.unfinished == 5
    assert share.percent == pytest.approx(100 * 2 / 7)


def test_overdue_per_town_and_cleared_towns(registry):
    stats = statistics.progress(today())

    towns = {town.name: (town.outfalls, town.overdue, town.cleared) for town in stats.overdue_by_town}
    assert towns == {
        "呼中镇": (3, 2, False),  # P-02, P-03
        "呼源镇": (3, 0, True),   # P-04/P-05 finished, P-06 in its transition period
        "碧水镇": (3, 1, False),  # P-07's second plan
        "宏伟镇": (0, 0, True),
    }
    assert stats.overdue_total == 3
    assert stats.towns_cleared == 2


def test_completions_per_month_fill_empty_months_up_to_this_month(registry):
    months = statistics.progress(today()).completions_by_month

    assert (months[0].year, months[0].month) == (2025, 1)
    assert (months[-1].year, months[-1].month) == (today().year, today().month)
    values = {(m.year, m.month): m.value for m in months}
    assert values[(2025, 1)] == 1
    assert values[(2025, 2)] == 0  # P-09's plan is not finished
    assert values[(2025, 3)] == 2
    assert sum(values.values()) == 3
    expected_months = (today().year - 2025) * 12 + today().month
    assert len(months) == expected_months


def test_every_count_lists_exactly_the_outfalls_it_counts(registry):
    stats = statistics.progress(today())
    counts = [*stats.by_stage, *stats.by_type, *stats.by_town, *stats.by_measure, *stats.by_status]

    for count in counts:
        assert listed(count.filter) == count.value, count
    for town in stats.overdue_by_town:
        assert listed(town.filter) == town.overdue, town.name
        assert listed(town.town_filter) == town.outfalls, town.name
    assert listed(stats.all_filter) == stats.total
    assert listed(stats.overdue_filter) == stats.overdue_total
    assert listed(stats.share.with_plan_filter) == stats.share.with_plan
    assert listed(stats.share.unfinished_filter) == stats.share.unfinished
    # The list of outfalls with a finished plan also holds the partly finished ones, as the page says.
    assert listed(stats.share.finished_filter) == stats.share.finished + stats.share.partly_finished


def test_an_empty_registry_counts_zeros(app):
    stats = statistics.progress(today())

    assert stats.total == 0 and stats.overdue_total == 0
    assert stats.share.percent is None
    assert stats.completions_by_month == []
    assert stats.last_changed is None
    assert all(count.value == 0 for count in stats.by_stage)


def test_last_changed_is_the_latest_update_or_history_entry(app):
    earlier = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    later = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    outfall = make_outfall("P-10", updated_at=earlier)
    make_event(outfall, field="status", old="not_started", new="in_progress", occurred_at=later)
    db.session.commit()

    assert statistics.last_changed() == later

    db.session.execute(update(Outfall).values(updated_at=later + timedelta(days=1)))
    db.session.commit()
    assert statistics.last_changed() == later + timedelta(days=1)


def add_outfalls(first, count):
    """Outfalls spread over four towns, half finished in different months, half overdue."""
    towns = [make_town(name) for name in ("呼中镇", "呼源镇", "碧水镇", "宏伟镇")]
    for number in range(first, first + count):
        make_outfall(f"S-{number:03d}", town=towns[number % 4], stage=("survey", "rectification")[number % 2],
                     plan={"status": ("in_progress", "completed")[number % 2],
                           "completed_on": date(2025, 1 + number % 12, 1) if number % 2 else None,
                           "deadline": date(2025, 6, 1)})
    db.session.commit()


def test_statement_count_does_not_grow_with_outfalls(app):
    add_outfalls(0, 5)
    with counted_statements() as few:
        statistics.progress(today())
    add_outfalls(5, 45)
    with counted_statements() as many:
        statistics.progress(today())

    assert len(many) == len(few) <= 10
