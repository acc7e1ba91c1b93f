"""Signing in (password, then the code when the account has TOTP), signing out, TOTP enrolment."""
from __future__ import annotations

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import i18n
from portal.accounts import AccountError, operations, totp
from portal.admin import sessions
from portal.admin.forms import CodeForm, LoginForm
from portal.admin.guard import before_enrolment, must_enrol, open_to_anyone, requires
from portal.db import transaction
from portal.extensions import limiter
from portal.templating import format_datetime, site_name

ENROL_KEY = "admin_enrol_secret"  # the secret being enrolled, until a code confirms it


def _login_limit() -> str:
    """Sign-in POSTs per address (password and code steps share the budget)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


login_limit = limiter.shared_limit(_login_limit, scope="admin-login", methods=["POST"])


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a back-office path of this site, else None (never an open redirect)."""
    path = i18n.local_path(target or "")
    if path is None or not (path == "/admin" or path.startswith("/admin/")) or path.startswith("/admin/login"):
        return None
    return path


def _after_sign_in(account, next_path: str | None):
    """Where a completed sign-in leads: enrolment for an administrator without TOTP, else ``next``."""
    if must_enrol(account):
        return redirect(url_for("admin.enrol_totp"))
    return redirect(safe_next(next_path) or url_for("admin.index"))


def _locked_message(result) -> str:
    return _("多次登录失败，账户已暂时锁定，请于 %(time)s 之后再试，或请管理员重置密码。",
             time=format_datetime(result.locked_until))


@open_to_anyone
@login_limit
def login():
    """The password step; one message for every failure, never saying which part was wrong."""
    if current_user.is_authenticated:
        return _after_sign_in(current_user, request.args.get("next"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    error = None
    if form.validate_on_submit():
        with transaction():
            result = operations.check_password(form.username.data, form.password.data,
                                               address=request.remote_addr)
        if result.status == "needs_code":
            sessions.hold_pending(result.account, safe_next(form.next.data))
            return redirect(url_for("admin.login_code"))
        if result.status == "signed_in":
            sessions.start(result.account)
            return _after_sign_in(result.account, form.next.data)
        error = _locked_message(result) if result.status == "locked" else _("用户名或密码不正确。")
    status = 200 if error is None and not form.errors else 400 if error is None else 401
    return render_template("admin/login.html", form=form, error=error), status


@open_to_anyone
@login_limit
def login_code():
    """The code step, within a few minutes of the password step; a used code is refused."""
    account, next_path = sessions.pending()
    if account is None:
        flash(_("登录已超时，请重新输入用户名和密码。"), "error")
        return redirect(url_for("admin.login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        with transaction():
            result = operations.check_code(account, form.code.data, address=request.remote_addr)
        if result.status == "signed_in":
            sessions.start(account)
            return _after_sign_in(account, next_path)
        if result.status == "locked":
            sessions.drop_pending()
            flash(_locked_message(result), "error")
            return redirect(url_for("admin.login"))
        error = _("验证码不正确或已使用过，请输入手机上显示的新验证码。")
    status = 200 if error is None and not form.errors else 400 if error is None else 401
    return render_template("admin/login_code.html", form=form, error=error), status


@open_to_anyone
def logout():
    """Sign out (a POST with its CSRF token, so no link elsewhere can sign a member of staff out)."""
    if current_user.is_authenticated:
        account = current_user._get_current_object()
        with transaction():
            operations.sign_out(account, address=request.remote_addr)
    sessions.end()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("admin.login"))


@requires("use_back_office")
@before_enrolment
def enrol_totp():
    """Enrol an authenticator app: the secret as text and as a QR code, confirmed by one code."""
    account = current_user._get_current_object()
    if account.totp_enabled:
        flash(_("两步验证已启用。"), "info")
        return redirect(url_for("admin.my_account"))
    secret = session.get(ENROL_KEY)
    if not secret:
        secret = session[ENROL_KEY] = totp.new_secret()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            with transaction():
                operations.enrol_totp(account, secret, form.code.data)
        except AccountError as refused:
            form.code.errors = [str(refused)]
        else:
            session.pop(ENROL_KEY, None)
            flash(_("两步验证已启用：以后登录时，请在输入密码后输入手机上的验证码。"), "success")
            return redirect(url_for("admin.index"))
    uri = totp.provisioning_uri(secret, account.username, site_name())
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, title=_("两步验证二维码"))
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("admin/enrol_totp.html", form=form, secret=grouped, qr_svg=qr_svg,
                           required=must_enrol(account)), 400 if form.errors else 200
