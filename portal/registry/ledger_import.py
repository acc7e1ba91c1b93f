"""Importing the bureau's ledger: read → check every row → compare with the registry → write.

A file with any bad row is refused whole, and nothing is written; the refusal names each bad
row, its column and why. Re-importing updates outfalls by code and records every change in the
outfall's history. A dry run stops after the comparison and reports what would change.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.importing import FileRejected, RowError
from portal.models import Outfall, OutfallEvent, RectificationPlan, Town, WaterBody
from portal.registry import chiefs, history, parties, stages
from portal.registry import vocabulary as vocab
from portal.registry.ledger_format import (
    COLUMNS_BY_FIELD,
    PLAN_FIELDS,
    REQUIRED_FIELDS,
    CellError,
    clean_text,
)
from portal.registry.ledger_mapping import (
    RegistryLookup,
    apply_ledger_values,
    infer_party_kind,
    ledger_values,
)
from portal.registry.ledger_reader import LedgerFileError, LedgerSheet, read_ledger_file

HISTORY_SOURCE_LENGTH = OutfallEvent.__table__.c.source.type.length  # 台账导入：<file name>, cut to fit
# Characters no ledger cell means to hold; PostgreSQL refuses NUL in text outright.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")





class LedgerRejected(FileRejected):
    """The ledger was refused whole; nothing was written."""

    noun = _l("台账")

    def __init__(self, filename: str, errors: list[RowError] | None = None, problem: str | None = None,
                 unknown_towns: list[str] | None = None):
        # Towns the file names that the registry does not know (each also a row error), so that the
        # uploader can confirm creating them.
        self.unknown_towns = unknown_towns or []
        super().__init__(filename, errors, problem)


@dataclass
class OutfallChange:
    """What importing one row does to one outfall: creates it, or changes these fields."""

    code: str
    is_new: bool
    changes: list[tuple[str, Any, Any]]  # (field, old value, new value)


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    filename: str
    rows: int
    added: list[OutfallChange] = field(default_factory=list)
    changed: list[OutfallChange] = field(default_factory=list)
    unchanged: int = 0
    new_towns: list[str] = field(default_factory=list)
    new_water_bodies: list[str] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    default_parties: list[str] = field(default_factory=list)  # outfalls given their town government
    stages_corrected: list[tuple] = field(default_factory=list)  # (row, code, written, from the data)
    # Rows whose 包保领导 stays text because no chief is on record yet (import-chiefs links them).
    leaders_not_linked: int = 0

    def report(self, dry_run: bool = False) -> str:
        """A summary a clerk can check against the file."""
        verb = "将" if dry_run else "已"
        lines = [
            f"台账“{self.filename}”：共 {self.rows} 个排污口。",
            f"{verb}新增 {len(self.added)} 个，{verb}修改 {len(self.changed)} 个，无变化 {self.unchanged} 个。",
        ]
        if self.new_towns:
            lines.append(f"{verb}新增镇：{'、'.join(self.new_towns)}")
        if self.new_water_bodies:
            lines.append(f"{verb}新增水体：{'、'.join(self.new_water_bodies)}")
        if self.unknown_headers:
            lines.append(f"未识别、已忽略的列：{'、'.join(self.unknown_headers)}")
        if self.leaders_not_linked:
            lines.append(f"尚未导入河长名录：{self.leaders_not_linked} 个排污口的包保领导暂按文字保存，"
                         "导入河长名录（import-chiefs）后自动关联到河长记录。")
        if self.default_parties:
            lines.append(f"{len(self.default_parties)} 个排污口没有填写责任主体，{verb}暂由属地镇人民政府负责："
                         + "、".join(self.default_parties))
        for row, code, written, derived in self.stages_corrected:
            lines.append(f"第 {row} 行 {code}：所处阶段填写为“{vocab.STAGES.label(written)}”，与数据不符，"
                         f"{verb}按数据定为“{vocab.STAGES.label(derived)}”（{stages.stage_reason(derived)}）")
        if dry_run and self.added:
            lines.append("新增：" + "、".join(change.code for change in self.added))
        for change in self.changed:
            details = "；".join(
                f"{COLUMNS_BY_FIELD[f].header} {display(f, old)} → {display(f, new)}" for f, old, new in change.changes
            )
            lines.append(f"修改 {change.code}：{details}")
        if dry_run:
            lines.append("（试运行：未写入数据库）")
        return "\n".join(lines)


def display(field_name: str, value: Any) -> str:
    """A value as the ledger shows it: labels for codes, 空 for nothing."""
    if value is None or value == "":
        return "（空）"
    written = COLUMNS_BY_FIELD[field_name].write(value)
    return written.isoformat() if isinstance(written, date) else str(written)


def display_name(path: Path) -> str:
    """The file's name as messages and history show it: bytes that are not UTF-8 become �."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def import_ledger(path: Path, dry_run: bool = False, create_towns: bool | Iterable[str] = False) -> ImportResult:
    """Import a ledger file into the registry, all or nothing; see the module docstring.

    A town the registry does not know is refused (a misspelling must not become a fifth town) unless
    ``create_towns`` confirms it: True for any new town, or the names the uploader confirmed.
    """
    filename = display_name(path)
    try:
        sheet = read_ledger_file(path, current_app.config["LEDGER_MAX_BYTES"],
                                 current_app.config["LEDGER_MAX_ROWS"])
    except LedgerFileError as error:
        raise LedgerRejected(filename, problem=str(error)) from None
    missing = [COLUMNS_BY_FIELD[f].header for f in REQUIRED_FIELDS if f not in sheet.columns]
    if missing:
        raise LedgerRejected(filename, problem=f"缺少必需的列：{'、'.join(missing)}")

    rows, errors = _read_rows(sheet)
    existing = _existing_outfalls([values["code"] for _, values in rows])
    errors += _check_references(rows, existing, sheet)
    town_errors, unknown_towns = _check_towns(rows, sheet, create_towns)
    errors += town_errors
    errors += _check_leaders(rows, existing, sheet)
    if errors:
        raise LedgerRejected(filename, sorted(errors, key=lambda e: e.row), unknown_towns=unknown_towns)

    result = ImportResult(filename, len(rows), unknown_headers=sheet.unknown_headers)
    planned = []
    for number, values in rows:
        outfall = existing.get(values["code"])
        desired = _complete(values, outfall)
        # The town government answers while no party is known; the stage follows from the data (a
        # 所处阶段 the data contradict is corrected, and the summary names the row).
        if parties.complete_ledger_row(desired, outfall):
            result.default_parties.append(values["code"])
        desired["stage"] = stages.stage_for_ledger_row(desired, outfall)
        if values.get("stage") and values["stage"] != desired["stage"]:
            result.stages_corrected.append((number, values["code"], values["stage"], desired["stage"]))
        if outfall is None:
            result.added.append(OutfallChange(values["code"], True, []))
        else:
            current = ledger_values(outfall)
            changes = [(f, current[f], new) for f, new in desired.items() if current[f] != new]
            if changes:
                result.changed.append(OutfallChange(values["code"], False, changes))
            else:
                result.unchanged += 1
        planned.append((outfall, desired))

    lookup = RegistryLookup(db.session)
    result.new_towns = sorted({d["town"] for _, d in planned if d["town"] not in lookup.towns})
    result.new_water_bodies = sorted(
        {d["water_body"] for _, d in planned if d.get("water_body") and d["water_body"] not in lookup.water_bodies}
    )
    if dry_run:
        _link_leaders(planned, result, dry_run=True)
        return result  # nothing added; the command ends its transaction without committing
    _write(planned, result, lookup, source=f"台账导入：{filename}"[:HISTORY_SOURCE_LENGTH])
    _link_leaders(planned, result)
    return result  # flushed by _write; the caller's transaction() commits


