"""Exporting the ledger: the bureau's shape, and export → import changes nothing."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Outfall, OutfallEvent
from portal.registry.ledger_export import export_ledger
from portal.registry.ledger_format import csv_protected
from committing import import_ledger
from factories import make_outfall, make_town
from ledger_files import BUREAU_TOWNS, flat_header, row, write_csv


@pytest.fixture(autouse=True)
def district_towns(app):
    """The district's towns exist before a ledger is imported (a new town must be confirmed)."""
    for name in BUREAU_TOWNS:
        make_town(name)
    db.session.commit()


def test_export_has_title_merged_two_row_header_and_one_row_per_outfall(app, tmp_path, sample_ledger):
    import_ledger(sample_ledger)
    assert export_ledger(tmp_path / "out.xlsx") == 24
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert "入河排污口排查整治台账" in sheet["A1"].value
    header = [cell.value for cell in sheet[3]]
    sub_header = [cell.value for cell in sheet[4]]
    assert header[:2] == ["序号", "排污口编码"] and "整治情况" in header
    assert {"整治类型", "整治措施", "整治时限", "整治进展"} <= set(sub_header)
    group = header.index("整治情况")
    assert any(str(r) == f"{sheet.cell(3, group + 1).coordinate}:{sheet.cell(3, group + 8).coordinate}"
               for r in sheet.merged_cells.ranges)
    first = [cell.value for cell in sheet[5]]
    assert first[1] == "HZ-S-0001" and "呼中镇冷水鱼养殖场入碧水河排污口" in first
    assert sheet.max_row == 4 + 24
    deadline = sheet.cell(5, sub_header.index("整治时限") + 1)
    assert deadline.is_date and deadline.value.date() == date(2026, 8, 28)


def test_export_then_import_changes_nothing(app, tmp_path, sample_ledger):
    rows = [row("R-1", 责任主体="李秀英", 整治类型="清理合并", 整治进展="已销号"), row("R-2", 经度="123°35′20″")]
    header = flat_header() + ["国家编码", "合并至", "过渡期截止", "完成日期", "验收销号日期", "发现日期"]
    rows[0] |= {"国家编码": "232764-0001", "合并至": "R-2", "过渡期截止": "2027-03-31", "完成日期": "2026-10-01",
                "验收销号日期": "2026年10月20日", "发现日期": "2022/05/04"}
    import_ledger(sample_ledger)
    import_ledger(write_csv(tmp_path / "extra.csv", rows, header=header))
    db.session.expire_all()
    before = {o.code: _snapshot(o) for o in db.session.scalars(select(Outfall))}
    events = db.session.scalar(select(func.count()).select_from(OutfallEvent))

    export_ledger(tmp_path / "round.xlsx")
    result = import_ledger(tmp_path / "round.xlsx")

    assert result.unchanged == 26 and not result.added and not result.changed
    db.session.expire_all()
    assert {o.code: _snapshot(o) for o in db.session.scalars(select(Outfall))} == before
    assert db.session.scalar(select(func.count()).select_from(OutfallEvent)) == events
    merged = db.session.scalar(select(Outfall).where(Outfall.code == "R-1"))
    assert merged.plan.merged_into.code == "R-2" and merged.responsible_party.kind == "person"


def test_export_overwrites_atomically_and_leaves_no_partial_file(app, tmp_path):
    target = tmp_path / "ledger.xlsx"
    target.write_bytes(b"old")
    assert export_ledger(target) == 0
    assert load_workbook(target).active["A3"].value == "序号"
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.xlsx"]


def _snapshot(outfall):
    plan = outfall.plan
    return (
        outfall.name, outfall.national_code, outfall.town.name, outfall.water_body and outfall.water_body.name,
        outfall.longitude, outfall.latitude, outfall.outfall_type, outfall.outfall_subtype, outfall.stage,
        outfall.responsible_party.name, outfall.responsible_party.kind, outfall.party_telephone,
        outfall.discharge_mode, outfall.approval_status, outfall.found_on, outfall.supervising_leader, outfall.note,
        plan and (plan.measure, plan.measures_text, plan.deadline, plan.status, plan.transition_ends_on,
                  plan.completed_on, plan.verified_on, plan.merged_into and plan.merged_into.code),
    )


