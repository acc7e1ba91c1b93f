"""``/healthz``: whether this app server can serve, for a load balancer, a process supervisor or a monitor.

It answers 200 ``{"status": "ok"}`` when the database answers ``SELECT 1`` and 503 with the reason when
it does not, so that a proxy stops sending visitors to a server that could only show them errors. The
probe borrows a connection from the pool and never the session: it adds no cookie, and it is never
cached (``no-store``) nor rate limited, since a monitor asks every few seconds from one address.
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when the database answers, else 503 naming what failed (the error's kind, not its text)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        # One line in the log for the operator; the answer gives the kind only (no URL, host or user).
        log.warning("healthz: the database did not answer: %s", (str(error).splitlines() or [type(error).__name__])[0])
        response = jsonify(status="unavailable",
                           reason=f"数据库无响应（the database did not answer）：{type(error).__name__}")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
