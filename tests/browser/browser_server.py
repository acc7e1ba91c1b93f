"""Serving the portal to a real browser: a live server on a scratch database, and pages on it."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from databases import scratch_database
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db


@contextmanager
def serve_portal(folder, database_name: str, prepare=None, seed_demo: bool = True, **settings):
    """The portal with demo data on a database of its own, served on a free local port; yields its URL.

    ``prepare(app)`` runs inside an app context after the demo data is in, to plant more data;
    with ``seed_demo=False`` there is no demo data, only what ``prepare`` loads.
    """
    from flask_migrate import upgrade

    from portal.db import transaction
    from portal import demo

    with scratch_database(folder, database_name) as url:
        os.environ["PORTAL_INSTANCE_PATH"] = str(folder / "instance")
        app = create_app({"SECRET_KEY": "browser-tests", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                          "DATABASE_URL": url, "BASEMAP": "none", **settings})
        with app.app_context():
            upgrade()
            if seed_demo:
                with transaction():
                    demo.seed()
            if prepare:
                prepare(app)
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            with app.app_context():
                db.engine.dispose()
            os.environ.pop("PORTAL_INSTANCE_PATH", None)


def new_page(browser, base_url: str, *, width: int = 390, height: int = 844, locale: str = "zh-CN"):
    """A fresh page (its own cookies) on a screen of that size, with the server's URL as base."""
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page
