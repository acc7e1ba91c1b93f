"""The programme's controlled vocabularies (DOMAIN.md §1–2, §5) as data.

Each term has a stable English code that the database, API and URLs use, its Chinese label as the
bureau writes it, an English label, and the other spellings clerks use in ledgers. Extending a list
(the level-2 outfall types are partly unconfirmed) means adding a term here, not changing code.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Term:
    """One value of a vocabulary."""

    code: str
    label: str
    label_en: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None


def normalise_label(text: str) -> str:
    """Fold what differs between clerks' spellings of the same label: width, case, spaces."""
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return re.sub(r"[\s_\-·/]+", "", text)


@dataclass
class Vocabulary:
    """An ordered list of terms, looked up by code or by any spelling of their label."""

    name: str
    terms: list[Term]
    _index: dict[str, Term] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for term in self.terms:
            for spelling in (term.code, term.label, term.label_en, *term.aliases):
                self._index.setdefault(normalise_label(spelling), term)

    def __iter__(self):
        return iter(self.terms)

    def __contains__(self, code):
        return any(t.code == code for t in self.terms)

    def get(self, code: str | None) -> Term | None:
        """The term with this code, or None."""
        return next((t for t in self.terms if t.code == code), None)

    def label(self, code: str | None) -> str:
        """The Chinese label of a code; empty for None."""
        term = self.get(code)
        return term.label if term else (code or "")

    def display(self, code: str | None) -> str:
        """The label of a code in the visitor's language (Chinese, or English when chosen)."""
        from portal.i18n import is_english

        term = self.get(code)
        if term is None:
            return code or ""
        return term.label_en if is_english() else term.label

    def lookup(self, text: str) -> Term | None:
        """The term a ledger cell means, whichever accepted spelling it uses."""
        return self._index.get(normalise_label(text))

    def codes(self) -> list[str]:
        """All codes, in order."""
        return [t.code for t in self.terms]

    def labels(self) -> list[str]:
        """All Chinese labels, in order: what an error message lists as accepted."""
        return [t.label for t in self.terms]


OUTFALL_TYPES = Vocabulary("outfall type", [
    Term("industrial", "工业排污口", "Industrial outfall", ("工业", "工业排口")),
    Term("municipal_wwtp", "城镇污水处理厂排污口", "Municipal wastewater treatment plant outfall",
         ("城镇污水处理厂", "污水处理厂排污口", "污水处理厂")),
    Term("agricultural", "农业排口", "Agricultural outlet", ("农业", "农业排污口")),
    Term("other", "其他排口", "Other outlet", ("其他", "其它排口", "其他排污口")),
])

OUTFALL_SUBTYPES = Vocabulary("outfall category", [
    Term("industrial_enterprise", "工矿企业排污口", "Factory or mine outfall",
         ("工业企业排污口", "工矿企业"), parent="industrial"),
    Term("industrial_stormwater", "工矿企业雨洪排口", "Factory or mine stormwater outlet",
         ("工业企业雨洪排口",), parent="industrial"),
    Term("park_wwtp", "工业及其他各类园区污水处理厂排污口", "Industrial park treatment plant outfall",
         ("园区污水处理厂排污口", "工业园区污水处理厂排污口"), parent="industrial"),
    Term("park_stormwater", "园区雨洪排口", "Industrial park stormwater outlet", parent="industrial"),
    Term("municipal_wwtp", "城镇污水处理厂排污口", "Municipal wastewater treatment plant outfall",
         ("城镇污水处理厂",), parent="municipal_wwtp"),
    Term("livestock_large", "规模化畜禽养殖排污口", "Large-scale livestock farm outfall", parent="agricultural"),
    Term("aquaculture_large", "规模化水产养殖排污口", "Large-scale aquaculture outfall", parent="agricultural"),
    Term("irrigation", "大中型灌区排口", "Irrigation district outlet", parent="other"),
    Term("port", "港口码头排口", "Port or dock outlet", ("港口码头排污口",), parent="other"),
    Term("livestock_small", "规模以下畜禽养殖排污口", "Small livestock farm outfall", parent="other"),
    Term("aquaculture_small", "规模以下水产养殖排污口", "Small aquaculture outfall", parent="other"),
    Term("urban_domestic_scattered", "城镇生活污水散排口", "Scattered urban domestic sewage outlet",
         parent="other"),
    Term("rural_treatment", "农村污水处理设施排污口", "Rural sewage treatment facility outfall", parent="other"),
    Term("rural_domestic_scattered", "农村生活污水散排口", "Scattered rural domestic sewage outlet",
         parent="other"),
    Term("urban_stormwater", "城镇雨洪排口", "Urban stormwater outlet", ("城镇雨水排口",), parent="other"),
    Term("other", "其他", "Other", ("其它", "其他排口"), parent="other"),
])

