"""What the outfall record page (一口一档) shows beyond its rows: limits in words, charts, map data, photos."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import current_app, request
from flask_babel import gettext as _

from portal import i18n
from portal.models import DischargeStandard, Outfall, OutfallPhoto, StandardLimit
from portal.monitoring import results, standards
from portal.monitoring.parameters import BY_CODE
from portal.public import charts
from portal.public.map import basemap_layers
from portal.registry import vocabulary
from portal.templating import format_date

# Photo types a browser may be sent from photo storage; anything else (an SVG could carry script) is not served.
SAFE_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


def describe_limit(limit: StandardLimit) -> str:
    """A limit as the bureau writes it: ≤ 50 mg/L, ≥ 5 mg/L, 6–9, with its condition if any."""
    number = charts.number
    if limit.minimum is not None and limit.maximum is not None:
        text = f"{number(limit.minimum)}–{number(limit.maximum)}"
    elif limit.maximum is not None:
        text = f"≤ {number(limit.maximum)}"
    elif limit.minimum is not None:
        text = f"≥ {number(limit.minimum)}"
    else:
        text = ""
    if limit.unit:
        text += f" {limit.unit}"
    if limit.condition:
        text += _("（%(condition)s）", condition=limit.condition)
    return text


def verdict_label(verdict: str) -> str:
    """The words of a verdict, in the visitor's language."""
    return {
        results.OVER: _("超标"), results.WITHIN: _("达标"),
        results.NO_LIMIT: _("无适用限值"), results.NO_DATA: _("无数据"),
        results.UNDETERMINED: _("无法判定"),
    }[verdict]


def _limit_spans(samples) -> dict[int, list[tuple]]:
    """Where each limit applied: from halfway to the previous sample to halfway to the next (None: the edge)."""
    ordered = sorted(samples, key=lambda s: s.sampled_at)
    spans: dict[int, list[tuple]] = {}
    previous_limit = None
    for index, sample in enumerate(ordered):
        start = None if index == 0 else ordered[index - 1].sampled_at + (
            sample.sampled_at - ordered[index - 1].sampled_at) / 2
        end = None if index == len(ordered) - 1 else sample.sampled_at + (
            ordered[index + 1].sampled_at - sample.sampled_at) / 2
        if sample.limit_id is None:
            previous_limit = None
            continue
        runs = spans.setdefault(sample.limit_id, [])
        if previous_limit == sample.limit_id and runs:
            runs[-1] = (runs[-1][0], end)  # the same limit continues
        else:
            runs.append((start, end))
        previous_limit = sample.limit_id
    return spans


def _limit_lines(row: results.ParameterRow) -> list[charts.LimitLine]:
    """One dashed line per distinct bound of the limits the parameter's samples were judged by.

    When one limit applied to every sample it spans the chart; otherwise each is drawn where it applied.
    """
    throughout = len(row.limits) == 1 and all(sample.limit is not None for sample in row.samples)
    spans = {} if throughout else _limit_spans(row.samples)
    lines: dict[tuple[str, float], charts.LimitLine] = {}
    for limit in row.limits:
        condition = _("（%(condition)s）", condition=limit.condition) if limit.condition else ""
        for bound, value, word in (("max", limit.maximum, _("上限")), ("min", limit.minimum, _("下限"))):
            if value is None:
                continue
            key = (bound, value)
            limit_spans = tuple(spans.get(limit.id, ()))
            if key in lines:
                # Two standards with the same bound: one line, drawn wherever either applied.
                earlier = lines[key]
                limit_spans = earlier.spans + limit_spans if earlier.spans and limit_spans else ()
                lines[key] = charts.LimitLine(value, bound, earlier.label, limit_spans)
            else:
                lines[key] = charts.LimitLine(value, bound, f"{word} {charts.number(value)}{condition}",
                                              limit_spans)
    return list(lines.values())


def sample_value_text(sample) -> str:
    """A result as the public reads it: the number, or 未检出（<0.05） for a non-detect (never 0)."""
    if sample.below_detection:
        return _("未检出（<%(limit)s）", limit=charts.number(sample.detection_limit))
    return charts.number(sample.value)