def _check_leaders(rows, existing, sheet) -> list[RowError]:
    """A 包保领导 must name a chief on record, once any is: told apart by the outfall's water and town."""
    if "supervising_leader" not in sheet.columns:
        return []
    leaders = chiefs.LeaderIndex()
    if leaders.empty:
        return []  # a first ledger may come before the chiefs file: the text is kept
    towns = dict(db.session.execute(select(Town.name, Town.id)).all())
    waters = dict(db.session.execute(select(WaterBody.name, WaterBody.id)).all())
    errors = []
    for number, values in rows:
        outfall = existing.get(values["code"])
        town = values.get("town") or (outfall.town.name if outfall and outfall.town else None)
        water = values["water_body"] if "water_body" in values else (
            outfall.water_body.name if outfall and outfall.water_body else None)
        _chief, problem = leaders.resolve(values.get("supervising_leader"), towns.get(town), waters.get(water))
        if problem:
            errors.append(RowError(number, sheet.headers["supervising_leader"], problem))
    return errors


def _link_leaders(planned, result: ImportResult, dry_run: bool = False) -> None:
    """Point each outfall of the file at the chief its 包保领导 names (checked by _check_leaders)."""
    named = [d["code"] for _, d in planned if d.get("supervising_leader")]
    leaders = chiefs.LeaderIndex()
    if leaders.empty:
        result.leaders_not_linked = len(named)
        return
    if dry_run:
        return
    codes = [d["code"] for _, d in planned if "supervising_leader" in d]
    for start in range(0, len(codes), 500):
        for outfall in db.session.scalars(select(Outfall).where(Outfall.code.in_(codes[start:start + 500]))):
            chief, _problem = leaders.resolve(outfall.supervising_leader, outfall.town_id, outfall.water_body_id)
            outfall.supervising_chief_id = chief.id if chief else None
    db.session.flush()


