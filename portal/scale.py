"""The invented province-scale dataset (`portal seed-scale`): what the portal must stay fast on.

A province's worth of made-up records — 300 towns with square boundaries over lat 45–52.5,
lon 122–132 (the layout of the peer benchmark's table, so both serve the same geography), 60 rivers,
their chiefs, responsible parties (some of them persons), N outfalls each with a rectification plan
dated around the district clock's today (some overdue, some done), samples judged by the rule that
applies, and M citizen reports across every status with their timelines, some with sealed contacts.

Everything is marked invented as the demo's data is: ``is_demo=True``, outfall and water codes
prefixed ``SCALE-``, names ending with （演示）, town boundaries labelled as invented. Rows are written
with Core bulk inserts in chunks (executemany) with ids allotted here, so nothing is read back; the
outfalls' plan summaries are computed once afterwards (``plan_summary.refresh_all``) and both data
scopes marked changed, since the session's hooks never see these statements.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from time import perf_counter
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import click
from flask import current_app
from sqlalchemy import func, select, text

from portal import calendar, data_version, demo
from portal.extensions import db
from portal.models import (
    MonitoringSample,
    Outfall,
    OutfallEvent,
    RectificationPlan,
    Report,
    ReportUpdate,
    ResponsibleParty,
    RiverChief,
    Town,
    WaterBody,
)
from portal.monitoring import standards
from portal.monitoring.parameters import BY_CODE
from portal.registry import plan_summary, stages, vocabulary
from portal.reports import privacy, timeline
from portal.workflow import REJECTION_REASONS

CODE_PREFIX = "SCALE-"
SOURCE = "规模测试数据（虚构）"
SUFFIX = demo.SUFFIX
BOUNDARY_SOURCE = "虚构的方形边界（规模测试数据，不是正式的镇界）"
CHUNK = 5000  # rows per executemany: large enough to be fast, small enough to keep memory flat

# ── The grid of towns, as the peer's table lays them out: 20 columns × 15 rows of 0.5° squares.
COLUMNS, ROWS, CELL = 20, 15, 0.5
WEST, SOUTH = 122.0, 45.0
TOWN_COUNT = COLUMNS * ROWS
RIVERS_PER_ROW = 4  # each river runs west → east through five towns of its row
# 20 × 15 distinct first and second characters give every town a distinct two-character name.
TOWN_FIRST = "松柳桦杨榆枫桐椴樟柏青白红黄金银石星云丰"
TOWN_SECOND = "岭河泉林山川原阳安宁兴平和源沟"
RIVER_FIRST = "嫩讷甘诺绰雅洮霍乌塔伊额库呼逊"
RIVER_SECOND = "尔木门吉"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
GIVEN = ["立新", "春梅", "国华", "玉芬", "秀英", "德胜", "玉山", "桂兰", "志强", "丽娟", "振东", "淑华", "建军",
         "玉梅", "德明", "晓燕", "志刚", "桂芝", "立群", "玉兰", "海燕", "永刚", "俊峰", "秀兰", "立平", "国栋",
         "文博", "雪松", "红霞", "长青", "金凤", "宝林", "春生", "秋菊", "冬梅", "建华", "卫东", "淑珍", "凤英",
         "桂香"]
INDUSTRIES = ["林产品加工", "木业", "矿泉水", "牧业", "渔业", "砂石料", "乳业", "食品", "热电", "矿业"]

# How often each kind of outfall, measure and state of progress occurs (weights, not shares).
SUBTYPE_WEIGHTS = {
    "industrial_enterprise": 12, "industrial_stormwater": 5, "park_wwtp": 2, "park_stormwater": 2,
    "municipal_wwtp": 3, "livestock_large": 4, "aquaculture_large": 4, "irrigation": 4, "port": 2,
    "livestock_small": 8, "aquaculture_small": 6, "urban_domestic_scattered": 12, "rural_treatment": 5,
    "rural_domestic_scattered": 14, "urban_stormwater": 10, "other": 7,
}
MEASURE_WEIGHTS = {"ban": 15, "merge": 25, "standardise": 40, "keep": 20}
PROGRESS_WEIGHTS = {
    "found": 8, "sampled": 6, "traced": 6, "planned": 8, "planned_late": 6, "working": 14, "working_late": 8,
    "transition": 4, "transition_late": 3, "completed": 17, "closed": 20,
}
PERSON_SUBTYPES = {"livestock_small", "aquaculture_small"}
GOVERNMENT_SUBTYPES = {"urban_domestic_scattered", "rural_domestic_scattered", "urban_stormwater", "other"}
SAMPLE_DAYS = 2  # sampling dates per sampled outfall (the latest and one a quarter before)

# ── Reports: how often each status occurs, and what residents write.
REPORT_STATUS_WEIGHTS = {
    "submitted": 8, "accepted": 6, "assigned": 6, "in_progress": 10, "resolved": 14, "confirmed": 5,
    "reopened": 2, "closed": 37, "rejected": 9, "merged": 3,
}
PUBLISHABLE = {"accepted", "assigned", "in_progress", "resolved", "confirmed", "reopened", "closed"}
ANSWERED = {"resolved", "confirmed", "reopened", "closed"}
CATEGORY_WEIGHTS = {"direct_discharge": 30, "dry_weather": 10, "colour_smell": 25, "new_outfall": 10,
                    "signboard": 8, "dead_fish": 7, "other": 10}
DESCRIPTIONS = ["河边有管子往河里排黑水，有臭味。", "晴天排口一直在流水，颜色发黄。", "河面漂着泡沫，下游有死鱼。",
                "新修了一个排口，没有标识牌。", "标识牌被撞坏了，看不清编码。", "夜里有车往河沟里倒废水。",
                "养殖场的粪水顺着沟流进河里。", "排口附近水是乳白色的，气味刺鼻。"]
ANSWER_TEXT = "经现场核查，已责令责任单位立即停止排放并限期整改，后续将持续跟踪监测。（演示答复）"
REOPEN_TEXT = "问题仍然存在，排口还在排水。"
SEALED_SHARE = 0.08  # reports whose reporter left a contact (sealed); the rest are anonymous
DEPARTMENT_BY_TYPE = {"municipal_wwtp": "housing", "agricultural": "agriculture"}
DEPARTMENT_BY_SUBTYPE = {"urban_stormwater": "housing", "urban_domestic_scattered": "housing",
                         "livestock_small": "agriculture", "aquaculture_small": "agriculture",
                         "irrigation": "agriculture", "rural_domestic_scattered": "agriculture"}
TRACKING_SPACE = len(privacy.TRACKING_ALPHABET) ** privacy.TRACKING_LENGTH
TRACKING_STEP = 0x2545F491  # not a multiple of 31: n → (n·step + offset) mod 31^8 is one-to-one


class ScaleRefused(Exception):
    """The database is not empty, or the sizes asked for make no sense; the message says which."""


def seed(outfalls: int, reports: int, random_seed: int = 10, echo=lambda message: None) -> dict[str, int]:
    """Fill an empty, migrated database with the scale dataset in the caller's transaction; return
    the count of each kind of row. ``echo`` is told each step as it finishes."""
    if outfalls < 1 or reports < 0:
        raise ScaleRefused("排污口数量至少为 1，举报数量不能为负数。")
    if db.session.scalar(select(func.count()).select_from(Outfall)):
        raise ScaleRefused("数据库中已有排污口：规模测试数据只能填入空数据库（先运行 portal db upgrade 建一个新库）。")
    if db.session.scalar(select(func.count()).select_from(Report)) or \
            db.session.scalar(select(func.count()).select_from(Town)):
        raise ScaleRefused("数据库中已有镇或举报：规模测试数据只能填入空数据库（先运行 portal db upgrade 建一个新库）。")
    builder = _Builder(random.Random(random_seed), echo)
    counts = builder.places()
    counts |= builder.outfalls(outfalls)
    counts |= builder.reports(reports)
    # Statistics for the planner (PostgreSQL and SQLite alike): without them, the first queries over
    # tables just filled by COPY or executemany are planned as if the tables were empty.
    db.session.execute(text("ANALYZE"))
    plan_summary.refresh_all(db.session)
    _advance_sequences(counts)
    data_version.mark_changed(db.session, data_version.REGISTRY, data_version.REPORTS)
    return counts


class _Builder:
    """Writes the rows table by table, remembering what later tables refer to (ids, towns, positions)."""

    def __init__(self, rng: random.Random, echo):
        self.rng, self.echo = rng, echo
        self.today = calendar.today()
        self.now = datetime.now(timezone.utc)
        self.zone = ZoneInfo(current_app.config["TIMEZONE"])
        self.connection = db.session.connection()

    # ── places: towns, rivers, chiefs, parties
    def places(self) -> dict[str, int]:
        rng = self.rng
        town_id, water_id = _next_id(Town), _next_id(WaterBody)
        chief_id, party_id = _next_id(RiverChief), _next_id(ResponsibleParty)
        self.town_ids, self.town_names, self.town_water, self.river_lat = [], [], [], {}
        towns, waters, chiefs, parties = [], [], [], []
        for river in range(ROWS * RIVERS_PER_ROW):
            row, part = divmod(river, RIVERS_PER_ROW)
            first_col = part * COLUMNS // RIVERS_PER_ROW
            base = SOUTH + row * CELL + CELL / 2
            points = []
            for step in range(COLUMNS // RIVERS_PER_ROW * 4 + 1):  # a vertex every eighth of a degree
                lon = WEST + first_col * CELL + step * CELL / 4
                points.append([round(lon, 4), round(base + rng.uniform(-0.12, 0.12), 4)])
            self.river_lat[water_id + river] = points
            name = f"{RIVER_FIRST[river % 15]}{RIVER_SECOND[river // 15]}河"
            waters.append({"id": water_id + river, "name": name, "kind": "river",
                           "target_class": rng.choice(["II", "II", "III", "III", "III", "IV"]),
                           "geometry": demo._geojson("LineString", points),
                           "supervision_telephone": f"0451-86{river:06d}", "code": f"{CODE_PREFIX}W{river + 1:02d}",
                           "goals": demo.WATER_GOALS.format(cls="III"), "source": SOURCE, "is_demo": True,
                           "board_changed_on": self.today - timedelta(days=30), "board_updated_on":
                           self.today - timedelta(days=25)})
            chiefs.append({"id": chief_id + len(chiefs), "name": self._person(len(chiefs)) + SUFFIX,
                           "title": "副市长（演示）", "level": "city", "level_rank": 2,
                           "water_body_id": water_id + river, "town_id": None, "telephone": f"0451-87{river:06d}",
                           "telephone_is_official": True, "code": f"{CODE_PREFIX}C{len(chiefs) + 1:04d}",
                           "duties": demo.CHIEF_DUTIES["district"].format(water=name), "source": SOURCE,
                           "is_demo": True, "appointed_on": date(self.today.year - 2, 3, 1), "updated_at": self.now})
        for number in range(TOWN_COUNT):
            row, col = divmod(number, COLUMNS)
            west, south = WEST + col * CELL, SOUTH + row * CELL
            name = f"{TOWN_FIRST[col]}{TOWN_SECOND[row]}镇"
            water = water_id + row * RIVERS_PER_ROW + col * RIVERS_PER_ROW // COLUMNS
            square = [[west, south], [west + CELL, south], [west + CELL, south + CELL], [west, south + CELL],
                      [west, south]]
            towns.append({"id": town_id + number, "name": name, "code": f"{CODE_PREFIX}T{number + 1:03d}",
                          "boundary": demo._geojson("Polygon", [square]), "boundary_source": BOUNDARY_SOURCE,
                          "is_demo": True})
            self.town_ids.append(town_id + number)
            self.town_names.append(name)
            self.town_water.append(water)
            chiefs.append({"id": chief_id + len(chiefs), "name": self._person(len(chiefs)) + SUFFIX,
                           "title": f"{name}党委书记（演示）", "level": "town", "level_rank": 4, "water_body_id": water,
                           "town_id": town_id + number, "telephone": f"139{len(chiefs):08d}",
                           "telephone_is_official": False, "code": f"{CODE_PREFIX}C{len(chiefs) + 1:04d}",
                           "duties": demo.CHIEF_DUTIES["town"].format(water=waters[water - water_id]["name"],
                                                                        town=name),
                           "source": SOURCE, "is_demo": True, "appointed_on": date(self.today.year - 2, 3, 1),
                           "updated_at": self.now})
        # Each town: its government, three companies and two persons (small farms).
        self.parties = []  # per town: (government, [companies], [persons])
        persons = 0
        for number, name in enumerate(self.town_names):
            def party(party_name, kind):
                parties.append({"id": party_id + len(parties), "name": party_name, "kind": kind,
                                "credit_code": None, "is_demo": True})
                return party_id + len(parties) - 1
            government = party(f"{name}人民政府{SUFFIX}", "government")
            companies = [party(f"{name}{INDUSTRIES[(number + k * 3) % len(INDUSTRIES)]}有限公司{SUFFIX}",
                               "organisation") for k in range(3)]
            people = []
            for _ in range(2):
                people.append(party(self._person(persons + 7919), "person"))  # persons: masked in public
                persons += 1
            self.parties.append((government, companies, people))
        self.chief_of_town = {self.town_ids[n]: chief_id + ROWS * RIVERS_PER_ROW + n for n in range(TOWN_COUNT)}
        self._insert(Town, towns)
        self._insert(WaterBody, waters)
        self._insert(RiverChief, chiefs)
        self._insert(ResponsibleParty, parties)
        self.echo(f"镇 {len(towns)}，河流 {len(waters)}，河长 {len(chiefs)}，责任主体 {len(parties)}")
        self.water_class = {w["id"]: w["target_class"] for w in waters}
        return {"towns": len(towns), "waters": len(waters), "chiefs": len(chiefs), "parties": len(parties)}

    def _person(self, number: int) -> str:
        """A distinct invented name for every number below 30 × 40 × 40 (a third character beyond 1,200)."""
        surname, rest = SURNAMES[number % len(SURNAMES)], number // len(SURNAMES)
        given = GIVEN[rest % len(GIVEN)]
        return surname + given if rest < len(GIVEN) else surname + given[0] + GIVEN[(rest // len(GIVEN)) % len(GIVEN)][1]

    # ── outfalls, plans, events, samples
    def outfalls(self, count: int) -> dict[str, int]:
        rng = self.rng
        outfall_id, plan_id = _next_id(Outfall), _next_id(RectificationPlan)
        event_id, sample_id = _next_id(OutfallEvent), _next_id(MonitoringSample)
        subtypes, subtype_weights = zip(*SUBTYPE_WEIGHTS.items())
        measures, measure_weights = zip(*MEASURE_WEIGHTS.items())
        progresses, progress_weights = zip(*PROGRESS_WEIGHTS.items())
        judged = {}  # (subtype, water class) → (parameters, limit by parameter, temperature matters)
        # Outfalls are numbered town by town, so a town's codes run together as a ledger's would.
        towns = sorted(rng.randrange(TOWN_COUNT) for _ in range(count))
        self.outfall_town, self.outfall_position, self.outfall_subtype = [], [], []
        rows, plans, events, samples = [], [], [], []
        totals = {"outfalls": 0, "plans": 0, "outfall_events": 0, "samples": 0}
        for index, town in enumerate(towns):
            number = outfall_id + index
            subtype = rng.choices(subtypes, subtype_weights)[0]
            kind = vocabulary.OUTFALL_SUBTYPES.get(subtype).parent
            measure = rng.choices(measures, measure_weights)[0]
            key = rng.choices(progresses, progress_weights)[0]
            progress = demo.PROGRESS[key]
            water = self.town_water[town]
            lon, lat = self._place(town, water)
            plan = self._plan(progress, measure)
            traced = key not in demo.UNTRACED
            government, companies, people = self.parties[town]
            party = None
            if traced:
                party = rng.choice(people) if subtype in PERSON_SUBTYPES else government \
                    if subtype in GOVERNMENT_SUBTYPES else rng.choice(companies)
            approval = demo._approval(subtype, measure)
            basis = None if not traced else "town" if party == government else \
                "applicant" if approval == "approved" else "user"
            sampled = key == "sampled" or (key != "found" and rng.random() < 0.5)
            stage = stages.stage_from(
                has_samples=sampled, has_party=party is not None, party_basis=basis,
                plans=[stages.PlanFacts(measure, plan["status"], plan["verified_on"],
                                        plan["transition_ends_on"] or plan["deadline"])])
            found_on = plan.pop("found_on")
            created = self._at(found_on, 9)
            rows.append({
                "id": number, "code": f"{CODE_PREFIX}{index + 1:06d}",
                "national_code": f"{CODE_PREFIX}N{index + 1:06d}" if stage == "standardisation" else None,
                "name": f"{self.town_names[town]}{vocabulary.OUTFALL_SUBTYPES.get(subtype).label}{index + 1}号{SUFFIX}",
                "town_id": self.town_ids[town], "water_body_id": water, "longitude": lon, "latitude": lat,
                "outfall_type": kind, "outfall_subtype": subtype,
                "discharge_mode": demo.DISCHARGE_MODES.get(subtype, "intermittent"), "approval_status": approval,
                "found_on": found_on, "stage": stage, "responsible_party_id": party, "party_basis": basis,
                "party_basis_note": None, "party_telephone": f"0451-5{index % 10_000_000:07d}" if traced else None,
                "supervising_leader": None, "supervising_chief_id": self.chief_of_town[self.town_ids[town]],
                "standard_id": None, "standard_note": None,
                "note": "整治难度较大，已批准过渡期。" if plan["transition_ends_on"] else None,
                "is_demo": True, "created_at": created, "updated_at": created,
            })
            plans.append({"id": plan_id + index, "outfall_id": number, "responsible_party_id": party,
                          "measure": measure, "measures_text": demo.MEASURE_TEXT[measure],
                          "merged_into_id": None, "closed_out_on": None, **plan})
            events.append({"id": event_id + len(events) + totals["outfall_events"], "outfall_id": number,
                           "occurred_at": created, "kind": "created", "field": None, "old_value": None,
                           "new_value": None, "source": SOURCE, "actor_id": None, "reason": None})
            if stage != "survey":
                events.append({"id": event_id + len(events) + totals["outfall_events"], "outfall_id": number,
                               "occurred_at": self._at(min(found_on + timedelta(days=30), self.today), 10),
                               "kind": "changed", "field": "stage", "old_value": "survey", "new_value": stage,
                               "source": SOURCE, "actor_id": None, "reason": None})
            if sampled:
                judging = judged.get((subtype, self.water_class[water]))
                if judging is None:
                    judging = judged[(subtype, self.water_class[water])] = self._judging(
                        kind, subtype, self.water_class[water])
                for sample in self._samples(number, plan, measure, judging):
                    sample["id"] = sample_id + totals["samples"] + len(samples)
                    samples.append(sample)
            self.outfall_town.append(town)
            self.outfall_position.append((lat, lon))
            self.outfall_subtype.append(subtype)
            if len(rows) >= CHUNK:
                self._flush_outfalls(rows, plans, events, samples, totals)
        self._flush_outfalls(rows, plans, events, samples, totals)
        self.outfall_first_id = outfall_id
        self.echo("排污口 {outfalls}，整治方案 {plans}，历史记录 {outfall_events}，监测结果 {samples}".format(**totals))
        return totals

    def _flush_outfalls(self, rows, plans, events, samples, totals) -> None:
        for model, batch, name in ((Outfall, rows, "outfalls"), (RectificationPlan, plans, "plans"),
                                   (OutfallEvent, events, "outfall_events"), (MonitoringSample, samples, "samples")):
            self._insert(model, batch)
            totals[name] += len(batch)
            batch.clear()

    def _place(self, town: int, water: int) -> tuple[float, float]:
        """A point in the town's square, mostly near its river, rounded as the ledger stores positions."""
        row, col = divmod(town, COLUMNS)
        west, south = WEST + col * CELL, SOUTH + row * CELL
        lon = west + self.rng.uniform(0.002, CELL - 0.002)
        points = self.river_lat[water]
        river_lat = min(points, key=lambda p: abs(p[0] - lon))[1]
        lat = river_lat + self.rng.gauss(0, 0.06)
        lat = min(max(lat, south + 0.002), south + CELL - 0.002)
        return round(lon, 6), round(lat, 6)

    def _plan(self, progress: demo.Progress, measure: str) -> dict:
        """The plan's dates, consistent with its progress (the demo's windows around today)."""
        rng, on = self.rng, self.today
        found_on = demo._clamp(on - timedelta(days=rng.randint(*progress.found_days_ago)))
        plan = {"status": progress.status, "deadline": None, "transition_ends_on": None, "completed_on": None,
                "verified_on": None, "found_on": found_on}
        if progress.status in vocabulary.DONE_STATUSES:
            latest = on - timedelta(days=60)
            plan["completed_on"] = found_on + timedelta(days=rng.randint(90, max(90, (latest - found_on).days)))
            plan["deadline"] = plan["completed_on"] + timedelta(days=rng.randint(-30, 90))
            if progress.status == "closed":
                plan["verified_on"] = plan["completed_on"] + timedelta(days=rng.randint(7, 45))
        else:
            if progress.deadline_in_days:
                plan["deadline"] = on + timedelta(days=rng.randint(*progress.deadline_in_days))
            if progress.transition_in_days:
                plan["transition_ends_on"] = on + timedelta(days=rng.randint(*progress.transition_in_days))
        return plan

    @staticmethod
    def _judging(kind: str, subtype: str, water_class: str):
        """What judges this kind of outfall on this class of water, worked out once per combination
        by the one rule (``standards.for_outfall``) on a stand-in with only what the rule reads."""
        stand_in = SimpleNamespace(outfall_type=kind, outfall_subtype=subtype, standard=None, permits=[],
                                   water_body=SimpleNamespace(target_class=water_class))
        applicable = standards.for_outfall(stand_in)
        parameters = demo._parameters(applicable, subtype in demo.TREATMENT_SUBTYPES)
        temperature_matters = demo._temperature_matters(applicable)
        return parameters, applicable, temperature_matters

    def _samples(self, outfall_id: int, plan: dict, measure: str, judging) -> list[dict]:
        rng = self.rng
        parameters, applicable, temperature_matters = judging
        done = plan["status"] in vocabulary.DONE_STATUSES
        last = plan["completed_on"] if measure in ("ban", "merge") and done else \
            self.today - timedelta(days=rng.randint(3, 20))
        rows = []
        for k in range(SAMPLE_DAYS):
            day = last - timedelta(days=90 * k)
            at = self._at(day, 10)
            temperature = None
            if temperature_matters:
                temperature = round(rng.uniform(4.0, 11.0) if day.month in demo.COLD_MONTHS else
                                    rng.uniform(13.0, 22.0), 1)
                rows.append(self._sample(outfall_id, at, standards.WATER_TEMPERATURE, temperature, None))
            for parameter in parameters:
                limit = standards.limit_for(applicable, parameter, BY_CODE[parameter].unit, temperature)
                value = demo._value(rng, parameter, limit, rng.random() < (0.06 if done else 0.25))
                rows.append(self._sample(outfall_id, at, parameter, value, limit))
        return rows

    @staticmethod
    def _sample(outfall_id, at, parameter, value, limit) -> dict:
        return {"outfall_id": outfall_id, "section_id": None, "sampled_at": at, "parameter": parameter,
                "value": value, "unit": BY_CODE[parameter].unit, "detection_limit": None,
                "limit_id": limit.id if limit is not None else None, "sampler": None, "lab": "规模测试监测站（演示）",
                "source": SOURCE, "is_demo": True}

    # ── reports and their timelines
    def reports(self, count: int) -> dict[str, int]:
        rng = self.rng
        report_id, update_id = _next_id(Report), _next_id(ReportUpdate)
        statuses, status_weights = zip(*REPORT_STATUS_WEIGHTS.items())
        categories, category_weights = zip(*CATEGORY_WEIGHTS.items())
        reasons = [term.code for term in REJECTION_REASONS]
        offset = rng.randrange(TRACKING_SPACE)
        salt = os.urandom(16)  # nobody, the seed's author included, can rebuild a private link
        outfalls = len(self.outfall_town)
        rows, updates = [], []
        totals = {"reports": 0, "report_updates": 0, "published_reports": 0, "sealed_contacts": 0}
        self.codes = []
        drawn_statuses = rng.choices(statuses, status_weights, k=count)
        drawn_categories = rng.choices(categories, category_weights, k=count)
        for index in range(count):
            number = report_id + index
            status = drawn_statuses[index]
            if status == "merged" and index == 0:
                status = "closed"  # the first report has nothing earlier to be merged into
            # Open reports are recent; the rest spread over two years.
            age_minutes = rng.randrange(60 * 24 * (10 if status == "submitted" else 120 if status in
                                                    vocabulary.OPEN_REPORT_STATUSES else 730))
            created = self.now - timedelta(minutes=age_minutes + 30)
            which = rng.randrange(outfalls)
            town = self.outfall_town[which]
            lat, lon = self.outfall_position[which]
            on_outfall = rng.random() < 0.4
            subtype = self.outfall_subtype[which]
            department = DEPARTMENT_BY_SUBTYPE.get(subtype) or DEPARTMENT_BY_TYPE.get(
                vocabulary.OUTFALL_SUBTYPES.get(subtype).parent, "eeb")
            created_day = created.date()
            row = {
                "id": number, "tracking_code": _tracking_code(index, offset),
                "secret_digest": privacy.digest(hashlib.sha256(salt + number.to_bytes(8, "big")).hexdigest()),
                "category": drawn_categories[index],
                "description": f"{rng.choice(DESCRIPTIONS)}（演示举报 {index + 1}）",
                "observed_at": created - timedelta(hours=rng.randint(1, 48)),
                "latitude": lat if on_outfall else round(lat + rng.uniform(-0.004, 0.004), 6),
                "longitude": lon if on_outfall else round(lon + rng.uniform(-0.004, 0.004), 6),
                "location_source": "outfall" if on_outfall else "pin", "address_text": None,
                "outfall_id": self.outfall_first_id + which if on_outfall else None,
                "town_id": self.town_ids[town], "water_body_id": self.town_water[town],
                "department_code": department, "chief_id": self.chief_of_town[self.town_ids[town]],
                "routing_reasons": f"位于{self.town_names[town]}境内（演示）",
                "reporter_name_sealed": None, "reporter_phone_sealed": None, "reporter_email_sealed": None,
                "anonymous": True, "reporter_language": "en" if rng.random() < 0.03 else "zh",
                "publication_allowed": False, "published": False, "consent_at": created,
                "channel": "telephone" if rng.random() < 0.1 else "web", "status": status,
                "accept_due": created_day + timedelta(days=3), "finish_due": created_day + timedelta(days=65),
                "responded_at": None, "accepted_at": None, "assigned_at": None, "answered_at": None,
                "closed_at": None, "rejection_reason": None, "assignee_id": None, "extension_days": None,
                "extension_reason": None, "merged_into_id": None, "escalation_level": 0, "escalated_at": None,
                "public_description": None, "rating": None, "me_too_count": 0,
                "created_at": created, "updated_at": created,
            }
            if rng.random() < SEALED_SHARE:
                row["anonymous"] = False
                row["reporter_name_sealed"] = privacy.seal(self._person(index % 30000) + "（演示）")
                row["reporter_phone_sealed"] = privacy.seal(f"139{index % 100_000_000:08d}")
                if index % 3 == 0:
                    row["reporter_email_sealed"] = privacy.seal(f"reporter{index}@example.invalid")
                totals["sealed_contacts"] += 1
            entries = [(created, "status", "submitted", None, _said("received"), "system")]
            entries += self._lifecycle(row, status, created, number, report_id, reasons)
            if status in PUBLISHABLE and rng.random() < 0.6:
                row["publication_allowed"] = True
                row["published"] = rng.random() < 0.75
                totals["published_reports"] += row["published"]
            row["updated_at"] = entries[-1][0]
            for at, kind, moved_to, words, params, author in entries:
                updates.append({"id": update_id + totals["report_updates"] + len(updates), "report_id": number,
                                "occurred_at": at, "kind": kind, "status": moved_to, "text": words,
                                "params": params, "public": True, "author": author, "actor_id": None})
            rows.append(row)
            self.codes.append(row["tracking_code"])
            if len(rows) >= CHUNK:
                self._flush_reports(rows, updates, totals)
        self._flush_reports(rows, updates, totals)
        self.echo("举报 {reports}（公开 {published_reports}，留有联系方式 {sealed_contacts}），"
                  "办理记录 {report_updates}".format(**totals))
        return totals

    def _lifecycle(self, row: dict, status: str, created: datetime, number: int, first_id: int, reasons):
        """Set the report's lifecycle times for its status; return its timeline after the submission."""
        rng = self.rng
        handler = {"town": self._town_name_of(row["town_id"]), "department": row["department_code"]}
        if status == "submitted":
            return []
        step = created + timedelta(hours=rng.randint(2, 60))
        if status == "rejected":
            reason = rng.choice(reasons)
            row.update(rejection_reason=reason, responded_at=step)
            return [(step, "status", "rejected", None, _said("rejected", reason=reason), "staff")]
        if status == "merged":
            target = rng.randrange(first_id, number)
            row.update(merged_into_id=target, responded_at=step)
            code = _tracking_code(target - first_id, None, self.codes)
            return [(step, "merged", "merged", None, _said("merged", code=code), "staff")]
        row.update(accepted_at=step, responded_at=step, finish_due=step.date() + timedelta(days=60))
        entries = [(step, "status", "accepted", None,
                    _said("accepted", due=row["finish_due"].isoformat(), **handler), "staff")]
        if status == "accepted":
            return entries
        step += timedelta(hours=rng.randint(1, 48))
        row["assigned_at"] = step
        entries.append((step, "assigned", "assigned", None, _said("assigned", **handler), "staff"))
        if status == "assigned":
            return entries
        step += timedelta(hours=rng.randint(1, 72))
        entries.append((step, "status", "in_progress", None, _said("started"), "staff"))
        if status == "in_progress":
            return entries
        step = min(step + timedelta(days=rng.randint(3, 70)), self.now - timedelta(minutes=5))
        row["answered_at"] = step
        entries.append((step, "answer", "resolved", ANSWER_TEXT, None, "staff"))
        if status == "resolved":
            return entries
        step = min(step + timedelta(days=rng.randint(1, 10)), self.now - timedelta(minutes=1))
        if status == "reopened":
            entries.append((step, "reopened", "reopened", None, _said("reopened"), "reporter"))
            return entries
        if rng.random() < 0.5:
            row["rating"] = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 5])[0]
        if status == "confirmed":
            entries.append((step, "confirmed", "confirmed", None, _said("confirmed"), "reporter"))
            return entries
        row["closed_at"] = step
        entries.append((step, "status", "closed", None, _said("closed"), "staff"))
        return entries

    def _town_name_of(self, town_id: int) -> str:
        return self.town_names[town_id - self.town_ids[0]]

    def _flush_reports(self, rows, updates, totals) -> None:
        self._insert(Report, rows)
        self._insert(ReportUpdate, updates)
        totals["reports"] += len(rows)
        totals["report_updates"] += len(updates)
        rows.clear()
        updates.clear()

    # ── writing
    def _insert(self, model, rows: list[dict]) -> None:
        """Write the rows in one statement per chunk straight to the driver, in the session's
        transaction: PostgreSQL's COPY, SQLite's executemany. The ORM's per-value type processing
        would take most of the time at a million rows, so values are converted here once, as the
        column types would (aware times → naive UTC; on SQLite the text SQLAlchemy stores)."""
        if not rows:
            return
        table = model.__table__
        columns = list(rows[0])
        driver = self.connection.connection.driver_connection
        if self.connection.dialect.name == "postgresql":
            names = ", ".join(columns)
            with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_utc(row[name]) for name in columns])
            return
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cursor = driver.cursor()
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(statement, [[_sqlite_value(row[name]) for name in columns]
                                           for row in rows[start:start + CHUNK]])
        cursor.close()

    def _at(self, day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=self.zone)


