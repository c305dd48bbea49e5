"""League tables of streets and communities with rank intervals.

Offices rank units (名次) and name the ones that lag. Point ranks overstate
what a drill can tell: two communities 3 points apart with 40 interviews each
are not distinguishable. Following Goldstein and Spiegelhalter (1996), every
rank comes with an interval from a parametric bootstrap of the unit scores,
and :func:`is_ahead` says whether one unit is distinguishably ahead of another
(the interval of their difference excludes 0). A report must only say "A
beats B" when :func:`is_ahead` is true.

References
----------
.. [1] Goldstein, H. and Spiegelhalter, D. J. (1996). League tables and their
   limitations: statistical issues in comparisons of institutional
   performance. *Journal of the Royal Statistical Society A* 159(3), 385-443.
.. [2] Marshall, E. C. and Spiegelhalter, D. J. (1998). Reliability of league
   tables of in vitro fertilisation clinics: retrospective analysis of live
   birth rates. *BMJ* 316, 1701-1705. (Simulation of rank intervals.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from analysis.compare import compare_rounds, difference
from analysis.intervals import DEFAULT_CI_METHOD
from analysis.results import Estimate

__all__ = ["COMPOSITE_SE", "RankedUnit", "is_ahead", "rank_units", "unit_scores"]

COMPOSITE_SE = ("conservative", "independent")

#: Default seed: rankings in a printed report must not change between runs.
DEFAULT_SEED = 20_240_601


@dataclass(frozen=True)
class RankedUnit:
    """One unit's place in the league table.

    Attributes
    ----------
    unit : str
        The unit (the estimates' ``domain``).
    score : float
        The indicator's rate, or the weighted composite of rates.
    se : float
        Its standard error (see :func:`unit_scores` for composites and for
        units with SE 0).
    n : int
        Respondents (the largest ``n`` among the composite's indicators).
    rank : int
        Rank of ``score``, 1 = best; ties share the best rank ("1224").
    rank_low, rank_high : int
        The rank interval: percentiles ``(1 - level)/2`` and ``(1 + level)/2``
        of the bootstrap ranks (best and worst plausible rank).
    level : float
        Level of the rank interval.
    note : str or None
        Set when the SE was replaced (SE 0) or the composite SE is a bound.
    """

    unit: str
    score: float
    se: float
    n: int
    rank: int
    rank_low: int
    rank_high: int
    level: float
    note: str | None = None


def _fallback_se(est: Estimate, level: float, ci_method: str) -> float:
    """An SE for an estimate whose linearised SE is 0 or missing.

    The half-width of the unit's own interval (which stays sound at 0% and
    100%, e.g. Clopper-Pearson on the counts), divided by the normal quantile,
    taking the longer side: :math:`\\max(\\hat p - l, u - \\hat p) / z`.
    """
    ci = est.ci(level=level, method=ci_method)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return max(est.estimate - ci.low, ci.high - est.estimate) / z


def unit_scores(
    estimates: Iterable[Estimate],
    *,
    indicator: str | None = None,
    weights: Mapping[str, float] | None = None,
    composite_se: Literal["conservative", "independent"] = "conservative",
    level: float = 0.95,
    ci_method: str = DEFAULT_CI_METHOD,
) -> dict[str, tuple[float, float, int, str | None]]:
    """Score, SE, n and note of every unit, for one indicator or a composite.

    Parameters
    ----------
    estimates : iterable of Estimate
        Per-unit estimates (``domain`` = unit); rows with ``domain`` None (the
        overall rows) are ignored.
    indicator : str, optional
        Rank by this indicator.
    weights : mapping of indicator -> weight, optional
        Rank by the composite :math:`\\sum_i w_i \\hat p_i / \\sum_i w_i`.
        Give exactly one of ``indicator`` and ``weights`` (or neither when the
        estimates hold a single indicator).
    composite_se : {"conservative", "independent"}, default "conservative"
        The indicators of a composite are answered by the same respondents
        and are positively correlated, which the per-indicator estimates do
        not record. ``conservative`` uses the bound for perfect correlation,
        :math:`\\sum_i (w_i/W)\\, \\mathrm{se}_i` (Minkowski's inequality: it
        is at least the true SE whatever the correlations), so the table never
        claims more than the data tell. ``independent`` uses
        :math:`\\sqrt{\\sum_i (w_i/W)^2 \\mathrm{se}_i^2}`, valid only if
        the indicators are uncorrelated. For the exact SE, score each
        respondent's composite and estimate its mean with the estimators.
    level : float
        Level of the intervals used for the SE-0 fallback.
    ci_method : str
        Interval method used for the SE-0 fallback.

    Returns
    -------
    dict
        unit -> ``(score, se, n, note)``.

    Notes
    -----
    An estimate with SE 0 (all yes or all no in the unit; R gives NaN) would
    otherwise be ranked with certainty; its SE is replaced by the half-width of
    its own interval over the normal quantile.
    """
    if composite_se not in COMPOSITE_SE:
        raise ValueError(
            f"unknown composite_se {composite_se!r}; choose one of {', '.join(COMPOSITE_SE)}"
        )
    rows = [e for e in estimates if e.domain is not None]
    if indicator is not None and weights is not None:
        raise ValueError("give either indicator or weights, not both")
    if weights is None:
        if indicator is None:
            names = sorted({e.indicator for e in rows})
            if len(names) != 1:
                raise ValueError(
                    f"the estimates hold {len(names)} indicators; name one with indicator= "
                    "or give composite weights="
                )
            indicator = names[0]
        weights = {indicator: 1.0}
    weights = {k: float(v) for k, v in weights.items()}
    if not weights or any(w < 0 or not math.isfinite(w) for w in weights.values()):
        raise ValueError("composite weights must be non-negative numbers")
    total_w = sum(weights.values())
    if total_w <= 0:
        raise ValueError("composite weights add up to zero")

    by_unit: dict[str, dict[str, Estimate]] = {}
    for e in rows:
        if e.indicator in weights:
            by_unit.setdefault(str(e.domain), {})[e.indicator] = e
    if not by_unit:
        raise ValueError(f"no per-unit estimates for {', '.join(weights)}")

    out: dict[str, tuple[float, float, int, str | None]] = {}
    for unit, ests in by_unit.items():
        missing = [k for k in weights if k not in ests]
        if missing:
            raise ValueError(f"unit {unit!r} has no estimate for {', '.join(missing)}")
        score, parts, notes = 0.0, [], []
        for name, w in weights.items():
            e = ests[name]
            se = e.se
            if not (math.isfinite(se) and se > 0):
                se = _fallback_se(e, level, ci_method)
                notes.append(f"{name}: SE 0, interval half-width used")
            score += w / total_w * e.estimate
            parts.append(w / total_w * se)
        if len(weights) == 1:
            se = parts[0]
        elif composite_se == "conservative":
            se = sum(parts)
            notes.append("composite SE is the upper bound for correlated indicators")
        else:
            se = math.sqrt(sum(p * p for p in parts))
            notes.append("composite SE assumes uncorrelated indicators")
        n = max(int(e.n) for e in ests.values())
        out[unit] = (score, se, n, "; ".join(notes) or None)
    return out


def _ranks_desc(values: np.ndarray) -> np.ndarray:
    """Competition ranks ("1224"), 1 = largest, along the last axis."""
    return stats.rankdata(-values, method="min", axis=-1).astype(np.int64)


def rank_units(
    estimates: Iterable[Estimate],
    *,
    indicator: str | None = None,
    weights: Mapping[str, float] | None = None,
    level: float = 0.95,
    draws: int = 10_000,
    seed: int | None = DEFAULT_SEED,
    composite_se: Literal["conservative", "independent"] = "conservative",
    ci_method: str = DEFAULT_CI_METHOD,
) -> list[RankedUnit]:
    """Rank units by an indicator or a weighted composite, with rank intervals.

    Parameters
    ----------
    estimates : iterable of Estimate
        Per-unit estimates, e.g. ``estimate_rates(design, indicators, by=unit)``.
    indicator, weights, composite_se, ci_method
        See :func:`unit_scores`.
    level : float, default 0.95
        Level of the rank intervals.
    draws : int, default 10,000
        Bootstrap replicates.
    seed : int or None
        Seed of ``numpy.random.default_rng``; fixed by default so that a
        printed table is reproducible.

    Returns
    -------
    list of RankedUnit
        Sorted by rank, then by unit name.

    Notes
    -----
    Parametric bootstrap (Goldstein and Spiegelhalter 1996;
    Marshall and Spiegelhalter 1998): draw
    :math:`\\theta^{(b)}_u \\sim N(\\hat\\theta_u, \\mathrm{se}_u^2)`
    independently for every unit and replicate, rank each replicate (1 =
    best), and report the ``(1-level)/2`` and ``(1+level)/2`` percentiles of
    each unit's ranks (``inverted_cdf`` so that they are attained ranks). The
    draws are one ``(draws, units)`` array; no Python loop over replicates.
    Units are treated as independent (separate strata, or domains whose
    covariance is negligible).
    """
    _check_level(level)
    if int(draws) != draws or draws < 100:
        raise ValueError(f"draws must be a whole number of at least 100, got {draws!r}")
    scores = unit_scores(
        estimates,
        indicator=indicator,
        weights=weights,
        composite_se=composite_se,
        level=level,
        ci_method=ci_method,
    )
    units = sorted(scores)
    theta = np.array([scores[u][0] for u in units])
    se = np.array([scores[u][1] for u in units])
    rng = np.random.default_rng(seed)
    sims = theta + se * rng.standard_normal((int(draws), len(units)))
    ranks = _ranks_desc(sims)
    alpha = (1.0 - level) / 2.0
    low = np.quantile(ranks, alpha, axis=0, method="inverted_cdf")
    high = np.quantile(ranks, 1.0 - alpha, axis=0, method="inverted_cdf")
    point = _ranks_desc(theta)
    table = [
        RankedUnit(
            unit=u,
            score=float(theta[i]),
            se=float(se[i]),
            n=scores[u][2],
            rank=int(point[i]),
            rank_low=int(low[i]),
            rank_high=int(high[i]),
            level=level,
            note=scores[u][3],
        )
        for i, u in enumerate(units)
    ]
    table.sort(key=lambda r: (r.rank, r.unit))
    return table


def _check_level(level: float) -> None:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level!r}")


def is_ahead(
    a: Estimate | RankedUnit,
    b: Estimate | RankedUnit,
    *,
    level: float = 0.95,
    ci_method: str = DEFAULT_CI_METHOD,
) -> bool:
    """True only when unit ``a`` is distinguishably ahead of unit ``b``.

    Parameters
    ----------
    a, b : Estimate or RankedUnit
        Two units' estimates of the same indicator, or two rows of a
        :func:`rank_units` table.
    level : float, default 0.95
        Confidence level of the difference interval.
    ci_method : str
        Per-unit interval method for the SE-0 fallback.

    Returns
    -------
    bool
        Whether the interval of ``a - b`` lies wholly above 0. False means
        "the data cannot tell" (or ``b`` is ahead): a report must then not say
        that ``a`` beats ``b``.

    Notes
    -----
    For two :class:`Estimate` objects this is :func:`analysis.compare.compare_rounds`
    (independent samples, t reference with Welch-Satterthwaite df, Newcombe's
    interval when an SE is 0). For two :class:`RankedUnit` rows it is the
    normal interval :math:`d \\pm z \\sqrt{\\mathrm{se}_a^2 + \\mathrm{se}_b^2}`
    with the table's (possibly conservative) SEs. One comparison at ``level``;
    when many pairs are read off one table, raise ``level`` (e.g. Bonferroni)
    to keep the family-wise error.
    """
    _check_level(level)
    if isinstance(a, RankedUnit) != isinstance(b, RankedUnit):
        raise TypeError("compare two Estimates or two RankedUnits, not one of each")
    if isinstance(a, RankedUnit):
        _, _, _, low, _, _ = difference(
            b.score, b.se, math.inf, a.score, a.se, math.inf, level=level, method="normal"
        )
        return low > 0
    if a.indicator != b.indicator:
        raise ValueError(f"cannot compare {a.indicator!r} with {b.indicator!r}")
    return compare_rounds(b, a, level=level, ci_method=ci_method).low > 0
