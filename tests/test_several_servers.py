"""More than one server: rate limits counted in Redis, photos on a shared PHOTO_ROOT, the outbox and
the escalation command safe when run twice at once, sessions and CSRF tokens valid on every server.

The last test starts the real thing on PostgreSQL: two app processes (`portal serve`), two outbox workers,
one database, one Redis, one photo folder, and a real SMTP server in this process.
"""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from databases import scratch_database
from factories import make_report
from PIL import Image
from sqlalchemy import func, select

from portal import create_app
from portal.config import ConfigError
from portal.db import transaction
from portal.extensions import db, limiter
from portal.models import AuditEntry, OutboxMessage, Report, ReportUpdate

KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
PROJECT = Path(__file__).resolve().parent.parent
TOWNS = PROJECT / "examples" / "bureau" / "towns.geojson"
# Inside 呼源镇 of the bureau's example boundaries.
INSIDE_A_TOWN = {"lat": "52.2000", "lon": "123.0000"}
PORTAL = [sys.executable, "-c", "from portal.cli import main; main()"]
# Each Redis user here takes a database number of its own and flushes only that one.
REDIS_LIMITS_DB = 13
REDIS_SERVERS_DB = 14


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_or_skip(number: int):
    """A client of that Redis database on 127.0.0.1:6379, emptied; skipped without Redis (failed in CI)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=number, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis on 127.0.0.1:6379 for the shared rate limits: {error}")
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({error}): the shared rate limits are not tested")
    client.flushdb()
    return client


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (shade, 120, 140)).save(buffer, "JPEG")
    return buffer.getvalue()


def report_fields(**more) -> dict:
    return {"category": "direct_discharge", "description": "河边有一根管子往河里排灰色污水。", "consent": "y",
            "submit": "提交举报", **INSIDE_A_TOWN, **more}


@pytest.fixture
def towns(app):
    from portal.registry import areas

    with transaction():
        areas.import_areas(TOWNS)


@pytest.fixture
def forget_limiter_state():
    """The limiter is one object per process: leave it as the shared test app expects (off, healthy)."""
    yield
    with contextlib.suppress(Exception):  # the storage may be the Redis that is not there
        limiter.reset()
    limiter._storage_dead = False  # the in-memory fallback's switch; the next app starts on its storage
    if limiter._fallback_storage is not None:
        limiter._fallback_storage.reset()
    limiter.enabled = False


def limited_app(app, **settings):
    """Another instance of the portal on the same database with the limiter on (as a second server is)."""
    return create_app({**app.config, "RATELIMIT_ENABLED": True, "REPORT_RATE_LIMIT": "2 per hour", **settings})


def submit(instance, address="198.51.100.7") -> int:
    with instance.test_client() as client:
        status = client.post("/reports/new", data=report_fields(), content_type="multipart/form-data",
                             environ_base={"REMOTE_ADDR": address}).status_code
    with instance.app_context():
        db.engine.dispose()  # the instance's own pool: no connection left open for the collector to find
    return status


# --- rate limits -------------------------------------------------------------------------------------

def test_two_instances_on_one_redis_share_one_budget_per_address(app, towns, forget_limiter_state):
    redis = redis_or_skip(REDIS_LIMITS_DB)
    storage = f"redis://127.0.0.1:6379/{REDIS_LIMITS_DB}"
    try:
        first = limited_app(app, RATELIMIT_STORAGE_URI=storage)
        assert [submit(first), submit(first)] == [303, 303]
        # A second instance starts with storage of its own making: in memory it would count from zero.
        second = limited_app(app, RATELIMIT_STORAGE_URI=storage)
        assert submit(second) == 429
        assert submit(second, address="203.0.113.9") == 303  # another resident has a budget of their own
        assert redis.keys("LIMITS*")  # the counts are in Redis, where every server reads them
        assert db.session.scalar(select(func.count()).select_from(Report)) == 3
    finally:
        redis.flushdb()


def test_an_unreachable_redis_never_turns_a_citizen_away_with_an_error(app, towns, forget_limiter_state):
    instance = limited_app(app, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    # Counted in the process's memory meanwhile: the limit still holds, per server.
    assert [submit(instance) for _ in range(3)] == [303, 303, 429]


# --- photos on a shared path --------------------------------------------------------------------------

def test_photo_root_must_be_an_existing_writable_absolute_folder(app, tmp_path):
    base = {key: app.config[key] for key in ("SECRET_KEY", "REPORTER_KEY", "DATABASE_URL")}
    with pytest.raises(ConfigError, match="PHOTO_ROOT 应为绝对路径"):
        create_app({**base, "PHOTO_ROOT": "shared/photos"})
    with pytest.raises(ConfigError, match="PHOTO_ROOT 不存在或不是文件夹"):
        create_app({**base, "PHOTO_ROOT": str(tmp_path / "not-mounted")})
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="PHOTO_ROOT 不存在或不是文件夹"):
        create_app({**base, "PHOTO_ROOT": str(tmp_path / "a-file")})
    if os.geteuid() != 0:  # root writes anywhere; a read-only folder stops anyone else
        locked = tmp_path / "read-only"
        locked.mkdir(mode=0o555)
        with pytest.raises(ConfigError, match="PHOTO_ROOT 不可写"):
            create_app({**base, "PHOTO_ROOT": str(locked)})
    shared = tmp_path / "shared"
    shared.mkdir()
    assert create_app({**base, "PHOTO_ROOT": str(shared)}).config["PHOTO_ROOT"] == str(shared)
    assert list(shared.iterdir()) == []  # the write check leaves nothing behind


# --- the escalation command twice at once (make_report's deadlines have passed) ---------------------------------------------------------------

def portal_env(database_url: str, instance: Path, **settings) -> dict:
    """The environment of a `portal` process: the same keys and database as every other."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_SECRET_KEY": "several-servers", "PORTAL_REPORTER_KEY": KEY, "PORTAL_DATABASE_URL": database_url,
           "PORTAL_PUBLIC_BASE_URL": "http://portal.example", "PYTHONUNBUFFERED": "1"}  # links in messages, sent outside a request
    env.update({f"PORTAL_{key}": str(value) for key, value in settings.items()})
    return env


