"""What administrators, the CLI and staff themselves do to accounts, and signing in.

Each function adds and flushes only, and writes exactly one audit entry; the caller wraps it in
``portal.db.transaction()``. A refused change raises ``AccountError`` before anything is written.
Sign-in functions instead *return* their outcome, so that a failed attempt's counter and audit
entry are committed by the caller like a success's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import audit
from portal.accounts import passwords, totp
from portal.accounts.errors import AccountError
from portal.access import ROLES
from portal.extensions import db
from portal.models import Account, Department, RiverChief, Town, WaterBody
from portal.models.types import utcnow
from portal.reports import privacy

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
EMAIL_PATTERN = re.compile(r"[^@\s<>()\[\],;:\"]+@[\w-]+(?:\.[\w-]+)+")
# Which scope columns each role uses; the others must stay empty.
SCOPES = {"admin": (), "auditor": (), "town": ("town",), "department": ("department_code",),
          "chief": ("town", "water_body", "chief")}
# The fields update_account may change (username and password have operations of their own).
EDITABLE = ("display_name", "role", "town", "water_body", "department_code", "chief", "email", "phone")


# --- creating and changing accounts -----------------------------------------------------------------

def create_account(actor, *, username: str, role: str, password: str, display_name: str = "",
                   town: Town | None = None, water_body: WaterBody | None = None,
                   department_code: str | None = None, chief: RiverChief | None = None,
                   email: str | None = None, phone: str | None = None) -> Account:
    """A new active account; refuses a taken or malformed username, a weak password, a wrong scope."""
    username = normalise_username(username)
    if db.session.scalar(select(Account.id).where(func.lower(Account.username) == username)):
        raise AccountError(_l("用户名“%(name)s”已被使用。", name=username), field="username")
    fields = _checked_fields(role=role, display_name=display_name, town=town, water_body=water_body,
                             department_code=department_code, chief=chief, email=email, phone=phone)
    passwords.check_policy(password, username)
    account = Account(username=username, password_hash=passwords.hash_password(password),
                      password_changed_at=utcnow(), session_version=1, failed_logins=0,
                      totp_enabled=False, active=True, created_at=utcnow())
    _apply(account, fields)
    db.session.add(account)
    db.session.flush()
    audit.record(actor, "account_created", account, detail={"role": account.role, **_scope_detail(account)})
    return account


def update_account(actor, account: Account, **changes) -> Account:
    """Change name, role, scope or contact; the audit entry names the fields that changed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable here: {', '.join(sorted(unknown))}")
    current = {name: getattr(account, name) for name in EDITABLE}
    if isinstance(actor, Account) and actor.id == account.id and changes.get("role", account.role) != account.role:
        # An administrator demoting themselves could leave the district without one.
        raise AccountError(_l("不能更改自己的角色。"), field="role")
    fields = _checked_fields(**{**current, **changes})
    changed = sorted(name for name, value in fields.items() if value != current[name])
    _apply(account, fields)
    db.session.flush()
    audit.record(actor, "account_updated", account, detail={"changed": changed, **_scope_detail(account)})
    return account


def change_password(account: Account, current_password: str, new_password: str) -> Account:
    """The account holder's own change: the current password first; other sessions are signed out."""
    if not passwords.verify_password(account.password_hash, current_password or ""):
        raise AccountError(_l("当前密码不正确。"), field="current_password")
    if passwords.verify_password(account.password_hash, new_password or ""):
        raise AccountError(_l("新密码不能与当前密码相同。"), field="password")
    _set_password(account, new_password)
    audit.record(account, "password_changed", account)
    return account


def reset_password(actor, account: Account, new_password: str) -> Account:
    """An administrator sets a temporary password; every session of the account is signed out."""
    _set_password(account, new_password)
    account.failed_logins, account.locked_until = 0, None  # a reset is also how a locked account is freed
    audit.record(actor, "password_reset", account)
    return account


