"""The back office's front page, one's own account, and the administrators' account management."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import AccountError, operations
from portal.admin import sessions
from portal.admin.forms import AccountForm, ChangePasswordForm, ConfirmForm, ResetPasswordForm, scope_label
from portal.admin.guard import requires
from portal.db import transaction
from portal.models.types import utcnow


def _me():
    return current_user._get_current_object()


def _account_or_404(account_id: int):
    account = operations.find(account_id)
    if account is None:
        abort(404)
    return account


def _show_refusal(form, refused: AccountError) -> None:
    """Put a domain refusal beside its field (or at the top of the form)."""
    field = getattr(form, refused.field, None) if refused.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(refused)]
    else:
        form.form_errors.append(str(refused))


@requires("use_back_office")
def index():
    """The workbench (工作台): what the signed-in member of staff can do from here."""
    return render_template("admin/index.html")


@requires("use_back_office")
def my_account():
    """One's own account: change the password, see or set up the second factor."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                operations.change_password(_me(), form.current_password.data, form.password.data)
        except AccountError as refused:
            _show_refusal(form, refused)
        else:
            sessions.renew(_me())  # this browser stays signed in; every other one is signed out
            flash(_("密码已修改。其他设备上的登录已失效。"), "success")
            return redirect(url_for("admin.my_account"))
    return render_template("admin/my_account.html", form=form), 400 if form.errors or form.form_errors else 200


@requires("manage_accounts")
def accounts():
    """Every account: role, scope, whether active, TOTP, last sign-in."""
    return render_template("admin/accounts.html", accounts=operations.every_account(), now=utcnow(),
                           scope_label=scope_label)


@requires("manage_accounts")
def account_new():
    """Create an account with its role, scope and an initial password."""
    form = AccountForm()
    form.fill_scope_choices()
    if form.validate_on_submit():
        try:
            with transaction():
                account = operations.create_account(_me(), username=form.username.data,
                                                    password=form.password.data or "", **form.scope())
        except AccountError as refused:
            _show_refusal(form, refused)
        else:
            flash(_("已创建账户 %(name)s。", name=account.username), "success")
            return redirect(url_for("admin.accounts"))
    return (render_template("admin/account_form.html", form=form, account=None),
            400 if form.errors or form.form_errors else 200)


@requires("manage_accounts")
def account_edit(account_id: int):
    """Change an account's name, role, scope or contact (the username stays)."""
    account = _account_or_404(account_id)
    form = AccountForm(obj=None) if request.method == "POST" else AccountForm(formdata=None, data={
        "username": account.username, "display_name": account.display_name, "role": account.role,
        "town": str(account.town_id or ""), "water_body": str(account.water_body_id or ""),
        "department_code": account.department_code or "", "chief": str(account.chief_id or ""),
        "email": account.email or "", "phone": account.phone or ""})
    form.fill_scope_choices()
    form.username.data = account.username  # shown, not changed
    if request.method == "POST" and form.validate():
        try:
            with transaction():
                operations.update_account(_me(), account, **form.scope())
        except AccountError as refused:
            _show_refusal(form, refused)
        else:
            flash(_("已保存账户 %(name)s。", name=account.username), "success")
            return redirect(url_for("admin.accounts"))
    return (render_template("admin/account_form.html", form=form, account=account),
            400 if form.errors or form.form_errors else 200)


@requires("manage_accounts")
def account_set_active(account_id: int):
    """Deactivate (signing out every session) or reactivate an account."""
    account = _account_or_404(account_id)
    form = ConfirmForm()
    activate = request.form.get("active") == "1"
    if form.validate_on_submit():
        try:
            with transaction():
                operations.set_active(_me(), account, activate, reason=form.reason.data)
        except AccountError as refused:
            flash(str(refused), "error")
        else:
            flash(_("已启用账户 %(name)s。", name=account.username) if activate
                  else _("已停用账户 %(name)s，其所有登录已失效。", name=account.username), "success")
    return redirect(url_for("admin.accounts"))


@requires("manage_accounts")
def account_reset_password(account_id: int):
    """Set a temporary password for someone who forgot theirs (and free a locked account)."""
    account = _account_or_404(account_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                operations.reset_password(_me(), account, form.password.data)
        except AccountError as refused:
            _show_refusal(form, refused)
        else:
            if account.id == _me().id:
                sessions.renew(account)
            flash(_("已为 %(name)s 设置临时密码，请当面或通过电话告知，并请其登录后修改。", name=account.username),
                  "success")
            return redirect(url_for("admin.accounts"))
    return (render_template("admin/reset_password.html", form=form, account=account),
            400 if form.errors or form.form_errors else 200)


@requires("manage_accounts")
def account_reset_totp(account_id: int):
    """Remove someone's second factor (a lost phone): they set it up again at their next sign-in."""
    account = _account_or_404(account_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            with transaction():
                operations.reset_totp(_me(), account)
        except AccountError as refused:
            flash(str(refused), "error")
        else:
            flash(_("已重置 %(name)s 的两步验证，其所有登录已失效。", name=account.username), "success")
    return redirect(url_for("admin.accounts"))
