"""Absolute URLs of the portal's pages: the one place that decides which host and root a link names.

Links that leave the site (QR codes on signboards, e-mails, webhooks, GeoJSON, CSV/XLSX, the feed)
must name the portal as the public reaches it. ``PUBLIC_BASE_URL`` is that address, including any
sub-path the portal is mounted under, so it replaces the request's script root rather than being
prefixed to it. Without it, the request's own host is used, which is safe only because
``TRUSTED_HOSTS`` refuses a request whose Host header is not one of the configured names; outside
a request (command line, notification worker) Flask's ``SERVER_NAME``, and failing that an error.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from flask import current_app, has_request_context, request, url_for
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

from portal.config import ConfigError
from portal.models.types import MAX_DATABASE_ID

PLACEHOLDER = "__URL_VALUE__"
# The characters Werkzeug leaves unquoted in a path segment (BaseConverter.to_url).
PATH_SAFE = "!$&'()*+,/:;=@"
_NEEDS_NO_QUOTING = re.compile(r"[A-Za-z0-9_.~\-!$&'()*+,/:;=@]*").fullmatch


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of a page, as it should appear in a link read outside the site."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if base:
        return base + site_path(endpoint, **values)
    if not has_request_context() and not current_app.config["SERVER_NAME"]:
        raise ConfigError(
            "PUBLIC_BASE_URL 未设置（PUBLIC_BASE_URL is not set）：在请求之外（命令行、通知发送）生成链接时"
            "须设置门户的公开地址，如 https://hz.example.gov.cn。"
        )
    # In a request, its host (TRUSTED_HOSTS has vetted it); outside one, Flask's configured
    # SERVER_NAME, PREFERRED_URL_SCHEME and APPLICATION_ROOT.
    return url_for(endpoint, _external=True, **values)


def site_path(endpoint: str, **values) -> str:
    """The path of a page below the portal's root, without the script root it is mounted under."""
    if has_request_context():
        path = url_for(endpoint, **values)
        root = request.script_root
        return path[len(root):] if root and path.startswith(root + "/") else path
    # Outside a request, url_for needs SERVER_NAME; bind the routes to a bare root instead.
    current_app.inject_url_defaults(endpoint, values)
    anchor = values.pop("_anchor", None)
    path = current_app.url_map.bind("", script_name="/").build(endpoint, values)
    return path + (f"#{anchor}" if anchor else "")


def external_url_maker(endpoint: str, field: str, **values) -> Callable[[str], str]:
    """A function giving the absolute URL of a page per value of one field, routed only once.

    GeoJSON and the CSV/XLSX downloads link thousands of outfalls: routing each would dominate.
    The value is quoted as the router quotes a path segment, so the links equal ``external_url``'s.
    """
    before, _, after = external_url(endpoint, **values, **{field: PLACEHOLDER}).partition(PLACEHOLDER)

    def url(value: str) -> str:
        return before + (value if _NEEDS_NO_QUOTING(value) else quote(value, safe=PATH_SAFE)) + after

    return url


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in a route: a positive id that fits the database's integer ids.

    Werkzeug's own accepts any length, and ``/rivers/3000000000`` then fails in the database (an
    overflow on PostgreSQL); out of range, the address simply matches no page (404).
    """

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_DATABASE_ID,
                 signed: bool = False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


# Control characters in an address: a NUL cannot even be sent to PostgreSQL, and none is in a code.
_NO_CONTROL = r"\x00-\x1f\x7f"


class TextConverter(UnicodeConverter):
    """A path segment (``<code>``) without control characters: ``/outfalls/AB%00C`` matches no page (404)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", f"[^/{_NO_CONTROL}]", 1)


class TextPathConverter(PathConverter):
    """``<path:…>`` without control characters."""

    regex = f"[^/{_NO_CONTROL}][^{_NO_CONTROL}]*?"


def init_app(app) -> None:
    """Route numbers as database ids and texts without control characters; before any route is added."""
    app.url_map.converters.update(int=DatabaseIdConverter, default=TextConverter, string=TextConverter,
                                  path=TextPathConverter)
