"""Forms of the standards pages and of an outfall's standard and permits: a standard or a permit with
a fixed number of limit rows, and the choice of an outfall's standard with its reason."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FieldList, Form, FormField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal import i18n
from portal.admin.forms import no_control_characters
from portal.monitoring.operations import UNLIMITED_PARAMETERS, LimitRow
from portal.monitoring.parameters import PARAMETERS
from portal.registry import vocabulary

LIMIT_ROWS = 8  # enough for any standard's table (GB 18918 has eight parameters); more are added by editing


def read_number(text: str | None) -> float | None:
    """A bound as typed (full-width digits too), or None when blank; ValueError when it is no number."""
    text = (text or "").strip().replace("，", ".").replace("．", ".")
    if not text:
        return None
    text = text.translate({ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")})
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def a_number(_form, field):
    """Refuse a bound that is not a finite number, in the user's language."""
    try:
        read_number(field.data)
    except ValueError:
        raise ValidationError(_l("“%(text)s”不是数字。", text=field.data)) from None


def parameter_choices():
    """The parameters a limit may name (not water temperature or flow, which qualify others)."""
    english = i18n.is_english()  # the Chinese names only on Chinese pages
    return [("", _l("（不填）"))] + [(p.code, p.code if english or p.label == p.code else f"{p.code} {p.label}")
                                    for p in PARAMETERS if p.code not in UNLIMITED_PARAMETERS]


class LimitRowForm(Form):
    """One limit row: parameter, unit (blank: the parameter's own), minimum, maximum, condition."""

    parameter = SelectField(_l("监测项目"), choices=[], default="", validate_choice=False)
    unit = StringField(_l("单位"), validators=[Optional(), Length(max=16), no_control_characters])
    minimum = StringField(_l("下限"), validators=[Optional(), Length(max=32), a_number],
                          render_kw={"inputmode": "decimal"})
    maximum = StringField(_l("上限"), validators=[Optional(), Length(max=32), a_number],
                          render_kw={"inputmode": "decimal"})
    condition = StringField(_l("适用条件（可选，如 水温≤12℃）"), validators=[Optional(), Length(max=64),
                                                                       no_control_characters])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parameter.choices = parameter_choices()

    def is_blank(self) -> bool:
        """Whether the row was left empty (skipped, not refused)."""
        return not any((self.parameter.data, self.unit.data, (self.minimum.data or "").strip(),
                        (self.maximum.data or "").strip(), self.condition.data))


class _WithLimits(FlaskForm):
    limits = FieldList(FormField(LimitRowForm), min_entries=LIMIT_ROWS, max_entries=LIMIT_ROWS)

    def limit_rows(self) -> list[LimitRow]:
        """The filled rows as the domain takes them, each with its row number on the form."""
        rows = []
        for number, entry in enumerate(self.limits.entries, start=1):
            row = entry.form
            if row.is_blank():
                continue
            rows.append(LimitRow(
                parameter=row.parameter.data or "", unit=(row.unit.data or "").strip(),
                minimum=read_number(row.minimum.data), maximum=read_number(row.maximum.data),
                condition=(row.condition.data or "").strip(), number=number))
        return rows

    def fill_limits(self, limits) -> None:
        """Show a standard's limits in the rows (its unit; the remaining rows blank)."""
        for entry, limit in zip(self.limits.entries, limits):
            row = entry.form
            row.parameter.data, row.unit.data, row.condition.data = limit.parameter, limit.unit, limit.condition
            row.minimum.data, row.maximum.data = (None if value is None else f"{value:g}"
                                                  for value in (limit.minimum, limit.maximum))


class StandardForm(_WithLimits):
    """Add or change a discharge standard the bureau uses: its citation, scope and limits."""

    code = StringField(_l("标准编号"), validators=[DataRequired(_l("请填写标准编号。")), Length(max=32),
                                                  no_control_characters])
    grade = StringField(_l("级别（如 一级、一级A，没有则留空）"), validators=[Optional(), Length(max=16),
                                                                   no_control_characters])
    title = StringField(_l("标准名称"), validators=[DataRequired(_l("请填写标准名称。")), Length(max=200),
                                                   no_control_characters])
    scope = SelectField(_l("适用范围"), choices=[])
    note = TextAreaField(_l("说明（来源、适用条件等）"), validators=[Optional(), Length(max=2000),
                                                             no_control_characters])
    submit = SubmitField(_l("保存标准"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Surface water's GB 3838 judges sections and ships with the portal; added standards are effluent.
        self.scope.choices = [(term.code, vocabulary.STANDARD_SCOPES.display(term.code))
                              for term in vocabulary.STANDARD_SCOPES if term.code != "surface_water"]


class PermitForm(_WithLimits):
    """Record an outfall's discharge permit: number, validity and the limits it sets."""

    number = StringField(_l("排污许可证编号"), validators=[DataRequired(_l("请填写排污许可证编号。")), Length(max=32),
                                                        no_control_characters])
    valid_from = DateField(_l("有效期自"), validators=[DataRequired(_l("请填写有效期的起始日期（年-月-日）。"))])
    valid_until = DateField(_l("有效期至"), validators=[DataRequired(_l("请填写有效期的截止日期（年-月-日）。"))])
    note = TextAreaField(_l("说明（可选，记入变更记录）"), validators=[Optional(), Length(max=2000),
                                                               no_control_characters])
    submit = SubmitField(_l("登记许可证"))


class OutfallStandardForm(FlaskForm):
    """Choose the standard that judges an outfall's effluent, or the rule by type, with a reason."""

    standard = SelectField(_l("适用排放标准"), choices=[], default="")
    reason = TextAreaField(_l("原因（必填，记入变更记录）"),
                           validators=[DataRequired(_l("请填写原因：它会记入排污口的变更记录。")), Length(max=2000),
                                       no_control_characters])
    submit = SubmitField(_l("保存适用标准"))

    def fill_choices(self, standards, label) -> None:
        """Offer "by rule" and every discharge standard (``label`` cites one)."""
        self.standard.choices = [("", _l("按排污口类型规则确定"))] + [
            (str(standard.id), f"{label(standard)} {standard.title}") for standard in standards]


class ReasonForm(FlaskForm):
    """A button that removes something, with the reason it must give."""

    reason = TextAreaField(_l("原因（必填）"), validators=[DataRequired(_l("请填写原因。")), Length(max=2000),
                                                       no_control_characters])
    submit = SubmitField(_l("确认删除"))
