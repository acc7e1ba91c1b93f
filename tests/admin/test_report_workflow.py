"""The back office's report pages, step by step, through the real forms: who may do what, what the
public and the reporter then see and hear, and the one audit entry each step writes."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from factories import make_report, make_town
from portal.extensions import db
from portal.models import AuditEntry, OutboxMessage, Report

REPORTER_EMAIL = "reporter@example.cn"


@pytest.fixture
def towns(app):
    """Two towns, each with a report of its own, and the reports' codes."""
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    mine, _ = make_report(town=huzhong, email=REPORTER_EMAIL, name="甄测试", phone="13904571234")
    theirs, _ = make_report(town=bishui)
    db.session.commit()
    return {"huzhong": huzhong, "bishui": bishui, "mine": mine.tracking_code, "theirs": theirs.tracking_code}


@pytest.fixture
def officer(towns, make_account, sign_in, client):
    """A signed-in town officer of 呼中镇."""
    account = make_account("town", town=towns["huzhong"], email="officer@huzhong.example.cn")
    sign_in(client, account)
    return account


def audit_count(action=None) -> int:
    query = select(func.count()).select_from(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalar(query)


def report(code) -> Report:
    db.session.expire_all()
    return db.session.scalar(select(Report).where(Report.tracking_code == code))


def step(client, code, name, **data):
    """POST a step's form as the page sends it (each step's fields carry its name as a prefix)."""
    return client.post(f"/admin/reports/{code}/steps/{name}", data={f"{name}-{key}": value for key, value in data.items()})


def test_a_town_officer_sees_their_towns_reports_and_not_another_towns(client, officer, towns):
    queue = client.get("/admin/reports?queue=new").get_data(as_text=True)
    assert towns["mine"] in queue and towns["theirs"] not in queue
    assert client.get(f"/admin/reports/{towns['mine']}").status_code == 200
    assert client.get(f"/admin/reports/{towns['theirs']}").status_code == 404
    assert step(client, towns["theirs"], "accept").status_code == 404
    assert report(towns["theirs"]).status == "submitted"


def test_accepting_tells_the_public_and_the_reporter_and_is_audited_once(client, officer, towns):
    before = audit_count()
    response = step(client, towns["mine"], "accept")
    assert response.status_code == 303
    accepted = report(towns["mine"])
    assert accepted.status == "accepted" and accepted.accepted_at is not None
    assert accepted.finish_due is not None
    assert audit_count() == before + 1 and audit_count("report_accepted") == 1
    public = client.get(f"/reports/{towns['mine']}").get_data(as_text=True)
    assert "已受理，由呼中镇生态环境局办理" in public
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == REPORTER_EMAIL)).all()
    assert len(mails) == 1 and "已受理" in mails[0].body and "甄测试" not in mails[0].body


def test_a_step_not_open_from_the_status_is_refused_with_a_message(client, officer, towns):
    response = step(client, towns["mine"], "close")
    assert response.status_code == 400
    assert "不能进行这一步" in response.get_data(as_text=True)
    assert report(towns["mine"]).status == "submitted" and audit_count("report_closed") == 0


def test_not_accepting_needs_a_reason_from_the_list(client, officer, towns):
    assert step(client, towns["mine"], "reject").status_code == 400
    assert report(towns["mine"]).status == "submitted"
    assert step(client, towns["mine"], "reject", reason="outside_remit", explanation="属于林业部门").status_code == 303
    rejected = report(towns["mine"])
    assert rejected.status == "rejected" and rejected.rejection_reason == "outside_remit"
    assert "不予受理：不属于本区生态环境部门职责范围" in client.get(f"/reports/{towns['mine']}").get_data(as_text=True)


def test_an_answer_is_sanitised_shown_in_public_and_opens_the_reporters_confirmation(client, officer, towns):
    step(client, towns["mine"], "accept")
    hostile = '<p onclick="x()">已封堵<script>alert(1)</script> <a href="javascript:alert(1)">看</a> <a href="https://hbj.example.cn/a">公告</a></p>'
    assert step(client, towns["mine"], "answer", reply=hostile).status_code == 303
    answered = report(towns["mine"])
    assert answered.status == "resolved" and answered.answered_at is not None
    page = client.get(f"/reports/{towns['mine']}").get_data(as_text=True)
    assert "已封堵" in page and "<script>alert" not in page and "javascript:" not in page and "onclick" not in page
    assert 'rel="nofollow noopener"' in page


