"""Every /admin route, walked by every role: the set of roles each route lets in is exactly the one
written here (not read from the code), and report routes answer 404 across towns and departments."""
from __future__ import annotations

import re

import pytest

from factories import make_report, make_town, make_water_body
from portal.admin.guard import endpoint_actions
from portal.extensions import db
from portal.models import OutboxMessage, ReportPhoto
from portal.photos import storage_for

EVERYONE = {"admin", "town", "chief", "department", "auditor"}
HANDLERS = {"admin", "town", "chief", "department"}
# Who gets past the door of each endpoint (the page itself; a report's own scope comes after).
ALLOWED = {
    "admin.index": EVERYONE, "admin.my_account": EVERYONE, "admin.enrol_totp": EVERYONE,
    "admin.accounts": {"admin"}, "admin.account_new": {"admin"}, "admin.account_edit": {"admin"},
    "admin.account_set_active": {"admin"}, "admin.account_reset_password": {"admin"},
    "admin.account_reset_totp": {"admin"},
    "admin.audit_log": {"admin", "auditor"}, "admin.audit_export": {"admin", "auditor"},
    "admin.outbox": {"admin", "auditor"}, "admin.outbox_retry": {"admin"},
    "admin.queue": EVERYONE, "admin.export": EVERYONE, "admin.report": EVERYONE, "admin.photo": EVERYONE,
    "admin.bulk_assign": EVERYONE, "admin.take_step": EVERYONE, "admin.view_contact": EVERYONE,
    "admin.publication": EVERYONE, "admin.redact_description": EVERYONE, "admin.moderate_photo": EVERYONE,
    "admin.new_report": HANDLERS,
    # The registry and each outfall's archive (an outfall's own scope is checked after the door).
    "admin.outfalls": EVERYONE, "admin.outfall": EVERYONE,
    # An outfall's photos and documents: the door is the registry's, the outfall's "upload_files" decides after it.
    "admin.archive_photos_upload": EVERYONE, "admin.archive_photo_remove": EVERYONE,
    "admin.archive_document_upload": EVERYONE, "admin.archive_document_remove": EVERYONE,
    # A rectification step: the door is the registry's; the outfall's actions decide after it.
    "admin.rectification_step": EVERYONE,
    # Registry editing: the door is the registry's, the outfall's "edit" decides after it; uploads are the bureau's.
    "admin.outfall_edit": EVERYONE, "admin.ledger_upload": {"admin"}, "admin.ledger_confirm": {"admin"},
    # Monitoring: a lab's file is the bureau's; one result's door is the registry's, "enter_monitoring" decides.
    "admin.samples_upload": {"admin"}, "admin.sample_entry": EVERYONE,
    # Standards are the bureau's; an outfall's standard and permits: the registry's door, "set_standard" after it.
    "admin.standards": {"admin"}, "admin.standard_new": {"admin"}, "admin.standard_edit": {"admin"},
    "admin.standard_delete": {"admin"},
    "admin.outfall_standard": EVERYONE, "admin.permit_new": EVERYONE, "admin.permit_delete": EVERYONE,
    # Monitoring sections: the list is the registry's; the sections file is the bureau's.
    "admin.sections_list": EVERYONE, "admin.sections_import": {"admin"}, "admin.sections_import_confirm": {"admin"},
    # Places: the waters and their boards are the registry's; marking a board updated and the files are the bureau's.
    "admin.waters_list": EVERYONE, "admin.board_updated": {"admin"}, "admin.waters_import": {"admin"},
    "admin.waters_import_confirm": {"admin"}, "admin.chiefs_import": {"admin"}, "admin.chiefs_import_confirm": {"admin"},
}
OPEN = {"admin.login", "admin.login_code", "admin.logout"}
REPORT_ROUTES = {"admin.report", "admin.photo", "admin.take_step", "admin.view_contact", "admin.publication",
                 "admin.redact_description", "admin.moderate_photo"}


