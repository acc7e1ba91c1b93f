"""Rivers, lakes and reservoirs from a GeoJSON file (``portal import-waters``), all of it or none of it.

Each feature is one water body: a LineString/MultiLineString for a river, a Polygon/MultiPolygon for
a lake or reservoir, with properties (English or Chinese keys):

- ``name`` / ``名称`` (required), ``code`` / ``编码`` (optional: matched first);
- ``kind`` / ``类型``: 河流/湖泊/水库 or river/lake/reservoir (read from the geometry when absent);
- ``target_class`` / ``目标水质``: GB 3838 class I–V (required);
- ``supervision_telephone`` / ``监督电话`` and ``goals`` / ``治理目标`` (optional; absent keeps what is recorded).

A feature updates the water body with its code, else the one with its name (so the ledger's 受纳水体
names connect), else a new one is created. When what the public board shows changes (name, kind,
class, telephone, goals), the water's ``board_changed_on`` becomes today (the district's date): the
rules give 15 days to bring the board up to date. Importing the same file again changes nothing.
A ``null`` geometry keeps the recorded one (a file that only sets goals).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import calendar
from portal.extensions import db
from portal.models import WaterBody
from portal.registry import geojson
from portal.registry import vocabulary as vocab
from portal.registry.ledger_format import CellError, read_telephone, read_water_class

NAME_MAX = WaterBody.__table__.c.name.type.length
CODE_MAX = WaterBody.__table__.c.code.type.length
SOURCE_MAX = WaterBody.__table__.c.source.type.length
GOALS_MAX = 2000
KEYS = {
    "name": ("name", "名称", "水体名称", "河湖名称"),
    "code": ("code", "编码", "水体编码", "河湖编码"),
    "kind": ("kind", "类型", "类别", "水体类型"),
    "target_class": ("target_class", "目标水质", "水质目标", "水质类别"),
    "supervision_telephone": ("supervision_telephone", "监督电话", "telephone"),
    "goals": ("goals", "治理目标", "管护目标"),
}
# What the public board shows of a water itself; a change to one of them dates the board.
BOARD_FIELDS = ("name", "kind", "target_class", "supervision_telephone", "goals")
FIELD_NAMES = {"name": _l("名称"), "kind": _l("类型"), "target_class": _l("目标水质"),
               "supervision_telephone": _l("监督电话"), "goals": _l("治理目标"), "code": _l("编码"),
               "geometry": _l("几何图形")}


class WatersRejected(geojson.GeoJSONRejected):
    """The waters file was refused as a whole; nothing was written."""

    noun = _l("水体")


@dataclass(frozen=True)
class _Water:
    """One validated feature: the values to write (a field absent from ``values`` is kept)."""

    index: int
    values: dict


@dataclass
class WatersSummary:
    """What an import did, or in a dry run would do."""

    filename: str
    total: int
    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, changed field names)
    unchanged: int = 0
    board_changed: list[str] = field(default_factory=list)
    changed_on: date | None = None

    def report(self, dry_run: bool = False) -> str:
        """The summary as the clerk reads it."""
        counts = {"added": len(self.added), "changed": len(self.updated), "same": self.unchanged}
        lines = [_("水体文件“%(file)s”：共 %(n)s 个水体。", file=self.filename, n=self.total),
                 _("将新增 %(added)s 个，将修改 %(changed)s 个，无变化 %(same)s 个。", **counts) if dry_run
                 else _("已新增 %(added)s 个，已修改 %(changed)s 个，无变化 %(same)s 个。", **counts)]
        if self.added:
            lines.append(_("新增：%(names)s", names="、".join(self.added)))
        for name, fields in self.updated:
            lines.append(_("修改 %(name)s：%(fields)s", name=name, fields="、".join(str(FIELD_NAMES[f]) for f in fields)))
        if self.board_changed:
            lines.append(_("公示牌内容有变化，变更日期记为 %(date)s（须在规定天数内更新公示牌）：%(waters)s",
                           date=self.changed_on.isoformat(), waters="、".join(self.board_changed)))
        if dry_run:
            lines.append(_("（试运行：未写入数据库）"))
        return "\n".join(lines)


def import_waters(path: Path, dry_run: bool = False) -> WatersSummary:
    """Add or update water bodies from a GeoJSON file; refuse the whole file if any feature is bad."""
    path = Path(path)
    waters = _read(path)
    # A name that is not UTF-8 (a file copied from an old Windows share) is shown with �, never fails.
    filename = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    planned = _match(filename, waters)
    summary = WatersSummary(filename, len(waters), changed_on=calendar.today())
    source = filename[:SOURCE_MAX]
    new_class = []  # waters whose target class changed: their sections are judged again
    for water, values in planned:
        if water is None:
            summary.added.append(values["name"])
            summary.board_changed.append(values["name"])
            if not dry_run:
                db.session.add(WaterBody(**values, source=source, is_demo=False,
                                         board_changed_on=summary.changed_on))
            continue
        changed = [f for f, v in values.items() if getattr(water, f) != v]
        if changed:
            summary.updated.append((water.name, changed))
        else:
            summary.unchanged += 1
        board = [f for f in changed if f in BOARD_FIELDS]
        if board:
            summary.board_changed.append(values.get("name", water.name))
        if not dry_run:
            for f, v in values.items():
                setattr(water, f, v)
            if changed:
                water.source = source
            water.is_demo = False  # real data makes a demo water real
            if board:
                water.board_changed_on = summary.changed_on
            if "target_class" in changed:
                new_class.append(water)
    if not dry_run:
        db.session.flush()  # the command's transaction() commits
        from portal.monitoring import sections  # the sections judged by the water's class

        for water in new_class:
            sections.rejudge_sections_of(water)
    return summary


def _read(path: Path) -> list[_Water]:
    """Every feature read and checked; every problem collected before refusing."""
    features = geojson.read_features(path, WatersRejected,
                                     _("FeatureCollection 的 features 应为非空列表，文件中没有任何水体。"))
    problems, waters = [], []
    first_of_name, first_of_code = {}, {}
    for index, feature in enumerate(features, start=1):
        values, name, feature_problems = _feature(feature)
        if name and name in first_of_name:
            feature_problems.append(_("名称与第 %(n)s 个要素重复，同一文件中每个水体只能出现一次", n=first_of_name[name]))
        elif name:
            first_of_name[name] = index
        code = values.get("code") if values else None
        if code and code in first_of_code:
            feature_problems.append(_("编码（properties.code）%(code)s 与第 %(n)s 个要素重复", code=code,
                                      n=first_of_code[code]))
        elif code:
            first_of_code[code] = index
        if feature_problems:
            problems.append(_("%(feature)s：%(problems)s。", feature=geojson.feature_label(index, name),
                              problems=_("；").join(str(p) for p in feature_problems)))
        else:
            waters.append(_Water(index, values))
    if problems:
        raise WatersRejected(path.name, problems)
    return waters


def _feature(feature) -> tuple[dict | None, str | None, list[str]]:
    """One feature's values, its name (for messages) and what is wrong with it, property by property."""
    properties, problems = geojson.feature_properties(feature)
    if problems:
        return None, None, problems
    values: dict = {}
    key, name = geojson.property_value(properties, KEYS["name"])
    if name is None:
        problems.append(_("缺少名称（properties.name 或 名称）"))
    elif not isinstance(name, str):
        problems.append(_("名称（properties.%(key)s）应为文字", key=key))
        name = None
    else:
        name = " ".join(name.split())
        if len(name) > NAME_MAX:
            problems.append(_("名称（properties.%(key)s）超过 %(n)s 个字符", key=key, n=NAME_MAX))
        values["name"] = name
    key, code = geojson.property_value(properties, KEYS["code"])
    code, code_problems = geojson.read_code(code, key, CODE_MAX)
    problems += code_problems
    if code:
        values["code"] = code

    geometry = feature.get("geometry")
    kind_key, kind_text = geojson.property_value(properties, KEYS["kind"])
    kind = None
    if kind_text is not None:
        term = vocab.WATER_BODY_KINDS.lookup(str(kind_text))
        if term is None:
            problems.append(_("类型（properties.%(key)s）“%(text)s”不是可用的值；可填：河流、湖泊、水库"
                              "（或 river、lake、reservoir）", key=kind_key, text=kind_text))
        else:
            kind = term.code
    if geometry is not None:
        accepted = geojson.LINES if kind == "river" else geojson.POLYGONS if kind else geojson.LINES + geojson.POLYGONS
        expected = (_("河流应为 LineString 或 MultiLineString") if kind == "river"
                    else _("湖泊、水库应为 Polygon 或 MultiPolygon") if kind
                    else _("水体应为线（河流）或面（湖泊、水库）"))
        shape_, geometry_problems = geojson.feature_geometry(feature, accepted, expected)
        problems += geometry_problems
        if shape_:
            values["geometry"] = geojson.stored(shape_)
            if kind is None:  # no kind given: a line is a river, an area a lake unless it is called 水库
                kind = "river" if shape_["type"] in geojson.LINES else "reservoir" if name and "水库" in name else "lake"
    elif kind is None and kind_text is None:
        problems.append(_("缺少类型（properties.kind 或 类型）：没有几何图形时须写明河流、湖泊或水库"))
    if kind:
        values["kind"] = kind

    key, target = geojson.property_value(properties, KEYS["target_class"])
    if target is None:
        problems.append(_("缺少目标水质（properties.target_class 或 目标水质，I–V 类）"))
    else:
        try:
            values["target_class"] = read_water_class(target)
        except CellError as error:
            problems.append(_("目标水质（properties.%(key)s）：%(error)s", key=key, error=error))
    key, telephone = geojson.property_value(properties, KEYS["supervision_telephone"])
    if telephone is not None:
        try:
            values["supervision_telephone"] = read_telephone(telephone)
        except CellError as error:
            problems.append(_("监督电话（properties.%(key)s）：%(error)s", key=key, error=error))
    key, goals = geojson.property_value(properties, KEYS["goals"])
    if goals is not None:
        if isinstance(goals, list):  # goals written as a list of sentences
            goals = "\n".join(str(item).strip() for item in goals if str(item).strip())
        if not isinstance(goals, str):
            problems.append(_("治理目标（properties.%(key)s）应为文字", key=key))
        elif len(goals.strip()) > GOALS_MAX:
            problems.append(_("治理目标（properties.%(key)s）超过 %(n)s 个字符", key=key, n=GOALS_MAX))
        else:
            values["goals"] = goals.strip()
    return values, name, problems


