"""Office console: sign in, rounds, their QR channels and posters."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, login_manager
from ..models import User
from ..models.types import utcnow
from ..services import access, accounts, progress, users
from ..services.qr import poster_pdf, qr_png
from ..services.rounds import channel_posters, channel_url
from . import bp
from .auth import can_change, channel_or_404, round_or_404, signed_in
from .forms import FirstAdminForm, LoginForm, SiteChannelForm, choices
from .setup import site_channel_choices


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # A deactivated account's open sessions end at its next request.
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with username and password."""
    if users.needs_first_admin(db.session):
        return redirect(url_for("console.welcome"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.username.data, form.password.data)
        if user is not None:
            # Permanent: the session cookie expires after PERMANENT_SESSION_LIFETIME.
            session.permanent = True
            login_user(user)
            return redirect(url_for("console.rounds"))
        flash(_l("Wrong username or password."), "error")
    return render_template("console/login.html", form=form), 200 if request.method == "GET" else 401


@bp.route("/welcome", methods=["GET", "POST"])
def welcome():
    """A fresh install: the first administrator's account, made in the browser
    (or with ``flask create-admin``). Gone for good once any account exists."""
    if not users.needs_first_admin(db.session):
        abort(404)
    form = FirstAdminForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            user = users.create_first_admin(db.session, username=form.username.data, password=form.password.data)
            db.session.commit()
        except users.AccountError as exc:
            db.session.rollback()
            if not users.needs_first_admin(db.session):
                flash(str(exc), "error")
                return redirect(url_for("console.login"))
            problems.append(str(exc))
        else:
            session.permanent = True
            login_user(user)
            flash(_l("Welcome. Start with the units: import your district's streets and communities."), "ok")
            return redirect(url_for("console.units"))
    problems += [str(e) for errors in form.errors.values() for e in errors]
    status = 200 if request.method == "GET" else 422
    return render_template("console/welcome.html", form=form, problems=problems), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("console.login"))


@bp.get("/")
@signed_in
def rounds():
    """The rounds the user may see, with their state and response counts."""
    visible = access.visible_rounds(db.session, current_user)
    return render_template(
        "console/rounds.html", rounds=visible, now=utcnow(), can_change=can_change(),
        counts=progress.responses_by_round(db.session, access.visible_unit_ids(db.session, current_user)),
    )


@bp.get("/rounds/<id:round_id>")
@signed_in
def round_channels(round_id: int):
    """A round's settings and its QR channels (staff: their units' only)."""
    round_ = round_or_404(round_id)
    base = current_app.config["PUBLIC_BASE_URL"]
    channels = access.visible_channels(db.session, current_user, round_)
    form = None
    if access.can_add_site_channels(current_user):
        form = SiteChannelForm()
        form.unit.choices = choices(site_channel_choices(round_, access.visible_unit_ids(db.session, current_user)))
    questionnaire = round_.questionnaire_version.parsed
    return render_template(
        "console/round.html",
        round=round_,
        channels=channels,
        urls={c.id: channel_url(base, c) for c in channels},
        counts=progress.responses_by_channel(db.session, round_),
        now=utcnow(),
        can_change=can_change(),
        site_form=form,
        indicators=questionnaire.indicators,
        targets=round_.effective_targets(),
        quotas=access.visible_quotas(db.session, current_user, round_),
    )


def _pdf(body: bytes, filename: str, disposition: str = "attachment"):
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@bp.get("/rounds/<id:round_id>/posters.pdf")
@signed_in
def round_posters(round_id: int):
    """Every channel's A4 poster in one PDF (staff: their units' channels)."""
    round_ = round_or_404(round_id)
    channels = access.visible_channels(db.session, current_user, round_)
    if not channels:
        abort(404)
    pdf = poster_pdf(channel_posters(current_app.config["PUBLIC_BASE_URL"], channels))
    return _pdf(pdf, f"posters-round-{round_.id}.pdf")


@bp.get("/channels/<id:channel_id>/poster.pdf")
@signed_in
def channel_poster(channel_id: int):
    """One channel's A4 poster."""
    channel = channel_or_404(channel_id)
    pdf = poster_pdf(channel_posters(current_app.config["PUBLIC_BASE_URL"], [channel]))
    return _pdf(pdf, f"poster-{channel.unit.code}-{channel.id}.pdf")


@bp.get("/channels/<id:channel_id>/qr.png")
@signed_in
def channel_qr(channel_id: int):
    """One channel's QR code as PNG."""
    channel = channel_or_404(channel_id)
    response = make_response(qr_png(channel_url(current_app.config["PUBLIC_BASE_URL"], channel)))
    response.mimetype = "image/png"
    response.headers["Content-Disposition"] = f'attachment; filename="qr-{channel.unit.code}-{channel.id}.png"'
    return response
