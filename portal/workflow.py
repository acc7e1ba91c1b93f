"""The report workflow as a table: the steps, the statuses each starts from, and who may take it.

received (submitted) → accepted (受理) or rejected (不予受理, with a reason) → assigned → in progress →
answered (resolved, 办结) → closed. The reporter may confirm an answer or reopen it within
REPORT_REOPEN_DAYS; a reopened report comes back to the handlers' queue. A duplicate is merged into
the report it repeats. Steps that change no status (extend, transfer, note, publish …) are here too,
so that one table says which roles may do what: ``portal.access`` reads it and nothing else does.
"""
from __future__ import annotations

from dataclasses import dataclass

from portal.registry.vocabulary import OPEN_REPORT_STATUSES, Term, Vocabulary

HANDLERS = frozenset({"admin", "town", "department", "chief"})
SUPERVISORS = frozenset({"admin", "town"})  # the bureau and the town that answers for its territory
EVERY_STATUS = frozenset({"submitted", "accepted", "rejected", "assigned", "in_progress", "resolved", "confirmed",
                          "reopened", "closed", "merged"})
BEING_HANDLED = frozenset({"accepted", "assigned", "in_progress", "reopened"})


@dataclass(frozen=True)
class Step:
    """One thing staff (or the reporter) may do to a report."""

    name: str
    sources: frozenset[str]  # the statuses the report may be in
    target: str | None  # the status it moves to; None: it stays
    roles: frozenset[str]  # who may take it ("reporter" for the reporter's own actions)
    needs_reason: bool = False  # refused without a reason (recorded, and told where public)


STEPS: dict[str, Step] = {step.name: step for step in (
    Step("accept", frozenset({"submitted"}), "accepted", HANDLERS),
    Step("reject", frozenset({"submitted"}), "rejected", HANDLERS, needs_reason=True),
    Step("assign", frozenset({"accepted", "assigned", "in_progress", "reopened"}), "assigned", SUPERVISORS | {"chief"}),
    Step("start", frozenset({"accepted", "assigned", "reopened"}), "in_progress", HANDLERS),
    Step("answer", BEING_HANDLED, "resolved", HANDLERS),
    Step("close", frozenset({"resolved", "confirmed", "rejected"}), "closed", SUPERVISORS),
    Step("merge", OPEN_REPORT_STATUSES, "merged", SUPERVISORS, needs_reason=True),
    Step("extend", BEING_HANDLED, None, SUPERVISORS, needs_reason=True),
    Step("transfer", OPEN_REPORT_STATUSES, None, HANDLERS, needs_reason=True),
    Step("note", EVERY_STATUS, None, HANDLERS),
    Step("moderate", EVERY_STATUS, None, SUPERVISORS),
    Step("view_contact", EVERY_STATUS, None, HANDLERS, needs_reason=True),
    Step("confirm", frozenset({"resolved"}), "confirmed", frozenset({"reporter"})),
    Step("reopen", frozenset({"resolved"}), "reopened", frozenset({"reporter"}), needs_reason=True),
)}

# Why a report is not accepted (DOMAIN.md §4); a duplicate is merged instead.
REJECTION_REASONS = Vocabulary("rejection reason", [
    Term("outside_remit", "不属于本区生态环境部门职责范围", "Outside the remit of the district's departments"),
    Term("before_court", "已由法院、仲裁机构受理", "Already before a court or arbitration"),
    Term("duplicate", "重复举报，已在办理", "A duplicate of a report already being handled"),
    Term("not_verifiable", "信息不足，无法核实", "Not enough information to verify"),
])

# Timeline entry kinds and what the public timeline calls them.
ENTRY_KINDS = ("status", "response", "answer", "note", "reporter_added", "confirmed", "reopened", "rated", "published",
               "unpublished", "extended", "transferred", "assigned", "merged", "escalated", "moderated")


def step(name: str) -> Step:
    """The step called ``name``; KeyError for a name the table does not know."""
    return STEPS[name]


def allowed_from(name: str, status: str) -> bool:
    """Whether the step may be taken from this status."""
    return status in STEPS[name].sources


def steps_open(status: str, role: str) -> list[Step]:
    """The steps a role may take on a report in this status, in table order."""
    return [s for s in STEPS.values() if status in s.sources and role in s.roles]
