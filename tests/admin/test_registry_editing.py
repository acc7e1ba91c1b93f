"""Editing an outfall in the back office: what the form accepts, its history with who and why, the audit log,
refusals per field with nothing saved, and who may edit which outfall."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from factories import make_outfall, make_party, make_town, make_water_body
from portal.extensions import db
from portal.models import AuditEntry, Outfall, OutfallEvent
from portal.registry.editing import EDITABLE_FIELDS


@pytest.fixture
def outfall(app):
    """HZ-GY-001 in 呼中镇 on the 呼玛河, with a plan to standardise it by the end of June."""
    make_town("呼中镇"), make_town("碧水镇"), make_water_body("碧水河")
    record = make_outfall(code="HZ-GY-001", name="呼中镇林产品加工厂排污口", town=make_town("呼中镇"),
                          water_body=make_water_body("呼玛河"), outfall_type="industrial",
                          party=make_party("呼中区林产品加工厂"), longitude=123.59, latitude=52.03,
                          plan={"measure": "standardise", "deadline": date(2026, 6, 30)})
    db.session.commit()
    return record


def form_of(outfall: Outfall, **changes) -> dict:
    """The edit form as the page fills it, with some fields changed and a reason."""
    values = {
        "name": outfall.name, "national_code": outfall.national_code or "", "town": outfall.town.name,
        "water_body": outfall.water_body.name, "longitude": str(outfall.longitude), "latitude": str(outfall.latitude),
        "outfall_type": outfall.outfall_type, "outfall_subtype": outfall.outfall_subtype or "",
        "discharge_mode": outfall.discharge_mode or "", "approval_status": outfall.approval_status or "",
        "found_on": "", "party": outfall.responsible_party.name, "party_kind": outfall.responsible_party.kind,
        "party_telephone": outfall.party_telephone or "", "supervising_leader": outfall.supervising_leader or "",
        "note": outfall.note or "", "measure": outfall.plan.measure, "measures_text": outfall.plan.measures_text or "",
        "deadline": outfall.plan.deadline.isoformat() if outfall.plan.deadline else "",
        "transition_ends_on": "", "status": outfall.plan.status, "completed_on": "",
        "reason": "依据 2026 年 11 月现场核查",
    }
    values.update(changes)
    assert set(values) >= set(EDITABLE_FIELDS)
    return values


def events(outfall_id) -> list[OutfallEvent]:
    """The outfall's history, oldest first."""
    return list(db.session.scalars(select(OutfallEvent).where(OutfallEvent.outfall_id == outfall_id)
                                   .order_by(OutfallEvent.id)))


def test_the_page_shows_the_ledger_with_an_edit_link_for_the_bureau(client, make_account, sign_in, outfall):
    sign_in(client, make_account("admin"))
    page = client.get("/admin/outfalls/HZ-GY-001").get_data(as_text=True)
    assert "台账信息" in page and "呼中区林产品加工厂" in page and "/admin/outfalls/HZ-GY-001/edit" in page
    form = client.get("/admin/outfalls/HZ-GY-001/edit").get_data(as_text=True)
    assert 'value="呼中镇林产品加工厂排污口"' in form and "2026-06-30" in form


def test_each_changed_field_goes_into_the_history_with_who_and_why(client, make_account, sign_in, outfall):
    admin = make_account("admin", display_name="刘文")
    sign_in(client, admin)
    response = client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(
        outfall, name="呼中镇林产品加工厂总排口", longitude="123°35′20″", deadline="2026年9月底",
        status="in_progress", party="张立新", party_kind=""))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/outfalls/HZ-GY-001")
    db.session.expire_all()
    record = db.session.scalar(select(Outfall).where(Outfall.code == "HZ-GY-001"))
    assert record.name == "呼中镇林产品加工厂总排口" and record.longitude == pytest.approx(123.588889)
    assert record.plan.deadline == date(2026, 9, 30) and record.plan.status == "in_progress"
    assert record.responsible_party.name == "张立新" and record.responsible_party.kind == "person"
    history = events(record.id)
    assert {e.field for e in history} == {"name", "longitude", "deadline", "status", "party", "party_kind"}
    assert all(e.actor_id == admin.id and e.reason == "依据 2026 年 11 月现场核查" for e in history)
    deadline = next(e for e in history if e.field == "deadline")
    assert (deadline.old_value, deadline.new_value) == ("2026-06-30", "2026-09-30")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outfall_edited"))
    assert entry.actor_id == admin.id and entry.reason == "依据 2026 年 11 月现场核查" and "deadline" in entry.detail

    page = client.get("/admin/outfalls/HZ-GY-001").get_data(as_text=True)
    assert "修改记录" in page and "2026-06-30 → 2026-09-30" in page and "刘文" in page
    assert "未开始 → 整治中" in page  # terms shown by label, not code


def test_a_wrong_field_saves_nothing_and_says_why_beside_it(client, make_account, sign_in, outfall):
    sign_in(client, make_account("admin"))
    response = client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(
        outfall, name="改了名", deadline="2026-13-01", latitude="abc", party_telephone="电话"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "不是存在的日期" in page and "不是有效的纬度" in page and "不是有效的电话号码" in page
    assert "有 3 处需要改正，未保存任何修改" in page
    db.session.expire_all()
    assert db.session.scalar(select(Outfall.name).where(Outfall.code == "HZ-GY-001")) == "呼中镇林产品加工厂排污口"
    assert events(outfall.id) == []
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "outfall_edited")) is None