def test_the_answer_deadline_is_extended_once_with_the_reason_told(client, officer, towns):
    step(client, towns["mine"], "accept")
    due = report(towns["mine"]).finish_due
    assert step(client, towns["mine"], "extend", days="20", reason="需要等待监测结果").status_code == 303
    assert report(towns["mine"]).finish_due == due + timedelta(days=20)
    assert "需要等待监测结果" in client.get(f"/reports/{towns['mine']}").get_data(as_text=True)
    again = step(client, towns["mine"], "extend", days="5", reason="再延")
    assert again.status_code in (400, 404) and report(towns["mine"]).finish_due == due + timedelta(days=20)
    too_long = make_report(town=towns["huzhong"])[0]
    db.session.commit()
    step(client, too_long.tracking_code, "accept")
    refused = step(client, too_long.tracking_code, "extend", days="31", reason="太久")
    assert refused.status_code == 400 and "1 到 30 天" in refused.get_data(as_text=True)


def test_a_transfer_hands_the_report_to_the_other_town(client, officer, towns, make_account, sign_in, app):
    response = step(client, towns["mine"], "transfer", town=str(towns["bishui"].id), reason="位置在碧水镇")
    assert response.status_code == 303
    moved = report(towns["mine"])
    assert moved.town.name == "碧水镇"
    assert client.get(f"/admin/reports/{towns['mine']}").status_code == 404  # no longer this officer's
    other = app.test_client()
    sign_in(other, make_account("town", town=towns["bishui"]))
    assert towns["mine"] in other.get("/admin/reports?queue=new").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report_transferred"))
    assert entry.reason == "位置在碧水镇"
    assert "位置在碧水镇" not in client.get(f"/reports/{towns['mine']}").get_data(as_text=True)


def test_a_duplicate_is_merged_into_the_report_it_repeats(client, officer, towns):
    duplicate = make_report(town=towns["huzhong"])[0]
    db.session.commit()
    assert step(client, duplicate.tracking_code, "merge", into=towns["mine"]).status_code == 303
    merged = report(duplicate.tracking_code)
    assert merged.status == "merged" and merged.merged_into.tracking_code == towns["mine"]
    assert report(towns["mine"]).me_too_count == 1
    refused = step(client, towns["mine"], "merge", into=towns["theirs"])  # another town's: not found
    assert refused.status_code == 400 and report(towns["mine"]).status == "submitted"


def test_a_reopened_report_comes_back_to_the_queue(client, officer, towns):
    from portal.db import transaction
    from portal.reports import reporter_actions

    step(client, towns["mine"], "accept")
    step(client, towns["mine"], "answer", reply="已处理")
    assert towns["mine"] not in client.get("/admin/reports?queue=open").get_data(as_text=True)
    with transaction():
        reporter_actions.reopen(report(towns["mine"]), "还在排")
    assert towns["mine"] in client.get("/admin/reports?queue=open").get_data(as_text=True)
    assert step(client, towns["mine"], "start").status_code == 303


def test_the_contact_is_shown_only_behind_its_action_with_a_reason_and_audited(client, officer, towns):
    page = client.get(f"/admin/reports/{towns['mine']}").get_data(as_text=True)
    assert "甄测试" not in page and "13904571234" not in page
    assert client.post(f"/admin/reports/{towns['mine']}/contact", data={"reason": ""}).status_code == 400
    assert audit_count("contact_viewed") == 0
    shown = client.post(f"/admin/reports/{towns['mine']}/contact", data={"reason": "电话核实地点"})
    assert shown.status_code == 200 and "甄测试" in shown.get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact_viewed"))
    assert entry.reason == "电话核实地点" and entry.actor_id == officer.id and "甄测试" not in (entry.detail or "")


def test_an_auditor_reads_everything_but_neither_acts_nor_sees_a_contact(app, towns, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("auditor"))
    assert client.get(f"/admin/reports/{towns['theirs']}").status_code == 200
    assert step(client, towns["mine"], "accept").status_code == 400
    assert client.post(f"/admin/reports/{towns['mine']}/contact", data={"reason": "好奇"}).status_code == 403
    assert report(towns["mine"]).status == "submitted" and audit_count("contact_viewed") == 0


