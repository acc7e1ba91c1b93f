"""Configuration: defaults, the layers that override them, and validation at start-up.

Layers, later ones winning: the defaults below → ``instance/config.py`` → ``PORTAL_*`` environment
variables → the ``test_config`` mapping given to ``create_app``.
"""
from __future__ import annotations

import os
import re
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message tells the operator which and how to fix it."""


class Defaults:
    """Settings every instance starts from; the README lists each one."""

    # Signs sessions and CSRF tokens. Required: `portal init` writes a random one to instance/config.py.
    SECRET_KEY = None
    # Encrypts reporters' contact details at rest (a Fernet key). Required: `portal init` writes one.
    # Keep it with the database's backups: without it, reporters' contacts cannot be read.
    REPORTER_KEY = None
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
    # The portal's root as the public reaches it, e.g. "https://hz.example.gov.cn/portal": every link
    # that leaves the site (QR codes, e-mails, webhooks, GeoJSON, CSV/XLSX, the feed) starts with it.
    # Empty: the request's host, which TRUSTED_HOSTS then guards. Required outside development.
    PUBLIC_BASE_URL = ""
    # Host names the portal answers to; any other Host header gets a 400. None: PUBLIC_BASE_URL's host,
    # SERVER_NAME's and localhost/127.0.0.1/::1. A leading dot (".example.gov.cn") trusts sub-domains.
    TRUSTED_HOSTS = None
    OUTFALLS_PER_PAGE = 50
    # River boards (河长公示牌) must be brought up to date within this many days of a change to what
    # they show (chiefs, goals, telephone); a board left longer says so in public (DOMAIN.md §5).
    RIVER_BOARD_UPDATE_DAYS = 15
    # Largest ledger file `portal import-ledger` accepts, in bytes.
    LEDGER_MAX_BYTES = 20 * 1024 * 1024
    # Most data rows a ledger may have: a district's ledger holds hundreds to thousands of outfalls.
    # It bounds an import's memory too (about 20 KB a row while writing).
    LEDGER_MAX_ROWS = 20_000
    # The licence the open data (/data, the CSV/XLSX downloads, the feed) is published under.
    DATA_LICENCE_NAME = "CC BY 4.0"
    DATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/deed.zh-hans"
    # The map's background tiles: "osm" (OpenStreetMap), "tianditu" (天地图, needs TIANDITU_KEY) or
    # "none" (intranet, offline): the map always draws towns and rivers from the portal's own data.
    BASEMAP = "osm"
    # The 天地图 browser key (tk) from the 天地图 console; it is sent to visitors' browsers.
    TIANDITU_KEY = ""
    # Outgoing mail (portal send-notifications). An empty SMTP_HOST turns e-mail off: queued e-mails
    # are then marked failed at once, with the reason, for staff to see and retry once it is set.
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = False  # upgrade a plain connection with STARTTLS (usually port 587)
    SMTP_SSL = False  # TLS from the first byte (usually port 465)
    MAIL_FROM = ""  # e.g. "呼中区排污口平台 <noreply@example.gov.cn>"; required when SMTP_HOST is set
    # A message is given up ("failed") after this many attempts; retries back off 1, 2, 4 … minutes.
    NOTIFY_MAX_ATTEMPTS = 8
    # Seconds an SMTP server or a webhook may take to answer before the attempt counts as failed.
    NOTIFY_TIMEOUT_SECONDS = 10
    # Report routing (portal.routing): a report outside every town goes to the nearest town within
    # this many kilometres, else to the district; without a chosen outfall, its water body is the
    # nearest one within this many metres.
    # Citizen reports (公众监督举报). Deadlines are configuration: provincial rules differ (DOMAIN.md §4).
    REPORT_ACCEPT_WORKING_DAYS = 2  # decide whether to accept, in working days (Mon–Fri)
    REPORT_FINISH_DAYS = 60  # finish within this many days of acceptance
    REPORT_EXTENSION_MAX_DAYS = 30  # the one extension of the answer deadline, at most this long
    REPORT_DUE_SOON_WORKING_DAYS = 2  # the "due soon" queue: deadlines within this many working days
    # The reporter may confirm a fix or reopen the report for this many days after the answer that resolved it.
    REPORT_REOPEN_DAYS = 30
    # /progress shows a town's or department's complaint figures only from this many reports in the
    # period on, so that one fast answer cannot top the table.
    ACCOUNTABILITY_MIN_REPORTS = 5
    REPORT_PHOTO_LIMIT = 6
    REPORT_PHOTO_MAX_BYTES = 10 * 1024 * 1024
    # Largest PDF (permit, approval, monitoring report) an outfall's archive accepts, in bytes.
    DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
    REPORT_DUPLICATE_METRES = 250  # open reports this close …
    REPORT_DUPLICATE_DAYS = 30  # … and this recent are offered as "me too" before submitting
    REPORT_RATE_LIMIT = "10 per hour;30 per day"  # accepted submissions per address (Flask-Limiter syntax)
    # Previews and refused forms of /reports/new per address: a larger budget than submissions.
    REPORT_ATTEMPT_RATE_LIMIT = "60 per hour;200 per day"
    # POSTs of the reporter's private page (additions, photos, confirm, reopen, rating) per address.
    REPORTER_ACTION_RATE_LIMIT = "30 per hour;100 per day"
    RATELIMIT_STORAGE_URI = "memory://"  # "redis://127.0.0.1:6379" when several processes serve
    # Public pages are served from a cache while the data they show are unchanged (portal.page_cache):
    # entries are dropped after this many seconds unread (0 turns the cache off), at most this many
    # per worker; with a Redis URL ("redis://127.0.0.1:6379/1") every worker of every server shares one.
    PAGE_CACHE_SECONDS = 600
    PAGE_CACHE_ENTRIES = 2000
    PAGE_CACHE_REDIS_URL = ""
    # How old the pages that count the whole registry (/ and /progress) may be served while data keep
    # changing: they are recounted at most this often. At most 60 (a minute), 0: always fresh.
    PAGE_CACHE_STALE_SECONDS = 60
    # `portal serve` (gunicorn, portal/serving.py): the address to listen on ("HOST:PORT", or
    # "unix:/path/to.sock" behind nginx), worker processes (two per core: one can wait on the database
    # while the other computes) and threads per worker (each answers a request, so a photo upload or a
    # long download occupies one thread, not a whole worker). Every worker holds up to
    # SERVE_THREADS database connections: keep workers × threads × servers below PostgreSQL's max_connections.
    SERVE_BIND = "127.0.0.1:8000"
    SERVE_WORKERS = 2 * (os.cpu_count() or 1)
    SERVE_THREADS = 4
    # Flask-Compress: brotli for browsers that take it, else gzip; the text types the portal serves.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/plain", "text/csv", "text/xml", "text/javascript",
                          "application/javascript", "application/json", "application/geo+json",
                          "application/atom+xml", "image/svg+xml"]
    # Who hears of a new report: e-mail addresses by town name ("*" for every report) and
    # group-robot webhooks (WeCom/DingTalk). Messages never carry the reporter's identity.
    REPORT_NOTIFY_EMAILS: dict = {}
    REPORT_NOTIFY_WEBHOOKS: list = []
    # Text messages (短信) through the district's SMS provider: a JSON POST {"phone", "text"} to
    # SMS_API_URL with "Authorization: Bearer SMS_API_TOKEN". Empty URL: SMS is off and nothing is queued.
    SMS_API_URL = ""
    SMS_API_TOKEN = ""
    SMS_SIGN_NAME = ""  # the registered signature (签名), sent as 【…】 before every text; required with a URL
    SMS_TIMEOUT_SECONDS = 10
    # Staff's public replies: at most this many characters of text (portal.reports.rich_text).
    REPLY_MAX_LENGTH = 5000
    # Reply templates per report type (codes of vocabulary.REPORT_CATEGORIES): the answer form offers them.
    REPLY_TEMPLATES: dict = {
        "direct_discharge": [
            {"title": "查实并责令整改", "text": "经现场核查，反映的直排问题属实。我们已责令责任单位立即停止排放并限期整改，"
                                          "将持续跟踪整改情况。感谢您的监督。"},
            {"title": "未发现直排", "text": "接到举报后，工作人员赶赴现场核查，未发现直排或偷排行为。"
                                       "我们将加强巡查，如再次发现，欢迎随时举报并附上照片。"},
        ],
        "dry_weather": [
            {"title": "查实晴天排水", "text": "经核查，该排口晴天有排水，已溯源至上游管网，正在组织封堵或改造，"
                                        "整改完成后将在本页公开。感谢您的监督。"},
            {"title": "属正常排水", "text": "经核查，该排口晴天出水为雨水管网内的积水或地下水渗入，不属于污水排放。"
                                       "我们将继续监测。"},
        ],
        "colour_smell": [
            {"title": "已采样监测", "text": "工作人员已到现场采集水样送检，监测结果出来后将在本页答复。感谢您的监督。"},
            {"title": "监测未超标", "text": "经现场采样监测，水质指标未超过排放标准。异常颜色或气味可能由藻类或底泥引起，"
                                       "我们将持续关注。"},
        ],
        "new_outfall": [
            {"title": "已纳入台账", "text": "经核查，该排污口此前未登记，现已纳入排污口台账，并按“一口一策”制定整治方案。"
                                       "感谢您的监督。"},
            {"title": "已登记排污口", "text": "经核查，该排污口已在台账中登记，可在本平台的排污口名录中查看其信息和整治进展。"},
        ],
        "signboard": [
            {"title": "已补设标识牌", "text": "经核查，该排污口标识牌缺失（损坏），已安排补设（更换），"
                                         "完成后可扫码查看排污口信息。感谢您的监督。"},
        ],
        "dead_fish": [
            {"title": "已处置并调查原因", "text": "接到举报后，工作人员已赶赴现场打捞处置死鱼，并采集水样调查原因，"
                                           "调查结果将在本页答复。感谢您的监督。"},
        ],
        "other": [
            {"title": "已转交办理", "text": "您反映的问题已转交相关部门办理，办理结果将在本页答复。感谢您的监督。"},
            {"title": "不属于本平台受理范围", "text": "您反映的问题不属于入河排污口监管范围，建议拨打 12345 热线反映。"},
        ],
    }
    # Photos live under the instance folder unless a path is given.
    PHOTO_ROOT = ""
    # Largest request body: six 10 MB photos and the form around them.
    MAX_CONTENT_LENGTH = 6 * 10 * 1024 * 1024 + 2 * 1024 * 1024
    # Flask's own cap on the parts (fields and files) of one multipart request: a form of a few
    # hundred tiny files is refused before any of them is read.
    MAX_FORM_PARTS = 64
    # How many reverse proxies in front of the portal set X-Forwarded-For/-Proto/-Host/-Prefix.
    # 0: the portal faces visitors directly and ignores those headers (a visitor could forge them).
    PROXY_FIX_HOPS = 0
    # Send the session cookie only over HTTPS (and HSTS with HTTPS answers): True behind HTTPS.
    # The portal never redirects to HTTPS itself; the TLS proxy in front decides (portal/security.py).
    SESSION_COOKIE_SECURE = False
    # Staff sign-in (/admin/login): this many failures in a row lock the account for so many minutes;
    # password POSTs per address (Flask-Limiter syntax).
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    LOGIN_RATE_LIMIT = "20 per minute"
    ROUTING_NEAREST_TOWN_KM = 5
    ROUTING_RIVER_METRES = 500
    # Which department handles a report (DOMAIN.md §1, seed): "category:<report type>" first (matters
    # one bureau handles whatever the outfall), then "outfall_type:<code>" (level-2 type, then level 1),
    # then "default". Keys use the codes of vocabulary.REPORT_CATEGORIES / OUTFALL_SUBTYPES / OUTFALL_TYPES;
    # values are department codes (the department table: eeb, housing, water, agriculture,
    # natural_resources, transport …). A code the table lacks routes to the default, and says so.
    DEPARTMENT_ROUTES = {
        "default": "eeb",
        "category:direct_discharge": "eeb",
        "category:dead_fish": "eeb",
        "category:new_outfall": "eeb",
        "outfall_type:municipal_wwtp": "housing",
        "outfall_type:urban_stormwater": "housing",
        "outfall_type:urban_domestic_scattered": "housing",
        "outfall_type:irrigation": "water",
        "outfall_type:agricultural": "agriculture",
        "outfall_type:livestock_small": "agriculture",
        "outfall_type:aquaculture_small": "agriculture",
        "outfall_type:rural_domestic_scattered": "agriculture",
        "outfall_type:rural_treatment": "agriculture",
        "outfall_type:port": "transport",
    }

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

    try:
        from cryptography.fernet import Fernet

        Fernet(str(config.get("REPORTER_KEY") or "").encode())
    except ValueError:
        problems.append(
            "REPORTER_KEY 未设置或无效（REPORTER_KEY is missing or not a Fernet key）：运行 `portal init` "
            "补写到 instance/config.py，或设置环境变量 PORTAL_REPORTER_KEY。"
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

    base = config.get("PUBLIC_BASE_URL")
    if base and not (isinstance(base, str) and _is_web_url(base)):
        problems.append(f"PUBLIC_BASE_URL 应为 http:// 或 https:// 开头、不带查询参数的网址"
                        f"（must be an http(s) URL without query or fragment）：{base!r}。")

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

    problems += _routing_problems(config)

    if config.get("SMTP_HOST") and not config.get("MAIL_FROM"):
        problems.append("设置了 SMTP_HOST 时须设置发件人 MAIL_FROM（the sender address）。")
    if config.get("SMTP_SSL") and config.get("SMTP_STARTTLS"):
        problems.append("SMTP_SSL 与 SMTP_STARTTLS 只能启用其一（465 端口用 SMTP_SSL，587 端口用 SMTP_STARTTLS）。")

    problems += _rate_limit_problems(config)
    problems += _number_problems(config)
    problems += _text_problems(config)
    problems += _language_problems(config)
    problems += _notification_problems(config)
    problems += _sms_problems(config)
    problems += _reply_problems(config)
    problems += _trusted_host_problems(config)
    problems += _photo_root_problems(config)
    if not isinstance(config.get("SESSION_COOKIE_SECURE"), bool):
        problems.append("SESSION_COOKIE_SECURE 应为 True 或 False（must be a boolean; True behind HTTPS）："
                        f"{config.get('SESSION_COOKIE_SECURE')!r}。")

    if problems:
        raise ConfigError("门户无法启动，配置有误（the portal cannot start）：\n- " + "\n- ".join(problems))


# Whole-number settings and their allowed ranges (booleans are not numbers here).
INTEGER_RANGES = {
    "PAGE_CACHE_SECONDS": (0, 86400),
    "SERVE_WORKERS": (1, 64),
    "SERVE_THREADS": (1, 64),
    "PAGE_CACHE_ENTRIES": (1, 1_000_000),
    "PAGE_CACHE_STALE_SECONDS": (0, 60),
    "LEDGER_MAX_BYTES": (1, 2**40),
    "LEDGER_MAX_ROWS": (1, 10_000_000),
    "RIVER_BOARD_UPDATE_DAYS": (1, 365),
    "SMTP_PORT": (1, 65535),
    "NOTIFY_MAX_ATTEMPTS": (1, 100),
    "REPORT_ACCEPT_WORKING_DAYS": (1, 365),
    "REPORT_FINISH_DAYS": (1, 3650),
    "REPORT_EXTENSION_MAX_DAYS": (1, 365),
    "REPORT_DUE_SOON_WORKING_DAYS": (0, 60),
    "REPORT_REOPEN_DAYS": (1, 3650),
    "ACCOUNTABILITY_MIN_REPORTS": (1, 10000),
    "REPORT_PHOTO_LIMIT": (1, 100),
    "REPORT_PHOTO_MAX_BYTES": (1, 2**31),
    "DOCUMENT_MAX_BYTES": (1, 2**31),
    "REPORT_DUPLICATE_DAYS": (1, 3650),
    "MAX_CONTENT_LENGTH": (1, 2**40),
    "MAX_FORM_PARTS": (1, 10000),
    "PROXY_FIX_HOPS": (0, 5),
    "LOGIN_MAX_FAILURES": (1, 100),
    "LOGIN_LOCKOUT_MINUTES": (1, 7 * 24 * 60),
}
# Settings that may have a fraction (seconds, metres).
NUMBER_RANGES = {
    "SQLITE_BUSY_TIMEOUT": (0, 3600),
    "NOTIFY_TIMEOUT_SECONDS": (1, 600),
    "REPORT_DUPLICATE_METRES": (1, 100000),
}
# Text that must not be empty, and text that may be; a number from PORTAL_* (parsed as JSON) becomes text.
REQUIRED_TEXTS = ("DISTRICT_NAME", "DISTRICT_NAME_EN", "REPORT_TELEPHONE", "DATA_LICENCE_NAME", "SERVE_BIND")
OPTIONAL_TEXTS = ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", "MAIL_FROM", "PHOTO_ROOT", "PAGE_CACHE_REDIS_URL")
BOOLEANS = ("SMTP_STARTTLS", "SMTP_SSL")
# The report form's own fields (about 20) come on top of its photos in one multipart request.
FORM_FIELD_PARTS = 24
# A host name or IPv4 address with an optional port; a leading dot also trusts every sub-domain.
HOST_PATTERN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?|::1")
EMAIL_PATTERN = re.compile(r"[^@\s<>()\[\],;:\"]+@[\w-]+(?:\.[\w-]+)+")
# Always trusted Host names: a developer's own machine.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1"]


def _number_problems(config) -> list[str]:
    """Whole numbers and measures outside their range, or not numbers at all (\"six\", True, NaN)."""
    problems = []
    for ranges, kinds, noun in ((INTEGER_RANGES, int, "整数（an integer）"),
                                (NUMBER_RANGES, (int, float), "数（a number）")):
        for key, (low, high) in ranges.items():
            value = config.get(key)
            if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
                problems.append(f"{key} 应为 {low}–{high} 的{noun}：{value!r}。")
    parts, photos = config.get("MAX_FORM_PARTS"), config.get("REPORT_PHOTO_LIMIT")
    if not problems and parts < photos + FORM_FIELD_PARTS:
        problems.append(f"MAX_FORM_PARTS 应不少于 REPORT_PHOTO_LIMIT + {FORM_FIELD_PARTS}（the report form's "
                        f"photos and fields must fit in one request）：{parts!r}。")
    return problems


def _text_problems(config) -> list[str]:
    """Texts that are missing or not text, booleans that are not booleans, URLs that are not web URLs."""
    problems = []
    for key in REQUIRED_TEXTS + OPTIONAL_TEXTS:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = config[key] = str(value)
        if not isinstance(value, str) or (key in REQUIRED_TEXTS and not value.strip()):
            need = "非空文字（non-empty text）" if key in REQUIRED_TEXTS else "文字（text）"
            problems.append(f"{key} 应为{need}：{value!r}。")
    for key in BOOLEANS:
        if not isinstance(config.get(key), bool):
            problems.append(f"{key} 应为 True 或 False（must be a boolean）：{config.get(key)!r}。")
    licence = config.get("DATA_LICENCE_URL")
    if not (isinstance(licence, str) and _is_web_url(licence)):
        problems.append(f"DATA_LICENCE_URL 应为 http(s) 网址（must be an http(s) URL）：{licence!r}。")
    storage = config.get("RATELIMIT_STORAGE_URI")
    if not isinstance(storage, str) or "://" not in storage:
        problems.append(f"RATELIMIT_STORAGE_URI 应为存储地址，如 memory:// 或 redis://主机:6379"
                        f"（must be a storage URI）：{storage!r}。")
    return problems


def _language_problems(config) -> list[str]:
    """LANGUAGES must be languages the portal has a catalogue for, and DEFAULT_LOCALE one of them."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "translations"
    available = {"zh_Hans_CN"} | {entry.name for entry in folder.iterdir() if entry.is_dir()}
    languages, default = config.get("LANGUAGES"), config.get("DEFAULT_LOCALE")
    if (not isinstance(languages, (list, tuple)) or not languages
            or not all(isinstance(code, str) and code in available for code in languages)):
        return [f"LANGUAGES 应为可用语言的列表（a list of available languages: {', '.join(sorted(available))}）："
                f"{languages!r}。"]
    if default not in languages:
        return [f"DEFAULT_LOCALE 应为 LANGUAGES 之一（must be one of LANGUAGES）：{default!r}。"]
    return []


def _notification_problems(config) -> list[str]:
    """Recipients of new-report messages: addresses by town, webhook URLs, and the sender."""
    problems = []
    table = config.get("REPORT_NOTIFY_EMAILS")
    example = '{"*": ["hbj@example.gov.cn"], "镇名": ["town@example.gov.cn"]}'
    if not isinstance(table, dict):
        problems.append(f"REPORT_NOTIFY_EMAILS 应为字典，如 {example}（must be a mapping）：{table!r}。")
    else:
        for town, addresses in table.items():
            if not isinstance(town, str) or not town.strip():
                problems.append(f"REPORT_NOTIFY_EMAILS 的键应为镇名或 \"*\"（a town name or \"*\"）：{town!r}。")
            elif not isinstance(addresses, (list, tuple)):
                problems.append(f"REPORT_NOTIFY_EMAILS[{town!r}] 应为邮箱地址的列表，如 {example}"
                                f"（must be a list of addresses）：{addresses!r}。")
            else:
                problems += [f"REPORT_NOTIFY_EMAILS[{town!r}] 中的邮箱地址无效（not an e-mail address）：{address!r}。"
                             for address in addresses
                             if not (isinstance(address, str) and EMAIL_PATTERN.fullmatch(address))]
    hooks = config.get("REPORT_NOTIFY_WEBHOOKS")
    if not isinstance(hooks, (list, tuple)):
        problems.append(f"REPORT_NOTIFY_WEBHOOKS 应为网址的列表（must be a list of URLs）：{hooks!r}。")
    else:
        problems += [f"REPORT_NOTIFY_WEBHOOKS 中的网址无效，应以 http(s):// 开头（not an http(s) URL）：{url!r}。"
                     for url in hooks if not (isinstance(url, str) and _is_web_url(url, query=True))]
    sender = config.get("MAIL_FROM")
    if isinstance(sender, str) and sender and not EMAIL_PATTERN.fullmatch(parseaddr(sender)[1]):
        problems.append(f"MAIL_FROM 应为发件地址，如 \"呼中区排污口平台 <noreply@example.gov.cn>\""
                        f"（not an e-mail address）：{sender!r}。")
    return problems


def _trusted_host_problems(config) -> list[str]:
    """Derive TRUSTED_HOSTS when unset, so that a forged Host header never reaches a link; check it when set."""
    hosts = config.get("TRUSTED_HOSTS")
    if hosts is None:
        # The names the portal is configured to be reached by, and a developer's own machine.
        derived = [urlsplit(config.get("PUBLIC_BASE_URL") or "").hostname,
                   str(config.get("SERVER_NAME") or "").partition(":")[0] or None]
        config["TRUSTED_HOSTS"] = [host for host in derived if host] + LOCAL_HOSTS
        return []
    if (isinstance(hosts, str) or not isinstance(hosts, (list, tuple)) or not hosts
            or not all(isinstance(host, str) and HOST_PATTERN.fullmatch(host) for host in hosts)):
        return [f"TRUSTED_HOSTS 应为主机名的列表，如 [\"hz.example.gov.cn\", \".example.gov.cn\"]"
                f"（must be a list of host names）：{hosts!r}。"]
    config["TRUSTED_HOSTS"] = list(hosts)
    return []


def _photo_root_problems(config) -> list[str]:
    """A configured PHOTO_ROOT (the folder every server shares) must be an absolute path to a folder
    this process can write: found at start-up, not at a citizen's first photo. Empty means
    <instance>/photos, made when first needed."""
    import tempfile

    root = config.get("PHOTO_ROOT")
    if not isinstance(root, str) or not root.strip():
        return []
    if not os.path.isabs(root):
        return [f"PHOTO_ROOT 应为绝对路径（must be an absolute path, the same on every server）：{root!r}。"]
    if not os.path.isdir(root):
        return [f"PHOTO_ROOT 不存在或不是文件夹（does not exist or is not a folder）：{root!r}；"
                "请先创建该文件夹（多台服务器时为共享存储的挂载点）。"]
    try:  # a real write: a read-only or unmounted share is found now, whatever permission bits say
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-check-"):
            pass
    except OSError as error:
        return [f"PHOTO_ROOT 不可写（is not writable）：{root!r}（{error.strerror or error}）。"]
    return []


def _is_web_url(url: str, query: bool = False) -> bool:
    """An absolute http(s) URL with a host; with query=False also without query string or fragment."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", url)
            and (query or not (parts.query or parts.fragment)))


