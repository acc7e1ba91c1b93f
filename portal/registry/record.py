"""What an outfall's record (一口一档) and signboard derive from its rows: stage dates, milestones, chiefs.

Pure functions over an outfall already loaded with its plans, events, checklist and receiving water's
chiefs (``queries.outfall_by_code``); none of them queries the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from portal.models import Outfall, RiverChief
from portal.registry import vocabulary

# Measures after which, once done, the outfall no longer exists: it was removed or merged away.
REMOVING_MEASURES = frozenset({"ban", "merge"})


def _event_field(field: str | None) -> str:
    """The field an event changed, without the ``plan.`` style prefix some sources give it."""
    return (field or "").split(".")[-1]


def stage_dates(outfall: Outfall, zone: tzinfo) -> dict[str, date]:
    """The day the outfall (last) entered each stage it has reached, where the record tells."""
    dates: dict[str, date] = {}
    created = [e for e in outfall.events if e.kind == "created"]
    if outfall.found_on:
        dates["survey"] = outfall.found_on
    elif created:
        dates["survey"] = min(e.occurred_at for e in created).astimezone(zone).date()
    for event in sorted(outfall.events, key=lambda e: e.occurred_at):
        if event.kind == "changed" and _event_field(event.field) == "stage" and event.new_value in vocabulary.STAGES:
            dates[event.new_value] = event.occurred_at.astimezone(zone).date()
    return dates


@dataclass(frozen=True)
class Milestone:
    """A dated step in the outfall's story.

    ``kind`` is found | stage | deadline | transition_end | completed | verified | step | checklist;
    ``subject`` the stage, step kind or checklist item code; ``state`` done | upcoming | overdue, or
    extended for a deadline that passed after a transition period (过渡期) moved the due date on.
    ``text`` is a rectification step's own words.
    """

    day: date
    kind: str
    state: str = "done"
    subject: str | None = None
    plan_number: int | None = None
    text: str | None = None


def milestones(outfall: Outfall, zone: tzinfo, today: date) -> list[Milestone]:
    """The outfall's milestones in date order: found, stages entered, deadlines, completion, checklist."""
    found: list[Milestone] = []
    for code, day in stage_dates(outfall, zone).items():
        found.append(Milestone(day, "found") if code == "survey" else Milestone(day, "stage", subject=code))
    several = len(outfall.plans) > 1
    for number, plan in enumerate(outfall.plans, start=1):
        plan_number = number if several else None
        for day, kind in ((plan.deadline, "deadline"), (plan.transition_ends_on, "transition_end")):
            if day is None:
                continue
            if plan.is_done:
                state = "done"
            elif day >= today:
                state = "upcoming"
            else:
                # Past and unfinished: overdue, unless a transition period moved the due date on.
                state = "overdue" if plan.effective_deadline == day else "extended"
            found.append(Milestone(day, kind, state, plan_number=plan_number))
        if plan.completed_on:
            found.append(Milestone(plan.completed_on, "completed", plan_number=plan_number))
        if plan.verified_on:
            found.append(Milestone(plan.verified_on, "verified", plan_number=plan_number))
        for step in plan.steps:
            # Completion and verification are already there by the plan's dates; the other steps are
            # the dated progress between them (portal.registry.rectification).
            if step.kind not in ("completed", "verified"):
                found.append(Milestone(step.occurred_on, "step", subject=step.kind, plan_number=plan_number,
                                       text=step.text or None))
    for item in outfall.checklist:
        if item.done and item.done_on:
            found.append(Milestone(item.done_on, "checklist", subject=item.item))
    order = {kind: rank for rank, kind in enumerate(
        ("found", "stage", "deadline", "transition_end", "step", "completed", "verified", "checklist"))}
    return sorted(found, key=lambda m: (m.day, order[m.kind]))


def _chief_order(chief: RiverChief) -> tuple[int, int]:
    return chief.level_rank, chief.id


def stretch_chiefs(outfall: Outfall) -> list[RiverChief]:
    """The receiving water's chiefs answerable where this outfall is: the whole river's, and its town's."""
    if outfall.water_body is None:
        return []
    return sorted((c for c in outfall.water_body.chiefs if c.town_id in (None, outfall.town_id)), key=_chief_order)


def town_chief(outfall: Outfall, town_chiefs: list[RiverChief]) -> RiverChief | None:
    """The town river chief a signboard names: the town's chief of the receiving water, else the town's first."""
    if outfall.water_body is not None:
        for chief in sorted(outfall.water_body.chiefs, key=_chief_order):
            if chief.level == "town" and chief.town_id == outfall.town_id:
                return chief
    return town_chiefs[0] if town_chiefs else None


def is_removed(outfall: Outfall) -> bool:
    """Whether the outfall is gone: every plan bans it or merges it away, and the work is done."""
    return bool(outfall.plans) and all(p.measure in REMOVING_MEASURES and p.is_done for p in outfall.plans)
