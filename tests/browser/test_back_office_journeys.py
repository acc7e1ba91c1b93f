"""The back office in a real browser: a town officer signs in, accepts and answers a report with an
after-fix photo, the reporter gets the e-mail (a real SMTP server in this process) and sees the answer;
another town's officer cannot open it; a phone-sized triage; axe on every kind of back-office page.

Screenshots of each page, at 390 px and 1280 px, are saved under the test's tmp_path.
"""
from __future__ import annotations

import email
import email.policy
import io
import re
import socket

import pyotp
import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from browser_server import new_page, serve_portal
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

REPORTER_EMAIL = "zhen.jubao@example.cn"
PASSWORD = "Hemian-2026-qingche"
ADMIN_SECRET = pyotp.random_base32()
OFFICER_NAME = "李承办"
SENDER = "呼中区排污口平台 <noreply@huzhong.example>"
REPLY = "经现场核查，管口已于今日封堵，排放已停止。"
PHONE, DESK = 390, 1280


def free_port() -> int:
    """A local TCP port that nothing listens on (for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailBox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages delivered to that address, as its mail program reads them."""
        return [email.message_from_bytes(content, policy=email.policy.default)
                for recipients, content in self.messages if address in recipients]


def _account(role: str, username: str, display_name: str, town=None, totp_secret: str | None = None):
    """A committed, active staff account with the shared test password (TOTP when a secret is given)."""
    from portal.accounts import passwords
    from portal.extensions import db
    from portal.models import Account
    from portal.models.types import utcnow
    from portal.reports import privacy

    account = Account(username=username, role=role, display_name=display_name,
                      password_hash=passwords.hash_password(PASSWORD), password_changed_at=utcnow(),
                      session_version=1, failed_logins=0, active=True, totp_enabled=bool(totp_secret), town=town)
    if totp_secret:
        account.totp_secret_sealed = privacy.seal(totp_secret)
    db.session.add(account)
    return account


def file_report(browser, base_url: str, description: str, lat: float, lon: float, *,
                email_address: str | None = None) -> tuple[str, str]:
    """A resident files a report through the public form's field-name contract; gives (tracking code,
    private link path) from the confirmation page, the one place the private link is shown."""
    page = new_page(browser, base_url)
    page.goto("/reports/new")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    fields = {"csrf_token": token, "lat": str(lat), "lon": str(lon), "category": "direct_discharge",
              "description": description, "reporter_name": "甄测试", "reporter_phone": "13900001234",
              "public": "y", "consent": "y", "submit": "提交举报"}
    if email_address:
        fields["reporter_email"] = email_address
    response = page.request.post("/reports/new", multipart=fields)
    assert response.ok and response.url.endswith("/submitted"), response.url
    html = response.text()
    page.context.close()
    code = re.search(r'class="tracking-code">([^<]+)<', html).group(1).strip()
    return code, re.search(r'class="private-link" id="private-link" href="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def back_office(browser, tmp_path_factory):
    """The portal on its own database, sending mail to a local SMTP server; with two reports of 呼中镇,
    officers of 呼中镇 and 碧水镇 and an administrator. Yields a dict of what the tests need."""
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    planted = {"mailbox": box}

    def prepare(app):
        """Plant the staff accounts (committed, as the accounts page would)."""
        from portal.db import transaction
        from portal.extensions import db
        from portal.models import Town

        with transaction():
            huzhong = db.session.scalar(select(Town).where(Town.name == "呼中镇"))
            bishui = db.session.scalar(select(Town).where(Town.name == "碧水镇"))
            _account("town", "hz_officer", OFFICER_NAME, town=huzhong)
            _account("town", "bs_officer", "王碧水", town=bishui)
            _account("admin", "district_admin", "赵管理", totp_secret=ADMIN_SECRET)
        planted["app"] = app

    try:
        with serve_portal(tmp_path_factory.mktemp("back_office"), "portal_back_office", prepare=prepare,
                          SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM=SENDER) as url:
            planted["url"] = url
            planted["code"], planted["private_link"] = file_report(
                browser, url, "桥下一根黑色管子往呼玛河直排灰色污水，有臭味。", 52.0306, 123.5888, email_address=REPORTER_EMAIL)
            planted["triage_code"], _ = file_report(browser, url, "河滨路旁排口冒白沫。", 52.0290, 123.5850)
            with planted["app"].app_context():
                from portal.extensions import db
                from portal.models import Report

                towns = {code: db.session.scalar(select(Report).where(Report.tracking_code == code)).town.name
                         for code in (planted["code"], planted["triage_code"])}
                db.session.remove()
            assert set(towns.values()) == {"呼中镇"}, towns  # both routed to 呼中镇 by the demo's boundaries
            yield planted
    finally:
        controller.stop()


@pytest.fixture
def open_page(browser, back_office):
    """``open_page(width)``: a fresh page (own cookies) of that width on the back office's server."""
    pages, refused = [], []

    def make(width: int = PHONE):
        page = new_page(browser, back_office["url"], width=width, height=844 if width == PHONE else 900)
        # The portal's own Content-Security-Policy must never have to refuse anything on these pages.
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        pages.append(page)
        return page
    yield make
    for page in pages:
        page.context.close()
    assert not refused, f"a page broke its Content-Security-Policy: {refused}"


def shoot(page, tmp_path, name: str) -> None:
    """A full-page screenshot under tmp_path, for a person to look at."""
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def fits_the_screen(page) -> bool:
    """Nothing on the page is wider than its viewport (no sideways scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def serious_violations(page) -> list[str]:
    """axe's violations of serious or critical impact, one line each."""
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


_last_steps: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    """A code the portal accepts now: a code is good once, so a second sign-in within the same 30 s
    takes the next step's (inside the portal's tolerance of one step)."""
    from portal.models.types import utcnow  # the portal's own clock, as the code step reads it

    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(utcnow()), _last_steps.get(secret, -1) + 1)
    _last_steps[secret] = step
    return totp.generate_otp(step)


