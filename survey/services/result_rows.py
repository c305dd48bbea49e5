"""Reports as plain rows (dicts): what the JSON API returns, and what the
results page and downloads are checked against."""

from __future__ import annotations

import math

from analysis.report import IndicatorResult, Report


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


def result_rows(report: Report, by: str, visible: set[str] | None = None) -> list[dict]:
    """Overall rows, then the rows by ``by`` ("street", "unit" or "none"),
    leaving out units outside ``visible`` (codes; None = all)."""
    m = report.methodology
    rows = [indicator_row(r, m.ci_method, m.level) for r in report.overall] if visible is None else []
    domain_rows = {"street": report.by_street, "unit": report.by_unit, "none": []}[by]
    rows += [indicator_row(r, m.ci_method, m.level) for r in domain_rows if visible is None or r.domain in visible]
    return rows
