"""The stage follows from the data (DOMAIN.md §1), and a move of the stage is in the outfall's history with why."""
from __future__ import annotations

from datetime import date

from factories import make_outfall, make_party, make_plan, make_sample
from portal.extensions import db
from portal.registry import stages


def test_an_outfall_found_and_nothing_more_is_in_the_survey(app):
    outfall = make_outfall(plan=None)
    assert stages.derive_stage(outfall) == "survey"


def test_samples_put_it_in_monitoring_and_a_party_found_by_the_chain_in_tracing(app):
    outfall = make_outfall(plan=None)
    make_sample(outfall)
    db.session.refresh(outfall)
    assert stages.derive_stage(outfall) == "monitoring"
    outfall.responsible_party, outfall.party_basis = make_party("呼中镇某加工厂"), "user"
    assert stages.derive_stage(outfall) == "tracing"


def test_the_town_government_by_default_is_not_a_party_traced(app):
    outfall = make_outfall(plan=None, party=make_party("呼中镇人民政府", kind="government"), party_basis="default")
    assert stages.derive_stage(outfall) == "survey"


def test_a_measure_to_carry_out_is_rectification_until_verified_and_keep_is_standardisation(app):
    outfall = make_outfall(plan={"measure": "merge", "status": "completed"})
    assert stages.derive_stage(outfall) == "rectification"  # completed, but nobody has checked it yet
    outfall.plan.verified_on = outfall.plan.completed_on = None
    outfall.plan.status = "closed"
    assert stages.derive_stage(outfall) == "standardisation"
    kept = make_outfall(plan={"measure": "keep"})
    assert stages.derive_stage(kept) == "standardisation"


def test_a_measure_only_classified_is_not_rectification_until_a_deadline_is_set_or_work_begins(app):
    outfall = make_outfall(plan={"measure": "standardise", "status": "not_started", "deadline": None},
                           party=make_party("呼中镇某加工厂"), party_basis="applicant")
    assert stages.derive_stage(outfall) == "tracing"
    outfall.plan.deadline = date(2026, 8, 20)
    assert stages.derive_stage(outfall) == "rectification"
    outfall.plan.deadline, outfall.plan.status = None, "in_progress"
    assert stages.derive_stage(outfall) == "rectification"


def test_every_unit_must_be_verified_before_the_outfall_moves_on(app):
    outfall = make_outfall(plan={"measure": "keep"})
    make_plan(outfall, measure="standardise", status="in_progress")
    assert stages.derive_stage(outfall) == "rectification"


def test_refresh_moves_the_stage_with_an_event_that_says_why_and_stays_quiet_otherwise(app):
    outfall = make_outfall(stage="survey", plan={"measure": "ban", "deadline": date(2026, 6, 30)})
    assert stages.refresh_stage(outfall, "测试") is True
    assert outfall.stage == "rectification"
    event = [e for e in outfall.events if e.field == "stage"][-1]
    assert (event.old_value, event.new_value, event.source) == ("survey", "rectification", "测试")
    assert event.reason == "有尚未验收的整治要求"
    assert stages.refresh_stage(outfall, "测试") is False
    assert len([e for e in outfall.events if e.field == "stage"]) == 1
