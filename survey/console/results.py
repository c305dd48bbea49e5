"""Results of a round: the indicator table, ranking, weak items, change,
methodology; and the downloads (PDF report, workbook, raw CSV)."""

from __future__ import annotations

import io

from flask import abort, make_response, render_template, request
from flask_login import current_user, login_required

from ..exceptions import SetupError
from ..extensions import db
from ..models import Round, Unit
from ..services import access, export, reporting
from . import bp
from .auth import round_or_404


def _options() -> reporting.ReportOptions:
    compare = request.args.get("compare", "")
    try:
        return reporting.ReportOptions(
            ci_method=request.args.get("ci", reporting.DEFAULT_CI_METHOD),
            level=float(request.args.get("level", 0.95)),
            compare_to=int(compare) if compare else None,
            ranking_indicator=request.args.get("rank_by") or None,
        )
    except (SetupError, ValueError):
        abort(400)


def _report(round_: Round):
    try:
        return reporting.round_report(db.session, round_, _options())
    except (SetupError, ValueError):
        abort(400)


def _unit_filter(round_: Round) -> Unit | None:
    """The unit asked for with ?unit=CODE (staff: their own unit by default)."""
    code = request.args.get("unit")
    visible = access.visible_unit_ids(db.session, current_user)
    if not code:
        if visible is None:
            return None
        return current_user.unit
    unit = db.session.query(Unit).filter_by(code=code).one_or_none()
    if unit is None or (visible is not None and unit.id not in visible):
        abort(404)
    return unit


def _subtree_codes(unit: Unit | None) -> set[str] | None:
    if unit is None:
        return None
    return {unit.code, *(u.code for u in unit.descendants())}


@bp.get("/rounds/<id:round_id>/results")
@login_required
def results(round_id: int):
    """The round's results on screen."""
    round_ = round_or_404(round_id)
    unit = _unit_filter(round_)
    report, meta = _report(round_)
    codes = _subtree_codes(unit)
    earlier_rounds = [r for r in db.session.query(Round).order_by(Round.opens_at.desc()) if r.id != round_.id
                      and access.can_see_round(db.session, current_user, r)]
    return render_template(
        "console/results.html",
        round=round_,
        report=report,
        meta=meta,
        unit=unit,
        overall=report.overall if unit is None else report.rows_for(unit.code),
        streets=[r for r in report.by_street if codes is None or r.domain in codes],
        communities=[r for r in report.by_unit if codes is None or r.domain in codes],
        ranking=[r for r in report.ranking if codes is None or r.unit in codes],
        weak_items=[w for w in report.weak_items if codes is None or w.domain in codes or (w.domain is None and unit is None)],
        unjudged=sum(r.verdict == "insufficient" for r in (
            *(report.overall if unit is None else report.rows_for(unit.code)),
            *(r for r in (*report.by_street, *report.by_unit) if codes is None or r.domain in codes))),
        changes=[c for c in report.changes if codes is None or c.domain in codes or (c.domain is None and unit is None)],
        options=_options(),
        earlier_rounds=earlier_rounds,
        ci_methods=reporting.CI_METHODS,
    )


def _download(body: bytes, mimetype: str, filename: str):
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f"attachment; filename=\"{filename}\""
    return response


@bp.get("/rounds/<id:round_id>/report.pdf")
@login_required
def report_pdf(round_id: int):
    """The PDF rate report for the round, or for one unit (?unit=CODE)."""
    from ..services.report_pdf import report_pdf as render

    round_ = round_or_404(round_id)
    unit = _unit_filter(round_)
    report, meta = _report(round_)
    name = f"report-round-{round_.id}" + (f"-{unit.code}" if unit else "") + ".pdf"
    sub_units = tuple(u.code for u in unit.descendants()) if unit else ()
    body = render(report, meta, unit=unit.code if unit else None, sub_units=sub_units)
    return _download(body, "application/pdf", name)


@bp.get("/rounds/<id:round_id>/results.xlsx")
@login_required
def results_workbook(round_id: int):
    """Workbook: summary, by unit, by question, raw responses, codebook."""
    round_ = round_or_404(round_id)
    if access.visible_unit_ids(db.session, current_user) is not None:
        abort(403)  # raw responses of the whole round are the office's
    from questions import codebook_rows

    from ..services.report_xlsx import report_workbook

    report, meta = _report(round_)
    questionnaire = round_.questionnaire_version.parsed
    raw = export.response_table(db.session, round_)
    body = report_workbook(report, meta, raw, codebook_rows(questionnaire), reporting.option_counts(questionnaire, raw))
    return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"results-round-{round_.id}.xlsx")


@bp.get("/rounds/<id:round_id>/responses.csv")
@login_required
def responses_csv(round_id: int):
    """Raw responses, one row per response (UTF-8 with BOM for Excel)."""
    round_ = round_or_404(round_id)
    if access.visible_unit_ids(db.session, current_user) is not None:
        abort(403)
    out = io.StringIO()
    out.write("\ufeff")
    export.write_responses_csv(db.session, round_, out)
    return _download(out.getvalue().encode("utf-8"), "text/csv", f"responses-round-{round_.id}.csv")


@bp.get("/rounds/<id:round_id>/charts/<any(rates, ranking, change):chart>.png")
@login_required
def chart(round_id: int, chart: str):
    """A results chart as PNG."""
    from analysis import charts

    round_ = round_or_404(round_id)
    unit = _unit_filter(round_)
    report, meta = _report(round_)
    codes = _subtree_codes(unit)
    if chart == "rates":
        rows = report.overall if unit is None else report.rows_for(unit.code)
        figure = charts.rates_chart([r for r in rows if r.kind == "rate"], meta.round_name)
    elif chart == "ranking":
        figure = charts.ranking_chart([r for r in report.ranking if codes is None or r.unit in codes],
                                      report.unit_names, meta.round_name)
    else:
        figure = charts.change_chart([c for c in report.changes if c.domain is None], meta.round_name)
    response = make_response(charts.figure_png(figure, dpi=110))
    response.mimetype = "image/png"
    return response
