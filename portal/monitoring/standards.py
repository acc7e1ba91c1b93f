"""Which limits judge a result (DOMAIN.md §6): the one place the rule lives.

Effluent sampled at an outfall is judged by the discharge standard that applies to its source; a
receiving-water section by its GB 3838 class. Never effluent by GB 3838.

For an outfall, in order:

1. its discharge permit (排污许可证), valid on the sampling day: the permit's limit for a parameter
   takes precedence; parameters the permit does not limit fall back to the standard below;
2. the standard the bureau set for the outfall (``Outfall.standard``), with its note saying why;
3. the rule by type: a municipal treatment plant → GB 18918 一级A; an industrial source →
   GB 8978 一级 into class I–III waters (or when the class is unknown: the stricter), 二级 into IV/V;
   a large livestock farm → GB 18596; a rural sewage facility → the provincial standard for them,
   once an administrator has added one (scope ``rural_facility``); stormwater and scattered outlets
   → none, until the bureau sets one.

A limit with a water-temperature condition (GB 18918's NH3-N figure in brackets, "水温≤12℃")
replaces the plain one when the water temperature measured with the sample meets the condition;
without a measured temperature the plain limit applies, and the page says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import DischargeStandard, MonitoringSample, Outfall, StandardLimit

# Parameter codes of the two results that qualify others rather than being judged themselves.
WATER_TEMPERATURE = "水温"
FLOW = "流量"

MUNICIPAL = ("GB 18918-2002", "一级A")
INDUSTRIAL_CLASS_III_OR_BETTER = ("GB 8978-1996", "一级")
INDUSTRIAL_CLASS_IV_V = ("GB 8978-1996", "二级")
LIVESTOCK = ("GB 18596-2001", "")
SURFACE_WATER = "GB 3838-2002"

# Why a standard applies, as a key the pages put into words (portal.public.outfall_record).
BY_PERMIT = "permit"
BY_BUREAU = "set_by_bureau"
BY_TYPE_MUNICIPAL = "municipal_wwtp"
BY_TYPE_INDUSTRIAL_III = "industrial_class_iii"
BY_TYPE_INDUSTRIAL_IV_V = "industrial_class_iv_v"
BY_TYPE_INDUSTRIAL_UNKNOWN = "industrial_class_unknown"
BY_TYPE_LIVESTOCK = "livestock_large"
BY_TYPE_RURAL = "rural_facility"
NO_RURAL_STANDARD = "rural_facility_missing"
NO_STANDARD_BY_TYPE = "none_by_type"
BY_SECTION_CLASS = "section_class"
NO_SECTION_CLASS = "section_class_missing"

# Subtypes whose water is rain, or scattered household outlets: no discharge standard by rule.
STORMWATER_SUBTYPES = frozenset({"industrial_stormwater", "park_stormwater", "urban_stormwater"})
_TEMPERATURE_CONDITION = re.compile(r"水温\s*(≤|<=|<|＜)\s*(\d+(?:\.\d+)?)\s*(?:℃|°C)?")


@dataclass(frozen=True)
class Applicable:
    """The limits that judge a site's results and why: a standard, a permit over it, or neither."""

    standard: DischargeStandard | None
    reason: str
    permit: DischargeStandard | None = None
    # For the GB 8978 rule and for sections: the receiving water's class the choice rests on.
    water_class: str | None = None

    @property
    def judged(self) -> bool:
        """Whether any limit applies at all."""
        return self.standard is not None or self.permit is not None


def _standard(code: str, grade: str) -> DischargeStandard | None:
    return db.session.scalar(select(DischargeStandard).where(
        DischargeStandard.code == code, DischargeStandard.grade == grade))


def _by_scope(scope: str) -> DischargeStandard | None:
    """The standard the bureau added for a kind of source (the most recent, if several)."""
    return db.session.scalar(select(DischargeStandard).where(
        DischargeStandard.scope == scope, DischargeStandard.kind == "effluent",
        DischargeStandard.outfall_id.is_(None)).order_by(DischargeStandard.id.desc()).limit(1))


def current_permit(outfall: Outfall, on: date | None) -> DischargeStandard | None:
    """The outfall's permit valid on that day (open-ended dates count as valid), the latest first."""
    for permit in sorted(outfall.permits, key=lambda p: (p.valid_from or date.min, p.id or 0), reverse=True):
        if on is None or ((permit.valid_from is None or permit.valid_from <= on)
                          and (permit.valid_until is None or on <= permit.valid_until)):
            return permit
    return None


def rule_standard(outfall: Outfall) -> tuple[DischargeStandard | None, str, str | None]:
    """The standard the rule gives an outfall of its type: (standard, reason, water class used)."""
    water_class = outfall.water_body.target_class if outfall.water_body else None
    if outfall.outfall_type == "municipal_wwtp":
        return _standard(*MUNICIPAL), BY_TYPE_MUNICIPAL, None
    if outfall.outfall_type == "industrial" and outfall.outfall_subtype not in STORMWATER_SUBTYPES:
        if water_class in ("IV", "V"):
            return _standard(*INDUSTRIAL_CLASS_IV_V), BY_TYPE_INDUSTRIAL_IV_V, water_class
        reason = BY_TYPE_INDUSTRIAL_III if water_class else BY_TYPE_INDUSTRIAL_UNKNOWN
        return _standard(*INDUSTRIAL_CLASS_III_OR_BETTER), reason, water_class
    if outfall.outfall_subtype == "livestock_large":
        return _standard(*LIVESTOCK), BY_TYPE_LIVESTOCK, None
    if outfall.outfall_subtype == "rural_treatment":
        standard = _by_scope("rural_facility")
        return standard, (BY_TYPE_RURAL if standard else NO_RURAL_STANDARD), None
    return None, NO_STANDARD_BY_TYPE, None


