"""`portal seed-scale`: the invented province-scale dataset, at a small size."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import MonitoringSample, Outfall, RectificationPlan, Report, ReportUpdate, ResponsibleParty, Town
from portal.registry import plan_summary, stages
from portal.registry.vocabulary import REPORT_STATUSES
from portal.reports import privacy
from portal import calendar

OUTFALLS, REPORTS = 300, 2000


def seed(runner, *extra):
    return runner.invoke(args=["seed-scale", "--outfalls", str(OUTFALLS), "--reports", str(REPORTS), *extra])


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_scale_fills_every_table_marked_invented(runner):
    result = seed(runner)
    assert result.exit_code == 0, result.output
    assert "虚构" in result.output
    assert count(Outfall) == OUTFALLS and count(RectificationPlan) == OUTFALLS and count(Report) == REPORTS
    assert count(Town) >= 300
    # Everything says it is invented.
    assert count(Outfall, Outfall.is_demo.is_(False)) == 0
    assert count(Outfall, Outfall.code.not_like("SCALE-%")) == 0
    assert count(Town, Town.is_demo.is_(False)) == 0
    # Every report status occurs, each report has a timeline, codes and digests are distinct.
    statuses = set(db.session.scalars(select(Report.status).distinct()))
    assert statuses == set(REPORT_STATUSES.codes())
    assert count(Report, ~Report.id.in_(select(ReportUpdate.report_id))) == 0
    assert db.session.scalar(select(func.count(func.distinct(Report.tracking_code)))) == REPORTS
    assert db.session.scalar(select(func.count(func.distinct(Report.secret_digest)))) == REPORTS
    # Published reports have positions; some reporters left a contact, sealed and readable with the key.
    assert count(Report, Report.published.is_(True)) > 0
    assert count(Report, Report.published.is_(True), Report.latitude.is_(None)) == 0
    sealed = db.session.scalars(select(Report).where(Report.reporter_phone_sealed.is_not(None)).limit(5)).all()
    assert sealed and all(privacy.unseal(r.reporter_phone_sealed).startswith("139") for r in sealed)
    assert all(not r.anonymous for r in sealed)
    # Some responsible parties are persons; plans are overdue, on time and done.
    assert count(ResponsibleParty, ResponsibleParty.kind == "person") > 0
    today = calendar.today()
    assert count(Outfall, plan_summary.overdue_condition(today)) > 0
    assert count(Outfall, Outfall.open_due_on >= today) > 0
    assert count(RectificationPlan, RectificationPlan.status.in_(["completed", "closed"])) > 0
    assert count(MonitoringSample) > 0 and count(MonitoringSample, MonitoringSample.limit_id.is_not(None)) > 0
    # The summary columns were computed, and each stored stage is the one its data show.
    assert count(Outfall, Outfall.main_plan_id.is_(None)) == 0
    for outfall in db.session.scalars(select(Outfall).order_by(Outfall.id).limit(40)):
        assert outfall.stage == stages.derive_stage(outfall), outfall.code


def test_the_public_pages_render_on_the_scale_data(runner, client):
    assert seed(runner).exit_code == 0
    town = db.session.scalar(select(Town).order_by(Town.id))
    outfall = db.session.scalar(select(Outfall).order_by(Outfall.id))
    report = db.session.scalar(select(Report).where(Report.published.is_(True)).order_by(Report.id))
    for path in ("/", "/outfalls", f"/outfalls?town={town.id}", f"/outfalls/{outfall.code}", "/progress",
                 "/reports", f"/reports/{report.tracking_code}"):
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get(f"/reports/{report.tracking_code}").get_data(as_text=True)
    assert report.tracking_code in page
    # A person's name never appears unmasked on an outfall page.
    person_outfall = db.session.scalar(select(Outfall).join(Outfall.responsible_party)
                                       .where(ResponsibleParty.kind == "person").limit(1))
    text = client.get(f"/outfalls/{person_outfall.code}").get_data(as_text=True)
    assert person_outfall.responsible_party.name not in text


def test_a_database_with_outfalls_is_refused_and_left_unchanged(runner):
    assert seed(runner).exit_code == 0
    again = seed(runner)
    assert again.exit_code == 1
    assert "已有排污口" in again.output
    assert count(Outfall) == OUTFALLS and count(Report) == REPORTS


def test_nonsense_sizes_are_refused_with_a_message(runner):
    result = runner.invoke(args=["seed-scale", "--outfalls", "0", "--reports", "5"])
    assert result.exit_code != 0
    assert count(Outfall) == 0
