"""A round's rate report as data: every number the office's results page,
PDF, workbook and API show, computed once here from plain arrays.

The app extracts the arrays from its database (``survey.queries.reporting``);
analysts can build a :class:`ReportInput` from any source. Rendering (HTML,
PDF, Excel, JSON) only formats a :class:`Report`; it computes nothing.

Design used for a drill: strata = street (every street is surveyed), no
clustering (respondents are reached individually by QR code or interviewer),
weights calibrated to the population by street x gender x age group when
population figures are available -- cells with fewer than ``min_cell``
respondents merged with neighbours, raking to the margins when cells stay
thin, extreme weights trimmed (:func:`analysis.calibration.calibrate`) --
else unweighted. Verdicts follow :class:`analysis.targets.VerdictRule`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from .calibration import DEFAULT_MIN_CELL, DEFAULT_TRIM_RATIO, CalibrationReport, calibrate
from .compare import Difference, compare_rounds
from .design import SurveyDesign, factorize
from .errors import AnalysisError
from .estimators import estimate_rates, satisfaction_index
from .intervals import CI_METHODS, DEFAULT_CI_METHOD
from .ranking import RankedUnit, rank_units
from .results import Estimate
from .targets import DEFAULT_VERDICT_RULE, VerdictRule, target_verdict
from .weighting import weight_diagnostics

__all__ = [
    "ChangeRow",
    "IndicatorResult",
    "IndicatorSpec",
    "Methodology",
    "Report",
    "ReportInput",
    "ReportMeta",
    "WeakItem",
    "build_report",
]

#: How many weak items the report lists.
WEAK_ITEMS = 10


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator to report: ``kind`` "rate" (0/1 values) or "index" (0-100 scores)."""

    key: str
    name: str
    target: float | None = None
    kind: str = "rate"


@dataclass(frozen=True)
class ReportInput:
    """Respondent-level arrays (all of length n_rows) and what describes them.

    ``values[key]``: 1/0/NaN for rates (NaN = not in the denominator), scores
    for an index. ``dont_know[key]``: True where the answer was one that is
    excluded from the denominator ("don't know", 不了解). ``excluded``: rows
    left out (screened out, quality flags); ``exclusions`` counts them by reason.
    ``population``: cells ``({"street", "gender", "age_group"}, count)`` or None.
    """

    indicators: Sequence[IndicatorSpec]
    values: Mapping[str, np.ndarray]
    dont_know: Mapping[str, np.ndarray]
    unit: np.ndarray
    street: np.ndarray
    gender: np.ndarray
    age_group: np.ndarray
    excluded: np.ndarray
    exclusions: Mapping[str, int]
    unit_names: Mapping[str, str]
    street_names: Mapping[str, str]
    population: Sequence[tuple[dict, float]] | None = None
    level: float = 0.95
    ci_method: str = DEFAULT_CI_METHOD
    min_cell: int = DEFAULT_MIN_CELL
    trim_ratio: float | None = DEFAULT_TRIM_RATIO
    verdict_rule: VerdictRule = DEFAULT_VERDICT_RULE


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator's estimate for the whole area (``domain`` None) or one unit."""

    key: str
    name: str
    kind: str
    domain: str | None
    domain_name: str | None
    estimate: Estimate
    ci_low: float
    ci_high: float
    ci_note: str | None
    target: float | None
    verdict: str | None  # "pass", "fail", "undecided", "insufficient"; None without a target
    p_value: float | None
    more_needed: int | None
    #: ``more_needed`` is a bound: "more than this many" interviews.
    more_needed_exceeds: bool = False
    #: Why the verdict is "insufficient": "few_respondents" or "imprecise".
    verdict_reason: str | None = None

    @property
    def rate(self) -> float:
        return self.estimate.estimate

    @property
    def n(self) -> int:
        return self.estimate.n


@dataclass(frozen=True)
class WeakItem:
    """An indicator where residents "don't know or are not satisfied"."""

    key: str
    name: str
    domain: str | None
    domain_name: str | None
    rate: float
    ci_low: float
    ci_high: float
    target: float | None
    verdict: str | None
    dont_know_share: float  # share of answers excluded as "don't know"


@dataclass(frozen=True)
class ChangeRow:
    """Change of an indicator since an earlier round."""

    key: str
    name: str
    domain: str | None
    domain_name: str | None
    difference: Difference

    @property
    def significant(self) -> bool:
        return self.difference.significant


@dataclass(frozen=True)
class Methodology:
    """How the numbers were computed, for the report's last section."""

    weighting: str  # "poststratified", "raked" or "unweighted"
    weighting_note: str | None
    cells: int
    collapsed_cells: int
    ci_method: str
    level: float
    n_rows: int
    n_used: int
    exclusions: Mapping[str, int]
    kish_deff: float
    weight_ratio: float
    design: str = "strata: street; no clustering"
    #: What the weighting did, step by step (None: no population figures).
    calibration: CalibrationReport | None = None
    verdict_rule: VerdictRule = DEFAULT_VERDICT_RULE


