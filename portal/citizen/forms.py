"""The report form. Its field names are a contract with partner apps: lat, lon, outfall, category,
description, observed_at, photos, reporter_name, reporter_phone, reporter_email, anonymous, public,
consent, csrf_token (plus address, the honeypot ``website`` and the ``preview`` button)."""
from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal import contact
from portal.registry import vocabulary as vocab

OBSERVED_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
OBSERVED_EARLIEST_YEAR = 2000  # nothing a resident saw is older; year 1 would overflow the time-zone arithmetic
# C0 controls other than tab, line feed and carriage return, and DEL: never typed by a person, and a NUL
# is refused by PostgreSQL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(_form, field):
    """Refuse text carrying control characters (a NUL byte above all), naming the field."""
    if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(_l("含有不可见的控制字符，请删除后重新填写。"))


class CitizenForm(FlaskForm):
    """A form of the citizen pages: every text field is also checked for control characters."""

    def validate(self, extra_validators=None):
        """Validate as WTForms does, with ``no_control_characters`` added to every text field."""
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField):  # TextAreaField is one too
                extra.setdefault(name, []).append(no_control_characters)
        return super().validate(extra_validators=extra)


def _coordinate(low: float, high: float, name):
    def check(form, field):
        if not field.data:
            return
        try:
            value = float(field.data)
        except ValueError:
            raise ValidationError(_l("%(name)s 应为数字（十进制度）。", name=name)) from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValidationError(_l("%(name)s 超出范围。", name=name))
    return check


class ReportForm(CitizenForm):
    """What a resident tells us about a discharge; see the module docstring for the field contract."""

    lat = StringField(_l("纬度"), validators=[Optional(), Length(max=32), _coordinate(-90, 90, _l("纬度"))])
    lon = StringField(_l("经度"), validators=[Optional(), Length(max=32), _coordinate(-180, 180, _l("经度"))])
    outfall = StringField(_l("排污口编码"), validators=[Optional(), Length(max=64)])
    address = StringField(_l("地点描述"), validators=[Optional(), Length(max=300)])
    category = SelectField(_l("问题类型"), validators=[DataRequired(_l("请选择问题类型。"))])
    description = TextAreaField(_l("情况描述"), validators=[
        DataRequired(_l("请描述您看到的情况。")), Length(max=4000, message=_l("描述最多 4000 字。"))])
    observed_at = StringField(_l("发现时间"), validators=[Optional(), Length(max=32)])
    photos = MultipleFileField(_l("照片"))
    reporter_name = StringField(_l("姓名"), validators=[Optional(), Length(max=50)])
    reporter_phone = StringField(_l("手机号码"), validators=[Optional(), Length(max=20)])
    reporter_email = StringField(_l("电子邮箱"), validators=[Optional(), Length(max=200)])
    anonymous = BooleanField(_l("匿名举报"))
    public = BooleanField(_l("同意在工作人员审核后公开这份举报（不含个人信息）"))
    consent = BooleanField(_l("我已阅读并同意隐私说明"), validators=[
        DataRequired(_l("请阅读隐私说明并勾选同意，才能提交。"))])
    # Left empty by people; filled by bots that fill every field.
    website = StringField(_l("网站（请勿填写）"), validators=[Optional()])
    preview = SubmitField(_l("预览"))
    submit = SubmitField(_l("提交举报"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", _l("请选择"))] + [(t.code, vocab.REPORT_CATEGORIES.display(t.code))
                                                       for t in vocab.REPORT_CATEGORIES]

    def validate_reporter_phone(self, field):
        """Chinese mobile (13904571234) or landline (0457-3312345) numbers."""
        if field.data and not self.anonymous.data and not contact.is_telephone(field.data):
            raise ValidationError(_l("请填写有效的手机号码（11 位，如 13904571234）或固定电话（如 0457-3312345）。"))

    def validate_reporter_email(self, field):
        """A plausible e-mail address."""
        if field.data and not self.anonymous.data and not contact.is_email(field.data):
            raise ValidationError(_l("请填写有效的电子邮箱地址。"))

    def validate_observed_at(self, field):
        """A date-time not in the future."""
        if field.data and self.observed_time() is None:
            raise ValidationError(_l("发现时间格式应为 2026-11-29 14:30。"))
        observed = self.observed_time()
        if observed and observed.year < OBSERVED_EARLIEST_YEAR:
            raise ValidationError(_l("发现时间不能早于 %(year)s 年。", year=OBSERVED_EARLIEST_YEAR))
        if observed and observed > datetime.now(observed.tzinfo):
            raise ValidationError(_l("发现时间不能晚于现在。"))

    def validate_lon(self, field):
        """Latitude and longitude come together."""
        if bool(self.lat.data) != bool(self.lon.data):
            raise ValidationError(_l("经度和纬度须同时填写。"))

    def observed_time(self) -> datetime | None:
        """The observation time as an aware datetime in the district's zone, if given and readable."""
        text = (self.observed_at.data or "").strip()
        for pattern in OBSERVED_FORMATS:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
            except ValueError:
                continue
        return None

    def validate_position_only(self) -> bool:
        """Check only the position (a GET's ``?lat=&lon=``, set as data), so nearby reports are looked
        up for a real point only."""
        for field in (self.lat, self.lon):
            field.raw_data = [field.data or ""]  # Optional() judges emptiness by the raw data
        return bool(self.lat.validate(self) & self.lon.validate(self))

    def position(self) -> tuple[float, float] | None:
        """(lat, lon) when both were given."""
        if str(self.lat.data or "").strip() and str(self.lon.data or "").strip():  # " " is no position
            return round(float(self.lat.data), 6), round(float(self.lon.data), 6)
        return None
