"""The report form end to end without JavaScript: photos, privacy, routing, outbox, refusals."""
from __future__ import annotations

import gc
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from factories import make_report
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OutboxMessage, Report, ReportPhoto
from portal.photos import storage_for
from portal import demo

CANARY = {"reporter_name": "甄测试", "reporter_phone": "13900001234", "reporter_email": "canary@example.com"}
# Inside the demo town 呼中镇, near its seat.
INSIDE_HUZHONG = {"lat": "52.0306", "lon": "123.5888"}


def gps_jpeg(lat=52.0306, lon=123.5888, size=(800, 600)) -> bytes:
    """A phone-like JPEG carrying GPS and time in its EXIF."""
    from PIL.TiffImagePlugin import IFDRational

    def dms(value):
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
        return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 100))

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 09:15:00"
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 140)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def post(client, photos=(), query=None, **fields):
    """Submit the form as a browser without JavaScript would (``query``: e.g. ``{"lang": "en"}``)."""
    data = {"category": "direct_discharge", "description": "河边有一根管子往河里排灰色污水。", "consent": "y",
            "submit": "提交举报", **INSIDE_HUZHONG, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return client.post("/reports/new", data=data, content_type="multipart/form-data", query_string=query)


def stored_files(app):
    """Every file under the photo storage, staging included."""
    root = storage_for(app).root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# Werkzeug's test client spools a large multipart body to a temporary file that it leaves to the
# garbage collector; the server side closes what it opens (citizen.uploads.read_uploads).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(autouse=True)
def reclaim_test_client_files():
    """Collect the test client's spooled bodies within the test that made them."""
    yield
    gc.collect()


@pytest.fixture
def towns(app):
    """The demo towns, rivers and chiefs, for routing."""
    from portal.db import transaction

    with transaction():
        demo.seed()


def test_form_works_without_javascript_and_redirects_to_the_confirmation(app, client, towns):
    form = client.get("/reports/new?outfall=DEMO-HZ-001")
    html = form.get_data(as_text=True)
    for name in ("lat", "lon", "outfall", "category", "description", "observed_at", "photos", "reporter_name",
                 "reporter_phone", "reporter_email", "anonymous", "public", "consent"):
        assert f'name="{name}"' in html
    assert 'enctype="multipart/form-data"' in html and 'value="DEMO-HZ-001"' in html

    response = post(client, photos=[("a.jpg", gps_jpeg()), ("b.jpg", gps_jpeg(size=(400, 300)))], **CANARY)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.search(r"/reports/[2-9A-Z]{8}/submitted$", location)
    confirmation = client.get(location).get_data(as_text=True)
    report = db.session.scalar(select(Report))
    assert report.tracking_code in confirmation and "/private/" in confirmation
    assert report.town.name == "呼中镇" and report.routing_reasons and report.department_code
    assert len(report.photos) == 2 and len(stored_files(app)) == 4  # images and thumbnails, none staged
    for photo in report.photos:
        stored = Image.open(io.BytesIO(storage_for(app).open(photo.storage_key)))
        assert not stored.getexif() and "exif" not in stored.info


def test_contact_is_encrypted_at_rest(app, client, towns):
    post(client, **CANARY)
    raw = db.session.execute(select(Report.reporter_name_sealed, Report.reporter_phone_sealed,
                                    Report.reporter_email_sealed)).one()
    for sealed, plain in zip(raw, CANARY.values()):
        assert sealed and plain.encode() not in bytes(sealed)
    from portal.reports.privacy import unseal
    assert [unseal(s) for s in raw] == list(CANARY.values())


def test_anonymous_report_keeps_no_contact(app, client, towns):
    post(client, anonymous="y", **CANARY)
    report = db.session.scalar(select(Report))
    assert report.anonymous and report.reporter_name_sealed is None and report.reporter_phone_sealed is None


def test_photo_position_and_time_are_offered_in_the_preview(app, client, towns):
    response = post(client, photos=[("p.jpg", gps_jpeg(52.031, 123.589))], lat=None, lon=None, preview="预览",
                    submit=None)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and count(Report) == 0
    assert 'value="52.031000"' in html and 'value="123.589000"' in html
    assert 'value="2026-11-20T09:15"' in html
    assert "已附上的照片（1 张" in html and "不会公开" in html


def test_position_from_photo_when_none_given(app, client, towns):
    assert post(client, photos=[("p.jpg", gps_jpeg(52.031, 123.589))], lat=None, lon=None).status_code == 303
    report = db.session.scalar(select(Report))
    assert report.location_source == "photo" and abs(report.latitude - 52.031) < 1e-4


@pytest.mark.parametrize("name, content, words", [
    ("photo.jpg", "这不是图片".encode() * 100, "不是可识别的图片"),
    ("big.jpg", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024), "每张最多 10 MB"),
])
def test_a_bad_photo_refuses_the_report_keeps_the_text_and_stores_nothing(app, client, towns, name, content, words):
    response = post(client, photos=[("ok.jpg", gps_jpeg()), (name, content)], description="灰色污水，气味刺鼻")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and words in html and "第 2 张照片" in html
    assert "灰色污水，气味刺鼻" in html
    assert count(Report) == 0 and count(ReportPhoto) == 0 and stored_files(app) == []


