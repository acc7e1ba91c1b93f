"""Staff's public replies: a little rich text, sanitised with bleach, and the same reply as plain text.

``clean`` is the only way a reply's HTML reaches a page. It keeps a small allowlist (paragraphs,
line breaks, bold and italic, lists, quotations and links) and strips every other tag. The contents
of elements that are never text for a reader (script, style, iframe, SVG, MathML, templates …) go
with them, so a pasted ``<script>`` does not turn up as visible code. Links keep only http, https and
mailto addresses, plain addresses in the text become links, and every link gets
``rel="nofollow noopener"`` (the portal vouches for none of them).

Bleach is the authority: the pre-pass that removes those elements' contents only ever removes, and
whatever it hands on is sanitised by bleach as any other input would be.
"""
from __future__ import annotations

import re
from functools import partial
from html.parser import HTMLParser
from urllib.parse import urlsplit

from bleach import html5lib_shim
from bleach.linkifier import TLDS, LinkifyFilter
from bleach.sanitizer import Cleaner
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from portal.refusal import Refused

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "blockquote"})
ALLOWED_ATTRIBUTES = {"a": ["href"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"
DEFAULT_MAX_LENGTH = 5000
# A reply's markup may outweigh its text, but not without bound: past this many characters of input
# per character of allowed text it is refused before it is parsed.
MARKUP_ALLOWANCE = 20

# Elements whose content is code, styling, embedded documents or form state, never prose: removed
# whole. Foreign content (SVG, MathML) goes too, so that no namespace trick survives the re-parse.
DROPPED_ELEMENTS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "template", "noscript", "noembed", "noframes", "textarea", "title", "xmp", "plaintext", "select",
    "head", "canvas", "audio", "video", "picture", "map", "button", "input", "form",
})


# Addresses in the text become links. Bleach's own pattern takes letters of any script as part of an
# address, so "详见https://a.cn/x。谢谢" would link "a.cn/x。谢谢" and miss the scheme; Chinese text
# runs into addresses without spaces, so here an address is ASCII only and may follow any character
# that is not part of one, and its path does not end in punctuation.
_URL_CHAR = r"[^\s{}|\\^`<>\"\u0080-\U0010ffff]"
_URL_END = r"[^\s{}|\\^`<>\"\u0080-\U0010ffff.,;:!?'()\[\]]"
URL_PATTERN = re.compile(
    r"\(*(?<![A-Za-z0-9_@.\-])(?:(?:https?|mailto):/{0,3}(?:(?:[A-Za-z0-9_]+:)?[A-Za-z0-9_]+@)?)?"
    r"(?:[A-Za-z0-9_-]+\.)+(?:" + "|".join(sorted(TLDS, key=len, reverse=True)) + r")(?::[0-9]+)?"
    r"(?![A-Za-z0-9_.\-])"
    rf"(?:[/?#](?:{_URL_CHAR}*{_URL_END})?)?",
    re.IGNORECASE,
)


class ReplyRefused(Refused):
    """A reply was refused; ``message`` says why in the reader's language (a lazy translation)."""


class ReplyTooLong(ReplyRefused):
    """The reply's text is longer than REPLY_MAX_LENGTH characters."""


def max_length() -> int:
    """The longest reply allowed, in characters of text (REPLY_MAX_LENGTH, or the default outside an app)."""
    if has_app_context():
        return current_app.config["REPLY_MAX_LENGTH"]
    return DEFAULT_MAX_LENGTH


def clean(html: str, *, limit: int | None = None) -> str:
    """The reply as safe HTML of the allowlist, links marked nofollow; ReplyTooLong past the limit.

    ``limit`` (characters of text, markup not counted) defaults to REPLY_MAX_LENGTH.
    """
    limit = max_length() if limit is None else limit
    html = html or ""
    if len(html) > limit * MARKUP_ALLOWANCE + 10_000:
        raise _too_long(len(html), limit)
    safe = _sanitise(html)
    length = len(visible_text(safe))
    if length > limit:
        raise _too_long(length, limit)
    return safe


def to_text(html: str) -> str:
    """The reply as plain text for e-mail and SMS: paragraphs apart, list items marked, links as "text (url)"."""
    renderer = _TextRenderer()
    renderer.feed(_sanitise(html or ""))
    renderer.close()
    return renderer.text()


