"""The site's own error pages: every HTTP error outside the API in the site's frame and the visitor's language.

Werkzeug's own pages are English boilerplate; a resident should instead see what went wrong and
what to do, in their language, with the site's navigation. The API keeps its JSON errors
(``portal.api.api_error``). If the frame itself cannot be drawn (the request's host was refused,
so no link can be built, or the fault is in the frame), a plain page in both languages is sent.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

# Code → (heading, explanation) of the generic error page; 404 and 500 have pages of their own.
MESSAGES = {
    400: (_l("请求无效"), _l("无法处理这个请求：地址或提交的内容有误。请检查后重试。")),
    403: (_l("无权访问"), _l("您没有访问这个页面的权限。")),
    405: (_l("不支持该操作"), _l("这个地址不支持该请求方法。请返回上一页，用页面上的按钮或链接操作。")),
    413: (_l("提交的内容过大"), _l("提交的内容超过了大小限制。请减少或压缩照片后重试。")),
    429: (_l("操作过于频繁"), _l("您的操作过于频繁，请稍后再试。")),
}
UNTRUSTED_HOST = (_l("地址不属于本站"), _l("这个请求所用的网址不属于本站。请通过本站的正式地址访问。"))
GENERIC = (_l("出错了"), _l("无法完成这个请求。请稍后再试。"))
# The last resort, when not even the frame can be drawn: both languages, no template, no catalogue.
PLAIN_PAGE = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{code} · 出错了 · Error</title></head>
<body><main>
<h1>{code} 出错了</h1><p>{zh}</p>
<h1 lang="en">{code} Something went wrong</h1><p lang="en">{en}</p>
</main></body></html>
"""
PLAIN_TEXTS = {
    400: ("请求无效：地址或提交的内容有误，或所用的网址不属于本站。", "The request could not be handled: the address "
          "or what was sent is wrong, or the site was reached under a name that is not its own."),
    404: ("您要找的页面不存在。", "The page you are looking for does not exist."),
    413: ("提交的内容超过了大小限制。", "What was sent is larger than the site accepts."),
    429: ("操作过于频繁，请稍后再试。", "Too many requests: please try again later."),
    500: ("服务器出错了，请稍后再试。", "The server made an error: please try again later."),
}


def init_app(app):
    """Answer every HTTP error, and every unhandled exception (as a 500), with the site's pages."""
    app.register_error_handler(HTTPException, http_error)


def is_api_request() -> bool:
    """Whether the request is for the open-data API, whose readers are programs."""
    from portal.api import bp as api

    return request.path == api.url_prefix or request.path.startswith(api.url_prefix + "/")


def http_error(error: HTTPException):
    """An error page of the site (or the API's JSON error), keeping the error's headers (Allow, Retry-After)."""
    if is_api_request():
        from portal.api import api_error, error_response

        if isinstance(error, SecurityError):
            # Werkzeug's text repeats the forged host; say what is wrong in the visitor's language.
            return error_response(400, [str(UNTRUSTED_HOST[1])])
        return api_error(error)
    code = error.code or 500
    try:
        body = _page(error, code)
    except Exception:  # noqa: BLE001  (the page that reports an error must not fail in turn)
        current_app.logger.exception("error page %s could not be drawn", code)
        body = plain_page(code)
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return body, code, headers


def _page(error: HTTPException, code: int) -> str:
    """The error page in the site's frame."""
    if isinstance(error, SecurityError):
        _route_under_a_trusted_host()
        heading, explanation = UNTRUSTED_HOST
        return render_template("errors/error.html", code=code, heading=heading, explanation=explanation)
    if code == 404:
        return render_template("errors/404.html")
    if code >= 500 or isinstance(error, InternalServerError):
        return render_template("errors/500.html")
    heading, explanation = MESSAGES.get(code, GENERIC)
    return render_template("errors/error.html", code=code, heading=heading, explanation=explanation)


def _route_under_a_trusted_host() -> None:
    """Let the frame's links be built although the request's Host was refused: under a configured name.

    Flask leaves such a request without a URL adapter; the frame's links are paths, and the one
    absolute link (the share image) then names a trusted host, never the forged one.
    """
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc or current_app.config["TRUSTED_HOSTS"][0]
    request_ctx.url_adapter = current_app.url_map.bind(
        host.lstrip("."), script_name=request.script_root or "/", url_scheme=request.scheme)


def plain_page(code: int) -> str:
    """A page without template or frame, in Chinese and English."""
    zh, en = PLAIN_TEXTS.get(code, PLAIN_TEXTS[500] if code >= 500 else PLAIN_TEXTS[400])
    return PLAIN_PAGE.format(code=int(code), zh=escape(zh), en=escape(en))
