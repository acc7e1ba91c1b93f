"""Report intake, a pipeline of named steps: check photos → locate → route → save → notify.

``receive`` is the one way a report enters: the web form, a telephone report (12345 forwards) or a
walk-in that staff type in, and Open311 all call it, marked with their channel, so every report is
located, routed and told the same way. It adds the report, its timeline entry and its outgoing
messages to the caller's ``portal.db.transaction()`` (the outbox), and its photos move into place
only once that commits: a failed submission leaves no row and no file behind. Nothing is sent
from inside the citizen's request.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal import audit, calendar, memory
from portal.extensions import db
from portal.models import Account, Department, MeToo, Outfall, Report, ReportPhoto, ReportUpdate, Town
from portal.models.types import utcnow
from portal.photos import (
    CleanPhoto,
    PhotoRejected,
    Upload,
    check_before_decoding,
    inspect_and_clean,
    photo_batch,
    storage_for,
)
from portal.registry import vocabulary as vocab
from portal.reports import messages, privacy, timeline
from portal.reports.visibility import PUBLIC_POSITION_DECIMALS
from portal.routing import route_report

# How a report reached the portal (Report.channel); staff enter the telephone and walk-in ones.
# Threads cleaning one request's photos at once (portal.photos lets go of the interpreter while it works).
PHOTO_THREADS = 2
CHANNELS = {"web": ("网站", "Website"), "telephone": ("电话（12345 转办等）", "Telephone (12345 hotline forwards)"),
            "walk_in": ("来访", "Walk-in"), "open311": ("Open311 接口", "Open311 API")}
STAFF_CHANNELS = ("telephone", "walk_in")


@dataclass(frozen=True)
class StagedPhoto:
    """A cleaned photo kept in the staging area for a submission still being written (after a
    preview): its two files' keys and what its database row needs."""

    image_key: str
    thumbnail_key: str
    width: int
    height: int
    sha256: str


@dataclass
class Submission:
    """What the resident sent, already checked field by field by the form."""

    category: str
    description: str
    observed_at: datetime | None = None
    position: tuple[float, float] | None = None  # (lat, lon)
    address: str | None = None
    outfall_code: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    anonymous: bool = False
    publication_allowed: bool = False
    photos: list[CleanPhoto] = field(default_factory=list)
    language: str = "zh"  # the reporter's: "zh" or "en", for the e-mail with their private link
    staged: list[StagedPhoto] = field(default_factory=list)  # photos kept from a preview, before ``photos``


# Distances to other reports are told in steps this coarse (see nearby_open_reports).
NEARBY_DISTANCE_STEP = 50


class SubmissionRefused(ValueError):
    """The submission cannot be accepted as it is; the message says why, in the visitor's language."""


def check_photos(uploads: list[Upload], *, already: int = 0) -> tuple[list[CleanPhoto], list[str]]:
    """Check and clean the photos of one request for a report that already has ``already`` photos;
    every refusal is a message naming the photo.

    The cheap checks come first, so a request cannot buy CPU with many or huge images: the count
    against REPORT_PHOTO_LIMIT before any file is opened, then each file's size, type and declared
    pixel count from its header, and only when every photo has passed those is any decoded.
    """
    config = current_app.config
    limit = config["REPORT_PHOTO_LIMIT"]
    if already + len(uploads) > limit:
        if already:
            return [], [_("每份举报最多 %(limit)s 张照片，这份举报已有 %(count)s 张，您又选择了 %(n)s 张。",
                          limit=limit, count=already, n=len(uploads))]
        return [], [_("每份举报最多 %(limit)s 张照片，您选择了 %(n)s 张。", limit=limit, n=len(uploads))]
    problems = []
    for number, upload in enumerate(uploads, start=1):
        try:
            check_before_decoding(upload.data, max_bytes=config["REPORT_PHOTO_MAX_BYTES"])
        except PhotoRejected as rejected:
            problems.append(_photo_problem(number, upload, rejected))
    if problems:
        return [], problems
    cleaned = []
    for number, (upload, outcome) in enumerate(zip(uploads, _cleaned_side_by_side(
            uploads, max_bytes=config["REPORT_PHOTO_MAX_BYTES"], zone=config["TIMEZONE"])), start=1):
        if isinstance(outcome, PhotoRejected):
            problems.append(_photo_problem(number, upload, outcome))
        else:
            cleaned.append(outcome)
    return ([], problems) if problems else (cleaned, [])


def _cleaned_side_by_side(uploads: list[Upload], *, max_bytes: int, zone: str) -> list:
    """Each upload cleaned (a CleanPhoto) or refused (its PhotoRejected), in order.

    Pillow lets go of the interpreter while it decodes, scales and encodes, so the photos of one
    request are cleaned on as many threads as there are photos (at most PHOTO_THREADS): a report
    with two large photos waits for the slower one, not for both in turn.
    """
    def clean(upload: Upload):
        try:
            return inspect_and_clean(upload.data, max_bytes=max_bytes, zone=zone)
        except PhotoRejected as rejected:
            return rejected

    try:
        if len(uploads) < 2:
            return [clean(upload) for upload in uploads]
        with ThreadPoolExecutor(max_workers=min(len(uploads), PHOTO_THREADS)) as pool:
            return list(pool.map(clean, uploads))
    finally:
        memory.release_freed_memory()  # the decoded pixels' tens of megabytes, back to the system