def test_rules_across_fields_are_refused_by_field(client, make_account, sign_in, outfall):
    make_outfall(code="OTHER", national_code="232764-0001")
    db.session.commit()
    sign_in(client, make_account("admin"))
    page = client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(
        outfall, outfall_subtype="municipal_wwtp", national_code="232764-0001", measure="", name="")).get_data(as_text=True)
    assert "与类型“工业排污口”不符" in page and "已属于排污口 OTHER" in page
    assert "整治类型不能清空" in page and "必填，不能为空" in page


def test_a_reason_is_required(client, make_account, sign_in, outfall):
    sign_in(client, make_account("admin"))
    response = client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, name="新名", reason=""))
    assert response.status_code == 422 and "请说明修改原因" in response.get_data(as_text=True)


def test_a_town_officer_edits_only_their_towns_outfalls(client, make_account, sign_in, outfall):
    make_outfall(code="BS-XQ-001", town=make_town("碧水镇"))
    db.session.commit()
    officer = make_account("town", town=make_town("呼中镇"))
    sign_in(client, officer)
    assert client.get("/admin/outfalls/HZ-GY-001/edit").status_code == 200
    assert client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, note="已核实")).status_code == 302
    assert client.get("/admin/outfalls/BS-XQ-001/edit").status_code == 404


@pytest.mark.parametrize("role", ["auditor", "department", "chief"])
def test_roles_without_edit_are_refused_and_see_no_link(client, make_account, sign_in, outfall, role):
    account = make_account(role, water_body=make_water_body("呼玛河")) if role == "chief" else make_account(role)
    sign_in(client, account)
    assert "/admin/outfalls/HZ-GY-001/edit" not in client.get("/admin/outfalls/HZ-GY-001").get_data(as_text=True)
    assert client.get("/admin/outfalls/HZ-GY-001/edit").status_code == 403
    assert client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, name="x")).status_code == 403


def test_refusals_of_the_edit_read_in_english_for_an_english_visitor(client, make_account, sign_in, outfall):
    sign_in(client, make_account("admin"))
    page = client.post("/admin/outfalls/HZ-GY-001/edit?lang=en", data=form_of(
        outfall, outfall_subtype="municipal_wwtp", completed_on="2026-06-01")).get_data(as_text=True)
    assert "The category “Municipal wastewater treatment plant outfall” belongs to" in page
    assert "A completion date is given: the status must be" in page
    assert "2 fields need correcting; nothing was saved." in page


def test_a_town_officer_cannot_move_an_outfall_out_of_their_town(client, make_account, sign_in, outfall):
    sign_in(client, make_account("town", town=make_town("呼中镇")))
    response = client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, town="碧水镇", name="新名"))
    assert response.status_code == 422 and "请联系区生态环境局" in response.get_data(as_text=True)
    db.session.expire_all()
    record = db.session.scalar(select(Outfall).where(Outfall.code == "HZ-GY-001"))
    assert (record.town.name, record.name) == ("呼中镇", "呼中镇林产品加工厂排污口") and events(record.id) == []


def test_the_bureau_moves_an_outfall_to_another_town(client, make_account, sign_in, outfall):
    sign_in(client, make_account("admin"))
    assert client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, town="碧水镇")).status_code == 302
    db.session.expire_all()
    assert [(e.field, e.old_value, e.new_value) for e in events(outfall.id)] == [("town", "呼中镇", "碧水镇")]


def test_the_supervising_leader_is_linked_to_the_chiefs_record(client, make_account, sign_in, outfall):
    from factories import make_chief

    chief = make_chief("王建国", level="district", water_body=make_water_body("呼玛河"))
    db.session.commit()
    sign_in(client, make_account("admin"))
    assert client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, supervising_leader="王建国")).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Outfall.supervising_chief_id).where(Outfall.code == "HZ-GY-001")) == chief.id
    unknown = client.post("/admin/outfalls/HZ-GY-001/edit", data=form_of(outfall, supervising_leader="张三", name="新名"))
    assert unknown.status_code == 422 and "包保领导「张三」不在河长名录中" in unknown.get_data(as_text=True)
    db.session.expire_all()
    record = db.session.scalar(select(Outfall).where(Outfall.code == "HZ-GY-001"))
    assert (record.supervising_leader, record.name, record.supervising_chief_id) == ("王建国", "呼中镇林产品加工厂排污口", chief.id)


def test_clearing_the_party_clears_its_kind_and_a_plan_can_be_added(client, make_account, sign_in, app):
    record = make_outfall(code="HY-YS-001", town=make_town("呼源镇"), party=make_party("呼源镇人民政府", kind="government"),
                          plan=None)
    db.session.commit()
    sign_in(client, make_account("admin"))
    values = {"name": record.name, "town": "呼源镇", "water_body": "呼玛河", "outfall_type": "other",
              "party": "", "party_kind": "government", "measure": "standardise", "deadline": "2026-12-31",
              "outfall_subtype": "", "discharge_mode": "", "approval_status": "", "status": "",
              "reason": "排查后确定整治方案"}
    response = client.post("/admin/outfalls/HY-YS-001/edit", data=values)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    record = db.session.scalar(select(Outfall).where(Outfall.code == "HY-YS-001"))
    assert record.responsible_party is None
    assert (record.plan.measure, record.plan.status, record.plan.deadline) == ("standardise", "not_started", date(2026, 12, 31))
