"""呼中区入河排污口公开与举报平台: the Flask application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as portal_config
from portal import security
# ``db`` under another name: importing the submodule portal.db rebinds the package's own ``db``.
from portal.extensions import babel, compress, csrf, limiter, migrate
from portal.extensions import db as database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def instance_path() -> str:
    """The instance folder (runtime data and local config): PORTAL_INSTANCE_PATH or ./instance."""
    return os.path.abspath(os.environ.get("PORTAL_INSTANCE_PATH") or PROJECT_ROOT / "instance")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the portal: layered configuration, extensions, blueprints and CLI; nothing else."""
    app = Flask(
        __name__,
        instance_path=instance_path(),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(portal_config.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    if test_config:
        app.config.update(test_config)
    portal_config.finalise(app.config, app.instance_path)
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        # Trust exactly that many proxies for the visitor's address, scheme, host and sub-path; the
        # forwarded host is still checked against TRUSTED_HOSTS like any other.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)

    import portal.models  # noqa: F401  (registers the tables with the metadata)
    # Session listeners: outfalls' plan summaries and the data versions are kept at every flush and commit.
    import portal.data_version  # noqa: F401
    import portal.registry.plan_summary  # noqa: F401

    from portal import db as transactions
    from portal import page_cache

    database.init_app(app)
    transactions.init_app(app)
    migrate.init_app(app, database, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    page_cache.init_app(app)  # before compress: it keeps the responses compress has encoded
    compress.init_app(app)
    from portal import admin, api, citizen, cli, errors, i18n, public, templating, urls, vendor
    from portal.admin import sessions

    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    urls.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(citizen.bp)
    app.register_blueprint(vendor.bp)
    from portal import health, static_assets

    app.register_blueprint(health.bp)  # /healthz for the proxy and the process supervisor
    static_assets.init_app(app)  # fingerprinted /static and /vendor URLs, compressed once, cached a year
    sessions.init_app(app)  # login_manager.init_app: staff sessions of the back office
    app.register_blueprint(admin.bp)
    cli.init_app(app)
    return app