def _photo_problem(number: int, upload: Upload, rejected: PhotoRejected) -> str:
    """A refusal naming the photo by its place and, when the browser sent one, its file name."""
    if upload.filename:
        return _("第 %(n)s 张照片（%(name)s）：%(reason)s", n=number, name=upload.filename, reason=rejected.message)
    return _("第 %(n)s 张照片：%(reason)s", n=number, reason=rejected.message)


def clean_photos(uploads: list[Upload]) -> list[CleanPhoto]:
    """The cleaned photos of a new report, or a refusal naming the first photo at fault."""
    cleaned, problems = check_photos(uploads)
    if problems:
        raise SubmissionRefused(problems[0])
    return cleaned


def stage_for_later(photos: list[CleanPhoto]) -> list[StagedPhoto]:
    """Keep cleaned photos in the staging area until the resident submits (after a preview or a
    refusal); ``portal sweep-photos`` deletes those never submitted."""
    storage = storage_for(current_app)
    return [StagedPhoto(image_key=storage.stage(photo.image).key, thumbnail_key=storage.stage(photo.thumbnail).key,
                        width=photo.width, height=photo.height, sha256=photo.sha256) for photo in photos]


def still_staged(photos: list[StagedPhoto]) -> list[StagedPhoto]:
    """Those of the kept photos whose files are still in the staging area (not swept meanwhile)."""
    storage = storage_for(current_app)
    kept = []
    for photo in photos:
        try:
            storage.staged(photo.image_key), storage.staged(photo.thumbnail_key)
        except (FileNotFoundError, ValueError):
            continue
        kept.append(photo)
    return kept


def suggestions(photos: list[CleanPhoto]) -> dict:
    """Position and time read from the photos before their metadata was stripped, to offer the resident."""
    gps = next((p.gps for p in photos if p.gps), None)
    taken = next((p.taken_at for p in photos if p.taken_at), None)
    return {"position": gps, "taken_at": taken}


def find_outfall(code: str | None) -> Outfall | None:
    """The registered outfall a report names, by its code or national code."""
    code = (code or "").strip()
    if not code or len(code) > 64 or "\x00" in code:  # no outfall has such a code (and PostgreSQL refuses NUL)
        return None
    return db.session.scalar(select(Outfall).where((Outfall.code == code) | (Outfall.national_code == code)))


