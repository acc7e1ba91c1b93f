"""Following a report: the public status page, the reporter's private page and actions, published reports."""
from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pytest
from factories import _DISTRICT, make_report
from helpers import commit_and_forget
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OutboxMessage, Report, ReportPhoto, ReportUpdate
from portal.models.types import utcnow
from portal.photos import storage_for
from portal.db import transaction
from portal.reports import operations, queries, reporter_actions

CANARY = {"name": "甄测试", "phone": "13900001234", "email": "canary@example.com"}
XSS = "<script>alert(1)</script>"
NOTIFY = {"呼中镇": ["huzhong@example.gov.cn"], "*": ["district@example.gov.cn"]}


def _committed(action):
    """A reporter action as the private page runs it: in its own committed transaction."""
    def run(*args, **kwargs):
        with transaction():
            return action(*args, **kwargs)
    return run


committed_add_information = _committed(reporter_actions.add_information)
committed_confirm_fixed = _committed(reporter_actions.confirm_fixed)
committed_reopen = _committed(reporter_actions.reopen)


# Werkzeug's test client spools a large multipart body to a temporary file that it leaves to the
# garbage collector (see test_intake.py).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(autouse=True)
def reclaim_test_client_files():
    """Collect the test client's spooled bodies within the test that made them."""
    yield
    import gc

    gc.collect()


@pytest.fixture(autouse=True)
def notify_addresses(app):
    """The handling town and the district hear of every reporter's action."""
    app.config["REPORT_NOTIFY_EMAILS"] = NOTIFY


def planted(**fields):
    """A report carrying the contact canary; returns (tracking code, secret)."""
    report, secret = make_report(**CANARY, **fields)
    code = report.tracking_code
    commit_and_forget()
    return code, secret


def load(code: str) -> Report:
    return queries.find_by_code(code)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def main_text(response) -> str:
    """The visible words of the page's <main>, tags stripped and spaces folded."""
    html = text_of(response).split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def assert_nothing_personal(body: str, secret: str):
    for value in CANARY.values():
        assert value not in body, value
    assert secret not in body


