"""Following a report after submission: who may see what, the staff's entries, the reporter's actions.

Two audiences, two views, decided here and nowhere else:

- ``public_view`` is what anyone with the tracking code sees (and what /reports, the map layer and
  the API publish): the category, the status with its **public** timeline entries, the handling town
  and department, the deadlines, the public responses and the "me too" count; the description, an
  approximate position and the photos only once staff have published the report. Never the
  reporter's name, telephone or e-mail, the private link's secret, or a non-public entry.
- ``private_view`` is the reporter's own page, opened by the secret of the private link: everything
  of their report, their contact (unsealed), and which actions are open to them.

A timeline entry is public or not as a whole. What the reporter writes (information added, the
reason for reopening, a rating's comment) is never public: when the reporter reopens a report, the
public sees the status change and not the reason, so the two are separate entries.

Photos: staff review a report before they publish it, so a published report shows only the photos
it had when it was (last) published; a photo the reporter adds later stays private until staff
publish the report again.

The reporter's actions (``add_information``, ``confirm_fixed``, ``reopen``, ``rate``) each queue a
notification to the handling town in the same transaction and commit once. The staff's functions
(``record_status``, ``publish``, ``unpublish``) leave the commit to their caller, which will also
write the staff log.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import departments
from portal.extensions import db
from portal.models import Report, ReportPhoto, ReportUpdate
from portal.models.types import utcnow
from portal.notify.outbox import enqueue_email
from portal.photos import CleanPhoto, PhotoStorage, staged_photos
from portal.registry import queries
from portal.registry.vocabulary import OPEN_REPORT_STATUSES, REPORT_CATEGORIES, REPORT_STATUSES
from portal.reports import privacy
from portal.urls import external_url

# Decimal places of a published report's public position: 0.001° is about 110 m north–south and
# 70 m east–west here, enough to find the river bank, too coarse to point at a house.
PUBLIC_POSITION_DECIMALS = 3
TEXT_MAX_LENGTH = 2000  # information added, a reopening's reason, a rating's comment
KIND_PUBLISHED, KIND_UNPUBLISHED = "published", "unpublished"


class ReportActionRefused(ValueError):
    """The reporter may not do this now; ``str()`` is a message for them, in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Finding a report -------------------------------------------------------------------------------------


def find_by_code(code: str) -> Report | None:
    """The report with this tracking code as people type it (case, spaces, dashes), or None."""
    normalised = privacy.normalise_tracking_code(code or "")
    if not normalised or len(normalised) > 16 or any(c not in privacy.TRACKING_ALPHABET for c in normalised):
        return None
    return db.session.scalar(select(Report).where(Report.tracking_code == normalised))


def find_private(code: str, secret: str) -> Report | None:
    """The report whose private link this is, or None; the secret's digest is compared in constant time."""
    report = find_by_code(code)
    if report is None or not secret:
        return None
    if not hmac.compare_digest(privacy.digest(secret).encode(), report.secret_digest.encode()):
        return None
    return report


