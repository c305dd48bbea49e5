"""Who may open which console page: decorators and loaders built on
``services.access``. Pages outside a staff member's units answer 404 (so URL
guessing learns nothing); changes a role may not make answer 403.

    role      reads                          changes
    admin     everything                     everything
    viewer    everything                     nothing (403 on every POST and set-up page)
    staff     own unit and the units below   QR site channels in its units; set-up is read-only
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Channel, QuestionnaireVersion, Round, Unit
from ..services import access


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
