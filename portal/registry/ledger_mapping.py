"""How a ledger row maps onto the registry's models, in both directions.

``ledger_values`` reads an outfall as the ledger would show it; ``apply_ledger_values`` writes a
row's values onto an outfall. Export, import and change detection all go through these two, so
a field cannot be exported in one shape and compared in another.
"""
from __future__ import annotations

import re
from typing import Any

from portal.models import Outfall, RectificationPlan, ResponsibleParty, Town, WaterBody

# Words that mark a responsible party as an organisation rather than a natural person.
_ORGANISATION_WORDS = re.compile(
    r"政府|办事处|委员会|公司|集团|厂|场|站|局|所|中心|院|校|社|合作|协会|村|镇|乡|街道|区|队|部|店|馆|园|处|"
    r"管委会|企业|单位|有限|工程|项目|小区|物业|医院|宾馆|酒店|林场|牧场|电站"
)
_PERSONAL_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")


def infer_party_kind(name: str) -> str:
    """Guess whether a party is a natural person when the ledger does not say.

    A short name of Chinese characters with no organisational word (厂, 公司, 政府 …) is taken to be
    a person, so that in doubt a name is masked in public rather than exposed.
    """
    if _PERSONAL_NAME.match(name) and not _ORGANISATION_WORDS.search(name):
        return "person"
    return "organisation"


def ledger_values(outfall: Outfall) -> dict[str, Any]:
    """An outfall as a ledger row: field → value, in the same types the cell readers return."""
    plan = outfall.plan
    party = outfall.responsible_party
    return {
        "code": outfall.code,
        "national_code": outfall.national_code,
        "name": outfall.name,
        "town": outfall.town.name if outfall.town else None,
        "water_body": outfall.water_body.name if outfall.water_body else None,
        "longitude": outfall.longitude,
        "latitude": outfall.latitude,
        "outfall_type": outfall.outfall_type,
        "outfall_subtype": outfall.outfall_subtype,
        "party": party.name if party else None,
        "party_kind": party.kind if party else None,
        "party_telephone": outfall.party_telephone,
        "party_basis": outfall.party_basis,
        "party_basis_note": outfall.party_basis_note,
        "discharge_mode": outfall.discharge_mode,
        "approval_status": outfall.approval_status,
        "found_on": outfall.found_on,
        "stage": outfall.stage,
        "measure": plan.measure if plan else None,
        "measures_text": plan.measures_text if plan else None,
        "deadline": plan.deadline if plan else None,
        "status": plan.status if plan else None,
        "transition_ends_on": plan.transition_ends_on if plan else None,
        "completed_on": plan.completed_on if plan else None,
        "verified_on": plan.verified_on if plan else None,
        "merged_into": plan.merged_into.code if plan and plan.merged_into else None,
        # 包保领导 is the official's record once linked: its name is what the ledger says.
        "supervising_leader": outfall.supervising_chief.name if outfall.supervising_chief else outfall.supervising_leader,
        "note": outfall.note,
    }


class RegistryLookup:
    """Finds or creates the towns, water bodies and parties a ledger names, once each per import."""

    def __init__(self, session):
        self.session = session
        self.towns = {t.name: t for t in session.query(Town)}
        self.water_bodies = {w.name: w for w in session.query(WaterBody)}
        self.parties = {(p.name, p.kind): p for p in session.query(ResponsibleParty)}

    def town(self, name: str) -> Town:
        """The town of that name, created if the registry does not know it yet."""
        if name not in self.towns:
            self.towns[name] = Town(name=name)
            self.session.add(self.towns[name])
        return self.towns[name]

    def water_body(self, name: str | None) -> WaterBody | None:
        """The water body of that name, created (its kind read from the name) if new."""
        if not name:
            return None
        if name not in self.water_bodies:
            kind = "reservoir" if "水库" in name else "lake" if name.endswith(("湖", "泡", "淀")) else "river"
            self.water_bodies[name] = WaterBody(name=name, kind=kind)
            self.session.add(self.water_bodies[name])
        return self.water_bodies[name]

    def party(self, name: str | None, kind: str) -> ResponsibleParty | None:
        """The responsible party of that name and kind, created if new."""
        if not name:
            return None
        key = (name, kind)
        if key not in self.parties:
            self.parties[key] = ResponsibleParty(name=name, kind=kind)
            self.session.add(self.parties[key])
        return self.parties[key]


def _link_leader(outfall: Outfall, name: str | None, lookup: RegistryLookup) -> None:
    """Point 包保领导 at the chief's record the text names (none when it names nobody on record)."""
    from portal.registry.chiefs import LeaderIndex  # chiefs imports the ledger's readers

    if getattr(lookup, "leaders", None) is None:
        lookup.leaders = LeaderIndex()  # once per import or edit, not once per row
    chief, _problem = lookup.leaders.resolve(name, outfall.town.id if outfall.town else None,
                                             outfall.water_body.id if outfall.water_body else None)
    outfall.supervising_chief = chief


_OUTFALL_FIELDS = ("code", "national_code", "name", "longitude", "latitude", "outfall_type", "outfall_subtype",
                   "party_telephone", "party_basis", "party_basis_note", "discharge_mode", "approval_status", "found_on", "stage",
                   "supervising_leader", "note")
_PLAN_FIELDS = ("measure", "measures_text", "deadline", "status", "transition_ends_on", "completed_on",
                "verified_on")


def apply_ledger_values(outfall: Outfall, values: dict[str, Any], lookup: RegistryLookup) -> None:
    """Write a row's values onto an outfall; fields missing from ``values`` are left as they are.

    ``values`` is complete where fields go together: ``party`` comes with ``party_kind``, and a
    plan's ``measure`` with its ``status``.
    ``merged_into`` is not set here: it may name an outfall later in the same file, so the
    importer sets it once every row has been written.
    """
    for field in _OUTFALL_FIELDS:
        if field in values:
            setattr(outfall, field, values[field])
    if "town" in values:
        outfall.town = lookup.town(values["town"])
    if "water_body" in values:
        outfall.water_body = lookup.water_body(values["water_body"])
    if "party" in values:
        outfall.responsible_party = lookup.party(values["party"], values["party_kind"])
    if "supervising_leader" in values:
        _link_leader(outfall, values["supervising_leader"], lookup)
    if any(values.get(field) is not None for field in _PLAN_FIELDS) and outfall.plan is None:
        outfall.plans.append(RectificationPlan())
    if outfall.plan is not None:
        for field in _PLAN_FIELDS:
            if field in values:
                setattr(outfall.plan, field, values[field])
        outfall.plan.responsible_party = outfall.responsible_party
