"""The production server: gunicorn, started from Python by ``portal serve``.

One command, so that an operator needs no gunicorn command line or config file of their own: the
address, workers and threads come from the portal's configuration (SERVE_BIND, SERVE_WORKERS,
SERVE_THREADS) or the command's options, and every other choice is made here, with its reason.
"""
from __future__ import annotations

import re

import click
from gunicorn.app.base import BaseApplication

# "HOST:PORT" (an IPv6 host in brackets), or a Unix socket for a proxy on the same machine.
BIND_PATTERN = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}|unix:/\S+")

# Everything to stdout, one line an event: a process supervisor (systemd, Docker) collects one stream.
# The portal's own loggers (root) share it, so a warning from the page cache or /healthz lands there too.
LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": LOG_FORMAT}, "access": {"format": "%(message)s"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False,
                            "qualname": "gunicorn.access"},
    },
}


class BindError(ValueError):
    """The address to listen on is not HOST:PORT or unix:/path."""


def check_bind(bind: str) -> str:
    """``bind`` when it is an address gunicorn can listen on, else BindError with the message to show."""
    match = BIND_PATTERN.fullmatch(bind or "")
    port = None if not match or bind.startswith("unix:") else int(bind.rpartition(":")[2])
    if not match or (port is not None and not 1 <= port <= 65535):
        raise BindError(f"监听地址应为 主机:端口（如 127.0.0.1:8000）或 unix:/路径"
                        f"（the address must be HOST:PORT or unix:/path）：{bind!r}。")
    return bind


def options(bind: str, workers: int, threads: int) -> dict:
    """gunicorn's settings for the portal."""
    return {
        "bind": [check_bind(bind)],
        "workers": workers,
        "threads": threads,
        # gthread, not sync: a sync worker is one request at a time, so a report's photos being
        # cleaned or a 100,000-row XLSX being streamed holds the whole process, and its 30 s timeout
        # kills it mid-download (issue 10 saw three XLSX downloads at once killed that way). A gthread
        # worker answers other requests on its other threads meanwhile, and its heartbeat comes from
        # its main loop, not from the request, so a long download is not mistaken for a hung worker.
        # Threads also hold idle keep-alive connections cheaply (a phone on a slow line).
        "worker_class": "gthread",
        "timeout": 30,  # a worker whose main loop is silent this long is hung: restart it
        # SIGTERM: stop accepting, let requests in flight (a download, an upload) finish for this long.
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "logconfig_dict": LOGGING,
        # The portal alone decides which proxies to trust (PROXY_FIX_HOPS, TRUSTED_HOSTS): gunicorn's
        # own reading of X-Forwarded-Proto from 127.0.0.1 would make a request "https" behind its back.
        "forwarded_allow_ips": "",
        # gunicorn's control socket (~/.gunicorn/gunicorn.ctl) is unused, and two servers on one
        # machine (a second instance, a test, a benchmark) would fight over the one path.
        "control_socket_disable": True,
        # No preload: each worker builds its own app after the fork, so no database connection or
        # lock is ever shared between processes.
        "preload_app": False,
        "post_fork": _worker_started,
    }


def _worker_started(_server, _worker) -> None:
    """Each worker's threads share few malloc arenas (``portal.memory``): its memory stays near what it holds."""
    from portal import memory

    memory.limit_arenas()


class PortalServer(BaseApplication):
    """gunicorn running ``portal.create_app()`` in each worker with the settings of ``options``."""

    def __init__(self, settings: dict):
        self.settings = settings
        super().__init__()

    def load_config(self):
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self):
        from portal import create_app

        return create_app()


@click.command("serve")
@click.option("--bind", default=None, metavar="HOST:PORT",
              help="监听地址（默认 SERVE_BIND，127.0.0.1:8000；或 unix:/路径）")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="工作进程数（默认 SERVE_WORKERS，每核两个）")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="每个进程的线程数（默认 SERVE_THREADS）")
def serve_command(bind: str | None, workers: int | None, threads: int | None):
    """以生产服务器（gunicorn）运行门户；SIGTERM 时处理完进行中的请求再退出。"""
    from flask import current_app

    from portal.extensions import db

    config = current_app.config
    bind = bind or config["SERVE_BIND"]
    try:
        settings = options(bind, workers or config["SERVE_WORKERS"], threads or config["SERVE_THREADS"])
    except BindError as error:
        raise click.BadParameter(str(error), param_hint="--bind") from None
    # The command's own app (this process becomes gunicorn's master) must hand no pooled connection
    # to the forked workers; each of them builds its own app.
    db.engine.dispose()
    PortalServer(settings).run()
