"""Fixtures of the back-office tests: staff accounts built directly, and a real sign-in through the forms."""
from __future__ import annotations

import itertools

import pyotp
import pytest

from factories import make_chief, make_town, make_water_body
from portal.accounts import passwords
from portal.extensions import db
from portal.models import Account
from portal.models.types import utcnow
from portal.reports import privacy

PASSWORD = "Hemian-2026-qingche"  # every test account's password unless told
_numbers = itertools.count(1)


@pytest.fixture
def make_account(app):
    """``make_account(role, …)``: a committed, active account (admins get TOTP unless ``totp=False``)."""
    def make(role, username=None, password=PASSWORD, town=None, water_body=None, department_code=None,
             chief=None, totp=None, **fields):
        if role == "town" and town is None:
            town = make_town()
        if role == "department" and department_code is None:
            department_code = "eeb"
        if role == "chief" and town is None and water_body is None and chief is None:
            water_body = make_water_body()
        account = Account(username=username or f"{role}{next(_numbers)}", role=role,
                          display_name=fields.pop("display_name", f"测试{role}"),
                          password_hash=passwords.hash_password(password), password_changed_at=utcnow(),
                          session_version=1, failed_logins=0, active=fields.pop("active", True), totp_enabled=False,
                          town=town, water_body=water_body, department_code=department_code, chief=chief,
                          **fields)
        if totp if totp is not None else role == "admin":
            account.totp_secret_sealed = privacy.seal(pyotp.random_base32())
            account.totp_enabled = True
        db.session.add(account)
        db.session.commit()
        return account
    return make


def totp_secret(account: Account) -> str:
    """The account's TOTP secret, as the test's "phone" holds it."""
    return privacy.unseal(account.totp_secret_sealed)


def fresh_code(account: Account) -> str:
    """A code the portal will accept now: the current step's, or the next one's if that was just used."""
    db.session.refresh(account)
    totp = pyotp.TOTP(totp_secret(account))
    step = totp.timecode(utcnow())
    if account.totp_last_step is not None and account.totp_last_step >= step:
        step = account.totp_last_step + 1
    return totp.generate_otp(step)


def submit_password(client, username, password=PASSWORD, next_path=None):
    """POST the password step of /admin/login."""
    data = {"username": username, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/admin/login", data=data)


@pytest.fixture
def sign_in():
    """``sign_in(client, account, password=PASSWORD)``: the real sign-in through the forms, asserted."""
    def sign_in(client, account, password=PASSWORD):
        response = submit_password(client, account.username, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        if account.totp_enabled:
            assert response.headers["Location"].endswith("/admin/login/code")
            response = client.post("/admin/login/code", data={"code": fresh_code(account)})
            assert response.status_code == 302, response.get_data(as_text=True)
        assert "/admin/login" not in response.headers["Location"]
        return response
    return sign_in


@pytest.fixture
def chief_record():
    """A river-chief record on the 呼玛河 (for chief accounts linked to one)."""
    return make_chief("王河长", level="town", town=make_town())
