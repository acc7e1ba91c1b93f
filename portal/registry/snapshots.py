"""Daily snapshots of the progress figures, so that /progress can show how they moved (history for the press).

``take_snapshot(day)`` counts the registry as /progress does (``statistics.progress``) and keeps the
figures as JSON, one snapshot per day; taking a day again replaces it, so the daily command is
idempotent. Besides /progress's totals it counts the outfalls finished *late*: every plan finished,
at least one of them after its effective deadline (the end of its transition period if one was granted).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import Outfall, ProgressSnapshot, RectificationPlan
from portal.models.types import utcnow
from portal.registry import statistics
from portal.registry.ledger_format import csv_protected
from portal.registry.vocabulary import DONE_STATUSES

FORMAT_VERSION = 1
# The columns of a snapshot as CSV: one row for the district, then one per town.
CSV_COLUMNS = ("day", "town", "outfalls", "with_plan", "overdue", "completed", "completed_late")


@dataclass(frozen=True)
class Snapshot:
    """One day's figures as read back from the database."""

    day: date
    figures: dict[str, Any]

    @property
    def overdue(self) -> int:
        """Outfalls with a plan unfinished past its deadline on that day."""
        return self.figures["overdue"]

    @property
    def completed(self) -> int:
        """Outfalls whose every plan was finished on that day."""
        return self.figures["completed"]

    @property
    def completed_late(self) -> int:
        """Of those, the outfalls finished after a plan's effective deadline."""
        return self.figures["completed_late"]


def figures(day: date) -> dict[str, Any]:
    """The progress figures as they stand on ``day``, as a JSON-able dict."""
    stats = statistics.progress(day)
    completed, late = _completion_by_town()
    towns = [{"name": town.name, "outfalls": town.outfalls, "overdue": town.overdue,
              "completed": completed.get(town.town_id, 0), "completed_late": late.get(town.town_id, 0)}
             for town in stats.overdue_by_town]
    return {
        "version": FORMAT_VERSION, "day": day.isoformat(), "total": stats.total, "demo": stats.demo,
        "with_plan": stats.share.with_plan, "overdue": stats.overdue_total,
        "completed": sum(completed.values()), "completed_late": sum(late.values()),
        "by_status": {count.key: count.value for count in stats.by_status},
        "by_stage": {count.key: count.value for count in stats.by_stage},
        "towns": towns,
    }


def take_snapshot(day: date) -> ProgressSnapshot:
    """Store the figures of ``day``, replacing that day's snapshot if there is one. Only flushes."""
    counted = json.dumps(figures(day), ensure_ascii=False, sort_keys=True)  # counted before the row is added
    snapshot = db.session.scalar(select(ProgressSnapshot).where(ProgressSnapshot.day == day))
    if snapshot is None:
        snapshot = ProgressSnapshot(day=day)
        db.session.add(snapshot)
    snapshot.figures = counted
    snapshot.taken_at = utcnow()
    db.session.flush()
    return snapshot


def history() -> list[Snapshot]:
    """Every snapshot, oldest first."""
    return [Snapshot(day, json.loads(text)) for day, text in db.session.execute(
        select(ProgressSnapshot.day, ProgressSnapshot.figures).order_by(ProgressSnapshot.day))]


def snapshot_on(day: date) -> Snapshot | None:
    """The snapshot of one day, if one was taken."""
    text = db.session.scalar(select(ProgressSnapshot.figures).where(ProgressSnapshot.day == day))
    return Snapshot(day, json.loads(text)) if text is not None else None


def as_csv(snapshots: list[Snapshot]) -> str:
    """Snapshots as CSV: per day a district row (town empty) and a row per town."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for snapshot in snapshots:
        f = snapshot.figures
        writer.writerow([snapshot.day.isoformat(), "", f["total"], f["with_plan"], f["overdue"], f["completed"],
                         f["completed_late"]])
        for town in f["towns"]:
            writer.writerow([snapshot.day.isoformat(), csv_protected(town["name"]), town["outfalls"], "", town["overdue"],
                             town["completed"], town["completed_late"]])
    return buffer.getvalue()


def _completion_by_town() -> tuple[dict[int, int], dict[int, int]]:
    """Per town, outfalls whose every plan is finished, and those of them finished late."""
    rows = db.session.execute(
        select(Outfall.id, Outfall.town_id, RectificationPlan.status, RectificationPlan.completed_on,
               RectificationPlan.deadline, RectificationPlan.transition_ends_on)
        .join(RectificationPlan, RectificationPlan.outfall_id == Outfall.id)
    ).all()
    outfalls: dict[int, dict[str, Any]] = {}
    for outfall_id, town_id, status, completed_on, deadline, transition_ends_on in rows:
        entry = outfalls.setdefault(outfall_id, {"town": town_id, "done": True, "late": False})
        entry["done"] = entry["done"] and status in DONE_STATUSES
        due = transition_ends_on or deadline
        if status in DONE_STATUSES and completed_on and due and completed_on > due:
            entry["late"] = True
    completed: dict[int, int] = {}
    late: dict[int, int] = {}
    for entry in outfalls.values():
        if entry["done"]:
            completed[entry["town"]] = completed.get(entry["town"], 0) + 1
            if entry["late"]:
                late[entry["town"]] = late.get(entry["town"], 0) + 1
    return completed, late
