"""Template filters and globals: dates in the visitor's language, vocabulary labels, languages."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from portal import i18n
from portal.registry import vocabulary

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def format_date(value: date | datetime | None) -> str:
    """A date as readers write it: 2026年6月30日, or 30 Jun 2026 in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    if i18n.is_english():
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"


def format_datetime(value: datetime | None) -> str:
    """An instant in the district's time zone: 2026年6月30日 14:05."""
    if value is None:
        return ""
    local = _local(value)
    return f"{format_date(local.date())} {local:%H:%M}"


def init_app(app):
    """Register the filters and globals templates use."""
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_global(vocabulary, "vocab")
    app.add_template_global(i18n.html_lang, "html_lang")
    app.add_template_global(i18n.is_english, "is_english")
