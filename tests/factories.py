"""Test data built directly with the models, one small helper per kind of record.

Each helper adds what it builds to ``db.session`` and flushes (so ids exist) but never commits:
the test decides when its data is complete. Places and parties are looked up before they are
created, so calling ``make_town("呼源镇")`` twice gives the same town. Codes and names not given are
made unique from a counter. Everything here is invented test data.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    DischargeStandard,
    MonitoringSample,
    Outfall,
    OutfallEvent,
    RectificationPlan,
    ResponsibleParty,
    StandardisationItem,
    StandardLimit,
    Town,
    WaterBody,
)

BEIJING = timezone(timedelta(hours=8))
_numbers = itertools.count(1)
# Passed as ``plan`` to give an outfall one plan with the defaults below.
DEFAULT_PLAN: dict = {}


def _add(record):
    """Add a record to the session and flush it, so that it has its id."""
    db.session.add(record)
    db.session.flush()
    return record


def make_town(name: str = "呼中镇", **fields) -> Town:
    """The town with this name, created with ``fields`` if it does not exist yet."""
    existing = db.session.scalar(select(Town).where(Town.name == name))
    return existing or _add(Town(name=name, **fields))


def make_water_body(name: str = "呼玛河", **fields) -> WaterBody:
    """The water body with this name, created (a class III river unless told) if it does not exist yet."""
    existing = db.session.scalar(select(WaterBody).where(WaterBody.name == name))
    if existing:
        return existing
    fields.setdefault("kind", "river")
    fields.setdefault("target_class", "III")
    return _add(WaterBody(name=name, **fields))


def make_party(name: str | None = None, kind: str = "organisation") -> ResponsibleParty:
    """The responsible party with this name and kind, created if it does not exist yet."""
    name = name or f"测试单位{next(_numbers)}"
    existing = db.session.scalar(
        select(ResponsibleParty).where(ResponsibleParty.name == name, ResponsibleParty.kind == kind)
    )
    return existing or _add(ResponsibleParty(name=name, kind=kind))


def make_person(name: str = "张立新") -> ResponsibleParty:
    """A natural person as responsible party (a small farm, a household)."""
    return make_party(name, kind="person")


def make_outfall(code: str | None = None, *, town: Town | None = None, water_body: WaterBody | None = None,
                 party: ResponsibleParty | None = None, plan: dict | None = DEFAULT_PLAN,
                 **fields) -> Outfall:
    """An outfall in 呼中镇 on the 呼玛河 with one rectification plan; ``plan=None`` for none.

    ``plan`` is a mapping of RectificationPlan fields (see ``make_plan``); other keyword
    arguments are Outfall fields.
    """
    number = next(_numbers)
    fields.setdefault("name", f"测试排污口{number}")
    fields.setdefault("outfall_type", "other")
    fields.setdefault("stage", "survey")
    record = _add(Outfall(
        code=code or f"HZ-T{number:05d}",
        town=town or make_town(),
        water_body=water_body or make_water_body(),
        responsible_party=party,
        **fields,
    ))
    if plan is not None:
        make_plan(record, **plan)
    return record


def make_plan(outfall: Outfall, **fields) -> RectificationPlan:
    """A rectification plan for an outfall: 规范整治, not started, no deadline unless told."""
    fields.setdefault("measure", "standardise")
    fields.setdefault("status", "not_started")
    record = RectificationPlan(**fields)
    outfall.plans.append(record)
    db.session.flush()
    return record


def limit_for(parameter: str = "COD", code: str = "GB 18918-2002", grade: str = "一级A",
                   condition: str = "") -> StandardLimit:
    """A limit from the reference data the first migration ships (DOMAIN.md §6)."""
    limit = db.session.scalar(
        select(StandardLimit).join(StandardLimit.standard).where(
            DischargeStandard.code == code, DischargeStandard.grade == grade,
            StandardLimit.parameter == parameter, StandardLimit.condition == condition,
        )
    )
    if limit is None:
        raise LookupError(f"no {parameter!r} limit in {code} {grade} ({condition or 'always'})")
    return limit


def make_sample(outfall: Outfall, parameter: str = "COD", value: float = 30.0, *,
                limit: StandardLimit | None = None, sampled_at: datetime | None = None,
                **fields) -> MonitoringSample:
    """A measured value at an outfall; ``limit=None`` means no limit applies to it."""
    fields.setdefault("unit", limit.unit if limit else "mg/L")
    sampled_at = sampled_at or datetime(2026, 6, 1, 9, 0, tzinfo=BEIJING) + timedelta(hours=next(_numbers))
    return _add(MonitoringSample(outfall=outfall, parameter=parameter, value=value, limit=limit,
                                 sampled_at=sampled_at, **fields))


def make_event(outfall: Outfall, kind: str = "changed", field: str | None = None, old: str | None = None,
               new: str | None = None, *, occurred_at: datetime | None = None,
               source: str | None = None) -> OutfallEvent:
    """One entry in an outfall's history."""
    occurred_at = occurred_at or datetime(2026, 7, 1, 10, 0, tzinfo=BEIJING) + timedelta(minutes=next(_numbers))
    return _add(OutfallEvent(outfall=outfall, kind=kind, field=field, old_value=old, new_value=new,
                             occurred_at=occurred_at, source=source))


