"""Invented demo data for an empty registry, so the portal can be shown before the real ledger arrives.

Everything here is made up and says so: rows carry ``is_demo=True``, outfall codes start with
``DEMO-``, outfall, chief and organisation names end with （演示） (a person's name is masked in
public, and ``public_name`` adds the mark back), and town boundaries are labelled as approximate
and replaceable. The data is drawn from a fixed random seed, with deadlines relative to
today, so every run tells the same story: some plans on time, some overdue, some samples over the limit.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import calendar
from portal.extensions import db
from portal.models import (
    DischargeStandard,
    MonitoringSample,
    MonitoringSection,
    Outfall,
    OutfallEvent,
    RectificationPlan,
    ResponsibleParty,
    RiverChief,
    StandardisationItem,
    StandardLimit,
    Town,
    WaterBody,
)
from portal.monitoring import results, standards
from portal.monitoring.parameters import BY_CODE
from portal.registry import stages, vocabulary

SOURCE = "演示数据"
SUFFIX = "（演示）"
# Shown to the public beside the map: words for residents, not the command that replaces it.
BOUNDARY_SOURCE = "近似边界（演示数据，不是正式的镇界）"
RANDOM_SEED = 232764  # the district's division code: any fixed number would do
DISTRICT_CODE = "232764"
EARLIEST_FOUND = date(2022, 1, 1)  # the special action began in 2022 (国办函〔2022〕17号)
LATEST_FOUND = date(2026, 12, 31)

# ── Towns: name, code segment, approximate boundary (lon, lat). Neighbours share vertices so the
# polygons tile without overlapping; official boundaries are not public (DOMAIN.md §7).
TOWNS = [
    ("呼中镇", "HZ", [(123.36, 52.00), (123.45, 51.97), (123.62, 51.96), (123.74, 52.00), (123.76, 52.12),
                    (123.62, 52.19), (123.42, 52.16), (123.34, 52.08), (123.36, 52.00)]),
    ("呼源镇", "HY", [(123.36, 52.00), (123.34, 52.08), (123.42, 52.16), (123.38, 52.30), (123.22, 52.42),
                    (122.95, 52.40), (122.85, 52.25), (122.95, 52.12), (123.22, 52.00), (123.36, 52.00)]),
    ("碧水镇", "BS", [(123.62, 51.96), (123.80, 51.88), (124.05, 51.92), (124.15, 52.05), (124.05, 52.20),
                    (123.85, 52.22), (123.76, 52.12), (123.74, 52.00), (123.62, 51.96)]),
    ("宏伟镇", "HW", [(123.22, 52.00), (123.12, 51.92), (123.20, 51.82), (123.42, 51.78), (123.58, 51.84),
                    (123.62, 51.96), (123.45, 51.97), (123.36, 52.00), (123.22, 52.00)]),
]

# ── Water bodies: name, kind, GB 3838 target class, supervision telephone, geometry (lon, lat).
# The 呼玛河 rises in the district and runs west → east through three of the four towns.
WATER_BODIES = [
    ("呼玛河", "river", "II", "0457-3322101",
     [(122.90, 52.30), (123.10, 52.25), (123.30, 52.12), (123.45, 52.06), (123.5888, 52.035),
      (123.75, 52.06), (123.95, 52.08), (124.12, 52.10)]),
    ("呼玛河支流", "river", "III", "0457-3322102",
     [(123.25, 51.85), (123.38, 51.92), (123.47, 51.99), (123.52, 52.047)]),
    ("碧水河", "river", "II", "0457-3322103", [(123.94, 51.915), (123.88, 51.98), (123.86, 52.03), (123.84, 52.069)]),
    ("小白河", "river", "II", "0457-3322104", [(123.02, 52.39), (123.08, 52.32), (123.14, 52.224)]),
    ("岭峰河", "river", "III", "0457-3322105",
     [(123.57, 51.845), (123.47, 51.835), (123.38, 51.86), (123.30, 51.877)]),
    ("呼中水库", "reservoir", "II", "0457-3322106",
     [(123.645, 52.095), (123.67, 52.092), (123.685, 52.10), (123.675, 52.112), (123.65, 52.11), (123.645, 52.095)]),
]

# ── River chiefs: level, name, office, water body, town (None: the whole district).
CHIEFS = [
    ("district", "郑国栋", "区委书记、区总河长", "呼玛河", None),
    ("district", "孙立平", "区长、区副总河长", "呼中水库", None),
    ("district", "高秀兰", "副区长", "呼玛河支流", None),
    ("district", "马俊峰", "副区长", "碧水河", None),
    ("district", "钱永刚", "副区长", "小白河", None),
    ("district", "丁海燕", "副区长", "岭峰河", None),
    ("town", "周志强", "呼中镇党委书记", "呼玛河", "呼中镇"),
    ("town", "何丽娟", "呼中镇镇长", "呼玛河支流", "呼中镇"),
    ("town", "吴振东", "呼源镇党委书记", "呼玛河", "呼源镇"),
    ("town", "林淑华", "呼源镇镇长", "小白河", "呼源镇"),
    ("town", "郭建军", "碧水镇党委书记", "碧水河", "碧水镇"),
    ("town", "韩玉梅", "碧水镇镇长", "呼玛河", "碧水镇"),
    ("town", "曹德明", "宏伟镇党委书记", "岭峰河", "宏伟镇"),
    ("town", "彭晓燕", "宏伟镇镇长", "呼玛河支流", "宏伟镇"),
    ("village", "冯志刚", "向阳社区党支部书记", "呼玛河", "呼中镇"),
    ("village", "许桂芝", "小白河村党支部书记", "小白河", "呼源镇"),
    ("village", "蒋立群", "碧水村党支部书记", "碧水河", "碧水镇"),
    ("village", "沈玉兰", "岭峰村党支部书记", "岭峰河", "宏伟镇"),
]
CHIEF_DUTIES = {
    "district": "负责{water}在呼中区境内的管理保护，组织领导入河排污口排查整治，协调解决重大问题，督导下级河长履职。",
    "town": "负责{water}{town}段的日常管理保护，组织本镇入河排污口排查、溯源和整治，落实“一口一策”。",
    "village": "负责{water}本村（社区）段的日常巡河，发现新增排污口、偷排漏排等问题及时上报。",
}
CHIEF_RANKS = {"province": 1, "city": 2, "district": 3, "town": 4, "village": 5}

# ── Responsible parties (责任主体): key → name, kind. Small farms are natural persons, whose names
# the public pages mask; scattered outlets answer to their town government (DOMAIN.md §1).
PARTIES = {
    "hz_gov": ("呼中镇人民政府", "organisation"), "hy_gov": ("呼源镇人民政府", "organisation"),
    "bs_gov": ("碧水镇人民政府", "organisation"), "hw_gov": ("宏伟镇人民政府", "organisation"),
    "housing": ("呼中区住房和城乡建设局", "organisation"), "transport": ("呼中区交通运输局", "organisation"),
    "agri": ("呼中区农业农村局", "organisation"), "water": ("呼中区水务局", "organisation"),
    "hz_wwtp": ("呼中镇污水处理厂", "organisation"), "hy_wwtp": ("呼源镇污水处理厂", "organisation"),
    "bs_wwtp": ("碧水镇污水处理厂", "organisation"), "hw_wwtp": ("宏伟镇污水处理站", "organisation"),
    "park": ("呼中林产工业园区管理委员会", "organisation"), "hz_forest": ("呼中林产品加工有限公司", "organisation"),
    "heating": ("呼中区供热公司", "organisation"), "gravel": ("呼中砂石料有限公司", "organisation"),
    "blueberry": ("呼中蓝莓饮品有限公司", "organisation"), "power": ("呼中热电厂", "organisation"),
    "hospital": ("呼中区人民医院", "organisation"), "hy_cattle": ("呼源牧业有限公司", "organisation"),
    "hy_fish": ("呼源冷水鱼养殖合作社", "organisation"), "hy_wood": ("呼源木业有限公司", "organisation"),
    "bs_fish": ("碧水冷水鱼繁育有限公司", "organisation"), "bs_deer": ("碧水鹿业有限公司", "organisation"),
    "bs_water": ("碧水矿泉水有限公司", "organisation"), "bs_tourism": ("碧水旅游服务站", "organisation"),
    "hw_pig": ("宏伟牧业有限公司", "organisation"), "hw_fish": ("岭峰渔业合作社", "organisation"),
    "hw_mine": ("宏伟矿业有限公司", "organisation"),
    "wang": ("王立新", "person"), "liu": ("刘春梅", "person"), "zhao": ("赵国华", "person"),
    "sun": ("孙玉芬", "person"), "li": ("李秀英", "person"), "chen": ("陈德胜", "person"),
    "zhou": ("周玉山", "person"), "wu": ("吴桂兰", "person"),
}

# ── Outfalls: subtype, town, receiving water, name, responsible party, measure, progress.
# Names never contain a person's name: outfall names are public, party names of persons are not.
OUTFALLS = [
    ("municipal_wwtp", "呼中镇", "呼玛河", "呼中镇污水处理厂排污口", "hz_wwtp", "keep", "closed"),
    ("industrial_enterprise", "呼中镇", "呼玛河", "林产品加工厂排污口", "hz_forest", "standardise", "working"),
    ("industrial_stormwater", "呼中镇", "呼玛河", "林产品加工厂雨水排口", "hz_forest", "standardise", "completed"),
    ("park_wwtp", "呼中镇", "呼玛河支流", "林产工业园区污水处理站排污口", "park", "standardise", "closed"),
    ("park_stormwater", "呼中镇", "呼玛河支流", "林产工业园区雨洪排口", "park", "keep", "transition"),
    ("urban_domestic_scattered", "呼中镇", "呼玛河", "向阳街生活污水散排口", "hz_gov", "merge", "working_late"),
    ("urban_domestic_scattered", "呼中镇", "呼玛河", "河滨路生活污水散排口", "hz_gov", "merge", "closed"),
    ("urban_domestic_scattered", "呼中镇", "呼玛河支流", "永安社区生活污水散排口", "hz_gov", "merge", "found"),
    ("urban_stormwater", "呼中镇", "呼玛河", "中心街雨水排口", "housing", "keep", "completed"),
    ("urban_stormwater", "呼中镇", "呼玛河支流", "新华路雨水排口", "housing", "standardise", "planned"),
    ("livestock_small", "呼中镇", "呼玛河支流", "向阳屯个体养殖场排污口", "wang", "ban", "planned_late"),
    ("aquaculture_small", "呼中镇", "呼中水库", "水库下游个体养鱼池排口", "liu", "standardise", "working"),
    ("port", "呼中镇", "呼玛河", "呼玛河渡口码头排口", "transport", "standardise", "transition_late"),
    ("other", "呼中镇", "呼玛河", "供热站排口", "heating", "standardise", "traced"),
    ("other", "呼中镇", "呼中水库", "水库管理站生活污水排口", "water", "merge", "sampled"),
    ("other", "呼中镇", "呼玛河", "区人民医院排口", "hospital", "standardise", "closed"),
    ("industrial_enterprise", "呼中镇", "呼玛河", "砂石料场排口", "gravel", "ban", "closed"),
    ("industrial_enterprise", "呼中镇", "呼玛河", "蓝莓饮品厂排污口", "blueberry", "standardise", "working_late"),
    ("industrial_enterprise", "呼中镇", "呼玛河支流", "热电厂冷却水排口", "power", "keep", "sampled"),
    ("municipal_wwtp", "呼源镇", "呼玛河", "呼源镇污水处理厂排污口", "hy_wwtp", "standardise", "working"),
    ("rural_treatment", "呼源镇", "小白河", "小白河村污水处理设施排污口", "hy_gov", "keep", "closed"),
    ("rural_domestic_scattered", "呼源镇", "小白河", "小白河村生活污水散排口", "hy_gov", "merge", "completed"),
    ("rural_domestic_scattered", "呼源镇", "呼玛河", "呼源林场生活污水散排口", "hy_gov", "merge", "planned_late"),
    ("livestock_large", "呼源镇", "小白河", "呼源肉牛养殖场排污口", "hy_cattle", "standardise", "transition"),
    ("aquaculture_large", "呼源镇", "呼玛河", "细鳞鱼养殖基地排口", "hy_fish", "standardise", "closed"),
    ("livestock_small", "呼源镇", "小白河", "小白河屯个体养猪场排污口", "zhao", "ban", "working"),
    ("aquaculture_small", "呼源镇", "小白河", "个体林蛙养殖排口", "sun", "keep", "sampled"),
    ("industrial_enterprise", "呼源镇", "呼玛河", "木材加工厂排污口", "hy_wood", "merge", "completed"),
    ("industrial_stormwater", "呼源镇", "呼玛河", "木材加工厂雨水排口", "hy_wood", "keep", "planned"),
    ("urban_stormwater", "呼源镇", "呼玛河", "呼源镇区雨水排口", "hy_gov", "keep", "found"),
    ("other", "呼源镇", "小白河", "废弃贮木场排口", "hy_gov", "ban", "transition_late"),
    ("irrigation", "呼源镇", "呼玛河", "呼源灌区退水口", "agri", "standardise", "traced"),
    ("port", "呼源镇", "呼玛河", "呼源木材水运码头排口", "transport", "ban", "closed"),
    ("municipal_wwtp", "碧水镇", "碧水河", "碧水镇污水处理厂排污口", "bs_wwtp", "keep", "completed"),
    ("rural_treatment", "碧水镇", "碧水河", "碧水村污水处理设施排污口", "bs_gov", "standardise", "transition"),
    ("rural_domestic_scattered", "碧水镇", "碧水河", "碧水村生活污水散排口", "bs_gov", "merge", "closed"),
    ("rural_domestic_scattered", "碧水镇", "呼玛河", "河口屯生活污水散排口", "bs_gov", "merge", "working"),
    ("aquaculture_large", "碧水镇", "碧水河", "哲罗鱼繁育基地排口", "bs_fish", "keep", "closed"),
    ("aquaculture_small", "碧水镇", "碧水河", "个体养鱼池排口", "li", "ban", "closed"),
    ("livestock_large", "碧水镇", "呼玛河", "梅花鹿养殖场排污口", "bs_deer", "standardise", "working_late"),
    ("livestock_small", "碧水镇", "碧水河", "个体养鸡场排污口", "chen", "merge", "planned"),
    ("irrigation", "碧水镇", "碧水河", "碧水灌区排口", "agri", "keep", "working"),
    ("port", "碧水镇", "呼玛河", "碧水渡口排口", "transport", "ban", "working_late"),
    ("industrial_enterprise", "碧水镇", "碧水河", "矿泉水厂排污口", "bs_water", "standardise", "sampled"),
    ("urban_stormwater", "碧水镇", "碧水河", "碧水镇区雨水排口", "bs_gov", "standardise", "closed"),
    ("other", "碧水镇", "呼玛河", "旅游服务区排口", "bs_tourism", "merge", "found"),
    ("municipal_wwtp", "宏伟镇", "岭峰河", "宏伟镇污水处理站排污口", "hw_wwtp", "standardise", "transition_late"),
    ("rural_treatment", "宏伟镇", "岭峰河", "岭峰村污水处理设施排污口", "hw_gov", "keep", "working"),
    ("rural_domestic_scattered", "宏伟镇", "岭峰河", "岭峰村生活污水散排口", "hw_gov", "merge", "transition"),
    ("rural_domestic_scattered", "宏伟镇", "呼玛河支流", "宏伟林场生活污水散排口", "hw_gov", "merge", "planned_late"),
    ("livestock_large", "宏伟镇", "岭峰河", "生猪养殖场排污口", "hw_pig", "ban", "completed"),
    ("aquaculture_large", "宏伟镇", "岭峰河", "冷水鱼养殖场排口", "hw_fish", "standardise", "planned_late"),
    ("livestock_small", "宏伟镇", "呼玛河支流", "个体养羊场排污口", "zhou", "standardise", "sampled"),
    ("aquaculture_small", "宏伟镇", "岭峰河", "个体林蛙养殖排口", "wu", "merge", "traced"),
    ("industrial_enterprise", "宏伟镇", "呼玛河支流", "砂金矿尾矿库排口", "hw_mine", "ban", "working_late"),
    ("industrial_stormwater", "宏伟镇", "呼玛河支流", "矿区雨洪排口", "hw_mine", "ban", "closed"),
    ("irrigation", "宏伟镇", "岭峰河", "岭峰灌区排口", "agri", "keep", "found"),
    ("urban_stormwater", "宏伟镇", "岭峰河", "宏伟镇区雨水排口", "hw_gov", "keep", "transition"),
    ("other", "宏伟镇", "岭峰河", "林区公路服务站排口", "transport", "standardise", "completed"),
    ("other", "宏伟镇", "岭峰河", "加油站雨水排口", "transport", "standardise", "working"),
]


@dataclass(frozen=True)
class Progress:
    """How far an outfall has got: stage and plan status, and date windows in days around today."""

    stage: str
    status: str
    found_days_ago: tuple[int, int]
    deadline_in_days: tuple[int, int] | None = None  # negative: already past
    transition_in_days: tuple[int, int] | None = None


# Done plans move keep/standardise outfalls on to standardisation (see _stage); the rest stay here.
# The stored stage is always the one the data show (portal.registry.stages); these stand for how far
# the work has got, and so what data the outfall gets.
PROGRESS = {
    "found": Progress("survey", "not_started", (5, 90)),
    "sampled": Progress("monitoring", "not_started", (60, 240)),
    "traced": Progress("tracing", "not_started", (150, 400)),
    "planned": Progress("rectification", "not_started", (200, 500), (20, 150)),
    "planned_late": Progress("rectification", "not_started", (300, 800), (-150, -10)),
    "working": Progress("rectification", "in_progress", (200, 700), (10, 180)),
    "working_late": Progress("rectification", "in_progress", (300, 900), (-200, -5)),
    "transition": Progress("rectification", "in_progress", (400, 900), (-200, -30), (30, 240)),
    "transition_late": Progress("rectification", "in_progress", (600, 1100), (-400, -200), (-100, -5)),
    "completed": Progress("rectification", "completed", (500, 1300)),
    "closed": Progress("rectification", "closed", (700, 1400)),
}

# Progress before the responsible party is identified (溯源): the outfall has no party yet.
UNTRACED = frozenset({"found", "sampled"})

MEASURE_TEXT = {
    "ban": "依法取缔：拆除排水设施，封堵排口，恢复岸线原貌。",
    "merge": "清理合并：污水接入城镇污水管网或园区污水处理设施，原排口封堵。",
    "standardise": "规范整治：补办设置手续，改造排水设施，确保达标排放。",
    "keep": "保留：按 HJ 1309-2023 开展规范化建设（采样点、检查井、标识牌、监控、档案）。",
}
DISCHARGE_MODES = {
    "municipal_wwtp": "continuous", "park_wwtp": "continuous", "rural_treatment": "continuous",
    "industrial_enterprise": "continuous", "irrigation": "seasonal", "aquaculture_large": "seasonal",
    "aquaculture_small": "seasonal",
}  # everything else discharges intermittently (rain, households, small farms)
APPROVED_SUBTYPES = {"municipal_wwtp", "park_wwtp", "industrial_enterprise", "livestock_large", "aquaculture_large"}
REGISTERED_SUBTYPES = {"rural_treatment", "irrigation", "port", "industrial_stormwater", "park_stormwater",
                       "urban_stormwater"}

# ── Monitoring. Treatment plants are sampled monthly, other outfalls quarterly. Each outfall is sampled
# for the parameters of the standard (and permit) that applies to it (portal.monitoring.standards), and
# judged by that rule; an outfall no standard applies to gets the usual survey parameters, shown as
# "no applicable limit" (never as compliant).
COLD_MONTHS = {11, 12, 1, 2, 3, 4}  # 呼中's water stays at or below 12 ℃ from November to April
TREATMENT_SUBTYPES = {"municipal_wwtp", "park_wwtp", "rural_treatment"}
UNJUDGED_PARAMETERS = {"treatment": ["COD", "BOD5", "SS", "NH3-N", "TP"], "other": ["COD", "NH3-N", "TP"]}
UNLIMITED_RANGES = {"SS": (6.0, 45.0), "TN": (3.0, 20.0)}  # plausible mg/L where no limit applies
# The standards the rule names must be there (the migrations ship them).
NEEDED_STANDARDS = (standards.MUNICIPAL, standards.INDUSTRIAL_CLASS_III_OR_BETTER, standards.INDUSTRIAL_CLASS_IV_V,
                    standards.LIVESTOCK)
# One industrial outfall holds a discharge permit, stricter than GB 8978 一级 on COD and NH3-N; its other
# parameters fall back to the standard.
PERMIT_OUTFALL = "林产品加工厂排污口"
PERMIT_LIMITS = [("COD", "mg/L", 80.0), ("NH3-N", "mg/L", 10.0)]


class DemoRefused(RuntimeError):
    """The registry already holds real outfalls; demo data would be published beside them."""


def seed() -> dict | None:
    """Fill an empty registry with demo data and say what was added; None if demo data is already there."""
    if _demo_present():
        return None
    real = db.session.scalar(select(db.func.count(Outfall.id)).where(Outfall.is_demo.is_(False)))
    if real:
        raise DemoRefused(
            f"数据库中已有 {real} 个真实排污口，演示数据只能填入空的台账，以免虚构数据与真实数据一起公开。"
        )
    rng = random.Random(RANDOM_SEED)
    summary = _fill(rng, calendar.today())
    db.session.flush()  # the caller's transaction() commits
    return summary


def _demo_present() -> bool:
    """Whether any demo row is in the database (a second run must change nothing)."""
    for model in (Outfall, Town, WaterBody, RiverChief, MonitoringSample):
        if db.session.scalar(select(model.id).where(model.is_demo.is_(True)).limit(1)) is not None:
            return True
    return False


def _fill(rng: random.Random, on: date) -> dict:
    """Add every demo row to the session (not committed) and count them."""
    _check_standards()
    towns, towns_added = _towns()
    waters, waters_added = _water_bodies()
    chiefs = _chiefs(towns, waters)
    parties, parties_added = _parties()
    outfalls = [
        _outfall(rng, on, number, row, towns, waters, parties, chiefs)
        for number, row in _numbered(OUTFALLS)
    ]
    _link_merges(outfalls)
    _board_facts(on, waters, chiefs)
    _link_leaders(outfalls, chiefs)
    db.session.add_all(outfalls)
    db.session.flush()
    # Judged by the one rule, each sample by the water temperature taken with it.
    standards.judge_all([sample for outfall in outfalls for sample in outfall.samples],
                        ZoneInfo(current_app.config["TIMEZONE"]))
    return {
        "镇": towns_added,
        "水体": waters_added,
        "河长": len(chiefs),
        "责任主体": parties_added,
        "排污口": len(outfalls),
        "整治方案": sum(len(o.plans) for o in outfalls),
        "监测数据": sum(len(o.samples) for o in outfalls),
        "监测断面": _sections(outfalls, on),
    }



# ── Monitoring sections (断面): one upstream and one downstream of each treatment plant, sampled monthly
# for GB 3838's parameters and judged by the one rule (portal.monitoring.standards). Upstream stays within
# the river's class; downstream misses it now and then. Their own random stream, so adding them changes
# none of the outfalls' data.
SECTION_PARAMETERS = ("COD", "CODMn", "BOD5", "NH3-N", "TP", "DO")
SECTION_SAMPLINGS = 10
SECTION_OFFSETS_KM = {"upstream": -0.6, "downstream": 1.2}  # along the river, drawn eastwards
SECTION_MISS_RATE = 0.2  # of downstream samplings, one parameter over its limit


def _sections(outfalls: list[Outfall], on: date) -> int:
    """Demo sections up- and downstream of the treatment plants, with judged samples; how many were added."""
    rng = random.Random(RANDOM_SEED + 1)
    added = []
    plants = [o for o in outfalls if o.outfall_subtype == "municipal_wwtp" and o.latitude is not None
              and o.water_body is not None and o.water_body.target_class]
    for outfall in plants:
        for position, offset_km in SECTION_OFFSETS_KM.items():
            section = MonitoringSection(
                code=f"{outfall.code}-DM-{'S' if position == 'upstream' else 'X'}",
                name=f"{outfall.water_body.name}{outfall.town.name}{'上游' if position == 'upstream' else '下游'}断面",
                level="outfall", water_body=outfall.water_body, outfall=outfall, position=position,
                latitude=outfall.latitude,
                longitude=round(outfall.longitude + offset_km / (111.32 * math.cos(math.radians(outfall.latitude))), 6),
                note=f"{vocabulary.SECTION_POSITIONS.label(position)}约 {abs(offset_km):g} 公里（演示）",
                source=SOURCE, is_demo=True,
            )
            db.session.add(section)
            added.append(section)
            section.samples.extend(_section_samples(rng, on, section, misses=position == "downstream"))
    db.session.flush()
    standards.judge_all([sample for section in added for sample in section.samples],
                        ZoneInfo(current_app.config["TIMEZONE"]))
    return len(added)


def _section_samples(rng, on: date, section: MonitoringSection, misses: bool) -> list[MonitoringSample]:
    """Monthly samplings of GB 3838's parameters at the section's class, the latest a few days ago."""
    standard = standards.for_section(section).standard
    limits = {limit.parameter: limit for limit in standard.limits if not limit.condition} if standard else {}
    last = on - timedelta(days=rng.randint(2, 12))
    samples = []
    for index in range(SECTION_SAMPLINGS):
        day = last - timedelta(days=30 * index)
        missed = rng.choice(SECTION_PARAMETERS) if misses and rng.random() < SECTION_MISS_RATE else None
        for parameter in SECTION_PARAMETERS:
            limit = limits.get(parameter)
            samples.append(MonitoringSample(
                sampled_at=_at(day, 9, 30), parameter=parameter,
                value=_section_value(rng, limit, parameter == missed), unit=limit.unit if limit else "mg/L",
                source=SOURCE, is_demo=True,
            ))
    return samples


def _section_value(rng, limit, over: bool) -> float:
    """A plausible surface-water value within its class limit, or (when over) just past it."""
    if limit is None:
        return round(rng.uniform(1.0, 10.0), 2)
    if limit.maximum is None:  # dissolved oxygen: a floor
        value = limit.minimum * (rng.uniform(0.6, 0.9) if over else rng.uniform(1.2, 1.7))
    else:
        value = limit.maximum * (rng.uniform(1.1, 1.6) if over else rng.uniform(0.3, 0.85))
    return round(value, 3 if value < 1 else 2)

def _numbered(rows):
    """Pair each outfall row with its number within its town, for codes like DEMO-HZ-001."""
    counters = {}
    for row in rows:
        town = row[1]
        counters[town] = counters.get(town, 0) + 1
        yield counters[town], row


def _check_standards() -> None:
    """Refuse to seed without the standards the rule names (the migrations ship them)."""
    present = {(s.code, s.grade) for s in db.session.scalars(
        select(DischargeStandard).options(selectinload(DischargeStandard.limits)))}
    missing = [" ".join(key).strip() for key in NEEDED_STANDARDS if key not in present]
    if missing:
        raise RuntimeError(f"缺少参考限值 {', '.join(missing)}：请先运行 `portal db upgrade`。")


def _towns() -> tuple[dict[str, Town], int]:
    """The four towns, reusing any that exist (an imported boundary is never overwritten)."""
    existing = {t.name: t for t in db.session.scalars(select(Town).where(Town.name.in_([n for n, _, _ in TOWNS])))}
    towns, added = {}, 0
    for name, _segment, ring in TOWNS:
        boundary = _geojson("Polygon", [ring])
        town = existing.get(name)
        if town is None:
            town = Town(name=name, boundary=boundary, boundary_source=BOUNDARY_SOURCE, is_demo=True)
            db.session.add(town)
            added += 1
        elif not town.boundary:
            # A town known only by name (e.g. from a ledger) gets a labelled approximation to draw.
            town.boundary, town.boundary_source = boundary, BOUNDARY_SOURCE
        towns[name] = town
    return towns, added


def _water_bodies() -> tuple[dict[str, WaterBody], int]:
    """The rivers and the reservoir, reusing any recorded under the same name unchanged."""
    names = [row[0] for row in WATER_BODIES]
    existing = {w.name: w for w in db.session.scalars(select(WaterBody).where(WaterBody.name.in_(names)))}
    waters, added = {}, 0
    for name, kind, target_class, telephone, points in WATER_BODIES:
        water = existing.get(name)
        if water is None:
            geometry = _geojson("Polygon", [points]) if kind != "river" else _geojson("LineString", points)
            water = WaterBody(name=name, kind=kind, target_class=target_class, geometry=geometry,
                              supervision_telephone=telephone, is_demo=True)
            db.session.add(water)
            added += 1
        waters[name] = water
    return waters, added


def _chiefs(towns: dict[str, Town], waters: dict[str, WaterBody]) -> list[RiverChief]:
    """River chiefs at district, town and village level, each on a river and, below the district, a town."""
    chiefs = []
    for number, (level, name, title, water, town) in enumerate(CHIEFS, start=1):
        duties = CHIEF_DUTIES[level].format(water=water, town=town or "")
        chief = RiverChief(
            name=name + SUFFIX, title=title, level=level, level_rank=CHIEF_RANKS[level],
            water_body=waters[water], town=towns[town] if town else None, duties=duties,
            telephone=f"0457-3321{number:03d}", is_demo=True,
        )
        db.session.add(chief)
        chiefs.append(chief)
    return chiefs


def _parties() -> tuple[dict[str, ResponsibleParty], int]:
    """The responsible parties by key; organisations' names carry the demo mark, persons' are masked."""
    wanted = {key: (name if kind == "person" else name + SUFFIX, kind) for key, (name, kind) in PARTIES.items()}
    existing = {
        (p.name, p.kind): p
        for p in db.session.scalars(select(ResponsibleParty).where(
            ResponsibleParty.name.in_([name for name, _ in wanted.values()])))
    }
    parties, added = {}, 0
    for key, (name, kind) in wanted.items():
        party = existing.get((name, kind))
        if party is None:
            party = ResponsibleParty(name=name, kind=kind, is_demo=True)
            db.session.add(party)
            added += 1
        parties[key] = party
    return parties, added


def _outfall(rng, on, number, row, towns, waters, parties, chiefs) -> Outfall:
    """One demo outfall with its plan, history, checklist and samples."""
    subtype, town_name, water_name, stem, party_key, measure, progress_key = row
    progress = PROGRESS[progress_key]
    town, water, party = towns[town_name], waters[water_name], parties[party_key]
    segment = next(seg for name, seg, _ in TOWNS if name == town_name)
    plan = _plan(rng, on, measure, progress, party)
    found_on = plan.found_on
    planned_stage = _stage(progress, measure)
    longitude, latitude = _place(rng, town, water)
    town_chiefs = [c for c in chiefs if c.level == "town" and c.town is town]
    approval = _approval(subtype, measure)
    traced = progress_key not in UNTRACED
    outfall = Outfall(
        code=f"DEMO-{segment}-{number:03d}",
        name=(stem if stem.startswith(town_name) else town_name + stem) + SUFFIX,
        town=town, water_body=water, longitude=longitude, latitude=latitude,
        outfall_type=vocabulary.OUTFALL_SUBTYPES.get(subtype).parent, outfall_subtype=subtype,
        discharge_mode=DISCHARGE_MODES.get(subtype, "intermittent"),
        approval_status=approval, found_on=found_on,
        # Before tracing nobody is named yet; after it, the seed's chain names the applicant of an
        # approved outfall, else the unit using it.
        responsible_party=party if traced else None,
        party_basis=("applicant" if approval == "approved" else "user") if traced else None,
        party_telephone=f"0457-3323{list(PARTIES).index(party_key) + 1:03d}" if traced else None,
        supervising_leader=rng.choice(town_chiefs).name if town_chiefs else None,
        note="整治难度较大，已批准过渡期。" if plan.record.transition_ends_on else None,
        is_demo=True,
    )
    outfall.plans.append(plan.record)
    if stem == PERMIT_OUTFALL:
        outfall.permits.append(_permit(on, segment, number))
    if planned_stage != "survey":
        with db.session.no_autoflush:  # the rule looks standards up while this outfall is half built
            outfall.samples.extend(_samples(rng, on, outfall, measure, plan))
    # The stage is the data's (portal.registry.stages), as for every real outfall.
    stage = outfall.stage = stages.derive_stage(outfall)
    if stage == "standardisation":
        # Outfalls that stay and are standardised get a (demo) national code.
        outfall.national_code = f"DEMO-{DISTRICT_CODE}-{segment}{number:03d}"
    outfall.events.extend(_events(on, found_on, stage, plan))
    outfall.checklist.extend(_checklist(rng, on, measure, stage, plan))
    return outfall


def _permit(on: date, segment: str, number: int) -> DischargeStandard:
    """An invented discharge permit (排污许可证), valid five years from two years ago."""
    valid_from = date(on.year - 2, 1, 1)
    code = f"DEMO-232764-{segment}{number:03d}P"
    return DischargeStandard(
        code=code, grade="", title=f"排污许可证 {code}{SUFFIX}", kind="permit", valid_from=valid_from,
        valid_until=date(valid_from.year + 5, 1, 1) - timedelta(days=1), note="演示数据：虚构的排污许可证",
        limits=[StandardLimit(parameter=p, unit=u, maximum=m) for p, u, m in PERMIT_LIMITS])


@dataclass
class _Plan:
    """A plan being built, with the dates the history and samples are drawn from."""

    record: RectificationPlan
    found_on: date
    started_on: date | None


def _plan(rng, on: date, measure: str, progress: Progress, party: ResponsibleParty) -> _Plan:
    """The rectification plan and its dates, consistent with the progress it stands for."""
    found_on = _clamp(on - timedelta(days=rng.randint(*progress.found_days_ago)))
    record = RectificationPlan(measure=measure, measures_text=MEASURE_TEXT[measure], status=progress.status,
                               responsible_party=party)
    started_on = None
    if progress.status in vocabulary.DONE_STATUSES:
        # Leave room for verification (up to 45 days) before yesterday.
        latest = on - timedelta(days=60)
        record.completed_on = found_on + timedelta(days=rng.randint(90, max(90, (latest - found_on).days)))
        record.deadline = record.completed_on + timedelta(days=rng.randint(-30, 90))
        if progress.status == "closed":
            record.verified_on = record.completed_on + timedelta(days=rng.randint(7, 45))
        started_on = found_on + (record.completed_on - found_on) * 3 // 5
    else:
        if progress.deadline_in_days:
            record.deadline = on + timedelta(days=rng.randint(*progress.deadline_in_days))
        if progress.transition_in_days:
            record.transition_ends_on = on + timedelta(days=rng.randint(*progress.transition_in_days))
        if progress.status == "in_progress":
            started_on = found_on + (on - timedelta(days=1) - found_on) * 3 // 5
    return _Plan(record, found_on, started_on)


def _clamp(day: date) -> date:
    """Keep a date inside the years the programme has run (2022–2026)."""
    return min(max(day, EARLIEST_FOUND), LATEST_FOUND)


def _stage(progress: Progress, measure: str) -> str:
    """The outfall's stage: outfalls that stay move on to standardisation once rectified."""
    if progress.status in vocabulary.DONE_STATUSES and measure in ("keep", "standardise"):
        return "standardisation"
    return progress.stage


