"""The one access policy: role × scope × action, written out here and checked against portal.access,
and the SQL filter agreeing with the object check on every report."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from factories import make_report, make_town, make_water_body
from portal import access
from portal.extensions import db
from portal.models import Account, Report
from portal import workflow

ROLES = ("admin", "town", "chief", "department", "auditor")


@pytest.fixture
def place(app):
    """Two towns, two rivers, and reports spread over them and two departments."""
    towns = make_town("呼中镇"), make_town("碧水镇")
    rivers = make_water_body("呼玛河"), make_water_body("碧水河")
    reports = []
    for town, river, department in itertools.product(towns, rivers, ("eeb", "housing")):
        reports.append(make_report(town=town, water_body=river, department_code=department)[0])
    db.session.commit()
    return {"towns": towns, "rivers": rivers, "reports": reports}


def account(role, **scope) -> Account:
    return Account(id=900 + ROLES.index(role), username=role, role=role, password_hash="x", active=True, **scope)


def accounts(place):
    huzhong, huma = place["towns"][0], place["rivers"][0]
    return {
        "admin": account("admin"), "auditor": account("auditor"),
        "town": account("town", town_id=huzhong.id),
        "chief": account("chief", water_body_id=huma.id),
        "department": account("department", department_code="eeb"),
    }


def in_scope(role, report, place) -> bool:
    """Who answers for what, as the issue says it (written independently of portal.access)."""
    return {"admin": True, "auditor": True,
            "town": report.town_id == place["towns"][0].id,
            "chief": report.water_body_id == place["rivers"][0].id,
            "department": report.department_code == "eeb"}[role]


# Which roles may take each step at all (the workflow table, as the issue describes the work).
STEP_ROLES = {
    "accept": {"admin", "town", "chief", "department"}, "reject": {"admin", "town", "chief", "department"},
    "assign": {"admin", "town", "chief"}, "start": {"admin", "town", "chief", "department"},
    "answer": {"admin", "town", "chief", "department"}, "close": {"admin", "town"},
    "merge": {"admin", "town"}, "extend": {"admin", "town"},
    "transfer": {"admin", "town", "chief", "department"}, "note": {"admin", "town", "chief", "department"},
    "moderate": {"admin", "town"}, "view_contact": {"admin", "town", "chief", "department"},
    "confirm": set(), "reopen": set(),  # the reporter's, through the private link, never staff's
}


def test_the_step_table_covers_every_step():
    assert set(STEP_ROLES) == set(workflow.STEPS)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_every_report_every_action(place, role):
    who = accounts(place)[role]
    for report in place["reports"]:
        visible = in_scope(role, report, place)
        assert access.can(who, "view", report) is visible
        for name, roles in STEP_ROLES.items():
            for status in workflow.EVERY_STATUS:
                report.status = status
                expected = visible and role in roles and status in workflow.STEPS[name].sources
                assert access.can(who, name, report) is expected, (role, name, status, report.town_id)
        report.status = "submitted"


@pytest.mark.parametrize("role", ROLES)
def test_the_sql_filter_agrees_with_the_object_check(place, role):
    who = accounts(place)[role]
    listed = set(db.session.scalars(select(Report.id).where(access.visible_reports(who))))
    assert listed == {r.id for r in place["reports"] if access.can(who, "view", r)}
    assert listed == {r.id for r in place["reports"] if in_scope(role, r, place)}


def test_nobody_inactive_or_unknown_may_do_anything(place):
    report = place["reports"][0]
    ghost = account("admin")
    ghost.active = False
    odd = account("admin")
    odd.role = "mayor"
    for who in (None, ghost, odd):
        assert not access.can(who, "view", report)
        assert not access.can(who, "use_back_office")
        assert db.session.scalars(select(Report.id).where(access.visible_reports(who))).all() == []


def test_an_account_without_its_scope_sees_nothing(place):
    for who in (account("town"), account("department"), account("chief")):
        assert db.session.scalars(select(Report.id).where(access.visible_reports(who))).all() == []
        assert not any(access.can(who, "view", r) for r in place["reports"])


def test_global_actions(place):
    table = {"manage_accounts": {"admin"}, "view_audit": {"admin", "auditor"}, "retry_outbox": {"admin"},
             "view_outbox": {"admin", "auditor"}, "enter_report": {"admin", "town", "chief", "department"},
             "use_back_office": set(ROLES), "view_reports": set(ROLES), "export_reports": set(ROLES)}
    for action, roles in table.items():
        for role, who in accounts(place).items():
            assert access.can(who, action) is (role in roles), (action, role)


def test_an_unknown_action_is_an_error_not_a_yes(place):
    with pytest.raises(KeyError):
        access.can(accounts(place)["admin"], "launch_rockets")
    with pytest.raises(KeyError):
        access.can(accounts(place)["admin"], "launch_rockets", place["reports"][0])