MEASURES = Vocabulary("rectification measure", [
    Term("ban", "依法取缔", "Ban", ("取缔", "封堵", "关闭", "拆除", "封堵取缔")),
    Term("merge", "清理合并", "Clean up and merge", ("合并", "清理", "合并整治", "截污纳管", "归并")),
    Term("standardise", "规范整治", "Standardise", ("整治", "规范", "规范化整治", "整改", "规范整改")),
    Term("keep", "保留", "Keep (no rectification)", ("无需整治", "保留规范", "保留并规范", "不需整治", "无")),
])

PLAN_STATUSES = Vocabulary("rectification status", [
    Term("not_started", "未开始", "Not started", ("未整治", "未启动", "未整改", "尚未开始", "待整治")),
    Term("in_progress", "整治中", "In progress", ("进行中", "正在整治", "整改中", "正在整改", "推进中", "已启动")),
    Term("completed", "已完成", "Completed", ("完成", "已整治", "整治完成", "已整改", "整改完成", "已完成整治")),
    Term("closed", "已销号", "Closed out", ("销号", "已验收销号", "验收销号", "已验收")),
])
DONE_STATUSES = frozenset({"completed", "closed"})

STAGES = Vocabulary("stage", [
    Term("survey", "排查", "Survey", ("断面布设", "断面布设/排查", "1")),
    Term("monitoring", "监测", "Monitoring", ("2",)),
    Term("tracing", "溯源", "Source tracing", ("3",)),
    Term("rectification", "整治", "Rectification", ("4",)),
    Term("standardisation", "规范化建设", "Standardisation", ("规范化", "5")),
])

DISCHARGE_MODES = Vocabulary("discharge mode", [
    Term("continuous", "连续", "Continuous", ("连续排放",)),
    Term("intermittent", "间歇", "Intermittent", ("间歇排放", "间断", "间断排放", "不定期", "雨天排放", "雨季排放")),
    Term("seasonal", "季节性", "Seasonal", ("季节性排放",)),
])

APPROVAL_STATUSES = Vocabulary("approval status", [
    Term("approved", "已审批", "Approved", ("已批复", "已设置审批", "已批准")),
    Term("registered", "已登记", "Registered", ("已备案",)),
    Term("unapproved", "未审批", "Not approved", ("未登记", "未备案", "无", "未批复", "未办理")),
])

PARTY_KINDS = Vocabulary("responsible party kind", [
    Term("organisation", "单位", "Organisation", ("法人", "企业", "机关", "组织")),
    Term("government", "属地人民政府", "Local government", ("政府", "镇政府", "镇人民政府", "人民政府")),
    Term("person", "个人", "Natural person", ("自然人", "个体")),
])

# Why a party answers for an outfall: the seed's chain (DOMAIN.md §1), then the default.
PARTY_BASES = Vocabulary("responsible party basis", [
    Term("applicant", "设置申请单位", "The unit that applied to set it up", ("申请单位", "设置单位", "申请设置单位")),
    Term("user", "实际使用单位", "The unit actually using it", ("使用单位", "实际使用", "实际排污单位")),
    Term("town", "属地人民政府", "The town government", ("属地政府", "镇政府", "镇人民政府")),
    Term("named", "属地政府指定单位", "A party the town government named", ("指定单位", "政府指定")),
    Term("default", "属地人民政府（暂未查明）", "The town government, until a party is known",
         ("未查明", "暂未查明", "不明")),
])

# The steps a rectification plan's record is made of (portal.registry.rectification).
STEP_KINDS = Vocabulary("rectification step", [
    Term("progress", "整治进展", "Progress", ("进展",)),
    Term("completed", "整治完成", "Work completed", ("完成",)),
    Term("verified", "核查验收", "Verified", ("验收", "核查")),
    Term("closed_out", "销号", "Closed out", ("已销号",)),
    Term("reopened", "重新整治", "Reopened", ("退回",)),
])

# Monitoring sections (断面): the level that set them, or their relation to one outfall.
SECTION_LEVELS = Vocabulary("monitoring section level", [
    Term("national", "国控断面", "National section", ("国控", "国家级")),
    Term("provincial", "省控断面", "Provincial section", ("省控", "省级")),
    Term("city", "市控断面", "City section", ("市控", "市级")),
    Term("district", "区控断面", "District section", ("区控", "县控", "区级", "县级")),
    Term("cross_county", "跨县（区）界断面", "Cross-county section", ("跨界断面", "跨县界", "跨区界", "交界断面")),
    Term("outfall", "排污口上下游断面", "Section above or below an outfall", ("上下游断面", "对照断面", "控制断面")),
])
SECTION_POSITIONS = Vocabulary("position of a section", [
    Term("upstream", "上游", "Upstream", ("上游断面", "对照")),
    Term("downstream", "下游", "Downstream", ("下游断面", "控制", "削减")),
])