def test_moderation_redacts_the_description_before_publishing(client, officer, towns):
    assert client.post(f"/admin/reports/{towns['mine']}/description",
                       data={"text": "河边有一根管子往河里排污水。"}).status_code == 303
    assert client.post(f"/admin/reports/{towns['mine']}/publish").status_code == 303
    public = client.get(f"/reports/{towns['mine']}").get_data(as_text=True)
    assert "河边有一根管子往河里排污水。" in public and "排灰色污水" not in public
    assert "排灰色污水" in report(towns["mine"]).description  # the original is kept for the record


def test_a_staff_entered_telephone_report_is_routed_like_a_web_report(client, officer, towns):
    data = {"channel": "telephone", "category": "direct_discharge", "description": "电话反映：桥下有管子排污。",
            "address": "呼中镇东桥下", "reporter_phone": "13904571234"}
    response = client.post("/admin/reports/new", data=data)
    assert response.status_code == 303
    entered = db.session.scalar(select(Report).where(Report.channel == "telephone"))
    assert entered.status == "submitted" and entered.accept_due is not None and entered.routing_reasons
    assert audit_count("report_entered") == 1
    from portal.db import transaction
    from portal.reports import intake

    with transaction():
        web, _ = intake.receive(intake.Submission(category="direct_discharge", description="网上：桥下有管子排污。",
                                                  address="呼中镇东桥下"))
    assert (web.town_id, web.department_code, web.routing_reasons) == (
        entered.town_id, entered.department_code, entered.routing_reasons)


def test_a_failing_step_writes_no_audit_entry_and_changes_nothing(client, officer, towns, monkeypatch):
    from portal.reports import messages

    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(messages, "reporter", broken)
    with pytest.raises(RuntimeError):
        step(client, towns["mine"], "accept")
    assert report(towns["mine"]).status == "submitted" and audit_count() == 1  # the sign-in only


def test_bulk_assignment_assigns_each_allowed_report_and_names_the_others(client, officer, towns):
    second = make_report(town=towns["huzhong"])[0]
    db.session.commit()
    for code in (towns["mine"], second.tracking_code):
        step(client, code, "accept")
    response = client.post("/admin/reports/assign", data={
        "codes": [towns["mine"], second.tracking_code, towns["theirs"]], "town": "", "department": "housing",
        "person": ""})
    assert response.status_code == 303
    assert report(towns["mine"]).status == "assigned" and report(towns["mine"]).department_code == "housing"
    assert report(second.tracking_code).status == "assigned"
    assert report(towns["theirs"]).status == "submitted"


def test_filters_and_search_narrow_the_queue(client, officer, towns):
    other = make_report(town=towns["huzhong"], category="dead_fish", description="河面漂着很多死鱼")[0]
    db.session.commit()
    page = client.get("/admin/reports?queue=all&category=dead_fish").get_data(as_text=True)
    assert other.tracking_code in page and towns["mine"] not in page
    page = client.get("/admin/reports?queue=all&q=死鱼").get_data(as_text=True)
    assert other.tracking_code in page and towns["mine"] not in page
    assert client.get("/admin/reports?queue=all&town=abc").status_code == 400


def test_the_export_has_every_visible_report_and_never_the_contact(client, officer, towns):
    body = client.get("/admin/reports.csv?queue=all").get_data()
    text = body.decode("utf-8-sig")
    assert towns["mine"] in text and towns["theirs"] not in text
    assert "甄测试" not in text and "13904571234" not in text and REPORTER_EMAIL not in text


def test_escalation_of_an_overdue_report_happens_once(app, towns, runner, make_account):
    chief_admin = make_account("admin", email="bureau@example.cn")
    overdue = report(towns["mine"])
    overdue.accept_due = date(2026, 1, 5)
    report(towns["theirs"]).accept_due = date(2099, 1, 5)  # not due yet
    db.session.commit()
    first = runner.invoke(args=["escalate"])
    assert first.exit_code == 0 and towns["mine"] in first.output
    escalated = report(towns["mine"])
    assert escalated.escalation_level == 1 and escalated.escalated_at is not None
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == chief_admin.email)).all()
    assert len(mails) == 1, [m.subject for m in mails]
    second = runner.invoke(args=["escalate"])
    assert second.exit_code == 0 and towns["mine"] not in second.output
    assert audit_count("report_escalated") == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient == chief_admin.email)) == 1


def test_a_report_received_before_national_day_is_due_after_it(app):
    from portal.db import transaction
    from portal.reports import intake

    make_town("呼中镇")
    received = datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc)  # 10:00 in the district
    with transaction():
        report_, _ = intake.receive(intake.Submission(category="other", description="国庆前的举报", address="桥下"),
                                    now=received)
    assert report_.accept_due == date(2026, 10, 9)


