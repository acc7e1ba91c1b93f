"""Forms of the registry's back office: editing an outfall's ledger fields, uploading a ledger.

The edit form only carries text and choices; ``portal.registry.editing`` reads every value with the
ledger's own cell readers, so the form accepts what a ledger accepts and refuses it in the same words.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.admin.forms import no_control_characters
from portal.extensions import db
from portal.models import Town, WaterBody
from portal.registry import editing
from portal.registry import vocabulary as vocab
from portal.registry.ledger_mapping import ledger_values


def _text(label, length, **kwargs):
    """A free-text field of at most ``length`` characters."""
    return StringField(label, validators=[Optional(), Length(max=length), no_control_characters], **kwargs)


def _choices(vocabulary: vocab.Vocabulary, blank=True):
    """A vocabulary's terms as select options (code, label in the visitor's language)."""
    options = [(term.code, vocabulary.display(term.code)) for term in vocabulary]
    return ([("", _l("（无）"))] if blank else []) + options


class OutfallEditForm(FlaskForm):
    """The ledger's fields of one outfall and its main rectification plan, and why they change."""

    name = _text(_l("排污口名称"), 400)
    national_code = _text(_l("国家编码"), 100)
    town = SelectField(_l("所在镇"), choices=[])
    water_body = SelectField(_l("受纳水体"), choices=[])
    longitude = _text(_l("经度"), 40, description=_l("十进制度数或度分秒，例：123.5888 或 123°35′20″"))
    latitude = _text(_l("纬度"), 40, description=_l("例：52.0306 或 52°01′50″"))
    outfall_type = SelectField(_l("排污口类型"), choices=[])
    outfall_subtype = SelectField(_l("排污口类别"), choices=[])
    discharge_mode = SelectField(_l("排放方式"), choices=[])
    approval_status = SelectField(_l("审批登记情况"), choices=[])
    found_on = _text(_l("发现日期"), 40, description=_l("例：2026-06-30 或 2026年6月30日"))
    party = _text(_l("责任主体"), 400)
    party_kind = SelectField(_l("责任主体类型"), choices=[], description=_l("不选则按名称判断；自然人的姓名在公开页面打码"))
    party_telephone = _text(_l("责任主体联系电话"), 64)
    supervising_leader = _text(_l("包保领导"), 128)
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=4000), no_control_characters])
    measure = SelectField(_l("整治类型"), choices=[])
    measures_text = TextAreaField(_l("整治措施"), validators=[Optional(), Length(max=4000), no_control_characters])
    deadline = _text(_l("整治时限"), 40, description=_l("例：2026-06-30 或 2026年6月底"))
    transition_ends_on = _text(_l("过渡期截止"), 40)
    status = SelectField(_l("整治进展"), choices=[])
    completed_on = _text(_l("完成日期"), 40)
    reason = TextAreaField(_l("修改原因"), validators=[DataRequired(_l("请说明修改原因。")), Length(max=1000),
                                                     no_control_characters],
                           description=_l("写入该排污口的修改记录，例如：依据 2026 年 11 月现场核查"))
    submit = SubmitField(_l("保存修改"))

    def fill_choices(self) -> None:
        """Offer the towns and waters the registry knows, and each vocabulary's terms."""
        self.town.choices = [(t.name, t.name) for t in db.session.scalars(select(Town).order_by(Town.name))]
        self.water_body.choices = [("", _l("（无）"))] + [
            (w.name, w.name) for w in db.session.scalars(select(WaterBody).order_by(WaterBody.name))]
        self.outfall_type.choices = _choices(vocab.OUTFALL_TYPES, blank=False)
        self.outfall_subtype.choices = _choices(vocab.OUTFALL_SUBTYPES)
        self.discharge_mode.choices = _choices(vocab.DISCHARGE_MODES)
        self.approval_status.choices = _choices(vocab.APPROVAL_STATUSES)
        self.party_kind.choices = _choices(vocab.PARTY_KINDS)
        self.measure.choices = _choices(vocab.MEASURES)
        self.status.choices = _choices(vocab.PLAN_STATUSES)

    def fill_from(self, outfall) -> None:
        """Show the outfall's current values (on the first GET)."""
        for field, value in ledger_values(outfall).items():
            if field in editing.EDITABLE_FIELDS:
                getattr(self, field).data = "" if value is None else (
                    value.isoformat() if isinstance(value, date) else str(value))

    def values(self) -> dict[str, str]:
        """The typed values by field, as ``editing.edit_outfall`` takes them."""
        return {field: getattr(self, field).data or "" for field in editing.EDITABLE_FIELDS}


class LedgerUploadForm(FlaskForm):
    """Choose a ledger file for a dry run."""

    ledger = FileField(_l("台账文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择台账文件。"))])
    submit = SubmitField(_l("试运行（不写入）"))


class LedgerConfirmForm(FlaskForm):
    """Import the file the dry run checked, confirming any new towns it lists."""

    token = StringField(validators=[DataRequired(), Length(max=64)])
    create_towns = SelectMultipleField(_l("确认新增以下镇"), choices=[], option_widget=CheckboxInput(),
                                       widget=ListWidget(prefix_label=False), validate_choice=False)
    check = SubmitField(_l("按所选新增镇重新试运行"))
    submit = SubmitField(_l("确认导入"))