def set_active(actor, account: Account, active: bool, reason: str | None = None) -> Account:
    """Deactivate (signing out every session) or reactivate an account; one cannot deactivate oneself."""
    if isinstance(actor, Account) and actor.id == account.id and not active:
        raise AccountError(_l("不能停用自己的账户。"))
    if account.active == active:
        raise AccountError(_l("账户已是启用状态。") if active else _l("账户已是停用状态。"))
    account.active = active
    if not active:
        account.session_version += 1
    else:
        account.failed_logins, account.locked_until = 0, None
    db.session.flush()
    audit.record(actor, "account_reactivated" if active else "account_deactivated", account, reason=reason)
    return account


def enrol_totp(account: Account, secret: str, code: str, now: datetime | None = None) -> Account:
    """Turn on the second factor with the secret the holder's app shows ``code`` for."""
    step = totp.matching_step(secret, code, now)
    if step is None:
        raise AccountError(_l("验证码不正确，请核对手机上显示的 6 位数字后重试。"), field="code")
    account.totp_secret_sealed = privacy.seal(secret)
    account.totp_enabled, account.totp_last_step = True, step
    db.session.flush()
    audit.record(account, "totp_enrolled", account)
    return account


def reset_totp(actor, account: Account) -> Account:
    """Remove the second factor (a lost phone); every session is signed out, an admin must enrol again."""
    if not account.totp_enabled:
        raise AccountError(_l("这个账户未启用两步验证。"))
    account.totp_secret_sealed, account.totp_enabled, account.totp_last_step = None, False, None
    account.session_version += 1
    db.session.flush()
    audit.record(actor, "totp_reset", account)
    return account


def normalise_username(username: str) -> str:
    """The username as stored: trimmed, lower case; AccountError if it has other characters."""
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(_l("用户名应为 3–64 个字符，只含小写字母、数字和 . _ -，并以字母或数字开头。"),
                           field="username")
    return username


def _set_password(account: Account, password: str) -> None:
    passwords.check_policy(password, account.username)
    account.password_hash = passwords.hash_password(password)
    account.password_changed_at = utcnow()
    account.session_version += 1
    db.session.flush()


def _checked_fields(*, role, display_name, town, water_body, department_code, chief, email, phone) -> dict:
    """The account's fields after checking role, scope and contact (AccountError on the first problem)."""
    if role not in ROLES:
        raise AccountError(_l("未知的角色：%(role)s。", role=role), field="role")
    given = {"town": town, "water_body": water_body, "department_code": department_code or None, "chief": chief}
    uses = SCOPES[role]
    extra = [name for name, value in given.items() if value is not None and name not in uses]
    if extra:
        raise AccountError(_l("这个角色不设辖区，请不要填写镇、河流、部门或河长。") if not uses
                           else _l("这个角色不使用所填的部分辖区（%(fields)s）。", fields="、".join(extra)), field=extra[0])
    if role == "town" and town is None:
        raise AccountError(_l("镇级账户须指定所属的镇。"), field="town")
    if role == "department":
        department = db.session.get(Department, department_code) if department_code else None
        if department is None or not department.handles_reports:
            raise AccountError(_l("部门账户须指定一个承办举报的部门。"), field="department_code")
    if role == "chief" and town is None and water_body is None:
        raise AccountError(_l("河长账户须指定所负责的河流或镇（至少一项）。"), field="water_body")
    email = (email or "").strip() or None
    if email and not EMAIL_PATTERN.fullmatch(email):
        raise AccountError(_l("电子邮箱地址无效。"), field="email")
    phone = (phone or "").strip() or None
    if phone and not re.fullmatch(r"[0-9+\- ()]{5,32}", phone):
        raise AccountError(_l("电话号码只能包含数字、空格和 + - ( )。"), field="phone")
    display_name = (display_name or "").strip()
    if len(display_name) > 64:
        raise AccountError(_l("姓名最多 64 个字符。"), field="display_name")
    return {"role": role, "display_name": display_name, **given, "email": email, "phone": phone}