def jpeg(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def resolve(code: str, days_ago: float, text: str = "已现场核查，排污管已封堵。"):
    """Staff answer the report and mark it resolved ``days_ago`` days ago."""
    report = load(code)
    operations.record_status(report, "resolved", text, now=utcnow() - timedelta(days=days_ago))
    commit_and_forget()


# --- the public status page ---------------------------------------------------------------------------------


def test_public_page_shows_progress_and_who_handles_it_but_nothing_personal(client):
    code, secret = planted(description="河边灰水直排，气味刺鼻。", accept_due=date(2026, 11, 4),
                           finish_due=date(2027, 1, 3))
    operations.record_status(load(code), "accepted", "已受理，转呼中镇办理。")
    commit_and_forget()

    response = client.get(f"/reports/{code}")

    assert response.status_code == 200
    page = main_text(response)
    assert code in page
    for words in ("直排/偷排", "已受理", "呼中镇", "生态环境局", "受理时限", "办结时限", "2026年11月4日",
                  "2027年1月3日", "已受理，转呼中镇办理。", "待受理", "“我也看到了” 0 人"):
        assert words in page, words
    assert "河边灰水直排" not in page  # not published: the description stays private
    assert_nothing_personal(text_of(response), secret)
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_public_page_marks_a_missed_deadline(client):
    today = date.today()
    code, _ = planted(accept_due=today - timedelta(days=3), finish_due=today + timedelta(days=50))

    page = main_text(client.get(f"/reports/{code}"))

    assert page.count("已逾期") == 1
    assert "受理时限" in page.split("已逾期")[0] and "办结时限" not in page.split("已逾期")[0]


def test_public_page_of_a_district_report(client):
    report, _ = make_report(town=_DISTRICT, department_code=None)
    code = report.tracking_code
    commit_and_forget()

    page = main_text(client.get(f"/reports/{code}"))

    assert "呼中区（区级直接办理）" in page and "待确定" in page


def test_public_page_hides_what_is_not_public(client):
    code, secret = planted()
    report = load(code)
    operations.record_status(report, None, "内部：联系甄测试核实", public=False)
    committed_add_information(report, "我家就在河边 3 号", storage=storage_for(client.application))
    db.session.remove()

    page = text_of(client.get(f"/reports/{code}"))

    assert "内部" not in page and "河边 3 号" not in page and "举报人补充了信息" not in page
    assert_nothing_personal(page, secret)


def test_the_public_page_in_english(client):
    code, _ = planted()

    page = main_text(client.get(f"/reports/{code}?lang=en"))

    assert "Progress of a report" in page and "Handling town" in page and "Received, awaiting acceptance" in page
    assert "办理过程" not in page and "待受理" not in page


def test_a_published_report_shows_its_description_and_a_rough_position(client):
    code, secret = planted(description="排口在桥下游约五十米。")
    operations.publish(load(code))
    commit_and_forget()

    response = client.get(f"/reports/{code}")

    page = main_text(response)
    assert "排口在桥下游约五十米。" in page
    assert "纬度 52.031，经度 123.589" in page
    assert "52.031234" not in text_of(response) and "123.588876" not in text_of(response)
    assert "X-Robots-Tag" not in response.headers
    assert_nothing_personal(text_of(response), secret)


def test_codes_are_read_as_people_type_them(client):
    code, _ = planted()

    response = client.get(f"/reports/{code.lower()[:4]}-{code.lower()[4:]}")

    assert response.status_code == 301 and response.headers["Location"].endswith(f"/reports/{code}")
    assert client.get("/reports/NOSUCH22").status_code == 404
    not_found = client.get("/reports/NOSUCH22")
    assert "找不到这份举报" in text_of(not_found) and 'name="code"' in text_of(not_found)


# --- the reporter's private page ----------------------------------------------------------------------------


def test_private_page_shows_the_reporter_everything_and_is_never_cached(client):
    code, secret = planted(description="河边灰水直排。")

    response = client.get(f"/reports/{code}/private/{secret}")

    assert response.status_code == 200
    page = main_text(response)
    for value in (*CANARY.values(), "河边灰水直排。", "52.031234"):
        assert value in page, value
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("wrong", ["x", "0" * 32, "secret-of-another-report"])
def test_a_wrong_secret_finds_nothing(client, wrong):
    code, secret = planted()
    _, other_secret = make_report()
    commit_and_forget()
    wrong = other_secret if wrong == "secret-of-another-report" else wrong

    response = client.get(f"/reports/{code}/private/{wrong}")

    assert response.status_code == 404
    assert_nothing_personal(text_of(response), secret)
    assert response.headers["Cache-Control"] == "no-store"
    assert client.post(f"/reports/{code}/private/{wrong}/confirm").status_code == 404


def test_anonymous_report_says_so(client):
    report, secret = make_report(anonymous=True)
    code = report.tracking_code
    commit_and_forget()

    assert "匿名举报" in main_text(client.get(f"/reports/{code}/private/{secret}"))


# --- adding information -------------------------------------------------------------------------------------


def test_added_information_is_private_and_the_town_is_told(client):
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", data={"text": "今天早上又排了一次。"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/reports/{code}/private/{secret}")
    private = client.get(response.headers["Location"])
    assert "已收到您补充的信息" in main_text(private)
    assert "今天早上又排了一次。" in main_text(private) and "不公开" in main_text(private)
    assert "今天早上又排了一次。" not in text_of(client.get(f"/reports/{code}"))
    update = db.session.scalars(select(ReportUpdate).where(ReportUpdate.kind == "reporter_added")).one()
    assert (update.public, update.author) == (False, "reporter")
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient)).all()
    assert [m.recipient for m in messages] == ["district@example.gov.cn", "huzhong@example.gov.cn"]
    assert all(code in m.subject and "今天早上又排了一次。" in m.body for m in messages)
    for message in messages:
        assert_nothing_personal(message.subject + message.body, secret)


