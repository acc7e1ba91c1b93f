"""Accounts: administrators manage them in the UI, `portal create-user` on the server, each change
audited exactly once in its own transaction; everyone changes their own password."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import PASSWORD, submit_password
from factories import make_town, make_water_body
from helpers import text_of
from portal import db as portal_db
from portal.accounts import AccountError, operations
from portal.extensions import db
from portal.models import Account, AuditEntry

NEW_PASSWORD = "Linshi-mima-2026"


def audit_actions():
    return [entry.action for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def account_named(username):
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.username == username))


@pytest.fixture
def admin_client(app, make_account, sign_in):
    """A client signed in as an administrator (the sign-in's audit entry already written)."""
    client = app.test_client()
    admin = make_account("admin", username="guanli")
    sign_in(client, admin)
    client.admin = admin
    return client


def actions_after_sign_in():
    return [action for action in audit_actions() if action != "sign_in"]


# --- the UI -----------------------------------------------------------------------------------------

def test_admin_creates_a_town_officer(admin_client):
    town = make_town("碧水镇")
    db.session.commit()
    form = admin_client.get("/admin/accounts/new")
    assert form.status_code == 200 and "碧水镇" in text_of(form)
    response = admin_client.post("/admin/accounts/new", data={
        "username": "BiShui.Li", "display_name": "李娜", "role": "town", "town": str(town.id),
        "water_body": "", "department_code": "", "chief": "", "email": "lina@bishui.example.gov.cn",
        "phone": "0457-3500000", "password": NEW_PASSWORD})
    assert response.status_code == 302
    account = account_named("bishui.li")
    assert account.role == "town" and account.town_id == town.id and account.email == "lina@bishui.example.gov.cn"
    assert actions_after_sign_in() == ["account_created"]
    listing = text_of(admin_client.get("/admin/accounts"))
    assert "bishui.li" in listing and "李娜" in listing and "碧水镇" in listing and "从未登录" in listing


@pytest.mark.parametrize("fields, message", [
    ({"role": "town"}, "须指定所属的镇"),
    ({"role": "department"}, "承办举报的部门"),
    ({"role": "department", "department_code": "finance"}, "不是有效的选择"),  # not offered: funds, handles none
    ({"role": "chief"}, "河流或镇"),
    ({"role": "auditor", "department_code": "eeb"}, "不设辖区"),
    ({"role": "town", "town": "TOWN", "password": "short"}, "至少需要 10 个字符"),
    ({"role": "town", "town": "TOWN", "password": "1234567890"}, "太常见"),
    ({"role": "town", "town": "TOWN", "password": "newofficer1"}, "用户名"),
    ({"role": "town", "town": "TOWN", "username": "a b"}, "用户名应为"),
    ({"role": "town", "town": "TOWN", "email": "not-an-address"}, "邮箱地址无效"),
])
def test_create_refuses_with_a_clear_message_and_writes_nothing(admin_client, fields, message):
    town = make_town("碧水镇")
    db.session.commit()
    data = {"username": "newofficer", "display_name": "", "role": "town", "town": "", "water_body": "",
            "department_code": "", "chief": "", "email": "", "phone": "", "password": NEW_PASSWORD}
    data.update({key: (str(town.id) if value == "TOWN" else value) for key, value in fields.items()})
    response = admin_client.post("/admin/accounts/new", data=data)
    assert response.status_code == 400
    assert message in text_of(response)
    assert account_named(data["username"].lower()) is None
    assert actions_after_sign_in() == []


def test_create_refuses_a_taken_username(admin_client, make_account):
    make_account("auditor", username="shenji")
    response = admin_client.post("/admin/accounts/new", data={"username": "ShenJi", "role": "auditor",
                                                              "password": NEW_PASSWORD})
    assert response.status_code == 400 and "已被使用" in text_of(response)


def test_admin_edits_role_and_scope(admin_client, make_account):
    officer = make_account("town", username="bishui")
    river = make_water_body("呼玛河")
    db.session.commit()
    page = admin_client.get(f"/admin/accounts/{officer.id}")
    assert page.status_code == 200 and "bishui" in text_of(page)
    response = admin_client.post(f"/admin/accounts/{officer.id}", data={
        "role": "chief", "town": "", "water_body": str(river.id), "department_code": "", "chief": "",
        "display_name": "赵河长", "email": "", "phone": ""})
    assert response.status_code == 302
    account = account_named("bishui")
    assert account.role == "chief" and account.water_body_id == river.id and account.town_id is None
    assert actions_after_sign_in() == ["account_updated"]


def test_admin_deactivates_and_reactivates(admin_client, make_account):
    officer = make_account("town", username="bishui")
    assert admin_client.post(f"/admin/accounts/{officer.id}/active", data={"active": "0"}).status_code == 302
    assert account_named("bishui").active is False
    assert "已停用" in text_of(admin_client.get("/admin/accounts"))
    admin_client.post(f"/admin/accounts/{officer.id}/active", data={"active": "1"})
    assert account_named("bishui").active is True
    assert actions_after_sign_in() == ["account_deactivated", "account_reactivated"]


def test_admin_cannot_deactivate_themselves(admin_client):
    admin_client.post(f"/admin/accounts/{admin_client.admin.id}/active", data={"active": "0"})
    assert account_named("guanli").active is True
    assert actions_after_sign_in() == []


def test_admin_resets_a_password_and_the_holder_signs_in_with_it(app, admin_client, make_account, sign_in):
    officer = make_account("town", username="bishui")
    officer_client = app.test_client()
    sign_in(officer_client, officer)
    response = admin_client.post(f"/admin/accounts/{officer.id}/password",
                                 data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert officer_client.get("/admin/").status_code == 302  # signed out everywhere
    assert submit_password(app.test_client(), "bishui", PASSWORD).status_code == 401
    assert submit_password(app.test_client(), "bishui", NEW_PASSWORD).status_code == 302
    assert "password_reset" in audit_actions()


def test_password_reset_frees_a_locked_account(app, admin_client, make_account):
    officer = make_account("town", username="bishui")
    for _ in range(5):
        submit_password(app.test_client(), "bishui", "wrong-password")
    admin_client.post(f"/admin/accounts/{officer.id}/password", data={"password": NEW_PASSWORD,
                                                                      "confirm": NEW_PASSWORD})
    assert submit_password(app.test_client(), "bishui", NEW_PASSWORD).status_code == 302


def test_admin_resets_someones_totp(app, admin_client, make_account, sign_in):
    officer = make_account("town", username="bishui", totp=True)
    officer_client = app.test_client()
    sign_in(officer_client, officer)
    assert admin_client.post(f"/admin/accounts/{officer.id}/totp/reset").status_code == 302
    account = account_named("bishui")
    assert not account.totp_enabled and account.totp_secret_sealed is None
    assert officer_client.get("/admin/").status_code == 302
    assert submit_password(app.test_client(), "bishui").headers["Location"].endswith("/admin/")
    assert actions_after_sign_in().count("totp_reset") == 1


def test_unknown_account_is_not_found(admin_client):
    assert admin_client.get("/admin/accounts/999999").status_code == 404


@pytest.mark.parametrize("role", ["town", "chief", "department", "auditor"])
def test_other_roles_cannot_manage_accounts(app, make_account, sign_in, role):
    victim = make_account("town", username="bishui")
    client = app.test_client()
    sign_in(client, make_account(role))
    for method, path, data in (("GET", "/admin/accounts", None), ("GET", "/admin/accounts/new", None),
                               ("POST", "/admin/accounts/new", {"username": "evil", "role": "admin",
                                                                "password": NEW_PASSWORD}),
                               ("POST", f"/admin/accounts/{victim.id}/active", {"active": "0"}),
                               ("POST", f"/admin/accounts/{victim.id}/password",
                                {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})):
        assert client.open(path, method=method, data=data).status_code == 403, path
    assert account_named("evil") is None and account_named("bishui").active


def test_everyone_changes_their_own_password(client, make_account, sign_in):
    officer = make_account("department", username="bumen")
    sign_in(client, officer)
    wrong = client.post("/admin/account", data={"current_password": "not-it", "password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD})
    assert wrong.status_code == 400 and "当前密码不正确" in text_of(wrong)
    mismatch = client.post("/admin/account", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400 and "不一致" in text_of(mismatch)
    assert client.post("/admin/account", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD}).status_code == 302
    assert audit_actions().count("password_changed") == 1


# --- one audit entry per operation, in its transaction ------------------------------------------------

def test_each_operation_writes_exactly_one_entry(app, make_account):
    admin = make_account("admin", username="guanli")
    town = make_town("碧水镇")
    steps = [
        lambda: operations.create_account(admin, username="bishui", role="town", town=town, password=NEW_PASSWORD),
        lambda: operations.update_account(admin, account_named("bishui"), display_name="李娜"),
        lambda: operations.reset_password(admin, account_named("bishui"), "Another-2026-pass"),
        lambda: operations.change_password(account_named("bishui"), "Another-2026-pass", "Third-2026-pass"),
        lambda: operations.set_active(admin, account_named("bishui"), False),
        lambda: operations.set_active(admin, account_named("bishui"), True),
    ]
    expected = ["account_created", "account_updated", "password_reset", "password_changed",
                "account_deactivated", "account_reactivated"]
    for step, action in zip(steps, expected):
        before = len(audit_actions())
        with portal_db.transaction():
            step()
        assert audit_actions()[before:] == [action]


def test_the_entry_is_rolled_back_with_the_change(app, make_account):
    admin = make_account("admin", username="guanli")
    with pytest.raises(RuntimeError):
        with portal_db.transaction():
            operations.create_account(admin, username="bishui", role="auditor", password=NEW_PASSWORD)
            raise RuntimeError("the disk is full")
    assert account_named("bishui") is None and audit_actions() == []


def test_a_refused_operation_leaves_no_entry(app, make_account):
    admin = make_account("admin", username="guanli")
    with pytest.raises(AccountError):
        with portal_db.transaction():
            operations.reset_password(admin, account_named("guanli"), "short")
    assert audit_actions() == []


# --- portal create-user -----------------------------------------------------------------------------

def create_user(runner, *args, password=NEW_PASSWORD):
    return runner.invoke(args=["create-user", *args, "--password-stdin"], input=password + "\n")


def test_create_user_makes_an_admin_and_warns_of_totp(runner):
    result = create_user(runner, "guanli", "--role", "admin", "--name", "王局", "--email", "wang@example.gov.cn")
    assert result.exit_code == 0, result.output
    assert "已创建账户 guanli" in result.output and "两步验证" in result.output
    account = account_named("guanli")
    assert account.role == "admin" and account.display_name == "王局" and account.email == "wang@example.gov.cn"
    [entry] = db.session.scalars(select(AuditEntry))
    assert entry.action == "account_created" and entry.actor_name == "cli" and entry.actor_id is None


def test_create_user_with_scopes(runner):
    make_town("碧水镇")
    make_water_body("呼玛河")
    db.session.commit()
    assert create_user(runner, "bishui", "--role", "town", "--town", "碧水镇").exit_code == 0
    assert create_user(runner, "hezhang", "--role", "chief", "--river", "呼玛河").exit_code == 0
    assert create_user(runner, "zhujian", "--role", "department", "--department", "housing").exit_code == 0
    assert account_named("hezhang").water_body.name == "呼玛河"
    assert account_named("zhujian").department_code == "housing"


def test_create_user_prompts_twice_without_stdin(runner):
    result = runner.invoke(args=["create-user", "shenji", "--role", "auditor"],
                           input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert account_named("shenji") is not None


@pytest.mark.parametrize("args, password, message", [
    (["bishui", "--role", "town", "--town", "不存在镇"], NEW_PASSWORD, "没有名为“不存在镇”的镇"),
    (["hezhang", "--role", "chief", "--river", "不存在河"], NEW_PASSWORD, "没有名为“不存在河”的河流"),
    (["bumen", "--role", "department", "--department", "nasa"], NEW_PASSWORD, "没有编码为“nasa”的承办部门"),
    (["bishui", "--role", "town"], NEW_PASSWORD, "须指定所属的镇"),
    (["hezhang", "--role", "chief"], NEW_PASSWORD, "河流或镇"),
    (["shenji", "--role", "auditor"], "short", "至少需要 10 个字符"),
    (["shenji", "--role", "auditor"], "shenji2026", "用户名"),
    (["taken", "--role", "auditor"], NEW_PASSWORD, "已被使用"),
])
def test_create_user_errors_are_one_line_and_exit_1(runner, make_account, args, password, message):
    make_account("auditor", username="taken")
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    result = create_user(runner, *args, password=password)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_create_user_refuses_an_unknown_role(runner):
    result = create_user(runner, "x", "--role", "king")
    assert result.exit_code == 2 and "king" in result.output


def test_admin_cannot_change_their_own_role(admin_client):
    response = admin_client.post(f"/admin/accounts/{admin_client.admin.id}", data={
        "role": "auditor", "town": "", "water_body": "", "department_code": "", "chief": "",
        "display_name": "", "email": "", "phone": ""})
    assert response.status_code == 400 and "不能更改自己的角色" in text_of(response)
    assert account_named("guanli").role == "admin"