def _read_rows(sheet: LedgerSheet) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """Each data row's values by field, read and checked cell by cell; notes and blanks skipped."""
    rows, errors = [], []
    first_row_of_code: dict[str, int] = {}
    first_row_of_national: dict[str, int] = {}
    for number, cells in sheet.rows:
        raw = {f: cells[c] for f, c in sheet.columns.items() if c < len(cells)}
        present = {f: v for f, v in raw.items() if v is not None and clean_text(v) != ""}
        if _is_note(present):
            continue
        row_errors: list[RowError] = []

        def fail(field_name, message):
            row_errors.append(RowError(number, sheet.headers.get(field_name), message))

        _type_from_category(present)
        values: dict[str, Any] = {}
        for f in dict.fromkeys([*sheet.columns, *present]):
            if f == "seq":
                continue
            if f not in present:
                values[f] = None
                continue
            control = _CONTROL_CHARACTERS.search(str(present[f]))
            if control:
                fail(f, f"含有不可见的控制字符（U+{ord(control.group()):04X}，如 NUL），请删除后再导入")
                continue
            try:
                values[f] = COLUMNS_BY_FIELD[f].read(present[f])
            except CellError as error:
                fail(f, str(error))
        position = values.pop("position", None)
        if position and "longitude" not in present and "latitude" not in present:
            values["longitude"], values["latitude"] = position
            present["longitude"] = present["latitude"] = present["position"]
        for f in REQUIRED_FIELDS:
            if f not in present:
                fail(f, "必填，不能为空")
        _check_row(values, present, fail, sheet)
        for f, noun, first_rows in (("code", "编码", first_row_of_code),
                                    ("national_code", "国家编码", first_row_of_national)):
            code = values.get(f)
            if not code:
                continue
            # Codes differing only in case name one outfall for a clerk (and on a signboard).
            if code.casefold() in first_rows:
                earlier, earlier_code = first_rows[code.casefold()]
                spelled = "" if earlier_code == code else f"（“{earlier_code}”，仅大小写不同）"
                fail(f, f"{noun}“{code}”与第 {earlier} 行{spelled}重复")
            first_rows.setdefault(code.casefold(), (number, code))
        if row_errors:
            errors += row_errors
        else:
            rows.append((number, values))
    return rows, errors


def _type_from_category(present: dict[str, Any]) -> None:
    """Accept a level-2 category written in the type column (城镇生活污水散排口): its level 1 is known."""
    written = present.get("outfall_type")
    if written is None or vocab.OUTFALL_TYPES.lookup(clean_text(written)):
        return
    category = vocab.OUTFALL_SUBTYPES.lookup(clean_text(written))
    if category is not None:
        present["outfall_type"] = category.parent
        present.setdefault("outfall_subtype", category.code)


def _is_note(present: dict[str, Any]) -> bool:
    """Whether a row is blank, a numbering leftover, or a note such as 填表人：… under the table."""
    content = {f: v for f, v in present.items() if f != "seq"}
    if not content:
        return True
    if len(content) == 1:
        text = clean_text(next(iter(content.values())))
        return any(mark in text for mark in ("：", ":"))
    return False


