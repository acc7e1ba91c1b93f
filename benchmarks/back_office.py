"""Benchmark: the back office's queue and report pages with many reports, and the SQL they take.

Usage: .venv/bin/python benchmarks/back_office.py [REPORTS]   (default 20000; PORTAL_DATABASE_URL for PostgreSQL)
Fills a fresh database with the demo data and REPORTS generated reports spread over the demo towns,
departments, statuses and the last two years, signs in a town officer and an auditor (no second
factor: neither is an administrator), and times each queue, a filtered search, a report page and
the CSV export through the whole WSGI app, with the number of SQL statements each page runs.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.reports.privacy import new_key  # noqa: E402

PASSWORD = "Bench-mark-2026-qingche"
STATUSES = ["submitted", "accepted", "assigned", "in_progress", "resolved", "closed", "rejected"]


def code_of(number: int) -> str:
    """A distinct tracking code in the codes' own alphabet."""
    from portal.reports.privacy import TRACKING_ALPHABET

    digits = []
    for _ in range(8):
        number, digit = divmod(number, len(TRACKING_ALPHABET))
        digits.append(TRACKING_ALPHABET[digit])
    return "".join(reversed(digits))


def fill(count: int) -> None:
    """``count`` reports in bulk (one INSERT per 1000), each with its submission entry."""
    from portal.extensions import db
    from portal.models import Report, ReportUpdate, Town

    rng = random.Random(8)
    towns = list(db.session.scalars(select(Town.id)))
    now = datetime.now(timezone.utc)
    rows, updates = [], []
    for number in range(count):
        created = now - timedelta(minutes=rng.randrange(60 * 24 * 730))
        rows.append({"tracking_code": code_of(number), "secret_digest": f"{number:064d}", "category": rng.choice(
            ["direct_discharge", "dead_fish", "colour_smell", "other"]), "description": f"基准举报 {number}",
            "town_id": rng.choice(towns), "department_code": rng.choice(["eeb", "housing", "agriculture"]),
            "status": rng.choice(STATUSES), "consent_at": created, "created_at": created, "updated_at": created,
            "accept_due": (created + timedelta(days=3)).date(), "finish_due": (created + timedelta(days=63)).date(),
            "latitude": 52.0 + rng.random() / 10, "longitude": 123.5 + rng.random() / 10, "channel": "web",
            "reporter_language": "zh", "me_too_count": 0, "escalation_level": 0, "anonymous": True,
            "publication_allowed": False, "published": False, "location_source": "pin"})
    for start in range(0, count, 1000):
        db.session.execute(insert(Report), rows[start:start + 1000])
    ids = db.session.execute(select(Report.id, Report.created_at)).all()
    for start in range(0, len(ids), 1000):
        db.session.execute(insert(ReportUpdate), [
            {"report_id": id_, "occurred_at": created, "kind": "status", "status": "submitted", "public": True,
             "author": "system"} for id_, created in ids[start:start + 1000]])
    db.session.commit()


def timed(client, path: str, engine, runs: int = 5) -> tuple[float, int]:
    """The median time of ``runs`` GETs and the SQL statements of one."""
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    response = client.get(path)
    event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, (path, response.status_code)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), len(statements)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    folder = Path(tempfile.mkdtemp(prefix="back-office-bench-"))
    os.environ.setdefault("PORTAL_INSTANCE_PATH", str(folder))
    url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{folder}/b.db"
    app = create_app({"SECRET_KEY": "bench", "REPORTER_KEY": new_key(), "DATABASE_URL": url,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    from flask_migrate import upgrade

    from portal.accounts import passwords
    from portal.db import transaction
    from portal.extensions import db
    from portal.models import Account, Report, Town
    from portal import demo

    with app.app_context():
        upgrade()
        with transaction():
            demo.seed()
        started = time.perf_counter()
        fill(count)
        print(f"{count} reports written in {time.perf_counter() - started:.1f} s ({db.engine.dialect.name})")
        town = db.session.scalar(select(Town).order_by(Town.id))
        for username, role, scope in (("officer", "town", {"town": town}), ("auditor", "auditor", {})):
            db.session.add(Account(username=username, role=role, password_hash=passwords.hash_password(PASSWORD),
                                   **scope))
        db.session.commit()
        code = db.session.scalar(select(Report.tracking_code).where(Report.town_id == town.id).limit(1))
        engine = db.engine
        for username in ("officer", "auditor"):
            client = app.test_client()
            assert client.post("/admin/login", data={"username": username, "password": PASSWORD}).status_code == 302
            for path in ("/admin/reports?queue=new", "/admin/reports?queue=overdue", "/admin/reports?queue=all",
                         "/admin/reports?queue=all&q=基准举报 19&category=dead_fish", f"/admin/reports/{code}",
                         "/admin/reports.csv?queue=all"):
                seconds, statements = timed(client, path, engine, runs=3 if path.endswith(".csv?queue=all") else 5)
                print(f"{username:8} {path:58} median {seconds * 1000:7.0f} ms  {statements:3} SQL statements")


if __name__ == "__main__":
    main()
