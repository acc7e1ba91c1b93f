"""Which of the programme's five stages an outfall is in follows from its data, never from a status alone.

The rule (DOMAIN.md §1: 断面布设/排查 → 监测 → 溯源 → 整治 → 规范化建设), the furthest stage the
outfall's records show it has reached:

1. survey (排查): the outfall is found, coded and in the ledger, and nothing more is recorded;
2. monitoring (监测): its effluent has been sampled (at least one result at the outfall);
3. tracing (溯源): the party that answers for it is identified by the seed's chain — the unit that
   applied for it, the unit actually using it, the town government or the party it names — that is,
   by any basis other than the default (the town government standing in while nobody is known);
4. rectification (整治): a plan requires a measure other than keep (ban, merge, standardise), has been
   issued — it has a deadline, or the work has begun — and its rectification is not yet verified (a
   measure the survey merely classified, with no deadline and nothing done, is not rectification yet);
5. standardisation (规范化建设): every plan is verified or closed out (销号), or needs no rectification
   (keep): the outfall is standardised and keeps its archive.

``refresh_stage`` is what every writer (rectification steps, the ledger and sample imports, the demo)
calls after changing those records; it writes an ``OutfallEvent`` whenever the stage moves, with the
reason, so the public timeline shows why.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from portal.models import Account, Outfall, OutfallEvent
from portal.models.types import utcnow
from portal.registry import vocabulary as vocab


@dataclass(frozen=True)
class PlanFacts:
    """What the stage rule reads of one rectification plan."""

    measure: str | None
    status: str | None
    verified_on: object = None
    deadline: object = None

    @property
    def is_issued(self) -> bool:
        """Whether the plan is a requirement under way: a deadline set, or work begun."""
        return self.deadline is not None or (self.status not in (None, "not_started")) or self.is_verified

    @property
    def is_verified(self) -> bool:
        """Whether the plan's rectification has been verified (or closed out, which needs verification)."""
        return self.verified_on is not None or self.status == "closed"


def stage_from(*, has_samples: bool, has_party: bool, party_basis: str | None,
               plans: Iterable[PlanFacts]) -> str:
    """The stage the facts show (see the module docstring); the one rule the importer and the models share."""
    plans = [p for p in plans if p.measure]
    rectifying = [p for p in plans if p.measure != "keep" and p.is_issued]
    if plans and all(p.measure == "keep" or p.is_verified for p in plans):
        return "standardisation"
    if any(not p.is_verified for p in rectifying):
        return "rectification"
    if has_party and party_basis != "default":
        return "tracing"
    if has_samples:
        return "monitoring"
    return "survey"


def derive_stage(outfall: Outfall) -> str:
    """The stage an outfall's data show it has reached (module docstring)."""
    return stage_from(
        has_samples=bool(outfall.samples), has_party=outfall.responsible_party is not None,
        party_basis=outfall.party_basis,
        plans=[PlanFacts(p.measure, p.status, p.verified_on, p.effective_deadline) for p in outfall.plans],
    )


def _l(text: str) -> str:
    """Mark a message for the catalogue but keep it in Chinese: history is stored in one language and
    the page translates the kept msgid when it shows it (``gettext(event.reason)``)."""
    return text


# Why the data put an outfall in each stage: the reason its history entry gives.
STAGE_REASONS = {
    "survey": _l("已登记，尚无监测结果、查明的责任主体或整治方案"),
    "monitoring": _l("已有排污口监测结果"),
    "tracing": _l("已查明责任主体"),
    "rectification": _l("有尚未验收的整治要求"),
    "standardisation": _l("整治已验收销号或无需整治，进入规范化建设"),
}


def stage_reason(stage: str) -> str:
    """Why the data put an outfall in this stage, in Chinese (history keeps one language)."""
    return STAGE_REASONS[stage]


def refresh_stage(outfall: Outfall, source: str, actor: Account | None = None) -> bool:
    """Set the outfall's stage from its data; when it moves, note the change and why. True if it moved.

    It does not flush: the event joins the caller's transaction with the change that moved it.
    """
    new = derive_stage(outfall)
    old = outfall.stage
    if new == old:
        return False
    outfall.stage = new
    outfall.events.append(OutfallEvent(
        kind="changed", field="stage", old_value=old, new_value=new, source=source,
        actor_id=actor.id if isinstance(actor, Account) else None, reason=stage_reason(new),
        occurred_at=utcnow(),
    ))
    return True


def stage_label(code: str | None) -> str:
    """A stage's Chinese label, for import summaries."""
    return vocab.STAGES.label(code)


def stage_for_ledger_row(desired: dict, outfall: Outfall | None) -> str:
    """The stage the data show once a ledger row is applied: the row's party and first plan, with the
    outfall's samples and other plans as the registry holds them (the ledger has no samples column)."""
    plan = outfall.plan if outfall is not None else None

    def value(field, current):
        return desired[field] if field in desired else current

    if "party" in desired:
        has_party = bool(desired.get("party"))
    else:
        has_party = outfall is not None and outfall.responsible_party is not None
    facts = [PlanFacts(value("measure", plan.measure if plan else None), value("status", plan.status if plan else None),
                       value("verified_on", plan.verified_on if plan else None),
                       value("transition_ends_on", plan.transition_ends_on if plan else None)
                       or value("deadline", plan.deadline if plan else None))]
    if outfall is not None:
        facts += [PlanFacts(p.measure, p.status, p.verified_on, p.effective_deadline) for p in outfall.plans[1:]]
    return stage_from(has_samples=outfall is not None and bool(outfall.samples), has_party=has_party,
                      party_basis=value("party_basis", outfall.party_basis if outfall is not None else None),
                      plans=facts)
