"""ETag and Last-Modified for the data endpoints, from the data versions (portal.data_version).

A program polling /api/v1/outfalls.csv every few minutes should not cost the server 100,000 rows
each time. What a data endpoint answers depends only on its scopes' data versions, the address
and its parameters, the language of the labels and the day (which decides what is overdue), so a
validator made of exactly those is known before any row is read: a request that brings it back
(``If-None-Match``, or ``If-Modified-Since`` no older than the last change) gets 304 without the
body ever being computed.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, time, timezone
from functools import wraps
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Response, current_app, request
from flask_babel import get_locale
from sqlalchemy import select

from portal import calendar, data_version
from portal.extensions import db
from portal.models import DataVersion


def conditional(*scopes: str):
    """Give the view's 200 answers an ETag and Last-Modified, and answer 304 before the view runs
    when the reader already holds the current answer."""
    scopes = tuple(scopes) or data_version.SCOPES

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            etag, last_modified = validators(scopes)
            if _still_fresh(etag, last_modified):
                response = Response(status=304)
                _stamp(response, etag, last_modified)
                return response
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code == 200:
                _stamp(response, etag, last_modified)
            return response
        return wrapper
    return decorate


def validators(scopes) -> tuple[str, datetime]:
    """The ETag and Last-Modified of the current request's answer, from one look at the versions."""
    today = calendar.today()
    # Numbers and moments in one statement: a 304 then costs a single look at the database.
    found = {scope: (number, changed_at) for scope, number, changed_at in db.session.execute(
        select(DataVersion.scope, DataVersion.number, DataVersion.changed_at).where(DataVersion.scope.in_(scopes)))}
    versions = [found.get(scope, (0, None))[0] for scope in scopes]
    # Parameters in a fixed order, so ?a=1&b=2 and ?b=2&a=1 share a validator.
    arguments = urlencode(sorted(request.args.items(multi=True)))
    parts = "\n".join((request.path, arguments, str(get_locale()), today.isoformat(),
                       ",".join(map(str, versions))))
    etag = hashlib.sha256(parts.encode()).hexdigest()[:32]
    # The answer also changes at midnight (what is overdue), so it is never older than today.
    midnight = datetime.combine(today, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    moments = [midnight.astimezone(timezone.utc)]
    moments += [changed if changed.tzinfo else changed.replace(tzinfo=timezone.utc)
                for _number, changed in found.values() if changed is not None]
    return etag, max(moments).replace(microsecond=0)


def _still_fresh(etag: str, last_modified: datetime) -> bool:
    """Whether the request's validators match (If-None-Match wins over If-Modified-Since, RFC 9110)."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.if_none_match:
        # Flask-Compress appends the encoding to a strong ETag ("…:gzip"): the data are the same.
        return any(tag == etag or tag.startswith(etag + ":") for tag in request.if_none_match.as_set()) \
            or request.if_none_match.star_tag
    since = request.if_modified_since
    return since is not None and last_modified <= since


def _stamp(response: Response, etag: str, last_modified: datetime) -> None:
    response.set_etag(etag)
    response.last_modified = last_modified
    response.vary.add("Cookie")  # the language cookie changes labels and so the answer
