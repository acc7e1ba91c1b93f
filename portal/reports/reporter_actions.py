"""What the reporter may do on their private page: add information, confirm, reopen, rate.

Each action adds its timeline entries and queues a message to the handlers, and only flushes: the
view commits it with ``portal.db.transaction()``. What the reporter writes is never public; when
they reopen a report, the public sees the status change and not the reason (two entries).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Report, ReportPhoto, ReportUpdate
from portal.models.types import utcnow
from portal.photos import CleanPhoto, PhotoStorage, photo_batch
from portal.refusal import Refused
from portal.reports import messages, timeline

TEXT_MAX_LENGTH = 2000  # information added, a reopening's reason, a rating's comment


class ReportActionRefused(Refused):
    """The reporter may not do this now; ``str()`` is a message for them, in their language."""


def add_information(report: Report, text: str | None, photos: Iterable[CleanPhoto] = (), *,
                    storage: PhotoStorage, now: datetime | None = None) -> ReportUpdate:
    """The reporter adds words and/or cleaned photos: a private entry, the handlers notified.

    Photo files are written aside and moved into place once the caller's transaction commits.
    """
    photos = list(photos)
    text = _checked_text(text)
    if text is None and not photos:
        raise ReportActionRefused(_("请填写补充说明，或选择要补充的照片。"))
    now = now or utcnow()
    limit = current_app.config["REPORT_PHOTO_LIMIT"]
    taken = _lock_photo_slots(report, now) if photos else 0
    if taken + len(photos) > limit:
        raise ReportActionRefused(_("每份举报最多 %(limit)s 张照片，这份举报已有 %(count)s 张。",
                                    limit=limit, count=taken))
    batch = photo_batch(storage)
    for slot, photo in enumerate(photos, start=taken + 1):
        report.photos.append(ReportPhoto(
            slot=slot, storage_key=batch.stage(photo.image).key, thumbnail_key=batch.stage(photo.thumbnail).key,
            width=photo.width, height=photo.height, sha256=photo.sha256, added_by="reporter", created_at=now))
    entry = ReportUpdate(occurred_at=now, kind="reporter_added", text=text, public=False, author="reporter")
    report.updates.append(entry)
    lines = [f"补充说明：{text}" if text else "（没有文字说明）"]
    if photos:
        lines.append(f"补充照片：{len(photos)} 张")
    messages.handlers(report, "举报人补充了信息", lines)
    try:
        db.session.flush()
    except IntegrityError:  # another addition took these slots first (the transaction rolls back)
        raise ReportActionRefused(_("这份举报刚刚同时收到了其他照片，您的补充没有保存。请刷新页面后重新提交。")) from None
    return entry


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
    entry that answered the report; None if the report is not answered now."""
    if report.status != "resolved":
        return None
    resolved = [u.occurred_at for u in report.updates if u.author == "staff" and u.status == "resolved"]
    if not resolved:
        return None
    return max(resolved) + timedelta(days=current_app.config["REPORT_REOPEN_DAYS"])


def confirm_fixed(report: Report, now: datetime | None = None) -> ReportUpdate:
    """The reporter confirms the problem is fixed: status "confirmed" (public), back to the handlers
    to close."""
    now = now or utcnow()
    _check_action_window(report, now)
    entry = ReportUpdate(occurred_at=now, kind="confirmed", status="confirmed", public=True, author="reporter",
                         params=timeline.params("confirmed"))
    report.updates.append(entry)
    report.status = "confirmed"
    messages.handlers(report, "举报人确认问题已解决", [])
    return entry


def reopen(report: Report, reason: str, now: datetime | None = None) -> ReportUpdate:
    """The reporter says the problem is not fixed: status "reopened" (public) and the reason (private);
    the report is back in the handlers' queue."""
    now = now or utcnow()
    reason = _checked_text(reason)
    if reason is None:
        raise ReportActionRefused(_("请说明为什么问题没有解决。"))
    _check_action_window(report, now)
    entry = ReportUpdate(occurred_at=now, kind="reopened", status="reopened", public=True, author="reporter",
                         params=timeline.params("reopened"))
    report.updates.append(entry)
    report.updates.append(ReportUpdate(occurred_at=now, kind="reporter_added", text=reason, public=False,
                                       author="reporter"))
    report.status = "reopened"
    report.closed_at = None
    messages.handlers(report, "举报人重新打开了举报", [f"理由：{reason}"])
    return entry


def rate(report: Report, stars: int, comment: str | None = None, now: datetime | None = None) -> ReportUpdate:
    """The reporter rates the handling, 1–5 stars, once staff have responded; a later rating replaces it."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ReportActionRefused(_("请选择 1 到 5 星。"))
    if report.responded_at is None:
        raise ReportActionRefused(_("承办单位答复后才能评价。"))
    comment = _checked_text(comment)
    now = now or utcnow()
    entry = ReportUpdate(occurred_at=now, kind="rated", text=comment, public=False, author="reporter")
    report.updates.append(entry)
    report.rating = stars
    messages.handlers(report, f"举报人评价：{stars} 星", [f"评价意见：{comment}"] if comment else [])
    return entry


def _check_action_window(report: Report, now: datetime) -> None:
    """Refuse confirming or reopening unless the report is answered and the window is still open."""
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
