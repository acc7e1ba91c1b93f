"""Staff passwords: argon2id hashes (rehashed when the parameters improve) and the password policy."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from portal.accounts.errors import AccountError

MIN_LENGTH = 10
# Passwords every guessing list starts with; the length rule already stops most others.
OBVIOUS = frozenset({
    "1234567890", "12345678910", "0123456789", "1111111111", "0000000000", "1234512345", "9876543210",
    "password123", "password1234", "passw0rd123", "qwertyuiop", "qwerty12345", "1q2w3e4r5t", "abcdefghij",
    "abc1234567", "a123456789", "iloveyou12", "admin12345", "administrator", "woaini1314", "woaini5201314",
    "5201314520", "huzhong123", "huzhongqu1", "changeme123", "letmein123", "welcome123", "zxcvbnm123",
})

_hasher = PasswordHasher()
_stand_in_hash: str | None = None


def hash_password(password: str) -> str:
    """The argon2id hash to store for a password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (a damaged hash never matches)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Verify against a stand-in hash, so that an unknown username takes as long as a wrong password
    (the answer's timing must not tell which usernames exist)."""
    global _stand_in_hash
    if _stand_in_hash is None:
        _stand_in_hash = _hasher.hash("stand-in password never used")
    verify_password(_stand_in_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's and should be replaced."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def check_policy(password: str, username: str) -> None:
    """Refuse a password that is short, obvious or the username itself (AccountError on ``password``)."""
    if len(password or "") < MIN_LENGTH:
        raise AccountError(_l("密码至少需要 %(n)s 个字符。", n=MIN_LENGTH), field="password")
    folded = password.strip().lower()
    name = (username or "").strip().lower()
    if folded in OBVIOUS or len(set(folded)) <= 2:
        raise AccountError(_l("这个密码太常见，很容易被猜到，请换一个。"), field="password")
    if name and (folded == name or name in folded and len(folded) - len(name) <= 4):
        raise AccountError(_l("密码不能与用户名相同或只是用户名加几个字符。"), field="password")
