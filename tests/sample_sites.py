"""The common example sites the lab files name (HZ-GY-001, HZ-WS-001 and the 呼玛河 sections), built
with the factories so that the samples' tests do not depend on the ledger's or the sections' importers."""
from __future__ import annotations

from factories import make_outfall, make_town, make_water_body
from portal.extensions import db
from portal.models import MonitoringSection

EXAMPLES = "examples/bureau"


def make_example_sites() -> dict:
    """Create and commit the example outfalls and sections; return them by code."""
    huma = make_water_body("呼玛河", code="HMH", target_class="III")
    town = make_town("呼中镇")
    factory = make_outfall("HZ-GY-001", name="呼中镇林产品加工厂排污口", town=town, water_body=huma,
                           outfall_type="industrial", outfall_subtype="industrial_enterprise", plan=None)
    plant = make_outfall("HZ-WS-001", name="呼中镇污水处理厂排污口", town=town, water_body=huma,
                         outfall_type="municipal_wwtp", plan=None)
    sections = {}
    for code, name, level, position in (
            ("DM-HMH-01", "呼玛河呼中镇上游断面", "outfall", "upstream"),
            ("DM-HMH-02", "呼玛河呼中镇下游断面", "outfall", "downstream"),
            ("DM-HMH-GK", "呼玛河出境断面", "national", None)):
        section = MonitoringSection(code=code, name=name, level=level, water_body=huma,
                                    outfall=plant if position else None, position=position)
        db.session.add(section)
        sections[code] = section
    db.session.commit()
    return {"HZ-GY-001": factory, "HZ-WS-001": plant, **sections}
