"""Text messages through the outbox: queued in the caller's transaction, sent by the worker to a local
fake SMS provider (a real HTTP server in a thread), provider errors recorded and retried, timeouts,
and nothing queued while SMS is not configured."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.config import ConfigError
from portal.extensions import db
from portal.models import OutboxMessage
from portal.models.types import utcnow
from portal.notify import SmsRefused, deliver_due, enqueue_sms, retry

TEXT = "您举报的 ABC123 已受理，将于 2026-12-03 前答复。"


class Provider:
    """What the fake provider was sent, and the answers it gives in turn (then {"code": 0})."""

    def __init__(self):
        self.requests = []
        self.answers = []
        self.delay = 0.0


@pytest.fixture
def provider(app):
    """A fake SMS provider on 127.0.0.1, and the app configured to send through it."""
    fake = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            fake.requests.append((self.path, dict(self.headers), body))
            if fake.delay:
                time.sleep(fake.delay)
            status, answer = fake.answers.pop(0) if fake.answers else (200, b'{"code": 0, "message": "ok"}')
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1/sms/send"
    app.config.update(SMS_API_URL=fake.url, SMS_API_TOKEN="sms-secret-token", SMS_SIGN_NAME="呼中区生态环境局",
                      SMS_TIMEOUT_SECONDS=1)
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def reload(message: OutboxMessage) -> OutboxMessage:
    """The message as the database now has it."""
    db.session.expire_all()
    return db.session.get(OutboxMessage, message.id)


def test_a_text_message_is_sent_by_the_worker_with_signature_and_token(app, provider):
    message = enqueue_sms("138 1234 5678", TEXT, topic="report:ABC123")
    db.session.commit()
    assert provider.requests == []  # queued, not sent, inside the caller's transaction

    report = deliver_due()

    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    [(path, headers, body)] = provider.requests
    assert path == "/v1/sms/send"
    assert headers["Authorization"] == "Bearer sms-secret-token"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body.decode("utf-8")) == {"phone": "13812345678", "text": "【呼中区生态环境局】" + TEXT}
    sent = reload(message)
    assert (sent.channel, sent.status, sent.attempts, sent.last_error) == ("sms", "sent", 1, None)
    assert sent.topic == "report:ABC123"
    assert deliver_due().sent == 0 and len(provider.requests) == 1  # never twice


def test_staff_see_the_number_masked(app, provider):
    message = enqueue_sms("+86 139-0000-1234", TEXT)
    assert message.recipient == "13900001234"
    assert message.recipient_label == "139****1234"


def test_a_provider_refusal_is_recorded_and_retried_after_the_backoff(app, provider):
    provider.answers = [(200, '{"code": 1024, "message": "余额不足"}'.encode())]
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()
    start = utcnow()

    assert deliver_due(now=start).retrying == 1

    waiting = reload(message)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "code 1024" in waiting.last_error and "余额不足" in waiting.last_error
    assert waiting.next_attempt_at == start + timedelta(minutes=1)
    assert not deliver_due(now=start + timedelta(seconds=30))  # not due yet
    assert deliver_due(now=start + timedelta(seconds=61)).sent == 1
    assert (reload(message).status, reload(message).last_error) == ("sent", None)
    assert len(provider.requests) == 2


def test_an_answer_with_ok_false_is_a_failure(app, provider):
    provider.answers = [(200, b'{"ok": false, "error": "blacklisted number"}')]
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()

    assert deliver_due().retrying == 1
    assert "ok: false" in reload(message).last_error and "blacklisted number" in reload(message).last_error


def test_an_http_error_is_recorded_with_the_providers_words(app, provider):
    provider.answers = [(401, b'{"message": "invalid token"}')]
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()

    assert deliver_due().retrying == 1
    error = reload(message).last_error
    assert "HTTP 401" in error and "invalid token" in error


def test_a_provider_that_does_not_answer_in_time_is_a_failed_attempt(app, provider):
    provider.delay = 2.5  # SMS_TIMEOUT_SECONDS is 1
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()

    started = time.monotonic()
    assert deliver_due().retrying == 1
    assert time.monotonic() - started < 2.4
    failed = reload(message)
    assert failed.status == "pending" and "1 秒内未应答" in failed.last_error


def test_a_provider_that_is_down_is_a_failed_attempt(app, provider):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        app.config["SMS_API_URL"] = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/sms/send"
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()

    assert deliver_due().retrying == 1
    assert "refused" in reload(message).last_error.lower()


def test_the_last_attempt_fails_and_staff_can_retry_it(app, provider):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 1
    provider.answers = [(503, b"busy")]
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()

    assert deliver_due().failed == 1
    assert reload(message).status == "failed"

    retry(message.id)
    db.session.commit()
    assert deliver_due().sent == 1
    assert reload(message).status == "sent"


def test_nothing_is_queued_when_sms_is_not_configured(app):
    assert app.config["SMS_API_URL"] == ""
    assert enqueue_sms("13812345678", TEXT) is None
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_message_queued_before_sms_was_switched_off_fails_at_once_with_the_reason(app, provider):
    message = enqueue_sms("13812345678", TEXT)
    db.session.commit()
    app.config["SMS_API_URL"] = ""

    assert deliver_due().failed == 1
    failed = reload(message)
    assert failed.status == "failed" and "SMS_API_URL" in failed.last_error
    assert provider.requests == []


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "138123456789", "0457-12345", "abc", "", None,
                                   "+1 138 1234 5678"])
def test_a_number_that_is_not_a_chinese_mobile_is_refused_with_a_clear_message(app, provider, phone):
    with pytest.raises(SmsRefused) as refusal:
        enqueue_sms(phone, TEXT)
    assert isinstance(refusal.value, ValueError)
    assert "不是有效的手机号码" in str(refusal.value)
    with app.test_request_context("/?lang=en"):
        from flask_babel import force_locale

        with force_locale("en"):
            assert "not a valid mobile number" in str(refusal.value)


def test_a_text_over_500_characters_or_empty_is_refused(app, provider):
    assert enqueue_sms("13812345678", "水" * 500) is not None
    with pytest.raises(SmsRefused, match="最多 500 字"):
        enqueue_sms("13812345678", "水" * 501)
    with pytest.raises(SmsRefused, match="不能为空"):
        enqueue_sms("13812345678", "  ")


def test_email_and_webhook_still_go_their_own_way(app, provider):
    from portal.notify import enqueue_email

    app.config["SMTP_HOST"] = ""  # e-mail off: the e-mail fails at once, the text message is sent
    enqueue_email("zhen@huzhong.example", "主题", "正文")
    enqueue_sms("13812345678", TEXT)
    db.session.commit()

    report = deliver_due()

    assert (report.sent, report.failed) == (1, 1)
    assert len(provider.requests) == 1


@pytest.mark.parametrize("settings, complaint", [
    ({"SMS_API_URL": "http://sms.example.com/send", "SMS_API_TOKEN": "t", "SMS_SIGN_NAME": "呼中区"}, "https"),
    ({"SMS_API_URL": "ftp://sms.example.com/send", "SMS_API_TOKEN": "t", "SMS_SIGN_NAME": "呼中区"}, "https"),
    ({"SMS_API_URL": "https://sms.example.com/send", "SMS_SIGN_NAME": "呼中区"}, "SMS_API_TOKEN"),
    ({"SMS_API_URL": "https://sms.example.com/send", "SMS_API_TOKEN": "a b", "SMS_SIGN_NAME": "呼中区"},
     "SMS_API_TOKEN"),
    ({"SMS_API_URL": "https://sms.example.com/send", "SMS_API_TOKEN": "t"}, "SMS_SIGN_NAME"),
    ({"SMS_TIMEOUT_SECONDS": 0}, "SMS_TIMEOUT_SECONDS"),
])
def test_wrong_sms_settings_stop_start_up(app, settings, complaint):
    with pytest.raises(ConfigError, match=complaint):
        create_app({**app.config, **settings})


def test_sound_sms_settings_start(app):
    started = create_app({**app.config, "SMS_API_URL": "https://sms.example.com/send", "SMS_API_TOKEN": 123456,
                          "SMS_SIGN_NAME": "【呼中区生态环境局】"})
    assert started.config["SMS_API_TOKEN"] == "123456"  # digits from PORTAL_* arrive as a number
    assert started.config["SMS_SIGN_NAME"] == "呼中区生态环境局"  # the brackets are the sender's to add