def test_decompression_bomb_is_refused(app, client, towns):
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    response = post(client, photos=[("bomb.png", buffer.getvalue())])
    assert response.status_code == 400 and count(Report) == 0 and stored_files(app) == []


def test_a_failed_commit_leaves_no_row_and_no_file(app, client, towns, monkeypatch):
    def fail():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", fail)
    with pytest.raises(RuntimeError):
        post(client, photos=[("a.jpg", gps_jpeg())])
    monkeypatch.undo()
    db.session.rollback()
    assert count(Report) == 0 and stored_files(app) == []


def test_validation_messages_keep_what_was_typed(app, client, towns):
    response = post(client, reporter_phone="12345", description="晴天排水", consent=None)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请填写有效的手机号码" in html and "请阅读隐私说明并勾选同意" in html and "晴天排水" in html
    assert count(Report) == 0


def test_a_place_is_required(app, client, towns):
    response = post(client, lat=None, lon=None)
    assert response.status_code == 400 and "请告诉我们地点" in response.get_data(as_text=True)


def test_honeypot_refuses_silently_for_bots(app, client, towns):
    assert post(client, website="http://spam.example").status_code == 400
    assert count(Report) == 0


def test_rate_limit_per_address_keeps_the_text(app, limited_client, towns):
    limited_client.application.config["REPORT_RATE_LIMIT"] = "2 per hour"

    assert post(limited_client).status_code == 303
    assert post(limited_client).status_code == 303
    response = post(limited_client, description="第三次举报的内容")

    assert response.status_code == 429
    assert "提交过于频繁" in response.get_data(as_text=True) and "第三次举报的内容" in response.get_data(as_text=True)
    assert count(Report) == 2


def test_only_accepted_submissions_count_against_the_submission_limit(app, limited_client, towns):
    limited_client.application.config.update(REPORT_RATE_LIMIT="2 per hour", REPORT_ATTEMPT_RATE_LIMIT="10 per hour")

    previews = [post(limited_client, submit=None, preview="预览").status_code for _ in range(5)]
    refused = post(limited_client, description="").status_code
    accepted = [post(limited_client).status_code for _ in range(3)]

    assert previews == [200] * 5 and refused == 400
    assert accepted == [303, 303, 429]
    assert count(Report) == 2


def test_previews_and_refusals_have_a_budget_of_their_own(app, limited_client, towns):
    limited_client.application.config.update(REPORT_RATE_LIMIT="2 per hour", REPORT_ATTEMPT_RATE_LIMIT="3 per hour")

    attempts = [post(limited_client, submit=None, preview="预览").status_code for _ in range(2)]
    attempts.append(post(limited_client, description="").status_code)
    over = post(limited_client, submit=None, preview="预览", description="还没提交的描述")

    assert attempts == [200, 200, 400] and over.status_code == 429
    assert "还没提交的描述" in over.get_data(as_text=True)


