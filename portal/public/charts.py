"""Charts drawn on the server as inline SVG: readable without script, printable, and testable as text.

``line_chart`` is a pure function: it knows nothing of outfalls or requests; the caller passes the
points, the limit lines and every word (already translated) the chart shows.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from markupsafe import Markup, escape

# Colours from portal.css; every mark also differs in shape, so colour is never the only cue.
TEXT, MUTED, GRID, SERIES = "#1b1b1b", "#4a4a4a", "#d5d9dd", "#0a5391"
DANGER, OK = "#a4161a", "#1e5c30"

OVER, WITHIN, NO_LIMIT = "over", "within", "no_limit"
# Below the lab's detection limit: drawn hollow at the limit, off the line, never as zero.
NON_DETECT = "non_detect"
MIN_LABEL_GAP = 120  # px between date labels on the time axis, enough for "2026年12月31日"


@dataclass(frozen=True)
class ChartPoint:
    """One measured value: when, how much, its verdict (over / within / no_limit) and a tooltip."""

    when: datetime | date
    value: float
    state: str
    label: str = ""


@dataclass(frozen=True)
class LimitLine:
    """A horizontal limit: an upper ("max") or lower ("min") bound, with the words that name it.

    ``spans`` are the (start, end) times it applied over, None meaning the edge of the chart; no
    spans means it applied throughout. A limit that changes with the season (NH3-N at ≤ 12 ℃) is
    drawn only where it applied, so that every point sits against its own limit.
    """

    value: float
    bound: str
    label: str
    spans: tuple = ()


def number(value: float) -> str:
    """A number as people write it: no float noise and no trailing ".0"."""
    return f"{value:.10g}"


def _timestamp(value: datetime | date) -> float:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(12), tzinfo=timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def nice_step(span: float, target: int = 5) -> float:
    """A tick step of 1, 2, 2.5 or 5 × 10ⁿ giving about ``target`` intervals over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude * (1 + 1e-9):
            return multiple * magnitude
    return 10 * magnitude


def _value_range(values: Sequence[float]) -> tuple[float, float, float]:
    """Axis bounds and step: from 0 for non-negative data, with headroom above the highest value."""
    low, high = min(values), max(values)
    low = 0.0 if low >= 0 else low
    if high <= low:
        high = low + 1.0
    headroom = (high - low) * 0.08
    step = nice_step(high - low + headroom)
    return math.floor(low / step) * step, math.ceil((high + headroom) / step) * step, step


def _marker(state: str, x: float, y: float) -> str:
    """The mark of one point: a filled triangle over the limit, a ring within it, a square with none."""
    if state == OVER:
        return (f'<path d="M{x:.1f} {y - 7:.1f}L{x + 6.5:.1f} {y + 5:.1f}H{x - 6.5:.1f}Z" '
                f'fill="{DANGER}" stroke="{TEXT}" stroke-width="1"/>')
    if state == WITHIN:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="#fff" stroke="{OK}" stroke-width="2.5"/>'
    if state == NON_DETECT:
        return (f'<path d="M{x - 6:.1f} {y - 5:.1f}H{x + 6:.1f}L{x:.1f} {y + 6:.1f}Z" fill="#fff" '
                f'stroke="{SERIES}" stroke-width="2" stroke-dasharray="3 2"/>')
    return (f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#fff" '
            f'stroke="{MUTED}" stroke-width="2"/>')


