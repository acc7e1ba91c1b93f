"""Staff operations on the standards that judge results: add or change a standard, set an outfall's
standard, record or remove its discharge permit, and judge results again afterwards.

Each operation only flushes; the view or command that calls it commits (``portal.db.transaction``),
with the one audit entry it writes. The rule of which limits judge what stays in
``portal.monitoring.standards``: after any change these functions ask it again, sample by sample, and
count how many results changed verdict (超标 / 达标 / 无适用限值).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import (
    DischargeStandard,
    MonitoringSample,
    MonitoringSection,
    Outfall,
    StandardLimit,
)
from portal.monitoring import results, standards
from portal.monitoring.parameters import BY_CODE
from portal.refusal import Refused
from portal.registry import history, vocabulary

SOURCE = "后台设定"  # what made an outfall's history entry, beside the actor and the reason
PERMIT_KIND = "permit"
# How a condition must be written so that the rule can test it: a water-temperature bound.
_CONDITION = re.compile(r"^\s*水温\s*(≤|<=|<|＜|小于等于|不高于)\s*(\d+(?:\.\d+)?)\s*(?:℃|°C|度)?\s*$")
_CONDITION_SIGNS = {"≤": "≤", "<=": "≤", "小于等于": "≤", "不高于": "≤", "<": "<", "＜": "<"}
# Parameters that qualify others (water temperature, flow) are never limited themselves.
UNLIMITED_PARAMETERS = frozenset({standards.WATER_TEMPERATURE, standards.FLOW})


class StandardRefused(Refused):
    """A standard, permit or choice is refused; ``row`` names the limit row at fault (1-based) and
    ``field`` the form field, when the refusal belongs to one."""

    def __init__(self, message, *, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.field, self.row = field, row


@dataclass(frozen=True)
class LimitRow:
    """One limit as staff typed it: a parameter code, a unit (blank: the parameter's own), bounds, a condition."""

    parameter: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    condition: str = ""
    number: int | None = None  # the row's number on the form, for the refusal to name


@dataclass(frozen=True)
class Rejudged:
    """What judging again changed: how many results were judged and how many changed verdict."""

    judged: int = 0
    changed: int = 0

    def __add__(self, other: Rejudged) -> Rejudged:
        return Rejudged(self.judged + other.judged, self.changed + other.changed)


# --- judging again ------------------------------------------------------------------------------------


def _verdicts(samples) -> dict[int, str]:
    return {sample.id: results.verdict(sample) for sample in samples}


def rejudge_outfall(outfall: Outfall, zone) -> Rejudged:
    """Judge an outfall's results again by the rule (``standards.rejudge_outfall``); count verdicts changed."""
    before = _verdicts(outfall.samples)
    standards.rejudge_outfall(outfall, zone)
    after = _verdicts(outfall.samples)
    return Rejudged(len(after), sum(1 for key, value in after.items() if before.get(key) != value))


def rejudge_section(section: MonitoringSection, zone) -> Rejudged:
    """Judge a section's results again against GB 3838 at its class; count verdicts changed."""
    before = _verdicts(section.samples)
    standards.judge_all(section.samples, zone)
    db.session.flush()
    after = _verdicts(section.samples)
    return Rejudged(len(after), sum(1 for key, value in after.items() if before.get(key) != value))


def affected_by(standard: DischargeStandard) -> set[int]:
    """The outfalls whose results a change to this standard can move: those with results judged by
    it now, and those it is the standard of (set by the bureau, or by the rule for their type)."""
    linked = select(MonitoringSample.outfall_id).join(StandardLimit, MonitoringSample.limit_id == StandardLimit.id) \
        .where(StandardLimit.standard_id == standard.id, MonitoringSample.outfall_id.is_not(None)).distinct()
    ids = set(db.session.scalars(linked))
    sampled = select(MonitoringSample.outfall_id).where(MonitoringSample.outfall_id.is_not(None))
    for outfall in db.session.scalars(select(Outfall).where(Outfall.id.in_(sampled))):
        # The rule itself says which standard is the outfall's: no second rule here.
        if (outfall.standard or standards.rule_standard(outfall)[0]) is standard:
            ids.add(outfall.id)
    return ids


def verdicts_of(outfall_ids) -> dict[int, str]:
    """The verdict of every result of these outfalls, by result id (before a change)."""
    found = {}
    for outfall_id in outfall_ids:
        found.update(_verdicts(db.session.get(Outfall, outfall_id).samples))
    return found


def rejudge_outfalls(outfall_ids, before: dict[int, str], zone) -> Rejudged:
    """Judge these outfalls' results again and count the verdicts that differ from ``before``."""
    judged = changed = 0
    for outfall_id in sorted(outfall_ids):
        outfall = db.session.get(Outfall, outfall_id)
        for sample in outfall.samples:
            # A deleted standard's limits were unlinked by the database (ON DELETE SET NULL): reread.
            db.session.expire(sample, ["limit_id", "limit"])
        standards.rejudge_outfall(outfall, zone)
        for sample in outfall.samples:
            judged += 1
            changed += before.get(sample.id) != results.verdict(sample)
    return Rejudged(judged, changed)


def rejudge_everything(zone) -> tuple[Rejudged, Rejudged]:
    """Judge every outfall's and every section's results again: (outfalls' tally, sections' tally)."""
    outfall_ids = db.session.scalars(select(MonitoringSample.outfall_id).where(
        MonitoringSample.outfall_id.is_not(None)).distinct())
    section_ids = db.session.scalars(select(MonitoringSample.section_id).where(
        MonitoringSample.section_id.is_not(None)).distinct())
    outfalls = sum((rejudge_outfall(db.session.get(Outfall, i), zone) for i in list(outfall_ids)), Rejudged())
    sections = sum((rejudge_section(db.session.get(MonitoringSection, i), zone) for i in list(section_ids)),
                   Rejudged())
    return outfalls, sections


# --- limits as typed ----------------------------------------------------------------------------------


def normalise_condition(text: str | None) -> str:
    """A condition in the one spelling the rule reads ("水温≤12℃"), or "" for none; refused otherwise."""
    text = (text or "").strip()
    if not text:
        return ""
    match = _CONDITION.match(text)
    if match is None:
        raise StandardRefused(_l("条件只能是水温条件，例如“水温≤12℃”；其他条件无法判断是否适用。"))
    number = match.group(2).rstrip("0").rstrip(".") if "." in match.group(2) else match.group(2)
    return f"水温{_CONDITION_SIGNS[match.group(1)]}{number}℃"


def build_limits(rows: list[LimitRow]) -> list[StandardLimit]:
    """The limits of typed rows, in each parameter's own unit (converted from the unit typed), each row
    checked: a known parameter, a bound, minimum ≤ maximum, one limit per parameter and condition."""
    limits, seen = [], {}
    for index, row in enumerate(rows, start=1):
        number = row.number or index
        parameter = BY_CODE.get((row.parameter or "").strip())
        if parameter is None or parameter.code in UNLIMITED_PARAMETERS:
            raise StandardRefused(_l("第 %(n)s 行：请选择监测项目。", n=number), row=number)
        if row.minimum is None and row.maximum is None:
            raise StandardRefused(_l("第 %(n)s 行（%(parameter)s）：请填写下限或上限。", n=number,
                                     parameter=parameter.code), row=number)
        try:
            factor = parameter.factor(row.unit) if (row.unit or "").strip() else 1.0
        except ValueError:
            raise StandardRefused(_l("第 %(n)s 行（%(parameter)s）：单位“%(unit)s”不适用于该项目，可留空使用 %(own)s。",
                                     n=number, parameter=parameter.code, unit=row.unit,
                                     own=parameter.unit or _l("无量纲")), row=number) from None
        minimum = None if row.minimum is None else row.minimum * factor
        maximum = None if row.maximum is None else row.maximum * factor
        if minimum is not None and maximum is not None and minimum > maximum:
            raise StandardRefused(_l("第 %(n)s 行（%(parameter)s）：下限大于上限。", n=number,
                                     parameter=parameter.code), row=number)
        try:
            condition = normalise_condition(row.condition)
        except StandardRefused as refused:
            raise StandardRefused(_l("第 %(n)s 行（%(parameter)s）：%(why)s", n=number, parameter=parameter.code,
                                     why=refused.message), row=number) from None
        key = (parameter.code, condition)
        if key in seen:
            raise StandardRefused(_l("第 %(n)s 行：%(parameter)s 在第 %(first)s 行已有相同条件的限值。", n=number,
                                     parameter=parameter.code, first=seen[key]), row=number)
        seen[key] = number
        limits.append(StandardLimit(parameter=parameter.code, unit=parameter.unit, minimum=_tidy(minimum),
                                    maximum=_tidy(maximum), condition=condition))
    return limits


def _tidy(value: float | None) -> float | None:
    # A unit conversion (× 0.001) must not leave float noise such as 0.30000000000000004 in a limit.
    return None if value is None else float(f"{value:.10g}")


def _limits_detail(limits) -> list[str]:
    """Limits as a short text for the audit entry."""
    return [f"{l.parameter} {l.minimum if l.minimum is not None else ''}–{l.maximum if l.maximum is not None else ''}"
            f" {l.unit}{' ' + l.condition if l.condition else ''}".strip() for l in limits]


# --- standards -----------------------------------------------------------------------------------------


def _check_text(code: str, grade: str, title: str) -> tuple[str, str, str]:
    code, grade, title = (code or "").strip(), (grade or "").strip(), (title or "").strip()
    if not code:
        raise StandardRefused(_l("请填写标准编号。"), field="code")
    if not title:
        raise StandardRefused(_l("请填写标准名称。"), field="title")
    return code, grade, title


def _duplicate(code: str, grade: str, except_id: int | None = None) -> DischargeStandard | None:
    query = select(DischargeStandard).where(DischargeStandard.code == code, DischargeStandard.grade == grade)
    if except_id is not None:
        query = query.where(DischargeStandard.id != except_id)
    return db.session.scalar(query)


def add_standard(actor, *, code: str, grade: str, title: str, scope: str, note: str | None,
                 limits: list[LimitRow], zone) -> tuple[DischargeStandard, Rejudged]:
    """Add a discharge standard with its limits, then judge every result again (a standard for a
    kind of source, such as rural facilities, becomes the rule's default for it)."""
    code, grade, title = _check_text(code, grade, title)
    if scope not in vocabulary.STANDARD_SCOPES.codes() or scope == "surface_water":
        raise StandardRefused(_l("请选择标准的适用范围。"), field="scope")
    if _duplicate(code, grade) is not None:
        raise StandardRefused(_l("已有标准 %(code)s %(grade)s，不能重复添加；如需修改请编辑该标准。",
                                 code=code, grade=grade), field="code")
    built = build_limits(limits)
    if not built:
        raise StandardRefused(_l("请至少填写一项限值。"), row=1)
    standard = DischargeStandard(code=code, grade=grade, title=title, kind="effluent", scope=scope,
                                 note=(note or "").strip() or None, is_builtin=False, limits=built)
    db.session.add(standard)
    db.session.flush()
    audit.record(actor, "standard_added", standard, label=standard.label.strip(),
                 detail={"scope": scope, "limits": _limits_detail(built)})
    affected = affected_by(standard)
    # A new standard judged nothing yet: every result it now judges was judged by something else before.
    return standard, rejudge_outfalls(affected, verdicts_of(affected), zone)


def _editable(standard: DischargeStandard) -> None:
    if standard.is_builtin:
        raise StandardRefused(_l("%(label)s 是随系统发布的国家标准，不能修改或删除。", label=standard.label.strip()))
    if standard.kind == PERMIT_KIND:
        raise StandardRefused(_l("排污许可证在所属排污口的档案页登记和删除。"))


def update_standard(actor, standard: DischargeStandard, *, code: str, grade: str, title: str, scope: str,
                    note: str | None, limits: list[LimitRow], zone) -> Rejudged:
    """Change a standard the bureau added (never a shipped one), then judge every result again."""
    _editable(standard)
    code, grade, title = _check_text(code, grade, title)
    if scope not in vocabulary.STANDARD_SCOPES.codes() or scope == "surface_water":
        raise StandardRefused(_l("请选择标准的适用范围。"), field="scope")
    if _duplicate(code, grade, except_id=standard.id) is not None:
        raise StandardRefused(_l("已有标准 %(code)s %(grade)s，不能重复添加；如需修改请编辑该标准。",
                                 code=code, grade=grade), field="code")
    built = build_limits(limits)
    if not built:
        raise StandardRefused(_l("请至少填写一项限值。"), row=1)
    affected_before = affected_by(standard)
    before = verdicts_of(affected_before)
    standard.code, standard.grade, standard.title, standard.scope = code, grade, title, scope
    standard.note = (note or "").strip() or None
    _replace_limits(standard, built)
    audit.record(actor, "standard_updated", standard, label=standard.label.strip(),
                 detail={"scope": scope, "limits": _limits_detail(built)})
    db.session.flush()
    affected = affected_before | affected_by(standard)
    before.update(verdicts_of(affected - affected_before))
    return rejudge_outfalls(affected, before, zone)


def _replace_limits(standard: DischargeStandard, built: list[StandardLimit]) -> None:
    """Keep a limit row that is unchanged in parameter and condition (results stay linked to it);
    update its bounds; drop the others and add the new ones."""
    wanted = {(limit.parameter, limit.condition): limit for limit in built}
    for limit in list(standard.limits):
        new = wanted.pop((limit.parameter, limit.condition), None)
        if new is None:
            standard.limits.remove(limit)
        else:
            limit.unit, limit.minimum, limit.maximum = new.unit, new.minimum, new.maximum
    db.session.flush()  # the dropped rows go before new ones could collide with them
    standard.limits.extend(wanted.values())
    db.session.flush()


def delete_standard(actor, standard: DischargeStandard, zone) -> Rejudged:
    """Remove a standard the bureau added, unless an outfall is set to it; judge every result again."""
    _editable(standard)
    users = db.session.scalars(select(Outfall.code).where(Outfall.standard_id == standard.id)).all()
    if users:
        raise StandardRefused(_l("排污口 %(codes)s 指定执行此标准，请先为它们改选标准后再删除。",
                                 codes="、".join(users)))
    audit.record(actor, "standard_deleted", standard, label=standard.label.strip(),
                 detail={"scope": standard.scope, "limits": _limits_detail(standard.limits)})
    affected = affected_by(standard)
    before = verdicts_of(affected)
    db.session.delete(standard)
    db.session.flush()
    return rejudge_outfalls(affected, before, zone)


# --- one outfall's standard and permits --------------------------------------------------------------


def _label(standard: DischargeStandard | None) -> str | None:
    return standard.label.strip() if standard is not None else None


def _required_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StandardRefused(_l("请填写原因：它会记入排污口的变更记录。"), field="reason")
    return reason


def set_outfall_standard(actor, outfall: Outfall, standard: DischargeStandard | None, reason: str,
                         zone) -> Rejudged:
    """Set the standard that judges an outfall's effluent (None: back to the rule by type), with the
    reason kept as its note and in its history; judge its results again."""
    reason = _required_reason(reason)
    if standard is not None and (standard.kind != "effluent" or standard.outfall_id is not None):
        # GB 3838 judges receiving water, never effluent; a permit is recorded as a permit.
        raise StandardRefused(_l("只能选择排放标准；地表水标准只用于评价断面水质。"), field="standard")
    if standard is outfall.standard or (standard is not None and standard.id == outfall.standard_id):
        raise StandardRefused(_l("所选标准与现行设定相同，未作更改。"), field="standard")
    history.record_changes(outfall, [("standard", _label(outfall.standard), _label(standard))], SOURCE,
                           actor=actor, reason=reason)
    outfall.standard = standard
    outfall.standard_note = reason if standard is not None else None
    db.session.flush()
    tally = rejudge_outfall(outfall, zone)
    audit.record(actor, "outfall_standard_set", outfall, label=outfall.code, reason=reason,
                 detail={"standard": _label(standard) or "by_rule", "changed": tally.changed})
    return tally


def add_permit(actor, outfall: Outfall, *, number: str, valid_from: date | None, valid_until: date | None,
               limits: list[LimitRow], note: str | None, zone) -> tuple[DischargeStandard, Rejudged]:
    """Record an outfall's discharge permit (排污许可证): its limits take precedence over the standard
    while it is valid; judge the outfall's results again."""
    number = (number or "").strip()
    if not number:
        raise StandardRefused(_l("请填写排污许可证编号。"), field="number")
    if len(number) > 32 or re.search(r"\s", number):
        raise StandardRefused(_l("许可证编号最多 32 个字符，不含空格。"), field="number")
    if valid_from is None:
        raise StandardRefused(_l("请填写许可证有效期的起始日期。"), field="valid_from")
    if valid_until is None:
        raise StandardRefused(_l("请填写许可证有效期的截止日期。"), field="valid_until")
    if valid_until < valid_from:
        raise StandardRefused(_l("有效期截止日期早于起始日期。"), field="valid_until")
    if _duplicate(number, "") is not None:
        raise StandardRefused(_l("编号为 %(number)s 的许可证或标准已经登记。", number=number), field="number")
    built = build_limits(limits)
    if not built:
        raise StandardRefused(_l("请至少填写一项许可限值。"), row=1)
    permit = DischargeStandard(code=number, grade="", title=f"排污许可证 {number}", kind=PERMIT_KIND,
                               scope=None, valid_from=valid_from, valid_until=valid_until,
                               note=(note or "").strip() or None, is_builtin=False, limits=built)
    outfall.permits.append(permit)
    history.record_changes(outfall, [("permit", None, f"{number}（{valid_from.isoformat()} 至 {valid_until.isoformat()}）")],
                           SOURCE, actor=actor, reason=(note or "").strip() or None)
    db.session.flush()
    tally = rejudge_outfall(outfall, zone)
    audit.record(actor, "permit_added", outfall, label=outfall.code,
                 detail={"permit": number, "valid_from": valid_from, "valid_until": valid_until,
                         "limits": _limits_detail(built), "changed": tally.changed})
    return permit, tally


def delete_permit(actor, outfall: Outfall, permit: DischargeStandard, reason: str, zone) -> Rejudged:
    """Remove a permit recorded by mistake (or withdrawn), with a reason; judge the results again."""
    reason = _required_reason(reason)
    if permit.kind != PERMIT_KIND or permit.outfall_id != outfall.id:
        raise StandardRefused(_l("该排污口没有这份许可证。"))
    number = permit.code
    history.record_changes(outfall, [("permit", number, None)], SOURCE, actor=actor, reason=reason)
    outfall.permits.remove(permit)
    db.session.flush()
    tally = rejudge_outfall(outfall, zone)
    audit.record(actor, "permit_deleted", outfall, label=outfall.code, reason=reason,
                 detail={"permit": number, "changed": tally.changed})
    return tally


def effluent_standards() -> list[DischargeStandard]:
    """The standards an outfall may be set to: discharge standards, not GB 3838 and not permits."""
    return db.session.scalars(select(DischargeStandard).where(
        DischargeStandard.kind == "effluent", DischargeStandard.outfall_id.is_(None))
        .order_by(DischargeStandard.code, DischargeStandard.grade)).all()


def every_standard() -> list[DischargeStandard]:
    """Every standard (not permits), shipped ones first, for the standards page."""
    return db.session.scalars(select(DischargeStandard).where(DischargeStandard.outfall_id.is_(None))
                              .order_by(DischargeStandard.is_builtin.desc(), DischargeStandard.kind,
                                        DischargeStandard.code, DischargeStandard.grade)).all()


def every_permit() -> list[DischargeStandard]:
    """Every recorded permit, with its outfall, for the standards page."""
    return db.session.scalars(select(DischargeStandard).where(DischargeStandard.kind == PERMIT_KIND)
                              .order_by(DischargeStandard.code)).all()
