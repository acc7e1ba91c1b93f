"""Reply templates per report type: the starting points staff pick from in the answer form.

The templates are configuration (REPLY_TEMPLATES, keyed by the codes of
``vocabulary.REPORT_CATEGORIES``), so the bureau words its own answers; ``portal.config`` checks them
at start-up (``problems``) and ships Chinese defaults for every type.
"""
from __future__ import annotations

from flask import current_app

from portal.registry import vocabulary


def templates_for(category: str | None) -> list[dict]:
    """The templates of one report type, in their configured order, as fresh {"title", "text"} dicts.

    A type without templates (or an unknown code) has none: the form then starts empty.
    """
    table = current_app.config.get("REPLY_TEMPLATES") or {}
    return [{"title": entry["title"], "text": entry["text"]} for entry in table.get(category or "", ())]


def problems(table, max_length: int | None = None) -> list[str]:
    """What is wrong with a REPLY_TEMPLATES setting, in the operator's words (empty when nothing is)."""
    example = '{"dead_fish": [{"title": "已核查", "text": "经现场核查……"}]}'
    if not isinstance(table, dict):
        return [f"REPLY_TEMPLATES 应为按举报类型编码的字典，如 {example}（must be a mapping）：{table!r}。"]
    known = vocabulary.REPORT_CATEGORIES.codes()
    found = []
    for category, entries in table.items():
        if category not in known:
            found.append(f"REPLY_TEMPLATES 的键 {category!r} 不是举报类型编码（not a report category），"
                         f"应为 {'、'.join(known)} 之一。")
            continue
        if not isinstance(entries, (list, tuple)):
            found.append(f"REPLY_TEMPLATES[{category!r}] 应为模板的列表，如 {example}（must be a list）。")
            continue
        for position, entry in enumerate(entries, 1):
            where = f"REPLY_TEMPLATES[{category!r}] 第 {position} 项"
            if not isinstance(entry, dict):
                found.append(f"{where} 应为含 title 和 text 的字典（must be a mapping）：{entry!r}。")
                continue
            for key in ("title", "text"):
                value = entry.get(key)
                if not isinstance(value, str) or not value.strip():
                    found.append(f"{where} 的 {key} 应为非空文字（non-empty text）：{value!r}。")
            text = entry.get("text")
            if max_length and isinstance(text, str) and len(text) > max_length:
                found.append(f"{where} 的 text 超过 REPLY_MAX_LENGTH（{max_length} 字）。")
    return found