# Text a spreadsheet would run or show as something else: formulas, error codes, CSV formula marks.
TRICKY_NAMES = ['=HYPERLINK("http://evil.example","点这里")', "=1+1", "#N/A", "+86-0457", "-1", "@SUM(A1)",
                "'=已转义", "'普通撇号"]


def _tricky_outfalls():
    """Outfalls whose name, note and measures carry the tricky texts (stage as the ledger would infer it)."""
    for n, text in enumerate(TRICKY_NAMES):
        make_outfall(f"Q-{n}", name=text, note=text, stage="rectification", plan={"measures_text": text})
    db.session.commit()


def _tricky_ledger(tmp_path):
    """A CSV ledger whose outfalls have the tricky names, apostrophes put in as the portal's downloads do."""
    rows = [row(f"Q-{n}", 排污口名称=csv_protected(name), 备注=csv_protected(name), 整治措施=csv_protected(name))
            for n, name in enumerate(TRICKY_NAMES)]
    return write_csv(tmp_path / "tricky.csv", rows)


def test_exported_text_is_never_a_formula_and_reads_back_exactly(app, tmp_path):
    _tricky_outfalls()
    export_ledger(tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").active
    name_column = [cell.value for cell in sheet[3]].index("排污口名称") + 1
    cells = [sheet.cell(5 + n, name_column) for n in range(len(TRICKY_NAMES))]
    assert [cell.value for cell in cells] == [outfall.name for outfall in db.session.scalars(
        select(Outfall).order_by(Outfall.code))]
    assert sorted(cell.value for cell in cells) == sorted(TRICKY_NAMES)
    assert {cell.data_type for cell in cells} == {"s"}

    result = import_ledger(tmp_path / "out.xlsx")
    # These outfalls have no party: the import gives each its town government (registry.parties),
    # and the stage follows from the data (the factory's stored stage is arbitrary); nothing else changes.
    assert not result.added and len(result.default_parties) == len(TRICKY_NAMES)
    assert {f for change in result.changed for f, _old, _new in change.changes} <= {
        "party", "party_kind", "party_basis", "stage"}
    result = import_ledger(tmp_path / "out.xlsx")
    assert result.unchanged == len(TRICKY_NAMES) and not result.changed and not result.added


def test_open_data_downloads_keep_tricky_text_as_text(app, client):
    _tricky_outfalls()
    with client.get("/api/v1/outfalls.xlsx") as response:
        sheet = load_workbook(io.BytesIO(response.get_data())).active
    name_column = [cell.value for cell in sheet[1]].index("排污口名称") + 1
    cells = [sheet.cell(2 + n, name_column) for n in range(len(TRICKY_NAMES))]
    assert sorted(cell.value for cell in cells) == sorted(TRICKY_NAMES)
    assert {cell.data_type for cell in cells} == {"s"}

    body = client.get("/api/v1/outfalls.csv").get_data()
    names = [line[2] for line in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]
    # Every cell a spreadsheet would run starts with the apostrophe that marks it as text.
    assert all(not name.startswith(("=", "+", "-", "@")) for name in names)
    assert "'=1+1" in names and "''=已转义" in names and "''普通撇号" in names


def test_csv_text_with_formula_marks_round_trips_through_the_importer(app, tmp_path):
    # A CSV written the way the downloads write text: the importer takes the apostrophes off again.
    result = import_ledger(_tricky_ledger(tmp_path))
    assert len(result.added) == len(TRICKY_NAMES)
    assert sorted(db.session.scalars(select(Outfall.name))) == sorted(TRICKY_NAMES)
    assert sorted(db.session.scalars(select(Outfall.note))) == sorted(TRICKY_NAMES)
    assert import_ledger(_tricky_ledger(tmp_path)).unchanged == len(TRICKY_NAMES)
