"""The open-data API (/api/v1): GeoJSON, CSV and XLSX of the registry, with its own JSON errors.

Errors are a JSON list of ``{"code", "description"}`` (as in Open311 GeoReport v2), descriptions in
Chinese, never an HTML page: the API's readers are programs. Errors decided before any view runs
(an unknown /api/v1 address or method) reach ``api_error`` through portal.errors.
"""
from flask import Blueprint, jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, MethodNotAllowed

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _default_descriptions() -> dict[int, str]:
    return {
        400: _("请求无效。"),
        404: _("没有这个资源。请检查地址。"),
        405: _("这个地址不支持该请求方法。"),
        500: _("服务器内部错误，请稍后再试。"),
    }


def error_response(code: int, descriptions: list[str]):
    """A JSON error response: ``{"errors": [{"code": code, "description": …}, …]}``."""
    response = jsonify(errors=[{"code": code, "description": text} for text in descriptions])
    response.status_code = code
    return response


@bp.errorhandler(HTTPException)
def api_error(error: HTTPException):
    """Any HTTP error raised inside an API view, as JSON."""
    description = error.description
    if not description or description == type(error).description:
        # Werkzeug's own texts are English boilerplate; a description given to abort() is kept.
        description = _default_descriptions().get(error.code, error.name)
    response = error_response(error.code or 500, [description])
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


from portal.api import downloads, geo, map, monitoring, parties, reports, sections  # noqa: E402,F401  (registers the routes)
