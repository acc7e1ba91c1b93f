"""The department code table as the rest of the portal reads it: names in the visitor's language."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.i18n import is_english
from portal.models import Department


def display(department: Department | None) -> str | None:
    """The department's name in the visitor's language; None for no department."""
    if department is None:
        return None
    return department.name_en if is_english() else department.name


def handling() -> list[Department]:
    """The departments that handle reports, in the table's order (for choosing one)."""
    return list(db.session.scalars(select(Department).where(Department.handles_reports.is_(True))
                                   .order_by(Department.sort_order, Department.code)))


def every() -> list[Department]:
    """All departments, funding ones too, in the table's order."""
    return list(db.session.scalars(select(Department).order_by(Department.sort_order, Department.code)))


def by_code(code: str | None) -> Department | None:
    """The department with this code, or None."""
    return db.session.get(Department, code) if code else None