def test_a_reporter_who_gave_a_mobile_number_gets_a_text_message(app, client, officer, towns):
    app.config.update(SMS_API_URL="http://127.0.0.1:9/sms", SMS_API_TOKEN="token", SMS_SIGN_NAME="呼中区生态环境局")
    step(client, towns["mine"], "accept")
    texts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert [t.recipient for t in texts] == ["13904571234"]
    assert towns["mine"] in texts[0].body and "已受理" in texts[0].body and "甄测试" not in texts[0].body


def test_the_back_office_speaks_english_when_asked(app, client, officer, towns):
    cjk = re.compile(r"[\u3400-\u9fff]")
    for path in ("/admin/reports?queue=new", f"/admin/reports/{towns['mine']}", "/admin/reports/new"):
        html = client.get(path + ("&" if "?" in path else "?") + "lang=en").get_data(as_text=True)
        html = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", html)
        # Data stays as written (town names, the report's own words, the routing reasons, the timeline).
        for data in ("呼中镇", "碧水镇", "生态环境局", "河边有一根管子往河里排灰色污水。", "住建局", "水务局", "农业农村局",
                     "自然资源局", "交通局", "中文", "测试"):
            text = text.replace(data, "")
        leftovers = sorted(set(cjk.findall(text)))
        assert not leftovers, (path, "".join(leftovers)[:80], [line for line in text.splitlines() if cjk.search(line)][:5])


def test_a_report_whose_reporter_did_not_agree_is_not_published(client, officer, towns):
    private = make_report(town=towns["huzhong"], publication_allowed=False)[0]
    db.session.commit()
    response = client.post(f"/admin/reports/{private.tracking_code}/publish")
    assert response.status_code == 403 and "没有同意公开" in response.get_data(as_text=True)
    assert report(private.tracking_code).published is False


def test_an_export_is_in_the_staff_log(client, officer, towns):
    client.get("/admin/reports.xlsx?queue=all&category=dead_fish")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reports_exported"))
    assert entry.actor_id == officer.id and '"category": "dead_fish"' in entry.detail and '"format": "xlsx"' in entry.detail


def test_the_public_timeline_reads_in_the_visitors_language(client, officer, towns):
    step(client, towns["mine"], "accept")
    step(client, towns["mine"], "extend", days="10", reason="需要等待监测结果")
    english = client.get(f"/reports/{towns['mine']}?lang=en").get_data(as_text=True)
    assert "Accepted; handled by 呼中镇, Ecology and Environment Bureau; answer due" in english
    assert "Answer deadline extended by 10 days" in english and "需要等待监测结果" in english  # their words stay
    chinese = client.get(f"/reports/{towns['mine']}?lang=zh_Hans_CN").get_data(as_text=True)
    assert "已受理，由呼中镇生态环境局办理" in chinese and "答复期限延长 10 天" in chinese


@pytest.mark.parametrize("path,data,message", [
    ("/admin/reports?q=%00", None, "控制字符"),
    ("/admin/reports?town=99999999999999", None, "不是有效的选择"),
    ("/admin/reports/new", {"channel": "telephone", "category": "other", "description": "x", "latitude": "52"},
     "请同时填写纬度和经度"),
    ("/admin/reports/new", {"channel": "fax", "category": "other", "description": "x"}, "不是有效的选择"),
])
def test_crafted_requests_get_a_message_not_a_500(client, officer, towns, path, data, message):
    response = client.post(path, data=data) if data else client.get(path)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_river_chief_on_duty_hears_of_a_new_report_when_they_have_an_account(app, make_account):
    from portal.db import transaction
    from portal.models import RiverChief
    from portal import demo
    from portal.reports import intake

    with transaction():
        demo.seed()
    submission = dict(category="dead_fish", description="河面有死鱼", position=(52.0306, 123.5888))
    with transaction():
        first, _ = intake.receive(intake.Submission(**submission))
    chief = db.session.get(RiverChief, first.chief_id)
    account = make_account("chief", chief=chief, town=chief.town, water_body=chief.water_body,
                           email="chief@example.cn")
    with transaction():
        second, _ = intake.receive(intake.Submission(**submission))
    assert second.chief_id == chief.id
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == account.email)).all()
    assert len(mails) == 1 and second.tracking_code in mails[0].subject and "/admin/reports/" in mails[0].body