def line_chart(*, chart_id: str, title: str, description: str, points: Sequence[ChartPoint],
               limits: Sequence[LimitLine] = (), x_label: str = "", y_label: str = "",
               format_x: Callable[[datetime | date], str] = str, width: int = 560, height: int = 300) -> Markup:
    """An SVG line chart of ``points`` over time with horizontal ``limits``, as markup to inline in a page."""
    left, right, top, bottom = 64, width - 20, 44, height - 58
    ordered = sorted(points, key=lambda p: _timestamp(p.when))
    values = [p.value for p in ordered] + [line.value for line in limits] or [0.0]
    y_min, y_max, y_step = _value_range(values)

    def y_of(value: float) -> float:
        return bottom - (value - y_min) / (y_max - y_min) * (bottom - top)

    times = [_timestamp(p.when) for p in ordered]
    t_min, t_max = (min(times), max(times)) if times else (0.0, 0.0)
    pad = (right - left) * 0.05

    def x_of(stamp: float) -> float:
        if t_max == t_min:
            return (left + right) / 2
        return left + pad + (stamp - t_min) / (t_max - t_min) * (right - left - 2 * pad)

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text class="chart-title" x="{left}" y="22" fill="{TEXT}" font-size="15" font-weight="bold">'
        f'{escape(title)}</text>',
    ]

    # Horizontal grid and the value axis.
    parts.append('<g class="y-axis">')
    steps = round((y_max - y_min) / y_step)
    for index in range(steps + 1):
        tick = y_min + index * y_step
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
                     f'{escape(number(round(tick, 10)))}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="{MUTED}"/>')
    if y_label:
        middle = (top + bottom) / 2
        parts.append(f'<text class="axis-label" x="14" y="{middle:.1f}" text-anchor="middle" fill="{TEXT}" '
                     f'transform="rotate(-90 14 {middle:.1f})">{escape(y_label)}</text>')
    parts.append("</g>")

    # The time axis: the first and last dates and a few between, never crowding.
    parts.append('<g class="x-axis">')
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{MUTED}"/>')
    distinct = list(dict.fromkeys(p.when for p in ordered))
    if len(distinct) > 4:
        chosen = [distinct[round(i * (len(distinct) - 1) / 3)] for i in range(4)]
    else:
        chosen = distinct
    ticks: list = []
    for when in dict.fromkeys(chosen):
        # Keep labels a label's width apart; the last date always gets its label.
        if ticks and x_of(_timestamp(when)) - x_of(_timestamp(ticks[-1])) < MIN_LABEL_GAP:
            if when != chosen[-1]:
                continue
            if len(ticks) > 1:
                ticks.pop()
            else:
                continue
        ticks.append(when)
    for index, when in enumerate(ticks):
        x = x_of(_timestamp(when))
        # The outer labels grow inwards so that they stay inside the picture.
        anchor = "middle" if len(ticks) == 1 else "start" if index == 0 else \
            "end" if index == len(ticks) - 1 else "middle"
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="{MUTED}"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 20}" text-anchor="{anchor}" fill="{TEXT}">'
                     f'{escape(format_x(when))}</text>')
    if x_label:
        parts.append(f'<text class="axis-label" x="{(left + right) / 2:.1f}" y="{height - 10}" '
                     f'text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>')
    parts.append("</g>")

    # Limits: dashed red lines, named at the right end of where they applied.
    for line in limits:
        y = y_of(line.value)
        bound = "max" if line.bound == "max" else "min"
        spans = [(left if start is None else x_of(_timestamp(start)), right if end is None else x_of(_timestamp(end)))
                 for start, end in line.spans] or [(left, right)]
        label_x = max(x2 for _x1, x2 in spans)
        parts.append(f'<g class="limit limit-{bound}" data-value="{escape(number(line.value))}">')
        parts.extend(
            f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{DANGER}" stroke-width="2" '
            f'stroke-dasharray="8 4"/>'
            for x1, x2 in spans
        )
        parts.append(
            f'<text x="{label_x - 4:.1f}" y="{y - 5:.1f}" text-anchor="end" fill="{DANGER}" font-weight="bold" '
            f'paint-order="stroke" stroke="#fff" stroke-width="3">{escape(line.label)}</text></g>'
        )

    # The series, then the points on top of it.
    # The line joins measured values only: a non-detect is no value to draw a line through.
    measured = [(t, p) for t, p in zip(times, ordered) if p.state != NON_DETECT]
    if len(measured) > 1:
        path = " ".join(f"{x_of(t):.1f},{y_of(p.value):.1f}" for t, p in measured)
        parts.append(f'<polyline class="series" points="{path}" fill="none" stroke="{SERIES}" stroke-width="1.5"/>')
    parts.append('<g class="points">')
    for stamp, point in zip(times, ordered):
        state = point.state if point.state in (OVER, WITHIN, NON_DETECT) else NO_LIMIT
        parts.append(
            f'<g class="point point-{state}" data-state="{state}" data-value="{escape(number(point.value))}">'
            f'<title>{escape(point.label)}</title>{_marker(state, x_of(stamp), y_of(point.value))}</g>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))
