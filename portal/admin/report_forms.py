"""Forms of the back office's report pages: the queue's filters, each workflow step, moderation,
and a report typed in by staff (telephone, walk-in). Choices come from the database, filled in by
``fill_choices``; the domain (portal.reports.operations) decides whether a step may be taken."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal import contact, departments, i18n, workflow
from portal.admin.forms import SelectField, no_control_characters
from portal.extensions import db
from portal.models import Account, Town, WaterBody
from portal.registry import vocabulary as vocab
from portal.reports import intake

REASON = [DataRequired(_l("请填写理由。")), Length(max=5000), no_control_characters]


def _c(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _label(pair) -> str:
    return pair[1] if i18n.is_english() else pair[0]


# Ids and names only: a town's or river's whole row carries its geometry, hundreds of them per page.
def town_choices(blank=_l("（不限）")):
    return _c([("", str(blank))] + [(str(t.id), t.name) for t in db.session.execute(
        db.select(Town.id, Town.name).order_by(Town.id))])


def water_choices(blank=_l("（不限）")):
    return _c([("", str(blank))] + [(str(w.id), w.name) for w in db.session.execute(
        db.select(WaterBody.id, WaterBody.name).order_by(WaterBody.name))])


def department_choices(blank=_l("（不限）")):
    return _c([("", str(blank))] + [(d.code, departments.display(d)) for d in departments.handling()])


def person_choices(blank=_l("（不指定人员）")):
    people = db.session.scalars(db.select(Account).where(Account.active.is_(True), Account.role != "auditor")
                                .order_by(Account.username))
    return _c([("", str(blank))] + [(str(a.id), f"{a.display_name or a.username}（{a.username}）") for a in people])


def category_choices(blank=_l("（不限）")):
    return _c(([("", str(blank))] if blank is not None else []) + [(t.code, vocab.REPORT_CATEGORIES.display(t.code))
                                                                  for t in vocab.REPORT_CATEGORIES])


def status_choices():
    return _c([("", str(_l("（不限）")))] + [(t.code, vocab.REPORT_STATUSES.display(t.code)) for t in vocab.REPORT_STATUSES])


def channel_choices(staff_only=False):
    codes = intake.STAFF_CHANNELS if staff_only else tuple(intake.CHANNELS)
    return _c(([] if staff_only else [("", str(_l("（不限）")))]) + [(c, _label(intake.CHANNELS[c])) for c in codes])


class QueueFilterForm(FlaskForm):
    """The queue's filters, read from the query string (GET: no CSRF token)."""

    class Meta:
        csrf = False

    town = SelectField(_l("镇"), validate_choice=True, default="")
    river = SelectField(_l("河流"), validate_choice=True, default="")
    department = SelectField(_l("部门"), validate_choice=True, default="")
    category = SelectField(_l("类型"), validate_choice=True, default="")
    status = SelectField(_l("状态"), validate_choice=True, default="")
    channel = SelectField(_l("来源"), validate_choice=True, default="")
    q = StringField(_l("搜索"), validators=[Optional(), Length(max=100), no_control_characters])

    def fill_choices(self):
        """Choices from the database."""
        self.town.choices, self.river.choices = town_choices(), water_choices()
        self.department.choices, self.category.choices = department_choices(), category_choices()
        self.status.choices, self.channel.choices = status_choices(), channel_choices()
        return self


class BulkAssignForm(FlaskForm):
    """Assign several reports of a queue at once."""

    codes = SelectMultipleField(_l("举报"), choices=[], validate_choice=False)
    town = SelectField(_l("交办给镇"), validate_choice=True, default="")
    department = SelectField(_l("交办给部门"), validate_choice=True, default="")
    person = SelectField(_l("交办给人员"), validate_choice=True, default="")

    def fill_choices(self):
        """Choices from the database."""
        self.town.choices = town_choices(_l("（不改）"))
        self.department.choices = department_choices(_l("（不改）"))
        self.person.choices = person_choices()
        return self


class EmptyForm(FlaskForm):
    """A step that needs nothing but the CSRF token (accept, start, close, publish …)."""


class RejectForm(FlaskForm):
    reason = SelectField(_l("不予受理的理由"), validators=[DataRequired(_l("请选择不予受理的理由。"))])
    explanation = TextAreaField(_l("说明（告知举报人）"), validators=[Optional(), Length(max=5000), no_control_characters])

    def fill_choices(self):
        self.reason.choices = _c([("", str(_l("请选择")))] + [(t.code, workflow.REJECTION_REASONS.display(t.code))
                                                             for t in workflow.REJECTION_REASONS])
        return self


class AssignForm(FlaskForm):
    town = SelectField(_l("镇"), validate_choice=True, default="")
    department = SelectField(_l("部门"), validate_choice=True, default="")
    person = SelectField(_l("人员"), validate_choice=True, default="")
    note = TextAreaField(_l("交办说明（内部）"), validators=[Optional(), Length(max=5000), no_control_characters])

    def fill_choices(self):
        self.town.choices = town_choices(_l("（不改）"))
        self.department.choices = department_choices(_l("（不改）"))
        self.person.choices = person_choices()
        return self


