"""Monitoring results in the back office: a lab's file uploaded (dry run, then import) and one result
entered on an outfall's archive page. Both use the CLI's own rules (``portal.monitoring.lab_files``).

The upload is the simplest honest shape: the form posts the file with either the "dry run" or the
"import" button; each request reads the file it was sent into a private temporary folder and deletes
it afterwards, so nothing waits between requests and the import is of exactly the file posted.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from portal import access, audit
from portal.admin.guard import requires
from portal.admin.outfall_views import outfall_or_404
from portal.db import transaction
from portal.extensions import db
from portal.monitoring import lab_files
from portal.monitoring import parameters as params

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class SamplesUploadForm(FlaskForm):
    """A lab's results file, with the button that says whether to check it only or import it."""

    samples = FileField(_l("化验结果文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择化验结果文件。"))])
    dry_run = SubmitField(_l("试导入（不写入）"))
    submit = SubmitField(_l("导入"))


class SampleEntryForm(FlaskForm):
    """One result typed in from a lab's report."""

    parameter = SelectField(_l("监测项目"), choices=[])
    sampled_at = StringField(_l("采样时间"), validators=[Length(max=40)])
    value = StringField(_l("监测结果"), validators=[Length(max=40)],
                        description=_l("数值；低于检出限写 <0.05、0.05L，或 ND/未检出 并填写检出限"))
    detection_limit = StringField(_l("检出限"), validators=[Optional(), Length(max=40)])
    unit = StringField(_l("单位"), validators=[Optional(), Length(max=20)],
                       description=_l("不填则按该项目的标准单位（mg/L；粪大肠菌群 个/L；pH 无量纲）"))
    sampler = StringField(_l("采样人"), validators=[Optional(), Length(max=100)])
    lab = StringField(_l("检测单位"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("保存监测结果"))

    def fill_choices(self) -> None:
        """The parameters, by the names labs use."""
        self.parameter.choices = [(p.code, f"{p.label}（{p.code}）" if p.label != p.code else p.code)
                                  for p in params.PARAMETERS]


def _me():
    """The signed-in account itself (not the proxy), for the audit log."""
    return current_user._get_current_object()


def _zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def _safe_name(filename: str) -> str:
    """The uploaded file's own name without folders or unsafe characters (the source column shows it)."""
    name = _UNSAFE_NAME.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if len(name) > 120:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:100] + dot + suffix[:10]) if dot else name[:120]
    return name or "samples.csv"


@requires("import_monitoring")
def samples_upload():
    """The upload page; a posted file is checked (dry run) or imported, all or nothing."""
    form = SamplesUploadForm()
    if not form.validate_on_submit():
        return render_template("admin/monitoring/import.html", form=form), 422 if form.is_submitted() else 200
    dry_run = not form.submit.data
    upload = form.samples.data
    with tempfile.TemporaryDirectory(dir=_upload_root()) as folder:
        path = Path(folder) / _safe_name(upload.filename or "")
        upload.save(path)
        try:
            if dry_run:
                summary = lab_files.import_samples(path, dry_run=True)
                db.session.rollback()  # a dry run only reads
            else:
                with transaction():
                    summary = lab_files.import_samples(path)
                    audit.record(_me(), "samples_imported", label=summary.filename[:64],
                                 detail={"added": summary.added, "replaced": summary.replaced,
                                         "unchanged": summary.unchanged})
        except lab_files.SamplesRejected as rejected:
            db.session.rollback()
            return render_template("admin/monitoring/import.html", form=form, rejected=rejected), 422
    return render_template("admin/monitoring/import.html", form=form, summary=summary, dry_run=dry_run,
                           zone=_zone())


def _upload_root() -> Path:
    """A private folder for the moment a posted file is read (under the instance folder, never served)."""
    root = Path(current_app.instance_path) / "sample-uploads"
    root.mkdir(parents=True, exist_ok=True)
    return root


@requires("view_registry")
def sample_entry(code: str):
    """Store one result at an outfall; on a refusal, the archive page again with the form and its messages."""
    record = outfall_or_404(code, "enter_monitoring")
    form = SampleEntryForm()
    form.fill_choices()
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in
                  ("parameter", "sampled_at", "value", "detection_limit", "unit", "sampler", "lab")}
        try:
            with transaction():
                outcome = lab_files.enter_result(record, values)
                audit.record(_me(), "sample_entered", record, detail={
                    "parameter": values["parameter"], "sampled_at": values["sampled_at"], "outcome": outcome})
        except lab_files.EntryRefused as refused:
            for field, message in refused.errors.items():
                getattr(form, field).errors = [*getattr(form, field).errors, message]
        else:
            flash({"added": _("已保存监测结果。"), "replaced": _("已用新结果替换同一采样时间的原结果。"),
                   "unchanged": _("该结果已存在，未作更改。")}[outcome], "success")
            return redirect(url_for("admin.outfall", code=record.code, _anchor="monitoring"))
    actions = {action: access.can(current_user, action, record) for action in access.OUTFALL_ACTIONS}
    return render_template("admin/outfalls/outfall.html", outfall=record, may=actions, sample_form=form), 422


def entry_form_context() -> dict:
    """``new_sample_form()`` for the archive page's monitoring part (a blank form with its choices)."""
    def new_sample_form():
        """A blank entry form, its parameters filled in."""
        form = SampleEntryForm(formdata=None)
        form.fill_choices()
        return form
    return {"new_sample_form": new_sample_form, "sample_display": params.display_value}
