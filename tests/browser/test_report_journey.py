"""A resident reports a discharge from a phone, with JavaScript: pin on the map, a photo, submit."""
from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect


def test_report_with_a_pin_and_a_photo(page, tmp_path):
    photo = tmp_path / "河边.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (120, 110, 90)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())

    page.goto("/outfalls/DEMO-HZ-001")
    page.locator("a.button-report").first.click()
    expect(page).to_have_url(re.compile(r"/reports/new\?outfall=DEMO-HZ-001$"))
    expect(page.locator("#report-map")).to_be_visible()

    # Drop a pin near the centre of the map: the coordinates fill in.
    page.locator("#report-map").click(position={"x": 180, "y": 120})
    expect(page.locator("#lat")).not_to_have_value("")
    expect(page.locator("#lon")).not_to_have_value("")

    page.get_by_label("问题类型").select_option("dry_weather")
    page.get_by_label("情况描述").fill("晴天时管口一直在排浑水，有臭味。")
    page.locator("#photos").set_input_files(str(photo))
    expect(page.locator("#photo-thumbnails img")).to_have_count(1)
    page.get_by_label("同意在工作人员审核后公开这份举报（不含个人信息）").check()
    expect(page.locator("#live-preview")).to_contain_text("不公开您的姓名")
    page.get_by_label("我已阅读并同意隐私说明").check()
    page.get_by_role("button", name="提交举报").click()

    expect(page).to_have_url(re.compile(r"/reports/[2-9A-Z]{8}/submitted$"))
    code = page.locator(".tracking-code").inner_text()
    private_link = page.locator("a.private-link")
    expect(private_link).to_be_visible()
    # The copy button (external script) appears with JavaScript and says what happened.
    copy = page.get_by_role("button", name="复制私人链接")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator(".copy-status")).to_have_text(re.compile(r"已复制私人链接|无法自动复制"))
    private_href = private_link.get_attribute("href")
    # Shown once: a reload of the confirmation no longer carries the private link.
    page.reload()
    expect(page.locator(".tracking-code")).to_have_text(code)
    expect(page.locator("a.private-link")).to_have_count(0)
    page.goto(private_href)
    expect(page.locator("body")).to_contain_text(code)
    expect(page.locator("body")).to_contain_text("晴天时管口一直在排浑水")
