"""Live progress of a round, per unit; the page refreshes itself from the JSON."""

from __future__ import annotations

from flask import jsonify, render_template

from ..extensions import db
from ..models.types import utcnow
from ..services import monitoring
from . import bp
from .auth import round_or_404, signed_in, visible_unit_ids


def _progress(round_id: int) -> monitoring.RoundProgress:
    round_ = round_or_404(round_id)
    return monitoring.round_progress(db.session, round_, utcnow(), visible_unit_ids())


@bp.get("/rounds/<id:round_id>/progress")
@signed_in
def round_progress(round_id: int):
    """Responses today and in total, completion, median time, quality flags."""
    progress = _progress(round_id)
    return render_template("console/progress.html", round=round_or_404(round_id), progress=progress)


@bp.get("/rounds/<id:round_id>/progress.json")
@signed_in
def round_progress_json(round_id: int):
    """The same numbers as JSON (what the page refreshes from)."""
    response = jsonify(_progress(round_id).as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response