def receive(submission: Submission, *, channel: str = "web", actor: Account | None = None,
            now: datetime | None = None) -> tuple[Report, str]:
    """Add a report with its photos and outgoing messages to the caller's transaction; return it
    and the private-link secret. ``actor``: the member of staff who typed it in (audited)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel: {channel!r}")
    now = now or utcnow()
    outfall = find_outfall(submission.outfall_code)
    if submission.outfall_code and outfall is None:
        raise SubmissionRefused(_("找不到编码为“%(code)s”的排污口，请核对编码或改用地图定位。",
                                  code=submission.outfall_code))
    position, source = _locate(submission, outfall)
    if position is None and not (submission.address or "").strip():
        raise SubmissionRefused(_("请告诉我们地点：在地图上点选、使用手机定位、选择排污口，或填写地点描述。"))
    if submission.category not in vocab.REPORT_CATEGORIES:
        raise SubmissionRefused(_("请选择问题类型。"))

    lat, lon = position if position else (None, None)
    routing = route_report(lat, lon, outfall, submission.category, at=now)
    secret, secret_digest = privacy.new_secret()
    anonymous = submission.anonymous
    accept_due = calendar.add_working_days(calendar.local_date(now), current_app.config["REPORT_ACCEPT_WORKING_DAYS"])
    observed = submission.observed_at or suggestions(submission.photos)["taken_at"]
    report = Report(
        tracking_code=_unused_tracking_code(), secret_digest=secret_digest, category=submission.category,
        description=submission.description.strip(), observed_at=observed, latitude=lat, longitude=lon,
        location_source=source, address_text=(submission.address or "").strip() or None, outfall=outfall,
        town_id=routing.town_id, water_body_id=routing.water_body_id, department_code=routing.department,
        chief_id=routing.chief_id, routing_reasons="\n".join(routing.reasons), channel=channel,
        reporter_name_sealed=None if anonymous else privacy.seal(submission.name),
        reporter_phone_sealed=None if anonymous else privacy.seal(submission.phone),
        reporter_email_sealed=None if anonymous else privacy.seal(submission.email),
        reporter_language="en" if submission.language == "en" else "zh",
        anonymous=anonymous, publication_allowed=submission.publication_allowed, consent_at=now,
        status="submitted", accept_due=accept_due,
        # Until acceptance sets it from the acceptance date, the answer is due this long after the
        # acceptance deadline: what the reporter is told on submission.
        finish_due=accept_due + timedelta(days=current_app.config["REPORT_FINISH_DAYS"]),
        created_at=now, updated_at=now,
    )
    report.updates.append(ReportUpdate(kind="status", status="submitted", occurred_at=now, author="system",
                                       params=timeline.params("received")))
    db.session.add(report)
    batch = photo_batch(storage_for(current_app))
    # Photos kept from a preview come first (already staged), then this request's.
    files = [(batch.adopt(kept.image_key), batch.adopt(kept.thumbnail_key), kept) for kept in submission.staged]
    files += [(batch.stage(photo.image), batch.stage(photo.thumbnail), photo) for photo in submission.photos]
    for slot, (image, thumbnail, photo) in enumerate(files, start=1):
        report.photos.append(ReportPhoto(slot=slot, storage_key=image.key, thumbnail_key=thumbnail.key,
                                         width=photo.width, height=photo.height, sha256=photo.sha256,
                                         created_at=now))
    db.session.flush()
    report.town = db.session.get(Town, report.town_id) if report.town_id else None
    report.department = db.session.get(Department, report.department_code) if report.department_code else None
    messages.new_report(report)
    if not anonymous and (submission.email or "").strip():
        messages.private_link(report, secret, submission.email.strip(), submission.language)
    if actor is not None:
        audit.record(actor, "report_entered", report, detail={"channel": channel})
    return report, secret


def _locate(submission: Submission, outfall: Outfall | None):
    """The report's position and where it came from: the resident's pin, the outfall, or a photo."""
    if submission.position:
        return submission.position, "pin"
    if outfall is not None and outfall.latitude is not None:
        return (outfall.latitude, outfall.longitude), "outfall"
    gps = suggestions(submission.photos)["position"]
    if gps:
        return gps, "photo"
    return None, "address"


def _unused_tracking_code() -> str:
    """A tracking code no report has yet (a clash is astronomically rare, but checked)."""
    while True:
        code = privacy.new_tracking_code()
        if db.session.scalar(select(Report.id).where(Report.tracking_code == code)) is None:
            return code


def nearby_open_reports(lat: float, lon: float, *, now: datetime | None = None) -> list[tuple[Report, int]]:
    """Open reports within REPORT_DUPLICATE_METRES of a point from the last REPORT_DUPLICATE_DAYS,
    nearest first, each with its distance in steps of NEARBY_DISTANCE_STEP metres.

    Anyone may ask, about any point, as often as the rate limit allows, and most of these reports
    are unpublished: so everything here is computed from a report's position rounded as published
    ones are (PUBLIC_POSITION_DECIMALS, about 100 m), never from the position itself. Whether a
    report is listed, its distance and its place in the order depend only on its rounded cell, and
    no number of queries locates it better than that cell.
    """
    config = current_app.config
    now = now or utcnow()
    radius = config["REPORT_DUPLICATE_METRES"]
    margin = 10 ** -PUBLIC_POSITION_DECIMALS  # a report's cell centre is up to half of this away from it
    dlat = radius / 111_320 + margin
    dlon = radius / (111_320 * max(math.cos(math.radians(lat)), 0.01)) + margin
    candidates = db.session.scalars(
        select(Report).where(
            Report.status.in_(vocab.OPEN_REPORT_STATUSES),
            Report.created_at >= now - timedelta(days=config["REPORT_DUPLICATE_DAYS"]),
            Report.latitude.between(lat - dlat, lat + dlat), Report.longitude.between(lon - dlon, lon + dlon),
        ).order_by(Report.tracking_code)
    ).all()
    found = []
    for report in candidates:
        cell = (round(report.latitude, PUBLIC_POSITION_DECIMALS), round(report.longitude, PUBLIC_POSITION_DECIMALS))
        distance = _metres(lat, lon, *cell)
        if distance <= radius:
            found.append((report, max(NEARBY_DISTANCE_STEP, round(distance / NEARBY_DISTANCE_STEP) * NEARBY_DISTANCE_STEP)))
    return sorted(found, key=lambda pair: pair[1])  # stable: equal bands stay in tracking-code order


def _metres(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


class AlreadyCounted(Exception):
    """The same visitor's "me too" was counted by a concurrent request (the transaction rolls back)."""


def add_me_too(report: Report, visitor_address: str) -> bool:
    """Count someone else seeing the same problem, once per visitor; True if it is counted now.

    The database decides, so that concurrent requests neither lose a count nor count a visitor
    twice: the row is unique per (report, visitor) and the count is incremented in SQL. When the
    visitor's other request wins the race, the flush fails and ``AlreadyCounted`` is raised.
    """
    digest = privacy.visitor_digest(visitor_address)
    already = db.session.scalar(select(MeToo.id).where(MeToo.report_id == report.id, MeToo.visitor_digest == digest))
    if already:
        return False
    try:
        db.session.add(MeToo(report_id=report.id, visitor_digest=digest))
        db.session.flush()
    except IntegrityError:
        raise AlreadyCounted() from None
    db.session.execute(update(Report).where(Report.id == report.id)
                       .values(me_too_count=Report.me_too_count + 1).execution_options(synchronize_session=False))
    db.session.expire(report, ["me_too_count"])
    return True
