"""Monitoring sections (断面) as open data: GeoJSON for the map and a CSV for /data.

Each section carries its level, the GB 3838 class that judges it and its recent compliance (how
many of the latest samplings met the class). A section never sampled has ``samplings`` 0 and the
text 尚无监测数据: nothing here ever reads as compliant without samples.
"""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import gettext as _

from portal import calendar
from portal.api import bp
from portal.freshness import conditional
from portal.data_version import REGISTRY
from portal.monitoring import sections
from portal.public import sections as presenters
from portal.registry.ledger_format import csv_protected
from portal.registry.vocabulary import SECTION_LEVELS, SECTION_POSITIONS
from portal.urls import external_url_maker

GEOJSON = "application/geo+json"
MAX_AGE = 300  # sections change on import; compliance on a sample import

# The CSV's columns: header and how each is read from a section and its recent compliance.
CSV_COLUMNS = [
    ("断面编码", lambda s, c: s.code),
    ("断面名称", lambda s, c: s.name),
    ("断面级别", lambda s, c: SECTION_LEVELS.label(s.level)),
    ("所在水体", lambda s, c: s.water_body.name if s.water_body else None),
    ("经度", lambda s, c: s.longitude),
    ("纬度", lambda s, c: s.latitude),
    ("目标水质类别", lambda s, c: s.judged_class),
    ("关联排污口编码", lambda s, c: s.outfall.code if s.outfall else None),
    ("上下游", lambda s, c: SECTION_POSITIONS.label(s.position) if s.position else None),
    ("最近采样次数", lambda s, c: len(c.samplings)),
    ("可评价采样次数", lambda s, c: len(c.judged)),
    ("达到目标类别次数", lambda s, c: len(c.judged) and c.met),
    ("最近一次采样时间", lambda s, c: c.latest.at.strftime("%Y-%m-%d %H:%M") if c.latest else None),
    ("是否演示数据", lambda s, c: "是" if s.is_demo else "否"),
    ("页面网址", None),
]


@bp.get("/sections.geojson")
@conditional(REGISTRY)
def sections_geojson():
    """Located sections with code, name, level, class and latest compliance."""
    page_url = external_url_maker("public.section_detail", "code")
    features = []
    for section in sections.all_sections():
        if section.latitude is None or section.longitude is None:
            continue
        summary = presenters.recent_compliance(section)
        features.append({
            "type": "Feature", "id": section.code,
            "geometry": {"type": "Point", "coordinates": [section.longitude, section.latitude]},
            "properties": {
                "code": section.code, "name": section.name, "level": section.level,
                "level_label": SECTION_LEVELS.display(section.level),
                "water_body": section.water_body.name if section.water_body else None,
                "target_class": section.judged_class,
                "outfall": section.outfall.code if section.outfall else None, "position": section.position,
                "samplings": len(summary.samplings), "judged": len(summary.judged),
                "met": summary.met if summary.judged else None,
                "compliance": presenters.compliance_state(summary),
                "compliance_text": presenters.compliance_text(summary),
                "latest": summary.latest.at.isoformat() if summary.latest else None,
                "is_demo": bool(section.is_demo), "url": page_url(section.code),
            },
        })
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    response = Response(body, mimetype=GEOJSON)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.vary.add("Cookie")  # the language cookie changes the labels
    return response


@bp.get("/sections.csv")
@conditional(REGISTRY)
def sections_csv():
    """Every section as CSV (UTF-8 with BOM, Chinese headers), with its recent compliance."""
    page_url = external_url_maker("public.section_detail", "code")
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([header for header, _read in CSV_COLUMNS])
    for section in sections.all_sections():
        summary = presenters.recent_compliance(section)
        row = [read(section, summary) if read else page_url(section.code) for _header, read in CSV_COLUMNS]
        writer.writerow(["" if value is None else csv_protected(value) if isinstance(value, str) else value
                         for value in row])
    day = calendar.today().isoformat()
    name = _("%(district)s监测断面-%(day)s.csv", district=current_app.config["DISTRICT_NAME"], day=day)
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"sections-{day}.csv\"; filename*=UTF-8''{quote(name, safe='')}")
    response.headers["Cache-Control"] = "no-cache"
    return response
