"""Registry editing in a real browser: the bureau uploads its ledger, reads the dry run, confirms a new
town and imports; a town officer corrects one of their outfalls with a reason and finds it in the
history; axe finds nothing serious on the upload, dry-run and edit pages."""
from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from browser_server import new_page, serve_portal
from playwright.sync_api import expect
from test_back_office_journeys import _account, serious_violations, sign_in

BUREAU = Path(__file__).resolve().parents[2] / "examples" / "bureau"
ADMIN_SECRET = pyotp.random_base32()


def plant_staff(app):
    """The district's towns (from the bureau's boundaries), the bureau's administrator and 呼中镇's officer."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Town

    assert app.test_cli_runner().invoke(args=["import-areas", str(BUREAU / "towns.geojson")]).exit_code == 0
    huzhong = db.session.scalar(select(Town).where(Town.name == "呼中镇"))
    _account("admin", "ju.admin", "区生态环境局管理员", totp_secret=ADMIN_SECRET)
    _account("town", "hz.officer", "呼中镇承办人", town=huzhong)
    db.session.commit()


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory):
    """A portal without demo data that knows the district's towns and two members of staff."""
    with serve_portal(tmp_path_factory.mktemp("registry-edit"), "portal_registry_edit", prepare=plant_staff,
                      seed_demo=False) as url:
        yield url


@pytest.fixture
def desk(browser, registry_server):
    """A desk-sized browser page on that portal."""
    page = new_page(browser, registry_server, width=1280, height=900)
    yield page
    page.context.close()


def test_the_bureau_uploads_its_ledger_then_a_town_officer_corrects_an_outfall(desk, browser, registry_server, tmp_path):
    sign_in(desk, "ju.admin", ADMIN_SECRET)
    desk.goto("/admin/outfalls")
    desk.get_by_role("link", name="上传台账（先试运行）").click()
    assert serious_violations(desk) == []

    # A ledger with a misspelt town is refused by row and column, with the town it should be.
    typo = tmp_path / "台账-有笔误.csv"
    typo.write_text((BUREAU / "ledger.csv").read_text(encoding="utf-8-sig").replace(",呼源镇,", ",呼源,"),
                    encoding="utf-8-sig")
    desk.get_by_label("台账文件（.xlsx 或 .csv）").set_input_files(str(typo))
    desk.get_by_role("button", name="试运行（不写入）").click()
    expect(desk.get_by_role("alert")).to_contain_text("发现 1 处错误")
    expect(desk.locator("table")).to_contain_text("镇“呼源”不在系统中；是否应为“呼源镇”？")
    expect(desk.get_by_role("button", name="确认导入")).to_have_count(0)

    # The bureau's own file: the dry run lists the five additions; confirming imports them.
    desk.get_by_role("link", name="← 重新上传").click()
    desk.get_by_label("台账文件（.xlsx 或 .csv）").set_input_files(str(BUREAU / "ledger.csv"))
    desk.get_by_role("button", name="试运行（不写入）").click()
    expect(desk.locator("main")).to_contain_text("将新增 5 个")
    assert serious_violations(desk) == []
    desk.get_by_role("button", name="确认导入").click()
    expect(desk.get_by_role("status")).to_contain_text("已新增 5 个")

    officer = new_page(browser, registry_server, width=1280, height=900)
    try:
        sign_in(officer, "hz.officer")
        officer.goto("/admin/outfalls/HZ-WS-001")
        officer.get_by_role("link", name="编辑台账信息").click()
        expect(officer).to_have_url(re.compile(r"/admin/outfalls/HZ-WS-001/edit$"))
        assert serious_violations(officer) == []
        officer.get_by_label("整治时限").fill("2026年10月底")
        officer.get_by_label("修改原因").fill("区政府同意延期（呼政函〔2026〕12号）")
        officer.get_by_role("button", name="保存修改").click()
        expect(officer).to_have_url(re.compile(r"/admin/outfalls/HZ-WS-001$"))
        history = officer.locator("#history")
        expect(history).to_contain_text("2026-08-20 → 2026-10-31")
        expect(history).to_contain_text("呼中镇承办人")
        expect(history).to_contain_text("区政府同意延期（呼政函〔2026〕12号）")
        # Another town's outfall is not theirs to edit.
        assert officer.goto("/admin/outfalls/BS-XQ-001/edit").status == 404
    finally:
        officer.context.close()
