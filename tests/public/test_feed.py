"""/feed.atom: status changes as valid Atom, newest first, in words, never carrying personal data."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from factories import make_event, make_outfall, make_person, make_town
from helpers import commit_and_forget

ATOM = "{http://www.w3.org/2005/Atom}"
BEIJING = timezone(timedelta(hours=8))
CANARY_NAME = "甄某某测试"
CANARY_PHONE = "13987654321"


def entries(response):
    """The feed's entries as dicts of id, title, updated, link and summary."""
    root = ET.fromstring(response.get_data())
    assert root.tag == f"{ATOM}feed"
    return [
        {
            "id": entry.findtext(f"{ATOM}id"), "title": entry.findtext(f"{ATOM}title"),
            "updated": entry.findtext(f"{ATOM}updated"), "summary": entry.findtext(f"{ATOM}summary"),
            "link": entry.find(f"{ATOM}link[@rel='alternate']").get("href"),
        }
        for entry in root.findall(f"{ATOM}entry")
    ]


def at(day, hour=10):
    """A time on a day of July 2026 in the district."""
    return datetime(2026, 7, day, hour, 0, tzinfo=BEIJING)


@pytest.fixture
def history(app):
    """Two outfalls in two towns with created, public and private history entries."""
    farmer = make_person(CANARY_NAME)
    first = make_outfall("F-001", name="呼中镇养殖场排口", town=make_town("呼中镇"), party=farmer,
                         party_telephone=CANARY_PHONE, note=CANARY_NAME)
    second = make_outfall("F-002", name="碧水镇<雨水>排口 & 泵站", town=make_town("碧水镇"))
    make_event(first, kind="created", occurred_at=at(1))
    make_event(first, field="status", old="not_started", new="in_progress", occurred_at=at(2))
    make_event(first, field="party", old=CANARY_NAME, new="呼中镇人民政府", occurred_at=at(3))
    make_event(first, field="party_telephone", old=CANARY_PHONE, new="0457-3300000", occurred_at=at(4))
    make_event(first, field="note", old=None, new=f"{CANARY_NAME}家", occurred_at=at(5))
    make_event(first, field="deadline", old="2026-06-30", new="2026-09-30", occurred_at=at(6))
    make_event(second, kind="created", occurred_at=at(7))
    make_event(second, field="stage", old="tracing", new="rectification", occurred_at=at(8))
    make_event(second, field="measure", old=None, new="merge", occurred_at=at(9))
    commit_and_forget()


def test_feed_is_atom_with_the_public_changes_newest_first(client, history):
    response = client.get("/feed.atom")

    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.get_data())
    assert root.findtext(f"{ATOM}title") == "呼中区入河排污口整治动态"
    assert root.findtext(f"{ATOM}id").startswith("tag:portal.test,")
    assert root.find(f"{ATOM}author/{ATOM}name").text
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == "http://portal.test/feed.atom"
    assert root.findtext(f"{ATOM}updated") == "2026-07-09T10:00:00+08:00"
    found = entries(response)
    assert [entry["title"] for entry in found] == [
        "碧水镇<雨水>排口 & 泵站：整治类型由“空”改为“清理合并”",
        "碧水镇<雨水>排口 & 泵站：所处阶段由“溯源”改为“整治”",
        "碧水镇<雨水>排口 & 泵站（F-002）录入台账",
        "呼中镇养殖场排口：整治时限由“2026年6月30日”改为“2026年9月30日”",
        "呼中镇养殖场排口：整治进展由“未开始”改为“整治中”",
        "呼中镇养殖场排口（F-001）录入台账",
    ]
    assert found[0]["link"] == "http://portal.test/outfalls/F-002"
    assert found[-1]["link"] == "http://portal.test/outfalls/F-001"
    assert found[0]["updated"] == "2026-07-09T10:00:00+08:00"
    assert all(re.fullmatch(r"tag:portal\.test,2022:outfall-event:\d+", entry["id"]) for entry in found)
    assert len({entry["id"] for entry in found}) == len(found)
    assert "碧水镇" in found[0]["summary"] and "F-002" in found[0]["summary"]


def test_feed_never_carries_party_telephone_or_note_changes(client, history):
    body = client.get("/feed.atom").get_data(as_text=True)

    for secret in (CANARY_NAME, CANARY_NAME[1:], CANARY_PHONE, "0457-3300000", "人民政府"):
        assert secret not in body


def test_feed_takes_the_lists_filters(client, history):
    town = client.get("/outfalls", query_string={"q": "F-002"}).get_data(as_text=True)
    town_id = re.search(r'<option value="(\d+)"[^>]*>碧水镇</option>', town).group(1)

    response = client.get("/feed.atom", query_string={"town": town_id})

    found = entries(response)
    assert len(found) == 3 and all("F-002" in entry["link"] for entry in found)
    root = ET.fromstring(response.get_data())
    assert root.findtext(f"{ATOM}id").endswith(f":town={town_id}")
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == f"http://portal.test/feed.atom?town={town_id}"
    # A value the filter cannot read is ignored, as on the list.
    assert len(entries(client.get("/feed.atom", query_string={"type": "nonsense"}))) == 6


def test_feed_is_limited_to_the_latest_hundred(client, app):
    outfall = make_outfall("F-100")
    start = datetime(2026, 1, 1, tzinfo=BEIJING)
    for number in range(105):
        make_event(outfall, field="status", old="not_started", new="in_progress",
                   occurred_at=start + timedelta(hours=number))
    commit_and_forget()

    found = entries(client.get("/feed.atom"))

    assert len(found) == 100
    assert found[0]["updated"] == (start + timedelta(hours=104)).isoformat()
    assert found[-1]["updated"] == (start + timedelta(hours=5)).isoformat()


def test_an_empty_feed_is_still_valid_atom(client):
    root = ET.fromstring(client.get("/feed.atom").get_data())

    assert root.findall(f"{ATOM}entry") == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", root.findtext(f"{ATOM}updated"))
