"""Review and privacy pages: a round's responses (flags, mode, interviewer),
one response with its answers and the void / restore form, and a round's
export-then-delete.

Who may do what (decided in ``survey.queries.access``):

    page                          admin   viewer   staff
    a round's responses, answers  read    read     their units' only (404 outside)
    void / restore                yes     403      their units' (404 outside)
    archive download, delete      yes     403      403

Staff review the responses of their own units (the fieldwork they answer
for); the whole round's raw rows (CSV, workbook, archive) stay the office's.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..input_guard import parse_id
from ..models import Response
from ..models.types import utcnow
from ..queries import access
from ..usecases import privacy, review
from ..vocabulary import RESPONSE_MODES
from . import bp
from .auth import admin_only, round_or_404, signed_in


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Give a reason.")),
        Length(max=review.REASON_MAX_LENGTH,
               message=_l("Keep the reason to %(n)s characters or fewer.", n=review.REASON_MAX_LENGTH)),
    ])


class DeleteRoundForm(FlaskForm):
    confirm_name = StringField(_l("The round's name"), validators=[
        DataRequired(message=_l("Type the round's name to confirm.")), Length(max=200)])


def _form_problems(form: FlaskForm) -> list[str]:
    if "csrf_token" in form.errors:
        return [_("The form has expired; please try again.")]
    return [str(e) for errors in form.errors.values() for e in errors]


def retention() -> timedelta:
    return timedelta(days=current_app.config["TECHNICAL_DATA_RETENTION_DAYS"])


@bp.context_processor
def _privacy_helpers():
    """For the round page: when technical data go, and which review links to show."""
    signed = current_user.is_authenticated
    return {
        "technical_data_purge_due": lambda round_: privacy.purge_due_at(round_, retention()),
        "technical_data_retention_days": retention().days,
        "can_read_responses": signed,  # scoped to the user's units on the review pages
        "can_delete_rounds": signed and access.can_change(current_user),
    }


# --- review of single responses -----------------------------------------------------

def _page_number(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else 1


def _response_or_404(response_id: int) -> Response:
    """A response whose round and unit the user may see (404 otherwise, so
    that guessing learns nothing)."""
    response = db.session.get(Response, response_id)
    if (response is None or not access.can_see_round(db.session, current_user, response.round)
            or not access.can_see_unit(db.session, current_user, response.unit)):
        abort(404)
    return response


@bp.get("/rounds/<id:round_id>/review")
@signed_in
def review_responses(round_id: int):
    """The round's responses (staff: their units'), filtered by flag, mode and interviewer."""
    round_ = round_or_404(round_id)
    unit_ids = access.visible_unit_ids(db.session, current_user)
    interviewers = review.round_interviewers(db.session, round_, unit_ids)
    interviewer = parse_id(request.args.get("interviewer"))
    flag = request.args.get("flag")
    listing = review.round_responses(
        db.session, round_, unit_ids=unit_ids, flag=flag if flag in review.FILTERS else None,
        mode=request.args.get("mode"),
        interviewer_id=interviewer if interviewer in {i.id for i in interviewers} else None,
        page=_page_number(request.args.get("page")))
    return render_template("console/review_list.html", round=round_, listing=listing, filters=review.FILTERS,
                           modes=RESPONSE_MODES, interviewers=interviewers,
                           responses=review.round_response_count(db.session, round_, unit_ids))


def _response_page(response: Response, form: ReasonForm | None = None, problems: list[str] | None = None,
                   status: int = 200):
    questionnaire = response.round.questionnaire_version.parsed
    channel = response.channel
    return render_template(
        "console/review_response.html", response=response, round=response.round,
        lines=review.answer_lines(db.session, questionnaire, response.answer_data or {}),
        history=review.review_history(db.session, response), voided_by=review.voided_by(db.session, response),
        entered_by=review.entered_by(db.session, response), modes=RESPONSE_MODES,
        # a neighbour's QR code is not the staff's to name
        channel_shown=channel is not None and access.can_see_unit(db.session, current_user, channel.unit),
        form=form or ReasonForm(), problems=problems or [],
        can_decide=access.can_review_unit(db.session, current_user, response.unit),
        reason_max=review.REASON_MAX_LENGTH,
    ), status


@bp.get("/responses/<id:response_id>")
@signed_in
def review_response(response_id: int):
    """One response: its flags with reasons, its answers, and (reviewers) void / restore."""
    return _response_page(_response_or_404(response_id))


@bp.post("/responses/<id:response_id>/<any(void, restore):action>")
@signed_in
def decide_response(response_id: int, action: str):
    """Void a response, or restore a voided one, with a reason (audited)."""
    response = _response_or_404(response_id)
    if not access.can_review_unit(db.session, current_user, response.unit):
        abort(403)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _response_page(response, form, _form_problems(form), 422)
    decide = review.void_response if action == "void" else review.restore_response
    try:
        decide(db.session, response, current_user, form.reason.data, utcnow())
    except review.ReviewRefused as exc:
        return _response_page(response, form, [str(exc)], 409)
    flash(_("The response is voided: the results leave it out.") if action == "void"
          else _("The response is restored: the results count it again."), "info")
    return redirect(url_for("console.review_response", response_id=response.id))


# --- export, then delete a round ---------------------------------------------------------

@bp.get("/rounds/<id:round_id>/archive.zip")
@admin_only
def round_archive(round_id: int):
    """Everything the round holds, in one zip file (recorded in the audit log)."""
    round_ = round_or_404(round_id)
    now = utcnow()
    archive = privacy.build_archive(db.session, round_, now)
    privacy.record_export(db.session, current_user, round_, archive, now)
    response = make_response(archive.data)
    response.mimetype = "application/zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _delete_page(round_, form: DeleteRoundForm | None = None, problems: list[str] | None = None, status: int = 200):
    now = utcnow()
    return render_template(
        "console/review_delete.html", round=round_, form=form or DeleteRoundForm(), problems=problems or [],
        contents=privacy.round_contents(db.session, round_), state=round_.state_at(now),
        blocked=privacy.deletion_problem(db.session, round_, now),
        exported=privacy.last_export_since_closing(db.session, round_),
    ), status


@bp.get("/rounds/<id:round_id>/delete")
@admin_only
def delete_round_page(round_id: int):
    """Export then delete: the download, and the form that deletes."""
    return _delete_page(round_or_404(round_id))


@bp.post("/rounds/<id:round_id>/delete")
@admin_only
def delete_round(round_id: int):
    """Delete a closed, downloaded round with its name typed to confirm."""
    round_ = round_or_404(round_id)
    form = DeleteRoundForm()
    if not form.validate_on_submit():
        return _delete_page(round_, form, _form_problems(form), 422)
    name = round_.name
    try:
        contents = privacy.delete_round(db.session, current_user, round_, confirm_name=form.confirm_name.data,
                                        now=utcnow())
    except privacy.DeletionRefused as exc:
        return _delete_page(round_, form, [str(exc)], 422)
    flash(_("Round %(name)s deleted with its %(n)s responses.", name=name, n=contents.responses), "info")
    return redirect(url_for("console.rounds"))