@dataclass(frozen=True)
class Report:
    overall: list[IndicatorResult]
    by_street: list[IndicatorResult]
    by_unit: list[IndicatorResult]
    ranking: list[RankedUnit]
    ranking_basis: str
    weak_items: list[WeakItem]
    changes: list[ChangeRow]
    methodology: Methodology
    unit_names: Mapping[str, str] = field(default_factory=dict)
    #: Every weak item, worst first; ``weak_items`` is its head. A view of a
    #: few units takes its own head from here, not from the whole area's.
    all_weak_items: list[WeakItem] = field(default_factory=list)

    def rows_for(self, domain: str | None) -> list[IndicatorResult]:
        """The indicator rows of one unit or street (None: the whole area)."""
        if domain is None:
            return self.overall
        return [r for r in (*self.by_street, *self.by_unit) if r.domain == domain]


@dataclass(frozen=True)
class ReportMeta:
    """What the report is about, for covers and headings (no numbers)."""

    round_name: str
    round_kind: str  # "drill" or "official"
    area_name: str
    generated_at: datetime
    compared_round_name: str | None = None
    #: Unit code -> level ("street" / "community"), for headings.
    unit_levels: Mapping[str, str] = field(default_factory=dict)


def _weighted_design(data: ReportInput) -> tuple[SurveyDesign, Methodology]:
    n_rows = len(data.unit)
    base = SurveyDesign(strata=data.street, excluded=data.excluded, lonely_psu="adjust")
    weighting, note, cells, collapsed, calibration = "unweighted", None, 0, 0, None
    design = base
    if data.population:
        try:
            design, calibration = calibrate(
                base,
                {"street": data.street, "gender": data.gender, "age_group": data.age_group},
                data.population,
                min_cell=data.min_cell,
                trim_ratio=data.trim_ratio,
            )
            weighting, cells, collapsed = calibration.method, calibration.groups, calibration.n_merged
            if weighting == "unweighted":
                note = "every weighting margin too thin; unweighted"
        except AnalysisError as exc:
            note = f"population figures not usable ({exc}); unweighted"
    else:
        note = "no population figures; unweighted"
    diagnostics = weight_diagnostics(design)
    methodology = Methodology(
        weighting=weighting,
        weighting_note=note,
        cells=cells,
        collapsed_cells=collapsed,
        ci_method=data.ci_method,
        level=data.level,
        n_rows=n_rows,
        n_used=n_rows - int(np.count_nonzero(data.excluded)),
        exclusions=dict(data.exclusions),
        kish_deff=diagnostics.kish_deff,
        weight_ratio=diagnostics.ratio,
        calibration=calibration,
        verdict_rule=data.verdict_rule,
    )
    return design, methodology


def _estimates(design: SurveyDesign, data: ReportInput, by: np.ndarray | None) -> list[Estimate]:
    labels = None
    if by is not None:
        # Code the domains once (text sorts slowly) and hand the estimators integers.
        codes, labels = factorize(by, name="domain")
        if np.any(codes < 0):
            labels = None
        else:
            by = codes
    rates = {s.key: data.values[s.key] for s in data.indicators if s.kind == "rate"}
    found = estimate_rates(design, rates, by=by) if rates else []
    for spec in data.indicators:
        if spec.kind == "index":
            found += satisfaction_index(design, data.values[spec.key], by=by, indicator=spec.key)
    if labels is None:
        return found
    return [e if e.domain is None else replace(e, domain=str(labels[int(e.domain)])) for e in found]


def _results(estimates: list[Estimate], data: ReportInput, names: Mapping[str, str]) -> list[IndicatorResult]:
    specs = {s.key: s for s in data.indicators}
    rows = []
    for est in estimates:
        if est.n == 0:
            continue
        spec = specs[est.indicator]
        interval = est.ci(level=data.level, method=data.ci_method)
        verdict = p_value = more = reason = None
        exceeds = False
        if spec.target is not None:
            decided = target_verdict(est, spec.target, level=data.level, method=data.ci_method,
                                     rule=data.verdict_rule)
            verdict, p_value, more = decided.verdict, decided.p_value, decided.more_needed
            exceeds, reason = decided.more_needed_exceeds, decided.reason
        rows.append(
            IndicatorResult(
                key=spec.key, name=spec.name, kind=spec.kind, domain=est.domain,
                domain_name=names.get(est.domain) if est.domain is not None else None,
                estimate=est, ci_low=interval.low, ci_high=interval.high, ci_note=interval.note,
                target=spec.target, verdict=verdict, p_value=p_value, more_needed=more,
                more_needed_exceeds=exceeds, verdict_reason=reason,
            )
        )
    return rows


