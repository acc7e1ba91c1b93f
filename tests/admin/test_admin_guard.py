"""No /admin route escapes the one policy: every view declares what it needs, and anonymous visitors
are sent to sign in."""
from __future__ import annotations

import re

import pytest

from portal.admin import guard
from portal.admin.guard import endpoint_actions
from portal.access import GLOBAL_ACTIONS

# The only views open without a session: signing in (both steps) and signing out.
OPEN_VIEWS = {"admin.login", "admin.login_code", "admin.logout"}


def admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]


def concrete(rule) -> str:
    """The rule's path with every variable filled in (1 for ids)."""
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)


def test_every_admin_endpoint_declares_an_action_or_is_a_sign_in_view(app):
    actions = endpoint_actions()
    assert actions, "no /admin endpoints found"
    assert guard.UNDECLARED not in actions.values()
    assert {endpoint for endpoint, action in actions.items() if action is None} == OPEN_VIEWS
    assert all(action in GLOBAL_ACTIONS for action in actions.values() if action is not None)
    assert {rule.endpoint for rule in admin_rules(app)} == set(actions)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_requests_to_protected_routes_go_to_sign_in(app, client, method):
    actions = endpoint_actions()
    checked = 0
    for rule in admin_rules(app):
        if actions[rule.endpoint] is None or method not in rule.methods:
            continue
        response = client.open(concrete(rule), method=method)
        assert response.status_code == 302, rule.rule
        assert "/admin/login" in response.headers["Location"], rule.rule
        checked += 1
    assert checked > 0


def test_a_view_without_declaration_is_refused(app, client, make_account, sign_in):
    def forgotten():
        return "secret"

    app.view_functions["admin.index"], original = forgotten, app.view_functions["admin.index"]
    try:
        sign_in(client, make_account("admin"))
        assert client.get("/admin/").status_code == 403
    finally:
        app.view_functions["admin.index"] = original


def test_requires_refuses_an_unknown_action():
    with pytest.raises(KeyError):
        guard.requires("launch_rockets")


@pytest.mark.parametrize("role, allowed", [
    ("admin", {"/admin/", "/admin/account", "/admin/accounts", "/admin/accounts/new", "/admin/audit",
               "/admin/audit.csv", "/admin/outbox"}),
    ("auditor", {"/admin/", "/admin/account", "/admin/audit", "/admin/audit.csv", "/admin/outbox"}),
    ("town", {"/admin/", "/admin/account"}),
    ("chief", {"/admin/", "/admin/account"}),
    ("department", {"/admin/", "/admin/account"}),
])
def test_each_role_opens_exactly_its_pages(app, client, make_account, sign_in, role, allowed):
    sign_in(client, make_account(role))
    pages = {"/admin/", "/admin/account", "/admin/accounts", "/admin/accounts/new", "/admin/audit",
             "/admin/audit.csv", "/admin/outbox"}
    opened = {path for path in pages if client.get(path).status_code == 200}
    assert opened == allowed
    for path in pages - allowed:
        assert client.get(path).status_code == 403, path


def test_navigation_shows_only_what_the_role_may_open(client, make_account, sign_in):
    sign_in(client, make_account("auditor"))
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/audit"' in page and 'href="/admin/outbox"' in page
    assert 'href="/admin/accounts"' not in page


def test_back_office_pages_are_not_cached(client, make_account, sign_in):
    sign_in(client, make_account("town"))
    assert client.get("/admin/").headers["Cache-Control"] == "no-store"


def test_the_frame_has_its_own_base_and_a_phone_menu(client, make_account, sign_in):
    sign_in(client, make_account("town", display_name="李娜"))
    page = client.get("/admin/").get_data(as_text=True)
    assert "admin.css" in page and "portal.css" not in page
    assert "<details" in page and "<script" not in page
    assert "李娜" in page and "镇级承办人员" in page
    assert 'action="/admin/logout"' in page and 'method="post"' in page
    assert "/language/en" in page
