"""Reports as plain rows (dicts): what the JSON API returns, and what the
results page and downloads are checked against."""

from __future__ import annotations

import math

from analysis.report import IndicatorResult, Report

from ..queries.access import ResultScope


def _number(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def indicator_row(row: IndicatorResult, method: str, level: float) -> dict:
    est = row.estimate
    return {
        "indicator": row.key,
        "name": row.name,
        "kind": row.kind,
        "domain": row.domain,
        "domain_name": row.domain_name,
        "n": est.n,
        "estimate": _number(est.estimate),
        "se": _number(est.se),
        "ci_low": _number(row.ci_low),
        "ci_high": _number(row.ci_high),
        "method": method,
        "level": level,
        "deff": _number(est.deff),
        "n_eff": _number(est.n_eff),
        "target": row.target,
        "verdict": row.verdict,
        "p_value": _number(row.p_value),
        "more_needed": row.more_needed,
        "more_needed_exceeds": row.more_needed_exceeds,
        "verdict_reason": row.verdict_reason,
        "note": row.ci_note,
    }


def result_rows(report: Report, by: str, scope: ResultScope | None = None) -> list[dict]:
    """Overall rows, then the rows by ``by`` ("street", "unit" or "none"),
    as far as ``scope`` shows them (None: everything): staff get their own
    unit's rows, never the overall ones."""
    m = report.methodology
    shows = scope.shows if scope is not None else (lambda domain: True)
    domain_rows = {"street": report.by_street, "unit": report.by_unit, "none": []}[by]
    return [indicator_row(r, m.ci_method, m.level) for r in (*report.overall, *domain_rows) if shows(r.domain)]
