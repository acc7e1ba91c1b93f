"""How a Chinese telephone number and an e-mail address look: one rule for the public form and for
the reports staff type in (the outbox checks a mobile number again before it sends a text)."""
from __future__ import annotations

import re

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_telephone(text: str) -> bool:
    """A mobile (13904571234) or landline (0457-3312345) number, spaces and brackets allowed."""
    number = re.sub(r"[\s()（）]", "", text or "")
    return bool(MOBILE.match(number) or LANDLINE.match(number))


def is_email(text: str) -> bool:
    """A plausible e-mail address."""
    return bool(EMAIL.match((text or "").strip()))
