"""The portal's tables, one module per aggregate; importing this package registers them all."""
from portal.models.places import RiverChief, Town, WaterBody
from portal.models.registry import (
    DischargeStandard,
    MonitoringSample,
    Outfall,
    OutfallEvent,
    OutfallPhoto,
    RectificationPlan,
    ResponsibleParty,
    StandardisationItem,
    StandardLimit,
)

__all__ = [
    "DischargeStandard", "MonitoringSample", "Outfall", "OutfallEvent", "OutfallPhoto",
    "RectificationPlan", "ResponsibleParty", "RiverChief", "StandardLimit", "StandardisationItem",
    "Town", "WaterBody",
]
