"""The portal's tables, one module per aggregate; importing this package registers them all."""
from portal.models.accounts import Account
from portal.models.audit import AuditEntry
from portal.models.calendar import CalendarDay
from portal.models.departments import Department
from portal.models.outbox import OutboxMessage
from portal.models.places import RiverChief, Town, WaterBody
from portal.models.reports import MeToo, Report, ReportPhoto, ReportUpdate
from portal.models.registry import (
    DischargeStandard,
    MonitoringSample,
    MonitoringSection,
    Outfall,
    OutfallDocument,
    OutfallEvent,
    OutfallPhoto,
    ProgressSnapshot,
    RectificationPlan,
    RectificationStep,
    ResponsibleParty,
    StandardisationItem,
    StandardLimit,
)
from portal.models.roster import DutyShift
from portal.models.versions import DataVersion

__all__ = [
    "Account", "AuditEntry", "CalendarDay", "DataVersion", "Department",
    "MeToo", "Report", "ReportPhoto", "ReportUpdate",
    "DischargeStandard", "DutyShift", "MonitoringSample", "MonitoringSection", "OutfallDocument", "ProgressSnapshot", "RectificationStep", "OutboxMessage", "Outfall", "OutfallEvent", "OutfallPhoto",
    "RectificationPlan", "ResponsibleParty", "RiverChief", "StandardLimit", "StandardisationItem",
    "Town", "WaterBody",
]