def sign_in(page, username: str, totp_secret: str | None = None) -> None:
    """Sign in through /admin/login as a person would (and the code step when the account has TOTP)."""
    page.goto("/admin/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if totp_secret:
        expect(page).to_have_url(re.compile(r"/admin/login/code$"))
        page.get_by_label("6 位验证码").fill(fresh_code(totp_secret))
        page.get_by_role("button", name="确认").click()
    expect(page).not_to_have_url(re.compile(r"/admin/login"))


def open_step(page, summary: str):
    """Unfold one step of the report page (a <details>) and give its form."""
    step = page.locator("details.step").filter(has=page.locator("summary", has_text=re.compile(f"^{summary}$")))
    step.locator("summary").click()
    form = step.locator("form")
    expect(form).to_be_visible()
    return form


def after_fix_photo(tmp_path) -> str:
    """A JPEG as a phone camera would give it, on disk for the file input."""
    path = tmp_path / "整改后.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 768), (70, 120, 90)).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_town_officer_accepts_and_answers_with_a_photo_and_the_reporter_hears_and_sees_it(
        back_office, open_page, tmp_path):
    code, box = back_office["code"], back_office["mailbox"]
    page = open_page(DESK)
    sign_in(page, "hz_officer")
    page.goto("/admin/reports?queue=new")
    shoot(page, tmp_path, "queue-1280")
    card = page.locator(".report-card", has_text=code)
    expect(card).to_contain_text("待受理")
    card.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    shoot(page, tmp_path, "report-1280")

    open_step(page, "受理").get_by_role("button", name="确认").click()
    expect(page.get_by_role("status")).to_contain_text("已完成：受理")
    expect(page.locator("h1 .status")).to_have_text("已受理")

    answer = open_step(page, "答复办结")
    answer.get_by_label("答复（公开，告知举报人）").fill(REPLY)
    answer.get_by_label("整改后的照片").set_input_files(after_fix_photo(tmp_path))
    shoot(page, tmp_path, "answer-form-1280")
    answer.get_by_role("button", name="确认").click()
    expect(page.get_by_role("status")).to_contain_text("已完成：答复办结")
    expect(page.locator(".timeline")).to_contain_text(REPLY)
    staff_photo = page.get_by_role("img", name=re.compile("承办单位"))
    expect(staff_photo).to_have_count(1)
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", staff_photo.element_handle())
    shoot(page, tmp_path, "answered-1280")

    with back_office["app"].app_context():
        from portal.notify import deliver_due

        delivered = deliver_due()
    assert delivered.failed == 0 and delivered.retrying == 0, delivered
    mails = box.to(REPORTER_EMAIL)
    bodies = [mail.get_content() for mail in mails]
    about_the_answer = [body for body in bodies if REPLY in body]
    assert len(about_the_answer) == 1, bodies
    body = about_the_answer[0]
    assert code in body and f"/reports/{code}" in body
    assert OFFICER_NAME not in body and "hz_officer" not in body
    assert any("已受理" in b for b in bodies)  # acceptance was told too, in its own e-mail

    reporter = open_page(PHONE)
    reporter.goto(back_office["private_link"])
    expect(reporter.locator("main")).to_contain_text(REPLY)
    expect(reporter.locator("main")).to_contain_text("13900001234")  # their own page: their contact
    expect(reporter.get_by_role("button", name="确认问题已解决")).to_be_visible()  # the answer opened it
    photo = reporter.locator("main img").first  # the after-fix photo, under the private link
    expect(photo).to_be_visible()
    assert reporter.evaluate("(img) => img.complete && img.naturalWidth > 0", photo.element_handle())
    shoot(reporter, tmp_path, "private-390")

    reporter.goto(f"/reports/{code}")
    main = reporter.locator("main")
    timeline = main.locator("section", has=reporter.get_by_role("heading", name="办理过程"))
    expect(timeline).to_contain_text("状态更新为“已受理”")
    expect(timeline).to_contain_text("已受理，由呼中镇生态环境局办理")
    expect(timeline).to_contain_text(REPLY)
    expect(main.locator(".responses")).to_contain_text(REPLY)
    expect(main).not_to_contain_text(OFFICER_NAME)
    expect(main).not_to_contain_text("13900001234")
    assert fits_the_screen(reporter)
    shoot(reporter, tmp_path, "public-390")


