"""Rectification as dated progress: steps change the plan, feed the timeline, the feed and the stage; bad ones are refused."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import current_app
from PIL import Image

from factories import make_outfall, make_party
from portal import calendar
from portal.db import transaction
from portal.extensions import db
from portal.models import AuditEntry, OutfallPhoto
from portal.photos import storage_for
from portal.refusal import Refused
from portal.registry import rectification
from portal.registry.rectification import StepPhoto, record_step


def jpeg_with_metadata() -> bytes:
    """A small JPEG carrying camera metadata (a maker and a GPS block) that must not survive storage."""
    image = Image.new("RGB", (64, 48), (120, 140, 90))
    exif = Image.Exif()
    exif[0x010F] = "测试相机厂"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 1.0, 50.0), 3: "E", 4: (123.0, 35.0, 20.0)}  # GPS IFD
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def plan(app):
    """A 规范整治 plan of an outfall found 30 days ago, not started."""
    today = calendar.today()
    outfall = make_outfall("HZ-R01", party=make_party("呼中镇林产品加工厂"), party_basis="applicant",
                           found_on=today - timedelta(days=30), stage="tracing",
                           plan={"measure": "standardise", "deadline": today + timedelta(days=30)})
    db.session.commit()
    return outfall.plan


def step(plan, kind, days_ago, text="", photos=()):
    """Record one step dated ``days_ago`` days before today, committed as a view would."""
    with transaction():
        return record_step(plan, kind, calendar.today() - timedelta(days=days_ago), text, None, photos=list(photos))


def test_a_plan_goes_from_progress_to_closed_out_and_each_step_sets_status_dates_stage(plan):
    outfall = plan.outfall
    step(plan, "progress", 20, "已完成管网铺设 200 米。")
    assert plan.status == "in_progress" and outfall.stage == "rectification"
    step(plan, "completed", 10, "雨污分流改造完工。")
    assert plan.status == "completed" and plan.completed_on == calendar.today() - timedelta(days=10)
    step(plan, "verified", 5, "区生态环境局现场核查合格。")
    assert plan.verified_on == calendar.today() - timedelta(days=5) and outfall.stage == "standardisation"
    step(plan, "closed_out", 1, "同意销号。")
    assert plan.status == "closed" and plan.closed_out_on == calendar.today() - timedelta(days=1)
    assert [s.kind for s in plan.steps] == ["progress", "completed", "verified", "closed_out"]
    events = [e for e in outfall.events if e.field == rectification.STEP_FIELD]
    assert {e.reason for e in events} >= {"已完成管网铺设 200 米。", "同意销号。"}
    stage_moves = [(e.old_value, e.new_value) for e in outfall.events if e.field == "stage"]
    assert ("tracing", "rectification") in stage_moves and ("rectification", "standardisation") in stage_moves
    assert db.session.query(AuditEntry).filter_by(action="rectification_step").count() == 4


@pytest.mark.parametrize("kind,message", [
    ("completed", "整治尚未开始"), ("verified", "须先记录整治完成"), ("closed_out", "须先核查验收"),
    ("reopened", "无需重新整治"),
])
def test_a_step_out_of_order_is_refused_with_the_reason(plan, kind, message):
    with pytest.raises(Refused, match=message):
        step(plan, kind, 1, "说明")
    assert plan.steps == [] and plan.status == "not_started"


def test_a_future_date_or_one_before_the_outfall_was_found_is_refused(plan):
    with pytest.raises(Refused, match="在今天.*之后"):
        step(plan, "progress", -1, "明天的事")
    with pytest.raises(Refused, match="早于排污口发现"):
        step(plan, "progress", 31, "发现之前")
    step(plan, "progress", 5, "第一次进展")
    with pytest.raises(Refused, match="早于这项整治要求上一条记录"):
        step(plan, "progress", 6, "倒填日期")
    with pytest.raises(Refused, match="请填写日期"):
        with transaction():
            record_step(plan, "progress", None, "无日期", None)
    with pytest.raises(Refused, match="请写明整治进展"):
        step(plan, "progress", 1, "  ")


def test_reopening_a_completed_plan_clears_its_dates_and_takes_it_back_to_rectification(plan):
    step(plan, "progress", 9, "开工")
    step(plan, "completed", 8, "完工")
    step(plan, "verified", 7, "核查")
    step(plan, "reopened", 2, "复查发现仍有污水直排。")
    assert (plan.status, plan.completed_on, plan.verified_on) == ("in_progress", None, None)
    assert plan.outfall.stage == "rectification"


def test_before_and_after_photos_are_cleaned_and_kept_with_the_step(plan):
    data = jpeg_with_metadata()
    recorded = step(plan, "progress", 3, "封堵前后对比。",
                    photos=[StepPhoto("before", "before.jpg", data), StepPhoto("after", "after.jpg", data)])
    photos = db.session.query(OutfallPhoto).filter_by(step_id=recorded.id).order_by(OutfallPhoto.id).all()
    assert [p.kind for p in photos] == ["before", "after"]
    stored = storage_for(current_app).open(photos[0].storage_key)
    assert stored != data
    cleaned = Image.open(io.BytesIO(stored))
    assert not cleaned.getexif() and b"\xe6\xb5\x8b\xe8\xaf\x95" not in stored  # no maker, no GPS, no text


def test_a_file_that_is_not_a_photo_is_refused_by_name_and_nothing_is_recorded(plan):
    with pytest.raises(Refused, match="第 1 张照片（notes.txt）"):
        step(plan, "progress", 3, "附件", photos=[StepPhoto("after", "notes.txt", b"just some text")])
    assert plan.steps == [] and db.session.query(OutfallPhoto).count() == 0


def test_seven_photos_are_too_many(plan):
    data = jpeg_with_metadata()
    with pytest.raises(Refused, match="最多 6 张"):
        step(plan, "progress", 3, "很多照片", photos=[StepPhoto("after", f"{n}.jpg", data) for n in range(7)])