def test_a_resident_who_used_up_the_submission_limit_can_still_preview(app, limited_client, towns):
    limited_client.application.config.update(REPORT_RATE_LIMIT="1 per hour", REPORT_ATTEMPT_RATE_LIMIT="10 per hour")
    assert post(limited_client).status_code == 303

    preview = post(limited_client, submit=None, preview="预览", description="再看一眼的描述")
    another = post(limited_client, description="第二份举报的描述")

    assert preview.status_code == 200 and "再看一眼的描述" in preview.get_data(as_text=True)
    assert another.status_code == 429 and "第二份举报的描述" in another.get_data(as_text=True)


def test_report_and_its_messages_are_written_together_and_carry_no_identity(app, client, towns):
    app.config["REPORT_NOTIFY_EMAILS"] = {"呼中镇": ["town@example.cn"], "*": ["bureau@example.cn"]}
    app.config["REPORT_NOTIFY_WEBHOOKS"] = ["http://127.0.0.1:9/robot"]
    post(client, **CANARY)
    # The reporter's own e-mail (their private link) is theirs; every message to others names nobody.
    messages = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient != CANARY["reporter_email"])).all()
    assert sorted(m.recipient for m in messages) == ["bureau@example.cn", "http://127.0.0.1:9/robot",
                                                   "town@example.cn"]
    assert all(m.status == "pending" for m in messages)
    for message in messages:
        text = f"{message.subject} {message.body} {message.payload}"
        assert not any(value in text for value in CANARY.values())


def test_nearby_open_reports_are_offered_and_me_too_counts_once(app, client, towns):
    existing, _ = make_report(latitude=52.0307, longitude=123.5889, created_at=datetime.now(timezone.utc))
    far, _ = make_report(latitude=52.2, longitude=123.1, created_at=datetime.now(timezone.utc))
    old, _ = make_report(latitude=52.0306, longitude=123.5888,
                         created_at=datetime.now(timezone.utc) - timedelta(days=40))
    db.session.commit()
    html = client.get("/reports/new?lat=52.0306&lon=123.5888").get_data(as_text=True)
    assert existing.tracking_code in html and far.tracking_code not in html and old.tracking_code not in html
    nearby = client.get("/reports/nearby.json?lat=52.0306&lon=123.5888").get_json()
    assert [r["code"] for r in nearby["reports"]] == [existing.tracking_code]
    client.post(f"/reports/{existing.tracking_code}/me-too")
    client.post(f"/reports/{existing.tracking_code}/me-too")
    db.session.refresh(existing)
    assert existing.me_too_count == 1


def test_text_is_escaped_in_the_preview(app, client, towns):
    html = post(client, description="<script>alert(1)</script>", public="y", preview="预览",
                submit=None).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_sweep_photos_moves_registered_staged_files_and_deletes_orphans(app, runner, towns):
    import os
    import time

    from portal.models import Report as ReportModel

    storage = storage_for(app)
    orphan = storage.stage(gps_jpeg())
    kept = storage.stage(gps_jpeg(size=(100, 80)))
    report, _ = make_report()
    report.photos.append(ReportPhoto(slot=1, storage_key=kept.key, thumbnail_key="t" + kept.key[1:], width=1, height=1,
                                     sha256="0" * 64))
    db.session.commit()
    old = time.time() - 3 * 3600
    for staged in (orphan, kept):
        os.utime(staged.path, (old, old))
    result = runner.invoke(args=["sweep-photos", "--older-than-hours", "1"])
    assert result.exit_code == 0 and "已归位 1 个，已删除 1 个" in result.output
    assert storage.open(kept.key) and not orphan.path.exists()
    assert db.session.scalar(select(func.count()).select_from(ReportModel)) == 1


