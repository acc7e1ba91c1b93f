"""What the outfall record page (一口一档) shows beyond its rows: limits in words, charts, map data, photos."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import current_app, request
from flask_babel import gettext as _

from portal.models import Outfall, OutfallPhoto, StandardLimit
from portal.public import charts
from portal.public.map import basemap_layers
from portal.registry import monitoring, vocabulary
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
        monitoring.OVER: _("超标"), monitoring.WITHIN: _("达标"),
        monitoring.NO_LIMIT: _("无适用限值"), monitoring.NO_DATA: _("无数据"),
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


def _limit_lines(row: monitoring.ParameterRow) -> list[charts.LimitLine]:
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


def parameter_charts(matrix: monitoring.SampleMatrix) -> list[dict]:
    """A chart per parameter row of the matrix, with the row's anchor so the chart links to its numbers."""
    result = []
    for index, row in enumerate(matrix.rows, start=1):
        unit = f" {row.unit}" if row.unit else ""
        points = [
            charts.ChartPoint(
                sample.sampled_at, sample.value, monitoring.verdict(sample),
                _("%(day)s：%(value)s%(unit)s，%(verdict)s", day=format_date(sample.sampled_at),
                  value=charts.number(sample.value), unit=unit,
                  verdict=verdict_label(monitoring.verdict(sample))),
            )
            for sample in row.samples
        ]
        limits = _("；").join(_("%(limit)s（%(standard)s）", limit=describe_limit(l), standard=l.standard.label)
                              for l in row.limits)
        description = _(
            "%(parameter)s 共 %(n)s 次测定：超标 %(over)s 次，达标 %(within)s 次，无适用限值 %(none)s 次。",
            parameter=row.parameter, n=len(row.samples), over=row.count(monitoring.OVER),
            within=row.count(monitoring.WITHIN), none=row.count(monitoring.NO_LIMIT),
        ) + (_("限值：%(limits)s。", limits=limits) if limits else _("没有可对照的限值。"))
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


def photos_by_kind(photos: list[OutfallPhoto]) -> list[tuple[str, list[OutfallPhoto]]]:
    """The photos grouped before → after → other, each group in the order taken (or added)."""
    groups = []
    for term in vocabulary.PHOTO_KINDS:
        chosen = [p for p in photos if (p.kind if p.kind in vocabulary.PHOTO_KINDS else "other") == term.code]
        if chosen:
            chosen.sort(key=lambda p: (p.taken_at or p.created_at, p.id))
            groups.append((term.code, chosen))
    return groups


def report_url(code: str) -> str:
    """Where a visitor reports a problem with this outfall (the report form reads ``outfall``)."""
    return f"{request.script_root}/reports/new?{urlencode({'outfall': code})}"