def _approval(subtype: str, measure: str) -> str:
    """Whether the outfall was approved: outfalls to be banned never were."""
    if measure == "ban":
        return "unapproved"
    if subtype in APPROVED_SUBTYPES:
        return "approved"
    return "registered" if subtype in REGISTERED_SUBTYPES else "unapproved"


def _place(rng, town: Town, water: WaterBody) -> tuple[float, float]:
    """A point inside the town near its receiving water, rounded as the ledger stores coordinates."""
    from shapely.geometry import Point, shape  # here: the app loads this module for its CLI commands

    area = shape(town.boundary_geometry)
    line = None
    if water.geometry:
        geometry = shape(json.loads(water.geometry))
        # A reservoir's outfalls sit on its shore; a river's along its course.
        line = (geometry.boundary if geometry.geom_type.endswith("Polygon") else geometry).intersection(area)
    for _ in range(200):
        if line is not None and not line.is_empty:
            anchor = line.interpolate(rng.random(), normalized=True)
            x, y = anchor.x + rng.uniform(-0.004, 0.004), anchor.y + rng.uniform(-0.003, 0.003)
        else:
            # The river misses this town (e.g. a real imported boundary): anywhere inside will do.
            west, south, east, north = area.bounds
            x, y = rng.uniform(west, east), rng.uniform(south, north)
        point = (round(x, 6), round(y, 6))
        if area.contains(Point(point)):
            return point
    inside = area.representative_point()
    return round(inside.x, 6), round(inside.y, 6)


