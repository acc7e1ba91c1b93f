"""Helpers the test modules share: committing test data, counting SQL statements, reading pages."""
from __future__ import annotations

import re
from contextlib import contextmanager
from html import unescape
from html.parser import HTMLParser

from sqlalchemy import event

from portal.extensions import db


def commit_and_forget():
    """Commit the test's data and empty the session, so a page loads everything as a real request would."""
    db.session.commit()
    db.session.remove()


@contextmanager
def counted_statements():
    """Collects every SQL statement the engine sends while the block runs."""
    statements = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def text_of(response):
    """The page's text with tags dropped and white space folded, for phrase checks."""
    html = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(unescape(html).split())


class _PageParser(HTMLParser):
    """Collects table rows (as lists of cell texts) and link targets from a page."""

    def __init__(self):
        super().__init__()
        self.rows, self.links = [], []
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(response):
    """The page's table rows and links."""
    parser = _PageParser()
    parser.feed(response.get_data(as_text=True))
    return parser


def row_for(response, first_cell):
    """The table row whose first cell reads ``first_cell``, or None."""
    return next((row for row in parse(response).rows if row and row[0] == first_cell), None)


def row_with(response, text):
    """The table row in which some cell reads ``text``."""
    rows = [row for row in parse(response).rows if text in row]
    assert len(rows) == 1, f"expected one row with {text!r}, found {rows}"
    return rows[0]


def static_url(filename: str) -> str:
    """The address pages link a static file by: its path with the content hash (``?v=…``)."""
    from flask import url_for

    return url_for("static", filename=filename, _external=False)
