"""Responsible parties: the town government answers by default, one record per town; the list groups outfalls by party."""
from __future__ import annotations

from factories import make_outfall, make_party, make_person, make_plan, make_town
from portal.extensions import db
from portal.models import ResponsibleParty
from portal.registry import parties


def test_an_outfall_without_a_party_gets_its_town_government_once_per_town(app):
    town = make_town("碧水镇")
    first, second = make_outfall(town=town, plan=None), make_outfall(town=town)
    assert parties.assign_default_party(first).name == "碧水镇人民政府"
    parties.assign_default_party(second)
    assert first.responsible_party is second.responsible_party
    assert (first.party_basis, first.responsible_party.kind) == ("default", "government")
    assert second.plan.responsible_party is second.responsible_party
    assert db.session.query(ResponsibleParty).filter_by(name="碧水镇人民政府").count() == 1


def test_a_known_party_is_left_alone(app):
    outfall = make_outfall(party=make_party("呼中镇林产品加工厂"), party_basis="applicant")
    assert parties.assign_default_party(outfall) is None
    assert outfall.responsible_party.name == "呼中镇林产品加工厂"


def test_several_units_of_one_outfall_each_answer_for_their_own_requirement(app):
    outfall = make_outfall("HZ-WS-001", party=make_party("呼中镇污水处理厂"), party_basis="user",
                           plan={"measures_text": "提标改造至一级A"})
    make_plan(outfall, responsible_party=make_person("张立新"), measures_text="养殖废水停止直排")
    entries = {e.party.public_name: e for e in parties.party_list()}
    assert set(entries) == {"呼中镇污水处理厂", "张**"}
    farmer = entries["张**"]
    assert farmer.bases == ["unit"] and [p.measures_text for p in farmer.outfalls[0].plans] == ["养殖废水停止直排"]
    assert entries["呼中镇污水处理厂"].bases == ["user"]
    rows = list(parties.csv_rows(parties.party_list()))
    assert all("张立新" not in cell for row in rows for cell in row)


def test_a_ledger_row_without_a_party_gets_its_town_government_and_a_contradicted_stage_is_corrected(app, tmp_path):
    from ledger_files import row, write_xlsx

    from portal.models import Outfall
    from portal.registry.ledger_import import import_ledger

    make_town("呼中镇")
    rows = [
        row("HZ-P-1", 责任主体=None, 责任主体联系电话=None, 整治类型=None, 整治措施=None, 整治时限=None, 整治进展=None,
            所处阶段="规范化建设", 责任主体认定依据=None, 认定说明=None),
        row("HZ-P-2", 所处阶段=None, 责任主体认定依据="实际使用单位", 认定说明="现场核实由该厂使用"),
    ]
    path = write_xlsx(tmp_path / "ledger.xlsx", rows, header=list(rows[0]))
    result = import_ledger(path)
    report = result.report()
    assert result.default_parties == ["HZ-P-1"] and "暂由属地镇人民政府负责：HZ-P-1" in report
    first = db.session.query(Outfall).filter_by(code="HZ-P-1").one()
    assert (first.responsible_party.name, first.party_basis, first.stage) == ("呼中镇人民政府", "default", "survey")
    assert "所处阶段填写为“规范化建设”，与数据不符" in report
    second = db.session.query(Outfall).filter_by(code="HZ-P-2").one()
    assert (second.party_basis, second.party_basis_note) == ("user", "现场核实由该厂使用")
    assert import_ledger(path).unchanged == 2  # idempotent: the default party is not assigned twice
