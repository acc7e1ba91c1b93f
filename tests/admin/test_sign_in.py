"""Staff sign-in: password, lock-out, TOTP for administrators, sessions that end with a password change."""
from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import select

from conftest import PASSWORD, fresh_code, submit_password, totp_secret
from helpers import text_of
from portal.extensions import db
from portal.models import Account, AuditEntry
from portal.models.types import utcnow


def entries(action=None):
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def test_town_officer_signs_in_and_reaches_the_workbench(client, make_account):
    officer = make_account("town", username="bishui")
    response = submit_password(client, "bishui")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    page = client.get("/admin/")
    assert page.status_code == 200 and "工作台" in text_of(page) and "镇级承办人员" in text_of(page)
    [entry] = entries("sign_in")
    assert entry.actor_id == officer.id and entry.address == "127.0.0.1"
    assert db.session.get(Account, officer.id).last_login_at is not None


def test_wrong_password_and_unknown_user_get_the_same_message(client, make_account):
    make_account("town", username="bishui")
    wrong = submit_password(client, "bishui", "not-the-password")
    unknown = submit_password(client, "nobody", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "用户名或密码不正确" in text_of(response)
    failures = entries("sign_in_failed")
    assert [entry.actor_name for entry in failures] == ["bishui", "nobody"]
    assert all("not-the-password" not in (entry.detail or "") + (entry.reason or "") for entry in failures)
    assert client.get("/admin/").status_code == 302  # still signed out


def test_actor_name_of_a_failure_is_the_typed_name_cut_to_64(client):
    submit_password(client, "x" * 100, "whatever")
    [entry] = entries("sign_in_failed")
    assert entry.actor_name == "x" * 64


def test_five_failures_lock_the_account_even_against_the_right_password(client, make_account, app):
    make_account("town", username="bishui")
    for _ in range(4):
        assert "用户名或密码不正确" in text_of(submit_password(client, "bishui", "wrong-password"))
    locked = submit_password(client, "bishui", "wrong-password")
    assert "已暂时锁定" in text_of(locked)
    assert len(entries("sign_in_failed")) == 4 and len(entries("account_locked")) == 1
    right = submit_password(client, "bishui", PASSWORD)
    assert right.status_code == 401 and "已暂时锁定" in text_of(right)
    assert client.get("/admin/").status_code == 302


def test_lock_ends_after_its_minutes(client, make_account):
    officer = make_account("town", username="bishui")
    for _ in range(5):
        submit_password(client, "bishui", "wrong-password")
    account = db.session.get(Account, officer.id)
    assert account.locked_until > utcnow() + timedelta(minutes=14)
    account.locked_until = utcnow() - timedelta(seconds=1)  # fifteen minutes later
    db.session.commit()
    assert submit_password(client, "bishui", PASSWORD).status_code == 302


def test_lock_out_limit_is_a_setting(app, client, make_account):
    app.config["LOGIN_MAX_FAILURES"] = 2
    make_account("town", username="bishui")
    submit_password(client, "bishui", "wrong-password")
    assert "已暂时锁定" in text_of(submit_password(client, "bishui", "wrong-password"))


def test_inactive_account_cannot_sign_in(client, make_account):
    make_account("town", username="bishui", active=False)
    response = submit_password(client, "bishui", PASSWORD)
    assert response.status_code == 401 and "用户名或密码不正确" in text_of(response)
    assert client.get("/admin/").status_code == 302


def test_next_leads_back_to_the_admin_page_asked_for(client, make_account):
    make_account("auditor", username="shenji")
    first = client.get("/admin/audit?action=sign_in")
    assert first.status_code == 302 and "next=" in first.headers["Location"]
    response = submit_password(client, "shenji", next_path="/admin/audit?action=sign_in")
    assert response.headers["Location"].endswith("/admin/audit?action=sign_in")


def test_next_never_leads_off_the_back_office(client, make_account):
    make_account("auditor", username="shenji")
    for target in ("https://evil.example/", "//evil.example/admin/", "/\\evil.example", "/outfalls",
                   "javascript:alert(1)"):
        client.post("/admin/logout")
        response = submit_password(client, "shenji", next_path=target)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/admin/"), target


def test_session_fixation_old_session_contents_are_dropped(client, make_account):
    make_account("town", username="bishui")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    submit_password(client, "bishui")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_sign_out_ends_the_session_and_is_logged(client, make_account, sign_in):
    officer = make_account("town")
    sign_in(client, officer)
    response = client.post("/admin/logout")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert len(entries("sign_out")) == 1


def test_sign_out_is_not_a_link(client, make_account, sign_in):
    sign_in(client, make_account("town"))
    assert client.get("/admin/logout").status_code == 405


def test_password_change_signs_out_the_other_browser(app, make_account, sign_in):
    officer = make_account("town")
    desk, phone = app.test_client(), app.test_client()
    sign_in(desk, officer)
    sign_in(phone, officer)
    changed = desk.post("/admin/account", data={"current_password": PASSWORD, "password": "Xin-mima-2026-hz",
                                                "confirm": "Xin-mima-2026-hz"})
    assert changed.status_code == 302
    assert desk.get("/admin/").status_code == 200  # the browser that changed it stays signed in
    assert phone.get("/admin/").status_code == 302  # the other one is signed out
    assert len(entries("password_changed")) == 1


def test_stale_session_identity_is_refused(client, make_account, sign_in):
    officer = make_account("town")
    sign_in(client, officer)
    account = db.session.get(Account, officer.id)
    account.session_version += 1
    db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_deactivation_signs_the_account_out(app, make_account, sign_in):
    admin, officer = make_account("admin"), make_account("town")
    admin_client, officer_client = app.test_client(), app.test_client()
    sign_in(admin_client, admin)
    sign_in(officer_client, officer)
    assert admin_client.post(f"/admin/accounts/{officer.id}/active", data={"active": "0"}).status_code == 302
    assert officer_client.get("/admin/").status_code == 302


def test_admin_with_totp_signs_in_in_two_steps(client, make_account):
    admin = make_account("admin", username="guanli")
    first = submit_password(client, "guanli")
    assert first.headers["Location"].endswith("/admin/login/code")
    assert client.get("/admin/").status_code == 302  # the password alone is not a session
    assert entries("sign_in") == []
    done = client.post("/admin/login/code", data={"code": fresh_code(admin)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/")
    assert client.get("/admin/accounts").status_code == 200
    assert len(entries("sign_in")) == 1


def test_a_code_cannot_be_used_twice(app, make_account):
    admin = make_account("admin", username="guanli")
    code = fresh_code(admin)
    first, second = app.test_client(), app.test_client()
    submit_password(first, "guanli")
    assert first.post("/admin/login/code", data={"code": code}).status_code == 302
    submit_password(second, "guanli")
    replay = second.post("/admin/login/code", data={"code": code})
    assert replay.status_code == 401 and "已使用过" in text_of(replay)
    assert second.get("/admin/").status_code == 302


def test_wrong_codes_count_towards_the_lock(client, make_account):
    make_account("admin", username="guanli")
    submit_password(client, "guanli")
    for _ in range(4):
        assert client.post("/admin/login/code", data={"code": "000000"}).status_code in (401, 302)
    final = client.post("/admin/login/code", data={"code": "000000"})
    assert final.status_code == 302 and final.headers["Location"].endswith("/admin/login")
    assert "已暂时锁定" in text_of(client.get("/admin/login"))


def test_the_code_step_expires_after_five_minutes(client, make_account):
    admin = make_account("admin", username="guanli")
    submit_password(client, "guanli")
    with client.session_transaction() as session:
        session["admin_pending"] = {**session["admin_pending"], "at": session["admin_pending"]["at"] - 301}
    response = client.post("/admin/login/code", data={"code": fresh_code(admin)})
    assert response.headers["Location"].endswith("/admin/login")
    assert client.get("/admin/").status_code == 302


def test_admin_without_totp_must_enrol_before_anything_else(client, make_account):
    admin = make_account("admin", username="guanli", totp=False)
    response = submit_password(client, "guanli")
    assert response.headers["Location"].endswith("/admin/account/totp")
    for path in ("/admin/", "/admin/accounts", "/admin/audit", "/admin/account"):
        assert client.get(path).headers["Location"].endswith("/admin/account/totp"), path
    page = client.get("/admin/account/totp")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    with client.session_transaction() as session:
        secret = session["admin_enrol_secret"]
    assert secret.replace("", " ")[1:].strip() and secret[:4] in text_of(page).replace(" ", "")
    wrong = client.post("/admin/account/totp", data={"code": "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"})
    assert wrong.status_code == 400 and entries("totp_enrolled") == []
    done = client.post("/admin/account/totp", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    assert client.get("/admin/accounts").status_code == 200
    account = db.session.get(Account, admin.id)
    assert account.totp_enabled and totp_secret(account) == secret
    assert account.totp_secret_sealed and secret.encode() not in bytes(account.totp_secret_sealed)
    assert len(entries("totp_enrolled")) == 1


def test_other_roles_may_enrol_totp_and_then_need_the_code(client, make_account, sign_in):
    officer = make_account("town", username="bishui")
    sign_in(client, officer)
    client.get("/admin/account/totp")
    with client.session_transaction() as session:
        secret = session["admin_enrol_secret"]
    assert client.post("/admin/account/totp", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    client.post("/admin/logout")
    assert submit_password(client, "bishui").headers["Location"].endswith("/admin/login/code")


def test_login_posts_are_rate_limited_per_address(app, make_account):
    from portal import create_app
    from portal.extensions import limiter

    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    limiter.reset()
    try:
        with limited.app_context():
            client = limited.test_client()
            codes = [client.post("/admin/login", data={"username": "a", "password": "b"}).status_code
                     for _ in range(4)]
            db.session.remove()
            db.engine.dispose()
    finally:
        limiter.reset()
        limiter.enabled = False
    assert codes == [401, 401, 401, 429]


def test_english_sign_in_page(client):
    page = client.get("/admin/login?lang=en")
    assert "Staff sign-in" in text_of(page)
    assert "Username or password is incorrect" in text_of(client.post("/admin/login?lang=en",
                                                                       data={"username": "x", "password": "y"}))
