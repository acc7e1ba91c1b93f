"""The archive page's rectification part: staff record dated steps with photos; only the bureau verifies and closes out."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from factories import make_outfall, make_party, make_town
from helpers import text_of
from portal import calendar
from portal.extensions import db
from portal.models import OutfallPhoto, RectificationPlan


def jpeg() -> bytes:
    """A small photo with a camera maker in its metadata."""
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 120, 160)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def outfall(app):
    """An outfall of 呼中镇 found 20 days ago with one 规范整治 plan."""
    record = make_outfall("HZ-GY-001", name="呼中镇林产品加工厂排污口", town=make_town("呼中镇"),
                          party=make_party("呼中镇林产品加工厂"), party_basis="applicant",
                          found_on=calendar.today() - timedelta(days=20), stage="tracing")
    db.session.commit()
    return record


def post_step(client, outfall, kind, days_ago=1, text="说明", **files):
    """Submit the next-step form of the outfall's plan."""
    data = {"kind": kind, "occurred_on": (calendar.today() - timedelta(days=days_ago)).isoformat(), "text": text}
    for field, photos in files.items():
        data[field] = [(io.BytesIO(content), name) for name, content in photos]
    return client.post(f"/admin/outfalls/{outfall.code}/plans/{outfall.plan.id}/steps", data=data,
                       content_type="multipart/form-data")


def test_a_town_officer_records_progress_with_photos_and_the_public_page_shows_it(client, outfall, make_account, sign_in):
    sign_in(client, make_account("town", town=outfall.town))
    page = client.get(f"/admin/outfalls/{outfall.code}").get_data(as_text=True)
    assert "整治记录" in page and 'value="progress"' in page and 'value="closed_out"' not in page

    response = post_step(client, outfall, "progress", 3, "已拆除违规暗管。",
                         before_photos=[("before.jpg", jpeg())], after_photos=[("after.jpg", jpeg())])
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.get(RectificationPlan, outfall.plan.id)
    assert plan.status == "in_progress" and plan.steps[0].text == "已拆除违规暗管。"
    photos = db.session.query(OutfallPhoto).filter_by(step_id=plan.steps[0].id).all()
    assert sorted(p.kind for p in photos) == ["after", "before"]

    public = text_of(client.get(f"/outfalls/{outfall.code}"))
    assert "已拆除违规暗管。" in public and "整治进展" in public
    feed = client.get("/feed.atom").get_data(as_text=True)
    assert "已拆除违规暗管。" in feed


def test_closing_out_is_the_bureaus_a_town_officer_is_refused(client, outfall, make_account, sign_in):
    plan = outfall.plan
    plan.status, plan.completed_on, plan.verified_on = "completed", calendar.today() - timedelta(days=5), \
        calendar.today() - timedelta(days=4)
    db.session.commit()
    sign_in(client, make_account("town", town=outfall.town))
    page = client.get(f"/admin/outfalls/{outfall.code}").get_data(as_text=True)
    assert 'value="closed_out"' not in page
    response = post_step(client, outfall, "closed_out", 1, "销号")
    assert response.status_code == 422
    assert "由区生态环境局进行" in text_of(response)
    db.session.expire_all()
    assert db.session.get(RectificationPlan, plan.id).status == "completed"


def test_the_bureau_verifies_and_closes_out(client, outfall, make_account, sign_in):
    plan = outfall.plan
    plan.status, plan.completed_on = "completed", calendar.today() - timedelta(days=5)
    db.session.commit()
    sign_in(client, make_account("admin"))
    assert post_step(client, outfall, "verified", 3, "现场核查合格。").status_code == 302
    assert post_step(client, outfall, "closed_out", 1, "同意销号。").status_code == 302
    db.session.expire_all()
    plan = db.session.get(RectificationPlan, plan.id)
    assert plan.status == "closed" and plan.closed_out_on == calendar.today() - timedelta(days=1)
    assert plan.outfall.stage == "standardisation"


def test_a_bad_date_is_refused_with_a_message_and_what_was_typed_is_kept(client, outfall, make_account, sign_in):
    sign_in(client, make_account("town", town=outfall.town))
    response = post_step(client, outfall, "progress", -3, "明天才会做的事")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "只能记录已经发生的整治情况" in text_of(response) and "明天才会做的事" in page
    response = client.post(f"/admin/outfalls/{outfall.code}/plans/{outfall.plan.id}/steps",
                           data={"kind": "progress", "occurred_on": "2026-13-45", "text": "x"})
    assert response.status_code == 422 and "不是日期" in text_of(response)
    response = post_step(client, outfall, "progress", 2, "照片不对", after_photos=[("a.txt", b"not an image")])
    assert response.status_code == 422 and "第 1 张照片（a.txt）" in text_of(response)
    assert db.session.query(OutfallPhoto).count() == 0


def test_accounts_that_may_not_record_get_no_form_and_a_403(client, outfall, make_account, sign_in):
    sign_in(client, make_account("auditor"))
    assert "记录下一步" not in client.get(f"/admin/outfalls/{outfall.code}").get_data(as_text=True)
    assert post_step(client, outfall, "progress").status_code == 403
