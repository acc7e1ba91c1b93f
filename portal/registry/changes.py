"""Public changes across the registry: outfalls entering the ledger and moving on, newest first (for the feed).

Only the fields that say how far an outfall has got are published this way. The history of the
responsible party, its telephone and the note is never: those fields may hold personal data.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager

from portal.extensions import db
from portal.models import Outfall, OutfallEvent
from portal.registry.filters import OutfallFilter

# Fields whose changes are news: where the outfall stands and what must be done by when.
# "rectification_step": a dated step of a plan (portal.registry.rectification), with its text.
PUBLIC_FIELDS = ("status", "stage", "measure", "deadline", "rectification_step")


def recent_changes(outfall_filter: OutfallFilter, today: date, limit: int = 100) -> list[OutfallEvent]:
    """The latest creations and public-field changes of the outfalls a filter lets through, with their outfall."""
    query = (
        select(OutfallEvent)
        .join(OutfallEvent.outfall)
        .where(or_(OutfallEvent.kind == "created",
                   and_(OutfallEvent.kind == "changed", OutfallEvent.field.in_(PUBLIC_FIELDS))))
        .options(contains_eager(OutfallEvent.outfall).joinedload(Outfall.town))
        .order_by(OutfallEvent.occurred_at.desc(), OutfallEvent.id.desc())
        .limit(limit)
    )
    if not outfall_filter.is_empty:
        query = query.where(OutfallEvent.outfall_id.in_(outfall_filter.apply(select(Outfall.id), today)))
    return list(db.session.scalars(query))