def test_photos_can_be_added_and_only_the_reporter_sees_them(client):
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", content_type="multipart/form-data",
                           data={"text": "", "photos": [(io.BytesIO(jpeg()), "a.jpg"), (io.BytesIO(jpeg()), "b.jpg")]})

    assert response.status_code == 303
    photo_ids = db.session.scalars(select(ReportPhoto.id).order_by(ReportPhoto.id)).all()
    assert len(photo_ids) == 2
    private = text_of(client.get(f"/reports/{code}/private/{secret}"))
    assert f"/reports/{code}/private/{secret}/photos/{photo_ids[0]}?thumb=1" in private
    full = client.get(f"/reports/{code}/private/{secret}/photos/{photo_ids[0]}")
    thumb = client.get(f"/reports/{code}/private/{secret}/photos/{photo_ids[0]}?thumb=1")
    assert full.status_code == thumb.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.headers["Cache-Control"] == "no-store" and full.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(full.get_data())).size == (64, 48)
    # Not published: no public address serves them.
    assert client.get(f"/reports/{code}/photos/{photo_ids[0]}").status_code == 404


def test_a_refused_photo_keeps_the_text_and_stores_nothing(client):
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", content_type="multipart/form-data",
                           data={"text": "补充：排水口在桥下", "photos": [(io.BytesIO(jpeg()), "ok.jpg"),
                                                                (io.BytesIO(b"not an image"), "fake.jpg")]})

    assert response.status_code == 422
    page = main_text(response)
    assert "第 2 张照片" in page and "文件不是可识别的图片" in page
    assert "补充：排水口在桥下" in text_of(response)  # kept in the text area
    assert db.session.scalar(select(func.count()).select_from(ReportPhoto)) == 0
    assert db.session.scalar(select(func.count()).select_from(ReportUpdate).where(
        ReportUpdate.kind == "reporter_added")) == 0
    assert outbox_count() == 0
    photo_root = storage_for(client.application).root
    assert not photo_root.exists() or not [p for p in photo_root.rglob("*") if p.is_file()]


def test_a_body_too_large_to_read_is_answered_on_the_private_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    code, secret = planted()

    def big():
        return {"photos": [(io.BytesIO(b"x" * 60_000), "a.jpg")]}

    own = client.post(f"/reports/{code}/private/{secret}/information", data=big(),
                      content_type="multipart/form-data")
    wrong = client.post(f"/reports/{code}/private/wrong/information", data=big(),
                        content_type="multipart/form-data")

    assert own.status_code == 413 and "上传的内容过大" in main_text(own) and CANARY["phone"] in text_of(own)
    assert wrong.status_code == 404 and CANARY["phone"] not in text_of(wrong)


def test_nothing_to_add_is_refused(client):
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", data={"text": "   "})

    assert response.status_code == 422 and "请填写补充说明" in main_text(response)


def test_photo_count_is_limited_per_report(app, client):
    app.config["REPORT_PHOTO_LIMIT"] = 1
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", content_type="multipart/form-data",
                           data={"photos": [(io.BytesIO(jpeg()), "a.jpg"), (io.BytesIO(jpeg()), "b.jpg")]})

    assert response.status_code == 422 and "最多 1 张照片" in main_text(response)
    assert db.session.scalar(select(func.count()).select_from(ReportPhoto)) == 0


def test_published_reports_show_only_the_photos_staff_reviewed(client):
    code, secret = planted()
    storage = storage_for(client.application)
    report = load(code)
    committed_add_information(report, None, [_clean(jpeg())], storage=storage, now=utcnow() - timedelta(hours=2))
    operations.publish(report, now=utcnow() - timedelta(hours=1))
    db.session.commit()
    committed_add_information(report, "又拍了一张", [_clean(jpeg((0, 0, 200)))], storage=storage)
    reviewed, later = [p.id for p in report.photos]
    commit_and_forget()

    assert client.get(f"/reports/{code}/photos/{reviewed}").status_code == 200
    assert client.get(f"/reports/{code}/photos/{reviewed}?thumb=1").status_code == 200
    assert client.get(f"/reports/{code}/photos/{later}").status_code == 404
    assert client.get(f"/reports/{code}/private/{secret}/photos/{later}").status_code == 200
    page = text_of(client.get(f"/reports/{code}"))
    assert f"/photos/{reviewed}" in page and f"/photos/{later}" not in page
    # Taken off the public list: no public photo at all.
    operations.unpublish(load(code))
    commit_and_forget()
    assert client.get(f"/reports/{code}/photos/{reviewed}").status_code == 404