def _match(filename: str, waters: list[_Water]) -> list[tuple[WaterBody | None, dict]]:
    """Each feature's water body on record (by code, else by name) or None; conflicts refuse the file."""
    codes = [w.values["code"] for w in waters if w.values.get("code")]
    names = [w.values["name"] for w in waters]
    by_code = {w.code: w for w in db.session.scalars(select(WaterBody).where(WaterBody.code.in_(codes)))} if codes else {}
    by_name = {w.name: w for w in db.session.scalars(select(WaterBody).where(WaterBody.name.in_(names)))}
    planned, problems, claimed = [], [], {}
    for water in waters:
        values, label = water.values, geojson.feature_label(water.index, water.values["name"])
        code, name = values.get("code"), values["name"]
        record = by_code.get(code) if code else None
        named = by_name.get(name)
        if record is None and named is not None:
            if code and named.code and named.code != code:
                problems.append(_("%(feature)s：名称“%(name)s”已属于数据库中编码为 %(held)s 的水体，"
                                  "与本文件的编码（properties.code）%(code)s 不同；请核对编码。", feature=label,
                                  name=name, held=named.code, code=code))
                continue
            record = named
        elif record is not None and named is not None and named is not record:
            problems.append(_("%(feature)s：编码 %(code)s 属于数据库中的“%(holder)s”，但名称“%(name)s”已属于另一个水体；"
                              "两个水体不能同名。", feature=label, code=code, holder=record.name, name=name))
            continue
        if record is not None and record.id in claimed:
            problems.append(_("%(feature)s：与第 %(n)s 个要素指向数据库中同一个水体“%(name)s”。", feature=label,
                              n=claimed[record.id], name=record.name))
            continue
        if record is not None:
            claimed[record.id] = water.index
        planned.append((record, values))
    if problems:
        raise WatersRejected(filename, problems)
    return planned


