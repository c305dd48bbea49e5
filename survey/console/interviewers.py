"""The office's side of a field drill: sign-up codes for volunteer
interviewers (made in batches, printed as cards), the interviewers with
their counts, stopping one, and clearing practice answers."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField
from wtforms.validators import InputRequired, NumberRange

from ..extensions import db
from ..models import Interviewer
from ..models.types import utcnow
from ..queries import fieldwork as fieldwork_queries
from ..renderers.signup_sheet import SignupCard, signup_sheet_pdf
from ..usecases import fieldwork
from . import bp
from .auth import admin_only, round_or_404


class SignupCodesForm(FlaskForm):
    count = IntegerField(_l("How many codes"), default=10,
                         validators=[InputRequired(), NumberRange(1, fieldwork.MAX_CODES_PER_BATCH)])
    units = SelectMultipleField(_l("Units they interview in (none chosen: the whole area)"), choices=[])
    practice_only = BooleanField(_l("Practice interviewers (every answer is practice)"))


class PlainForm(FlaskForm):
    """A button that only needs its CSRF token."""


def _units_label(round_, interviewer: Interviewer) -> str:
    names = {u.id: u.name for u in [round_.unit, *round_.unit.descendants()]}
    return "、".join(names.get(i, "?") for i in interviewer.unit_ids or [])


def _page(round_, form: SignupCodesForm | None = None, problems: list[str] | None = None, status: int = 200):
    form = form or SignupCodesForm()
    form.units.choices = [(u.code, u.full_name) for u in [round_.unit, *round_.unit.descendants()]
                          if u.level != "district"]
    interviewers = fieldwork_queries.interviewers_of(db.session, round_)
    return render_template(
        "console/interviewers.html", round=round_, form=form, problems=problems or [], plain=PlainForm(),
        interviewers=interviewers, counts=fieldwork_queries.counts_by_interviewer(db.session, round_),
        units={i.id: _units_label(round_, i) for i in interviewers},
        practice=fieldwork_queries.practice_count(db.session, round_),
        signup_url=lambda code: fieldwork.signup_url(current_app.config["PUBLIC_BASE_URL"], code),
        state=round_.state_at(utcnow()),
        quality_url=url_for("console.interviewer_quality", round_id=round_.id),
    ), status


@bp.get("/rounds/<id:round_id>/interviewers")
@admin_only
def interviewers(round_id: int):
    """The round's interviewers and sign-up codes."""
    return _page(round_or_404(round_id))


@bp.post("/rounds/<id:round_id>/interviewers")
@admin_only
def create_signup_codes(round_id: int):
    """Make a batch of one-time sign-up codes."""
    round_ = round_or_404(round_id)
    form = SignupCodesForm()
    form.units.choices = [(u.code, u.code) for u in [round_.unit, *round_.unit.descendants()]]
    if not form.validate_on_submit():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return _page(round_, form, problems or [_("Please check the form.")], 422)
    try:
        made = fieldwork.create_signup_codes(db.session, current_user, round_, form.count.data, form.units.data,
                                             practice_only=form.practice_only.data, now=utcnow())
    except fieldwork.FieldworkRefused as exc:
        return _page(round_, form, [str(exc)], 422)
    flash(_("%(n)s sign-up codes made. Print the cards and give one to each interviewer.", n=len(made)), "info")
    return redirect(url_for("console.interviewers", round_id=round_.id), code=303)


@bp.get("/rounds/<id:round_id>/interviewers/codes.pdf")
@admin_only
def signup_sheet(round_id: int):
    """The unclaimed sign-up codes as cards to print and cut."""
    round_ = round_or_404(round_id)
    waiting = fieldwork_queries.unclaimed_codes(db.session, round_)
    if not waiting:
        flash(_("There are no unused sign-up codes to print. Make some first."), "error")
        return redirect(url_for("console.interviewers", round_id=round_.id))
    base = current_app.config["PUBLIC_BASE_URL"]
    pdf = signup_sheet_pdf([SignupCard(round_.name, _units_label(round_, i), i.signup_code,
                                       fieldwork.signup_url(base, i.signup_code), i.practice_only) for i in waiting])
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="signup-codes-{round_.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/interviewers/<id:interviewer_id>/revoke")
@admin_only
def revoke_interviewer(interviewer_id: int):
    """Stop an interviewer's phone (or an unused code); what it sent stays."""
    interviewer = db.session.get(Interviewer, interviewer_id)
    if interviewer is None:
        abort(404)
    round_ = round_or_404(interviewer.round_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        fieldwork.revoke_interviewer(db.session, current_user, interviewer, utcnow())
    except fieldwork.FieldworkRefused as exc:
        flash(str(exc), "error")
    else:
        flash(_("Stopped: that phone can send no more questionnaires."), "info")
    return redirect(url_for("console.interviewers", round_id=round_.id), code=303)


@bp.post("/rounds/<id:round_id>/practice/clear")
@admin_only
def clear_practice(round_id: int):
    """Delete the round's practice answers (they never counted)."""
    round_ = round_or_404(round_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    deleted = fieldwork.clear_practice(db.session, current_user, round_, utcnow())
    flash(_("%(n)s practice questionnaires deleted.", n=deleted), "info")
    return redirect(url_for("console.interviewers", round_id=round_.id), code=303)
