"""Interviewer quality: each interviewer's figures and the flags that suggest
made-up interviews, what leaving each one's responses out does to every
overall rate, and (administrators) leaving them out or counting them again.

    page                      admin   viewer   staff
    interviewer quality       read    read     403 (404 outside their units)
    exclude / include         yes     403      403
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from .. import vocabulary
from ..extensions import db
from ..models import Interviewer, Round
from ..models.types import utcnow
from ..queries import access
from ..queries import interviewer_quality as quality
from ..usecases import interviewer_exclusion as exclusion
from . import bp
from .auth import admin_only, round_or_404, signed_in


class ExclusionForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Give a reason.")),
        Length(max=exclusion.REASON_MAX_LENGTH,
               message=_l("Keep the reason to %(n)s characters or fewer.", n=exclusion.REASON_MAX_LENGTH)),
    ])


@bp.context_processor
def _quality_helpers():
    """For the round page: whether to link to interviewer quality."""
    signed = current_user.is_authenticated
    return {"can_read_interviewer_quality": signed and access.can_read_interviewer_quality(current_user)}


def _page(round_: Round, problems: list[str] | None = None, status: int = 200):
    return render_template(
        "console/interviewer_quality.html", round=round_, page=quality.quality_page(db.session, round_),
        form=ExclusionForm(), problems=problems or [], can_decide=access.can_change(current_user),
        flag_terms=vocabulary.INTERVIEWER_FLAGS, reason_max=exclusion.REASON_MAX_LENGTH,
    ), status


@bp.get("/rounds/<id:round_id>/interviewers/quality")
@signed_in
def interviewer_quality(round_id: int):
    """Per interviewer: counts, durations, answers, flags, and the effect of leaving them out."""
    round_ = round_or_404(round_id)
    if not access.can_read_interviewer_quality(current_user):
        abort(403)
    return _page(round_)


@bp.post("/interviewers/<id:interviewer_id>/<any(exclude, include):action>")
@admin_only
def decide_interviewer(interviewer_id: int, action: str):
    """Leave an interviewer's responses out of the round's results, or count them again (with a reason, audited)."""
    interviewer = db.session.get(Interviewer, interviewer_id)
    if interviewer is None:
        abort(404)
    round_ = round_or_404(interviewer.round_id)
    form = ExclusionForm()
    if not form.validate_on_submit():
        return _page(round_, [f"{interviewer.label}：{e}" for errors in form.errors.values() for e in errors], 422)
    decide = exclusion.exclude_interviewer if action == "exclude" else exclusion.include_interviewer
    try:
        decide(db.session, current_user, interviewer, form.reason.data, utcnow())
    except exclusion.ExclusionRefused as exc:
        return _page(round_, [f"{interviewer.label}：{exc}"], 409)
    if action == "exclude":
        flash(_("%(name)s: their responses are left out of the round's results.", name=interviewer.label), "info")
    else:
        flash(_("%(name)s: their responses are counted in the round's results again.", name=interviewer.label),
              "info")
    return redirect(url_for("console.interviewer_quality", round_id=round_.id), code=303)
