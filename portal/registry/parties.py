"""Who answers for an outfall (责任主体) and on what basis, and the public list of parties (责任主体清单).

The seed's chain (DOMAIN.md §1): the unit that applied to set the outfall up; failing that, the unit
that actually uses it; failing that, the town government (属地人民政府) or a party it names. While
nobody is known the town government answers by default (basis ``default``), so that no outfall is
without someone to answer for it. One outfall may receive water from several units: each plan names
its own party and requirement (``RectificationPlan.responsible_party`` and ``measures_text``).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import Outfall, RectificationPlan, ResponsibleParty
from portal.registry import vocabulary as vocab
from portal.registry.ledger_format import csv_protected

DEFAULT_BASIS = "default"


def default_party_name(town_name: str) -> str:
    """The name of a town's government as the party answering by default: 呼中镇人民政府."""
    return f"{town_name}人民政府"


def town_government(town_name: str) -> ResponsibleParty:
    """The town government's party record, one per town: found, or added to the session."""
    name = default_party_name(town_name)
    party = db.session.scalar(select(ResponsibleParty).where(
        ResponsibleParty.name == name, ResponsibleParty.kind == "government"))
    if party is None:
        party = ResponsibleParty(name=name, kind="government")
        db.session.add(party)
    return party


def assign_default_party(outfall: Outfall) -> ResponsibleParty | None:
    """Give an outfall with no known party its town government, on the basis "default".

    Returns the party assigned, or None when the outfall already had one (left as it is).
    """
    if outfall.responsible_party is not None:
        return None
    party = town_government(outfall.town.name)
    outfall.responsible_party = party
    outfall.party_basis = DEFAULT_BASIS
    for plan in outfall.plans:
        if plan.responsible_party is None:
            plan.responsible_party = party
    db.session.flush()
    return party


# ---------------------------------------------------------------------------------------------
# The public list


@dataclass
class PartyOutfall:
    """One outfall a party answers for, with the requirement that is theirs (if a plan names it)."""

    outfall: Outfall
    basis: str | None
    plans: list[RectificationPlan]
    # "outfall": the outfall's own party (on ``basis``); "unit": one of several units discharging into
    # it, answering only for the requirement its plan names.
    role: str = "outfall"

    @property
    def deadline(self) -> date | None:
        """The earliest effective deadline of the party's unfinished requirements, else of any of them."""
        open_days = [p.effective_deadline for p in self.plans if p.effective_deadline and not p.is_done]
        days = open_days or [p.effective_deadline for p in self.plans if p.effective_deadline]
        return min(days) if days else None

    @property
    def statuses(self) -> list[str]:
        """The status codes of the party's requirements on this outfall, in plan order, without repeats."""
        return list(dict.fromkeys(p.status for p in self.plans))


@dataclass
class PartyEntry:
    """A party of the public list with the outfalls it answers for."""

    party: ResponsibleParty
    outfalls: list[PartyOutfall] = field(default_factory=list)

    @property
    def bases(self) -> list[str]:
        """On what it answers, without repeats: PARTY_BASES codes, "unit" (a requirement of its own on
        an outfall it discharges into) or "unrecorded" (the outfall's party, no basis recorded)."""
        return list(dict.fromkeys(
            "unit" if o.role == "unit" else (o.basis or "unrecorded") for o in self.outfalls))


def party_list(town_id: int | None = None) -> list[PartyEntry]:
    """Every party answering for an outfall (its own or one plan's), with those outfalls; by name.

    ``town_id`` keeps the outfalls of one town (and the parties that have any there).
    """
    query = (
        select(Outfall)
        .options(joinedload(Outfall.town), joinedload(Outfall.responsible_party),
                 selectinload(Outfall.plans).joinedload(RectificationPlan.responsible_party))
        .where(or_(Outfall.responsible_party_id.is_not(None),
                   Outfall.plans.any(RectificationPlan.responsible_party_id.is_not(None))))
        .order_by(Outfall.code)
    )
    if town_id is not None:
        query = query.where(Outfall.town_id == town_id)
    entries: dict[int, PartyEntry] = {}
    for outfall in db.session.scalars(query).unique():
        by_party: dict[int, PartyOutfall] = {}
        main = outfall.responsible_party
        if main is not None:
            own = [p for p in outfall.plans if p.responsible_party_id in (None, main.id)]
            by_party[main.id] = PartyOutfall(outfall, outfall.party_basis, own)
            entries.setdefault(main.id, PartyEntry(main))
        for plan in outfall.plans:
            unit = plan.responsible_party
            if unit is None or (main is not None and unit.id == main.id):
                continue
            # A unit with a requirement of its own: it answers for its part; the basis is the outfall's
            # only when it is the outfall's party, so none is claimed here.
            by_party.setdefault(unit.id, PartyOutfall(outfall, None, [], role="unit")).plans.append(plan)
            entries.setdefault(unit.id, PartyEntry(unit))
        for party_id, item in by_party.items():
            entries[party_id].outfalls.append(item)
    return sorted(entries.values(), key=lambda e: (e.party.public_name, e.party.id))


CSV_HEADERS = ("责任主体", "责任主体类型", "认定依据", "排污口编码", "排污口名称", "所在镇", "整治要求", "整治进展",
               "整治时限", "是否演示数据")


def csv_rows(entries: list[PartyEntry]) -> Iterator[list[str]]:
    """The list as CSV rows, one per party and outfall; a person's name masked, no telephone at all."""
    for entry in entries:
        party = entry.party
        for item in entry.outfalls:
            requirements = "；".join(p.measures_text or vocab.MEASURES.label(p.measure) for p in item.plans)
            basis = "排入单位（单独整治要求）" if item.role == "unit" else vocab.PARTY_BASES.label(item.basis)
            yield [party.public_name, vocab.PARTY_KINDS.label(party.kind), basis,
                   item.outfall.code, item.outfall.name, item.outfall.town.name, requirements,
                   "、".join(vocab.PLAN_STATUSES.label(s) for s in item.statuses),
                   item.deadline.isoformat() if item.deadline else "",
                   "是" if (party.is_demo or item.outfall.is_demo) else "否"]


def csv_text(entries: list[PartyEntry]) -> str:
    """The CSV file: UTF-8 with a BOM (Excel reads the Chinese), no cell a spreadsheet would run as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADERS)
    writer.writerows([csv_protected(cell) for cell in row] for row in csv_rows(entries))
    return "\ufeff" + buffer.getvalue()


def complete_ledger_row(desired: dict, outfall: Outfall | None) -> bool:
    """Give a ledger row with no party its town government (basis "default"); keep a known party's basis.

    ``desired`` is the importer's row (field → value), changed in place. True when the row's outfall
    gets the default party now (it had none, or another one): the import summary counts them.
    """
    current = outfall.responsible_party if outfall is not None else None
    town = desired.get("town") or (outfall.town.name if outfall is not None and outfall.town else None)
    blank = ("party" in desired and not desired.get("party")) or ("party" not in desired and current is None)
    if blank and town:
        name = default_party_name(town)
        desired.update(party=name, party_kind="government", party_basis=DEFAULT_BASIS)
        return current is None or current.name != name or (outfall.party_basis != DEFAULT_BASIS)
    if desired.get("party") and desired.get("party_basis") is None:
        # A party named without a basis keeps the basis it had; a new party's basis is not known.
        same = current is not None and current.name == desired["party"]
        desired["party_basis"] = outfall.party_basis if same else None
    return False
