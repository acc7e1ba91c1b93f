"""Rectification as dated progress: the steps of a plan, with their photos, feeding the outfall's timeline.

A plan's record is a list of dated steps (vocabulary.STEP_KINDS): progress made (整治进展), the work
completed (整治完成), the bureau's verification (核查验收) and closing-out (销号), or a reopening
(重新整治) when a check finds the work not done. Each step updates the plan's status and dates, writes
an ``OutfallEvent`` (the public timeline and the Atom feed), an audit entry, and moves the stage when
the data say so (``stages.refresh_stage``). Domain code only: it flushes, the caller commits.

The rules, each refused with a message the clerk understands (``Refused``):
- progress: the plan is not finished (a finished one is reopened first); the first moves it to 整治中;
- completed: the plan has started (整治中);
- verified: the work is completed and not yet verified — the bureau's (``verify_rectification``);
- closed_out (销号): verified first — the bureau's; sets the status 已销号 and ``closed_out_on``;
- reopened: a completed, verified or closed plan goes back to 整治中; after verification the bureau's;
- every step is dated by the district's calendar: not in the future, not before the outfall was found
  (or entered), and not before the plan's last step.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import access, audit, calendar
from portal.extensions import db
from portal.models import Account, OutfallEvent, OutfallPhoto, RectificationPlan, RectificationStep
from portal.models.types import utcnow
from portal.photos import PhotoRejected, check_before_decoding, inspect_and_clean, photo_batch, storage_for
from portal.refusal import Refused
from portal.registry import stages
from portal.registry import vocabulary as vocab

MAX_STEP_PHOTOS = 6
STEP_PHOTO_KINDS = ("before", "after")
STEP_FIELD = "rectification_step"  # the OutfallEvent field of a step (changes.PUBLIC_FIELDS)
TEXT_MAX_LENGTH = 2000
BUREAU_STEPS = frozenset({"verified", "closed_out"})
SOURCE = "整治记录"


@dataclass(frozen=True)
class StepPhoto:
    """A photo brought with a step: before or after, the browser's file name (for refusals) and bytes."""

    kind: str
    filename: str
    data: bytes
    caption: str | None = None


def step_action(plan: RectificationPlan, kind: str) -> str:
    """The access action a step needs: the bureau's for verification, closing out and undoing a verification."""
    if kind in BUREAU_STEPS or (kind == "reopened" and (plan.verified_on or plan.status == "closed")):
        return "verify_rectification"
    return "record_rectification"


def allowed_kinds(plan: RectificationPlan) -> list[str]:
    """The steps the plan's state allows next, in vocabulary order (whoever takes them)."""
    return [kind for kind in vocab.STEP_KINDS.codes() if _state_problem(plan, kind) is None]


def _state_problem(plan: RectificationPlan, kind: str):
    """Why the plan's state refuses this step now, or None."""
    status = plan.status
    verified = plan.verified_on is not None or status == "closed"
    if kind == "progress" and status in vocab.DONE_STATUSES:
        return _l("整治已完成，不能再记录进展；如核查发现未整治到位，请先记录“重新整治”。")
    if kind == "completed" and status != "in_progress":
        if status == "not_started":
            return _l("整治尚未开始：请先记录整治进展，再记录整治完成。")
        return _l("整治已记录完成，不能重复记录。")
    if kind == "verified":
        if status != "completed":
            return _l("整治尚未完成：须先记录整治完成，才能核查验收。") if status != "closed" \
                else _l("已销号，不能再核查验收。")
        if verified:
            return _l("已核查验收，不能重复验收。")
    if kind == "closed_out":
        if status == "closed":
            return _l("已经销号。")
        if not verified:
            return _l("须先核查验收，才能销号。")
    if kind == "reopened" and status not in vocab.DONE_STATUSES:
        return _l("整治尚未完成，无需重新整治。")
    return None


def earliest_day(plan: RectificationPlan) -> date:
    """The first day a step of the plan may carry: the day the outfall was found, else entered."""
    outfall = plan.outfall
    if outfall.found_on:
        return outfall.found_on
    created = outfall.created_at or utcnow()
    return calendar.local_date(created)


