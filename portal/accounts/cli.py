"""What ``portal create-user`` does once its arguments are read: names looked up, one transaction."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts import operations
from portal.accounts.errors import AccountError
from portal.audit import CLI_ACTOR
from portal.db import transaction
from portal.extensions import db
from portal.models import Account, Department, Town, WaterBody


def create_user(*, username: str, role: str, password: str, town_name: str | None = None,
                river_name: str | None = None, department_code: str | None = None, display_name: str = "",
                email: str | None = None) -> Account:
    """Create the account from names as typed on the command line (audit actor "cli")."""
    town = water_body = None
    if town_name:
        town = db.session.scalar(select(Town).where(Town.name == town_name.strip()))
        if town is None:
            raise AccountError(_l("没有名为“%(name)s”的镇。", name=town_name), field="town")
    if river_name:
        water_body = db.session.scalar(select(WaterBody).where(WaterBody.name == river_name.strip()))
        if water_body is None:
            raise AccountError(_l("没有名为“%(name)s”的河流。", name=river_name), field="water_body")
    if department_code:
        department = db.session.get(Department, department_code.strip())
        if department is None or not department.handles_reports:
            raise AccountError(_l("没有编码为“%(code)s”的承办部门。", code=department_code), field="department_code")
    with transaction():
        return operations.create_account(CLI_ACTOR, username=username, role=role, password=password,
                                         display_name=display_name, town=town, water_body=water_body,
                                         department_code=department_code.strip() if department_code else None,
                                         email=email)
