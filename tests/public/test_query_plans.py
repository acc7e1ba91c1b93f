"""The registry's busiest pages read indexes, never a whole table, whatever the registry's size.

Each request's SQL is recorded and put to SQLite's EXPLAIN QUERY PLAN. SQLite plans without
statistics (no ANALYZE), so the plans chosen for these few rows are the plans it chooses for
100,000 outfalls. A ``SCAN outfall USING (COVERING) INDEX`` walks an index in order and is fine; a
bare ``SCAN outfall`` reads every row. Only the unfiltered map and /progress count the whole
registry, and both are served from the page cache (recounted at most once a minute; see
tests/public/test_page_cache.py).
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import make_outfall, make_sample, make_town, make_water_body
from helpers import commit_and_forget
from sqlalchemy import event

from portal.calendar import today
from portal.extensions import db

WATCHED_TABLES = ("outfall", "rectification_plan", "monitoring_sample", "report")
# "SCAN outfall" or "SCAN outfall AS o", not followed by USING … INDEX.
_FULL_SCAN = re.compile(r"^SCAN (\w+)(?: AS \w+)?$")


@pytest.fixture
def registry(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    app.extensions.pop("portal.page_cache", None)  # every request renders, as on a cache miss
    now = today()
    towns = [make_town(name) for name in ("呼中镇", "呼源镇", "碧水镇")]
    water = make_water_body("呼玛河")
    for number in range(30):
        outfall = make_outfall(
            f"QP-{number:03d}", town=towns[number % 3], water_body=water,
            plan={"measure": ("ban", "merge", "keep")[number % 3],
                  "status": ("not_started", "in_progress", "completed")[number % 3],
                  "deadline": now + timedelta(days=number - 15)},
        )
        make_sample(outfall)
    db.session.flush()
    town_ids = [town.id for town in towns]
    commit_and_forget()
    return town_ids


def full_scans(client, path):
    """The watched tables a request reads whole, as (table, statement) pairs."""
    statements = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200, path
    scans = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters):
                match = _FULL_SCAN.match(row[-1])
                if match and match.group(1) in WATCHED_TABLES:
                    scans.append((match.group(1), statement))
    assert statements, path
    return scans


def test_a_towns_list_reads_only_that_towns_outfalls(client, registry):
    town = registry[1]
    for query in (f"town={town}", f"town={town}&status=in_progress", f"town={town}&measure=ban",
                  f"town={town}&overdue=1", f"town={town}&sort=deadline", f"town={town}&sort=-status",
                  f"town={town}&type=other&stage=survey"):
        assert full_scans(client, f"/outfalls?{query}") == [], query


def test_an_outfall_page_reads_only_that_outfall(client, registry):
    assert full_scans(client, "/outfalls/QP-007") == []


def test_a_towns_map_reads_only_that_towns_outfalls(client, registry):
    assert full_scans(client, f"/?town={registry[0]}") == []


def test_the_list_filtered_by_status_alone_reads_the_status_index(client, registry):
    # Not the town's index: the outfalls with such a plan come from the (status, outfall_id) index,
    # and the page of 50 from the outfall's primary key.
    assert [table for table, _ in full_scans(client, "/outfalls?status=completed")] == []



@pytest.mark.parametrize("path", ["/", "/progress"])
def test_the_unfiltered_counts_read_the_registry_once_at_most(client, registry, path):
    # Counting everything reads everything; these two pages do it in a single statement over the
    # outfalls (the map's summary; /progress's demo count), and are served from the page cache.
    assert [table for table, _ in full_scans(client, path)] in ([], ["outfall"])
