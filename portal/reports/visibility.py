"""What each audience sees of a report, decided here and nowhere else.

- ``public_view`` is what anyone with the tracking code sees (and what /reports, the map layer and
  the API publish): the category, the status with its **public** timeline entries, the handling town
  and department, the deadlines, the public responses and the "me too" count; the description (as
  redacted by staff), an approximate position and the photos only once staff have published the
  report. Never the reporter's name, telephone or e-mail, the private link's secret, an internal
  note, or any other non-public entry.
- ``private_view`` is the reporter's own page, opened by the secret of the private link: everything
  of their report, their contact (unsealed), and which actions are open to them.

A timeline entry is public or not as a whole. What the reporter writes (information added, the
reason for reopening, a rating's comment) is never public.

Photos: staff review a report before they publish it, so a published report shows only the photos
it had when it was (last) published, never a hidden one, and a redacted one only as its blurred copy.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from markupsafe import Markup

from portal import calendar, departments
from portal.models import Report, ReportPhoto, ReportUpdate
from portal.models.types import utcnow
from portal.registry.vocabulary import OPEN_REPORT_STATUSES, REPORT_CATEGORIES, REPORT_STATUSES
from portal.reports import privacy, rich_text, timeline
from portal.reports.reporter_actions import action_deadline

# Decimal places of a published report's public position: 0.001° is about 110 m north–south and
# 70 m east–west here, enough to find the river bank, too coarse to point at a house.
PUBLIC_POSITION_DECIMALS = 3
KIND_PUBLISHED, KIND_UNPUBLISHED = "published", "unpublished"


def public_description(report: Report) -> str:
    """The description as the public may read it: staff's redacted text when there is one."""
    return report.public_description if report.public_description is not None else report.description


def public_view(report: Report, today: date | None = None) -> dict:
    """What anyone may see of a report; nothing personal (see the module docstring)."""
    today = today or calendar.today()
    public_updates = [u for u in report.updates if u.public]
    view = {
        "tracking_code": report.tracking_code,
        "category": report.category,
        "category_label": REPORT_CATEGORIES.display(report.category),
        "status": report.status,
        "status_label": REPORT_STATUSES.display(report.status),
        "is_open": report.status in OPEN_REPORT_STATUSES,
        "submitted_at": report.created_at,
        "channel": report.channel,
        "town": report.town.name if report.town is not None else None,
        "department": departments.display(report.department),
        "accept_due": report.accept_due,
        "finish_due": report.finish_due,
        "extension_days": report.extension_days,
        "extension_reason": report.extension_reason,
        "merged_into": report.merged_into.tracking_code if report.merged_into is not None else None,
        "accept_overdue": _overdue(report.accept_due, today) and report.status == "submitted",
        "finish_overdue": (_overdue(report.finish_due, today) and report.status in OPEN_REPORT_STATUSES
                           and report.status != "submitted"),
        "timeline": [_entry(u) for u in public_updates],
        "responses": [_entry(u) for u in public_updates if u.author == "staff" and u.text and u.kind in ("response", "answer")],
        "me_too_count": report.me_too_count,
        "published": bool(report.published),
        "description": None,
        "position": None,
        "photos": [],
    }
    if report.published:
        view["description"] = public_description(report)
        if report.latitude is not None and report.longitude is not None:
            view["position"] = (round(report.latitude, PUBLIC_POSITION_DECIMALS),
                                round(report.longitude, PUBLIC_POSITION_DECIMALS))
        view["photos"] = [_photo(p) for p in public_photos(report)]
    return view


def private_view(report: Report, today: date | None = None, now: datetime | None = None) -> dict:
    """Everything the reporter may see of their own report, and which actions are open to them now."""
    now = now or utcnow()
    deadline = action_deadline(report)
    view = public_view(report, today)
    view.update({
        "description": report.description,
        "observed_at": report.observed_at,
        "position": (report.latitude, report.longitude) if report.latitude is not None else None,
        "address_text": report.address_text,
        "photos": [_photo(p) for p in report.photos],
        "public_photo_ids": {p.id for p in public_photos(report)},
        # Their own entries and the public ones, and when staff published the report; never internal notes.
        "timeline": [_entry(u) for u in report.updates
                     if u.public or u.author == "reporter" or u.kind in (KIND_PUBLISHED, KIND_UNPUBLISHED)],
        "contact": {
            "name": privacy.unseal(report.reporter_name_sealed),
            "phone": privacy.unseal(report.reporter_phone_sealed),
            "email": privacy.unseal(report.reporter_email_sealed),
        },
        "anonymous": report.anonymous,
        "publication_allowed": report.publication_allowed,
        "rating": report.rating,
        "action_deadline": deadline,
        "can_confirm_or_reopen": deadline is not None and now <= deadline,
        "can_rate": report.responded_at is not None,
        "photo_room": max(0, current_app.config["REPORT_PHOTO_LIMIT"] - len(report.photos)),
        "photo_max_mb": current_app.config["REPORT_PHOTO_MAX_BYTES"] // (1024 * 1024),
    })
    return view


def public_photos(report: Report) -> list[ReportPhoto]:
    """The photos anyone may see: none unless published; else those the report had when it was last
    published, less the hidden ones.

    A report marked published without a ``publish`` entry (e.g. demo data) shows all its photos.
    """
    if not report.published:
        return []
    published = [u.occurred_at for u in report.updates if u.kind == KIND_PUBLISHED]
    shown = [p for p in report.photos if not p.hidden]
    if not published:
        return shown
    reviewed = max(published)
    return [p for p in shown if p.created_at is not None and p.created_at <= reviewed]


def photo_of(report: Report, photo_id: int, *, private: bool) -> ReportPhoto | None:
    """One of the report's photos if this audience may see it: the reporter all, the public the public ones."""
    photos = report.photos if private else public_photos(report)
    return next((p for p in photos if p.id == photo_id), None)


def served_keys(photo: ReportPhoto, *, private: bool) -> tuple[str, str]:
    """The storage keys of the image and thumbnail this audience is served: the public gets the
    redacted copy when staff made one; the original is kept for the record."""
    if not private and photo.public_key:
        return photo.public_key, photo.public_thumbnail_key
    return photo.storage_key, photo.thumbnail_key


def _overdue(due: date | None, today: date) -> bool:
    return due is not None and today > due


def _entry(update: ReportUpdate) -> dict:
    """One timeline entry as the pages show it; a staff answer (a little rich text) also as
    ``html``, sanitised again on the way out, with ``text`` its plain-text rendering."""
    html = None
    text = timeline.text_of(update)
    if update.kind == "answer" and text:
        html = Markup(rich_text.clean(text, limit=len(text) + 1))
        text = rich_text.to_text(html)
    return {
        "html": html,
        "occurred_at": update.occurred_at,
        "kind": update.kind,
        "status": update.status,
        "status_label": REPORT_STATUSES.display(update.status) if update.status else None,
        "text": text,
        "author": update.author,
        "public": update.public,
    }


def _photo(photo: ReportPhoto) -> dict:
    return {"id": photo.id, "width": photo.width, "height": photo.height, "added_by": photo.added_by,
            "created_at": photo.created_at, "hidden": photo.hidden, "redacted": bool(photo.public_key)}