def escalate_twice_at_once(env: dict) -> list[set[str]]:
    """Run `portal escalate` in two processes started together (cron on two machines); the codes each escalated."""
    command = [*PORTAL, "escalate"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    codes = []
    for run in runs:
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        found = re.search(r"（escalated）：(.+)$", out.strip())
        codes.append(set(found.group(1).split("、")) if found else set())
    return codes


def assert_escalated_once_each(codes: list[set[str]], expected: set[str]) -> None:
    first, second = codes
    assert not first & second and first | second == expected
    db.session.expire_all()
    for report in db.session.scalars(select(Report).where(Report.tracking_code.in_(expected))):
        assert report.escalation_level == 1
        audits = select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "report_escalated", AuditEntry.subject_id == report.id)
        entries = select(func.count()).select_from(ReportUpdate).where(
            ReportUpdate.report_id == report.id, ReportUpdate.kind == "escalated")
        assert (db.session.scalar(audits), db.session.scalar(entries)) == (1, 1), report.tracking_code


def test_escalation_run_twice_at_once_escalates_each_report_once(app, towns, database_url, tmp_path):
    app.config["REPORT_NOTIFY_EMAILS"] = {"*": ["bureau@example.cn"]}
    with transaction():
        reports = [make_report()[0] for _ in range(12)]
    expected = {report.tracking_code for report in reports}

    codes = escalate_twice_at_once(portal_env(database_url, tmp_path, REPORT_NOTIFY_EMAILS='{"*": ["bureau@example.cn"]}'))

    assert_escalated_once_each(codes, expected)
    escalation_mail = select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.subject.like("超期督办%"), OutboxMessage.recipient == "bureau@example.cn")
    assert db.session.scalar(escalation_mail) == len(expected)  # one set of messages


