"""Who may open which console page: decorators and loaders built on
``queries.access``. Pages outside a staff member's units answer 404 (so URL
guessing learns nothing); changes a role may not make answer 403.

    role      reads                          changes
    admin     everything                     everything
    viewer    everything                     nothing (403 on every POST and set-up page)
    staff     own unit and the units below   QR site channels in its units; set-up is read-only

Also signing in and out: a session is good only while it carries the
account's current ``session_version``, which sign-out, a password change or
reset and deactivation raise, so every cookie issued before stops working.
"""

from __future__ import annotations

import math
from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from .. import transactions
from ..extensions import db, login_manager
from ..infrastructure import login_throttle
from ..infrastructure.login_throttle import Refusal
from ..models import Channel, QuestionnaireVersion, Round, Unit, User
from ..queries import access
from ..usecases import signin, users
from . import bp
from .forms import FirstAdminForm, LoginForm, PasswordChangeForm


def signed_in(view):
    """Any active account (what it sees is scoped by the loaders below)."""
    return login_required(view)


def admin_only(view):
    """Set-up pages and changes: office administrators only (403 for others)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not access.can_change(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def can_change() -> bool:
    return access.can_change(current_user)


def visible_unit_ids() -> set[int] | None:
    return access.visible_unit_ids(db.session, current_user)


def round_or_404(round_id: int) -> Round:
    """A round the current user may see (it covers one of their units)."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or not access.can_see_round(db.session, current_user, round_):
        abort(404)
    return round_


def channel_or_404(channel_id: int) -> Channel:
    channel = db.session.get(Channel, channel_id)
    if channel is None or not access.can_see_unit(db.session, current_user, channel.unit):
        abort(404)
    return channel


def unit_or_404(unit_id: int | None) -> Unit:
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None or not access.can_see_unit(db.session, current_user, unit):
        abort(404)
    return unit


def version_or_404(version_id: int) -> QuestionnaireVersion:
    version = db.session.get(QuestionnaireVersion, version_id)
    if version is None:
        abort(404)
    return version


# --- signing in and out --------------------------------------------------------------

#: The account's ``session_version`` when this session signed in.
SESSION_VERSION_KEY = "_session_version"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # A deactivated account, or a session from before the last sign-out or
    # password change, is treated as signed out.
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if user is None or not user.active or session.get(SESSION_VERSION_KEY) != user.session_version:
        return None
    return user


def _start_session(user: User) -> None:
    # Permanent: the session cookie expires after PERMANENT_SESSION_LIFETIME.
    session.permanent = True
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version


def _too_many_attempts(template: str, refusal: Refusal, **context):
    """429 with Retry-After, on the page the attempt came from."""
    minutes = max(1, math.ceil(refusal.retry_after / 60))
    message = _l("Too many failed attempts. To protect the account, try again in %(minutes)s minutes.",
                 minutes=minutes)
    response = current_app.make_response((render_template(template, throttled=message, **context), 429))
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with username and password (throttled per name and per address)."""
    if users.needs_first_admin(db.session):
        return redirect(url_for("console.welcome"))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = signin.sign_in(db.session, login_throttle.current(), username=form.username.data,
                                   password=form.password.data, address=request.remote_addr,
                                   secret_key=current_app.config["SECRET_KEY"])
        transactions.keep_refusal()  # a failed attempt counts towards the lockout
        if outcome.user is not None:
            _start_session(outcome.user)
            return redirect(url_for("console.rounds"))
        if outcome.refused is not None:
            return _too_many_attempts("console/login.html", outcome.refused, form=form)
        flash(_l("Wrong username or password."), "error")
    return render_template("console/login.html", form=form), 200 if request.method == "GET" else 401


@bp.route("/welcome", methods=["GET", "POST"])
def welcome():
    """A fresh install: the first administrator's account, made in the browser
    with the one-time setup code ``flask init-db`` printed (or with
    ``flask create-admin``). Gone for good once any account exists."""
    if not users.needs_first_admin(db.session):
        abort(404)
    form = FirstAdminForm()
    problems: list[str] = []
    if form.validate_on_submit():
        verdict = users.verify_setup_code(db.session, login_throttle.current(), form.setup_code.data,
                                          address=request.remote_addr,
                                          secret_key=current_app.config["SECRET_KEY"])
        if isinstance(verdict, Refusal):
            transactions.keep_refusal()
            return _too_many_attempts("console/welcome.html", verdict, form=form, problems=[])
        if not verdict:
            if not users.needs_first_admin(db.session):
                abort(404)  # another browser made the first account meanwhile (and used up the code)
            transactions.keep_refusal()  # the wrong code counts towards the address's limit
            problems.append(str(_l("The setup code is wrong. It was printed by “flask --app wsgi init-db”; "
                                   "running that command again prints a new one.")))
            return render_template("console/welcome.html", form=form, problems=problems), 403
        try:
            user = users.create_first_admin(db.session, username=form.username.data, password=form.password.data)
            signin.record_sign_in(db.session, user, request.remote_addr, current_app.config["SECRET_KEY"])
        except users.AccountError as exc:
            # Another browser may have made the first account a moment ago:
            # whatever this attempt inserted is undone.
            transactions.doom()
            if not users.needs_first_admin(db.session):
                flash(str(exc), "error")
                return redirect(url_for("console.login"))
            problems.append(str(exc))
        else:
            _start_session(user)
            flash(_l("Welcome. Start with the units: import your district's streets and communities."), "ok")
            return redirect(url_for("console.units"))
    problems += [str(e) for errors in form.errors.values() for e in errors]
    status = 200 if request.method == "GET" else 422
    return render_template("console/welcome.html", form=form, problems=problems), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out, ending every session of the account (other browsers' too)."""
    signin.sign_out(db.session, current_user._get_current_object())
    logout_user()
    session.pop(SESSION_VERSION_KEY, None)
    return redirect(url_for("console.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """A signed-in user's own password. Every other session of the account ends; this one goes on."""
    form = PasswordChangeForm(prefix="own")
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            refusal = users.change_own_password(db.session, login_throttle.current(),
                                                current_user._get_current_object(),
                                                current=form.current.data, new=form.password.data,
                                                address=request.remote_addr)
        except users.AccountError as exc:
            problems.append(str(exc))
        else:
            if refusal is not None:
                return _too_many_attempts("console/password.html", refusal, form=form, problems=[])
            session[SESSION_VERSION_KEY] = current_user.session_version
            flash(_l("Your password has been changed. Other browsers signed in to this account have been signed out."),
                  "info")
            return redirect(url_for("console.rounds"))
    problems += [str(e) for errors in form.errors.values() for e in errors]
    status = 200 if request.method == "GET" else 422
    return render_template("console/password.html", form=form, problems=problems), status
