"""Change between two rounds of a drill (independent samples).

After a rectification notice the office repeats the drill and asks whether
the weak items improved. The two rounds interview different residents, so the
estimates are independent and the variance of the change is the sum of the
two variances.

References
----------
.. [1] Satterthwaite, F. E. (1946). An approximate distribution of estimates of
   variance components. *Biometrics Bulletin* 2, 110-114.
.. [2] Welch, B. L. (1947). The generalization of "Student's" problem when
   several different population variances are involved. *Biometrika* 34,
   28-35.
.. [3] Newcombe, R. G. (1998). Interval estimation for the difference between
   independent proportions: comparison of eleven methods. *Statistics in
   Medicine* 17, 873-890. (Method 10, the hybrid score interval.)
.. [4] Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed. Wiley. (The
   pooled score test of equal proportions; its square is Pearson's
   chi-squared statistic for the 2 x 2 table.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from scipy import optimize, stats

from analysis.intervals import DEFAULT_CI_METHOD, _tq, wilson_score
from analysis.results import Estimate

__all__ = [
    "COMPARE_METHODS",
    "Difference",
    "compare_all",
    "compare_rounds",
    "difference",
    "newcombe_interval",
]

COMPARE_METHODS = ("newcombe", "satterthwaite", "normal")


@dataclass(frozen=True)
class Difference:
    """A change ``after - before`` with its interval and p-value.

    Attributes
    ----------
    indicator, domain : str, str or None
        Taken from the estimates (``before``'s when they differ).
    before, after : float
        The two estimates.
    difference : float
        ``after - before``.
    se : float
        ``sqrt(se_before**2 + se_after**2)``.
    df : float
        Degrees of freedom of the t reference (``inf`` for normal).
    low, high : float
        The interval at ``level``.
    level : float
        Confidence level.
    method : str
        ``"satterthwaite"``, ``"normal"`` or ``"newcombe"`` (see
        :func:`compare_rounds`).
    p_value : float
        Two-sided p-value of H0: no change.
    note : str or None
        Why a fallback was used, if one was.
    """

    indicator: str | None
    domain: str | None
    before: float
    after: float
    difference: float
    se: float
    df: float
    low: float
    high: float
    level: float
    method: str
    p_value: float
    note: str | None = None

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0 (the data can tell the change)."""
        return self.low > 0 or self.high < 0


def satterthwaite_df(v1: float, df1: float, v2: float, df2: float) -> float:
    """Welch-Satterthwaite degrees of freedom of ``v1 + v2``.

    Notes
    -----
    .. math:: \\nu = \\frac{(v_1 + v_2)^2}{v_1^2/\\nu_1 + v_2^2/\\nu_2}

    (Satterthwaite 1946; Welch 1947), where :math:`v_i` are the estimated
    variances and :math:`\\nu_i` their degrees of freedom -- here each
    estimate's design degrees of freedom (PSUs minus strata, R's ``degf``).
    An infinite :math:`\\nu_i` contributes nothing to the denominator.
    """
    def term(v: float, df: float) -> float:
        if v == 0 or not math.isfinite(df):
            return 0.0
        return v * v / df

    denom = term(v1, df1) + term(v2, df2)
    if denom == 0:
        return math.inf
    return (v1 + v2) ** 2 / denom


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level!r}")
    return level


def difference(
    x1: float,
    se1: float,
    df1: float,
    x2: float,
    se2: float,
    df2: float,
    *,
    level: float = 0.95,
    method: Literal["satterthwaite", "normal"] = "satterthwaite",
) -> tuple[float, float, float, float, float, float]:
    """Interval and p-value for ``x2 - x1`` from two independent estimates.

    Returns
    -------
    tuple
        ``(difference, se, df, low, high, p_value)``; see :func:`compare_rounds`.
    """
    level = _check_level(level)
    if method not in ("satterthwaite", "normal"):
        raise ValueError(f"unknown method {method!r}; choose one of satterthwaite, normal")
    d = x2 - x1
    v1, v2 = se1 * se1, se2 * se2
    se = math.sqrt(v1 + v2)
    df = satterthwaite_df(v1, df1, v2, df2) if method == "satterthwaite" else math.inf
    dist = stats.norm if not math.isfinite(df) else stats.t(df)
    q = float(dist.ppf(0.5 + level / 2.0))
    if se > 0:
        p = float(2.0 * dist.sf(abs(d) / se))
    else:
        p = 1.0 if d == 0 else 0.0
    return d, se, df, d - q * se, d + q * se, p


def _wilson_bounds(est: Estimate, level: float) -> tuple[float, float]:
    """Wilson score interval of one round on its effective size, capped at n.

    ``m = min(n, p(1-p)/se^2)`` (``n`` when the variance is 0, as NCHS does for
    all-yes or all-no domains); the quantile is ``t`` on the design's degrees
    of freedom, as survey's ``svyciprop(method="wilson")``.
    """
    p, n = float(est.estimate), float(est.n)
    if est.se > 0 and 0.0 < p < 1.0:
        m = min(n, p * (1.0 - p) / est.se**2)
    else:
        m = n
    return wilson_score(p, m, _tq(level, est.df if est.df > 0 else math.inf))