def test_an_officer_of_another_town_gets_not_found_and_an_empty_queue(back_office, open_page, tmp_path):
    code = back_office["code"]
    page = open_page(DESK)
    sign_in(page, "bs_officer")
    response = page.goto(f"/admin/reports/{code}")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("桥下一根黑色管子")
    shoot(page, tmp_path, "not-found-1280")
    for queue in ("new", "mine", "due_soon", "overdue", "open", "all"):
        page.goto(f"/admin/reports?queue={queue}")
        expect(page.locator("main")).not_to_contain_text(code)
        expect(page.locator("main")).not_to_contain_text(back_office["triage_code"])
    page.goto(f"/admin/reports?queue=all&q={code}")
    expect(page.locator(".report-card")).to_have_count(0)


def test_a_town_officer_triages_on_a_phone(back_office, open_page, tmp_path):
    code = back_office["triage_code"]
    page = open_page(PHONE)
    sign_in(page, "hz_officer")
    menu = page.locator("details.admin-nav-phone")
    expect(menu).to_be_visible()
    expect(page.locator(".admin-nav-wide")).to_be_hidden()
    shoot(page, tmp_path, "home-390")
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name=re.compile("举报"))).to_be_visible()
    shoot(page, tmp_path, "menu-open-390")
    menu.get_by_role("link", name=re.compile("举报")).first.click()

    page.goto("/admin/reports?queue=new")
    expect(page.locator(".report-card", has_text=code)).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE
    shoot(page, tmp_path, "queue-390")
    page.locator("details.filters summary").click()
    shoot(page, tmp_path, "queue-filters-390")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE

    page.locator(".report-card", has_text=code).get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE
    shoot(page, tmp_path, "report-390")

    expect(page.locator("details.step").first).not_to_contain_text("CSRF")  # the token is hidden, not a field
    form = open_step(page, "受理")
    button = form.get_by_role("button", name="确认")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE
    button.click()
    expect(page.get_by_role("status")).to_contain_text("已完成：受理")

    note = open_step(page, "内部备注")
    field = note.get_by_label("内部备注（不公开）")
    field_box = field.bounding_box()
    assert field_box["x"] >= 0 and field_box["x"] + field_box["width"] <= PHONE
    field.fill("已电话联系社区，明早到现场。")
    shoot(page, tmp_path, "note-form-390")
    note.get_by_role("button", name="确认").click()
    expect(page.get_by_role("status")).to_contain_text("已完成：内部备注")
    expect(page.locator(".timeline")).to_contain_text("已电话联系社区，明早到现场。")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE
    shoot(page, tmp_path, "report-after-390")


@pytest.mark.parametrize("width", [PHONE, DESK])
def test_back_office_pages_have_no_serious_accessibility_violations(back_office, open_page, tmp_path, width):
    page = open_page(width)
    page.goto("/admin/login")
    shoot(page, tmp_path, f"login-{width}")
    problems = {"/admin/login": serious_violations(page)}
    sign_in(page, "district_admin", ADMIN_SECRET)
    for path in ("/admin/reports?queue=all", f"/admin/reports/{back_office['triage_code']}", "/admin/reports/new",
                 "/admin/accounts", "/admin/audit", "/admin/outbox"):
        response = page.goto(path)
        assert response.status == 200, path
        # Unfold the filters, the steps and the templates: axe should check what is folded away too.
        page.evaluate("() => document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
        name = re.sub(r"\W+", "-", path.strip("/"))
        shoot(page, tmp_path, f"{name}-{width}")
        if width == PHONE:
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE, path
        problems[path] = serious_violations(page)
    assert not any(problems.values()), "\n".join(f"{path}: {line}" for path, lines in problems.items() for line in lines)