def test_the_reporters_identity_reaches_no_public_response(app, client, towns):
    """Plant a canary contact in a published, answered report; look for it everywhere the public can."""
    import zipfile

    from portal.reports import operations

    post(client, photos=[("a.jpg", gps_jpeg())], public="y", outfall="DEMO-HZ-001", **CANARY)
    report = db.session.scalar(select(Report))
    operations.publish(report)
    operations.record_status(report, "resolved", "已现场核查并封堵。", public=True)
    db.session.commit()
    paths = ["/", "/outfalls", "/outfalls/DEMO-HZ-001", "/reports", f"/reports/{report.tracking_code}",
             "/feed.atom", "/progress", "/data", "/rivers", "/api/v1/outfalls.geojson", "/api/v1/outfalls.csv",
             "/api/v1/reports.geojson", "/reports/nearby.json?lat=52.0306&lon=123.5888",
             f"/reports/{report.tracking_code}/submitted", "/?lang=en", f"/reports/{report.tracking_code}?lang=en"]
    fresh = app.test_client()  # a member of the public: not the reporter's session
    for path in paths + ["/api/v1/outfalls.xlsx"]:
        response = fresh.get(path)
        assert response.status_code == 200, path
        body = response.get_data()
        if path.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                body = b"".join(archive.read(name) for name in archive.namelist())
        for value in CANARY.values():
            assert value.encode() not in body, f"{value} leaked on {path}"
    assert "/private/" not in fresh.get(f"/reports/{report.tracking_code}/submitted").get_data(as_text=True)


def test_served_photos_carry_no_metadata(app, client, towns):
    response = post(client, photos=[("a.jpg", gps_jpeg())])
    private = client.get(response.headers["Location"]).get_data(as_text=True)
    private_url = re.search(r'href="(/reports/[^"]+/private/[^"]+)"', private).group(1)
    page = client.get(private_url).get_data(as_text=True)
    photo_urls = set(re.findall(r'src="(/reports/[^"]+/photos/\d+[^"]*)"', page))
    assert photo_urls
    for url in photo_urls:
        served = client.get(url.replace("&amp;", "&"))
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        image = Image.open(io.BytesIO(served.get_data()))
        assert not image.getexif() and "exif" not in image.info and b"Exif" not in served.get_data()[:4096]


def test_xss_in_every_text_field_comes_out_escaped(app, client, towns):
    payload = "<script>alert(1)</script>"
    fields = {"description": payload, "address": payload, "reporter_name": payload, "outfall": None,
              "public": "y"}
    preview = post(client, preview="预览", submit=None, **fields).get_data(as_text=True)
    assert payload not in preview and "&lt;script&gt;" in preview
    response = post(client, **fields)
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    private_url = re.search(r'href="(/reports/[^"]+/private/[^"]+)"', confirmation).group(1)
    report = db.session.scalar(select(Report))
    for page in (client.get(private_url), client.get(f"/reports/{report.tracking_code}"), client.get("/reports/new")):
        assert payload not in page.get_data(as_text=True)


# --- nearby reports never tell an unpublished report's position better than its ~100 m cell -------------