def newcombe_interval(before: Estimate, after: Estimate, level: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``after - before`` (method 10).

    Built from each round's Wilson interval on its effective sample size, so it
    always lies within [-1, 1] and never claims more than the respondents.
    """
    l1, u1 = _wilson_bounds(before, level)
    l2, u2 = _wilson_bounds(after, level)
    p1, p2 = float(before.estimate), float(after.estimate)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return max(-1.0, low), min(1.0, high)


def _inverted_p_value(before: Estimate, after: Estimate) -> float:
    """Two-sided p-value of "no change" by inverting Newcombe's interval.

    The p-value is ``1 - c`` for the confidence level ``c`` at which the
    interval's nearer bound touches 0, so that the p-value is below ``1 - level``
    exactly when the interval at ``level`` excludes 0: the number, the interval
    and the words cannot disagree.
    """
    d = float(after.estimate) - float(before.estimate)
    if d == 0:
        return 1.0

    def gap(c: float) -> float:  # > 0 while the interval at level c excludes 0
        low, high = newcombe_interval(before, after, c)
        return low if d > 0 else -high

    lo, hi = 1e-12, 1.0 - 1e-12
    if gap(hi) > 0:
        return 1e-12
    if gap(lo) <= 0:
        return 1.0
    return float(1.0 - optimize.brentq(gap, lo, hi, xtol=1e-12))


def compare_rounds(
    before: Estimate,
    after: Estimate,
    *,
    level: float = 0.95,
    method: Literal["satterthwaite", "normal", "newcombe"] = "newcombe",
    ci_method: str = DEFAULT_CI_METHOD,
) -> Difference:
    """Change of a rate between two independent rounds.

    Parameters
    ----------
    before, after : Estimate
        The same indicator (and domain) in the earlier and the later round.
    level : float, default 0.95
        Confidence level.
    method : {"newcombe", "satterthwaite", "normal"}, default "newcombe"
        ``newcombe``: Newcombe's hybrid score interval [3]_ from each round's
        Wilson interval on its effective sample size (capped at the
        respondents), with the p-value obtained by inverting that interval.
        The default, because drill domains are small and rates sit near 1,
        where a Wald interval leaves [-1, 1] and its p-value can disagree with
        a score interval. ``satterthwaite``: Wald interval with a t reference
        on Welch-Satterthwaite degrees of freedom from the two designs' df
        [1]_ [2]_. ``normal``: Wald interval with the normal quantile. Wald
        intervals are clipped to [-1, 1]; their p-value is the Wald test's,
        which agrees with the interval.
    ci_method : str
        Kept for callers; the Newcombe interval always uses Wilson components.

    Returns
    -------
    Difference
        ``after - before`` with SE, interval and two-sided p-value;
        ``significant`` exactly when the interval excludes 0, which is exactly
        when ``p_value < 1 - level``.

    Notes
    -----
    SE of the change of independent estimates:
    :math:`\\mathrm{se} = \\sqrt{\\mathrm{se}_1^2 + \\mathrm{se}_2^2}`. When
    either round has SE 0 (every respondent answered the same way) a Wald
    interval would ignore that round's uncertainty, so Newcombe's interval is
    used whatever ``method`` asks, and ``note`` says so. Newcombe's interval is

    .. math:: L = d - \\sqrt{(\\hat p_2 - l_2)^2 + (u_1 - \\hat p_1)^2},\\quad
              U = d + \\sqrt{(u_2 - \\hat p_2)^2 + (\\hat p_1 - l_1)^2}

    with :math:`(l_i, u_i)` each round's Wilson interval.
    """
    level = _check_level(level)
    if method not in COMPARE_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(COMPARE_METHODS)}")
    note = None
    degenerate = not (before.se > 0 and after.se > 0)
    if degenerate and method != "newcombe":
        method = "newcombe"
        note = "a round has SE 0: Newcombe hybrid score interval"
    if method == "newcombe":
        d = after.estimate - before.estimate
        low, high = newcombe_interval(before, after, level)
        se = math.sqrt(before.se**2 + after.se**2)
        p_value = _inverted_p_value(before, after)
        df = math.inf
    else:
        d, se, df, low, high, p_value = difference(
            before.estimate,
            before.se,
            before.df,
            after.estimate,
            after.se,
            after.df,
            level=level,
            method=method,
        )
        low, high = max(-1.0, low), min(1.0, high)
    return Difference(
        indicator=before.indicator,
        domain=before.domain,
        before=before.estimate,
        after=after.estimate,
        difference=d,
        se=se,
        df=df,
        low=low,
        high=high,
        level=level,
        method=method,
        p_value=p_value,
        note=note,
    )


def compare_all(
    before: Iterable[Estimate],
    after: Iterable[Estimate],
    **kwargs,
) -> list[Difference]:
    """:func:`compare_rounds` for every (indicator, domain) present in both rounds.

    Estimates are matched on ``(indicator, domain)``; pairs missing from either
    round are left out. The order is that of ``after``. Keyword arguments go to
    :func:`compare_rounds`.
    """
    earlier = {(e.indicator, e.domain): e for e in before}
    return [
        compare_rounds(earlier[(e.indicator, e.domain)], e, **kwargs)
        for e in after
        if (e.indicator, e.domain) in earlier
    ]