def _tracking_code(index: int, offset: int | None, codes: list[str] | None = None) -> str:
    """The index-th report's tracking code: distinct for every index, in the codes' own alphabet, and
    not in sequence (a one-to-one scramble of the index). With ``codes``, the one already made."""
    if codes is not None:
        return codes[index]
    value = (index * TRACKING_STEP + offset) % TRACKING_SPACE
    alphabet, digits = privacy.TRACKING_ALPHABET, []
    for _ in range(privacy.TRACKING_LENGTH):
        value, digit = divmod(value, len(alphabet))
        digits.append(alphabet[digit])
    return "".join(reversed(digits))


@lru_cache(maxsize=65536)
def _said(say: str, **facts) -> str:
    """``timeline.params``, remembered: a million timelines repeat the same few sentences."""
    return timeline.params(say, **facts)


def _utc(value):
    """An aware time as the naive UTC that ``UTCDateTime`` stores; anything else as it is."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _sqlite_value(value):
    """A value as SQLAlchemy's SQLite types store it: times and dates as their fixed-width text."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _next_id(model) -> int:
    """The first id free in the model's table (ids are allotted here, so nothing is read back)."""
    return (db.session.scalar(select(func.max(model.__table__.c.id))) or 0) + 1


SEQUENCED = (Town, WaterBody, RiverChief, ResponsibleParty, Outfall, RectificationPlan, OutfallEvent,
             MonitoringSample, Report, ReportUpdate)


