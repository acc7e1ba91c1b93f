"""The outbox in view: pending and failed messages with their errors, reporters' messages masked,
a retry that puts a failed message back in the queue (administrators only)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import text_of
from portal.extensions import db
from portal.models import AuditEntry, OutboxMessage
from portal.models.types import utcnow

PRIVATE_LINK = "https://portal.test/reports/AB23CD45/private/s3cr3t-token-of-the-reporter"


def message(**fields):
    fields.setdefault("channel", "email")
    fields.setdefault("status", "failed")
    fields.setdefault("attempts", 8)
    fields.setdefault("next_attempt_at", utcnow())
    fields.setdefault("created_at", utcnow())
    record = OutboxMessage(**fields)
    db.session.add(record)
    db.session.flush()
    return record


@pytest.fixture
def outbox():
    """A failed reporter e-mail, a failed staff e-mail, a pending webhook and a sent one."""
    reporter = message(recipient="zhang.wei@example.com", subject="您的举报 AB23CD45 已受理",
                       body=f"您的私人链接：{PRIVATE_LINK}", topic="report:AB23CD45:reporter",
                       last_error="550 mailbox zhang.wei@example.com unavailable")
    staff = message(recipient="bishui@example.gov.cn", subject="新举报 AB23CD45", body="请及时受理。",
                    topic="report:AB23CD45", last_error="SMTP_HOST 未设置")
    webhook = message(channel="webhook", recipient="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET",
                      payload="{}", status="pending", attempts=1, next_attempt_at=utcnow() + timedelta(minutes=2),
                      topic="report:AB23CD45")
    sent = message(recipient="done@example.gov.cn", subject="已送达的通知", body="x", status="sent")
    db.session.commit()
    return {"reporter": reporter, "staff": staff, "webhook": webhook, "sent": sent}


@pytest.fixture
def admin_client(app, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("admin", username="guanli"))
    return client


@pytest.fixture
def auditor_client(app, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("auditor", username="shenji"))
    return client


def test_failed_and_pending_messages_are_listed_with_errors(admin_client, outbox):
    page = text_of(admin_client.get("/admin/outbox"))
    assert "新举报 AB23CD45" in page and "SMTP_HOST 未设置" in page
    assert "发送失败" in page and "等待发送" in page
    assert "已送达的通知" not in page  # sent messages are not the outbox's business


def test_reporter_messages_show_neither_body_nor_address(admin_client, auditor_client, outbox):
    for client in (admin_client, auditor_client):
        body = client.get("/admin/outbox").get_data(as_text=True)
        assert "举报人" in body and "z***@example.com" in body
        assert "zhang.wei" not in body and "s3cr3t" not in body and "私人链接" not in body
        assert "550 mailbox z***@example.com unavailable" in body


def test_webhook_keys_are_not_shown(admin_client, outbox):
    body = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "SECRET" not in body and "qyapi.weixin.qq.com" in body


def test_status_filter(admin_client, outbox):
    failed_only = text_of(admin_client.get("/admin/outbox?status=failed"))
    assert "新举报" in failed_only and "qyapi" not in failed_only


def test_retry_puts_a_failed_message_back_in_the_queue_and_is_audited(admin_client, outbox):
    staff = outbox["staff"]
    response = admin_client.post(f"/admin/outbox/{staff.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    retried = db.session.get(OutboxMessage, staff.id)
    assert retried.status == "pending" and retried.attempts == 0
    assert retried.next_attempt_at <= utcnow()
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox_retry"))
    assert entry.actor_name == "guanli" and entry.subject_id == staff.id and '"attempts_before": 8' in entry.detail


def test_retry_refuses_what_has_not_failed(admin_client, outbox):
    for name in ("webhook", "sent"):
        admin_client.post(f"/admin/outbox/{outbox[name].id}/retry")
    db.session.expire_all()
    assert db.session.get(OutboxMessage, outbox["sent"].id).status == "sent"
    assert db.session.get(OutboxMessage, outbox["webhook"].id).attempts == 1
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox_retry")).all() == []
    assert admin_client.post("/admin/outbox/999999/retry").status_code == 404


def test_the_auditor_sees_but_cannot_retry(auditor_client, outbox):
    page = auditor_client.get("/admin/outbox").get_data(as_text=True)
    assert "新举报 AB23CD45" in page and "/retry" not in page
    assert auditor_client.post(f"/admin/outbox/{outbox['staff'].id}/retry").status_code == 403
    db.session.expire_all()
    assert db.session.get(OutboxMessage, outbox["staff"].id).status == "failed"


@pytest.mark.parametrize("role", ["town", "chief", "department"])
def test_handlers_do_not_see_the_outbox(app, make_account, sign_in, outbox, role):
    client = app.test_client()
    sign_in(client, make_account(role))
    assert client.get("/admin/outbox").status_code == 403


def test_navigation_counts_failed_messages(admin_client, outbox):
    body = admin_client.get("/admin/").get_data(as_text=True)
    assert '通知发件箱 <span class="count">2</span>' in body