def record_step(plan: RectificationPlan, kind: str, occurred_on: date | None, text: str,
                actor: Account | str | None, photos: list[StepPhoto] = ()) -> RectificationStep:
    """Record one dated step of a plan (module docstring); ``Refused`` says why one cannot be.

    ``actor`` is the staff account (its access is checked on the outfall), or ``audit.CLI_ACTOR`` /
    None for the command line and the demo.
    """
    if kind not in vocab.STEP_KINDS:
        raise Refused(_l("未知的整治记录类型：%(kind)s", kind=kind))
    outfall = plan.outfall
    if isinstance(actor, Account) and not access.can(actor, step_action(plan, kind), outfall):
        if step_action(plan, kind) == "verify_rectification":
            raise Refused(_l("核查验收、销号和撤销验收由区生态环境局进行，您的账户不能记录“%(step)s”。",
                             step=vocab.STEP_KINDS.display(kind)))
        raise Refused(_l("您的账户不能记录这个排污口的整治情况。"))
    problem = _state_problem(plan, kind)
    if problem is not None:
        raise Refused(problem)
    text = (text or "").strip()
    if kind in ("progress", "reopened") and not text:
        raise Refused(_l("请写明整治进展的内容。") if kind == "progress" else _l("请写明需要重新整治的原因。"))
    if len(text) > TEXT_MAX_LENGTH:
        raise Refused(_l("说明过长（%(n)s 字），最多 %(max)s 字。", n=len(text), max=TEXT_MAX_LENGTH))
    _check_day(plan, occurred_on)
    cleaned = _clean_photos(list(photos))

    before = (plan.status, plan.completed_on, plan.verified_on, plan.closed_out_on)
    step = RectificationStep(kind=kind, occurred_on=occurred_on, text=text,
                             actor_id=actor.id if isinstance(actor, Account) else None)
    plan.steps.append(step)
    _apply(plan, kind, occurred_on)
    db.session.flush()
    if cleaned:
        batch = photo_batch(storage_for(current_app))
        for photo, clean in cleaned:
            outfall.photos.append(OutfallPhoto(
                kind=photo.kind, storage_key=batch.stage(clean.image).key, content_type=clean.content_type,
                width=clean.width, height=clean.height, sha256=clean.sha256, taken_at=clean.taken_at,
                caption=(photo.caption or "").strip()[:200] or None, step_id=step.id,
                uploaded_by_id=actor.id if isinstance(actor, Account) else None, source=SOURCE,
            ))
    actor_id = actor.id if isinstance(actor, Account) else None
    outfall.events.append(OutfallEvent(
        kind="changed", field=STEP_FIELD, old_value=before[0],
        new_value=kind, source=_source(plan), actor_id=actor_id, reason=text or None, occurred_at=utcnow(),
    ))
    stages.refresh_stage(outfall, _source(plan), actor if isinstance(actor, Account) else None)
    audit.record(actor if actor is not None else audit.SYSTEM_ACTOR, "rectification_step", outfall,
                 label=outfall.code, reason=text or None,
                 detail={"plan": plan.id, "step": kind, "on": occurred_on.isoformat(), "photos": len(cleaned),
                         "status": [before[0], plan.status]})
    db.session.flush()
    return step


def _source(plan: RectificationPlan) -> str:
    """What the history names as the change's origin: the rectification record, with the plan's number."""
    plans = plan.outfall.plans
    if len(plans) > 1 and plan in plans:
        return f"{SOURCE}（整治要求 {plans.index(plan) + 1}）"
    return SOURCE


def _check_day(plan: RectificationPlan, day: date | None) -> None:
    """Refuse a step without a date, in the future, before the outfall was found, or before the last step."""
    if day is None:
        raise Refused(_l("请填写日期。"))
    today = calendar.today()
    if day > today:
        raise Refused(_l("日期 %(day)s 在今天（%(today)s）之后：只能记录已经发生的整治情况。",
                         day=day.isoformat(), today=today.isoformat()))
    first = earliest_day(plan)
    if day < first:
        raise Refused(_l("日期 %(day)s 早于排污口发现（登记）的日期 %(first)s。",
                         day=day.isoformat(), first=first.isoformat()))
    last = max((s.occurred_on for s in plan.steps), default=None)
    if last and day < last:
        raise Refused(_l("日期 %(day)s 早于这项整治要求上一条记录的日期 %(last)s：记录须按时间先后填写。",
                         day=day.isoformat(), last=last.isoformat()))


def _clean_photos(photos: list[StepPhoto]) -> list[tuple[StepPhoto, object]]:
    """Check every photo cheaply, then decode and clean them through the one photo pipeline."""
    if len(photos) > MAX_STEP_PHOTOS:
        raise Refused(_l("每条记录最多 %(max)s 张照片，您选择了 %(n)s 张。", max=MAX_STEP_PHOTOS, n=len(photos)))
    config = current_app.config
    for photo in photos:
        if photo.kind not in STEP_PHOTO_KINDS:
            raise Refused(_l("照片“%(name)s”：照片类型应为整治前或整治后。", name=photo.filename))
    cleaned = []
    for check_only in (True, False):
        for number, photo in enumerate(photos, start=1):
            try:
                if check_only:
                    check_before_decoding(photo.data, max_bytes=config["REPORT_PHOTO_MAX_BYTES"])
                else:
                    cleaned.append((photo, inspect_and_clean(photo.data, max_bytes=config["REPORT_PHOTO_MAX_BYTES"],
                                                             zone=config["TIMEZONE"])))
            except PhotoRejected as rejected:
                raise Refused(_l("第 %(n)s 张照片（%(name)s）：%(reason)s", n=number,
                                 name=photo.filename or "—", reason=rejected.message)) from None
    return cleaned


def _apply(plan: RectificationPlan, kind: str, day: date) -> None:
    """What a step does to the plan's status and dates."""
    if kind == "progress" and plan.status == "not_started":
        plan.status = "in_progress"
    elif kind == "completed":
        plan.status, plan.completed_on = "completed", day
    elif kind == "verified":
        plan.verified_on = day
    elif kind == "closed_out":
        plan.status, plan.closed_out_on = "closed", day
        plan.verified_on = plan.verified_on or day
    elif kind == "reopened":
        plan.status = "in_progress"
        plan.completed_on = plan.verified_on = plan.closed_out_on = None
