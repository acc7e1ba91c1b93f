"""Template filters and globals: dates in the visitor's language, vocabulary labels, languages."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from portal import departments, i18n
from portal.registry import vocabulary
from portal.urls import external_url

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


def district_name() -> str:
    """The district's name in the visitor's language."""
    config = current_app.config
    return config["DISTRICT_NAME_EN"] if i18n.is_english() else config["DISTRICT_NAME"]


def site_name() -> str:
    """The portal's name, e.g. 呼中区入河排污口公开平台."""
    return _("%(district)s入河排污口公开平台", district=district_name())


def feed_title() -> str:
    """The title of the Atom feed of rectification updates."""
    return _("%(district)s入河排污口整治动态", district=district_name())


def basemap_layers() -> list[dict]:
    """The configured basemap's tile layers, for any page with a map (static/js/basemap.js draws them)."""
    from portal.public.map import basemap_layers as layers_for

    return layers_for(current_app.config)


def init_app(app):
    """Register the filters and globals templates use."""
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_global(vocabulary, "vocab")
    app.add_template_global(departments, "departments")
    app.add_template_global(i18n.html_lang, "html_lang")
    app.add_template_global(i18n.is_english, "is_english")
    app.add_template_global(external_url, "external_url")
    for helper in (district_name, site_name, feed_title, basemap_layers):
        app.add_template_global(helper)