def parameter_charts(matrix: results.SampleMatrix) -> list[dict]:
    """A chart per parameter row of the matrix, with the row's anchor so the chart links to its numbers."""
    result = []
    for index, row in enumerate(matrix.rows, start=1):
        unit = f" {row.unit}" if row.unit else ""
        # A non-detect is drawn as a hollow mark at its detection limit, never as zero nor as a breach.
        points = [
            charts.ChartPoint(
                sample.sampled_at, sample.detection_limit if sample.below_detection else sample.value,
                charts.NON_DETECT if sample.below_detection else results.verdict(sample),
                _("%(day)s：%(value)s%(unit)s，%(verdict)s", day=format_date(sample.sampled_at),
                  value=sample_value_text(sample), unit=unit,
                  verdict=verdict_label(results.verdict(sample))),
            )
            for sample in row.samples
        ]
        limits = _("；").join(_("%(limit)s（%(standard)s）", limit=describe_limit(l), standard=l.standard.label)
                              for l in row.limits)
        description = _(
            "%(parameter)s 共 %(n)s 次测定：超标 %(over)s 次，达标 %(within)s 次，无适用限值 %(none)s 次。",
            parameter=row.parameter, n=len(row.samples), over=row.count(results.OVER),
            within=row.count(results.WITHIN), none=row.count(results.NO_LIMIT),
        ) + (_("其中未检出 %(n)s 次（图中空心倒三角画在检出限处），无法判定 %(u)s 次。",
               n=sum(1 for s in row.samples if s.below_detection), u=row.count(results.UNDETERMINED))
             if any(s.below_detection for s in row.samples) else "") + (_("限值：%(limits)s。", limits=limits) if limits else _("没有可对照的限值。"))
        anchor, chart_id = f"parameter-{index}", f"chart-{index}"
        result.append({
            "parameter": row.parameter, "anchor": anchor, "chart_id": chart_id, "description": description,
            "svg": charts.line_chart(
                chart_id=chart_id,
                title=_("%(parameter)s 测定值", parameter=row.parameter),
                description=description + _("各次数值见监测结果矩阵。"),
                points=points, limits=_limit_lines(row), x_label=_("采样日期"),
                y_label=_("%(parameter)s（%(unit)s）", parameter=row.parameter, unit=row.unit) if row.unit else row.parameter,
                format_x=format_date,
            ),
        })
    return result


def map_data(outfall: Outfall) -> dict | None:
    """What static/js/outfall_map.js draws: the point, its town's boundary, its water, the basemap."""
    if outfall.latitude is None or outfall.longitude is None:
        return None
    water = outfall.water_body
    return {
        "point": [outfall.latitude, outfall.longitude],
        "name": outfall.name,
        "town": {"name": outfall.town.name, "geometry": outfall.town.boundary_geometry,
                 "source": outfall.town.boundary_source},
        "water": {"name": water.name, "geometry": json.loads(water.geometry)} if water and water.geometry else None,
        "layers": basemap_layers(current_app.config),
    }


# The order a visitor reads an outfall's photos in: what stands there now (the signboard, the sampling
# point), then the rectification's before and after.
PHOTO_ORDER = ("signboard", "sampling_point", "before", "after", "other")


def photos_by_kind(photos: list[OutfallPhoto]) -> list[tuple[str, list[OutfallPhoto]]]:
    """The photos grouped signboard → sampling point → before → after → other, each group in the
    order taken (or added)."""
    groups = []
    for code in PHOTO_ORDER:
        chosen = [p for p in photos if (p.kind if p.kind in PHOTO_ORDER else "other") == code]
        if chosen:
            chosen.sort(key=lambda p: (p.taken_at or p.created_at, p.id))
            groups.append((code, chosen))
    return groups


def report_url(code: str) -> str:
    """Where a visitor reports a problem with this outfall (the report form reads ``outfall``)."""
    return f"{request.script_root}/reports/new?{urlencode({'outfall': code})}"


# --- 监测依据: what was sampled, by which standard or permit, and why ------------------------------------

_GRADE = re.compile(r"^([一二三])级([AB]?)$")
_CLASS = re.compile(r"^(I|II|III|IV|V)类$")
_GRADE_NUMBERS = {"一": "1", "二": "2", "三": "3"}
_CONDITION = re.compile(r"^水温(≤|<)(\d+(?:\.\d+)?)℃$")


def grade_label(grade: str) -> str:
    """A standard's grade in the visitor's language: 一级A → Grade 1A, III类 → Class III in English."""
    if not grade or not i18n.is_english():
        return grade or ""
    if match := _GRADE.match(grade):
        return f"Grade {_GRADE_NUMBERS[match.group(1)]}{match.group(2)}"
    if match := _CLASS.match(grade):
        return f"Class {match.group(1)}"
    return grade


def standard_label(standard: DischargeStandard | None) -> str:
    """How a standard is cited on the page (code and grade); a permit by its number."""
    if standard is None:
        return _("（标准未录入）")
    return " ".join(part for part in (standard.code, grade_label(standard.grade)) if part)


# Parameters whose code is a Chinese word, as English pages name them.
_ENGLISH_NAMES = {"粪大肠菌群": "Fecal coliforms", standards.WATER_TEMPERATURE: "Water temperature",
                  standards.FLOW: "Flow"}