def test_a_photo_of_another_report_is_not_served(client):
    code, secret = planted()
    other, _ = make_report()
    committed_add_information(other, None, [_clean(jpeg())], storage=storage_for(client.application))
    operations.publish(other)
    photo_id = other.photos[0].id
    commit_and_forget()

    assert client.get(f"/reports/{code}/private/{secret}/photos/{photo_id}").status_code == 404
    assert client.get(f"/reports/{code}/photos/{photo_id}").status_code == 404


def _clean(data: bytes):
    from portal.photos import inspect_and_clean

    return inspect_and_clean(data)


# --- confirming, reopening, rating --------------------------------------------------------------------------


def test_confirm_within_the_window_after_a_resolved_answer(client):
    code, secret = planted()
    resolve(code, days_ago=29)

    response = client.post(f"/reports/{code}/private/{secret}/confirm")

    assert response.status_code == 303
    assert load(code).status == "confirmed"
    assert "已确认解决" in main_text(client.get(f"/reports/{code}"))  # the public sees the outcome
    assert outbox_count() == 2


def test_reopen_within_the_window_shows_the_reason_to_the_reporter_only(client):
    code, secret = planted()
    resolve(code, days_ago=2)

    response = client.post(f"/reports/{code}/private/{secret}/reopen", data={"reason": "昨晚还在排，只是白天停了。"})

    assert response.status_code == 303
    assert load(code).status == "reopened"
    public = main_text(client.get(f"/reports/{code}"))
    assert "举报人重新打开了举报" in public and "昨晚还在排" not in public
    private = main_text(client.get(f"/reports/{code}/private/{secret}"))
    assert "昨晚还在排，只是白天停了。" in private and "举报已重新打开" in private
    assert all("昨晚还在排" in m.body for m in db.session.scalars(select(OutboxMessage)))


@pytest.mark.parametrize("action, data", [("confirm", {}), ("reopen", {"reason": "没有解决"})])
def test_too_late_to_confirm_or_reopen(client, action, data):
    code, secret = planted()
    resolve(code, days_ago=31)
    updates_before = len(load(code).updates)
    db.session.remove()

    response = client.post(f"/reports/{code}/private/{secret}/{action}", data=data)

    assert response.status_code == 422
    assert "办结答复已超过 30 天，不能再确认或重新打开" in main_text(response)
    report = load(code)
    assert report.status == "resolved" and len(report.updates) == updates_before
    assert outbox_count() == 0


def test_the_window_is_configuration(app):
    app.config["REPORT_REOPEN_DAYS"] = 60
    code, _ = planted()
    resolve(code, days_ago=45)

    committed_confirm_fixed(load(code))

    assert load(code).status == "confirmed"


def test_the_window_starts_from_the_latest_resolution(app):
    code, _ = planted()
    report = load(code)
    now = utcnow()
    operations.record_status(report, "resolved", "第一次答复", now=now - timedelta(days=60))
    operations.record_status(report, "reopened", author="reporter", now=now - timedelta(days=50))
    operations.record_status(report, "resolved", "第二次答复", now=now - timedelta(days=10))
    db.session.commit()

    committed_reopen(report, "还是没解决", now=now)

    assert report.status == "reopened"


@pytest.mark.parametrize("status", ["submitted", "accepted", "in_progress", "rejected", "confirmed", "reopened"])
def test_only_a_resolved_report_can_be_confirmed_or_reopened(app, status):
    report, _ = make_report(status=status)
    db.session.commit()

    with app.test_request_context():  # the refusal speaks the visitor's language
        with pytest.raises(reporter_actions.ReportActionRefused, match="答复办结后"):
            committed_confirm_fixed(report)
        with pytest.raises(reporter_actions.ReportActionRefused, match="答复办结后"):
            committed_reopen(report, "理由")
    assert report.status == status


