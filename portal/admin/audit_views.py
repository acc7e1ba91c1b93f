"""The audit log for administrators and auditors: search it, page through it, export what was found."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.admin.guard import requires
from portal.extensions import db
from portal.models import AuditEntry
from portal.templating import format_datetime

PER_PAGE = 50
EXPORT_BATCH = 500
# Readable names of the actions the log holds; an action without one is shown by its code.
ACTION_LABELS = {
    "sign_in": _l("登录"), "sign_in_failed": _l("登录失败"), "account_locked": _l("账户锁定"),
    "sign_out": _l("退出登录"), "password_changed": _l("修改密码"), "password_reset": _l("重置密码"),
    "account_created": _l("创建账户"), "account_updated": _l("修改账户"),
    "account_deactivated": _l("停用账户"), "account_reactivated": _l("启用账户"),
    "totp_enrolled": _l("启用两步验证"), "totp_reset": _l("重置两步验证"), "outbox_retry": _l("重发通知"),
    "report_entered": _l("录入举报"), "report_accepted": _l("受理"), "report_rejected": _l("不予受理"),
    "report_assigned": _l("交办"), "report_started": _l("开始办理"), "report_answered": _l("答复办结"),
    "report_closed": _l("结案"), "report_extended": _l("延长答复期限"), "report_transferred": _l("转交"),
    "report_merged": _l("合并重复举报"), "report_noted": _l("内部备注"), "report_published": _l("公开举报"),
    "report_unpublished": _l("取消公开举报"), "report_redacted": _l("修改公开的描述"),
    "photo_moderated": _l("处理照片"), "contact_viewed": _l("查看联系方式"), "reports_exported": _l("导出举报"),
    "report_escalated": _l("超期督办"), "calendar_imported": _l("导入节假日安排"),
    # The registry and each outfall's archive
    "ledger_imported": _l("导入台账"), "outfall_edited": _l("修改排污口信息"),
    "waters_imported": _l("导入水体"), "chiefs_imported": _l("导入河长名录"),
    "river_board_updated": _l("确认公示牌已更新"), "sections_imported": _l("导入监测断面"),
    "samples_imported": _l("导入化验结果"), "sample_entered": _l("录入监测结果"),
    "standard_added": _l("新增排放标准"), "standard_updated": _l("修改排放标准"),
    "standard_deleted": _l("删除排放标准"), "outfall_standard_set": _l("设定排污口执行标准"),
    "permit_added": _l("录入排污许可证"), "permit_deleted": _l("删除排污许可证"),
    "rectification_step": _l("记录整治进展"), "outfall_photo_added": _l("上传排污口照片"),
    "outfall_photo_removed": _l("删除排污口照片"), "outfall_document_added": _l("上传档案文件"),
    "outfall_document_removed": _l("删除档案文件"),
}
# A cell a spreadsheet would run as a formula starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def action_label(action: str) -> str:
    """An action's name in the visitor's language (its code when it has none)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@dataclass
class AuditFilters:
    """The search of the audit log, read from the query string; ``problems`` names unreadable dates."""

    actor: str = ""
    action: str = ""
    subject: str = ""
    date_from: date | None = None
    date_to: date | None = None
    problems: tuple = ()

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        """Read the filters as the form sends them (dates as YYYY-MM-DD in the district's time zone)."""
        problems = []

        def day(name, label):
            text = (args.get(name) or "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                problems.append(_("%(field)s应为日期，如 2026-12-01。", field=label))
                return None
        return cls(actor=(args.get("actor") or "").strip()[:64], action=(args.get("action") or "").strip()[:48],
                   subject=(args.get("subject") or "").strip()[:64],
                   date_from=day("from", _("开始日期")), date_to=day("to", _("结束日期")), problems=tuple(problems))

    def query(self):
        """The matching entries, newest first."""
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        query = select(AuditEntry)
        if self.actor:
            query = query.where(func.lower(AuditEntry.actor_name).contains(self.actor.lower(), autoescape=True))
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.subject:
            needle = self.subject.upper()
            query = query.where(func.upper(AuditEntry.subject_label).contains(needle, autoescape=True))
        if self.date_from:
            query = query.where(AuditEntry.occurred_at >= datetime.combine(self.date_from, time(), zone))
        if self.date_to:
            query = query.where(AuditEntry.occurred_at < datetime.combine(self.date_to + timedelta(days=1), time(), zone))
        return query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())

    def args(self) -> dict:
        """The filters as query-string arguments (for page links and the export link)."""
        values = {"actor": self.actor, "action": self.action, "subject": self.subject,
                  "from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else ""}
        return {key: value for key, value in values.items() if value}


def _known_actions() -> list[str]:
    """Every action the log holds or may hold, for the filter's choices."""
    present = set(db.session.scalars(select(AuditEntry.action).distinct()))
    return sorted(present | set(ACTION_LABELS), key=lambda action: (action not in ACTION_LABELS, action))


@requires("view_audit")
def audit_log():
    """Search the audit log (actor, action, subject or tracking code, dates), 50 entries a page."""
    filters = AuditFilters.from_args(request.args)
    page = request.args.get("page", 1, type=int) or 1
    pagination = db.paginate(filters.query(), page=max(page, 1), per_page=PER_PAGE, error_out=False)
    return render_template("admin/audit.html", filters=filters, pagination=pagination,
                           actions=_known_actions(), action_label=action_label,
                           page_url=lambda number: url_for("admin.audit_log", page=number, **filters.args()),
                           export_url=url_for("admin.audit_export", **filters.args())), \
        400 if filters.problems else 200


def spreadsheet_safe(value) -> str:
    """A cell's text that a spreadsheet shows as written: a formula-like start gets an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@requires("view_audit")
def audit_export():
    """The entries the filters find, as CSV (UTF-8 with BOM so Excel reads the Chinese), streamed."""
    filters = AuditFilters.from_args(request.args)
    query = filters.query()
    headers = [_("时间"), _("操作人"), _("操作"), _("对象类型"), _("对象"), _("原因"), _("详情"), _("地址")]

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        yield "\ufeff" + buffer.getvalue()
        offset = 0
        while True:
            batch = list(db.session.scalars(query.limit(EXPORT_BATCH).offset(offset)))
            if not batch:
                return
            buffer.seek(0)
            buffer.truncate()
            for entry in batch:
                writer.writerow([spreadsheet_safe(cell) for cell in (
                    format_datetime(entry.occurred_at), entry.actor_name, action_label(entry.action),
                    entry.subject_type, entry.subject_label, entry.reason, entry.detail, entry.address)])
            yield buffer.getvalue()
            offset += EXPORT_BATCH

    response = Response(stream_with_context(rows()), mimetype="text/csv")
    name = f"{current_app.config['DISTRICT_NAME']}审计日志.csv"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"audit-log.csv\"; filename*=UTF-8''{quote(name, safe='')}")
    response.headers["Cache-Control"] = "no-store"
    return response
