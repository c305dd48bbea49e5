"""Results of a round: the indicator table, ranking, weak items, change,
methodology; and the downloads (PDF report, workbook, raw CSV)."""

from __future__ import annotations

import io
from dataclasses import replace

from flask import abort, make_response, render_template, request
from flask_login import current_user, login_required

from .. import vocabulary
from ..exceptions import SetupError
from ..extensions import db
from ..models import Round
from ..queries import access, export, reporting
from ..queries.access import scoped_report
from . import bp
from .auth import round_or_404


def _scope(round_id: int) -> tuple[Round, access.ResultScope]:
    """The round and what the user may see of it (?unit=CODE, ?compare=ID):
    404 for anything outside their reach, 400 for a malformed comparison."""
    round_ = round_or_404(round_id)
    try:
        return round_, access.scope_for(db.session, current_user, round_, request.args.get("unit"),
                                        request.args.get("compare"))
    except access.OutOfReach:
        abort(404)
    except access.BadScopeRequest:
        abort(400)


def _options(scope: access.ResultScope) -> reporting.ReportOptions:
    try:
        return reporting.ReportOptions(
            ci_method=request.args.get("ci", reporting.DEFAULT_CI_METHOD),
            level=float(request.args.get("level", 0.95)),
            compare_to=scope.compare.id if scope.compare is not None else None,
            ranking_indicator=request.args.get("rank_by") or None,
        )
    except (SetupError, ValueError):
        abort(400)


def _report(round_: Round, scope: access.ResultScope):
    try:
        return reporting.round_report(db.session, round_, _options(scope))
    except (SetupError, ValueError):
        abort(400)


#: Why responses are left out on review (not their status): these are counted in the comparison column.
REVIEW_REASONS = (vocabulary.VOIDED.code, vocabulary.INTERVIEWER_EXCLUDED.code)


def _counting_everything(round_: Round, scope: access.ResultScope, report) -> dict | None:
    """(domain, indicator) -> the row computed with every response left out
    on review counted (flagged, voided, of an excluded interviewer), to show
    beside each rate; None when nothing was left out for such a reason."""
    exclusions = report.methodology.exclusions
    if not any(exclusions.get(reason) for reason in (*round_.excluded_flags, *REVIEW_REASONS)):
        return None
    options = replace(_options(scope), excluded_flags=(), excluded_interviewers=(), include_voided=True,
                      compare_to=None)
    try:
        report, _ = reporting.round_report(db.session, round_, options)
    except (SetupError, ValueError):
        abort(400)
    rows = (*report.overall, *report.by_street, *report.by_unit)
    return {(r.domain, r.key): r for r in rows if scope.shows(r.domain)}


@bp.get("/rounds/<id:round_id>/results")
@login_required
def results(round_id: int):
    """The round's results on screen."""
    round_, scope = _scope(round_id)
    report, meta = _report(round_, scope)
    return render_template(
        "console/results.html",
        counting_everything=_counting_everything(round_, scope, report),
        round=round_,
        report=scoped_report(db.session, round_, _options(scope), report, scope),
        meta=meta,
        unit=scope.unit,
        overall=scope.headline(report),
        streets=scope.streets(report),
        communities=scope.communities(report),
        ranking=scope.ranking(report),
        weak_items=scope.weak_items(report),
        unjudged=scope.unjudged(report),
        changes=scope.changes(report),
        options=_options(scope),
        earlier_rounds=access.visible_rounds(db.session, current_user, besides=round_),
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
    from ..renderers.report_pdf import report_pdf as render

    round_, scope = _scope(round_id)
    report, meta = _report(round_, scope)
    unit, sub_units = scope.pdf_units()
    name = f"report-round-{round_.id}" + (f"-{unit}" if unit else "") + ".pdf"
    # Counts cut to the unit as on the page: a staff member never reads the round's totals.
    report = scoped_report(db.session, round_, _options(scope), report, scope)
    body = render(report, meta, unit=unit, sub_units=sub_units)
    return _download(body, "application/pdf", name)


@bp.get("/rounds/<id:round_id>/results.xlsx")
@login_required
def results_workbook(round_id: int):
    """Workbook: summary, by unit, by question, raw responses, codebook."""
    round_, scope = _scope(round_id)
    if not access.can_download_raw(current_user):
        abort(403)
    from questions import codebook_rows

    from ..renderers.report_xlsx import report_workbook

    report, meta = _report(round_, scope)
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
    if not access.can_download_raw(current_user):
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

    round_, scope = _scope(round_id)
    report, meta = _report(round_, scope)
    if chart == "rates":
        figure = charts.rates_chart([r for r in scope.headline(report) if r.kind == "rate"], meta.round_name)
    elif chart == "ranking":
        figure = charts.ranking_chart(scope.ranking(report), report.unit_names, meta.round_name)
    else:
        figure = charts.change_chart(scope.chart_changes(report), meta.round_name)
    response = make_response(charts.figure_png(figure, dpi=110))
    response.mimetype = "image/png"
    return response