# Units written in Chinese, as English pages write them.
_ENGLISH_UNITS = {"个/L": "per L"}


def parameter_name(code: str) -> str:
    """A parameter as readers know it in a sentence: 氨氮 in Chinese, its code (NH3-N) in English."""
    if i18n.is_english():
        return _ENGLISH_NAMES.get(code, code)
    parameter = BY_CODE.get(code)
    return code if parameter is None else parameter.label


def parameter_heading(code: str) -> str:
    """A parameter as a table names it: 化学需氧量（COD） in Chinese, COD in English."""
    name = parameter_name(code)
    return name if name == code or i18n.is_english() else _("%(name)s（%(code)s）", name=name, code=code)


def unit_text(unit: str) -> str:
    """A unit in the visitor's language (个/L reads "per L" in English)."""
    return _ENGLISH_UNITS.get(unit, unit) if i18n.is_english() else unit


def condition_text(condition: str) -> str:
    """A limit's condition in words ("水温 ≤ 12 ℃"), in the visitor's language."""
    match = _CONDITION.match(condition or "")
    if match is None:
        return condition or ""
    return _("水温 %(sign)s %(degrees)s ℃", sign=match.group(1), degrees=match.group(2))


def bounds_text(limit: StandardLimit) -> str:
    """A limit's bounds and unit without its condition: ≤ 8 mg/L, 6–9, ≥ 5 mg/L."""
    number = charts.number
    if limit.minimum is not None and limit.maximum is not None:
        text = f"{number(limit.minimum)}–{number(limit.maximum)}"
    elif limit.maximum is not None:
        text = f"≤ {number(limit.maximum)}"
    else:
        text = f"≥ {number(limit.minimum)}"
    return f"{text} {unit_text(limit.unit)}" if limit.unit else text


def _value_text(limit: StandardLimit) -> str:
    """A limit as a sentence states it: "8 mg/L" for a maximum, the bounds otherwise."""
    if limit.maximum is not None and limit.minimum is None:
        number = charts.number(limit.maximum)
        return f"{number} {unit_text(limit.unit)}" if limit.unit else number
    return bounds_text(limit)


def _conditional_notes(standard: DischargeStandard | None) -> list[str]:
    """One sentence per conditional limit: when it replaces the plain one, and what applies untested."""
    if standard is None:
        return []
    notes = []
    for limit in standard.limits:
        if not limit.condition:
            continue
        plain = next((l for l in standard.limits if l.parameter == limit.parameter and not l.condition), None)
        sentence = _("%(condition)s 时%(parameter)s限值为 %(limit)s", condition=condition_text(limit.condition),
                     parameter=parameter_name(limit.parameter), limit=_value_text(limit))
        if plain is not None:
            sentence += _("；采样时未测水温的，按 %(limit)s 评价", limit=_value_text(plain))
        notes.append(sentence)
    return notes


def _with_conditions(sentence: str, standard: DischargeStandard | None) -> str:
    notes = _conditional_notes(standard)
    return sentence + (_("；") + _("；").join(notes) if notes else "") + _("。")


def _rule_reason(outfall: Outfall) -> standards.Applicable:
    """What would apply without the permit: the bureau's choice, else the rule by type."""
    if outfall.standard is not None:
        return standards.Applicable(standard=outfall.standard, reason=standards.BY_BUREAU)
    standard, reason, water_class = standards.rule_standard(outfall)
    return standards.Applicable(standard=standard, reason=reason, water_class=water_class)


