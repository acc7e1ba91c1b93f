"""Journeys through the registry pages in a real browser."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def test_search_the_list_by_code_and_open_the_outfall(page):
    page.goto("/outfalls")
    expect(page.locator("h1")).to_have_text("排污口名录")
    page.get_by_label("搜索排污口").fill("DEMO-HZ-003")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".result-count")).to_contain_text("共 1 个")
    page.get_by_role("link", name="DEMO-HZ-003").click()
    expect(page).to_have_url(re.compile(r"/outfalls/DEMO-HZ-003$"))
    expect(page.locator("h1")).to_contain_text("演示")


def test_switch_to_english_is_remembered_and_back(page):
    page.goto("/outfalls")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/outfalls/DEMO-HZ-001")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page).to_have_url(re.compile(r"/outfalls/DEMO-HZ-001$"))
