"""The audit log: administrators and auditors search it and export what they found; nobody else sees it."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from factories import BEIJING
from helpers import text_of
from portal import audit
from portal.extensions import db
from portal.models import AuditEntry


def entry(actor, action, label=None, at=None, reason=None, detail=None):
    """An audit entry written directly, at a given time (Beijing time)."""
    db.session.add(AuditEntry(occurred_at=at or datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING), actor_name=actor,
                              action=action, subject_type="report" if label else None, subject_label=label,
                              reason=reason, detail=detail))


@pytest.fixture
def auditor_client(app, make_account, sign_in):
    """A client signed in as the auditor ``shenji``."""
    client = app.test_client()
    sign_in(client, make_account("auditor", username="shenji"))
    return client


@pytest.fixture
def log():
    entry("bishui", "report_accepted", "AB23CD45", datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING), reason="属实")
    entry("bishui", "report_answered", "AB23CD45", datetime(2026, 11, 21, 23, 30, tzinfo=BEIJING))
    entry("huyuan", "report_accepted", "ZZ99YY88", datetime(2026, 11, 22, 0, 30, tzinfo=BEIJING))
    entry("cli", "account_created", "bishui", datetime(2026, 11, 1, 8, 0, tzinfo=BEIJING))
    db.session.commit()


def rows(response):
    return [line for line in text_of(response).split() if line in ("AB23CD45", "ZZ99YY88", "bishui")]


def test_the_log_lists_newest_first(auditor_client, log):
    page = auditor_client.get("/admin/audit")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.index("ZZ99YY88") < body.index("AB23CD45")
    assert "属实" in text_of(page) and "创建账户" in text_of(page)


def test_filters_by_actor_action_subject_and_local_dates(auditor_client, log):
    assert "ZZ99YY88" not in text_of(auditor_client.get("/admin/audit?actor=bishui"))
    by_action = text_of(auditor_client.get("/admin/audit?action=report_accepted"))
    assert "ZZ99YY88" in by_action and by_action.count("AB23CD45") == 1 and "共 2 条记录" in by_action
    by_code = auditor_client.get("/admin/audit?subject=ab23cd45").get_data(as_text=True)
    assert "AB23CD45" in by_code and "ZZ99YY88" not in by_code
    # 2026-11-22 00:30 in the district is 2026-11-21 16:30 UTC: it belongs to the 22nd, not the 21st.
    the_21st = auditor_client.get("/admin/audit?from=2026-11-21&to=2026-11-21").get_data(as_text=True)
    assert "ZZ99YY88" not in the_21st and the_21st.count("AB23CD45") == 1
    the_22nd = auditor_client.get("/admin/audit?from=2026-11-22").get_data(as_text=True)
    assert "ZZ99YY88" in the_22nd and "AB23CD45" not in the_22nd


def test_an_unreadable_date_is_named(auditor_client, log):
    response = auditor_client.get("/admin/audit?from=yesterday")
    assert response.status_code == 400 and "开始日期应为日期" in text_of(response)


def test_the_log_is_paginated(auditor_client):
    for number in range(55):
        entry("bishui", "report_viewed", f"CODE{number:04d}")
    db.session.commit()
    first = auditor_client.get("/admin/audit").get_data(as_text=True)
    assert "CODE0054" in first and "CODE0000" not in first
    assert 'rel="next"' in first
    second = auditor_client.get("/admin/audit?page=2").get_data(as_text=True)
    assert second.count("CODE0") == 56 - 50  # the auditor's own sign-in is the newest entry of the 56


def test_csv_export_has_a_bom_the_filter_and_no_formulas(auditor_client, log):
    entry("=HYPERLINK(\"http://evil\")", "report_accepted", "AB23CD45", reason="+cmd|' /C calc'!A0")
    entry("@sum", "report_accepted", "AB23CD45", reason="-1+1")
    db.session.commit()
    response = auditor_client.get("/admin/audit.csv?subject=AB23CD45")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:3] == ["时间", "操作人", "操作"]
    assert len(table) == 1 + 4 and all(row[4] == "AB23CD45" for row in table[1:])
    cells = [cell for row in table[1:] for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells and "'@sum" in cells
    assert "'+cmd|' /C calc'!A0" in cells and "'-1+1" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


@pytest.mark.parametrize("role", ["town", "chief", "department"])
def test_other_roles_cannot_see_or_export_the_log(app, make_account, sign_in, log, role):
    client = app.test_client()
    sign_in(client, make_account(role))
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403


def test_admins_see_the_log_too(app, make_account, sign_in, log):
    client = app.test_client()
    sign_in(client, make_account("admin"))
    assert "AB23CD45" in text_of(client.get("/admin/audit"))


def test_sign_ins_appear_with_their_address(auditor_client):
    page = text_of(auditor_client.get("/admin/audit?action=sign_in"))
    assert "shenji" in page and "127.0.0.1" in page


def test_record_never_commits_by_itself(app):
    audit.record(audit.CLI_ACTOR, "report_viewed", label="AB23CD45")
    db.session.rollback()
    assert db.session.query(AuditEntry).count() == 0
