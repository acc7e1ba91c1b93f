"""/reports and a report's public page at any number of reports: the list counts no further than a
reader needs, reads its published reports newest first from an index, and both pages are served
from the page cache until a report changes."""
from __future__ import annotations

import pytest
from factories import make_report
from helpers import commit_and_forget, counted_statements, text_of
from sqlalchemy import select, text

from portal.citizen import tracking_views
from portal.extensions import db
from portal.models import Report
from portal.reports import accountability


def published(count: int) -> list[str]:
    codes = [make_report(published=True)[0].tracking_code for _ in range(count)]
    commit_and_forget()
    return codes


def test_the_list_says_more_than_the_bound_instead_of_counting_every_report(client, monkeypatch):
    monkeypatch.setattr(accountability, "PUBLIC_LIST_BOUND", 3)
    monkeypatch.setattr(tracking_views, "REPORTS_PER_PAGE", 2)
    codes = published(5)

    first = text_of(client.get("/reports"))
    assert "已公开的举报共 3+ 份。" in first
    assert "（第 1 页，共 2+ 页）" in first

    # The reader can always page on past what was counted: the last page holds the fifth report.
    last = client.get("/reports?page=3")
    assert last.status_code == 200 and codes[0] in text_of(last)  # newest first: the first made comes last
    assert 'rel="next"' not in last.get_data(as_text=True)


def test_a_count_below_the_bound_is_exact(client):
    published(3)
    assert "已公开的举报共 3 份。" in text_of(client.get("/reports"))


def test_the_list_and_a_report_page_are_served_from_the_cache_until_a_report_changes(client):
    code = published(1)[0]
    for path in ("/reports", f"/reports/{code}"):
        assert client.get(path).status_code == 200
        with counted_statements() as statements:
            again = client.get(path)
        assert again.status_code == 200
        assert len(statements) == 1, statements  # the data versions, nothing else

    report = db.session.scalar(select(Report).where(Report.tracking_code == code))
    report.status = "accepted"
    commit_and_forget()
    assert "已受理" in text_of(client.get(f"/reports/{code}"))


def test_the_private_page_is_never_served_from_the_cache(client):
    report, secret = make_report(description="只有举报人能看到的描述")
    path = f"/reports/{report.tracking_code}/private/{secret}"
    commit_and_forget()
    client.get(path)
    with counted_statements() as statements:
        page = client.get(path)
    assert "只有举报人能看到的描述" in text_of(page) and len(statements) > 1
    assert page.headers["Cache-Control"] == "no-store"


def test_published_reports_are_read_newest_first_from_an_index(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    pagination = accountability.published_reports(accountability.ReportFilter(), None, per_page=50)
    query = pagination._query_args["select"].limit(50)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_report_published_created" in plan and "TEMP B-TREE" not in plan, plan