def nearby_answers(client, points):
    """The /reports/nearby.json answer (code → metres) for each query point."""
    answers = []
    for lat, lon in points:
        response = client.get("/reports/nearby.json", query_string={"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
        assert response.status_code == 200
        answers.append({r["code"]: r["metres"] for r in response.get_json()["reports"]})
    return answers


def test_nearby_reports_reveal_nothing_finer_than_the_published_rounding(app, client):
    from portal.models.types import utcnow

    # Two positions 45 m apart inside the same 0.001° cell (52.031, 123.589).
    first, second = (52.031234, 123.588876), (52.030850, 123.589300)
    report, _ = make_report(latitude=first[0], longitude=first[1], created_at=utcnow())
    db.session.commit()
    points = [(first[0] + dlat * 0.0004, first[1] + dlon * 0.0006) for dlat in range(-5, 6, 2) for dlon in range(-5, 6, 2)]

    seen_at_first = nearby_answers(client, points)
    report.latitude, report.longitude = second
    db.session.commit()
    seen_at_second = nearby_answers(client, points)

    assert any(seen_at_first)  # the report is found from near points…
    assert seen_at_first == seen_at_second  # …but nothing tells where in its cell it is
    assert all(metres % 50 == 0 for answer in seen_at_first for metres in answer.values())


def test_the_form_lists_nearby_reports_in_coarse_distances(app, client):
    from portal.models.types import utcnow

    make_report(latitude=52.031234, longitude=123.588876, created_at=utcnow())
    db.session.commit()

    page = client.get("/reports/new", query_string={"lat": "52.0310", "lon": "123.5880"}).get_data(as_text=True)

    assert "约 50 米" in page  # 0.001° cell centre (52.031, 123.589) is ~68 m away: told as 50, never 60-odd


@pytest.mark.parametrize("lat, lon", [("1e999", "123.5"), ("nan", "123.5"), ("52.0", "inf"), ("-inf", "nan"),
                                      ("abc", "1"), ("", ""), ("52.0", "")])
def test_nearby_refuses_a_point_that_is_not_one(client, lat, lon):
    response = client.get("/reports/nearby.json", query_string={"lat": lat, "lon": lon})

    assert response.status_code == 400 and response.get_json()["error"]


@pytest.mark.parametrize("lat, lon", [("1e999", "123.5"), ("nan", "nan"), ("52.0", "-inf")])
def test_the_form_with_a_point_that_is_not_one_is_still_the_form(client, lat, lon):
    shown = client.get("/reports/new", query_string={"lat": lat, "lon": lon})
    posted = post(client, lat=lat, lon=lon, description="坐标无效的举报")

    assert shown.status_code == 200 and 'id="report-form"' in shown.get_data(as_text=True)
    assert posted.status_code == 400 and "超出范围" in posted.get_data(as_text=True)
    assert "坐标无效的举报" in posted.get_data(as_text=True)


# --- every refusal in the visitor's language ----------------------------------------------------------------

CJK = re.compile(r"[\u3400-\u9fff]")


def refusals(response) -> str:
    """The text of every alert on the page (the refusal summary and messages), tags stripped."""
    html = response.get_data(as_text=True)
    blocks = re.findall(r'<(div|section|p|ul)[^>]*role="alert"[^>]*>(.*?)</\1>', html, flags=re.S)
    blocks += re.findall(r'<(ul) class="field-errors"[^>]*>(.*?)</\1>', html, flags=re.S)
    return " ".join(" ".join(re.sub(r"<[^>]+>", " ", body).split()) for _, body in blocks)


ENGLISH_REFUSALS = {
    "no place": dict(lat=None, lon=None),
    "unknown outfall": dict(outfall="NOPE-42"),
    "too many photos": dict(photos=[(f"p{i}.jpg", None) for i in range(7)]),
    "not an image": dict(photos=[("notes.jpg", b"just some text, not a photo")]),
    "empty photo": dict(photos=[("empty.jpg", b"")]),
    "no description": dict(description=""),
    "bad phone": dict(reporter_phone="12345"),
    "bad email": dict(reporter_email="not-an-address"),
    "future time": dict(observed_at="2999-01-01T10:00"),
    "ancient time": dict(observed_at="0001-01-01T00:00"),
    "bad time": dict(observed_at="yesterday"),
    "infinite latitude": dict(lat="1e999"),
    "no consent": dict(consent=None),
    "control characters": dict(description="line\x00with a NUL"),
    "half a position": dict(lon=None),
    "no category": dict(category=""),
    "honeypot": dict(website="http://spam.example"),
}


@pytest.mark.parametrize("case", sorted(ENGLISH_REFUSALS))
def test_every_refusal_of_the_form_is_in_english_when_english_is_chosen(app, client, towns, case):
    fields = dict(ENGLISH_REFUSALS[case])
    photos = [(name, gps_jpeg(size=(40, 30)) if data is None else data) for name, data in fields.pop("photos", [])]

    response = post(client, photos=photos, query={"lang": "en"}, **fields)

    assert response.status_code == 400
    text = refusals(response)
    assert text and not CJK.search(text), text
    assert count(Report) == 0


def test_a_body_too_large_and_too_many_requests_are_refused_in_english(app, client, limited_client, towns):
    app.config["MAX_CONTENT_LENGTH"] = limited_client.application.config["MAX_CONTENT_LENGTH"] = 20_000
    limited_client.application.config["REPORT_ATTEMPT_RATE_LIMIT"] = "1 per hour"
    english = {"lang": "en"}

    too_large = post(client, photos=[("big.jpg", b"x" * 30_000)], query=english)
    post(limited_client, description="", query=english)
    too_many = post(limited_client, description="", query=english)

    assert too_large.status_code == 413 and refusals(too_large) and not CJK.search(refusals(too_large))
    assert too_many.status_code == 429 and refusals(too_many) and not CJK.search(refusals(too_many))


# --- bad bytes and odd requests -----------------------------------------------------------------------------

TEXT_FIELDS = ("lat", "lon", "outfall", "address", "category", "description", "observed_at", "reporter_name",
               "reporter_phone", "reporter_email", "website")
ODD_VALUES = ("\x00", "河\x00水", "\x07\x1b[31m", "x" * 5000, "𝔘ñí©ødé 🐟 \u202eevil", "' OR 1=1 --", "１２３", "\ufeff\u0301\ufffd")


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_odd_values_in_any_field_get_a_message_never_a_500(app, client, towns, field):
    for value in ODD_VALUES:
        response = post(client, **{field: value})

        assert response.status_code in (303, 400), (field, repr(value), response.status_code)
        if response.status_code == 400:
            assert 'role="alert"' in response.get_data(as_text=True), (field, repr(value))
    stored = db.session.scalars(select(Report)).all()
    assert not any("\x00" in (r.description + (r.address_text or "")) for r in stored)


def test_a_nul_byte_is_refused_with_a_message_naming_the_field(client, towns):
    response = post(client, description="管子\x00排水", address="桥下")

    assert response.status_code == 400 and "控制字符" in refusals(response) and "情况描述" in refusals(response)
    assert count(Report) == 0


def test_head_of_the_form_answers_like_get(client):
    head, get = client.head("/reports/new"), client.get("/reports/new")

    assert head.status_code == get.status_code == 200
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


# --- the private link: shown once, never readable in the cookie, e-mailed to the reporter ------------------


def session_cookie_text(client) -> str:
    """Everything the session cookie says, base64 segments decoded (and inflated when compressed)."""
    import base64
    import zlib

    cookie = client.get_cookie("session", domain="portal.test") or client.get_cookie("session")
    assert cookie is not None
    value = cookie.value.lstrip(".")
    decoded = []
    for part in value.split("."):
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            pass
        decoded.append(raw.decode("utf-8", "replace"))
    return value + " " + " ".join(decoded)


def secret_from(page: str) -> str:
    return re.search(r"/private/([A-Za-z0-9_-]+)", page).group(1)


def test_the_private_link_is_shown_once_and_never_readable_in_the_cookie(client, towns):
    response = post(client, **CANARY)
    cookie = session_cookie_text(client)
    first = client.get(response.headers["Location"]).get_data(as_text=True)
    secret = secret_from(first)
    second = client.get(response.headers["Location"]).get_data(as_text=True)

    assert secret not in cookie
    assert "/private/" not in second and secret not in second
    assert db.session.scalar(select(Report.tracking_code)) in second  # the page itself still answers
    assert 'data-copy-from="private-link"' in first and "js/copy_link.js" in first
    assert "<script>" not in first.split("<main", 1)[1]  # the copy button's script is external


def test_the_private_link_is_e_mailed_to_a_reporter_who_gave_an_address(client, towns):
    response = post(client, **CANARY)
    secret = secret_from(client.get(response.headers["Location"]).get_data(as_text=True))

    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == CANARY["reporter_email"])).all()
    assert len(mails) == 1
    code = db.session.scalar(select(Report.tracking_code))
    assert f"/reports/{code}/private/{secret}" in mails[0].body and code in mails[0].subject