def visible_text(html: str) -> str:
    """The characters a reader sees in clean HTML (whitespace runs counted as one space)."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return re.sub(r"\s+", " ", "".join(collector.parts)).strip()


def _too_long(length: int, limit: int) -> ReplyTooLong:
    """The refusal of a reply over the limit, with both numbers."""
    return ReplyTooLong(_l("答复过长（%(length)s 字），最多 %(limit)s 字，请删减后再提交。",
                           length=length, limit=limit))


def _sanitise(html: str) -> str:
    """The HTML through the pre-pass (dropped elements removed with their content) and then bleach."""
    return _cleaner().clean(_without_dropped_elements(html))


def _link_attributes(attrs: dict, new: bool = False) -> dict | None:
    """Keep a link only to an http(s) or mailto address, and mark it nofollow noopener (bleach callback).

    Returning None unlinks it: its text stays. Relative and protocol-relative addresses are unlinked
    too, since a reply is also read in e-mail, where they would point nowhere or anywhere.
    """
    href = (attrs.get((None, "href")) or "").strip()
    try:
        scheme = urlsplit(href).scheme.lower()
    except ValueError:
        return None
    if scheme not in ALLOWED_PROTOCOLS or (scheme != "mailto" and not urlsplit(href).netloc):
        return None
    return {(None, "href"): href, (None, "rel"): LINK_REL, "_text": attrs.get("_text", "")}


def _cleaner() -> Cleaner:
    """A bleach Cleaner of the allowlist that also links plain addresses (e-mail ones too)."""
    return Cleaner(
        tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True,
        strip_comments=True,
        filters=[partial(LinkifyFilter, callbacks=[_link_attributes], parse_email=True, skip_tags=None,
                         url_re=URL_PATTERN)],
    )


def _without_dropped_elements(html: str) -> str:
    """The HTML parsed as a browser would, with DROPPED_ELEMENTS and their content removed, serialised.

    Bleach's own tokenizer turns a tag it strips into nothing before a tree is built, leaving the
    element's text behind; a separate parse is the only way to know what that text belonged to.
    """
    parser = html5lib_shim.HTMLParser(namespaceHTMLElements=False)
    fragment = parser.parseFragment(html)
    _drop(fragment)
    walker = html5lib_shim.getTreeWalker("etree")
    serializer = html5lib_shim.HTMLSerializer(quote_attr_values="always", omit_optional_tags=False,
                                              resolve_entities=False)
    return serializer.render(walker(fragment))


def _drop(element) -> None:
    """Remove the dropped elements below ``element``, keeping the text that follows each (its tail)."""
    previous = None
    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag.rsplit("}", 1)[-1].lower() in DROPPED_ELEMENTS or "}" in tag:
            tail = child.tail or ""
            element.remove(child)
            if previous is None:
                element.text = (element.text or "") + tail
            else:
                previous.tail = (previous.tail or "") + tail
            continue
        _drop(child)
        previous = child


class _TextCollector(HTMLParser):
    """The text of (clean) HTML, entities resolved."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


class _TextRenderer(HTMLParser):
    """Clean reply HTML as plain text: blocks separated by blank lines, lists as "- " or "1. " lines,
    quotations prefixed with "> ", links followed by their address in brackets."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = [[]]  # each block: its lines' text pieces, "\n" for a line break
        self.prefixes: list[str] = [""]  # the prefix of each block's first line
        # Whether each block follows the previous one on the next line (a list's second item onwards).
        self.tight: list[bool] = [False]
        self.list_starts = False
        self.lists: list[list] = []  # for each open list: [kind, items so far]
        self.quote = 0
        self.links: list[tuple[str, int]] = []  # open links: address, where their text starts

    def _break(self, prefix: str = "", tight: bool = False) -> None:
        """Start a new block (a paragraph, a list item), unless the current one is still empty."""
        if any(piece.strip() for piece in self.blocks[-1]):
            self.blocks.append([])
            self.prefixes.append("")
            self.tight.append(False)
        self.prefixes[-1] = "> " * self.quote + prefix
        self.tight[-1] = tight

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "blockquote", "ul", "ol"):
            if tag == "blockquote":
                self.quote += 1
            self._break()
            if tag in ("ul", "ol"):
                self.list_starts = self.list_starts or not self.lists
                self.lists.append([tag, 0])
        elif tag == "li":
            tight, self.list_starts = not self.list_starts, False
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self._break(f"{indent}{self.lists[-1][1]}. ", tight)
            else:
                self._break(f"{indent}- ", tight)
        elif tag == "br":
            self.blocks[-1].append("\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.blocks[-1])))

    def handle_endtag(self, tag):
        if tag in ("p", "li", "blockquote", "ul", "ol"):
            if tag == "blockquote":
                self.quote = max(self.quote - 1, 0)
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self._break()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.blocks[-1][start:]).strip()
            shown = href.removeprefix("mailto:")
            if href and text not in (href, shown, href.removeprefix("https://").removeprefix("http://")):
                self.blocks[-1].append(f" ({shown})")

    def handle_data(self, data):
        self.blocks[-1].append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        """The rendered text: blocks apart by a blank line (list items by a line break), no trailing spaces."""
        rendered = []
        for prefix, pieces, tight in zip(self.prefixes, self.blocks, self.tight):
            lines = [line.strip() for line in "".join(pieces).split("\n")]
            if not any(lines):
                continue
            continuation = "> " * prefix.count("> ") + " " * len(prefix.replace("> ", ""))
            if rendered:
                rendered.append("\n" if tight else "\n\n")
            rendered.append("\n".join((prefix if i == 0 else continuation) + line
                                      for i, line in enumerate(lines)).rstrip())
        return "".join(rendered)
