"""The outbox end to end: queued in the caller's transaction, sent later by the worker to a real SMTP
server (aiosmtpd, in this process) and a real HTTP server, retried with backoff, given up, retried by staff.
"""
from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OutboxMessage, Town
from portal.models.types import utcnow
from portal.notify import (
    deliver_due, enqueue_email, enqueue_webhook, failed_messages, group_robot_text, retry,
)

SENDER = "呼中区排污口平台 <noreply@huzhong.example>"
SUBJECT = "【举报】呼玛河 HZ-001 排污口有灰水直排"
BODY = "举报编号 ABC123\n地点：呼中镇 呼玛河左岸\n请于 3 个工作日内处理。\n"


def free_port() -> int:
    """A local TCP port that nothing listens on (for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailBox:
    """An aiosmtpd handler that keeps what it receives, or refuses every recipient with ``refusal``."""

    def __init__(self):
        self.messages = []
        self.refusal = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusal:
            return self.refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox(app):
    """A real SMTP server on 127.0.0.1, and the app configured to send through it."""
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM=SENDER)
    box.port = port
    yield box
    controller.stop()


class Webhook:
    """What a local HTTP server was sent, and the answers it gives in turn (then 200 OK)."""

    def __init__(self):
        self.requests = []
        self.answers = []


@pytest.fixture
def webhook():
    """A real HTTP server in a thread; ``webhook.url`` takes POSTs."""
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.requests.append((self.path, dict(self.headers), body))
            status, answer = hook.answers.pop(0) if hook.answers else (200, b'{"errcode":0,"errmsg":"ok"}')
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=secret-robot-key"
    yield hook
    server.shutdown()
    server.server_close()
    thread.join()


def parse(content: bytes) -> email.message.EmailMessage:
    """An e-mail as its recipient's mail program would read it."""
    return email.message_from_bytes(content, policy=email.policy.default)


def reload(message: OutboxMessage) -> OutboxMessage:
    """The message as the database now has it."""
    db.session.expire_all()
    return db.session.get(OutboxMessage, message.id)


def test_an_email_is_sent_by_the_worker_not_when_it_is_queued(app, mailbox):
    message = enqueue_email("zhen@huzhong.example", SUBJECT, BODY, topic="report:ABC123")
    db.session.commit()
    assert mailbox.messages == []

    report = deliver_due()

    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    [(recipients, content)] = mailbox.messages
    assert recipients == ["zhen@huzhong.example"]
    headers, _, raw_body = content.partition(b"\r\n\r\n")
    headers.decode("ascii")  # the Chinese travels encoded (RFC 2047, base64), not as raw 8-bit bytes
    raw_body.decode("ascii")
    received = parse(content)
    assert received["Subject"] == SUBJECT
    assert received["To"] == "zhen@huzhong.example"
    assert received["From"].addresses[0].display_name == "呼中区排污口平台"
    assert received["Message-ID"].endswith("@huzhong.example>")
    assert received.get_content_charset() == "utf-8"
    assert received.get_content() == BODY

    sent = reload(message)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.sent_at is not None and sent.topic == "report:ABC123"
    assert deliver_due().sent == 0 and len(mailbox.messages) == 1  # never twice


def test_a_webhook_posts_the_robot_json(app, webhook):
    payload = group_robot_text("【举报】呼玛河 HZ-001：灰水直排，请呼中镇处理。")
    enqueue_webhook(webhook.url, payload, topic="report:ABC123")
    db.session.commit()
    assert webhook.requests == []

    assert deliver_due().sent == 1

    [(path, headers, body)] = webhook.requests
    assert path == "/cgi-bin/webhook/send?key=secret-robot-key"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body.decode("utf-8")) == {
        "msgtype": "text", "text": {"content": "【举报】呼玛河 HZ-001：灰水直排，请呼中镇处理。"},
    }


