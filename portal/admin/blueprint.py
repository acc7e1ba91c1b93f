"""The back office's URL map: the blueprint, its one guard, its template context, and every rule.

View modules never import this one; it imports them and adds their rules, so the map reads here
in one place and no module registers routes by being imported.
"""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal import access
from portal.admin import account_views, audit_views, auth_views, guard, outbox_views, outfall_views, report_views
from portal.admin import rectification_views
from portal.admin import registry_views
from portal.admin import monitoring_views
from portal.admin import standard_views
from portal.admin import section_views
from portal.admin import archive_views
from portal.admin import place_views
from portal.admin.forms import role_label
from portal.admin.navigation import navigation

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(guard.enforce)


@bp.context_processor
def back_office_frame():
    """What templates/admin/base.html draws: the navigation and the signed-in member of staff."""
    signed_in = current_user.is_authenticated
    return {"admin_nav": navigation(current_user) if signed_in and not guard.must_enrol(current_user) else [],
            "role_label": role_label, "can": access.can,
            "rectification_steps": rectification_views.next_steps}


@bp.after_request
def never_cached(response):
    """Back-office pages hold names and decisions: no shared or browser cache keeps them."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _rule(path: str, view, methods=("GET",), **defaults) -> None:
    """Add a rule whose endpoint is the view's own name (admin.<function>)."""
    options = {"defaults": defaults} if defaults else {}  # Flask refuses defaults=None
    bp.add_url_rule(path, view.__name__, view, methods=list(methods), **options)


# Signing in and out
_rule("/login", auth_views.login, ("GET", "POST"))
_rule("/login/code", auth_views.login_code, ("GET", "POST"))
_rule("/logout", auth_views.logout, ("POST",))
_rule("/account/totp", auth_views.enrol_totp, ("GET", "POST"))

# The workbench and one's own account
_rule("/", account_views.index)
_rule("/account", account_views.my_account, ("GET", "POST"))

# Accounts (administrators)
_rule("/accounts", account_views.accounts)
_rule("/accounts/new", account_views.account_new, ("GET", "POST"))
_rule("/accounts/<int:account_id>", account_views.account_edit, ("GET", "POST"))
_rule("/accounts/<int:account_id>/active", account_views.account_set_active, ("POST",))
_rule("/accounts/<int:account_id>/password", account_views.account_reset_password, ("GET", "POST"))
_rule("/accounts/<int:account_id>/totp/reset", account_views.account_reset_totp, ("POST",))

# The audit log
_rule("/audit", audit_views.audit_log)
_rule("/audit.csv", audit_views.audit_export)

# The outbox
_rule("/outbox", outbox_views.outbox)
_rule("/outbox/<int:message_id>/retry", outbox_views.outbox_retry, ("POST",))

# Reports: the queues, one report and its steps, moderation, the contact, staff-entered reports, exports
_rule("/reports", report_views.queue)
_rule("/reports/assign", report_views.bulk_assign, ("POST",))
_rule("/reports/new", report_views.new_report, ("GET", "POST"))
_rule("/reports.csv", report_views.export, fmt="csv")
_rule("/reports.xlsx", report_views.export, fmt="xlsx")
_rule("/reports/<code>", report_views.report)
_rule("/reports/<code>/steps/<step>", report_views.take_step, ("POST",))
_rule("/reports/<code>/contact", report_views.view_contact, ("POST",))
_rule("/reports/<code>/publish", report_views.publication, ("POST",), action="publish")
_rule("/reports/<code>/unpublish", report_views.publication, ("POST",), action="unpublish")
_rule("/reports/<code>/description", report_views.redact_description, ("POST",))
_rule("/reports/<code>/photos/<int:photo_id>", report_views.photo)
_rule("/reports/<code>/photos/<int:photo_id>/moderation", report_views.moderate_photo, ("POST",))

# The registry: outfalls and one outfall's archive (一口一档)
_rule("/outfalls", outfall_views.outfalls)
_rule("/outfalls/<code>", outfall_views.outfall)

# Rectification as dated progress: the next step of one plan, with its photos
_rule("/outfalls/<code>/plans/<int:plan_id>/steps", rectification_views.rectification_step, ("POST",))

# Registry editing: one outfall's ledger fields with a reason; a ledger uploaded, dry run, then confirmed
_rule("/outfalls/<code>/edit", registry_views.outfall_edit, ("GET", "POST"))
_rule("/outfalls/import", registry_views.ledger_upload, ("GET", "POST"))
_rule("/outfalls/import/confirm", registry_views.ledger_confirm, ("POST",))

# Monitoring results: a lab's file uploaded (dry run, then import) and one result entered on an outfall
_rule("/monitoring/import", monitoring_views.samples_upload, ("GET", "POST"))
_rule("/outfalls/<code>/monitoring", monitoring_views.sample_entry, ("POST",))
bp.context_processor(monitoring_views.entry_form_context)

# Standards: the standards page (the bureau's own added, changed, removed); an outfall's standard and permits
_rule("/standards", standard_views.standards)
_rule("/standards/new", standard_views.standard_new, ("GET", "POST"))
_rule("/standards/<int:standard_id>", standard_views.standard_edit, ("GET", "POST"))
_rule("/standards/<int:standard_id>/delete", standard_views.standard_delete, ("POST",))
_rule("/outfalls/<code>/standard", standard_views.outfall_standard, ("POST",))
_rule("/outfalls/<code>/permits/new", standard_views.permit_new, ("GET", "POST"))
_rule("/outfalls/<code>/permits/<int:permit_id>/delete", standard_views.permit_delete, ("POST",))
bp.context_processor(standard_views.archive_context)

# Monitoring sections (断面): the list, and the sections file uploaded (dry run, then import)
_rule("/sections", section_views.sections_list)
_rule("/sections/import", section_views.sections_import, ("GET", "POST"))
_rule("/sections/import/confirm", section_views.sections_import_confirm, ("POST",))

# An outfall's photos and documents: photos uploaded with a kind and caption, a PDF with kind, title, date; removal
_rule("/outfalls/<code>/photos", archive_views.archive_photos_upload, ("POST",))
_rule("/outfalls/<code>/photos/<int:photo_id>/delete", archive_views.archive_photo_remove, ("POST",))
_rule("/outfalls/<code>/documents", archive_views.archive_document_upload, ("POST",))
_rule("/outfalls/<code>/documents/<int:document_id>/delete", archive_views.archive_document_remove, ("POST",))
bp.context_processor(archive_views.files_context)

# Places: the waters and their river boards (mark a board updated), the waters and chiefs files (dry run, then import)
_rule("/waters", place_views.waters_list)
_rule("/waters/board-updated", place_views.board_updated, ("POST",))
_rule("/waters/import", place_views.waters_import, ("GET", "POST"))
_rule("/waters/import/confirm", place_views.waters_import_confirm, ("POST",))
_rule("/chiefs/import", place_views.chiefs_import, ("GET", "POST"))
_rule("/chiefs/import/confirm", place_views.chiefs_import_confirm, ("POST",))
