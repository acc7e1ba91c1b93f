"""Monitoring results judged against their limits: the parameter × date matrix and a series per parameter.

A sample is over its limit, within it, or judged against no limit at all; a parameter not sampled
on a date is missing data. The four are kept apart everywhere: no limit and no data never read as
compliant (DOMAIN.md §9, EPA ECHO's "unknown").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, tzinfo

from portal.models import MonitoringSample, StandardLimit

OVER = "over"            # 超标
WITHIN = "within"        # 达标
NO_LIMIT = "no_limit"    # 无适用限值
NO_DATA = "no_data"      # 无数据
# A non-detect whose detection limit is above the limit (or a lower bound applies): 无法判定, never 超标.
UNDETERMINED = "undetermined"

# The order the bureau's reports list parameters in; any other parameter follows in order of appearance.
PARAMETER_ORDER = ("COD", "CODMn", "BOD5", "SS", "TN", "NH3-N", "TP", "pH", "DO", "粪大肠菌群")


def verdict(sample: MonitoringSample) -> str:
    """How one sample compares with the limit that applied to it."""
    exceeds = sample.exceeds_limit
    if exceeds is None:
        return UNDETERMINED if sample.limit is not None else NO_LIMIT
    return OVER if exceeds else WITHIN


def combined_verdict(samples: list[MonitoringSample]) -> str:
    """The verdict of several samples of one parameter on one day: any breach is a breach, and one
    that cannot be judged keeps the day from reading as compliant."""
    verdicts = {verdict(sample) for sample in samples}
    for candidate in (OVER, UNDETERMINED, WITHIN, NO_LIMIT):
        if candidate in verdicts:
            return candidate
    return NO_DATA


@dataclass
class Cell:
    """One parameter on one sampling date: its samples (possibly none) and their verdict."""

    day: date
    samples: list[MonitoringSample]

    @property
    def verdict(self) -> str:
        """Over, within, no limit, or no data when nothing was sampled."""
        return combined_verdict(self.samples)


@dataclass
class ParameterRow:
    """One parameter (in one unit) across every sampling date of the outfall."""

    parameter: str
    unit: str
    cells: list[Cell]
    samples: list[MonitoringSample] = field(default_factory=list)

    @property
    def limits(self) -> list[StandardLimit]:
        """The distinct limits its samples were judged by, in the order first used."""
        seen: dict[int, StandardLimit] = {}
        for sample in self.samples:
            if sample.limit is not None:
                seen.setdefault(sample.limit.id, sample.limit)
        return list(seen.values())

    def count(self, wanted: str) -> int:
        """How many of its samples have a verdict."""
        return sum(1 for sample in self.samples if verdict(sample) == wanted)


@dataclass
class SampleMatrix:
    """Rows of parameters, columns of sampling dates (oldest first)."""

    days: list[date]
    rows: list[ParameterRow]

    def __bool__(self):
        return bool(self.rows)


def _parameter_key(parameter: str, first_seen: int) -> tuple[int, int]:
    if parameter in PARAMETER_ORDER:
        return 0, PARAMETER_ORDER.index(parameter)
    return 1, first_seen


def ordered_parameters(parameters) -> list[str]:
    """Parameter names in the bureau's order, others after them alphabetically."""
    return sorted(set(parameters), key=lambda p: (_parameter_key(p, 0), p))


def sample_matrix(samples: list[MonitoringSample], zone: tzinfo) -> SampleMatrix:
    """Arrange an outfall's samples as parameter × local sampling date."""
    ordered = sorted(samples, key=lambda s: (s.sampled_at, s.id or 0))
    days = sorted({sample.sampled_at.astimezone(zone).date() for sample in ordered})
    grouped: dict[tuple[str, str], list[MonitoringSample]] = {}
    for sample in ordered:
        grouped.setdefault((sample.parameter, sample.unit or ""), []).append(sample)
    first_seen = {key: index for index, key in enumerate(grouped)}
    rows = []
    for key in sorted(grouped, key=lambda k: (_parameter_key(k[0], first_seen[k]), k[1])):
        by_day: dict[date, list[MonitoringSample]] = {}
        for sample in grouped[key]:
            by_day.setdefault(sample.sampled_at.astimezone(zone).date(), []).append(sample)
        cells = [Cell(day, by_day.get(day, [])) for day in days]
        rows.append(ParameterRow(parameter=key[0], unit=key[1], cells=cells, samples=grouped[key]))
    return SampleMatrix(days=days, rows=rows)
