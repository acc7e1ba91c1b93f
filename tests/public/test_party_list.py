"""/parties and /api/v1/parties.csv: each party with its basis and outfalls; persons masked, no person's telephone."""
from __future__ import annotations

import csv
import io
from datetime import date

from factories import make_outfall, make_party, make_person, make_town
from helpers import text_of
from portal.extensions import db
from portal.registry import parties


def world():
    """A farm kept by a person, a factory, and an outfall nobody is known for (its town government answers)."""
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    make_outfall("BS-XQ-001", name="碧水镇规模化养殖场排污口", town=bishui, party=make_person("张立新"),
                 party_basis="user", party_telephone="13904571234",
                 plan={"measure": "standardise", "deadline": date(2026, 8, 20), "status": "in_progress"})
    make_outfall("HZ-GY-001", name="呼中镇林产品加工厂排污口", town=huzhong, party=make_party("呼中镇林产品加工厂"),
                 party_basis="applicant", party_telephone="0457-3318271")
    unknown = make_outfall("HY-YS-001", name="呼源镇雨水排口", town=make_town("呼源镇"), plan=None)
    parties.assign_default_party(unknown)
    db.session.commit()
    return huzhong, bishui


def test_the_list_shows_parties_with_basis_and_outfalls_and_masks_persons(client):
    world()
    page = client.get("/parties")
    assert page.status_code == 200
    text = text_of(page)
    assert "张**" in text and "张立新" not in text and "13904571234" not in page.get_data(as_text=True)
    assert "呼中镇林产品加工厂" in text and "设置申请单位" in text and "实际使用单位" in text
    assert "呼源镇人民政府" in text and "属地人民政府（暂未查明）" in text
    assert "BS-XQ-001" in text and "整治中" in text and "2026年8月20日" in text


def test_the_list_filters_by_town_and_says_so_for_an_unknown_one(client):
    huzhong, _ = world()
    text = text_of(client.get(f"/parties?town={huzhong.id}"))
    assert "HZ-GY-001" in text and "BS-XQ-001" not in text
    text = text_of(client.get("/parties?town=abc"))
    assert "没有编号为“abc”的镇" in text and "BS-XQ-001" in text


def test_the_csv_masks_persons_and_carries_no_telephone(client):
    world()
    response = client.get("/api/v1/parties.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "责任主体"
    assert ["张**", "个人", "实际使用单位", "BS-XQ-001"] == rows[[r[3] for r in rows].index("BS-XQ-001")][:4]
    assert "张立新" not in body and "13904571234" not in body and "0457-3318271" not in body
    assert client.get("/api/v1/parties.csv?town=999").status_code == 400


def test_the_outfall_page_and_data_page_link_to_the_list(client):
    world()
    page = client.get("/outfalls/HZ-GY-001").get_data(as_text=True)
    assert "/parties?town=" in page and "设置申请单位" in page
    assert "/parties" in client.get("/data").get_data(as_text=True)
