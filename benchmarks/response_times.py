"""Benchmark: response times of the public pages on the demo data and on a generated large registry.

Usage: .venv/bin/python benchmarks/response_times.py [OUTFALLS]   (default 100000)
Builds two SQLite databases in a temporary folder (or uses PORTAL_DATABASE_URL for the large one,
which must be empty): one with `portal seed-demo`, one with OUTFALLS generated outfalls inserted in
bulk (each with a plan, a history event and, for one in ten, monitoring samples). Times each page
through the WSGI app (no network), several runs, and prints the median and the slowest in ms.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    MonitoringSample, Outfall, OutfallEvent, RectificationPlan, ResponsibleParty, StandardLimit, Town, WaterBody,
)
from portal.registry import vocabulary as vocab  # noqa: E402

PAGES = ["/", "/outfalls", "/outfalls?overdue=1&sort=deadline", "/outfalls/{code}", "/api/v1/outfalls.geojson",
         "/progress"]
RUNS = 7


def generate(count: int) -> None:
    """Insert ``count`` invented outfalls with plans, events and some samples, in bulk."""
    rng = random.Random(11)
    towns = [Town(name=n, is_demo=True) for n in ("呼中镇", "呼源镇", "碧水镇", "宏伟镇")]
    waters = [WaterBody(name=n, kind="river", target_class="III", is_demo=True)
              for n in ("呼玛河", "呼玛河支流", "碧水河", "小白河", "岭峰河")]
    parties = [ResponsibleParty(name=f"基准单位{n}", kind="organisation", is_demo=True) for n in range(1000)]
    db.session.add_all(towns + waters + parties)
    db.session.flush()
    cod = db.session.scalar(select(StandardLimit.id).where(StandardLimit.parameter == "COD"))
    subtypes = list(vocab.OUTFALL_SUBTYPES)
    now = datetime.now(timezone.utc)
    for start in range(0, count, 5000):
        rows = []
        for n in range(start, min(start + 5000, count)):
            subtype = rng.choice(subtypes)
            rows.append(dict(code=f"BM-{n:07d}", name=f"基准排污口{n}", town_id=rng.choice(towns).id,
                             water_body_id=rng.choice(waters).id, longitude=round(123 + rng.random(), 6),
                             latitude=round(51.8 + rng.random() / 2, 6), outfall_type=subtype.parent,
                             outfall_subtype=subtype.code, stage=rng.choice(vocab.STAGES.codes()),
                             responsible_party_id=rng.choice(parties).id, is_demo=True, created_at=now,
                             updated_at=now))
        db.session.execute(insert(Outfall), rows)
        ids = db.session.execute(select(Outfall.id, Outfall.code).where(
            Outfall.code.in_([r["code"] for r in rows]))).all()
        db.session.execute(insert(RectificationPlan), [dict(
            outfall_id=i, measure=rng.choice(vocab.MEASURES.codes()), status=rng.choice(vocab.PLAN_STATUSES.codes()),
            deadline=date(2025, 1, 1) + timedelta(days=rng.randrange(900)),
            completed_on=date(2024, 1, 1) + timedelta(days=rng.randrange(1000)) if rng.random() < 0.4 else None,
        ) for i, _ in ids])
        db.session.execute(insert(OutfallEvent), [dict(outfall_id=i, kind="created", new_value=code, source="基准",
                                                       occurred_at=now) for i, code in ids])
        samples = [dict(outfall_id=i, sampled_at=now - timedelta(days=30 * k), parameter="COD",
                        value=rng.uniform(10, 80), unit="mg/L", limit_id=cod, is_demo=True)
                   for i, _ in ids[::10] for k in range(6)]
        db.session.execute(insert(MonitoringSample), samples)
        db.session.commit()


def measure(app, label: str) -> None:
    """Print median and slowest response time of each page."""
    client = app.test_client()
    with app.app_context():
        code = db.session.scalar(select(Outfall.code).order_by(Outfall.id))
    print(f"\n{label}")
    for path in PAGES:
        url = path.format(code=code)
        timings, status, size = [], None, 0
        for _ in range(RUNS):
            start = time.perf_counter()
            response = client.get(url)
            body = response.get_data()
            timings.append((time.perf_counter() - start) * 1000)
            status, size = response.status_code, len(body)
        print(f"  {url:45s} {status}  median {statistics.median(timings):8.1f} ms  "
              f"max {max(timings):8.1f} ms  {size / 1024:8.1f} KiB")


def build(url: str, folder: Path, fill) -> object:
    """An app on a freshly migrated database filled by ``fill``."""
    from flask_migrate import upgrade

    from portal.db import transaction

    app = create_app({"SECRET_KEY": "bench", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        with transaction():  # demo.seed only flushes: the caller commits
            fill()
        print(f"filled {url.split('/')[-1]} in {time.perf_counter() - start:.1f} s")
    return app


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    folder = Path(tempfile.mkdtemp(prefix="response-bench-"))
    os.environ.setdefault("PORTAL_INSTANCE_PATH", str(folder))
    from portal import demo

    demo_app = build(f"sqlite:///{folder}/demo.db", folder, demo.seed)
    measure(demo_app, "demo data (60 outfalls)")
    large_url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{folder}/large.db"
    large_app = build(large_url, folder, lambda: generate(count))
    measure(large_app, f"generated registry ({count:,} outfalls)")


if __name__ == "__main__":
    main()
