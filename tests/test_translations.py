"""Every user-facing string has an English translation, and English pages use it."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal.i18n import TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("portal/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.xml", "jinja2")]
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
    import re

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
