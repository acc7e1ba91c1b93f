"""The forms of the reporter's private page: add information, confirm fixed, reopen, rate.

Each posts to its own address, so field names need only be unique within a form; every form
carries the CSRF token. Photos are checked by ``portal.photos`` in the view, not here.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.citizen.forms import CitizenForm
from portal.reports.reporter_actions import TEXT_MAX_LENGTH

_TOO_LONG = _l("最多 %(max)d 个字。")
_CHOOSE_STARS = _l("请选择 1 到 5 星。")


class AddInformationForm(CitizenForm):
    """More words or photos from the reporter (seen by the handling staff, never public)."""

    text = TextAreaField(_l("补充说明"), validators=[Optional(), Length(max=TEXT_MAX_LENGTH, message=_TOO_LONG)])
    photos = MultipleFileField(_l("补充照片"))
    submit = SubmitField(_l("提交补充信息"))


class ConfirmForm(CitizenForm):
    """The reporter confirms the problem is fixed."""

    submit = SubmitField(_l("确认问题已解决"))


class ReopenForm(CitizenForm):
    """The reporter says the problem is not fixed, and why."""

    reason = TextAreaField(_l("问题为什么没有解决"), validators=[
        InputRequired(message=_l("请说明为什么问题没有解决。")),
        Length(max=TEXT_MAX_LENGTH, message=_TOO_LONG),
    ])
    submit = SubmitField(_l("重新打开举报"))


class RateForm(CitizenForm):
    """The reporter rates the handling, 1 to 5 stars, with an optional comment."""

    stars = RadioField(_l("评分"), coerce=int, choices=[
        SelectChoice(5, _l("5 星：很满意")), SelectChoice(4, _l("4 星：满意")), SelectChoice(3, _l("3 星：一般")),
        SelectChoice(2, _l("2 星：不满意")), SelectChoice(1, _l("1 星：很不满意")),
    ], validators=[InputRequired(message=_CHOOSE_STARS)], invalid_value_message=_CHOOSE_STARS,
        invalid_choice_message=_CHOOSE_STARS)
    comment = TextAreaField(_l("评价意见（可不填）"),
                            validators=[Optional(), Length(max=TEXT_MAX_LENGTH, message=_TOO_LONG)])
    submit = SubmitField(_l("提交评价"))