def published_reports(page: int = 1, per_page: int = 50):
    """A page of the reports staff have published, newest first (a Flask-SQLAlchemy pagination)."""
    query = (select(Report).where(Report.published.is_(True))
             .options(selectinload(Report.town)).order_by(Report.created_at.desc(), Report.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def located_published_reports() -> list[Report]:
    """Every published report that has a position, with what ``public_view`` reads, loaded up front."""
    query = (select(Report).where(Report.published.is_(True), Report.latitude.is_not(None),
                                  Report.longitude.is_not(None))
             .options(selectinload(Report.town), selectinload(Report.updates), selectinload(Report.photos))
             .order_by(Report.created_at.desc(), Report.id.desc()))
    return list(db.session.scalars(query))


# Staff ------------------------------------------------------------------------------------------------


def record_status(report: Report, status: str | None, text: str | None = None, public: bool = True,
                  author: str = "staff", now: datetime | None = None) -> ReportUpdate:
    """Add a timeline entry: a status change (``status``), a response (``text``), or both; caller commits.

    The first staff entry after submission sets ``responded_at`` (the response time counted against
    the acceptance deadline).
    """
    if status is not None and status not in REPORT_STATUSES:
        raise ValueError(f"unknown report status: {status!r}")
    text = (text or "").strip() or None
    moved = status is not None and status != report.status
    if not moved and text is None:
        raise ValueError("a timeline entry needs a new status or a text")
    now = now or utcnow()
    update = ReportUpdate(occurred_at=now, kind="status" if moved else "response",
                          status=status if moved else None, text=text, public=public, author=author)
    report.updates.append(update)
    if moved:
        report.status = status
    if author == "staff" and report.responded_at is None:
        report.responded_at = now
    return update


def publish(report: Report, now: datetime | None = None) -> None:
    """Show the report on /reports and the map, with its description, rough position and current photos.

    Staff call this after reviewing the report for personal data; caller commits. The entry it writes
    dates the review: photos added after it stay private until the next ``publish``.
    """
    report.published = True
    report.updates.append(ReportUpdate(occurred_at=now or utcnow(), kind=KIND_PUBLISHED, public=False,
                                       author="staff"))


def unpublish(report: Report, now: datetime | None = None) -> None:
    """Take the report off /reports and the map; its tracking page stays, without the details. Caller commits."""
    report.published = False
    report.updates.append(ReportUpdate(occurred_at=now or utcnow(), kind=KIND_UNPUBLISHED, public=False,
                                       author="staff"))


# The reporter -----------------------------------------------------------------------------------------


def add_information(report: Report, text: str | None, photos: Iterable[CleanPhoto] = (), *,
                    storage: PhotoStorage, now: datetime | None = None) -> ReportUpdate:
    """The reporter adds words and/or cleaned photos; private entry, town notified, one commit.

    Photo files are written aside and moved into place only once the database has committed.
    """
    photos = list(photos)
    text = _checked_text(text)
    if text is None and not photos:
        raise ReportActionRefused(_("请填写补充说明，或选择要补充的照片。"))
    now = now or utcnow()
    limit = current_app.config["REPORT_PHOTO_LIMIT"]
    taken = _lock_photo_slots(report, now) if photos else 0
    if taken + len(photos) > limit:
        db.session.rollback()
        raise ReportActionRefused(_("每份举报最多 %(limit)s 张照片，这份举报已有 %(count)s 张。",
                                    limit=limit, count=taken))
    with staged_photos(storage) as batch:
        for slot, photo in enumerate(photos, start=taken + 1):
            report.photos.append(ReportPhoto(
                slot=slot, storage_key=batch.stage(photo.image).key, thumbnail_key=batch.stage(photo.thumbnail).key,
                width=photo.width, height=photo.height, sha256=photo.sha256, added_by="reporter",
                created_at=now))
        update = ReportUpdate(occurred_at=now, kind="reporter_added", text=text, public=False, author="reporter")
        report.updates.append(update)
        lines = [f"补充说明：{text}" if text else "（没有文字说明）"]
        if photos:
            lines.append(f"补充照片：{len(photos)} 张")
        _notify_town(report, "举报人补充了信息", lines)
        try:
            batch.commit_after(db.session.commit)
        except IntegrityError:  # another addition took these slots first (staged files are discarded)
            db.session.rollback()
            raise ReportActionRefused(_("这份举报刚刚同时收到了其他照片，您的补充没有保存。请刷新页面后重新提交。")) from None
    return update


def _lock_photo_slots(report: Report, now: datetime) -> int:
    """Take the report's write lock, then count its photos as committed: the number of slots taken.

    The UPDATE comes first in the transaction, so concurrent additions to one report wait for each
    other (a row lock on PostgreSQL, the write lock on SQLite) and each counts what the one before
    it stored; the unique (report, slot) constraint is the last word should anything slip through.
    """
    db.session.execute(update(Report).where(Report.id == report.id).values(updated_at=now)
                       .execution_options(synchronize_session=False))
    return db.session.scalar(select(func.count()).select_from(ReportPhoto).where(ReportPhoto.report_id == report.id))


def action_deadline(report: Report) -> datetime | None:
    """Until when the reporter may confirm or reopen: REPORT_REOPEN_DAYS after the latest staff
    entry that resolved the report; None if the report is not resolved now."""
    if report.status != "resolved":
        return None
    resolved = [u.occurred_at for u in report.updates if u.author == "staff" and u.status == "resolved"]
    if not resolved:
        return None
    return max(resolved) + timedelta(days=current_app.config["REPORT_REOPEN_DAYS"])


def confirm_fixed(report: Report, now: datetime | None = None) -> ReportUpdate:
    """The reporter confirms the problem is fixed: status "confirmed" (public), town notified, one commit."""
    now = now or utcnow()
    _check_action_window(report, now)
    update = ReportUpdate(occurred_at=now, kind="confirmed", status="confirmed", public=True, author="reporter")
    report.updates.append(update)
    report.status = "confirmed"
    _notify_town(report, "举报人确认问题已解决", [])
    db.session.commit()
    return update


def reopen(report: Report, reason: str, now: datetime | None = None) -> ReportUpdate:
    """The reporter says the problem is not fixed: status "reopened" (public) and the reason (private)."""
    now = now or utcnow()
    reason = _checked_text(reason)
    if reason is None:
        raise ReportActionRefused(_("请说明为什么问题没有解决。"))
    _check_action_window(report, now)
    update = ReportUpdate(occurred_at=now, kind="reopened", status="reopened", public=True, author="reporter")
    report.updates.append(update)
    report.updates.append(ReportUpdate(occurred_at=now, kind="reporter_added", text=reason, public=False,
                                       author="reporter"))
    report.status = "reopened"
    _notify_town(report, "举报人重新打开了举报", [f"理由：{reason}"])
    db.session.commit()
    return update


def rate(report: Report, stars: int, comment: str | None = None, now: datetime | None = None) -> ReportUpdate:
    """The reporter rates the handling, 1–5 stars, once staff have responded; a later rating replaces it."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ReportActionRefused(_("请选择 1 到 5 星。"))
    if report.responded_at is None:
        raise ReportActionRefused(_("承办单位答复后才能评价。"))
    comment = _checked_text(comment)
    now = now or utcnow()
    update = ReportUpdate(occurred_at=now, kind="rated", text=comment, public=False, author="reporter")
    report.updates.append(update)
    report.rating = stars
    _notify_town(report, f"举报人评价：{stars} 星", [f"评价意见：{comment}"] if comment else [])
    db.session.commit()
    return update


def _check_action_window(report: Report, now: datetime) -> None:
    """Refuse confirming or reopening unless the report is resolved and the window is still open."""
    days = current_app.config["REPORT_REOPEN_DAYS"]
    deadline = action_deadline(report)
    if deadline is None:
        raise ReportActionRefused(_("承办单位答复办结后，才能确认问题已解决或重新打开。"))
    if now > deadline:
        raise ReportActionRefused(_("办结答复已超过 %(days)s 天，不能再确认或重新打开这份举报。"
                                    "如果问题仍然存在，请提交新的举报。", days=days))


def _checked_text(text: str | None) -> str | None:
    """Text the reporter typed, trimmed; None if blank; refused if too long."""
    text = (text or "").strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ReportActionRefused(_("文字太长：最多 %(limit)s 个字。", limit=TEXT_MAX_LENGTH))
    return text or None


# Notifications ----------------------------------------------------------------------------------------


def notification_recipients(report: Report) -> list[str]:
    """Who hears about this report: REPORT_NOTIFY_EMAILS of its town, then of "*" (every report), once each."""
    table = current_app.config["REPORT_NOTIFY_EMAILS"]
    keys = ([report.town.name] if report.town is not None else []) + ["*"]
    recipients: list[str] = []
    for key in keys:
        for address in table.get(key) or ():
            if address not in recipients:
                recipients.append(address)
    return recipients


def _notify_town(report: Report, what: str, lines: list[str]) -> None:
    """Queue an e-mail about a reporter's action to the handling town (in the caller's transaction).

    The e-mail names the report and what happened, never the reporter's contact details.
    """
    town = report.town.name if report.town is not None else current_app.config["DISTRICT_NAME"]
    body = "\n".join([
        f"举报 {report.tracking_code}（{REPORT_CATEGORIES.label(report.category)}）：{what}。",
        "",
        *lines,
        "",
        f"承办：{town}{'，' + report.department.name if report.department else ''}",
        f"当前状态：{REPORT_STATUSES.label(report.status)}",
        f"公开查询页：{public_url(report)}",
    ])
    subject = f"举报 {report.tracking_code}：{what}"
    for address in notification_recipients(report):
        enqueue_email(address, subject, body, topic=f"report:{report.tracking_code}")


def public_url(report: Report) -> str:
    """The absolute address of the report's public tracking page, as the public reaches it."""
    return external_url("reports.track", code=report.tracking_code)


# What each audience sees ------------------------------------------------------------------------------


def public_view(report: Report, today: date | None = None) -> dict:
    """What anyone may see of a report; nothing personal (see the module docstring)."""
    today = today or queries.today()
    public_updates = [u for u in report.updates if u.public]
    view = {
        "tracking_code": report.tracking_code,
        "category": report.category,
        "category_label": REPORT_CATEGORIES.display(report.category),
        "status": report.status,
        "status_label": REPORT_STATUSES.display(report.status),
        "is_open": report.status in OPEN_REPORT_STATUSES,
        "submitted_at": report.created_at,
        "town": report.town.name if report.town is not None else None,
        "department": departments.display(report.department),
        "accept_due": report.accept_due,
        "finish_due": report.finish_due,
        "accept_overdue": _overdue(report.accept_due, today) and report.status == "submitted",
        "finish_overdue": (_overdue(report.finish_due, today) and report.status in OPEN_REPORT_STATUSES
                           and report.status != "submitted"),
        "timeline": [_entry(u) for u in public_updates],
        "responses": [_entry(u) for u in public_updates if u.author == "staff" and u.text],
        "me_too_count": report.me_too_count,
        "published": bool(report.published),
        "description": None,
        "position": None,
        "photos": [],
    }
    if report.published:
        view["description"] = report.description
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
        "timeline": [_entry(u) for u in report.updates],
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
    """The photos anyone may see: none unless published; else those the report had when it was last published.

    A report marked published without a ``publish`` entry (e.g. demo data) shows all its photos.
    """
    if not report.published:
        return []
    published = [u.occurred_at for u in report.updates if u.kind == KIND_PUBLISHED]
    if not published:
        return list(report.photos)
    reviewed = max(published)
    return [p for p in report.photos if p.created_at is not None and p.created_at <= reviewed]


def photo_of(report: Report, photo_id: int, *, private: bool) -> ReportPhoto | None:
    """One of the report's photos if this audience may see it: the reporter all, the public the public ones."""
    photos = report.photos if private else public_photos(report)
    return next((p for p in photos if p.id == photo_id), None)


def _overdue(due: date | None, today: date) -> bool:
    return due is not None and today > due


def _entry(update: ReportUpdate) -> dict:
    """One timeline entry as the pages show it."""
    return {
        "occurred_at": update.occurred_at,
        "kind": update.kind,
        "status": update.status,
        "status_label": REPORT_STATUSES.display(update.status) if update.status else None,
        "text": update.text,
        "author": update.author,
        "public": update.public,
    }


def _photo(photo: ReportPhoto) -> dict:
    return {"id": photo.id, "width": photo.width, "height": photo.height, "added_by": photo.added_by,
            "created_at": photo.created_at}
