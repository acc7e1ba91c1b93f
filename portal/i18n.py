"""Languages: Simplified Chinese first, English second, chosen per visitor and remembered in a cookie.

Message ids are the Chinese texts themselves, so Chinese needs no catalogue; English comes from
``portal/translations/en/LC_MESSAGES/messages.po``, compiled in memory on first use so that no
generated .mo file has to be built or committed.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request
from flask_babel import Babel, Domain, get_locale, refresh
from werkzeug.utils import cached_property

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LANGUAGE_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


class CatalogueDomain(Domain):
    """A translation domain that reads .po catalogues directly, once per locale."""

    def get_translations(self):
        """The translations for the current request's locale (none needed for Chinese)."""
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        key = str(locale)
        if key not in self.cache:
            self.cache[key] = _compile(locale)
        return self.cache[key]


class CatalogueBabel(Babel):
    """Flask-Babel with the portal's catalogue domain as the default domain."""

    @cached_property
    def domain_instance(self):
        """The one domain every request translates through."""
        return CatalogueDomain()


def _compile(locale: Locale):
    """Compile a locale's .po catalogue in memory, or give no translations if there is none."""
    for name in (str(locale), locale.language):
        path = TRANSLATIONS_DIR / name / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=name)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return support.Translations(fp=buffer)
    return support.NullTranslations()


def select_locale() -> str:
    """The visitor's language: ?lang= for a shared link, then their remembered choice, then Chinese
    (also outside a request: a command, cron)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    for choice in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if choice in languages:
            return choice
    return current_app.config["DEFAULT_LOCALE"]


def is_english() -> bool:
    """Whether the current request is served in English."""
    locale = get_locale()
    return locale is not None and locale.language == "en"


def html_lang() -> str:
    """The BCP 47 tag for <html lang>: zh-Hans or en."""
    return "en" if is_english() else "zh-Hans"


def init_app(app) -> None:
    """Choose each request's language afresh, and keep a shared link's ?lang= for the visit."""
    app.before_request(choose_language_afresh)
    app.after_request(keep_language_of_a_shared_link)


def choose_language_afresh():
    """Each request chooses its own language: Flask-Babel caches the choice on ``g``, which outlives a
    request wherever an application context is shared by several (tests, scripts)."""
    refresh()


def keep_language_of_a_shared_link(response):
    """A link with ?lang=en keeps the visit in English: the next page without ?lang stays English."""
    choice = request.args.get("lang")
    if choice in current_app.config["LANGUAGES"] and choice != request.cookies.get(LANGUAGE_COOKIE):
        remember_language(response, choice)
    return response


def remember_language(response, code: str) -> None:
    """Set the cookie that carries the visitor's language for a year."""
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=ONE_YEAR, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])  # HTTPS only, like the session


# Control characters (CR/LF would split the Location header) and the backslash some browsers read as "/".
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x1f\x7f\\]")
# What stays as it is in the path and query of a redirect; the rest (spaces, Chinese) is percent-encoded.
_SAFE_IN_URI = "/?&=%#:@!$'()*+,;~-._"


def local_path(target: str) -> str | None:
    """``target`` if it is a path on this site, else None: never an open redirect, never a broken header."""
    if not target.startswith("/") or target.startswith("//") or _UNSAFE_IN_PATH.search(target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return quote(target, safe=_SAFE_IN_URI)
