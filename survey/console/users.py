"""Administrators' pages: accounts and the audit log."""

from __future__ import annotations

import io

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..infrastructure import login_throttle
from ..models import Unit, User
from ..queries import listings
from ..usecases import audit, users
from . import bp
from .auth import SESSION_VERSION_KEY, admin_only
from .forms import ConfirmForm, PasswordResetForm, UserForm, choices


def _user_form() -> UserForm:
    form = UserForm(prefix="new")
    units = listings.all_units(db.session)
    form.unit.choices = choices([(0, "—")] + [(u.id, u.full_name) for u in units])
    return form


def _accounts_page(form: UserForm | None = None, problems: list[str] | None = None, status: int = 200):
    return render_template("console/accounts.html", users=users.list_users(db.session), form=form or _user_form(),
                           reset_form=PasswordResetForm(prefix="reset"), confirm=ConfirmForm(),
                           problems=problems or []), status


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/accounts")
@admin_only
def accounts():
    """Office accounts, with the form to create one."""
    return _accounts_page()


@bp.post("/accounts")
@admin_only
def create_account():
    """Create an account (staff need a unit)."""
    form = _user_form()
    if not form.validate_on_submit():
        return _accounts_page(form, [str(e) for errs in form.errors.values() for e in errs], 422)
    unit = db.session.get(Unit, form.unit.data) if form.unit.data else None
    try:
        user = users.create_user(db.session, current_user, username=form.username.data,
                                 password=form.password.data, role=form.role.data, unit=unit)
    except users.AccountError as exc:
        return _accounts_page(form, [str(exc)], 422)
    flash(_("Account %(name)s created.", name=user.username), "info")
    return redirect(url_for("console.accounts"))


@bp.post("/accounts/<id:user_id>/<any(deactivate, reactivate):action>")
@admin_only
def set_account_active(user_id: int, action: str):
    """Deactivate or reactivate an account."""
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        users.set_active(db.session, current_user, user, action == "reactivate")
    except users.AccountError as exc:
        return _accounts_page(problems=[str(exc)], status=422)
    flash(_("Account %(name)s reactivated.", name=user.username) if action == "reactivate"
          else _("Account %(name)s deactivated.", name=user.username), "info")
    return redirect(url_for("console.accounts"))


@bp.post("/accounts/<id:user_id>/password")
@admin_only
def reset_account_password(user_id: int):
    """Give an account a new password."""
    user = _user_or_404(user_id)
    form = PasswordResetForm(prefix="reset")
    if not form.validate_on_submit():
        return _accounts_page(problems=[str(e) for errs in form.errors.values() for e in errs], status=422)
    users.reset_password(db.session, current_user, user, form.password.data)
    login_throttle.current().unlock_account(user.username)
    if user.id == current_user.id:
        # Resetting one's own password ends one's other sessions, not this one.
        session[SESSION_VERSION_KEY] = user.session_version
    flash(_("New password set for %(name)s.", name=user.username), "info")
    return redirect(url_for("console.accounts"))


@bp.get("/audit")
@admin_only
def audit_log():
    """The audit log, newest first, 50 to a page."""
    page = audit.events_page(db.session, request.args.get("page", 1, type=int))
    return render_template("console/audit.html", page=page, action_label=audit.action_label,
                           target_label=audit.target_label, detail_items=audit.detail_items)


@bp.get("/audit.csv")
@admin_only
def audit_csv():
    """The whole audit log as CSV (cells made inert for spreadsheets)."""
    out = io.StringIO()
    audit.write_csv(db.session, out)
    # A BOM lets Excel on Chinese Windows read the file as UTF-8.
    response = make_response("\ufeff" + out.getvalue())
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
