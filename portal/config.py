"""Configuration: defaults, the layers that override them, and validation at start-up.

Layers, later ones winning: the defaults below → ``instance/config.py`` → ``PORTAL_*`` environment
variables → the ``test_config`` mapping given to ``create_app``.
"""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message tells the operator which and how to fix it."""


class Defaults:
    """Settings every instance starts from; the README lists each one."""

    # Signs sessions and CSRF tokens. Required: `portal init` writes a random one to instance/config.py.
    SECRET_KEY = None
    # None means SQLite at instance/portal.db; set a postgresql:// URL for production.
    DATABASE_URL = None
    # Seconds SQLite waits for a lock held by another process before giving up.
    SQLITE_BUSY_TIMEOUT = 5
    DEFAULT_LOCALE = "zh_Hans_CN"
    LANGUAGES = ["zh_Hans_CN", "en"]  # the codes ?lang= and /language/<code> accept
    TIMEZONE = "Asia/Shanghai"
    DISTRICT_NAME = "呼中区"
    DISTRICT_NAME_EN = "Huzhong District"  # the same district on English pages
    # The district's public report telephone: configuration, never hard-coded (DOMAIN.md §4).
    REPORT_TELEPHONE = "0457-12345"
    # Absolute base URL used where a link leaves the site (QR codes, e-mails); empty: the request's.
    PUBLIC_BASE_URL = ""
    OUTFALLS_PER_PAGE = 50
    # Largest ledger file `portal import-ledger` accepts, in bytes.
    LEDGER_MAX_BYTES = 20 * 1024 * 1024
    # The licence the open data (/data, the CSV/XLSX downloads, the feed) is published under.
    DATA_LICENCE_NAME = "CC BY 4.0"
    DATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/deed.zh-hans"
    # The map's background tiles: "osm" (OpenStreetMap), "tianditu" (天地图, needs TIANDITU_KEY) or
    # "none" (intranet, offline): the map always draws towns and rivers from the portal's own data.
    BASEMAP = "osm"
    # The 天地图 browser key (tk) from the 天地图 console; it is sent to visitors' browsers.
    TIANDITU_KEY = ""


BASEMAPS = ("osm", "tianditu", "none")


def normalise_database_url(url: str) -> str:
    """Point plain postgresql:// URLs at the psycopg 3 driver the portal installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def finalise(config, instance_path: str) -> None:
    """Derive settings from others and refuse to start when one is wrong."""
    problems = []

    if not config.get("SECRET_KEY"):
        problems.append(
            "SECRET_KEY 未设置（SECRET_KEY is not set）：运行 `portal init` 生成 instance/config.py，"
            "或设置环境变量 PORTAL_SECRET_KEY。"
        )

    url = config.get("DATABASE_URL") or f"sqlite:///{instance_path}/portal.db"
    url = normalise_database_url(str(url))
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", url):
        problems.append(
            f"DATABASE_URL 不受支持（unsupported database URL）：{url!r}；"
            "请使用 sqlite:///路径 或 postgresql://用户@主机/数据库。"
        )
    config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        # sqlite3's timeout is SQLite's busy timeout: wait for a writer's lock instead of failing.
        options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": config.get("SQLITE_BUSY_TIMEOUT")})
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    try:
        ZoneInfo(str(config.get("TIMEZONE")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"TIMEZONE 无效（unknown time zone）：{config.get('TIMEZONE')!r}。")
    config["BABEL_DEFAULT_TIMEZONE"] = config.get("TIMEZONE")
    config["BABEL_DEFAULT_LOCALE"] = config.get("DEFAULT_LOCALE")

    per_page = config.get("OUTFALLS_PER_PAGE")
    if not isinstance(per_page, int) or not 1 <= per_page <= 1000:
        problems.append(f"OUTFALLS_PER_PAGE 应为 1–1000 的整数（must be an integer 1–1000）：{per_page!r}。")

    base = config.get("PUBLIC_BASE_URL") or ""
    if base and not re.match(r"^https?://[^/\s]+", base):
        problems.append(f"PUBLIC_BASE_URL 应以 http:// 或 https:// 开头：{base!r}。")

    basemap = config.get("BASEMAP")
    # PORTAL_TIANDITU_KEY is parsed as JSON, so a key of digits only would arrive as a number.
    key = config["TIANDITU_KEY"] = str(config.get("TIANDITU_KEY") or "").strip()
    if basemap not in BASEMAPS:
        problems.append(f"BASEMAP 应为 {'、'.join(BASEMAPS)} 之一（unknown basemap）：{basemap!r}。")
    elif basemap == "tianditu" and not key:
        problems.append("BASEMAP 为 tianditu 时须设置 TIANDITU_KEY（天地图控制台申请的 key），"
                        "或改用 BASEMAP = \"osm\" 或 \"none\"。")
    if key and not re.fullmatch(r"[A-Za-z0-9]+", key):
        problems.append("TIANDITU_KEY 只应包含字母和数字（a 天地图 key is letters and digits）。")

    if problems:
        raise ConfigError("门户无法启动，配置有误（the portal cannot start）：\n- " + "\n- ".join(problems))
