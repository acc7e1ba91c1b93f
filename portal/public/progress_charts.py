"""Charts for /progress, laid out here and drawn as inline SVG by templates/public/_charts.html.

No script and no outside service: the server computes every bar's position, so a chart shows on any
browser, prints, and stays the same in a screenshot. Each chart is a picture with a title
(role="img"); its figures, with their links, are in the table beside it, which is what assistive
technology reads. Values are written next to the bars, so colour is never the only cue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask_babel import gettext as _

WIDTH = 640
FONT_SIZE = 14
ROW_HEIGHT = 30
BAR_HEIGHT = 18
LABEL_WIDTH = 196
VALUE_SPACE = 48  # least room right of the longest bar for its value
AXIS_HEIGHT = 26
YEAR_LABEL_WIDTH = 56  # "2026年" at the axis font size, with a gap


@dataclass(frozen=True)
class Bar:
    """One bar: its box, its category label and the value written beside it."""

    x: float
    y: float
    width: float
    height: float
    label: str
    full_label: str
    value: int
    text: str  # what is written beside the bar, e.g. "12" or "0 已清零"
    tone: str = "default"  # default | alert | ok (drawn in different colours, always with words)


@dataclass(frozen=True)
class Tick:
    """A grid line with its value, and where its label sits."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class AxisLabel:
    """A text under the axis of a column chart (a month or a year)."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    """A chart ready to draw: its size, bars, grid lines and labels."""

    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick] = field(default_factory=list)
    axis_labels: list[AxisLabel] = field(default_factory=list)
    baseline: tuple[float, float, float, float] | None = None
    kind: str = "bars"  # bars | columns | share


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Round grid values from 0 to at least ``maximum``: 0, 10, 20, 30, 40 for 37."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def text_width(text: str) -> float:
    """Rough width of a text in pixels at FONT_SIZE: Chinese characters are square, Latin ones narrower."""
    return sum(FONT_SIZE if ord(ch) > 0x2E80 else FONT_SIZE * 0.58 for ch in text)


def fit(text: str, width: float) -> str:
    """The text, cut with … if it would not fit in ``width`` pixels (the table holds it in full)."""
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def horizontal_bars(items: list[tuple[str, int]], tones: list[str] | None = None,
                    texts: list[str] | None = None) -> Chart:
    """One bar per (label, value), longest to the right, value written after each bar."""
    texts = texts or [str(value) for _, value in items]
    ticks_values = nice_ticks(max((value for _, value in items), default=0))
    top_value = ticks_values[-1]
    # Room right of the longest bar for the longest value text, so no text runs off the picture.
    value_space = max([VALUE_SPACE, *(text_width(text) + 16 for text in texts)])
    left, right = LABEL_WIDTH + 8, WIDTH - value_space
    span = right - left
    top = 6
    height = top + ROW_HEIGHT * len(items) + AXIS_HEIGHT
    bars = []
    for index, (label, value) in enumerate(items):
        y = top + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        bars.append(Bar(
            x=left, y=y, width=round(span * value / top_value, 1), height=BAR_HEIGHT,
            label=fit(label, LABEL_WIDTH - 4), full_label=label, value=value,
            text=texts[index], tone=tones[index] if tones else "default",
        ))
    axis_y = top + ROW_HEIGHT * len(items)
    ticks = [
        Tick(x1=left + span * v / top_value, y1=top, x2=left + span * v / top_value, y2=axis_y,
             label=str(v), label_x=left + span * v / top_value, label_y=axis_y + 18)
        for v in ticks_values
    ]
    return Chart(width=WIDTH, height=height, bars=bars, ticks=ticks, baseline=(left, top, left, axis_y))


def monthly_columns(months: list[tuple[int, int, int]]) -> Chart:
    """One column per (year, month, value), a month label under each when few, else a year label per January."""
    ticks_values = nice_ticks(max((value for *_, value in months), default=0))
    top_value = ticks_values[-1]
    left, right, top, plot_height = 44, WIDTH - 8, 10, 180
    axis_y = top + plot_height
    slot = (right - left) / max(len(months), 1)
    bar_width = max(2.0, min(28.0, slot * 0.7))
    bars, labels, years = [], [], []
    label_every_month = len(months) <= 18
    for index, (year, month, value) in enumerate(months):
        height = round(plot_height * value / top_value, 1)
        x = left + index * slot + (slot - bar_width) / 2
        label = _("%(year)s年%(month)s月", year=year, month=month)
        bars.append(Bar(x=round(x, 1), y=axis_y - height, width=round(bar_width, 1), height=height, label=label,
                        full_label=label, value=value, text=str(value) if value and label_every_month else ""))
        centre = round(left + index * slot + slot / 2, 1)
        if label_every_month:
            labels.append(AxisLabel(centre, axis_y + 18, _("%(month)s月", month=month)))
        if index == 0 or month == 1:
            years.append(AxisLabel(centre, axis_y + (36 if label_every_month else 18), _("%(year)s年", year=year)))
    # The first month's year gives way to the next January's when the two would overlap.
    if len(years) > 1 and years[1].x - years[0].x < YEAR_LABEL_WIDTH:
        del years[0]
    labels += years
    ticks = [
        Tick(x1=left, y1=axis_y - plot_height * v / top_value, x2=right, y2=axis_y - plot_height * v / top_value,
             label=str(v), label_x=left - 6, label_y=axis_y - plot_height * v / top_value + 5)
        for v in ticks_values
    ]
    height = axis_y + (40 if label_every_month else 24)
    return Chart(width=WIDTH, height=int(height), bars=bars, ticks=ticks, axis_labels=labels,
                 baseline=(left, axis_y, right, axis_y), kind="columns")


def share_bar(finished: int, total: int) -> Chart:
    """A single bar split into finished and unfinished parts, each labelled with its count."""
    left, right, y, height = 4, WIDTH - 4, 8, 32
    span = right - left
    done_width = round(span * finished / total, 1) if total else 0
    bars = [
        Bar(x=left, y=y, width=done_width, height=height, label=_("已完成"), full_label=_("已完成"),
            value=finished, text="", tone="ok"),
        Bar(x=left + done_width, y=y, width=round(span - done_width, 1), height=height, label=_("未完成"),
            full_label=_("未完成"), value=total - finished, text="", tone="empty"),
    ]
    labels = [AxisLabel(left, y + height + 20, "0%"), AxisLabel(right, y + height + 20, "100%")]
    return Chart(width=WIDTH, height=y + height + 28, bars=bars, axis_labels=labels, kind="share")


def cleared_text(overdue: int) -> str:
    """What a town's overdue bar says: the count, and in words whether the town has cleared them."""
    return _("0（已清零）") if overdue == 0 else _("%(n)s（未清零）", n=overdue)