def _rate_limit_problems(config) -> list[str]:
    """Every *_RATE_LIMIT setting parsed as Flask-Limiter does, so a typo stops start-up, not a request."""
    from limits import parse_many

    problems = []
    for key in sorted(k for k in config if k.endswith("_RATE_LIMIT")):
        value = config[key]
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            parse_many(value)
        except ValueError:
            problems.append(f"{key} 应为限流规则，如 \"10 per hour;30 per day\"（not a rate limit）：{value!r}。")
    return problems


def _routing_problems(config) -> list[str]:
    """What is wrong with the routing settings (distances, department routes)."""
    from portal.registry import vocabulary

    problems = []
    for key, unit in (("ROUTING_NEAREST_TOWN_KM", "公里"), ("ROUTING_RIVER_METRES", "米")):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1000000:
            problems.append(f"{key} 应为不小于 0 的数（{unit}）（must be a number ≥ 0）：{value!r}。")
    routes = config.get("DEPARTMENT_ROUTES")
    if not isinstance(routes, dict) or not isinstance(routes.get("default"), str) or not routes["default"].strip():
        problems.append("DEPARTMENT_ROUTES 应为字典，且须有 \"default\" 项（默认承办部门）。")
        return problems
    known = {"category": vocabulary.REPORT_CATEGORIES.codes(),
             "outfall_type": vocabulary.OUTFALL_SUBTYPES.codes() + vocabulary.OUTFALL_TYPES.codes()}
    for key, department in routes.items():
        kind, _, code = str(key).partition(":")
        if key != "default" and code not in known.get(kind, ()):
            problems.append(f"DEPARTMENT_ROUTES 的键 {key!r} 无效：应为 \"default\"、\"category:<举报类型编码>\" "
                            "或 \"outfall_type:<排污口类型编码>\"。")
        elif not isinstance(department, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,23}", department):
            problems.append(f"DEPARTMENT_ROUTES[{key!r}] 应为部门编码，如 \"eeb\"、\"housing\"（a department code）："
                            f"{department!r}。")
    config["DEPARTMENT_ROUTES"] = dict(routes)
    return problems