def _advance_sequences(_counts) -> None:
    """On PostgreSQL, move each table's id sequence past the ids allotted here, or the next ordinary
    insert would collide with them (SQLite takes max(id) + 1 by itself)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in SEQUENCED:
        table = model.__table__.name
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))


@click.command("seed-scale")
@click.option("--outfalls", "outfall_count", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="排污口数量")
@click.option("--reports", "report_count", type=click.IntRange(min=0), default=1_000_000, show_default=True,
              help="举报数量")
@click.option("--seed", "random_seed", type=int, default=10, show_default=True, help="随机种子（同一种子得到同样的数据）")
def seed_scale_command(outfall_count: int, report_count: int, random_seed: int):
    """向空数据库填入省级规模的测试数据（全部虚构，均标注为演示），用于性能测试。"""
    from portal.db import transaction

    click.echo(f"正在填入规模测试数据（虚构，编码以 {CODE_PREFIX} 开头，均标注为演示）……")
    started = perf_counter()
    try:
        with transaction():
            counts = seed(outfall_count, report_count, random_seed,
                          echo=lambda line: click.echo(f"  {line}（{perf_counter() - started:.0f} 秒）"))
    except ScaleRefused as refused:
        click.echo(str(refused), err=True)
        sys.exit(1)
    click.echo(f"已填入规模测试数据（虚构）：用时 {perf_counter() - started:.1f} 秒，"
               + "，".join(f"{name} {value}" for name, value in counts.items()))
