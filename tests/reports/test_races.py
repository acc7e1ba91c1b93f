"""Concurrent requests against the real database: the database, not the view, keeps the limits.

Each thread sends its request through its own test client, so it runs in its own app context with
its own session and connection, as concurrent requests of a real server do.
"""
from __future__ import annotations

import io
import threading

import pytest
from factories import make_report
from helpers import commit_and_forget
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import MeToo, Report, ReportPhoto
from portal.photos import storage_for

# Werkzeug's test client leaves its spooled multipart bodies to the garbage collector.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (shade, 80, 120)).save(buffer, "JPEG")
    return buffer.getvalue()


def at_once(app, requests):
    """Send every request (a function of a test client) from its own thread, released together."""
    barrier = threading.Barrier(len(requests))
    answers = [None] * len(requests)

    def run(number, request):
        client = app.test_client()
        barrier.wait()
        answers[number] = request(client)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_concurrent_additions_never_push_a_report_past_its_photo_limit(app):
    report, secret = make_report()
    code = report.tracking_code
    commit_and_forget()
    photos = [jpeg(shade) for shade in range(20)]

    def add_two(number):
        def request(client):
            response = client.post(f"/reports/{code}/private/{secret}/information", content_type="multipart/form-data",
                                   data={"photos": [(io.BytesIO(photos[2 * number + i]), f"{number}-{i}.jpg")
                                                    for i in range(2)]})
            return response.status_code, response.get_data(as_text=True)
        return request

    answers = at_once(app, [add_two(number) for number in range(10)])

    stored = db.session.scalar(select(func.count()).select_from(ReportPhoto))
    limit = app.config["REPORT_PHOTO_LIMIT"]
    assert stored <= limit
    assert sorted(status for status, _ in answers).count(303) == stored // 2
    assert all(status in (303, 422) for status, _ in answers)
    for status, body in answers:
        if status == 422:
            assert "最多 6 张照片" in body or "同时收到了其他照片" in body
    slots = db.session.scalars(select(ReportPhoto.slot).order_by(ReportPhoto.slot)).all()
    assert slots == list(range(1, stored + 1))
    # No orphan: every stored file is a photo or thumbnail of a row, and nothing is left in staging.
    root = storage_for(app).root
    files = {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    keys = set(db.session.scalars(select(ReportPhoto.storage_key))) | set(db.session.scalars(
        select(ReportPhoto.thumbnail_key)))
    assert files == keys


def test_concurrent_me_toos_of_distinct_visitors_are_all_counted(app):
    report, _ = make_report()
    code = report.tracking_code
    commit_and_forget()

    def me_too(number):
        return lambda client: client.post(f"/reports/{code}/me-too",
                                          environ_base={"REMOTE_ADDR": f"10.0.0.{number + 1}"}).status_code

    answers = at_once(app, [me_too(number) for number in range(21)])

    assert answers == [303] * 21
    assert db.session.scalar(select(Report.me_too_count)) == 21
    assert db.session.scalar(select(func.count()).select_from(MeToo)) == 21


def test_one_visitor_clicking_many_times_at_once_counts_once(app):
    report, _ = make_report()
    code = report.tracking_code
    commit_and_forget()

    answers = at_once(app, [lambda client: client.post(f"/reports/{code}/me-too",
                                                       environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code] * 8)

    assert answers == [303] * 8
    assert db.session.scalar(select(Report.me_too_count)) == 1
    assert db.session.scalar(select(func.count()).select_from(MeToo)) == 1