def _check_row(values, present, fail, sheet) -> None:
    """Rules across the cells of one row."""
    lon, lat = values.get("longitude"), values.get("latitude")
    if ("longitude" in present) != ("latitude" in present):
        missing = "latitude" if "longitude" in present else "longitude"
        if missing in sheet.columns:
            fail(missing, "经度和纬度须同时填写")
        else:
            fail("longitude" if missing == "latitude" else "latitude", "有经度就必须有纬度列（反之亦然）")
    if lon is not None and lat is not None and 3 <= lon <= 54 and 73 <= lat <= 136:
        fail("longitude", f"经度 {lon}、纬度 {lat} 像是填反了：中国境内经度约 73～136，纬度约 3～54")
    outfall_type, subtype = values.get("outfall_type"), values.get("outfall_subtype")
    if outfall_type and subtype:
        parent = vocab.OUTFALL_SUBTYPES.get(subtype).parent
        if parent != outfall_type:
            fail("outfall_subtype",
                 f"类别“{vocab.OUTFALL_SUBTYPES.label(subtype)}”属于{vocab.OUTFALL_TYPES.label(parent)}，"
                 f"与类型“{vocab.OUTFALL_TYPES.label(outfall_type)}”不符")
    plan_given = [f for f in PLAN_FIELDS if f != "measure" and f in present]
    if plan_given and "measure" not in present and "measure" in sheet.columns:
        fail("measure", f"已填写{'、'.join(sheet.headers[f] for f in plan_given)}，但缺少整治类型")
    if values.get("merged_into") and values.get("merged_into") == values.get("code"):
        fail("merged_into", "排污口不能合并到自身")
    if values.get("merged_into") and values.get("measure") not in (None, "merge"):
        fail("merged_into", "只有整治类型为“清理合并”的排污口才能填写合并至")


def _existing_outfalls(codes: list[str]) -> dict[str, Outfall]:
    """The registry's outfalls with these codes, loaded with what the comparison reads."""
    found: dict[str, Outfall] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        query = select(Outfall).where(Outfall.code.in_(chunk)).options(
            joinedload(Outfall.town), joinedload(Outfall.water_body), joinedload(Outfall.responsible_party),
            joinedload(Outfall.supervising_chief),
            selectinload(Outfall.plans).joinedload(RectificationPlan.merged_into),
        )
        found.update((o.code, o) for o in db.session.scalars(query).unique())
    return found


def _check_references(rows, existing, sheet) -> list[RowError]:
    """Rules that look beyond the row: plans that lose their measure, codes the row refers to."""
    errors = []
    codes_in_file = {values["code"] for _, values in rows}
    merge_targets = {values["merged_into"] for _, values in rows if values.get("merged_into")} - codes_in_file
    known_targets = set()
    if merge_targets:
        known_targets = set(db.session.scalars(select(Outfall.code).where(Outfall.code.in_(merge_targets))))
    national_codes = {values["national_code"]: values["code"] for _, values in rows if values.get("national_code")}
    national_owners = {}
    if national_codes:
        national_owners = dict(db.session.execute(
            select(Outfall.national_code, Outfall.code).where(Outfall.national_code.in_(list(national_codes)))
        ).all())
    other_spellings = _codes_spelled_otherwise([values["code"] for _, values in rows])
    for number, values in rows:
        outfall = existing.get(values["code"])
        spelled = other_spellings.get(values["code"].casefold())
        if outfall is None and spelled:
            errors.append(RowError(number, sheet.headers["code"],
                                   f"编码“{values['code']}”与已有排污口“{spelled}”仅大小写不同；请使用“{spelled}”"))
        plan_given = [f for f in PLAN_FIELDS if f != "measure" and values.get(f) is not None]
        if plan_given and values.get("measure") is None and (outfall is None or outfall.plan is None):
            # A new plan needs its measure: the database refuses a plan without one.
            errors.append(RowError(number, sheet.headers[plan_given[0]],
                                   f"已填写{'、'.join(sheet.headers[f] for f in plan_given)}，"
                                   f"但没有填写整治类型：新的整治方案须写明整治类型"))
        if "measure" in sheet.columns and values.get("measure") is None and outfall is not None and outfall.plan:
            errors.append(RowError(number, sheet.headers["measure"],
                                   "该排污口已有整治方案，整治类型不能清空（如无需整治请填“保留”）"))
        target = values.get("merged_into")
        if target and target not in codes_in_file and target not in known_targets:
            errors.append(RowError(number, sheet.headers["merged_into"], f"找不到编码为“{target}”的排污口"))
        owner = national_owners.get(values.get("national_code"))
        if owner and owner != values["code"] and owner not in codes_in_file:
            errors.append(RowError(number, sheet.headers["national_code"],
                                   f"国家编码“{values['national_code']}”已属于排污口 {owner}"))
    return errors