def explain_standard(applicable: standards.Applicable, site=None) -> str:
    """Why these limits judge the site's results, in words, for every reason key of
    ``portal.monitoring.standards`` (``site``: the outfall or section, for the names it mentions)."""
    reason, standard = applicable.reason, applicable.standard
    label = standard_label(standard)
    outfall = site if isinstance(site, Outfall) else None
    if reason == standards.BY_PERMIT:
        permit = applicable.permit
        head = _("持有排污许可证 %(number)s（有效期 %(start)s 至 %(end)s）", number=permit.code,
                 start=format_date(permit.valid_from) or _("未注明"), end=format_date(permit.valid_until) or _("未注明"))
        permit_notes = _conditional_notes(permit)
        conditions = (_("；") + _("；").join(permit_notes)) if permit_notes else ""
        if standard is None:
            return head + _("：按许可限值评价，许可未列的项目无适用的排放标准") + conditions + _("。")
        sentence = head + _("：许可限值优先，许可未列的项目执行 %(standard)s", standard=label) + conditions + _("。")
        if outfall is not None:
            sentence += explain_standard(_rule_reason(outfall), outfall)
        return sentence
    if reason == standards.BY_BUREAU:
        note = (outfall.standard_note if outfall is not None else None) or _("未注明原因")
        return _with_conditions(_("生态环境局为本排污口指定执行 %(standard)s（原因：%(note)s）",
                                  standard=label, note=note), standard)
    if reason == standards.BY_TYPE_MUNICIPAL:
        return _with_conditions(_("城镇污水处理厂：执行 %(standard)s", standard=label), standard)
    if reason in (standards.BY_TYPE_INDUSTRIAL_III, standards.BY_TYPE_INDUSTRIAL_IV_V):
        water = outfall.water_body.name if outfall is not None and outfall.water_body else _("受纳水体")
        return _with_conditions(_("工业排污口，受纳水体%(water)s目标为 %(cls)s 类：执行 %(standard)s", water=water,
                                  cls=applicable.water_class, standard=label), standard)
    if reason == standards.BY_TYPE_INDUSTRIAL_UNKNOWN:
        return _with_conditions(_("工业排污口，受纳水体的水质目标没有记录：按较严的 %(standard)s 执行",
                                  standard=label), standard)
    if reason == standards.BY_TYPE_LIVESTOCK:
        return _with_conditions(_("规模化畜禽养殖场：执行 %(standard)s", standard=label), standard)
    if reason == standards.BY_TYPE_RURAL:
        return _with_conditions(_("农村污水处理设施：执行生态环境局录入的农村生活污水处理设施排放标准 %(standard)s",
                                  standard=label), standard)
    if reason == standards.NO_RURAL_STANDARD:
        return _("农村污水处理设施：黑龙江省的排放标准尚未录入，暂无限值。")
    if reason == standards.NO_STANDARD_BY_TYPE:
        if outfall is not None and outfall.outfall_subtype in standards.STORMWATER_SUBTYPES:
            return _("雨水排口：无适用的排放标准。")
        kind = (vocabulary.OUTFALL_SUBTYPES.display(outfall.outfall_subtype) if outfall is not None
                and outfall.outfall_subtype else vocabulary.OUTFALL_TYPES.display(outfall.outfall_type)
                if outfall is not None else _("本排污口"))
        return _("%(kind)s：没有按类型适用的排放标准，生态环境局也未指定，暂无限值。", kind=kind)
    if reason == standards.BY_SECTION_CLASS:
        return _with_conditions(_("地表水监测断面，水质目标 %(cls)s 类：按 %(standard)s 评价",
                                  cls=applicable.water_class, standard=label), standard)
    if reason == standards.NO_SECTION_CLASS:
        return _("监测断面的水质目标没有记录：暂无限值。")
    return _("评价依据没有记录。")


def permit_state(permit: DischargeStandard, on: date) -> str:
    """Whether a permit is valid on a day: valid, expired or not_yet."""
    if permit.valid_until is not None and permit.valid_until < on:
        return "expired"
    if permit.valid_from is not None and on < permit.valid_from:
        return "not_yet"
    return "valid"


@dataclass(frozen=True)
class CurrentLimit:
    """One parameter's limit that judges a result taken today, and where it comes from."""

    parameter: str
    limit: StandardLimit
    source: DischargeStandard


@dataclass(frozen=True)
class MonitoringBasis:
    """What the page's 监测依据 block says: the applicable limits now, why, and the permits on record."""

    applicable: standards.Applicable
    explanation: str
    limits: list[CurrentLimit]
    permits: list[tuple[DischargeStandard, str]]


def current_limits(applicable: standards.Applicable) -> list[CurrentLimit]:
    """Every limit that applies now: the permit's, then the standard's on parameters the permit omits."""
    chosen, taken = [], set()
    for source in (applicable.permit, applicable.standard):
        if source is None:
            continue
        listed = {limit.parameter for limit in source.limits}
        for limit in source.limits:
            if limit.parameter in taken:
                continue
            chosen.append(CurrentLimit(limit.parameter, limit, source))
        taken |= listed
    order = {code: index for index, code in enumerate(results.PARAMETER_ORDER)}
    return sorted(chosen, key=lambda c: (order.get(c.parameter, len(order)), c.parameter, bool(c.limit.condition)))


def monitoring_basis(outfall: Outfall, on: date) -> MonitoringBasis:
    """The outfall page's 监测依据: what judges its effluent on ``on`` (today) and why."""
    applicable = standards.for_outfall(outfall, on)
    return MonitoringBasis(
        applicable=applicable, explanation=explain_standard(applicable, outfall),
        limits=current_limits(applicable),
        permits=[(permit, permit_state(permit, on)) for permit in outfall.permits],
    )
