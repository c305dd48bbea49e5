"""GET /api/v1/rounds/<id>/results?by=unit[&unit=CODE] — the same numbers as the report."""

from __future__ import annotations

from flask import g, jsonify, request

from ..exceptions import SetupError
from ..extensions import db
from ..queries import access, reporting
from ..queries.access import scoped_report
from ..renderers import report_words
from ..renderers.result_rows import result_rows
from ..usecases import api_tokens
from . import bp


def _error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = api_tokens.user_for_token(db.session, token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        response = _error(401, "a valid API token is required (Authorization: Bearer <token>)")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    g.api_user = user


@bp.get("/rounds/<id:round_id>/results")
def round_results(round_id: int):
    """The round's indicator results, overall and by street or unit."""
    round_ = access.visible_round(db.session, g.api_user, round_id)
    if round_ is None:
        return _error(404, "no such round")
    by = request.args.get("by", "unit")
    if by not in ("unit", "street", "none"):
        return _error(400, "by must be one of unit, street, none")
    try:
        # ?unit=CODE: that unit's subtree only (staff: their own units at most).
        scope = access.scope_for(db.session, g.api_user, round_, request.args.get("unit"))
    except access.OutOfReach:
        return _error(404, "no such unit")
    try:
        options = reporting.ReportOptions(
            ci_method=request.args.get("ci", reporting.DEFAULT_CI_METHOD),
            level=float(request.args.get("level", 0.95)),
        )
        report, meta = reporting.round_report(db.session, round_, options)
    except (SetupError, ValueError) as exc:
        return _error(400, str(exc))
    m = scoped_report(db.session, round_, options, report, scope).methodology
    return jsonify({
        "round": {"id": round_.id, "name": round_.name, "kind": round_.kind, "area": meta.area_name},
        "methodology": {
            "weighting": m.weighting, "weighting_note": m.weighting_note, "ci_method": m.ci_method, "level": m.level,
            "responses": m.n_rows, "used": m.n_used, "exclusions": dict(m.exclusions), "design": m.design,
            "weighting_text": report_words.weighting_words(m),
            "min_weighting_cell": m.calibration.min_cell if m.calibration else None,
            "verdict_rule": {"min_n": m.verdict_rule.min_n, "reliable_n_eff": m.verdict_rule.reliable_n_eff,
                             "max_width": m.verdict_rule.max_width,
                             "text": report_words.verdict_rule_words(m.verdict_rule)},
        },
        "results": result_rows(report, by, scope),
    })