def test_a_run_that_read_the_overdue_list_before_another_committed_escalates_nothing_again(app, towns):
    """The race made certain: run B reads the overdue reports, run A escalates them and commits, then
    B goes on with what it read."""
    import threading

    from sqlalchemy import event

    from portal.reports import operations

    with transaction():
        codes = {make_report()[0].tracking_code for _ in range(3)}
    b_has_read, a_committed, outcome = threading.Event(), threading.Event(), {}

    def pause_after_reading(conn, cursor, statement, *args):
        if threading.current_thread().name == "run-b" and "escalation_level" in statement \
                and statement.lstrip().upper().startswith("SELECT") and not b_has_read.is_set():
            b_has_read.set()
            a_committed.wait(30)

    def run_b():
        with app.app_context():
            with transaction():
                outcome["b"] = {report.tracking_code for report in operations.escalate_overdue()}
            db.session.remove()

    event.listen(db.engine, "after_cursor_execute", pause_after_reading)
    try:
        other = threading.Thread(target=run_b, name="run-b")
        other.start()
        assert b_has_read.wait(30)
        with app.app_context():
            with transaction():
                outcome["a"] = {report.tracking_code for report in operations.escalate_overdue()}
            db.session.remove()
        a_committed.set()
        other.join(30)
    finally:
        a_committed.set()
        event.remove(db.engine, "after_cursor_execute", pause_after_reading)

    # SQLite: A escalates all, B none; PostgreSQL: B's read locked the rows, so A skipped them.
    assert_escalated_once_each([outcome["a"], outcome["b"]], codes)


# --- two servers, two workers, one PostgreSQL database ------------------------------------------------------

class MailBox:
    """An SMTP server's handler that keeps every message, answering slowly so that two workers overlap."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.05)
        self.received.append((tuple(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class Browser:
    """One visitor: cookies kept for 127.0.0.1 whichever server answers, as behind a load balancer."""

    def __init__(self):
        self.cookies = SimpleCookie()

    def request(self, base: str, method: str, path: str, fields=None, files=()):
        parts = urlsplit(base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in self.cookies.items())}
        body = None
        if method == "POST":
            boundary = uuid.uuid4().hex
            body = _multipart(boundary, fields or {}, files)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(value)
        connection.close()
        return response.status, response.headers, content

    def form_token(self, base: str, path: str) -> str:
        status, _, content = self.request(base, "GET", path)
        assert status == 200, (base, path, status)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', content.decode())
        return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


def _multipart(boundary: str, fields: dict, files) -> bytes:
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                      f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)


def wait_until(condition, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def start(command, env, log: Path) -> subprocess.Popen:
    with log.open("w") as output:  # the child writes to its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=PROJECT,
                                start_new_session=True)


def stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def prepare_database(url: str, instance: Path) -> None:
    """Migrate the scratch database, load the bureau's towns and one member of staff (in this process)."""
    from flask_migrate import upgrade

    from portal.accounts.cli import create_user
    from portal.registry import areas

    setup = create_app({"SECRET_KEY": "setup", "REPORTER_KEY": KEY, "DATABASE_URL": url})
    with setup.app_context():
        upgrade()
        with transaction():
            areas.import_areas(TOWNS)
        with transaction():
            create_user(username="shenji", role="auditor", password="correct horse battery 9")
        db.session.remove()
        db.engine.dispose()


