"""The second factor: time-based one-time codes (RFC 6238, 30-second steps, as authenticator apps use).

The secret is sealed at rest like a reporter's contact (``portal.reports.privacy``); a code is
accepted once only: the account remembers the last accepted time step and refuses any code not newer.
"""
from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from portal.models import Account
from portal.models.types import utcnow
from portal.reports import privacy

# Codes of the step before and after the current one still count: phones' clocks drift a little.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh random base32 secret for an authenticator app."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime | None = None, after: int | None = None) -> int | None:
    """The time step ``code`` belongs to (now ± drift), if it is newer than ``after``; else None."""
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = now or utcnow()
    current = totp.timecode(now)
    for offset in range(DRIFT_STEPS, -DRIFT_STEPS - 1, -1):  # newest first
        step = current + offset
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def secret_of(account: Account) -> str | None:
    """The account's enrolled secret, unsealed (None when it has none or the key cannot open it)."""
    return privacy.unseal(account.totp_secret_sealed)


def accept_code(account: Account, code: str, now: datetime | None = None) -> bool:
    """Check a code of an enrolled account and, if good, remember its step so it cannot be used again."""
    secret = secret_of(account) if account.totp_enabled else None
    if not secret:
        return False
    step = matching_step(secret, code, now, after=account.totp_last_step)
    if step is None:
        return False
    account.totp_last_step = step
    return True
