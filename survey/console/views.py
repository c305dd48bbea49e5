"""Office console: sign in, rounds, their QR channels and posters."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..extensions import db, login_manager
from ..models import Round, User
from ..models.types import utcnow
from ..services import accounts, progress
from ..services.qr import poster_pdf
from ..services.rounds import channel_posters, channel_url
from . import bp
from .forms import LoginForm


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def admin_required(view):
    """Round-wide pages and downloads are for office administrators (staff
    scoping per unit comes with the full console)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with username and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.username.data, form.password.data)
        if user is not None:
            session.permanent = True
            login_user(user)
            return redirect(url_for("console.rounds"))
        flash(_l("Wrong username or password."), "error")
    return render_template("console/login.html", form=form), 200 if request.method == "GET" else 401


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("console.login"))


@bp.get("/")
@admin_required
def rounds():
    """All rounds with their state and response counts."""
    all_rounds = db.session.scalars(select(Round).order_by(Round.opens_at.desc())).all()
    return render_template(
        "console/rounds.html", rounds=all_rounds, counts=progress.responses_by_round(db.session), now=utcnow()
    )


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        abort(404)
    return round_


@bp.get("/rounds/<int:round_id>")
@admin_required
def round_channels(round_id: int):
    """A round's QR channels, with their codes, posters and counts."""
    round_ = _round_or_404(round_id)
    base = current_app.config["PUBLIC_BASE_URL"]
    return render_template(
        "console/round.html",
        round=round_,
        urls={c.id: channel_url(base, c) for c in round_.channels},
        counts=progress.responses_by_channel(db.session, round_),
        now=utcnow(),
    )


@bp.get("/rounds/<int:round_id>/posters.pdf")
@admin_required
def round_posters(round_id: int):
    """Every channel's A4 poster in one PDF."""
    round_ = _round_or_404(round_id)
    if not round_.channels:
        abort(404)
    pdf = poster_pdf(channel_posters(current_app.config["PUBLIC_BASE_URL"], round_.channels))
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="posters-round-{round_.id}.pdf"'
    return response