@dataclass(frozen=True)
class BoardState:
    """Where a river board stands: when it last changed, and whether it is late being brought up to date."""

    updated_on: date | None  # "更新于": the latest change to what the board shows, or its update
    changed_on: date | None
    brought_up_to_date_on: date | None
    overdue: bool  # changed more than the allowed days ago, and not brought up to date since
    days_since_change: int | None
    allowed_days: int


def board_state(water: WaterBody, today: date, allowed_days: int) -> BoardState:
    """The board's dates and whether it is overdue (RIVER_BOARD_UPDATE_DAYS after a change).

    A board never marked updated after a change is as late as one updated before it.
    """
    changed, updated = water.board_changed_on, water.board_updated_on
    chief_dates = [calendar.local_date(c.updated_at) for c in water.chiefs if c.updated_at]
    latest = max([d for d in (changed, updated, *chief_dates) if d], default=None)
    days = (today - changed).days if changed else None
    return BoardState(latest, changed, updated, board_overdue(water, today, allowed_days), days, allowed_days)


def board_overdue(water: WaterBody, today: date, allowed_days: int) -> bool:
    """Whether the board changed more than ``allowed_days`` ago and was not brought up to date since."""
    changed, updated = water.board_changed_on, water.board_updated_on
    pending = changed is not None and (updated is None or updated < changed)
    return pending and (today - changed).days > allowed_days


def mark_board_updated(water: WaterBody, today: date) -> None:
    """Record that the public board (the signboard by the river) now shows what the portal shows; only flushes."""
    water.board_updated_on = today
    db.session.flush()
