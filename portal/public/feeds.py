"""/feed.atom: outfall status changes as an Atom feed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from flask_babel import gettext as _

from portal import calendar
from portal.freshness import conditional
from portal.data_version import REGISTRY
from portal.models import OutfallEvent
from portal.public import bp
from portal.registry import changes, statistics
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter
from portal.templating import format_date
from portal.urls import external_url

FEED_LIMIT = 100
ATOM_MIMETYPE = "application/atom+xml"
# The year the special action began (国办函〔2022〕17号): the date part of every tag: URI here.
TAG_YEAR = 2022
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Entry:
    """One feed entry, every text ready to be escaped into XML."""

    id: str
    title: str
    summary: str
    url: str
    updated: str


@bp.get("/feed.atom")
@conditional(REGISTRY)
def feed():
    """The latest outfalls entered and status, stage, measure or deadline changes, newest first.

    Takes the list's filter parameters (``/feed.atom?town=2`` follows one town); values it cannot
    read are ignored, as on the list.
    """
    outfall_filter = OutfallFilter.from_args(request.args)
    events = changes.recent_changes(outfall_filter, calendar.today(), FEED_LIMIT)
    authority = _tag_authority()
    entries = [_entry(event, authority) for event in events]
    newest = events[0].occurred_at if events else statistics.last_changed()
    body = render_template(
        "public/feed.atom.xml", entries=entries,
        feed_id=f"tag:{authority},{TAG_YEAR}:outfall-changes" + _filter_suffix(outfall_filter),
        updated=_iso(newest or datetime.now(timezone.utc)),
        self_url=external_url("public.feed", **outfall_filter.to_args()),
        list_url=external_url("public.outfall_list", **outfall_filter.to_args()),
    )
    return current_app.response_class(body, mimetype=ATOM_MIMETYPE)


def _entry(event: OutfallEvent, authority: str) -> Entry:
    """An event as a feed entry: a title that says what changed, in words, and the outfall's page."""
    outfall = event.outfall
    if event.kind == "created":
        title = _("%(name)s（%(code)s）录入台账", name=outfall.name, code=outfall.code)
        summary = _("%(town)s的排污口%(code)s录入排污口台账。", town=outfall.town.name, code=outfall.code)
    elif event.field == "rectification_step":
        step = vocab.STEP_KINDS.display(event.new_value)
        title = _("%(name)s：%(step)s", name=outfall.name, step=step)
        summary = _("%(town)s的排污口%(code)s，%(step)s。", town=outfall.town.name, code=outfall.code, step=step)
        if event.reason:
            summary += event.reason
    else:
        field = {"status": _("整治进展"), "stage": _("所处阶段"), "measure": _("整治类型"),
                 "deadline": _("整治时限")}[event.field]
        old, new = _value(event.field, event.old_value), _value(event.field, event.new_value)
        title = _("%(name)s：%(field)s由“%(old)s”改为“%(new)s”", name=outfall.name, field=field, old=old, new=new)
        summary = _("%(town)s的排污口%(code)s，%(field)s：%(old)s → %(new)s。", town=outfall.town.name,
                    code=outfall.code, field=field, old=old, new=new)
    return Entry(
        id=f"tag:{authority},{TAG_YEAR}:outfall-event:{event.id}",
        title=_clean(title), summary=_clean(summary),
        url=external_url("public.outfall_detail", code=outfall.code),
        updated=_iso(event.occurred_at),
    )


def _value(field: str, value: str | None) -> str:
    """A history value as readers say it: a vocabulary label, a date, or （空）."""
    if value is None or value == "":
        return _("空")
    vocabulary = {"status": vocab.PLAN_STATUSES, "stage": vocab.STAGES, "measure": vocab.MEASURES}.get(field)
    if vocabulary:
        return vocabulary.display(value)
    try:
        return format_date(date.fromisoformat(value))
    except ValueError:
        return value


def _iso(moment: datetime) -> str:
    """An RFC 3339 timestamp in the district's time zone: 2026-07-01T10:00:00+08:00."""
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).isoformat(timespec="seconds")


def _tag_authority() -> str:
    """The host name that owns the feed's tag: URIs: the portal's public host (no port)."""
    return (urlsplit(external_url("public.home")).hostname or "localhost").lower()


def _filter_suffix(outfall_filter: OutfallFilter) -> str:
    """Part of a filtered feed's id, so that each filtered feed has an id of its own."""
    args = outfall_filter.to_args()
    if not args:
        return ""
    parts = [f"{key}={value}" for key in sorted(args)
             for value in (args[key] if isinstance(args[key], list) else [args[key]])]
    return ":" + quote("&".join(parts), safe="=&,")


def _clean(text: str) -> str:
    """Text without the control characters XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", text)
