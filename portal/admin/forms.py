"""The back office's own forms (accounts, sign-in, the audit filters). Scope choices come from the
database, filled in by the view with ``fill_scope_choices``; the domain checks the combination."""
from __future__ import annotations

import re

import wtforms
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.widgets import Select
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from portal import departments, i18n
from portal.access import ROLE_LABELS, ROLES
from portal.extensions import db
from portal.models import RiverChief, Town, WaterBody

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(_form, field):
    """Refuse text with invisible control characters (a NUL byte would fail in PostgreSQL)."""
    if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(_l("含有不可见的控制字符，请删除后重新填写。"))


class PlainSelect(Select):
    """WTForms' select, a plain option written straight out. WTForms builds each through its general
    ``html_params``, about 0.1 ms an option: most of a queue page's time, with its hundreds of towns
    in two lists. The markup is the same."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or not isinstance(choice.value, str):
            return super().render_option(choice, **kwargs)
        selected = " selected" if choice.selected else ""
        return Markup(f'<option value="{escape(choice.value)}"{selected}>{escape(choice.label or choice.value)}</option>')


class SelectField(wtforms.SelectField):
    """A select field drawn by ``PlainSelect``."""

    widget = PlainSelect()


def role_label(role: str) -> str:
    """A role's name in the visitor's language."""
    chinese, english = ROLE_LABELS.get(role, (role, role))
    return english if i18n.is_english() else chinese


def scope_label(account) -> str:
    """Where an account answers for, as the accounts list shows it (全区 for the whole district)."""
    parts = [account.town.name if account.town else None, account.water_body.name if account.water_body else None,
             departments.display(account.department),
             _l("河长 %(name)s", name=account.chief.name) if account.chief else None]
    return "、".join(str(part) for part in parts if part) or str(_l("全区"))


class LoginForm(FlaskForm):
    """The password step of signing in."""

    # Longer than any username, so that a mistyped one is a failed attempt (and logged) like any other.
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=256),
                                                    no_control_characters])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("登录"))


class CodeForm(FlaskForm):
    """The code step of signing in, and the confirmation of a TOTP enrolment."""

    code = StringField(_l("6 位验证码"), validators=[DataRequired(_l("请填写验证码。")), Length(max=16)],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})
    submit = SubmitField(_l("确认"))


class PasswordPair(FlaskForm):
    """A new password typed twice."""

    password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("再次输入新密码"),
                            validators=[EqualTo("password", _l("两次输入的密码不一致。"))],
                            render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(PasswordPair):
    """The account holder changes their own password."""

    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请填写当前密码。"))],
                                     render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("修改密码"))


class ResetPasswordForm(PasswordPair):
    """An administrator sets a temporary password."""

    submit = SubmitField(_l("设置临时密码"))


class ConfirmForm(FlaskForm):
    """A button that changes something: only its CSRF token, and an optional reason."""

    reason = TextAreaField(_l("原因（可选）"), validators=[Optional(), Length(max=500), no_control_characters])
    submit = SubmitField(_l("确认"))


class AccountForm(FlaskForm):
    """Create or edit an account: role and scope, and the staff member's work contact."""

    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64),
                                                    no_control_characters])
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=64), no_control_characters])
    role = SelectField(_l("角色"), choices=[])
    town = SelectField(_l("镇（镇级账户、河长）"), choices=[], default="")
    water_body = SelectField(_l("河流（河长）"), choices=[], default="")
    department_code = SelectField(_l("部门（部门账户）"), choices=[], default="")
    chief = SelectField(_l("对应的河长公示记录（河长，可选）"), choices=[], default="")
    email = StringField(_l("电子邮箱（用于接收待办通知）"), validators=[Optional(), Length(max=254),
                                                                no_control_characters])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=32), no_control_characters])
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("保存"))

    def fill_scope_choices(self) -> None:
        """Offer the roles, towns, rivers, handling departments and chief records there are."""
        none = [("", _l("（无）"))]
        self.role.choices = [(role, role_label(role)) for role in ROLES]
        self.town.choices = none + [(str(t.id), t.name) for t in db.session.scalars(select(Town).order_by(Town.name))]
        self.water_body.choices = none + [(str(w.id), w.name) for w in
                                          db.session.scalars(select(WaterBody).order_by(WaterBody.name))]
        self.department_code.choices = none + [(d.code, departments.display(d)) for d in departments.handling()]
        chiefs = db.session.scalars(select(RiverChief).order_by(RiverChief.level_rank, RiverChief.name))
        self.chief.choices = none + [(str(c.id), f"{c.name}（{c.water_body.name if c.water_body else c.town.name if c.town else ''}）")
                                     for c in chiefs]

    def scope(self) -> dict:
        """The chosen role, scope and contact as the domain functions take them."""
        return {
            "role": self.role.data,
            "display_name": self.display_name.data or "",
            "town": db.session.get(Town, int(self.town.data)) if self.town.data else None,
            "water_body": db.session.get(WaterBody, int(self.water_body.data)) if self.water_body.data else None,
            "department_code": self.department_code.data or None,
            "chief": db.session.get(RiverChief, int(self.chief.data)) if self.chief.data else None,
            "email": self.email.data, "phone": self.phone.data,
        }