def test_the_e_mail_is_in_english_for_a_reporter_who_used_the_form_in_english(client, towns):
    post(client, query={"lang": "en"}, **CANARY)

    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == CANARY["reporter_email"]))
    assert mail is not None and "/private/" in mail.body
    assert not CJK.search(mail.subject) and "private link" in mail.body


@pytest.mark.parametrize("fields", [{}, {**CANARY, "anonymous": "y"}, {"reporter_name": "甄测试"}])
def test_no_private_link_e_mail_without_an_address_or_when_anonymous(client, towns, fields):
    assert post(client, **fields).status_code == 303

    bodies = db.session.scalars(select(OutboxMessage.body)).all()
    assert not any("/private/" in body for body in bodies)


# --- an expired page ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query, message", [(None, "页面已过期，请再提交一次"), ({"lang": "en"}, "The page has expired")])
def test_an_expired_csrf_token_shows_the_form_again_with_everything_kept(csrf_client, towns, query, message):
    response = post(csrf_client, query=query, csrf_token="stale-token-from-an-hour-ago",
                    description="桥下有灰水直排入河", address="东桥下游 200 米", reporter_name="Zhen Ceshi")
    html = response.get_data(as_text=True)

    assert response.status_code == 400 and message in refusals(response)
    assert "桥下有灰水直排入河" in html and "东桥下游 200 米" in html and "Zhen Ceshi" in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert token and token.group(1) != "stale-token-from-an-hour-ago"
    if query:
        assert not CJK.search(refusals(response))
    assert count(Report) == 0


