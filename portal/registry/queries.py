"""Read-side queries of the registry, shaped so that pages never load row by row (no N+1)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import MonitoringSample, Outfall, RectificationPlan, ResponsibleParty, StandardLimit


def today() -> date:
    """Today's date in the district, which decides what is overdue."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def outfall_page(search: str = "", page: int = 1, per_page: int = 50):
    """One page of outfalls ordered by code, optionally matching a code, name or responsible party."""
    query = (
        select(Outfall)
        .options(
            joinedload(Outfall.town), joinedload(Outfall.water_body),
            joinedload(Outfall.responsible_party), selectinload(Outfall.plans),
        )
        .order_by(Outfall.code)
    )
    if search:
        def matches(column):
            return column.icontains(search, autoescape=True)  # a typed % or _ is not a wildcard

        query = query.outerjoin(Outfall.responsible_party).where(or_(
            matches(Outfall.code), matches(Outfall.national_code), matches(Outfall.name),
            # A person's name is not searchable in public: it would unmask them.
            (ResponsibleParty.kind == "organisation") & matches(ResponsibleParty.name),
        ))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def outfall_by_code(code: str) -> Outfall | None:
    """One outfall with everything its page shows, loaded in a fixed number of queries."""
    return db.session.scalars(
        select(Outfall)
        .where(or_(Outfall.code == code, Outfall.national_code == code))
        .options(
            joinedload(Outfall.town), joinedload(Outfall.water_body),
            joinedload(Outfall.responsible_party),
            selectinload(Outfall.plans).options(
                joinedload(RectificationPlan.merged_into), joinedload(RectificationPlan.responsible_party),
            ),
            selectinload(Outfall.events), selectinload(Outfall.checklist), selectinload(Outfall.photos),
            selectinload(Outfall.samples).joinedload(MonitoringSample.limit)
            .joinedload(StandardLimit.standard),
        )
    ).unique().first()
