"""Staff operations on a report: each writes exactly one audit entry, in the same transaction as its
change (rolled back together), and refuses what the workflow does not allow."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from factories import make_report, make_town
from portal.db import transaction
from portal.extensions import db
from portal.models import Account, AuditEntry, Department, Report
from portal.photos import inspect_and_clean, storage_for
from portal.reports import operations
from portal.reports.operations import StepRefused


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def staff(app):
    town = make_town("呼中镇")
    other = make_town("碧水镇")
    admin = Account(username="bureau", role="admin", password_hash="x", active=True)
    db.session.add(admin)
    db.session.commit()
    return {"admin": admin, "town": town, "other": other}


def fresh(staff, **fields) -> Report:
    report = make_report(town=staff["town"], email="r@example.cn", **fields)[0]
    db.session.commit()
    return report


def operations_to_try(staff, app):
    """Each staff operation, with the status it needs first; run one at a time on a fresh report."""
    admin = staff["admin"]
    storage = storage_for(app)
    housing = db.session.get(Department, "housing")
    return {
        "accept": (None, lambda r: operations.accept(admin, r)),
        "reject": (None, lambda r: operations.reject(admin, r, "outside_remit")),
        "assign": ("accept", lambda r: operations.assign(admin, r, department=housing)),
        "start": ("accept", lambda r: operations.start(admin, r)),
        "answer": ("accept", lambda r: operations.answer(admin, r, "<p>已封堵</p>", [inspect_and_clean(jpeg())],
                                                         storage=storage)),
        "close": (("accept", "answer"), lambda r: operations.close(admin, r)),
        "extend": ("accept", lambda r: operations.extend(admin, r, 10, "等待监测")),
        "transfer": (None, lambda r: operations.transfer(admin, r, "位置在碧水镇", town=db.session.merge(staff["other"]))),
        "merge": (None, lambda r: operations.merge(admin, r, fresh(staff))),
        "note": (None, lambda r: operations.add_note(admin, r, "已电话联系")),
        "publish": (None, lambda r: operations.publish(r, actor=admin)),
        "unpublish": (None, lambda r: operations.unpublish(r, actor=admin)),
        "redact": (None, lambda r: operations.redact_description(admin, r, "河边有管子排污。")),
        "contact": (None, lambda r: operations.view_contact(admin, r, "核实")),
    }


def test_every_operation_writes_exactly_one_audit_entry(app, staff):
    table = operations_to_try(staff, app)
    for name, (first, run) in table.items():
        report = fresh(staff)
        for before_it in (first,) if isinstance(first, str) else first or ():
            with transaction():
                table[before_it][1](report)
        before = entries()
        with transaction():
            run(report)
        assert entries() == before + 1, name


def test_the_entry_is_rolled_back_with_the_change(app, staff):
    report = fresh(staff)
    before = entries()
    with pytest.raises(RuntimeError):
        with transaction():
            operations.accept(staff["admin"], report)
            raise RuntimeError("the request failed after the step")
    db.session.expire_all()
    assert entries() == before and db.session.get(Report, report.id).status == "submitted"


def test_a_refused_step_writes_nothing(app, staff):
    report = fresh(staff)
    before = entries()
    with pytest.raises(StepRefused):
        with transaction():
            operations.close(staff["admin"], report)  # not answered yet
    with pytest.raises(StepRefused):
        with transaction():
            operations.extend(staff["admin"], report, 10, "x")  # not accepted yet
    assert entries() == before


def test_an_answers_photos_are_in_place_only_after_the_commit(app, staff):
    report = fresh(staff)
    with transaction():
        operations.accept(staff["admin"], report)
    storage = storage_for(app)
    with pytest.raises(RuntimeError):
        with transaction():
            operations.answer(staff["admin"], report, "已处理", [inspect_and_clean(jpeg())], storage=storage)
            raise RuntimeError("later failure")
    assert not any(storage.root.rglob("*.jpg"))  # neither in place nor left staged
    with transaction():
        operations.answer(staff["admin"], db.session.get(Report, report.id), "已处理", [inspect_and_clean(jpeg())],
                          storage=storage)
    photo = db.session.get(Report, report.id).photos[-1]
    assert photo.added_by == "staff" and storage.open(photo.storage_key)


def test_a_blurred_photo_is_served_in_public_from_its_copy_and_the_original_is_kept(app, staff):
    from portal.reports import visibility

    report = fresh(staff)
    storage = storage_for(app)
    with transaction():
        operations.accept(staff["admin"], report)
        operations.answer(staff["admin"], report, "已处理", [inspect_and_clean(jpeg())], storage=storage)
    photo = report.photos[-1]
    original = storage.open(photo.storage_key)
    with transaction():
        operations.moderate_photo(staff["admin"], report, photo, "blur", storage=storage)
        operations.publish(report, actor=staff["admin"])
    image, _thumb = visibility.served_keys(photo, private=False)
    assert image == photo.public_key and image != photo.storage_key
    assert storage.open(photo.storage_key) == original
    with transaction():
        operations.moderate_photo(staff["admin"], report, photo, "hide", storage=storage)
    assert photo not in visibility.public_photos(report)