def test_reopen_needs_a_reason(client):
    code, secret = planted()
    resolve(code, days_ago=1)

    response = client.post(f"/reports/{code}/private/{secret}/reopen", data={"reason": " "})

    assert response.status_code == 422 and "请说明为什么问题没有解决" in main_text(response)
    assert load(code).status == "resolved"


def test_the_private_page_offers_confirm_and_reopen_only_in_the_window(client):
    code, secret = planted()
    confirm_form = f'action="/reports/{code}/private/{secret}/confirm"'
    assert confirm_form not in text_of(client.get(f"/reports/{code}/private/{secret}"))

    resolve(code, days_ago=1)

    assert confirm_form in text_of(client.get(f"/reports/{code}/private/{secret}"))


def test_rating_after_an_answer(client):
    code, secret = planted()
    refused = client.post(f"/reports/{code}/private/{secret}/rate", data={"stars": "5"})
    assert refused.status_code == 422 and "答复后才能评价" in main_text(refused)
    resolve(code, days_ago=1)

    response = client.post(f"/reports/{code}/private/{secret}/rate", data={"stars": "4", "comment": "处理及时"})

    assert response.status_code == 303
    report = load(code)
    assert report.rating == 4
    rated = [u for u in report.updates if u.kind == "rated"]
    assert [(u.text, u.public) for u in rated] == [("处理及时", False)]
    assert "处理及时" not in text_of(client.get(f"/reports/{code}"))


@pytest.mark.parametrize("stars", ["0", "6", "five", ""])
def test_rating_must_be_one_to_five_stars(client, stars):
    code, secret = planted()
    resolve(code, days_ago=1)

    response = client.post(f"/reports/{code}/private/{secret}/rate", data={"stars": stars})

    assert response.status_code == 422 and "请选择 1 到 5 星" in main_text(response)
    assert load(code).rating is None


def test_forms_need_the_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", data={"text": "补充"})

    assert response.status_code in (400, 422)
    assert db.session.scalar(select(func.count()).select_from(ReportUpdate).where(
        ReportUpdate.kind == "reporter_added")) == 0


# --- staff entries ------------------------------------------------------------------------------------------


def test_the_first_staff_entry_is_the_response_time(app):
    report, _ = make_report()
    first = utcnow() - timedelta(days=1)

    operations.record_status(report, "accepted", now=first)
    operations.record_status(report, None, "已派人核查")

    assert report.responded_at == first and report.status == "accepted"
    assert [u.kind for u in report.updates] == ["status", "status", "response"]
    with pytest.raises(ValueError):
        operations.record_status(report, "lost")
    with pytest.raises(ValueError):
        operations.record_status(report, "accepted")  # neither a change nor a word


# --- published reports: the list, the API, the map ----------------------------------------------------------


def test_the_list_shows_only_published_reports(client):
    shown, secret = planted(category="dead_fish")
    hidden, _ = planted(category="signboard")
    operations.publish(load(shown))
    commit_and_forget()

    response = client.get("/reports")

    page = main_text(response)
    assert shown in page and hidden not in page
    assert "死鱼" in page and "呼中镇" in page and "已公开的举报共 1 份" in page
    assert f'href="/reports/{shown}"' in text_of(response)
    assert_nothing_personal(text_of(response), secret)


def test_the_list_is_paged(client, monkeypatch):
    from portal.citizen import tracking_views

    monkeypatch.setattr(tracking_views, "REPORTS_PER_PAGE", 2)
    for _ in range(3):
        operations.publish(make_report()[0])
    commit_and_forget()

    first, second = main_text(client.get("/reports")), main_text(client.get("/reports?page=2"))

    assert "第 1 页，共 2 页" in first and "第 2 页，共 2 页" in second