# What a set of limits is, and which sources a discharge standard is written for.
STANDARD_KINDS = Vocabulary("standard kind", [
    Term("effluent", "排放标准", "Discharge standard"),
    Term("surface_water", "地表水环境质量标准", "Surface-water quality standard"),
    Term("permit", "排污许可证", "Discharge permit"),
])
STANDARD_SCOPES = Vocabulary("standard scope", [
    Term("municipal_wwtp", "城镇污水处理厂", "Municipal treatment plants"),
    Term("industrial", "工业（无行业标准）", "Industry without a sector standard"),
    Term("sector", "行业标准", "A sector standard"),
    Term("livestock", "规模化畜禽养殖", "Large livestock farms"),
    Term("rural_facility", "农村生活污水处理设施", "Rural sewage facilities"),
    Term("provincial", "地方标准", "A provincial standard"),
    Term("surface_water", "地表水", "Surface water"),
])

DOCUMENT_KINDS = Vocabulary("document kind", [
    Term("approval", "设置审批文件", "Approval", ("审批", "批复", "审批文件")),
    Term("permit", "排污许可证", "Discharge permit", ("许可证", "排污许可")),
    Term("monitoring_report", "监测报告", "Monitoring report", ("检测报告", "监测报告")),
    Term("rectification", "整治方案与验收材料", "Rectification plan or acceptance", ("整治方案", "验收材料", "验收")),
    Term("other", "其他文件", "Other document", ("其他", "其它")),
])

WATER_BODY_KINDS = Vocabulary("water body kind", [
    Term("river", "河流", "River", ("河", "江", "溪")),
    Term("lake", "湖泊", "Lake", ("湖",)),
    Term("reservoir", "水库", "Reservoir", ("库",)),
])

WATER_QUALITY_CLASSES = ("I", "II", "III", "IV", "V")

CHIEF_LEVELS = Vocabulary("river chief level", [
    Term("province", "省级", "Province"),
    Term("city", "市级", "City", ("地级",)),
    Term("district", "区级", "District", ("县级", "县区级")),
    Term("town", "镇级", "Town", ("乡镇级",)),
    Term("village", "村级", "Village"),
])

CHECKLIST_ITEMS = Vocabulary("standardisation item", [
    Term("signboard", "标识牌", "Signboard"),
    Term("sampling_point", "采样点", "Sampling point"),
    Term("inspection_well", "检查井", "Inspection well"),
    Term("video", "视频监控", "Video surveillance"),
    Term("online_monitoring", "在线监测", "Online monitoring"),
    Term("archive", "一口一档", "Archive"),
])

PHOTO_KINDS = Vocabulary("photo kind", [
    Term("before", "整治前", "Before", ("整改前",)),
    Term("after", "整治后", "After", ("整改后",)),
    Term("signboard", "标识牌", "Signboard", ("标志牌", "公示牌")),
    Term("sampling_point", "采样点", "Sampling point", ("采样口",)),
    Term("other", "其他", "Other", ("其它", "现场")),
])

# What a citizen reports (DOMAIN.md §4): the types river-chief patrol apps use.
REPORT_CATEGORIES = Vocabulary("report category", [
    Term("direct_discharge", "直排/偷排", "Direct or concealed discharge", ("直排", "偷排", "偷排漏排")),
    Term("dry_weather", "晴天排水", "Discharge in dry weather", ("晴天排污",)),
    Term("colour_smell", "颜色或气味异常", "Abnormal colour or smell",
         ("颜色/气味异常", "颜色异常", "气味异常")),
    Term("new_outfall", "新增排污口", "New unregistered outfall", ("新增排口", "未登记排污口")),
    Term("signboard", "标识牌缺失或损坏", "Missing or damaged signboard",
         ("标识牌缺失/损坏", "标识牌缺失", "标识牌损坏")),
    Term("dead_fish", "死鱼", "Dead fish"),
    Term("other", "其他", "Other", ("其它",)),
])

# Where a citizen report stands; the public tracking page shows these.
REPORT_STATUSES = Vocabulary("report status", [
    Term("submitted", "待受理", "Received, awaiting acceptance"),
    Term("accepted", "已受理", "Accepted"),
    Term("rejected", "不予受理", "Not accepted"),
    Term("assigned", "已交办", "Assigned"),
    Term("in_progress", "办理中", "Being handled"),
    Term("resolved", "已办结", "Answered"),
    Term("confirmed", "已确认解决", "Confirmed fixed by the reporter"),
    Term("reopened", "已重新打开", "Reopened by the reporter"),
    Term("closed", "已结案", "Closed"),
    Term("merged", "已合并", "Merged into another report"),
])
# Reports still waiting for the handlers (portal.workflow moves them between statuses).
OPEN_REPORT_STATUSES = frozenset({"submitted", "accepted", "assigned", "in_progress", "reopened"})
