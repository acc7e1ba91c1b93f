"""The history part of /progress: overdue counts and completions over time from the daily snapshots,
and each snapshot (or all of them) as a download."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Response, abort, json
from flask_babel import gettext as _

from portal.public import bp
from portal.public import progress_charts as charts
from portal.registry import snapshots

SHOWN_DAYS = 60  # the chart and the table show the latest snapshots; the downloads hold every one


@dataclass(frozen=True)
class History:
    """What the history section draws: the latest snapshots and their two charts."""

    snapshots: list[snapshots.Snapshot]
    total: int  # snapshots kept, shown or not
    overdue_chart: charts.Chart | None
    completed_chart: charts.Chart | None


def history() -> History:
    """The latest snapshots, oldest first, with a column chart of overdue outfalls and one of completions."""
    kept = snapshots.history()
    shown = kept[-SHOWN_DAYS:]
    if not shown:
        return History([], 0, None, None)
    overdue = daily_columns([(s.day, s.overdue) for s in shown], tone="alert")
    completed = daily_columns([(s.day, s.completed) for s in shown], tone="ok")
    return History(shown, len(kept), overdue, completed)


def daily_columns(points: list[tuple[date, int]], tone: str = "default") -> charts.Chart:
    """One column per (day, value); each day labelled when few, else the first day of each month."""
    ticks_values = charts.nice_ticks(max((value for _, value in points), default=0))
    top_value = ticks_values[-1]
    left, right, top, plot_height = 44, charts.WIDTH - 8, 16, 160
    axis_y = top + plot_height
    slot = (right - left) / max(len(points), 1)
    bar_width = max(2.0, min(28.0, slot * 0.7))
    label_every_day = len(points) <= 14
    bars, labels = [], []
    for index, (day, value) in enumerate(points):
        height = round(plot_height * value / top_value, 1)
        label = _("%(month)s月%(day)s日", month=day.month, day=day.day)
        bars.append(charts.Bar(x=round(left + index * slot + (slot - bar_width) / 2, 1), y=axis_y - height,
                               width=round(bar_width, 1), height=height, label=label,
                               full_label=day.isoformat(), value=value,
                               text=str(value) if label_every_day else "", tone=tone))
        if label_every_day or index == 0 or day.day == 1:
            labels.append(charts.AxisLabel(round(left + index * slot + slot / 2, 1), axis_y + 18, label))
    if not label_every_day and len(labels) > 1 and labels[1].x - labels[0].x < 56:
        del labels[0]  # the first day's label gives way to the next month's when they would overlap
    ticks = [charts.Tick(x1=left, y1=axis_y - plot_height * v / top_value, x2=right,
                         y2=axis_y - plot_height * v / top_value, label=str(v), label_x=left - 6,
                         label_y=axis_y - plot_height * v / top_value + 5) for v in ticks_values]
    return charts.Chart(width=charts.WIDTH, height=axis_y + 26, bars=bars, ticks=ticks, axis_labels=labels,
                        baseline=(left, axis_y, right, axis_y), kind="columns")


def _day_or_404(text: str) -> date:
    """The day a download's name gives (YYYY-MM-DD), or 404."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else abort(404)
    except ValueError:
        abort(404)


@bp.get("/progress/snapshots/<day>.csv")
def snapshot_csv(day: str):
    """One day's snapshot as CSV: the district's row, then one row per town."""
    snapshot = snapshots.snapshot_on(_day_or_404(day)) or abort(404)
    return _download(snapshots.as_csv([snapshot]), f"progress-{snapshot.day.isoformat()}.csv", "text/csv")


@bp.get("/progress/snapshots/<day>.json")
def snapshot_json(day: str):
    """One day's snapshot as JSON, exactly the figures kept."""
    snapshot = snapshots.snapshot_on(_day_or_404(day)) or abort(404)
    body = json.dumps(snapshot.figures, ensure_ascii=False, sort_keys=True, indent=1)
    return _download(body, f"progress-{snapshot.day.isoformat()}.json", "application/json")


@bp.get("/progress/snapshots.csv")
def snapshots_csv():
    """Every snapshot as one CSV, oldest first."""
    return _download(snapshots.as_csv(snapshots.history()), "progress-history.csv", "text/csv")


def _download(body: str, filename: str, mimetype: str) -> Response:
    """A UTF-8 download (with a BOM for CSV, which Excel needs to read Chinese)."""
    data = ("\ufeff" + body) if mimetype == "text/csv" else body
    response = Response(data.encode("utf-8"), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.charset = "utf-8"
    return response