@pytest.fixture
def world(app):
    """One report in 呼中镇 (handled by 生态环境局, on the 呼玛河) with a stored photo, and an outbox message."""
    huzhong, bishui = make_town("呼中镇"), make_town("碧水镇")
    huma, other_river = make_water_body("呼玛河"), make_water_body("碧水河")
    report, _ = make_report(town=huzhong, water_body=huma, department_code="eeb")
    storage = storage_for(app)
    image, thumb = storage.stage(b"\xff\xd8image"), storage.stage(b"\xff\xd8thumb")
    storage.commit(image), storage.commit(thumb)
    report.photos.append(ReportPhoto(slot=1, storage_key=image.key, thumbnail_key=thumb.key, width=4, height=3,
                                     sha256="0" * 64))
    message = OutboxMessage(channel="email", recipient="town@example.cn", subject="s", body="b", status="failed")
    db.session.add(message)
    db.session.commit()
    return {"report": report, "photo": report.photos[0].id, "message": message.id, "huzhong": huzhong,
            "bishui": bishui, "huma": huma, "other_river": other_river}


def path_of(rule, world, account_id) -> str:
    """The rule's path with its variables filled in for this world."""
    values = {"code": world["report"].tracking_code, "photo_id": str(world["photo"]), "step": "note",
              "message_id": str(world["message"]), "account_id": str(account_id), "standard_id": "1", "permit_id": "1", "plan_id": "1",
              "document_id": "1"}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)


def accounts_in_scope(make_account, world):
    """One account of each role whose scope covers the report."""
    return {
        "admin": make_account("admin"), "auditor": make_account("auditor"),
        "town": make_account("town", town=world["huzhong"]),
        "chief": make_account("chief", water_body=world["huma"]),
        "department": make_account("department", department_code="eeb"),
    }


def door(client, path, method, code) -> int:
    """The status of the request, and 403 only when the door refused (a report page that refuses the
    step itself, 403 or 400, names the report; the door's refusal page does not)."""
    response = client.open(path, method=method)
    if response.status_code == 403 and code in response.get_data(as_text=True):
        return 200
    return response.status_code


def status(client, rule, path, method):
    return client.open(path, method=method).status_code


def test_the_route_table_names_every_admin_endpoint(app):
    assert set(endpoint_actions()) == set(ALLOWED) | OPEN


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_each_role_gets_past_exactly_the_doors_written_here(app, world, make_account, sign_in, role):
    account = accounts_in_scope(make_account, world)[role]
    target = make_account("town", town=world["bishui"])  # someone to edit, reset, deactivate
    client = app.test_client()
    sign_in(client, account)
    let_in, kept_out = set(), set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in OPEN:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            code = door(client, path_of(rule, world, target.id), method, world["report"].tracking_code)
            assert code != 500, (rule.rule, method)
            (kept_out if code == 403 else let_in).add(rule.endpoint)
    expected = {endpoint for endpoint, roles in ALLOWED.items() if role in roles}
    assert let_in == expected, (sorted(let_in - expected), sorted(expected - let_in))
    assert kept_out == set(ALLOWED) - expected


@pytest.mark.parametrize("role,scope", [
    ("town", "other town"), ("chief", "other river"), ("department", "other department")])
def test_report_routes_are_not_found_outside_the_accounts_scope(app, world, make_account, sign_in, role, scope):
    account = {"town": lambda: make_account("town", town=world["bishui"]),
               "chief": lambda: make_account("chief", water_body=world["other_river"]),
               "department": lambda: make_account("department", department_code="housing")}[role]()
    client = app.test_client()
    sign_in(client, account)
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in REPORT_ROUTES:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert status(client, rule, path_of(rule, world, account.id), method) == 404, (rule.rule, method, scope)
    queue = client.get("/admin/reports?queue=all").get_data(as_text=True)
    assert world["report"].tracking_code not in queue
    assert world["report"].tracking_code not in client.get("/admin/reports.csv").get_data(as_text=True)


def test_a_report_assigned_to_a_person_reaches_them_whatever_their_scope(app, world, make_account, sign_in):
    from portal.db import transaction
    from portal.reports import operations

    admin, outsider = make_account("admin"), make_account("department", department_code="transport")
    report = db.session.merge(world["report"])
    with transaction():
        operations.accept(admin, report)
        operations.assign(admin, report, person=outsider)
    client = app.test_client()
    sign_in(client, outsider)
    assert client.get(f"/admin/reports/{report.tracking_code}").status_code == 200
    assert report.tracking_code in client.get("/admin/reports?queue=mine").get_data(as_text=True)
