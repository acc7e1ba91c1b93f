"""Who may do what: the one access policy of the back office, the CLI and the API.

``can(account, action, obj)`` answers every question; ``visible_reports(account)`` is the same rule
as an SQL condition, so lists and counts show exactly the reports one may open. Object level: a
report outside the account's scope is *not found* for them (404), not forbidden, so that its
existence is not revealed across towns and departments.

Roles: admin (the bureau, district administrator), town (one town's officer), chief (a river chief:
their river and/or town, and reports routed to them on duty), department (one department's
staff), auditor (read-only, everything, never a reporter's contact). Report steps and who may take
them come from ``portal.workflow``.
"""
from __future__ import annotations

from sqlalchemy import false, or_, select, true, union
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import Account, Outfall, Report
from portal import workflow

ROLES = ("admin", "town", "chief", "department", "auditor")
ROLE_LABELS = {"admin": ("区级管理员（生态环境局）", "District administrator (bureau)"),
               "town": ("镇级承办人员", "Town officer"), "chief": ("河长", "River chief"),
               "department": ("部门承办人员", "Department staff"), "auditor": ("审计（只读）", "Auditor (read-only)")}
EVERYONE = frozenset(ROLES)

# Actions not about one report.
GLOBAL_ACTIONS: dict[str, frozenset[str]] = {
    "use_back_office": EVERYONE,
    "view_reports": EVERYONE,
    "export_reports": EVERYONE,  # their visible reports only, never the contact
    "enter_report": workflow.HANDLERS,  # a telephone or walk-in report typed in by staff
    "manage_accounts": frozenset({"admin"}),
    "view_audit": frozenset({"admin", "auditor"}),
    "view_outbox": frozenset({"admin", "auditor"}),
    "retry_outbox": frozenset({"admin"}),
    "manage_calendar": frozenset({"admin"}),
    "manage_reply_templates": frozenset({"admin"}),
    # The registry and its archive (一口一档). Outfall-level actions are checked again on the outfall
    # (OUTFALL_ACTIONS): a town officer or river chief only within their town or river.
    "view_registry": EVERYONE,
    "import_registry": frozenset({"admin"}),  # ledgers, chiefs, waters, sections, photos in bulk
    "import_monitoring": frozenset({"admin"}),  # lab files
    "manage_standards": frozenset({"admin"}),  # add a standard and its limits
}
# Actions on one outfall: the roles that may take them; the scope comes from outfall_in_scope.
OUTFALL_ACTIONS: dict[str, frozenset[str]] = {
    "view": EVERYONE,
    "edit": frozenset({"admin", "town"}),  # the ledger's fields, with a reason
    "set_standard": frozenset({"admin"}),  # the standard and permit that judge its effluent
    "enter_monitoring": frozenset({"admin"}),  # one result typed in
    "record_rectification": frozenset({"admin", "town", "department"}),  # a dated step with photos
    "verify_rectification": frozenset({"admin"}),  # verification and closing out (销号): the bureau
    "upload_files": frozenset({"admin", "town"}),  # photos and documents of the archive
}
# Actions about one report, besides the workflow's steps.
REPORT_READ_ACTIONS = {"view": EVERYONE}


def can(account: Account | None, action: str, obj=None) -> bool:
    """Whether this account may do ``action`` (to ``obj``, a Report, when given)."""
    if account is None or not account.active or account.role not in ROLES:
        return False
    if obj is None:
        roles = GLOBAL_ACTIONS.get(action)
        if roles is None:
            raise KeyError(f"unknown action: {action!r}")
        return account.role in roles
    if isinstance(obj, Report):
        return _can_report(account, action, obj)
    if isinstance(obj, Outfall):
        roles = OUTFALL_ACTIONS.get(action)
        if roles is None:
            raise KeyError(f"unknown action: {action!r}")
        return account.role in roles and outfall_in_scope(account, obj)
    raise TypeError(f"no access rule for {type(obj).__name__}")


def _can_report(account: Account, action: str, report: Report) -> bool:
    if not sees_report(account, report):
        return False
    if action in REPORT_READ_ACTIONS:
        return account.role in REPORT_READ_ACTIONS[action]
    step = workflow.STEPS.get(action)
    if step is None:
        raise KeyError(f"unknown action: {action!r}")
    return account.role in step.roles and report.status in step.sources


def sees_report(account: Account, report: Report) -> bool:
    """Whether the report is inside the account's scope (the Python twin of ``visible_reports``)."""
    role = account.role
    if role in ("admin", "auditor"):
        return True
    if report.assignee_id is not None and report.assignee_id == account.id:
        return True
    if role == "town":
        return account.town_id is not None and report.town_id == account.town_id
    if role == "department":
        return account.department_code is not None and report.department_code == account.department_code
    if role == "chief":
        return ((account.town_id is not None and report.town_id == account.town_id)
                or (account.water_body_id is not None and report.water_body_id == account.water_body_id)
                or (account.chief_id is not None and report.chief_id == account.chief_id))
    return False


def visible_reports(account: Account | None):
    """An SQL condition on Report: the reports this account may see (false for nobody)."""
    if account is None or not account.active or account.role not in ROLES:
        return false()
    role = account.role
    if role in ("admin", "auditor"):
        return true()
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL reads an OR of indexed columns from both indexes at once (BitmapOr).
        return or_(*_scope_branches(Report, account))
    # SQLite does not: an OR of the columns made it read all of a million reports for one town's
    # queue. The ids of each branch, united, are each read from their own index.
    own = aliased(Report, name="visible_report")
    return Report.id.in_(union(*(select(own.id).where(branch) for branch in _scope_branches(own, account))))


def _scope_branches(report, account: Account) -> list:
    """The conditions on ``report`` (the Report entity or an alias) of which one makes a report the
    account's: assigned to them wherever it is, or inside their town, department or river."""
    branches = [report.assignee_id == account.id]
    if account.role == "town":
        if account.town_id is not None:
            branches.append(report.town_id == account.town_id)
    elif account.role == "department":
        if account.department_code:
            branches.append(report.department_code == account.department_code)
    else:  # chief
        branches += [column == value for column, value in ((report.town_id, account.town_id),
                                                             (report.water_body_id, account.water_body_id),
                                                             (report.chief_id, account.chief_id)) if value is not None]
    return branches


def outfall_in_scope(account: Account, outfall: Outfall) -> bool:
    """Whether the outfall is the account's to act on: everything for the bureau, the auditor and
    departments (who act within their duties across the district); one town or river otherwise."""
    role = account.role
    if role in ("admin", "auditor", "department"):
        return True
    if role == "town":
        return account.town_id is not None and outfall.town_id == account.town_id
    if role == "chief":
        return ((account.town_id is not None and outfall.town_id == account.town_id)
                or (account.water_body_id is not None and outfall.water_body_id == account.water_body_id))
    return False


def sees_contact(account: Account | None, report: Report) -> bool:
    """Whether the account may ask to see the reporter's contact (the handlers of this report)."""
    return can(account, "view_contact", report)


def may_take(account: Account | None, step_name: str) -> bool:
    """Whether the account's role may ever take this workflow step (to offer it on lists; each
    report is still checked with ``can``)."""
    return account is not None and account.active and account.role in workflow.STEPS[step_name].roles
