"""Every user-facing string has an English translation, and English pages use it."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal.i18n import TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("portal/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.xml", "jinja2"),
           ("templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def source_messages() -> set[str]:
    """The message ids the code and templates pass through the catalogue."""
    found = set()
    for _, _, message, *_ in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def english_catalogue():
    """The English catalogue as Babel reads it."""
    with (TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="en")


def test_every_message_is_translated_to_english():
    catalogue = english_catalogue()
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id and m.string
                  and (m.string if isinstance(m.string, str) else all(m.string))}
    missing = sorted(source_messages() - translated)
    assert not missing, f"{len(missing)} messages lack an English translation, e.g. {missing[:10]}"


def test_placeholders_survive_translation():
    for message in english_catalogue():
        if not message.id or not message.string or not isinstance(message.id, str):
            continue
        assert set(re.findall(r"%\((\w+)\)s", message.id)) == set(re.findall(r"%\((\w+)\)s", message.string)), \
            message.id


def test_english_page_is_english(client):
    response = client.get("/outfalls?lang=en")
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "排污口名录" not in html.split("<main", 1)[1].split("</main>", 1)[0]


# --- every public page in English ---------------------------------------------------------------------------

CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\u201c\u201d"
CJK_RUN = re.compile(f"[{CJK}]+")
# A Chinese run with a little text either side, so that a failure shows where it is.
CONTEXT = re.compile(f"[^<>\"\n]{{0,20}}[{CJK}]+[^<>\"\n]{{0,20}}")
# Chinese the English pages keep on purpose, marked as Chinese: the switch back to Chinese (named in
# its own language) and the downloads' Chinese column headers.
MARKED_CHINESE = re.compile(r'<(\w+)\b[^>]*\blang="zh-Hans"[^>]*>[^<]*</\1>')


def english_registry():
    """A registry whose every name is ASCII, so any Chinese on an English page is the site's own text."""
    from datetime import date

    from factories import (
        make_chief,
        make_event,
        make_outfall,
        make_party,
        make_report,
        make_sample,
        make_town,
        make_water_body,
    )
    from helpers import commit_and_forget

    from portal.extensions import db

    town = make_town("Test Town")
    river = make_water_body("Test River")
    party = make_party("Test Works Ltd")
    outfall = make_outfall("HZ-E01", name="Test Outfall", town=town, water_body=river, party=party,
                           longitude=123.5, latitude=52.0, supervising_leader="Test Leader",
                           plan={"measure": "ban", "status": "in_progress", "deadline": date(2020, 1, 1)})
    make_event(outfall, field="status", old="not_started", new="in_progress")
    make_sample(outfall)
    make_chief("Test Chief", water_body=river, town=town, title="Town Head", duties="Patrol the river", telephone="0457-1")
    report, _secret = make_report(town=town, description="A grey pipe discharges into the river.",
                                  department_code="eeb", publication_allowed=True, published=True)
    db.session.flush()
    ids = {"outfall": "HZ-E01", "river": river.id, "town": town.id, "report": report.tracking_code}
    commit_and_forget()
    return ids


def english_pages(ids) -> list[str]:
    """Every public page a visitor can reach, with the registry's own addresses."""
    return ["/", "/outfalls", f"/outfalls/{ids['outfall']}", "/rivers", f"/rivers/{ids['river']}", "/progress",
            "/data", "/reports", f"/reports/{ids['report']}", "/reports/new", "/no-such-page",
            f"/reports?town={ids['town']}&department=eeb&period=12m&measure=received",
            "/reports?town=district&measure=overdue&period=2026", "/reports?town=x&department=x&period=x&measure=x",
            f"/outfalls/{ids['outfall']}/sign", f"/towns/{ids['town']}/signs"]


def test_every_public_page_in_english_has_no_chinese_left(client):
    ids = english_registry()
    client.get("/language/en")
    # Chinese that an English translation itself quotes is deliberate: the terms readers meet in
    # the Chinese column headers of the downloads, named on /data.
    quoted = {run for message in english_catalogue() if isinstance(message.string, str)
              for run in CJK_RUN.findall(message.string)}
    leftovers = {}
    for path in english_pages(ids):
        response = client.get(path)
        assert response.status_code in (200, 400, 404), (path, response.status_code)
        html = MARKED_CHINESE.sub("", response.get_data(as_text=True))
        found = sorted({match.group(0) for match in CONTEXT.finditer(html) if CJK_RUN.search(match.group(0))
                        and set(CJK_RUN.findall(match.group(0))) - quoted})
        if found:
            leftovers[path] = found[:8]
    assert not leftovers, "\n".join(f"{path}: {found}" for path, found in leftovers.items())