class AnswerForm(FlaskForm):
    reply = TextAreaField(_l("答复（公开，告知举报人）"), validators=[DataRequired(_l("请填写答复内容。")),
                                                              Length(max=20000), no_control_characters])
    photos = MultipleFileField(_l("整改后的照片"))


class ExtendForm(FlaskForm):
    days = IntegerField(_l("延长天数"), validators=[DataRequired(_l("请填写延长天数。")), NumberRange(min=1, max=365)])
    reason = TextAreaField(_l("延长理由（告知举报人）"), validators=REASON)


class TransferForm(FlaskForm):
    town = SelectField(_l("转交给镇"), validate_choice=True, default="")
    department = SelectField(_l("转交给部门"), validate_choice=True, default="")
    reason = TextAreaField(_l("转交理由（内部）"), validators=REASON)

    def fill_choices(self):
        self.town.choices = town_choices(_l("（不改）"))
        self.department.choices = department_choices(_l("（不改）"))
        return self


class MergeForm(FlaskForm):
    into = StringField(_l("合并到举报（查询码）"), validators=[DataRequired(_l("请填写要合并到的举报的查询码。")),
                                                        Length(max=32), no_control_characters])
    reason = TextAreaField(_l("说明（内部）"), validators=[Optional(), Length(max=5000), no_control_characters])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("内部备注（不公开）"), validators=[DataRequired(_l("请填写备注内容。")), Length(max=5000),
                                                          no_control_characters])


class ContactForm(FlaskForm):
    reason = StringField(_l("查看理由（记入审计日志）"), validators=REASON)


class DescriptionForm(FlaskForm):
    text = TextAreaField(_l("公开的描述（删去个人信息）"), validators=[DataRequired(_l("公开的描述不能为空；如不宜公开，请不公开这份举报。")),
                                                             Length(max=5000), no_control_characters])


class PhotoModerationForm(FlaskForm):
    mode = SelectField(_l("处理方式"), choices=_c([("show", _l("原样公开")), ("blur", _l("模糊处理")), ("hide", _l("不公开"))]))
    regions = HiddenField()
    whole = BooleanField(_l("模糊整张照片"), default=True)
    x = DecimalField(_l("区域左边（%）"), places=None, validators=[Optional(), NumberRange(min=0, max=100)])
    y = DecimalField(_l("区域上边（%）"), places=None, validators=[Optional(), NumberRange(min=0, max=100)])
    w = DecimalField(_l("区域宽度（%）"), places=None, validators=[Optional(), NumberRange(min=0, max=100)])
    h = DecimalField(_l("区域高度（%）"), places=None, validators=[Optional(), NumberRange(min=0, max=100)])

    def region(self):
        """The one region staff gave, as fractions, or None for the whole photo."""
        if self.whole.data or None in (self.x.data, self.y.data, self.w.data, self.h.data):
            return None
        return [(float(self.x.data) / 100, float(self.y.data) / 100, float(self.w.data) / 100, float(self.h.data) / 100)]


class StaffReportForm(FlaskForm):
    """A report that arrived by telephone or in person, typed in by staff."""

    channel = SelectField(_l("来源"))
    category = SelectField(_l("问题类型"))
    description = TextAreaField(_l("举报内容"), validators=[DataRequired(_l("请填写举报内容。")), Length(max=4000),
                                                         no_control_characters])
    address = StringField(_l("地点描述"), validators=[Optional(), Length(max=300), no_control_characters])
    latitude = DecimalField(_l("纬度"), places=None, validators=[Optional(), NumberRange(min=-90, max=90)])
    longitude = DecimalField(_l("经度"), places=None, validators=[Optional(), NumberRange(min=-180, max=180)])
    outfall = StringField(_l("排污口编码"), validators=[Optional(), Length(max=64), no_control_characters])
    reporter_name = StringField(_l("举报人姓名"), validators=[Optional(), Length(max=64), no_control_characters])
    reporter_phone = StringField(_l("举报人电话"), validators=[Optional(), Length(max=32), no_control_characters])
    reporter_email = StringField(_l("举报人邮箱"), validators=[Optional(), Length(max=200)])
    anonymous = BooleanField(_l("举报人要求匿名"))
    publication_allowed = BooleanField(_l("举报人同意在隐去个人信息后公开"))

    def validate(self, extra_validators=None):
        """The fields, then the one rule across two of them: a position is both coordinates or none."""
        valid = super().validate(extra_validators)
        if valid and (self.latitude.data is None) != (self.longitude.data is None):
            missing = self.longitude if self.longitude.data is None else self.latitude
            missing.errors = [_l("请同时填写纬度和经度，或都不填。")]
            return False
        return valid

    def validate_reporter_phone(self, field):
        """Chinese mobile or landline numbers, as on the public form."""
        if field.data and not self.anonymous.data and not contact.is_telephone(field.data):
            raise ValidationError(_l("请填写有效的手机号码（11 位，如 13904571234）或固定电话（如 0457-3312345）。"))

    def validate_reporter_email(self, field):
        """A plausible e-mail address."""
        if field.data and not self.anonymous.data and not contact.is_email(field.data):
            raise ValidationError(_l("请填写有效的电子邮箱地址。"))

    def fill_choices(self):
        self.channel.choices = channel_choices(staff_only=True)
        self.category.choices = category_choices(blank=None)
        return self