# Plain HTTP reaches an SMS provider only on this machine (a local relay, or the tests' fake provider).
SMS_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _sms_problems(config) -> list[str]:
    """The SMS provider's settings: an https URL (http on this machine only), its token and signature, a timeout."""
    problems = []
    for key in ("SMS_API_URL", "SMS_API_TOKEN", "SMS_SIGN_NAME"):
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = config[key] = str(value)  # PORTAL_SMS_API_TOKEN of digits arrives as a number
        if not isinstance(value, str):
            problems.append(f"{key} 应为文字（text）：{value!r}。")
    timeout = config.get("SMS_TIMEOUT_SECONDS")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 600:
        problems.append(f"SMS_TIMEOUT_SECONDS 应为 1–600 的数（秒）（a number of seconds）：{timeout!r}。")
    if problems:
        return problems
    url = config["SMS_API_URL"] = config["SMS_API_URL"].strip()
    token = config["SMS_API_TOKEN"] = config["SMS_API_TOKEN"].strip()
    sign = config["SMS_SIGN_NAME"] = config["SMS_SIGN_NAME"].strip().strip("【】[]")
    if not url:
        return []
    parts = urlsplit(url)
    if not _is_web_url(url, query=True) or (parts.scheme == "http" and parts.hostname not in SMS_LOCAL_HOSTS):
        problems.append(f"SMS_API_URL 应为 https:// 网址（仅本机 http://127.0.0.1 可用 http）"
                        f"（must be an https URL）：{url!r}。")
    if not token:
        problems.append("设置了 SMS_API_URL 时须设置短信接口令牌 SMS_API_TOKEN（the provider's API token）。")
    elif re.search(r"[\s\x00-\x1f\x7f]", token):
        problems.append("SMS_API_TOKEN 不应包含空白或控制字符（no spaces or control characters）。")
    if not sign:
        problems.append("设置了 SMS_API_URL 时须设置短信签名 SMS_SIGN_NAME（the registered signature, e.g. 呼中区生态环境局）。")
    elif len(sign) > 20 or re.search(r"[\s【】\[\]]", sign):
        problems.append(f"SMS_SIGN_NAME 应为不超过 20 字、不含空白和括号的签名（a signature of at most 20 characters）："
                        f"{sign!r}。")
    return problems


def _reply_problems(config) -> list[str]:
    """The reply length limit and the reply templates (portal.reports.reply_templates checks those)."""
    from portal.reports import reply_templates

    limit = config.get("REPLY_MAX_LENGTH")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
        return [f"REPLY_MAX_LENGTH 应为 1–100000 的整数（字数）（an integer number of characters）：{limit!r}。"]
    return reply_templates.problems(config.get("REPLY_TEMPLATES"), limit)
