"""The bureau's standards in a real browser: an administrator adds the province's standard for rural
sewage facilities through the form, and a rural facility's public page then names it; a permit is
recorded on an outfall's archive page; axe on the standards pages at phone and desk width."""
from __future__ import annotations

import re

import pyotp
import pytest
from browser_server import new_page, serve_portal
from playwright.sync_api import expect
from sqlalchemy import select
from axe_playwright_python.sync_playwright import Axe
from test_back_office_journeys import _account, sign_in

ADMIN_SECRET = pyotp.random_base32()
PHONE, DESK = 390, 1280


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """The demo portal with an administrator; gives its URL and the codes of a rural facility and the
    outfall that holds the demo's permit."""
    planted = {}

    def prepare(app):
        """Plant the administrator and find the outfalls the tests visit."""
        from portal.db import transaction
        from portal.extensions import db
        from portal.models import Outfall

        with transaction():
            _account("admin", "standards_admin", "钱标准", totp_secret=ADMIN_SECRET)
        outfalls = db.session.scalars(select(Outfall).order_by(Outfall.code)).all()
        planted["rural"] = next(o.code for o in outfalls if o.outfall_subtype == "rural_treatment" and o.samples)
        planted["factory"] = next(o.code for o in outfalls if o.outfall_subtype == "industrial_enterprise"
                                  and not o.permits)

    with serve_portal(tmp_path_factory.mktemp("standards"), "portal_standards", prepare=prepare) as url:
        planted["url"] = url
        yield planted


@pytest.fixture(scope="module")
def signed_in(browser, portal):
    """The administrator's session, signed in once (a TOTP code works once, and only so many follow)."""
    page = new_page(browser, portal["url"])
    sign_in(page, "standards_admin", ADMIN_SECRET)
    state = page.context.storage_state()
    page.context.close()
    return state


@pytest.fixture
def admin_page(browser, portal, signed_in):
    """``admin_page(width)``: a page of that width in the administrator's session."""
    contexts = []

    def make(width: int = DESK):
        context = browser.new_context(base_url=portal["url"], storage_state=signed_in, locale="zh-CN",
                                      viewport={"width": width, "height": 844 if width == PHONE else 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page
    yield make
    for context in contexts:
        context.close()


def test_the_bureau_adds_a_rural_standard_and_the_facilitys_page_names_it(browser, portal, admin_page):
    page = admin_page()
    public = new_page(browser, portal["url"])
    public.goto(f"/outfalls/{portal['rural']}")
    expect(public.locator(".basis-explanation")).to_contain_text("黑龙江省的排放标准尚未录入，暂无限值")

    page.goto("/admin/standards")
    page.get_by_role("link", name="添加排放标准").click()
    page.get_by_label("标准编号").fill("DB23/T 0001-2026")
    page.get_by_label("级别（如 一级、一级A，没有则留空）").fill("一级")
    page.get_by_label("标准名称").fill("农村生活污水处理设施水污染物排放标准（演示）")
    page.get_by_label("适用范围").select_option(label="农村生活污水处理设施")
    page.get_by_label("第 1 行：监测项目").select_option("COD")
    page.get_by_label("第 1 行：上限").fill("60")
    page.get_by_label("第 2 行：监测项目").select_option("NH3-N")
    page.get_by_label("第 2 行：上限").fill("abc")
    page.get_by_role("button", name="保存标准").click()
    expect(page.locator("main")).to_contain_text("“abc”不是数字")
    page.get_by_label("第 2 行：上限").fill("8")
    page.get_by_role("button", name="保存标准").click()
    expect(page).to_have_url(re.compile(r"/admin/standards$"))
    expect(page.locator("main")).to_contain_text("已添加标准 DB23/T 0001-2026 一级")

    public.goto(f"/outfalls/{portal['rural']}")
    expect(public.locator(".basis-explanation")).to_contain_text(
        "农村污水处理设施：执行生态环境局录入的农村生活污水处理设施排放标准 DB23/T 0001-2026 一级")
    expect(public.locator("table.basis-limits")).to_contain_text("≤ 60 mg/L")
    public.context.close()


def test_a_permit_is_recorded_on_the_archive_page_and_takes_precedence(browser, portal, admin_page):
    page = admin_page()
    page.goto(f"/admin/outfalls/{portal['factory']}")
    page.locator("#standard").get_by_role("link", name="登记排污许可证").click()
    page.get_by_label("排污许可证编号").fill("91232700TEST0001P")
    page.get_by_label("有效期自").fill("2024-01-01")
    page.get_by_label("有效期至").fill("2030-12-31")
    page.get_by_label("第 1 行：监测项目").select_option("COD")
    page.get_by_label("第 1 行：上限").fill("50")
    page.get_by_role("button", name="登记许可证").click()
    expect(page.locator("main")).to_contain_text("已登记排污许可证 91232700TEST0001P")
    expect(page.locator("#standard .basis-explanation")).to_contain_text("许可限值优先")

    public = new_page(browser, portal["url"])
    public.goto(f"/outfalls/{portal['factory']}")
    expect(public.locator(".basis-explanation")).to_contain_text(
        "持有排污许可证 91232700TEST0001P（有效期 2024年1月1日 至 2030年12月31日）：许可限值优先")
    public.context.close()


def serious_violations(page, context: str | None = None) -> list[str]:
    """axe's violations of serious or critical impact, one line each (within ``context``, a selector)."""
    results = Axe().run(page, context=context)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [PHONE, DESK])
def test_the_standards_pages_have_no_serious_accessibility_violations(portal, admin_page, width):
    page = admin_page(width)
    problems = {}
    # The whole of the standards' own pages; on the archive and public pages, the parts this feature draws.
    for path, part in (("/admin/standards", None), ("/admin/standards/new", None),
                       (f"/admin/outfalls/{portal['factory']}", "#standard"),
                       (f"/admin/outfalls/{portal['factory']}/permits/new", None),
                       (f"/outfalls/{portal['factory']}", "#monitoring-basis")):
        response = page.goto(path)
        assert response.status == 200, path
        page.evaluate("() => document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
        if width == PHONE:
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE, path
        problems[path] = serious_violations(page, part)
    assert not any(problems.values()), "\n".join(f"{path}: {line}" for path, lines in problems.items() for line in lines)
