"""Counting reports no further than a reader needs: "1,000+" instead of an exact count of a million.

An exact COUNT(*) reads every matching row; at a million reports that is most of a page's time,
and nobody paging a queue or the public list needs to know 1,000,000 from 999,998. A
``BoundedCount`` counts at most its bound plus one row (the ``+1`` tells "more than the bound");
``BoundedPagination`` is a Flask-SQLAlchemy pagination whose total is counted that way, always
at least one page beyond the reader's own, so "next" keeps working past the bound.
"""
from __future__ import annotations

import math

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import func, literal, select
from sqlalchemy.orm import lazyload

from portal.extensions import db


class BoundedCount(int):
    """A count that stopped at ``bound``: reads "1,000+" when more rows matched, the number otherwise."""

    def __new__(cls, value: int, bound: int):
        count = super().__new__(cls, min(value, bound + 1))
        count.bound = bound
        return count

    @property
    def is_bounded(self) -> bool:
        """Whether more rows than the bound matched (the exact number is unknown)."""
        return int(self) > self.bound

    def __str__(self) -> str:
        return f"{self.bound:,}+" if self.is_bounded else str(int(self))

    def __html__(self) -> str:
        return str(self)


def count_at_most(query, bound: int) -> int:
    """How many rows ``query`` (a SELECT) matches, counting no further than ``bound + 1``."""
    return db.session.execute(select(func.count()).select_from(limited(query, bound + 1))).scalar()


def limited(query, limit: int):
    """The query as a subquery of at most ``limit`` rows, each a constant (only its WHERE matters)."""
    return (query.options(lazyload("*")).with_only_columns(literal(1), maintain_column_froms=True)
            .order_by(None).limit(limit).subquery())


class BoundedPagination(SelectPagination):
    """A page of a SELECT whose total is counted up to ``max(bound, the end of this page)`` + 1.

    ``total`` is then a ``BoundedCount`` ("1,000+"), ``pages`` counts one page past the last one
    counted (so "next" leads on), and ``pages_label`` reads "21+" when the end is not known.
    """

    def __init__(self, query, *, page: int, per_page: int, bound: int):
        self.bound = bound
        super().__init__(select=query, session=db.session, page=page, per_page=per_page, max_per_page=None,
                         error_out=False, count=True)

    def _query_count(self) -> int:
        bound = max(self.bound, self._query_offset + self.per_page)
        return BoundedCount(count_at_most(self._query_args["select"], bound), bound)

    @property
    def is_bounded(self) -> bool:
        """Whether there are more matching rows than were counted."""
        return bool(getattr(self.total, "is_bounded", False))

    @property
    def pages_label(self) -> str:
        """The number of pages as a reader sees it: "21+" when the end is not known."""
        if self.is_bounded:
            return f"{math.ceil(self.total.bound / self.per_page):,}+"
        return str(self.pages)