def test_a_failed_webhook_is_retried_after_its_backoff(app, webhook):
    webhook.answers = [(500, b"upstream down")]
    message = enqueue_webhook(webhook.url, group_robot_text("测试"))
    db.session.commit()
    start = utcnow()

    report = deliver_due(now=start)

    assert (report.sent, report.failed, report.retrying) == (0, 0, 1)
    waiting = reload(message)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "HTTP 500" in waiting.last_error and "upstream down" in waiting.last_error
    assert waiting.next_attempt_at == start + timedelta(minutes=1)

    assert not deliver_due(now=start + timedelta(seconds=30))  # not due yet
    assert len(webhook.requests) == 1

    assert deliver_due(now=start + timedelta(seconds=61)).sent == 1
    sent = reload(message)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert len(webhook.requests) == 2


def test_a_robot_that_answers_200_with_an_error_code_has_not_taken_the_message(app, webhook):
    webhook.answers = [(200, '{"errcode":93000,"errmsg":"invalid webhook url"}'.encode())]
    message = enqueue_webhook(webhook.url, group_robot_text("测试"))
    db.session.commit()

    assert deliver_due().retrying == 1
    assert "errcode 93000" in reload(message).last_error


def test_a_refused_email_backs_off_then_fails_and_staff_can_retry_it(app, mailbox):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 3
    mailbox.refusal = "550 5.1.1 <zhen@huzhong.example>: mailbox unavailable"
    message = enqueue_email("zhen@huzhong.example", SUBJECT, BODY, topic="report:ABC123")
    db.session.commit()

    now, waits = utcnow(), []
    for _ in range(3):
        report = deliver_due(now=now)
        current = reload(message)
        if current.status == "pending":
            waits.append(current.next_attempt_at - now)
            now = current.next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2)]
    assert (report.failed, report.retrying) == (1, 0)
    failed = reload(message)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "550" in failed.last_error and "mailbox unavailable" in failed.last_error
    assert mailbox.messages == []
    assert not deliver_due(now=now + timedelta(days=1))  # given up: no further attempts
    assert failed_messages() == [failed]
    assert failed_messages(topic="report:other") == []

    mailbox.refusal = None
    retry(message.id)
    db.session.commit()
    assert deliver_due().sent == 1
    assert reload(message).status == "sent" and failed_messages() == []
    with pytest.raises(ValueError):
        retry(message.id)  # would send it twice


def test_an_smtp_server_that_is_not_there_is_recorded(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), MAIL_FROM=SENDER, NOTIFY_MAX_ATTEMPTS=1)
    message = enqueue_email("zhen@huzhong.example", SUBJECT, BODY)
    db.session.commit()

    assert deliver_due().failed == 1
    failed = reload(message)
    assert failed.status == "failed" and "ConnectionRefusedError" in failed.last_error


def test_without_an_smtp_host_emails_fail_at_once_with_the_reason(app):
    message = enqueue_email("zhen@huzhong.example", SUBJECT, BODY)
    db.session.commit()

    assert deliver_due().failed == 1
    failed = reload(message)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "SMTP_HOST" in failed.last_error


def test_one_failure_does_not_lose_another_messages_result(app, webhook):
    dead = enqueue_webhook(f"http://127.0.0.1:{free_port()}/hook", {"msgtype": "text"})
    alive = enqueue_webhook(webhook.url, {"msgtype": "text"})
    db.session.commit()

    report = deliver_due()

    assert (report.sent, report.retrying) == (1, 1)
    assert reload(dead).status == "pending" and "Connection refused" in reload(dead).last_error
    assert reload(alive).status == "sent"


def test_a_message_another_worker_holds_is_skipped(app, webhook):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; on SQLite the claim alone keeps workers apart (test_several_workers)")
    held = enqueue_webhook(webhook.url, {"n": 1})
    free = enqueue_webhook(webhook.url, {"n": 2})
    db.session.commit()

    with db.engine.connect() as other_worker, other_worker.begin():
        other_worker.execute(sa.text("SELECT id FROM outbox_message WHERE id = :id FOR UPDATE"),
                             {"id": held.id})
        assert deliver_due().sent == 1

    assert [json.loads(body) for _, _, body in webhook.requests] == [{"n": 2}]
    assert (reload(held).status, reload(free).status) == ("pending", "sent")