def test_lookup_by_tracking_code(client):
    code, _ = planted()

    found = client.get("/reports", query_string={"code": f" {code.lower()} "})
    missing = client.get("/reports", query_string={"code": "ZZZZ9999"})

    assert found.status_code == 303 and found.headers["Location"].endswith(f"/reports/{code}")
    assert missing.status_code == 200
    assert "没有找到查询码为“ZZZZ9999”的举报" in main_text(missing)


def test_geojson_has_only_published_reports_at_approximate_positions(client):
    shown, secret = planted(description="桥下排口")
    planted(description="未公开的举报")
    unlocated, _ = planted(latitude=None, longitude=None)
    operations.publish(load(shown))
    operations.publish(load(unlocated))
    commit_and_forget()

    response = client.get("/api/v1/reports.geojson")

    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    collection = json.loads(response.get_data())
    (feature,) = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [123.589, 52.031]}
    props = feature["properties"]
    assert props["code"] == shown and props["status"] == "submitted" and props["description"] == "桥下排口"
    assert props["url"] == f"http://portal.test/reports/{shown}"
    body = text_of(response)
    assert_nothing_personal(body, secret)
    assert "未公开的举报" not in body and "52.031234" not in body


def test_map_offers_the_report_layer(client):
    html = text_of(client.get("/"))

    assert 'data-map-url="/api/v1/map"' in html  # the layer is asked of it with layer=reports
    strings = json.loads(html.split('id="map-strings">', 1)[1].split("</script>", 1)[0])
    assert strings["reports_layer"] == "在地图上显示公开的举报"


# --- escaping -----------------------------------------------------------------------------------------------


def test_scripts_in_reports_come_out_as_text_everywhere(client):
    report, secret = make_report(description=f"描述{XSS}", address_text=f"地点{XSS}", name=f"姓名{XSS}")
    code = report.tracking_code
    operations.record_status(report, "accepted", f"答复{XSS}")
    operations.publish(report)
    db.session.commit()
    committed_add_information(report, f"补充{XSS}", storage=storage_for(client.application))
    commit_and_forget()
    resolve(code, days_ago=1)
    client.post(f"/reports/{code}/private/{secret}/rate", data={"stars": "3", "comment": f"评价{XSS}"})

    for path in (f"/reports/{code}", f"/reports/{code}/private/{secret}", "/reports"):
        body = text_of(client.get(path))
        assert "<script>alert(1)</script>" not in body, path
    private = text_of(client.get(f"/reports/{code}/private/{secret}"))
    for escaped in ("描述&lt;script&gt;", "地点&lt;script&gt;", "姓名&lt;script&gt;", "答复&lt;script&gt;",
                    "补充&lt;script&gt;", "评价&lt;script&gt;"):
        assert escaped in private, escaped
    assert "答复&lt;script&gt;" in text_of(client.get(f"/reports/{code}"))
    geojson = client.get("/api/v1/reports.geojson")
    assert geojson.mimetype == "application/geo+json"  # data for map.js, which sets it as text, never as HTML
    assert geojson.get_json(force=True)["features"][0]["properties"]["description"] == f"描述{XSS}"