def _events(on: date, found_on: date, stage: str, plan: _Plan) -> list[OutfallEvent]:
    """The outfall's history: created, then each stage and status change in date order."""
    record = plan.record
    end = record.completed_on or on - timedelta(days=1)
    order = vocabulary.STAGES.codes()
    reached = order.index(stage)
    changes = []
    # The first three stage steps fall at fixed fractions of the time before the work ended.
    for step in range(1, min(reached, 3) + 1):
        changes.append((found_on + (end - found_on) * (3 * step) // 20, "stage", order[step - 1], order[step]))
    if plan.started_on:
        changes.append((plan.started_on, "status", "not_started", "in_progress"))
    if record.completed_on:
        changes.append((record.completed_on, "status", "in_progress", "completed"))
    if reached == 4:
        # Rectified work moves on when it is done; an outfall that stays (keep) once its plan is set.
        moved_on = record.completed_on or found_on + (end - found_on) * 12 // 20
        changes.append((moved_on, "stage", order[min(reached, 3)], "standardisation"))
    if record.verified_on:
        changes.append((record.verified_on, "status", "completed", "closed"))
    events = [OutfallEvent(occurred_at=_at(found_on, 9, 0), kind="created", source=SOURCE)]
    events += [
        OutfallEvent(occurred_at=_at(day, 10, minute), kind="changed", field=field,
                     old_value=old, new_value=new, source=SOURCE)
        for minute, (day, field, old, new) in enumerate(changes)
    ]
    return events


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local time on a day in the district's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def _checklist(rng, on: date, measure: str, stage: str, plan: _Plan) -> list[StandardisationItem]:
    """One row per HJ 1309 item; done only where the outfall stays and the work has got that far."""
    record = plan.record
    items = []
    for term in vocabulary.CHECKLIST_ITEMS:
        done_on = None
        if measure in ("keep", "standardise"):
            if stage == "standardisation" and (record.status == "closed" or rng.random() < 0.6):
                last = record.verified_on or on - timedelta(days=1)
                begun = record.completed_on or plan.found_on  # an outfall kept as it is: from the survey on
                done_on = begun + (last - begun) * rng.randint(0, 10) // 10
            elif plan.started_on and term.code == "signboard" and rng.random() < 0.5:
                done_on = plan.started_on + timedelta(days=rng.randint(0, 20))
        items.append(StandardisationItem(item=term.code, done=done_on is not None, done_on=done_on))
    return items


def _samples(rng, on, outfall: Outfall, measure, plan: _Plan) -> list[MonitoringSample]:
    """Several sampling dates × the parameters that apply, each value drawn within or over the limit
    the rule will judge it by (the caller judges them once the outfall is complete)."""
    record = plan.record
    subtype = outfall.outfall_subtype
    treatment = subtype in TREATMENT_SUBTYPES
    interval, count = (30, 10) if treatment else (90, 4)
    # Nothing is sampled at an outfall after it was removed or merged away.
    last = record.completed_on if measure in ("ban", "merge") and record.is_done else \
        on - timedelta(days=rng.randint(3, 20))
    first = plan.found_on + timedelta(days=7)
    days = [last - timedelta(days=interval * i) for i in range(count)]
    # Unfinished rectification is where the exceedances are.
    exceed_rate = 0.06 if record.is_done else 0.25
    samples = []
    for day in sorted(d for d in days if d >= first):
        applicable = standards.for_outfall(outfall, day)
        parameters = _parameters(applicable, treatment)
        temperature = None
        if _temperature_matters(applicable):
            # A cold-water limit (GB 18918's NH3-N in brackets) needs the temperature taken with the sample.
            temperature = round(rng.uniform(4.0, 11.0) if day.month in COLD_MONTHS else rng.uniform(13.0, 22.0), 1)
            samples.append(MonitoringSample(sampled_at=_at(day, 10), parameter=standards.WATER_TEMPERATURE,
                                            value=temperature, unit=BY_CODE[standards.WATER_TEMPERATURE].unit,
                                            source=SOURCE, is_demo=True))
        for parameter in parameters:
            unit = BY_CODE[parameter].unit
            limit = standards.limit_for(applicable, parameter, unit, temperature)
            samples.append(MonitoringSample(
                sampled_at=_at(day, 10), parameter=parameter,
                value=_value(rng, parameter, limit, rng.random() < exceed_rate),
                unit=unit, source=SOURCE, is_demo=True,
            ))
    return samples


def _parameters(applicable: standards.Applicable, treatment: bool) -> list[str]:
    """The parameters the applicable permit and standard limit (in the bureau's order), or the usual
    survey parameters where no standard applies."""
    limited = {limit.parameter for source in (applicable.permit, applicable.standard) if source is not None
               for limit in source.limits}
    if not limited:
        return UNJUDGED_PARAMETERS["treatment" if treatment else "other"]
    order = {code: index for index, code in enumerate(results.PARAMETER_ORDER)}
    return sorted(limited, key=lambda code: (order.get(code, len(order)), code))


def _temperature_matters(applicable: standards.Applicable) -> bool:
    """Whether a limit that applies depends on the water temperature."""
    return any(limit.condition for source in (applicable.permit, applicable.standard) if source is not None
               for limit in source.limits)


def _value(rng, parameter: str, limit, exceed: bool) -> float:
    """A plausible measured value, within the limit or (when exceed) over it."""
    if limit is None:
        low, high = UNLIMITED_RANGES.get(parameter, (1.0, 20.0))
        return round(rng.uniform(low, high), 2)
    if limit.minimum is not None and limit.maximum is not None:  # pH: a range, exceeded on the high side
        value = rng.uniform(limit.maximum + 0.1, limit.maximum + 0.8) if exceed else \
            rng.uniform(limit.minimum + 0.5, limit.maximum - 0.5)
        return round(value, 2)
    if limit.maximum is None:  # a floor such as dissolved oxygen: exceeding means falling below it
        value = limit.minimum * (rng.uniform(0.4, 0.9) if exceed else rng.uniform(1.1, 1.6))
    else:
        value = limit.maximum * (rng.uniform(1.1, 2.5) if exceed else rng.uniform(0.3, 0.95))
    return float(round(value)) if value >= 100 else round(value, 3 if value < 1 else 2)


def _link_merges(outfalls: list[Outfall]) -> None:
    """Point merge plans under way or done at the treatment plant in the same town they were merged into."""
    for outfall in outfalls:
        plan = outfall.plans[0]
        if plan.measure != "merge" or plan.status == "not_started":
            continue
        plan.merged_into = next(
            (o for subtype in ("municipal_wwtp", "park_wwtp") for o in outfalls
             if o.town is outfall.town and o.outfall_subtype == subtype and o is not outfall),
            None,
        )


def _geojson(kind: str, coordinates) -> str:
    """A GeoJSON geometry as compact text, the way Town.boundary and WaterBody.geometry store it."""
    return json.dumps({"type": kind, "coordinates": coordinates}, ensure_ascii=False, separators=(",", ":"))


# ── River boards: the demo waters' codes, goals and board dates, the chiefs' codes and which lines are
# official (a district chief's office number; town and village chiefs' are their own, never shown).
# One board (the 呼玛河支流's) changed 20 days ago and was not brought up to date: its page warns.
WATER_CODES = {"呼玛河": "DEMO-HMH", "呼玛河支流": "DEMO-HMHZL", "碧水河": "DEMO-BSH", "小白河": "DEMO-XBH",
               "岭峰河": "DEMO-LFH", "呼中水库": "DEMO-HZSK"}
WATER_GOALS = "水质稳定达到地表水 {cls} 类；入河排污口全部完成排查、溯源和分类整治；河道内无垃圾、无违法排污（演示）。"
BOARD_LATE = "呼玛河支流"


def _board_facts(on: date, waters: dict[str, WaterBody], chiefs: list[RiverChief]) -> None:
    """Codes, goals and board dates for the demo waters, codes and official lines for the demo chiefs."""
    for number, (name, water) in enumerate(sorted(waters.items()), start=1):
        if not water.is_demo:
            continue  # a real water keeps what the bureau's file says
        water.code = water.code or WATER_CODES.get(name)
        water.goals = water.goals or WATER_GOALS.format(cls=water.target_class or "III")
        water.source = water.source or SOURCE
        water.board_changed_on = on - timedelta(days=20 if name == BOARD_LATE else 30 + 7 * number)
        water.board_updated_on = None if name == BOARD_LATE else water.board_changed_on + timedelta(days=5)
    for number, chief in enumerate(chiefs, start=1):
        chief.code = f"DEMO-C{number:02d}"
        chief.telephone_is_official = chief.level == "district"
        chief.appointed_on = date(on.year - 2, 3, 1)
        chief.source = SOURCE


def _link_leaders(outfalls: list[Outfall], chiefs: list[RiverChief]) -> None:
    """Each demo outfall's 包保领导 as the record of the town chief it names."""
    by_town_and_name = {(c.town.name if c.town else None, c.name): c for c in chiefs}
    for outfall in outfalls:
        outfall.supervising_chief = by_town_and_name.get((outfall.town.name, outfall.supervising_leader))