def test_the_fresh_token_of_the_expired_page_is_accepted(csrf_client, towns):
    html = post(csrf_client, csrf_token="stale").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    assert post(csrf_client, csrf_token=token).status_code == 303


# --- photos kept across a preview without JavaScript -------------------------------------------------------


def kept_token(response) -> str:
    match = re.search(r'name="staged_photos" value="([^"]+)"', response.get_data(as_text=True))
    return match.group(1) if match else ""


def test_photos_chosen_before_a_preview_are_kept_and_submitted(app, client, towns):
    preview = post(client, photos=[("a.jpg", gps_jpeg()), ("b.jpg", gps_jpeg(size=(400, 300)))],
                   submit=None, preview="预览")
    token = kept_token(preview)

    assert preview.status_code == 200 and token and "已附上的照片（2 张" in text_of_page(preview)
    submitted = post(client, staged_photos=token)
    assert submitted.status_code == 303
    report = db.session.scalar(select(Report))
    assert len(report.photos) == 2 and [p.slot for p in report.photos] == [1, 2]
    assert len(stored_files(app)) == 4 and not any(".staging" in str(p) for p in stored_files(app))


def test_kept_photos_count_against_the_limit(app, client, towns):
    app.config["REPORT_PHOTO_LIMIT"] = 2
    token = kept_token(post(client, photos=[("a.jpg", gps_jpeg(size=(40, 30)))] * 2, submit=None, preview="预览"))

    refused = post(client, photos=[("c.jpg", gps_jpeg(size=(40, 30)))], staged_photos=token)

    assert refused.status_code == 400 and "最多 2 张照片" in refusals(refused)
    assert kept_token(refused)  # the two kept photos are still attached
    assert count(Report) == 0


def test_nobody_can_claim_another_visitors_kept_photos(app, client, towns):
    token = kept_token(post(client, photos=[("a.jpg", gps_jpeg(size=(40, 30)))], submit=None, preview="预览"))
    stranger = app.test_client()

    stolen = post(stranger, staged_photos=token)
    forged = post(stranger, staged_photos=token[:-4] + "AAAA")

    assert stolen.status_code == forged.status_code == 303
    assert all(len(report.photos) == 0 for report in db.session.scalars(select(Report)))


def test_photos_of_a_refused_form_are_kept_too(app, client, towns):
    refused = post(client, photos=[("a.jpg", gps_jpeg(size=(40, 30)))], description="")
    token = kept_token(refused)

    assert refused.status_code == 400 and token
    assert post(client, staged_photos=token).status_code == 303
    assert len(db.session.scalar(select(Report)).photos) == 1


def text_of_page(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())
