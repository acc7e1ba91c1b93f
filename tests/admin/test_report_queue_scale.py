"""The back office's queues at any number of reports: counts that stop at a bound and say so, a
fixed number of statements per page, and indexes the database actually uses."""
from __future__ import annotations

import pytest
from flask import g
from factories import make_report, make_town
from helpers import commit_and_forget, counted_statements, text_of
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import Account, Report
from portal.reports import queries
from portal.reports.paging import limited


def test_queue_badges_stop_at_the_bound_and_say_more(client, make_account, sign_in, monkeypatch):
    monkeypatch.setattr(queries, "QUEUE_COUNT_BOUND", 5)
    town = make_town()
    for _ in range(7):
        make_report(town=town)
    commit_and_forget()
    sign_in(client, make_account("auditor"))

    page = client.get("/admin/reports?queue=new").get_data(as_text=True)

    assert '<span class="count">5+</span>' in page  # seven waiting: more than the bound, not "5"
    assert page.count('href="/admin/reports/') >= 7  # the queue itself still lists all seven


def test_an_exact_count_below_the_bound(client, make_account, sign_in):
    town = make_town()
    for _ in range(3):
        make_report(town=town)
    town_id = town.id
    commit_and_forget()
    sign_in(client, make_account("town", town=db.session.get(type(town), town_id)))

    assert '<span class="count">3</span>' in client.get("/admin/reports?queue=new").get_data(as_text=True)


def forget_request_state():
    """The test's app context outlives each request (Flask reuses it): forget what a request kept in
    ``g`` (the signed-in account, the queue counts), as a real request starts without it."""
    for name in list(g):
        g.pop(name)


def test_the_queue_page_runs_as_many_statements_for_thirty_reports_as_for_two(client, make_account, sign_in):
    town = make_town()
    make_report(town=town)
    town_id = town.id
    commit_and_forget()
    sign_in(client, make_account("town", town=db.session.get(type(town), town_id)))
    client.get("/admin/reports?queue=open")  # warm: the session's first page loads settings once
    # Both pages are counted after a change of reports (so that neither reuses the queues' counts).
    make_report(town=db.session.get(type(town), town_id))
    commit_and_forget()
    forget_request_state()
    with counted_statements() as few:
        assert client.get("/admin/reports?queue=open").status_code == 200

    for _ in range(28):
        make_report(town=db.session.get(type(town), town_id))
    commit_and_forget()
    forget_request_state()
    with counted_statements() as many:
        page = client.get("/admin/reports?queue=open")

    assert page.status_code == 200 and "30" in text_of(page)
    assert len(many) == len(few)


@pytest.fixture
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")


def _plan(query) -> str:
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    return " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


@pytest.mark.parametrize("queue", ["new", "overdue", "open", "answered"])
def test_every_queue_count_is_an_index_search_not_a_scan(app, sqlite_only, make_account, queue):
    auditor = make_account("auditor")
    condition = queries.queue_condition(db.session.get(Account, auditor.id), queue)

    plan = _plan(select(func.count()).select_from(limited(select(Report).where(condition), 1001)))

    assert "SEARCH report USING" in plan and "SCAN report" not in plan, plan


def test_the_new_queue_is_read_in_deadline_order_from_an_index(app, sqlite_only, make_account):
    auditor = db.session.get(Account, make_account("auditor").id)
    query = queries.queue_page(auditor, "new", per_page=50)._query_args["select"]

    plan = _plan(query.limit(50))

    assert "ix_report_status_accept_due" in plan and "SCAN report" not in plan, plan