def _apply(account: Account, fields: dict) -> None:
    for name, value in fields.items():
        setattr(account, name, value)


def _scope_detail(account: Account) -> dict:
    """The scope as the audit entry keeps it (names, readable years later)."""
    detail = {"role": account.role}
    if account.town is not None:
        detail["town"] = account.town.name
    if account.water_body is not None:
        detail["river"] = account.water_body.name
    if account.department_code:
        detail["department"] = account.department_code
    if account.chief is not None:
        detail["chief"] = account.chief.name
    return detail


# --- signing in -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignIn:
    """An attempt's outcome: ``status`` is "signed_in", "needs_code", "failed" or "locked"."""

    status: str
    account: Account | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the password step passed (the code may still be needed)."""
        return self.status in ("signed_in", "needs_code")


def check_password(username: str, password: str, *, address: str | None, now: datetime | None = None) -> SignIn:
    """The password step: lock-out counting, one audit entry for a failure; a success without TOTP
    completes the sign-in, with TOTP it asks for the code (and writes nothing yet)."""
    now = now or utcnow()
    typed = (username or "").strip()[:64]
    account = db.session.scalar(select(Account).where(func.lower(Account.username) == typed.lower()))
    if account is None or not account.active:
        passwords.spend_verification_time(password or "")
        audit.record(typed or "?", "sign_in_failed", account, address=address,
                     detail={"reason": "unknown" if account is None else "inactive"})
        return SignIn("failed")
    if _locked(account, now):
        audit.record(typed, "sign_in_failed", account, address=address, detail={"reason": "locked"})
        return SignIn("locked", account, account.locked_until)
    if not passwords.verify_password(account.password_hash, password or ""):
        return _failure(account, typed, address, now, "password")
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    if account.totp_enabled:
        return SignIn("needs_code", account)
    return _success(account, address, now)


def check_code(account: Account, code: str, *, address: str | None, now: datetime | None = None) -> SignIn:
    """The second step of an account with TOTP: a wrong or replayed code counts as a failed attempt."""
    now = now or utcnow()
    if not account.active:
        audit.record(account.username, "sign_in_failed", account, address=address, detail={"reason": "inactive"})
        return SignIn("failed")
    if _locked(account, now):
        audit.record(account.username, "sign_in_failed", account, address=address, detail={"reason": "locked"})
        return SignIn("locked", account, account.locked_until)
    if not totp.accept_code(account, code, now):
        return _failure(account, account.username, address, now, "code")
    return _success(account, address, now)


def sign_out(account: Account, *, address: str | None) -> None:
    """Record that the account signed out of this browser."""
    audit.record(account, "sign_out", account, address=address)


def _locked(account: Account, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def _failure(account: Account, typed: str, address, now: datetime, reason: str) -> SignIn:
    """Count a failed attempt; the one that reaches the limit locks the account and says so in the log."""
    config = current_app.config
    account.failed_logins = (account.failed_logins or 0) + 1
    if account.failed_logins >= config["LOGIN_MAX_FAILURES"]:
        account.locked_until = now + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
        account.failed_logins = 0  # after the lock-out, a fresh count
        db.session.flush()
        audit.record(typed, "account_locked", account, address=address,
                     detail={"reason": reason, "until": account.locked_until.isoformat()})
        return SignIn("locked", account, account.locked_until)
    db.session.flush()
    audit.record(typed, "sign_in_failed", account, address=address, detail={"reason": reason})
    return SignIn("failed", account)


def _success(account: Account, address, now: datetime) -> SignIn:
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    db.session.flush()
    audit.record(account, "sign_in", account, address=address)
    return SignIn("signed_in", account)


def find(account_id: int) -> Account | None:
    """The account with this id, or None."""
    return db.session.get(Account, account_id)


def every_account() -> list[Account]:
    """All accounts, active first, by username."""
    return list(db.session.scalars(select(Account).order_by(Account.active.desc(), Account.username)))
