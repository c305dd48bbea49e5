"""Live progress of a round, per unit; the page refreshes itself from the JSON."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user

from ..extensions import db
from ..models import Round
from ..models.types import utcnow
from ..queries import access, progress
from . import bp
from .auth import round_or_404, signed_in


def _progress(round_id: int) -> tuple[Round, progress.RoundProgress]:
    """The round and its progress over the units the user may see (rows,
    subtotals and the total alike)."""
    round_ = round_or_404(round_id)
    visible = access.visible_unit_ids(db.session, current_user)
    return round_, progress.round_progress(db.session, round_, utcnow(), visible)


@bp.get("/rounds/<id:round_id>/progress")
@signed_in
def round_progress(round_id: int):
    """Responses today and in total, completion, median time, quality flags."""
    round_, progress = _progress(round_id)
    return render_template("console/progress.html", round=round_, progress=progress)


@bp.get("/rounds/<id:round_id>/progress.json")
@signed_in
def round_progress_json(round_id: int):
    """The same numbers as JSON (what the page refreshes from)."""
    _, progress = _progress(round_id)
    response = jsonify(progress.as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response
