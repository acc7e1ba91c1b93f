"""Editing one outfall's ledger fields in the back office, with a reason, every change in its history.

The values are read by the ledger's own cell readers (``ledger_format.COLUMNS``), so the form takes
exactly what a ledger takes (度分秒, 2026年6月30日, any spelling of a term). Every field is checked
before anything changes: one wrong field refuses the edit whole, with a message per field.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import access, audit
from portal.extensions import db
from portal.models import Outfall, Town, WaterBody
from portal.registry import chiefs, history
from portal.registry import vocabulary as vocab
from portal.registry.ledger_format import COLUMNS_BY_FIELD, CellError, clean_text
from portal.registry.ledger_mapping import RegistryLookup, apply_ledger_values, infer_party_kind, ledger_values

# The fields the edit page changes, in the page's order. The stage follows from the data elsewhere,
# and verification and closing out are the bureau's own steps: neither is edited here.
OUTFALL_FIELDS = ("name", "national_code", "town", "water_body", "longitude", "latitude", "outfall_type",
                  "outfall_subtype", "discharge_mode", "approval_status", "found_on", "party", "party_kind",
                  "party_telephone", "supervising_leader", "note")
PLAN_FIELDS = ("measure", "measures_text", "deadline", "transition_ends_on", "status", "completed_on")
EDITABLE_FIELDS = OUTFALL_FIELDS + PLAN_FIELDS
REQUIRED = ("name", "town", "outfall_type")
SOURCE = "后台编辑"  # what history shows as the source of a back-office change


class EditRefused(Exception):
    """The edit was refused whole; ``errors`` maps each wrong field to why (the ledger's cell readers' own
    words, or a message in the visitor's language)."""

    def __init__(self, errors: dict[str, Any]):
        """Keep the errors by field; the exception's text lists them for logs."""
        self.errors = errors
        super().__init__("；".join(f"{field}：{message}" for field, message in errors.items()))


def edit_outfall(outfall: Outfall, raw: dict[str, Any], actor, reason: str) -> list[tuple[str, Any, Any]]:
    """Change the outfall's ledger fields to ``raw`` (field → text as typed; blank clears a field).

    Fields absent from ``raw`` are kept. Returns the changes (field, old, new); each becomes a history
    entry with ``actor`` and ``reason``, and the edit one audit entry. Raises ``EditRefused`` when any
    field is wrong (nothing changed), or when the edit would take the outfall out of the editor's own
    scope (changed in the session: the caller's transaction rolls it back). Only flushes: the caller's
    ``transaction()`` commits.
    """
    reason = clean_text(reason or "")
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = _l("请说明修改原因。")
    values = _read(raw, errors)
    _check(outfall, values, errors)
    if errors:
        raise EditRefused(errors)
    current = ledger_values(outfall)
    desired = _complete(outfall, values)
    changes = [(field, current[field], new) for field, new in desired.items() if current[field] != new]
    if not changes:
        return []
    apply_ledger_values(outfall, desired, RegistryLookup(db.session))
    db.session.flush()
    if {"supervising_leader", "town", "water_body"} & {field for field, _, _ in changes}:
        _link_leader(outfall)
    if not access.can(actor, "edit", outfall):
        # Moved out of the editor's own town: that is the bureau's decision. The caller's transaction
        # rolls the change back.
        raise EditRefused({"town": _l("改到其他镇后您将无权管理该排污口；如需更改所在镇，请联系区生态环境局。")})
    history.record_changes(outfall, changes, SOURCE, actor=actor, reason=reason)
    audit.record(actor, "outfall_edited", outfall, reason=reason, label=outfall.code,
                 detail={"fields": [field for field, _, _ in changes]})
    db.session.flush()
    return changes


def _link_leader(outfall: Outfall) -> None:
    """Point the outfall at the river chief its 包保领导 names, as the ledger import does; a name that is
    not on the chiefs' list (once there is one) or names two chiefs refuses the edit."""
    leaders = chiefs.LeaderIndex()
    chief, problem = leaders.resolve(outfall.supervising_leader, outfall.town_id, outfall.water_body_id)
    if problem:
        raise EditRefused({"supervising_leader": problem})
    outfall.supervising_chief_id = chief.id if chief else None


def _read(raw: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Each given field read by its ledger column's reader (None for blank); errors by field."""
    values: dict[str, Any] = {}
    for field in EDITABLE_FIELDS:
        if field not in raw:
            continue
        text = raw[field]
        if text is None or clean_text(text) == "":
            values[field] = None
            continue
        try:
            values[field] = COLUMNS_BY_FIELD[field].read(text)
        except CellError as error:
            errors[field] = str(error)
    return values


def _check(outfall: Outfall, values: dict[str, Any], errors: dict[str, str]) -> None:
    """The rules across fields and against the registry, as the ledger importer applies them."""
    for field in REQUIRED:
        if field in values and values[field] is None and field not in errors:
            errors[field] = _l("必填，不能为空")
    town = values.get("town")
    if town and not db.session.scalar(select(Town.id).where(Town.name == town)):
        errors["town"] = _l("镇“%(name)s”不在系统中", name=town)
    water = values.get("water_body")
    if water and not db.session.scalar(select(WaterBody.id).where(WaterBody.name == water)):
        errors["water_body"] = _l("水体“%(name)s”不在系统中", name=water)
    longitude = values.get("longitude", outfall.longitude)
    latitude = values.get("latitude", outfall.latitude)
    if (longitude is None) != (latitude is None) and "longitude" not in errors and "latitude" not in errors:
        errors["latitude" if latitude is None else "longitude"] = _l("经度和纬度须同时填写")
    outfall_type = values.get("outfall_type", outfall.outfall_type)
    subtype = values.get("outfall_subtype", outfall.outfall_subtype)
    if outfall_type and subtype and "outfall_subtype" not in errors:
        parent = vocab.OUTFALL_SUBTYPES.get(subtype).parent
        if parent != outfall_type:
            errors["outfall_subtype"] = _l("类别“%(category)s”属于%(parent)s，与类型“%(type)s”不符",
                                           category=vocab.OUTFALL_SUBTYPES.display(subtype),
                                           parent=vocab.OUTFALL_TYPES.display(parent),
                                           type=vocab.OUTFALL_TYPES.display(outfall_type))
    national = values.get("national_code")
    if national and national != outfall.national_code:
        owner = db.session.scalar(select(Outfall.code).where(Outfall.national_code == national,
                                                             Outfall.id != outfall.id))
        if owner:
            errors["national_code"] = _l("国家编码“%(code)s”已属于排污口 %(owner)s", code=national, owner=owner)
    # A kind without any party describes nobody; a party cleared takes its kind with it (see _complete).
    if values.get("party_kind") and "party" not in values and outfall.responsible_party is None:
        errors["party_kind"] = _l("填写了责任主体类型，但没有责任主体")
    has_plan = outfall.plan is not None
    if "measure" in values and values["measure"] is None and "measure" not in errors:
        plan_given = [f for f in PLAN_FIELDS if f != "measure" and values.get(f) is not None]
        if has_plan:
            errors["measure"] = _l("该排污口已有整治方案，整治类型不能清空（如无需整治请选“保留”）")
        elif plan_given:
            errors["measure"] = _l("填写了整治情况，但没有选择整治类型")
    if values.get("completed_on") and values.get("status", outfall.plan.status if has_plan else None) \
            not in vocab.DONE_STATUSES and "status" not in errors:
        errors["status"] = _l("填写了完成日期，整治进展须为“已完成”或“已销号”")


def _complete(outfall: Outfall, values: dict[str, Any]) -> dict[str, Any]:
    """The values plus what goes with them: the party's kind with its name, a plan's status with its measure."""
    desired = dict(values)
    party = outfall.responsible_party
    if "party" in desired or "party_kind" in desired:
        name = desired.get("party", party.name if party else None)
        desired["party"] = name
        if name is None:
            desired["party_kind"] = None
        elif desired.get("party_kind") is None:
            keep = party is not None and party.name == name
            desired["party_kind"] = party.kind if keep else infer_party_kind(name)
    if outfall.plan is None and desired.get("measure") is None:
        for field in PLAN_FIELDS:  # no plan and none asked for: blank plan fields mean nothing
            desired.pop(field, None)
    elif desired.get("status", "") is None or (outfall.plan is None and "status" not in desired):
        desired["status"] = outfall.plan.status if outfall.plan else "not_started"
    return desired
