"""Monitoring sections (断面) in public: /sections, /sections/<code>, and the sentences the river boards,
outfall pages, map and downloads use to say how a section fared.

A section's verdict is a count of samplings that met its GB 3838 class ("met class III in 8 of the
last 10 samplings"); a section never sampled says so and never reads as compliant.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal.data_version import REGISTRY
from portal.models import MonitoringSection, Outfall, WaterBody
from portal.monitoring import results, sections, standards
from portal.public import bp, outfall_record
from portal.page_cache import cached_page
from portal.public.map import basemap_layers
from portal.registry.vocabulary import SECTION_LEVELS, SECTION_POSITIONS


def _zone() -> ZoneInfo:
    """The district's time zone, in which samplings are dated."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def recent_compliance(section: MonitoringSection) -> sections.Compliance:
    """The section's compliance over its latest few samplings (what boards and pages sum up)."""
    return sections.compliance(section, _zone(), last=sections.RECENT_SAMPLINGS)


def compliance_text(summary: sections.Compliance) -> str:
    """How the section fared, in words: never 达标 without samples that a limit judged."""
    if not summary.has_samples:
        return _("尚无监测数据")
    if not summary.water_class:
        return _("未设定水质目标类别，无法评价")
    if not summary.judged:
        return _("尚无可评价的监测数据")
    return _("在最近 %(n)s 次采样中 %(met)s 次达到 %(cls)s 类", n=len(summary.judged), met=summary.met,
             cls=summary.water_class)


def compliance_state(summary: sections.Compliance) -> str:
    """A word for styling and for programs: no_data, unjudged, all_met, some_failed."""
    if not summary.has_samples:
        return "no_data"
    if not summary.judged:
        return "unjudged"
    return "all_met" if summary.met == len(summary.judged) else "some_failed"


def latest_text(summary: sections.Compliance) -> str | None:
    """The latest sampling and how it fared, or None when never sampled."""
    latest = summary.latest
    if latest is None:
        return None
    when = latest.at.strftime("%Y-%m-%d %H:%M")
    if not latest.is_judged or not summary.water_class:
        return _("最近一次采样：%(when)s，没有可对照限值的项目。", when=when)
    if latest.met:
        return _("最近一次采样：%(when)s，达到 %(cls)s 类。", when=when, cls=summary.water_class)
    return _("最近一次采样：%(when)s，未达到 %(cls)s 类，超标项目：%(parameters)s。", when=when,
             cls=summary.water_class, parameters=_("、").join(latest.failed_parameters))


def kilometres(distance: float) -> str:
    """A distance as the pages write it: 1.2."""
    return f"{distance:.1f}"


def where_text(nearby: sections.NearbySection) -> str:
    """Where the section lies from the outfall: 下游 1.2 km 的断面."""
    position = nearby.position if nearby.linked else None
    if position == "downstream":
        if nearby.distance_km is not None:
            return _("下游 %(km)s km 的断面", km=kilometres(nearby.distance_km))
        return _("下游的断面")
    if position == "upstream":
        if nearby.distance_km is not None:
            return _("上游 %(km)s km 的断面", km=kilometres(nearby.distance_km))
        return _("上游的断面")
    if nearby.distance_km is not None:
        return _("相距 %(km)s km 的同一水体断面", km=kilometres(nearby.distance_km))
    return _("关联的断面")


def section_link(section: MonitoringSection) -> Markup:
    """The section's code and name, linked to its page."""
    return Markup('<a href="{url}">{code}{open}{name}{close}</a>').format(
        url=url_for("public.section_detail", code=section.code), code=section.code, open=_("（"),
        name=section.name, close=_("）"))


def outfall_sentence(nearby: sections.NearbySection) -> Markup:
    """下游 1.2 km 的断面 DM-HMH-02（呼玛河呼中镇下游断面）在最近 10 次采样中 8 次达到 III 类."""
    summary = recent_compliance(nearby.section)
    return Markup(_("%(where)s %(section)s%(verdict)s", where=escape(where_text(nearby)),
                    section=section_link(nearby.section), verdict=escape(compliance_text(summary))))


@dataclass(frozen=True)
class SectionRow:
    """A section as a list shows it, with its recent compliance."""

    section: MonitoringSection
    summary: sections.Compliance

    @property
    def text(self) -> str:
        """How it fared, in words."""
        return compliance_text(self.summary)

    @property
    def state(self) -> str:
        """no_data, unjudged, all_met or some_failed."""
        return compliance_state(self.summary)


@bp.app_template_global("water_section_rows")
def water_section_rows(water: WaterBody) -> list[SectionRow]:
    """The river board's list: the water's sections with their recent compliance."""
    return [SectionRow(s, recent_compliance(s)) for s in sections.sections_of_water(water)]


@bp.app_template_global("outfall_section_sentences")
def outfall_section_sentences(outfall: Outfall) -> list[Markup]:
    """The outfall page's sentences, one per section linked to it or near it on its water."""
    return [outfall_sentence(nearby) for nearby in sections.sections_near_outfall(outfall)]


def map_data(section: MonitoringSection) -> dict | None:
    """What static/js/outfall_map.js draws for a section: its point and its water, no town."""
    if section.latitude is None or section.longitude is None:
        return None
    water = section.water_body
    return {
        "point": [section.latitude, section.longitude], "name": f"{section.code} {section.name}", "town": None,
        "water": {"name": water.name, "geometry": json.loads(water.geometry)} if water and water.geometry else None,
        "layers": basemap_layers(current_app.config),
    }


def class_basis(section: MonitoringSection) -> str:
    """Which class judges the section and why: its own target, or its water's."""
    if section.target_class:
        return _("断面自身的水质目标")
    if section.judged_class:
        return _("所在水体的水质目标")
    return _("未设定")


@bp.get("/sections")
@cached_page(REGISTRY)
def section_list():
    """Every monitoring section, with its water, level, class and recent compliance."""
    rows = [SectionRow(s, recent_compliance(s)) for s in sections.all_sections()]
    return render_template("public/sections.html", rows=rows)


@bp.get("/sections/<code>")
@cached_page(REGISTRY)
def section_detail(code: str):
    """One section: its water, level, class, position, map point and its samples judged by GB 3838."""
    section = sections.section_by_code(code)
    if section is None:
        abort(404)
    zone = _zone()
    matrix = results.sample_matrix(section.samples, zone)
    summary = recent_compliance(section)
    return render_template(
        "public/section.html", section=section, summary=summary, summary_text=compliance_text(summary),
        summary_state=compliance_state(summary), latest=latest_text(summary),
        all_summary=sections.compliance(section, zone), applicable=standards.for_section(section),
        class_basis=class_basis(section), matrix=matrix, charts=outfall_record.parameter_charts(matrix),
        verdict_label=outfall_record.verdict_label, describe_limit=outfall_record.describe_limit,
        map_data=map_data(section), levels=SECTION_LEVELS, positions=SECTION_POSITIONS,
    )
