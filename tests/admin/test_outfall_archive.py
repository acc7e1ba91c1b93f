"""The back office's registry pages: the list of outfalls and one outfall's archive, by role and scope."""
from __future__ import annotations

from factories import make_outfall, make_town
from portal.extensions import db


def test_a_town_officer_lists_their_towns_outfalls_and_opens_one(client, make_account, sign_in):
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    mine = make_outfall(code="HZ-001", name="呼中镇一号口", town=huzhong)
    make_outfall(code="BS-001", name="碧水镇一号口", town=bishui)
    officer = make_account("town", town=huzhong)
    db.session.commit()
    sign_in(client, officer)

    listing = client.get("/admin/outfalls").get_data(as_text=True)
    assert "HZ-001" in listing and "BS-001" not in listing

    page = client.get(f"/admin/outfalls/{mine.code}")
    assert page.status_code == 200
    assert "呼中镇一号口" in page.get_data(as_text=True)


def test_an_outfall_outside_the_officers_town_is_not_found(client, make_account, sign_in):
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    make_outfall(code="BS-001", town=bishui)
    officer = make_account("town", town=huzhong)
    db.session.commit()
    sign_in(client, officer)
    assert client.get("/admin/outfalls/BS-001").status_code == 404
    assert client.get("/admin/outfalls/NO-SUCH").status_code == 404