def make_checklist_item(outfall: Outfall, item: str, done: bool = False,
                        done_on: date | None = None) -> StandardisationItem:
    """One item of an outfall's standardisation checklist (vocabulary.CHECKLIST_ITEMS)."""
    return _add(StandardisationItem(outfall=outfall, item=item, done=done, done_on=done_on))


def make_chief(name: str = "测试河长", *, level: str = "town", water_body: WaterBody | None = None,
               town: Town | None = None, **fields):
    """A river chief on a water body (the 呼玛河 unless told), at a level of vocabulary.CHIEF_LEVELS."""
    from portal.models import RiverChief

    ranks = {"province": 1, "city": 2, "district": 3, "town": 4, "village": 5}
    fields.setdefault("level_rank", ranks[level])
    return _add(RiverChief(name=name, level=level, water_body=water_body or make_water_body(), town=town,
                           **fields))


def make_photo(outfall: Outfall, storage_key: str | None = None, *, kind: str = "before", **fields):
    """A registered photo of an outfall (the row only: the test writes the file if it needs one)."""
    from portal.models import OutfallPhoto

    fields.setdefault("content_type", "image/png")
    fields.setdefault("width", 4)
    fields.setdefault("height", 3)
    fields.setdefault("sha256", "0" * 64)
    return _add(OutfallPhoto(outfall=outfall, kind=kind,
                             storage_key=storage_key or f"test/{next(_numbers):05d}.png", **fields))


_DISTRICT = object()  # passed as ``town`` for a report the district handles itself


def make_report(*, town=None, category: str = "direct_discharge", description: str = "河边有一根管子往河里排灰色污水。",
                name: str | None = None, phone: str | None = None, email: str | None = None,
                anonymous: bool = False, publication_allowed: bool = True, created_at: datetime | None = None,
                latitude: float | None = 52.031234, longitude: float | None = 123.588876, **fields):
    """A submitted citizen report and the secret of its private link: ``(report, secret)``.

    The contact (``name``, ``phone``, ``email``) is sealed as the intake seals it; the report goes to
    呼中镇 and 生态环境局 unless told (``town=_DISTRICT`` for the district), with the submission as
    the first timeline entry and deadlines of 2 and 62 days.
    """
    from portal.models import Report, ReportUpdate
    from portal.reports import privacy

    secret, digest = privacy.new_secret()
    created_at = created_at or datetime(2026, 11, 2, 9, 30, tzinfo=BEIJING) + timedelta(minutes=next(_numbers))
    fields.setdefault("department_code", "eeb")
    fields.setdefault("accept_due", created_at.date() + timedelta(days=2))
    fields.setdefault("finish_due", created_at.date() + timedelta(days=62))
    report = Report(
        tracking_code=privacy.new_tracking_code(), secret_digest=digest, category=category,
        description=description, latitude=latitude, longitude=longitude,
        town=None if town is _DISTRICT else (town or make_town()),
        reporter_name_sealed=privacy.seal(name), reporter_phone_sealed=privacy.seal(phone),
        reporter_email_sealed=privacy.seal(email), anonymous=anonymous,
        publication_allowed=publication_allowed, consent_at=created_at, created_at=created_at, **fields,
    )
    report.updates.append(ReportUpdate(occurred_at=created_at, kind="status", status="submitted", public=True,
                                       author="system"))
    return _add(report), secret
