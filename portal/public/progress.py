"""/progress for the press: totals, shares finished, overdue per town, completions per month, complaints; /data."""
from __future__ import annotations

from flask import current_app, render_template, request

from portal import calendar, departments
from portal.data_version import REGISTRY, REPORTS
from portal.page_cache import cached_page
from portal.monitoring import open_data as monitoring_open_data
from portal.public import bp
from portal.public import progress_charts as charts
from portal.public import progress_history
from portal.registry import open_data, statistics
from portal.registry import vocabulary as vocab
from portal.reports import accountability


@bp.get("/progress")
# Counting everything is the dearest public page: recounted at most once a minute while data change.
@cached_page(REGISTRY, REPORTS, may_be_stale=True)
def progress():
    """The rectification campaign and the handling of complaints in figures, each linked to what it counts.

    ``?period=`` chooses the complaints' period (``12m`` or a year); anything else means the default.
    """
    today = calendar.today()
    stats = statistics.progress(today)
    period = accountability.period_from_key(request.args.get("period"), today) or \
        accountability.last_twelve_months(today)
    complaints = accountability.figures(period, today, department_name=departments.display)
    return render_template("public/progress.html", stats=stats, charts=_charts(stats), complaints=complaints,
                           history=progress_history.history())


@bp.get("/data")
@cached_page(REGISTRY)
def open_data_page():
    """The open-data page: licence, downloads, the feed and what every published field means."""
    return render_template("public/data.html", columns=open_data.COLUMNS, last_changed=statistics.last_changed(),
                           monitoring_columns=monitoring_open_data.COLUMNS,
                           licence_name=current_app.config["DATA_LICENCE_NAME"],
                           licence_url=current_app.config["DATA_LICENCE_URL"])


def _charts(stats: statistics.Progress) -> dict[str, charts.Chart]:
    """The page's charts, labelled in the visitor's language."""
    def bars(counts, vocabulary=None):
        return charts.horizontal_bars([(vocabulary.display(c.key) if vocabulary else c.label, c.value)
                                       for c in counts])

    towns = stats.overdue_by_town
    return {
        "share": charts.share_bar(stats.share.finished, stats.share.with_plan),
        "overdue": charts.horizontal_bars(
            [(town.name, town.overdue) for town in towns],
            tones=["ok" if town.cleared else "alert" for town in towns],
            texts=[charts.cleared_text(town.overdue) for town in towns],
        ),
        "months": charts.monthly_columns([(m.year, m.month, m.value) for m in stats.completions_by_month]),
        "stage": bars(stats.by_stage, vocab.STAGES),
        "type": bars(stats.by_type, vocab.OUTFALL_TYPES),
        "town": bars(stats.by_town),
        "measure": bars(stats.by_measure, vocab.MEASURES),
        "status": bars(stats.by_status, vocab.PLAN_STATUSES),
    }