def _check_towns(rows, sheet, create_towns: bool | Iterable[str]) -> tuple[list[RowError], list[str]]:
    """Rows naming a town the registry does not know, with the closest known name; and those names.

    Towns come from the district's own list (or its boundaries), so a new name in a ledger is far more
    often a typing error (呼忠镇) than a new town: it is created only when ``create_towns`` confirms it.
    """
    known = list(db.session.scalars(select(Town.name)))
    confirmed = set() if create_towns is False else None if create_towns is True else set(create_towns)
    errors, unknown = [], []
    for number, values in rows:
        name = values.get("town")
        if not name or name in known or confirmed is None or name in confirmed:
            continue
        if name not in unknown:
            unknown.append(name)
        closest = _closest_names(name, known)
        hint = (f"是否应为{'或'.join(f'“{c}”' for c in closest)}？" if closest
                else f"已有的镇：{'、'.join(sorted(known)) or '（无）'}。")
        errors.append(RowError(number, sheet.headers.get("town"),
                               f"镇“{name}”不在系统中；{hint}如确是新的镇，请确认新增（上传页面勾选该镇，命令行加 --create-towns）"))
    return errors, unknown


def _closest_names(name: str, known: list[str]) -> list[str]:
    """The known names most like ``name`` (difflib), all of them when several are equally close."""
    scored = [(difflib.SequenceMatcher(None, name, other).ratio(), other) for other in sorted(known)]
    best = max((score for score, _ in scored), default=0)
    return [other for score, other in scored if score == best and score >= 0.5]


def _codes_spelled_otherwise(codes: list[str]) -> dict[str, str]:
    """Registry codes equal to one of ``codes`` but for case: the folded code → the registry's spelling."""
    found: dict[str, str] = {}
    wanted = set(codes)
    for start in range(0, len(codes), 500):
        chunk = [code.lower() for code in codes[start:start + 500]]
        for code in db.session.scalars(select(Outfall.code).where(func.lower(Outfall.code).in_(chunk))):
            if code not in wanted:
                found[code.casefold()] = code
    return found


def _complete(values: dict[str, Any], outfall: Outfall | None) -> dict[str, Any]:
    """The row's values plus what follows from them: the party's kind and a default status (the stage
    is the data's, from ``stages``, once the default party is in)."""
    desired = dict(values)
    if "party" in desired:
        if desired.get("party") is None:
            desired["party_kind"] = None
        elif desired.get("party_kind") is None:
            current = outfall.responsible_party if outfall else None
            keep = current is not None and current.name == desired["party"]
            desired["party_kind"] = current.kind if keep else infer_party_kind(desired["party"])
    elif "party_kind" in desired:
        del desired["party_kind"]  # a kind without a name describes nobody
    has_plan = bool(desired.get("measure")) or (outfall is not None and outfall.plan is not None)
    if has_plan and desired.get("status") is None and ("status" in desired or desired.get("measure")):
        # A blank 整治进展 keeps the plan's status (a new plan has not started): a plan always has one.
        desired["status"] = outfall.plan.status if outfall and outfall.plan else "not_started"
    return desired


def _write(planned, result: ImportResult, lookup: RegistryLookup, source: str) -> None:
    """Apply the planned values, record history, then link merged outfalls."""
    by_code: dict[str, Outfall] = {}
    changes_by_code = {change.code: change.changes for change in result.changed}
    # National codes may move between outfalls of the file (two swapped); the unique index checks
    # each statement, so the moving codes are first taken off, then written.
    moving = [outfall for outfall, desired in planned if outfall is not None and outfall.national_code
              and "national_code" in desired and desired["national_code"] != outfall.national_code]
    if moving:
        for outfall in moving:
            outfall.national_code = None
        db.session.flush()
    for outfall, desired in planned:
        if outfall is None:
            outfall = Outfall()
            db.session.add(outfall)
            apply_ledger_values(outfall, desired, lookup)
            history.record_created(outfall, source)
        elif desired["code"] in changes_by_code:
            apply_ledger_values(outfall, desired, lookup)
            history.record_changes(outfall, changes_by_code[desired["code"]], source)
        by_code[desired["code"]] = outfall
    db.session.flush()
    targets = {d["merged_into"] for _, d in planned if d.get("merged_into")} - set(by_code)
    if targets:
        by_code.update((o.code, o) for o in db.session.scalars(select(Outfall).where(Outfall.code.in_(targets))))
    for _, desired in planned:
        if "merged_into" in desired and by_code[desired["code"]].plan is not None:
            target = desired["merged_into"]
            by_code[desired["code"]].plan.merged_into = by_code[target] if target else None
