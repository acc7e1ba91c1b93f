"""Public pages served from a cache while the data they show have not changed.

A news story sends thousands of readers to the same few pages; rendering each of them afresh for
every reader would spend the server on identical work. A view marked ``@cached_page(scopes…)`` is
rendered once per address, language, day and content encoding, and that response is served again
for as long as the data versions of its scopes (portal.data_version) stay the same: a change
committed anywhere shows on the next request. A page marked ``may_be_stale`` (the whole-registry
counts of / and /progress) may be served up to ``PAGE_CACHE_STALE_SECONDS`` (at most 60) old while data
keep changing, so it is recounted at most that often however many changes arrive.

Only what anyone may see is cached: a request that carries a session cookie (staff, a citizen in the
middle of a form) is rendered afresh, and a response is kept only when it is a plain 200 that did not
touch the session (no CSRF token, no flashed message) and sets no cookie. Entries live in the worker's
memory, or in Redis when ``PAGE_CACHE_REDIS_URL`` is set, shared by every worker of every server.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from functools import wraps
from urllib.parse import urlencode

from cachelib import RedisCache, SimpleCache
from flask import Response, current_app, g, request
from flask.globals import request_ctx
from flask_babel import get_locale

from portal import calendar, data_version

log = logging.getLogger(__name__)
_EXTENSION = "portal.page_cache"
# Response headers worth keeping; Date, Set-Cookie and the like belong to one response only.
_KEPT_HEADERS = ("Content-Type", "Content-Encoding", "Content-Language", "Vary", "Cache-Control",
                 "Content-Security-Policy", "Link", "Last-Modified")


def cached_page(*scopes: str, may_be_stale: bool = False):
    """Serve the view's response from the cache while the data of ``scopes`` are unchanged (or, for a
    page that ``may_be_stale``, while its copy is younger than PAGE_CACHE_STALE_SECONDS)."""
    scopes = tuple(scopes) or data_version.SCOPES

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            store = current_app.extensions.get(_EXTENSION)
            if store is None or not _anonymous_read():
                return view(*args, **kwargs)
            versions = data_version.numbers(scopes)
            key = _key()
            stale_for = current_app.config["PAGE_CACHE_STALE_SECONDS"] if may_be_stale else 0

            def servable(entry) -> bool:
                return entry is not None and (entry["versions"] == versions
                                              or time.time() - entry["stored_at"] < stale_for)

            entry = _get(store, key)
            if not servable(entry) and _wait_for_rendering(key):
                entry = _get(store, key)  # another thread may have rendered it while this one waited
            if servable(entry):
                _done_rendering()
                g.page_cache = "hit"
                return _response(entry)
            response = current_app.make_response(view(*args, **kwargs))
            # Judged here, before after-request functions run: Flask-Login's looks at every session.
            if not _session_touched():
                g.page_cache = (key, versions)
            return response
        return wrapper
    return decorate


def init_app(app) -> None:
    """Create the store and keep responses in it. Call before Flask-Compress is bound: after-request
    functions run last-registered first, so this one then sees the response compressed."""
    if not app.config["PAGE_CACHE_SECONDS"]:
        return
    url = app.config["PAGE_CACHE_REDIS_URL"]
    if url:
        app.extensions[_EXTENSION] = _redis_cache(url, app.config["PAGE_CACHE_SECONDS"])
    else:
        app.extensions[_EXTENSION] = SimpleCache(threshold=app.config["PAGE_CACHE_ENTRIES"],
                                                 default_timeout=app.config["PAGE_CACHE_SECONDS"])
    app.after_request(_keep)
    app.teardown_request(_done_rendering)  # a turn is never kept past its request, whatever happened


def _redis_cache(url: str, timeout: int) -> RedisCache:
    import redis

    return RedisCache(redis.Redis.from_url(url, socket_timeout=0.5), key_prefix="portal:page:",
                      default_timeout=timeout)


def _session_touched() -> bool:
    """Whether the view wrote the session (a CSRF token, a flash): the page is then the visitor's own.

    Reads do not count: only requests without a session cookie get here, so every reader's session is
    the same empty one, and every rendered page reads it (Flask-Login's ``current_user``). Asked of the
    request context's session itself, since touching Flask's ``session`` proxy marks it accessed.
    Unknown counts as written.
    """
    state = getattr(request_ctx._get_current_object(), "_session", None)
    return state is None or bool(state.modified)


def _anonymous_read() -> bool:
    """A GET or HEAD from a visitor with no session: what they see is what everyone sees."""
    return request.method in ("GET", "HEAD") and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def _encoding() -> str:
    """The content encoding the response will be given, as far as the key needs to know."""
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        if accepted[encoding]:
            return encoding
    return ""


def _key() -> str:
    arguments = urlencode(sorted(request.args.items(multi=True)))
    parts = "\n".join((request.host_url, request.path, arguments, str(get_locale()),
                       calendar.today().isoformat(), _encoding()))
    return hashlib.sha256(parts.encode()).hexdigest()


def _get(store, key: str):
    try:
        return store.get(key)
    except Exception as error:  # Redis away: render instead of failing the reader
        log.warning("page cache unreadable: %s", error)
        return None


def _response(entry: dict) -> Response:
    response = Response(entry["body"], status=200)
    response.headers.clear()
    for name, value in entry["headers"]:
        response.headers.add(name, value)
    response.set_etag(entry["etag"])
    return response.make_conditional(request)


# Renderings of one page in one process take turns, so a burst of readers after a change (or the
# first minute after a start) renders it once instead of once per thread: the others wait and are
# served what the first stored. Locks are striped by key, so they stay few; a rendering that takes
# longer than the wait (a recount at a million reports) lets the next one render too.
_RENDERING = [threading.Lock() for _ in range(64)]
_RENDER_WAIT_SECONDS = 30


def _wait_for_rendering(key: str) -> bool:
    """Take this page's rendering turn (waiting for another thread's); False if the wait ran out."""
    lock = _RENDERING[int(key[:8], 16) % len(_RENDERING)]
    if not lock.acquire(timeout=_RENDER_WAIT_SECONDS):
        return False
    g.page_cache_turn = lock
    return True


def _done_rendering(_error=None) -> None:
    lock = g.pop("page_cache_turn", None)
    if lock is not None:
        lock.release()


def _keep(response: Response) -> Response:
    """Store a fresh cacheable response; answer 304 when the reader already has it."""
    try:
        return _store(response)
    finally:
        _done_rendering()


def _store(response: Response) -> Response:
    state = g.pop("page_cache", None)
    if state is None or state == "hit":
        return response
    key, versions = state
    if (response.status_code != 200 or response.is_streamed or response.direct_passthrough
            or "Set-Cookie" in response.headers):
        return response
    body = response.get_data()
    etag = hashlib.sha256(body).hexdigest()[:32]
    entry = {"versions": versions, "stored_at": time.time(), "body": body, "etag": etag,
             "headers": [(name, value) for name, value in response.headers if name in _KEPT_HEADERS]}
    try:
        current_app.extensions[_EXTENSION].set(key, entry)
    except Exception as error:
        log.warning("page cache not written: %s", error)
    response.set_etag(etag)
    return response.make_conditional(request)