def for_outfall(outfall: Outfall, on: date | None = None) -> Applicable:
    """What judges the outfall's effluent on a day (today's choice when ``on`` is None)."""
    permit = current_permit(outfall, on)
    if outfall.standard is not None:
        standard, reason, water_class = outfall.standard, BY_BUREAU, None
    else:
        standard, reason, water_class = rule_standard(outfall)
    if permit is not None:
        reason = BY_PERMIT
    return Applicable(standard=standard, reason=reason, permit=permit, water_class=water_class)


def for_section(section) -> Applicable:
    """What judges a section's water: GB 3838 at its class (its own, else its water body's)."""
    water_class = section.judged_class
    if not water_class:
        return Applicable(standard=None, reason=NO_SECTION_CLASS)
    return Applicable(standard=_standard(SURFACE_WATER, f"{water_class}类"), reason=BY_SECTION_CLASS,
                      water_class=water_class)


def applicable_for_sample(sample: MonitoringSample, zone) -> Applicable:
    """What judges this sample, by its site and its local sampling day."""
    if sample.section is not None:
        return for_section(sample.section)
    return for_outfall(sample.outfall, sample.sampled_at.astimezone(zone).date())


def condition_met(condition: str, water_temperature: float | None) -> bool:
    """Whether a limit's condition holds ("" always; "水温≤12℃" when the water was that cold)."""
    if not condition:
        return True
    match = _TEMPERATURE_CONDITION.search(condition)
    if match is None or water_temperature is None:
        return False
    threshold = float(match.group(2))
    return water_temperature <= threshold if match.group(1) in ("≤", "<=") else water_temperature < threshold


def limit_in(standard: DischargeStandard | None, parameter: str, unit: str,
             water_temperature: float | None) -> StandardLimit | None:
    """The standard's limit on a parameter in that unit: a conditional one whose condition holds
    wins over the plain one; a limit in another unit judges nothing (the import converts units)."""
    if standard is None:
        return None
    candidates = [limit for limit in standard.limits
                  if limit.parameter == parameter and (limit.unit or "") == (unit or "")]
    conditional = [limit for limit in candidates if limit.condition and condition_met(limit.condition,
                                                                                      water_temperature)]
    if conditional:
        return conditional[0]
    plain = [limit for limit in candidates if not limit.condition]
    return plain[0] if plain else None


def limit_for(applicable: Applicable, parameter: str, unit: str,
              water_temperature: float | None) -> StandardLimit | None:
    """The limit that judges one parameter: the permit's if it limits it, else the standard's."""
    if parameter in (WATER_TEMPERATURE, FLOW):
        return None
    return (limit_in(applicable.permit, parameter, unit, water_temperature)
            or limit_in(applicable.standard, parameter, unit, water_temperature))


def judge(sample: MonitoringSample, water_temperature: float | None, zone) -> None:
    """Link the sample to the limit that judges it (or to none)."""
    sample.limit = limit_for(applicable_for_sample(sample, zone), sample.parameter, sample.unit,
                             water_temperature)


def temperatures(samples) -> dict[tuple, float]:
    """Water temperature by (site, sampling time) among these samples, to judge the others by."""
    found = {}
    for sample in samples:
        if sample.parameter == WATER_TEMPERATURE and sample.value is not None:
            found[_sampling_key(sample)] = sample.value
    return found


def _sampling_key(sample: MonitoringSample) -> tuple:
    # The site objects, not their ids: samples being imported have none until the flush.
    return sample.outfall, sample.section, _instant(sample.sampled_at)


def _instant(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def judge_all(samples, zone) -> None:
    """Judge samples of one or more sites, each by the water temperature taken with it.

    What applies is worked out once per site and local day (it looks standards up), not per sample.
    """
    samples = list(samples)
    found = temperatures(samples)
    applicable: dict[tuple, Applicable] = {}
    for sample in samples:
        key = (sample.outfall, sample.section, sample.sampled_at.astimezone(zone).date())
        if key not in applicable:
            applicable[key] = applicable_for_sample(sample, zone)
        sample.limit = limit_for(applicable[key], sample.parameter, sample.unit, found.get(_sampling_key(sample)))


def rejudge_outfall(outfall: Outfall, zone) -> int:
    """Judge every sample of an outfall again (after its standard or permit changed); how many changed."""
    before = {sample.id: sample.limit_id for sample in outfall.samples}
    judge_all(outfall.samples, zone)
    db.session.flush()
    return sum(1 for sample in outfall.samples if before.get(sample.id) != sample.limit_id)
