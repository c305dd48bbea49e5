"""API tokens for the office's own systems (administrators)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..queries import listings
from ..usecases import api_tokens
from . import bp
from .auth import admin_only


@bp.route("/api-tokens", methods=["GET", "POST"])
@admin_only
def api_token_list():
    """List tokens; create one (shown once) for an account."""
    new_token = None
    if request.method == "POST":
        user = listings.user_by_username(db.session, request.form.get("username", ""))
        name = request.form.get("name", "").strip()
        if user is None or not name:
            flash(_("Give the token a name and an existing account."), "error")
        else:
            new_token = api_tokens.create_token(db.session, user, name, current_user)
    tokens = listings.api_tokens(db.session)
    users = listings.active_users(db.session)
    return render_template("console/api_tokens.html", tokens=tokens, users=users, new_token=new_token)


@bp.post("/api-tokens/<id:token_id>/revoke")
@admin_only
def api_token_revoke(token_id: int):
    api_tokens.revoke_token(db.session, token_id, current_user)
    return redirect(url_for("console.api_token_list"))