def _weak_items(rows: list[IndicatorResult], data: ReportInput, domain_of: np.ndarray | None) -> list[WeakItem]:
    used = ~np.asarray(data.excluded, dtype=bool)
    if domain_of is None:
        codes, column_of = np.zeros(len(used), dtype=np.intp), {None: 0}
    else:
        codes, labels = factorize(domain_of, name="domain")
        used &= codes >= 0
        column_of = {str(label): j for j, label in enumerate(labels)}
    k = max(column_of.values(), default=-1) + 1
    counted: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # key -> ("don't know", answered) by domain
    items = []
    for r in rows:
        if r.kind != "rate" or r.domain not in column_of or r.verdict_reason == "few_respondents":
            continue  # a unit of a few answers is not shown to be weak: it is unjudged
        if r.key not in counted:
            dont_know = data.dont_know[r.key] & used
            answered = (~np.isnan(data.values[r.key]) & used) | dont_know
            counted[r.key] = (np.bincount(codes[dont_know], minlength=k), np.bincount(codes[answered], minlength=k))
        dont_know_n, answered_n = (c[column_of[r.domain]] for c in counted[r.key])
        share = float(dont_know_n / answered_n) if answered_n else 0.0
        items.append(WeakItem(r.key, r.name, r.domain, r.domain_name, r.rate, r.ci_low, r.ci_high,
                              r.target, r.verdict, share))
    return items


def build_report(
    data: ReportInput,
    previous: Report | None = None,
    ranking_indicator: str | None = None,
) -> Report:
    """Compute the whole report.

    Parameters
    ----------
    data : ReportInput
    previous : Report, optional
        The earlier round's report, for the change section (independent samples,
        :func:`analysis.compare.compare_rounds`).
    ranking_indicator : str, optional
        Rank units by this indicator; default: the equally weighted composite
        of all rate indicators (:func:`analysis.ranking.rank_units`).

    Raises
    ------
    ValueError
        Unknown interval method or ranking indicator.
    """
    if data.ci_method not in CI_METHODS:
        raise ValueError(f"unknown interval method {data.ci_method!r}; use one of {', '.join(CI_METHODS)}")
    rate_keys = [s.key for s in data.indicators if s.kind == "rate"]
    if ranking_indicator is not None and ranking_indicator not in rate_keys:
        raise ValueError(f"unknown ranking indicator {ranking_indicator!r}; use one of {', '.join(rate_keys)}")
    if np.count_nonzero(~np.asarray(data.excluded, dtype=bool)) == 0:
        return _empty_report(data)
    design, methodology = _weighted_design(data)
    overall = _results(_estimates(design, data, None), data, {})
    by_street = [r for r in _results(_estimates(design, data, data.street), data, data.street_names) if r.domain]
    by_unit = [r for r in _results(_estimates(design, data, data.unit), data, data.unit_names) if r.domain]

    ranking: list[RankedUnit] = []
    unit_rates = [r.estimate for r in by_unit if r.kind == "rate"]
    if len({e.domain for e in unit_rates}) >= 2:
        if ranking_indicator is not None:
            ranking = rank_units(unit_rates, indicator=ranking_indicator, level=data.level)
            basis = ranking_indicator
        else:
            ranking = rank_units(unit_rates, weights={k: 1.0 for k in rate_keys}, level=data.level)
            basis = "composite"
    else:
        basis = ranking_indicator or "composite"

    weak = _weak_items(overall, data, None) + _weak_items(by_unit, data, data.unit)
    weak = [w for w in weak if w.verdict != "pass"]
    weak.sort(key=lambda w: (w.rate - (w.target or 0.0), -w.dont_know_share))

    changes: list[ChangeRow] = []
    if previous is not None:
        before = {(r.key, r.domain): r for r in (*previous.overall, *previous.by_unit)}
        for r in (*overall, *by_unit):
            earlier = before.get((r.key, r.domain))
            # a change resting on a few answers in either round is not reported
            if earlier is not None and r.kind == "rate" and min(r.n, earlier.n) >= data.verdict_rule.min_n:
                changes.append(ChangeRow(r.key, r.name, r.domain, r.domain_name,
                                         compare_rounds(earlier.estimate, r.estimate, level=data.level)))
    return Report(
        overall=overall,
        by_street=by_street,
        by_unit=by_unit,
        ranking=ranking,
        ranking_basis=basis,
        weak_items=weak[:WEAK_ITEMS],
        all_weak_items=weak,
        changes=changes,
        methodology=methodology,
        unit_names={**data.street_names, **data.unit_names},
    )


def _empty_report(data: ReportInput) -> Report:
    """Nothing to estimate yet (no responses, or every one left out)."""
    n_rows = len(data.unit)
    methodology = Methodology(
        weighting="unweighted", weighting_note="no usable responses", cells=0, collapsed_cells=0,
        ci_method=data.ci_method, level=data.level, n_rows=n_rows, n_used=0,
        exclusions=dict(data.exclusions), kish_deff=float("nan"), weight_ratio=float("nan"),
        verdict_rule=data.verdict_rule,
    )
    return Report(overall=[], by_street=[], by_unit=[], ranking=[], ranking_basis="composite",
                  weak_items=[], changes=[], methodology=methodology,
                  unit_names={**data.street_names, **data.unit_names})