# --- photos: the cheap checks come before any decoding --------------------------------------------------


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """A PNG of a few KB whose header declares 6000 × 6700 = 40.2 million pixels (over the 40 M cap)."""
    buffer = io.BytesIO()
    Image.new("1", (6000, 6700)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def decoding(monkeypatch):
    """Counts every photo decoded (Pillow's load) and every photo opened (even only its header)."""
    from PIL import Image as PILImage

    calls = {"load": 0, "open": 0}
    load, open_ = PILImage.Image.load, PILImage.open

    def counted_load(self, *args, **kwargs):
        calls["load"] += 1
        return load(self, *args, **kwargs)

    def counted_open(*args, **kwargs):
        calls["open"] += 1
        return open_(*args, **kwargs)

    monkeypatch.setattr(PILImage.Image, "load", counted_load)
    monkeypatch.setattr(PILImage, "open", counted_open)
    return calls


def add_photos(client, code, secret, photos, **query):
    return client.post(f"/reports/{code}/private/{secret}/information", query_string=query,
                       content_type="multipart/form-data",
                       data={"text": "补充", "photos": [(io.BytesIO(data), f"p{i}.png") for i, data in enumerate(photos)]})


def test_hundreds_of_bomb_photos_on_the_private_page_are_refused_without_decoding_any(client, bomb_png, decoding):
    code, secret = planted()

    response = add_photos(client, code, secret, [bomb_png] * 300)

    assert response.status_code in (413, 422)
    assert "一次提交的文件太多" in main_text(response) and "补充说明" in main_text(response)
    assert decoding == {"load": 0, "open": 0}
    assert db.session.scalar(select(func.count()).select_from(ReportPhoto)) == 0


def test_more_photos_than_the_room_left_are_refused_before_opening_any(app, client, bomb_png, decoding):
    code, secret = planted()

    response = add_photos(client, code, secret, [bomb_png] * 7)

    assert response.status_code == 422 and "最多 6 张照片" in main_text(response)
    assert "补充" in text_of(response)  # what was typed is kept
    assert decoding == {"load": 0, "open": 0}


def test_a_photo_declaring_too_many_pixels_is_refused_from_its_header(client, bomb_png, decoding):
    code, secret = planted()
    good = jpeg()
    decoding.update(load=0, open=0)  # making the good photo decoded nothing of the request

    response = add_photos(client, code, secret, [good, bomb_png])

    assert response.status_code == 422 and "第 2 张照片（p1.png）" in main_text(response)
    assert "万像素" in main_text(response)
    assert decoding["load"] == 0  # not even the good photo is decoded while another is refused


def test_every_post_of_the_private_page_is_rate_limited(app, limited_client):
    limited_client.application.config["REPORTER_ACTION_RATE_LIMIT"] = "3 per hour"
    code, secret = planted()
    resolve(code, days_ago=1)  # so that the reopening form is on the page
    base = f"/reports/{code}/private/{secret}"

    answers = [limited_client.post(f"{base}/information", data={"text": "一"}).status_code,
               limited_client.post(f"{base}/rate", data={"stars": "5"}).status_code,
               limited_client.post(f"{base}/rate", data={"stars": "4"}).status_code]
    over = limited_client.post(f"{base}/reopen", data={"reason": "仍在排放，文字保留"})

    assert 429 not in answers and over.status_code == 429
    assert "提交过于频繁" in main_text(over) and "仍在排放，文字保留" in text_of(over)


def test_a_named_zero_byte_photo_is_refused_by_name(client):
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", content_type="multipart/form-data",
                           data={"text": "补充", "photos": [(io.BytesIO(b""), "empty-photo.jpg")]})

    assert response.status_code == 422 and "empty-photo.jpg" in main_text(response)
    assert "0 字节" in main_text(response)


def test_an_empty_file_input_is_no_photo(client):
    code, secret = planted()

    response = client.post(f"/reports/{code}/private/{secret}/information", content_type="multipart/form-data",
                           data={"text": "只有文字", "photos": [(io.BytesIO(b""), "")]})

    assert response.status_code == 303


@pytest.mark.parametrize("action, field", [("information", "text"), ("reopen", "reason"), ("rate", "comment")])
def test_a_nul_byte_on_the_private_page_is_refused_with_a_message(client, action, field):
    code, secret = planted()
    resolve(code, days_ago=1)
    data = {field: "仍\x00在排", "stars": "3"}

    response = client.post(f"/reports/{code}/private/{secret}/{action}", data=data)

    assert response.status_code == 422 and "控制字符" in main_text(response)
    assert db.session.scalar(select(func.count()).select_from(ReportUpdate).where(
        ReportUpdate.kind.in_(["reporter_added", "rated"]))) == 0


def test_an_expired_csrf_token_on_the_private_page_keeps_the_text(app, csrf_client):
    code, secret = planted()

    response = csrf_client.post(f"/reports/{code}/private/{secret}/information",
                                data={"text": "下午又排了一次", "csrf_token": "stale"})

    assert response.status_code == 400 and "页面已过期，请再提交一次" in main_text(response)
    assert "下午又排了一次" in text_of(response)
