"""The plain words of a report's timeline, in the reader's language.

Entries the portal writes itself (received, accepted, assigned, transferred, extended, escalated …)
keep *what was said* as a sentence key and its facts (``ReportUpdate.params``, JSON), not as
finished Chinese text, so that the public page, the reporter's page and the reporter's e-mail say
them in Chinese or English. What a person wrote (an answer, an explanation, a reason told to the
reporter) stays in ``ReportUpdate.text`` as they wrote it and follows the sentence.
"""
from __future__ import annotations

import json

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import departments
from portal.i18n import is_english
from portal.models import ReportUpdate
from portal import workflow

SENTENCES = {
    "received": _l("已收到举报，等待受理。"),
    "accepted": _l("已受理，由%(handler)s办理，答复期限 %(due)s。"),
    "rejected": _l("不予受理：%(reason)s。"),
    "assigned": _l("已交办%(handler)s办理。"),
    "started": _l("开始办理。"),
    "closed": _l("已结案。"),
    "extended": _l("答复期限延长 %(days)s 天，至 %(due)s。理由："),
    "transferred": _l("转交%(handler)s办理。"),
    "merged": _l("与举报 %(code)s 反映的是同一问题，已合并办理，请关注该举报的进展。"),
    "escalated_accept": _l("受理已超过期限（%(due)s），已提请区级河长和区生态环境局督办。"),
    "escalated_answer": _l("答复已超过期限（%(due)s），已提请区级河长和区生态环境局督办。"),
    "confirmed": _l("举报人确认问题已解决。"),
    "reopened": _l("举报人认为问题没有解决，重新打开了举报。"),
}


def handler_facts(report) -> dict:
    """Who handles the report now, as an entry keeps it: the town's name and the department's code."""
    return {"town": report.town.name if report.town is not None else None, "department": report.department_code}


def params(say: str, **facts) -> str:
    """The JSON an entry keeps for sentence ``say`` and its facts."""
    if say not in SENTENCES:
        raise KeyError(say)
    return json.dumps({"say": say, **facts}, ensure_ascii=False, sort_keys=True)


def text_of(update: ReportUpdate) -> str | None:
    """The entry's words in the current language: its sentence (if the portal wrote one), then what a
    person wrote."""
    if not update.params:
        return update.text
    facts = json.loads(update.params)
    sentence = SENTENCES.get(facts.get("say"))
    if sentence is None:
        return update.text
    values = dict(facts)
    if "town" in facts or "department" in facts:
        values["handler"] = _handler(facts.get("town"), facts.get("department"))
    if facts.get("say") == "rejected":
        term = workflow.REJECTION_REASONS.get(facts.get("reason"))
        values["reason"] = workflow.REJECTION_REASONS.display(term.code) if term else facts.get("reason", "")
    said = str(sentence) % values
    return f"{said}{update.text}" if update.text else said


def _handler(town: str | None, code: str | None) -> str:
    """"呼中镇生态环境局" / "Huzhong Town, Ecology and Environment Bureau" from the entry's facts."""
    place = town or (current_app.config["DISTRICT_NAME_EN"] if is_english() else current_app.config["DISTRICT_NAME"])
    department = departments.display(departments.by_code(code)) if code else None
    if not department:
        return place
    return _("%(town)s%(department)s", town=place, department=department)