def test_two_servers_and_two_workers_on_one_postgresql_database(app, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several servers share a PostgreSQL database; run with PORTAL_TEST_DATABASE_URL (the CI's PostgreSQL pass)")
    redis = redis_or_skip(REDIS_SERVERS_DB)
    mailbox = MailBox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    photos = tmp_path / "shared-photos"
    photos.mkdir()
    processes = []
    try:
        with scratch_database(tmp_path, "portal_servers") as url:
            prepare_database(url, tmp_path)
            shared = dict(PHOTO_ROOT=photos, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:6379/{REDIS_SERVERS_DB}",
                          REPORT_RATE_LIMIT="4 per hour", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
                          MAIL_FROM="noreply@huzhong.example", REPORT_NOTIFY_EMAILS='{"*": ["bureau@example.cn"]}')
            servers = []
            for number in (1, 2):
                port = free_port()
                env = portal_env(url, tmp_path / f"instance-{number}", **shared)
                processes.append(start([*PORTAL, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                                       env, tmp_path / f"server-{number}.log"))
                processes.append(start([*PORTAL, "send-notifications", "--loop", "--interval", "0.2"], env,
                                       tmp_path / f"worker-{number}.log"))
                servers.append(f"http://127.0.0.1:{port}")
            browser = Browser()
            for server in servers:
                wait_until(lambda: _answers(server), f"{server} to start")
            engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

            # Reports with photos, alternately to each server, the form's token from the same server —
            # and once from the other one.
            codes = []
            for number in range(4):
                server, other = servers[number % 2], servers[(number + 1) % 2]
                token = browser.form_token(other if number == 3 else server, "/reports/new")
                status, headers, content = browser.request(
                    server, "POST", "/reports/new",
                    fields=report_fields(csrf_token=token, reporter_email=f"jumin{number}@example.cn"),
                    files=[("photos", f"p{number}.jpg", jpeg(40 * number))])
                assert status == 303, content.decode()[:2000]
                code = re.search(r"/reports/([2-9A-Z]{8})/submitted", headers["Location"]).group(1)
                codes.append(code)
                # The photo, uploaded through this server, is served by the other.
                _, _, confirmation = browser.request(server, "GET", f"/reports/{code}/submitted")
                private = re.search(rf"/reports/{code}/private/[A-Za-z0-9_-]+", confirmation.decode()).group(0)
                status, _, page = browser.request(other, "GET", private)
                assert status == 200
                photo_paths = set(re.findall(rf"{re.escape(private)}/photos/\d+", page.decode()))
                assert photo_paths
                for path in photo_paths:
                    status, headers, data = browser.request(other, "GET", path)
                    assert status == 200 and headers["Content-Type"] == "image/jpeg" and data[:2] == b"\xff\xd8"

            # The shared budget: four accepted across both servers, the fifth refused by either.
            token = browser.form_token(servers[0], "/reports/new")
            status, _, _ = browser.request(servers[0], "POST", "/reports/new", fields=report_fields(csrf_token=token))
            assert status == 429

            # A staff sign-in on server 1 is a session on server 2.
            staff = Browser()
            token = staff.form_token(servers[0], "/admin/login")
            status, headers, _ = staff.request(servers[0], "POST", "/admin/login", fields={
                "csrf_token": token, "username": "shenji", "password": "correct horse battery 9", "next": ""})
            assert status == 302 and "/admin/login" not in headers["Location"]
            status, headers, page = staff.request(servers[1], "GET", "/admin/")
            assert status == 200 and "shenji" in page.decode()
            assert Browser().request(servers[1], "GET", "/admin/")[0] == 302  # without the cookie: sign in

            # Every notification arrives once while both workers send.
            expect_each_message_once(engine, mailbox)

            # The escalation command on two machines at the same moment, ten days later.
            # Ten days on: the deadlines move back rather than the clock forward, so that the messages
            # the escalation queues are due now for the workers.
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE report SET accept_due = accept_due - 10, "
                                           "finish_due = finish_due - 10"))
            codes_escalated = escalate_twice_at_once(portal_env(url, tmp_path / "instance-1", **shared))
            first, second = codes_escalated
            assert not first & second and first | second == set(codes)
            with engine.connect() as connection:
                audits = connection.execute(sa.text(
                    "SELECT subject_id, count(*) FROM audit_entry WHERE action = 'report_escalated' "
                    "GROUP BY subject_id")).all()
            assert len(audits) == len(codes) and all(count == 1 for _, count in audits)
            expect_each_message_once(engine, mailbox)
            engine.dispose()
            stop(processes)  # before the scratch database is dropped
    finally:
        stop(processes)
        smtp.stop()
        redis.flushdb()
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")


def _answers(server: str) -> bool:
    try:
        return Browser().request(server, "GET", "/reports/new")[0] == 200
    except OSError:
        return False


def expect_each_message_once(engine, mailbox: MailBox) -> None:
    """Wait until the outbox is empty, then: every queued message received exactly once, none failed."""
    def drained():
        with engine.connect() as connection:
            waiting = connection.scalar(sa.text("SELECT count(*) FROM outbox_message WHERE status = 'pending'"))
            sent = connection.scalar(sa.text("SELECT count(*) FROM outbox_message WHERE status = 'sent'"))
        return waiting == 0 and len(mailbox.received) >= sent

    def state():
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT id, status, attempts, last_error FROM outbox_message ORDER BY id")).all()

    try:
        wait_until(drained, "the outbox to be sent")
    except AssertionError:
        raise AssertionError(f"outbox not sent: {state()}; received {len(mailbox.received)}") from None
    time.sleep(0.6)  # a few more rounds of both workers: a message sent twice would arrive now
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT recipient, subject, status FROM outbox_message")).all()
    assert {status for _, _, status in rows} == {"sent"}
    from email import message_from_bytes
    from email.policy import default

    received = Counter()
    for recipients, content in mailbox.received:
        message = message_from_bytes(content, policy=default)
        received[(recipients[0], str(message["Subject"]))] += 1
    assert received == Counter((recipient, subject) for recipient, subject, _ in rows)
