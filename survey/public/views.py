"""Resident pages: open a QR link, answer, get thanked."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..exceptions import AlreadyResponded
from ..extensions import db
from ..models.types import utcnow
from ..renderers.qr import channel_posters, channel_url, poster_pdf, qr_png, qr_svg
from ..usecases import integrity, submission
from . import bp
from .forms import AnswerForm, raw_answers


def _device_id() -> str | None:
    """The device as stored: the cookie's keyed hash, never the cookie itself."""
    cookie = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    return submission.device_hash(current_app.config["SECRET_KEY"], cookie)


def _with_device_cookie(response, device_id: str | None):
    if device_id is None:
        response.set_cookie(
            current_app.config["DEVICE_COOKIE_NAME"],
            secrets.token_urlsafe(16),
            max_age=current_app.config["DEVICE_COOKIE_MAX_AGE"],
            httponly=True,
            samesite="Lax",
        )
    return response


def _render_form(channel, form, answer_set=None, raw=None, status=200, expired=False):
    questionnaire = channel.round.questionnaire_version.parsed
    html = render_template(
        "public/form.html",
        channel=channel,
        questionnaire=questionnaire,
        form=form,
        raw=raw or {},
        errors=answer_set.errors if answer_set else {},
        expired=expired,
        communities=submission.community_options(db.session, channel),
        locale=str(get_locale()),
    )
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return _with_device_cookie(response, _device_id())


@bp.get("/s/<token>")
def questionnaire(token: str):
    """Show the questionnaire behind a QR code."""
    channel = submission.find_channel(db.session, token)
    now = utcnow()
    submission.ensure_open(channel.round, now)
    if submission.device_has_responded(db.session, channel.round, _device_id()):
        raise AlreadyResponded(channel.token)
    form = AnswerForm()
    form.ticket.data = submission.issue_ticket(current_app.config["SECRET_KEY"], channel, now)
    return _render_form(channel, form)


@bp.post("/s/<token>")
def submit(token: str):
    """Store the answers once and send the resident to the thank-you page."""
    channel = submission.find_channel(db.session, token)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)  # CSRF failure; the error page explains, the phone keeps the answers
    ticket = submission.read_ticket(current_app.config["SECRET_KEY"], form.ticket.data, channel)
    raw = raw_answers(request.form)
    outcome = submission.submit_response(
        db.session,
        channel,
        ticket,
        raw,
        device_id=_device_id(),
        network=submission.network_hash(current_app.config["SECRET_KEY"], request.remote_addr),
        now=utcnow(),
        locale=str(get_locale()),
        rules=integrity.rules_from_config(current_app.config),
        ticket_lifetime=timedelta(seconds=current_app.config["TICKET_LIFETIME_SECONDS"]),
    )
    if outcome.status == "invalid":
        return _render_form(channel, form, outcome.answer_set, raw, status=422)
    if outcome.status == "expired":
        # The answers come back on a fresh form; sending it again stores them.
        form.ticket.data = submission.issue_ticket(current_app.config["SECRET_KEY"], channel, utcnow(),
                                                   started_at=ticket.started_at)
        return _render_form(channel, form, None, raw, status=409, expired=True)
    return redirect(url_for("public.thanks", token=token, key=ticket.submission_key), code=303)


@bp.get("/s/<token>/done/<key>")
def thanks(token: str, key: str):
    """The thank-you page, with the questionnaire's knowledge card."""
    channel = submission.find_channel(db.session, token)
    response = submission.find_response(db.session, key)
    if response is None or response.channel_id != channel.id:
        abort(404)
    questionnaire = channel.round.questionnaire_version.parsed
    return render_template(
        "public/thanks.html",
        channel=channel,
        questionnaire=questionnaire,
        response=response,
        submission_key=key,
        locale=str(get_locale()),
    )



@bp.get("/s/<token>/qr.<any(png, svg):fmt>")
def qr_code(token: str, fmt: str):
    """The channel's QR code image (PNG or SVG) encoding its absolute URL."""
    channel = submission.find_channel(db.session, token)
    url = channel_url(current_app.config["PUBLIC_BASE_URL"], channel)
    body, mimetype = (qr_png(url), "image/png") if fmt == "png" else (qr_svg(url), "image/svg+xml")
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'inline; filename="qr-{channel.unit.code}.{fmt}"'
    return response


@bp.get("/s/<token>/poster.pdf")
def poster(token: str):
    """The channel's printable A4 poster."""
    channel = submission.find_channel(db.session, token)
    pdf = poster_pdf(channel_posters(current_app.config["PUBLIC_BASE_URL"], [channel]))
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="poster-{channel.unit.code}.pdf"'
    return response