def test_queueing_only_adds_to_the_callers_transaction(app):
    def committed_messages():
        with db.engine.connect() as other:
            return other.scalar(sa.text("SELECT count(*) FROM outbox_message"))

    db.session.add(Town(name="呼中镇"))
    message = enqueue_email("zhen@huzhong.example", SUBJECT, BODY)
    assert message in db.session.new and committed_messages() == 0

    db.session.rollback()  # the caller's record failed: its messages go with it

    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(Town)) == 0


def test_queueing_refuses_what_could_not_be_sent(app):
    with pytest.raises(ValueError):
        enqueue_email("zhen@huzhong.example", "主题\nBcc: everyone@example.com", BODY)
    with pytest.raises(ValueError):
        enqueue_email("not an address", SUBJECT, BODY)
    with pytest.raises(ValueError):
        enqueue_webhook("file:///etc/passwd", {})
    assert not db.session.new


def test_staff_see_a_webhook_without_its_secret_key(app, webhook):
    message = enqueue_webhook(webhook.url, {})
    assert "secret-robot-key" not in message.recipient_label
    assert message.recipient_label.endswith("/cgi-bin/webhook/send?…")


def test_robot_text_is_cut_to_what_wecom_takes():
    content = group_robot_text("河" * 1000)["text"]["content"]
    assert len(content.encode("utf-8")) <= 2048 and content.endswith("…")
    assert group_robot_text("短消息") == {"msgtype": "text", "text": {"content": "短消息"}}


def test_the_command_sends_and_prints_a_summary(app, runner, mailbox, webhook):
    enqueue_email("zhen@huzhong.example", SUBJECT, BODY)
    webhook.answers = [(503, b"")]
    enqueue_webhook(webhook.url, group_robot_text("测试"))
    db.session.commit()

    result = runner.invoke(args=["send-notifications"])

    assert result.exit_code == 0, result.output
    assert "已发送 1 条，失败 0 条，待重试 1 条" in result.output
    assert len(mailbox.messages) == 1
    assert runner.invoke(args=["send-notifications", "--interval", "5"]).exit_code == 2


def test_worker_mode_sends_until_sigterm_then_stops_cleanly(app, mailbox, database_url, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_SECRET_KEY": "test", "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": str(mailbox.port), "PORTAL_MAIL_FROM": SENDER,
    }
    # Pass on any other secret the test app was given (the app refuses to start without them).
    env.update({f"PORTAL_{key}": str(app.config[key]) for key in ("REPORTER_KEY",) if app.config.get(key)})
    message = enqueue_email("zhen@huzhong.example", SUBJECT, BODY)
    db.session.commit()

    worker = subprocess.Popen(
        [sys.executable, "-c", "from portal.cli import main; main()", "send-notifications",
         "--loop", "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not mailbox.messages and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(mailbox.messages) == 1
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()

    assert worker.returncode == 0, err
    assert "已发送 1 条" in out and "已停止。合计：已发送 1 条，失败 0 条，待重试 0 条" in out
    assert reload(message).status == "sent"


def test_mail_settings_that_cannot_work_stop_the_start(tmp_path, monkeypatch):
    from portal import create_app
    from portal.config import ConfigError

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError) as refused:
        create_app({"SECRET_KEY": "k", "SMTP_HOST": "mail.example", "SMTP_SSL": True, "SMTP_STARTTLS": True,
                    "NOTIFY_MAX_ATTEMPTS": 0})
    assert "MAIL_FROM" in str(refused.value) and "SMTP_STARTTLS" in str(refused.value)
    assert "NOTIFY_MAX_ATTEMPTS" in str(refused.value)
