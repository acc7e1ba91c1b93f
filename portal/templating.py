"""Template filters and globals: dates in Chinese form, vocabulary labels, public masking."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from portal.registry import vocabulary


def format_date(value: date | datetime | None) -> str:
    """A date as Chinese readers write it: 2026年6月30日."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return f"{value.year}年{value.month}月{value.day}日"


def format_datetime(value: datetime | None) -> str:
    """An instant in the district's time zone: 2026年6月30日 14:05."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def init_app(app):
    """Register the filters and globals templates use."""
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_global(vocabulary, "vocab")
