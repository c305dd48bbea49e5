"""Office console: rounds, their QR channels and posters (signing in: ``auth``)."""

from __future__ import annotations

from flask import abort, current_app, make_response, render_template
from flask_login import current_user

from ..extensions import db
from ..models.types import utcnow
from ..queries import access, counts
from ..renderers.qr import channel_posters, channel_url, poster_pdf, qr_png
from . import bp
from .auth import can_change, channel_or_404, round_or_404, signed_in
from .forms import SiteChannelForm, choices
from .setup import site_channel_choices


@bp.get("/")
@signed_in
def rounds():
    """The rounds the user may see, with their state and response counts."""
    visible = access.visible_rounds(db.session, current_user)
    return render_template(
        "console/rounds.html", rounds=visible, now=utcnow(), can_change=can_change(),
        counts=counts.responses_by_round(db.session, access.visible_unit_ids(db.session, current_user)),
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
        counts=counts.responses_by_channel(db.session, round_),
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
