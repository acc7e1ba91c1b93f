"""Read-side queries of the registry, shaped so that pages never load row by row (no N+1)."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal import calendar
from portal.extensions import db
from portal.models import (
    DischargeStandard,
    MonitoringSample,
    Outfall,
    OutfallPhoto,
    RectificationPlan,
    RectificationStep,
    RiverChief,
    StandardLimit,
    Town,
    WaterBody,
)
from portal.registry import vocabulary as vocab
from portal.registry.filters import OutfallFilter


SORT_KEYS = ("code", "name", "town", "type", "deadline", "status")


def outfall_page(outfall_filter: OutfallFilter | None = None, sort: str = "code", page: int = 1,
                 per_page: int = 50):
    """One page of the outfalls a filter lets through, sorted by a ``SORT_KEYS`` key (``-key``: descending)."""
    outfall_filter = outfall_filter or OutfallFilter()
    query = outfall_filter.apply(select(Outfall), calendar.today()).options(
        joinedload(Outfall.town), joinedload(Outfall.water_body), selectinload(Outfall.plans),
    )
    key = sort.lstrip("-")
    # An outfall's earliest due date and least advanced status stand for its plans; both are kept
    # on the outfall (portal.registry.plan_summary) and indexed, statuses ranked in the order work
    # progresses, so sorting by status reads 未开始 → 已销号.
    column = {"name": Outfall.name, "town": Outfall.town_id, "type": Outfall.outfall_type,
              "deadline": Outfall.plans_due_on, "status": Outfall.plans_status_rank}.get(key, Outfall.code)
    ordered = column.desc() if sort.startswith("-") else column.asc()
    return db.paginate(query.order_by(ordered.nulls_last(), Outfall.code), page=page, per_page=per_page,
                       error_out=False)


def outfall_by_code(code: str) -> Outfall | None:
    """One outfall with everything its page shows, loaded in a fixed number of queries."""
    return db.session.scalars(
        select(Outfall)
        .where(or_(Outfall.code == code, Outfall.national_code == code))
        .options(
            joinedload(Outfall.town), joinedload(Outfall.water_body).selectinload(WaterBody.chiefs),
            joinedload(Outfall.responsible_party), joinedload(Outfall.supervising_chief),
            selectinload(Outfall.plans).options(
                joinedload(RectificationPlan.merged_into), joinedload(RectificationPlan.responsible_party),
                # Dated steps and their photos (portal.registry.rectification), shown with each plan.
                selectinload(RectificationPlan.steps).selectinload(RectificationStep.photos),
            ),
            selectinload(Outfall.events), selectinload(Outfall.checklist), selectinload(Outfall.photos),
            selectinload(Outfall.samples).joinedload(MonitoringSample.limit)
            .joinedload(StandardLimit.standard),
            # The page's 监测依据: the outfall's permits (most have none: no query for their limits).
            joinedload(Outfall.permits).selectinload(DischargeStandard.limits),
        )
    ).unique().first()


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """(value, label) options of each filter parameter, labels in the visitor's language."""
    towns = db.session.execute(select(Town.id, Town.name).order_by(Town.name)).all()
    waters = db.session.execute(select(WaterBody.id, WaterBody.name).order_by(WaterBody.name)).all()
    return {
        "type": [(t.code, vocab.OUTFALL_TYPES.display(t.code)) for t in vocab.OUTFALL_TYPES],
        "measure": [(t.code, vocab.MEASURES.display(t.code)) for t in vocab.MEASURES],
        "status": [(t.code, vocab.PLAN_STATUSES.display(t.code)) for t in vocab.PLAN_STATUSES],
        "stage": [(t.code, vocab.STAGES.display(t.code)) for t in vocab.STAGES],
        "town": [(str(town_id), name) for town_id, name in towns],
        "water": [(str(water_id), name) for water_id, name in waters],
    }


def _signboard_options():
    """What a signboard shows: place, receiving water and its chiefs, party and plans (for the rules)."""
    return (
        joinedload(Outfall.town), joinedload(Outfall.water_body).selectinload(WaterBody.chiefs),
        joinedload(Outfall.responsible_party), selectinload(Outfall.plans), joinedload(Outfall.supervising_chief),
    )


def outfall_for_signboard(code: str) -> Outfall | None:
    """One outfall (by ledger or national code) with what its signboard prints."""
    return db.session.scalars(
        select(Outfall).where(or_(Outfall.code == code, Outfall.national_code == code))
        .options(*_signboard_options())
    ).unique().first()


def town_outfalls_for_signboards(town_id: int) -> list[Outfall]:
    """A town's outfalls in code order, each with what its signboard prints."""
    return list(db.session.scalars(
        select(Outfall).where(Outfall.town_id == town_id).order_by(Outfall.code).options(*_signboard_options())
    ).unique())


def outfall_code(code: str) -> str | None:
    """The ledger code of the outfall a ledger or national code names, or None if there is none."""
    return db.session.scalar(
        select(Outfall.code).where(or_(Outfall.code == code, Outfall.national_code == code)).limit(1)
    )


def town_chiefs(town_ids) -> dict[int, list[RiverChief]]:
    """The town-level river chiefs of each town, oldest appointment (lowest id) first."""
    chiefs: dict[int, list[RiverChief]] = {town_id: [] for town_id in town_ids}
    if not chiefs:
        return chiefs
    for chief in db.session.scalars(
        select(RiverChief).where(RiverChief.town_id.in_(list(chiefs)), RiverChief.level == "town")
        .order_by(RiverChief.id)
    ):
        chiefs[chief.town_id].append(chief)
    return chiefs


def monitored_parameters(outfall_ids) -> dict[int, list[str]]:
    """The parameters each outfall has been sampled for (its main pollutants), in alphabetical order."""
    found: dict[int, list[str]] = {outfall_id: [] for outfall_id in outfall_ids}
    if not found:
        return found
    rows = db.session.execute(
        select(MonitoringSample.outfall_id, MonitoringSample.parameter)
        .where(MonitoringSample.outfall_id.in_(list(found))).distinct()
        .order_by(MonitoringSample.outfall_id, MonitoringSample.parameter)
    )
    for outfall_id, parameter in rows:
        found[outfall_id].append(parameter)
    return found


def water_bodies_with_counts() -> list[tuple[WaterBody, int]]:
    """Every water body, by name, with the number of outfalls discharging into it."""
    count = func.count(Outfall.id)
    rows = db.session.execute(
        select(WaterBody, count).outerjoin(Outfall, Outfall.water_body_id == WaterBody.id)
        .group_by(WaterBody.id).order_by(WaterBody.name)
    )
    return [(water, total) for water, total in rows]


def water_body_board(water_body_id: int) -> WaterBody | None:
    """A water body with its chiefs (and their towns) and its outfalls (with towns and plans)."""
    return db.session.scalars(
        select(WaterBody).where(WaterBody.id == water_body_id).options(
            selectinload(WaterBody.chiefs).joinedload(RiverChief.town),
            selectinload(WaterBody.outfalls).options(joinedload(Outfall.town), selectinload(Outfall.plans)),
        )
    ).first()


def photo_by_key(storage_key: str) -> OutfallPhoto | None:
    """The registered outfall photo stored under this key, or None."""
    return db.session.scalar(select(OutfallPhoto).where(OutfallPhoto.storage_key == storage_key))
