"""Hostile form values posted to every back-office form of the registry and the archive: each gets a
page or a refusal, never a server error (the door and CSRF are the test app's; values are the attacker's)."""
from __future__ import annotations

import io
from collections import Counter

from factories import make_outfall
from portal.extensions import db


def test_hostile_values_in_the_archives_forms_never_cause_a_server_error(app, make_account, sign_in):
    client = app.test_client()
    sign_in(client, make_account("admin"))
    o = make_outfall("HZ-P1")
    db.session.commit()
    plan_id = o.plan.id
    values = ["", "x"*5000, "<script>", "-1", "9223372036854775808", "²", "2026-02-30", "1e309", "nan", "\x00"]
    paths = [f"/admin/outfalls/HZ-P1/plans/{plan_id}/steps", "/admin/outfalls/HZ-P1/edit", "/admin/outfalls/import",
             "/admin/outfalls/import/confirm", "/admin/monitoring/import", "/admin/outfalls/HZ-P1/monitoring",
             "/admin/standards/new", "/admin/standards/1", "/admin/standards/999999/delete", "/admin/standards/1/delete",
             "/admin/outfalls/HZ-P1/standard", "/admin/outfalls/HZ-P1/permits/new", "/admin/outfalls/HZ-P1/permits/99/delete",
             "/admin/sections/import", "/admin/sections/import/confirm", "/admin/outfalls/HZ-P1/photos",
             "/admin/outfalls/HZ-P1/photos/5/delete", "/admin/outfalls/HZ-P1/documents", "/admin/outfalls/HZ-P1/documents/3/delete",
             "/admin/waters/board-updated", "/admin/waters/import", "/admin/waters/import/confirm", "/admin/chiefs/import",
             "/admin/chiefs/import/confirm"]
    keys = ["kind", "occurred_on", "text", "reason", "name", "town", "water_body", "longitude", "latitude", "deadline",
            "parameter", "sampled_at", "value", "unit", "detection_limit", "code", "grade", "title", "scope", "standard_id",
            "number", "valid_from", "valid_until", "token", "water_id", "submit", "create_towns", "limits-0-parameter",
            "limits-0-maximum", "limits-0-minimum", "limits-0-unit", "limits-0-condition", "caption", "issued_on", "status", "measure"]
    failures, statuses = [], Counter()
    for path in paths:
        for value in values:
            data = {k: value for k in keys}
            for upload in ("ledger", "upload", "sections_file", "lab_file", "file", "photos", "document", "samples"):
                data[upload] = (io.BytesIO(b"PK\x03\x04garbage" + value.encode("utf-8", "ignore")), "f.xlsx")
            r = client.post(path, data=data, content_type="multipart/form-data")
            statuses[r.status_code] += 1
            if r.status_code >= 500:
                failures.append((path, repr(value)[:20], r.status_code))
        r = client.get(path)
        if r.status_code >= 500:
            failures.append((path, "GET", r.status_code))
    assert not failures, failures
    # The forms were read and answered (a redrawn page with messages, a refusal, a redirect), not all
    # turned away at one door.
    assert len(statuses) >= 3, statuses
