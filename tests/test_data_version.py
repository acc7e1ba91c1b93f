"""Every commit that changes published data raises its scope's version; other commits do not."""
from sqlalchemy import update

from factories import make_outfall, make_report
from portal import data_version
from portal.extensions import db
from portal.models import Outfall, Report
from portal.notify.outbox import enqueue_email


def test_a_change_to_the_registry_raises_only_its_version(app):
    make_outfall()
    db.session.commit()
    registry, reports = data_version.numbers()
    outfall = db.session.scalars(db.select(Outfall)).one()
    outfall.name = "新名称"
    db.session.commit()
    assert data_version.numbers() == (registry + 1, reports)


def test_a_report_raises_the_reports_version(app):
    make_outfall()
    db.session.commit()
    registry, reports = data_version.numbers()
    make_report()
    db.session.commit()
    assert data_version.numbers() == (registry, reports + 1)


def test_a_bulk_statement_counts_as_a_change(app):
    make_outfall()
    db.session.commit()
    before = data_version.numbers(["registry"])
    db.session.execute(update(Outfall).values(note="批量更新"))
    db.session.commit()
    assert data_version.numbers(["registry"]) == (before[0] + 1,)


def test_a_rolled_back_change_and_a_commit_of_nothing_public_leave_versions_alone(app):
    make_outfall()
    db.session.commit()
    before = data_version.numbers()
    outfall = db.session.scalars(db.select(Outfall)).one()
    outfall.name = "不会保存"
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    enqueue_email("clerk@example.org", "主题", "正文")  # the outbox publishes nothing
    db.session.commit()
    assert data_version.numbers() == before


def test_last_changed_is_the_time_of_the_latest_change(app):
    make_outfall()
    db.session.commit()
    first = data_version.last_changed(["registry"])
    make_report()
    db.session.commit()
    assert data_version.last_changed() >= first


def test_a_remembered_value_is_kept_until_its_scope_changes_and_never_for_an_uncommitted_change(app):
    computed = []

    def count():
        computed.append(1)
        return db.session.scalar(db.select(db.func.count()).select_from(Report))

    def remembered():
        return data_version.remembered("test.reports", (data_version.REPORTS,), "all", count)

    make_outfall()
    db.session.commit()
    assert (remembered(), remembered()) == (0, 0) and len(computed) == 1  # counted once while nothing changes

    make_outfall(code="HZ-OTHER")  # the registry changes, the reports do not: still kept
    db.session.commit()
    assert remembered() == 0 and len(computed) == 1

    make_report()
    db.session.flush()  # inside the transaction that adds it: counted, and not kept for anyone else
    assert remembered() == 1 and len(computed) == 2
    db.session.rollback()
    assert remembered() == 0 and len(computed) == 2

    make_report()
    db.session.commit()  # committed: the next reader counts it
    assert (remembered(), remembered()) == (1, 1) and len(computed) == 3
