"""The district's departments (职能部门), a code table: reports and routing rules keep a code."""
from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class Department(db.Model):
    """A department that acts within its duties (DOMAIN.md §1): its code, names and duties."""

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # 生态环境局
    name_en: Mapped[str] = mapped_column(String(100))
    duties: Mapped[str] = mapped_column(Text, default="")
    duties_en: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    # Funding departments (发改委, 财政局) take part in the programme but handle no reports.
    handles_reports: Mapped[bool] = mapped_column(default=True)

    def __repr__(self):
        return f"<Department {self.code}>"
