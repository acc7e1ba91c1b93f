"""The reporter's identity: sealed at rest, opened only for the reporter and the staff handling it.

Contact details are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under REPORTER_KEY, a key
kept in the instance configuration and separate from SECRET_KEY, so that rotating the session key
never loses reporters' details and a database dump alone reveals nobody.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

# Tracking codes avoid characters people confuse when reading them aloud or off a screen: 0/O, 1/I/L.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 8


def new_key() -> str:
    """A fresh REPORTER_KEY, as `portal init` writes it."""
    return Fernet.generate_key().decode()


def _fernet() -> Fernet:
    return Fernet(current_app.config["REPORTER_KEY"].encode())


def seal(text: str | None) -> bytes | None:
    """Encrypt a contact detail; None or blank stays None."""
    if not text or not text.strip():
        return None
    return _fernet().encrypt(text.strip().encode())


def unseal(token: bytes | None) -> str | None:
    """Decrypt a sealed contact detail; None if absent or if it cannot be opened with this key."""
    if not token:
        return None
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken:
        return None


def new_tracking_code() -> str:
    """A short random tracking code (31^8 ≈ 8.5 × 10^11 possibilities: not guessable in sequence)."""
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalise_tracking_code(text: str) -> str:
    """Read a code as people type it: lower case, spaces or dashes."""
    return text.strip().upper().replace(" ", "").replace("-", "")


def new_secret() -> tuple[str, str]:
    """A secret for the reporter's private link and the digest stored in its place."""
    secret = secrets.token_urlsafe(24)
    return secret, digest(secret)


def digest(secret: str) -> str:
    """The stored form of a private-link secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def visitor_digest(address: str) -> str:
    """A keyed, one-way digest of a visitor's address: counts "me too" once per person, reveals nothing."""
    key = current_app.config["REPORTER_KEY"].encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _session_fernet() -> Fernet:
    """A Fernet key derived from SECRET_KEY, for what must ride in the (signed, not encrypted) session."""
    material = hashlib.sha256(b"portal private link in session\0" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(material.digest()))


def seal_for_session(secret: str) -> str:
    """The private-link secret as an opaque token the session cookie may carry: Flask's session is
    only signed, and anyone holding the cookie could read the secret in it otherwise."""
    return _session_fernet().encrypt(secret.encode()).decode("ascii")


def open_from_session(token: str | None, max_age: int = 3600) -> str | None:
    """The secret ``seal_for_session`` sealed, if the token is intact and younger than ``max_age`` seconds."""
    if not token:
        return None
    try:
        return _session_fernet().decrypt(token.encode("ascii"), ttl=max_age).decode()
    except (InvalidToken, ValueError, UnicodeError):
        return None
