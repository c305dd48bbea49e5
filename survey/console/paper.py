"""Paper questionnaires typed in: one fast, keyboard-only page per round.

Who may type in what (``access.paper_entry_communities``):

    role      paper entry
    admin     every community of the round's area
    staff     the communities within their own units (the round: 404 outside them)
    viewer    403
"""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField

from ..extensions import db
from ..models import Round
from ..models.types import utcnow
from ..queries import access
from ..renderers.entry_template import entry_template
from ..usecases import paper_entry
from ..usecases.integrity import current_rules
from . import bp
from .auth import round_or_404, signed_in


class PaperSheetForm(FlaskForm):
    """The CSRF token and the fields kept from sheet to sheet; the answers
    are the questionnaire's own inputs (``q_<id>``), read by the use case."""

    community = SelectField(_l("Community of this batch"), validate_choice=False)
    sheet = StringField(_l("Sheet number (optional)"))
    entry_key = HiddenField()


@bp.context_processor
def _paper_helpers():
    """For the round page: whether to link to paper entry."""
    signed = current_user.is_authenticated

    def may_enter_paper(round_: Round) -> bool:
        return signed and bool(access.paper_entry_communities(db.session, current_user, round_))

    return {"may_enter_paper": may_enter_paper}


def _communities_or_403(round_: Round):
    communities = access.paper_entry_communities(db.session, current_user, round_)
    if not communities:
        abort(403)
    return communities


def _page(round_: Round, communities, form: PaperSheetForm, *, typed: dict | None = None,
          errors: dict | None = None, problems: list[str] | None = None, status: int = 200):
    now = utcnow()
    questionnaire = round_.questionnaire_version.parsed
    return render_template(
        "console/paper_entry.html", round=round_, form=form, communities=communities,
        rows=paper_entry.typed_rows(questionnaire), community_row=paper_entry.community_row(questionnaire),
        typed=typed or {}, errors=errors or {}, problems=problems or [], state=round_.state_at(now),
        entered=paper_entry.entered_count(db.session, round_, current_user),
    ), status


@bp.get("/rounds/<id:round_id>/paper")
@signed_in
def paper_entry_page(round_id: int):
    """The entry page: the batch's community, then one row per question."""
    round_ = round_or_404(round_id)
    communities = _communities_or_403(round_)
    form = PaperSheetForm(formdata=None)
    codes = [u.code for u in communities]
    kept = request.args.get("community", "")
    form.community.data = kept if kept in codes else (codes[0] if len(codes) == 1 else "")
    form.entry_key.data = paper_entry.new_entry_key()
    return _page(round_, communities, form)


@bp.post("/rounds/<id:round_id>/paper")
@signed_in
def enter_paper_sheet(round_id: int):
    """Store one typed-in sheet, then a fresh page for the next (the community kept)."""
    round_ = round_or_404(round_id)
    communities = _communities_or_403(round_)
    form = PaperSheetForm()
    by_code = {u.code: u for u in communities}
    code = (form.community.data or "").strip()
    if code and code not in by_code:
        abort(404)  # another unit's community: URL guessing learns nothing
    typed = {name: value for name, value in request.form.items() if name.startswith("q_")}
    try:
        outcome = paper_entry.enter_sheet(
            db.session, round_, current_user, community=by_code.get(code),
            communities={u.code: u.name for u in communities}, sheet_text=form.sheet.data,
            entry_key=form.entry_key.data, typed=typed, now=utcnow(), rules=current_rules())
    except paper_entry.PaperEntryRefused as exc:
        return _page(round_, communities, form, typed=typed, problems=[str(exc)], status=422)
    if outcome.status == "invalid":
        if paper_entry.KEY_FIELD in outcome.errors:
            form.entry_key.data = paper_entry.new_entry_key()  # a form that lost its key gets a new one
        return _page(round_, communities, form, typed=typed, errors=outcome.errors, status=422)
    if outcome.status == "duplicate" and not outcome.same_answers:
        # The sheet number names another sheet already typed in: keep what
        # was typed, so that a mistyped number is put right, not the sheet lost.
        message = (_("Sheet number %(sheet)s has already been entered; it was not saved again.", sheet=outcome.sheet)
                   if outcome.sheet else _("This questionnaire has already been entered; it was not saved again."))
        hint = _("The answers stored under it differ from these: check the sheet number.")
        return _page(round_, communities, form, typed=typed, errors={paper_entry.SHEET_FIELD: f"{message} {hint}"},
                     status=409)
    if outcome.status == "duplicate":
        flash(_("Sheet number %(sheet)s has already been entered; it was not saved again.", sheet=outcome.sheet)
              if outcome.sheet else _("This questionnaire has already been entered; it was not saved again."), "info")
    else:
        flash(_("Sheet number %(sheet)s saved.", sheet=outcome.sheet) if outcome.sheet
              else _("Saved (no sheet number)."), "ok")
    return redirect(url_for("console.paper_entry_page", round_id=round_.id, community=code))


@bp.get("/rounds/<id:round_id>/paper/template.xlsx")
@signed_in
def paper_entry_template(round_id: int):
    """The paper-entry workbook of the round's questionnaire: filled in Excel
    or WPS from paper questionnaires, then imported (问卷编号 keeps each once)."""
    round_ = round_or_404(round_id)
    communities = _communities_or_403(round_)
    body = entry_template(round_.questionnaire_version.parsed, round_.name, [u.name for u in communities])
    response = make_response(body)
    response.mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"paper-entry-{round_.id}.xlsx\"; filename*=UTF-8''{quote(round_.name)}-paper.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response
