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

from scipy import stats

from analysis.intervals import DEFAULT_CI_METHOD
from analysis.results import Estimate

__all__ = ["COMPARE_METHODS", "Difference", "compare_all", "compare_rounds", "difference"]

COMPARE_METHODS = ("satterthwaite", "normal", "newcombe")


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


def _pooled_p_value(before: Estimate, after: Estimate) -> float:
    """Two-sided pooled two-proportion score test on effective sample sizes."""
    n1 = before.n_eff if math.isfinite(before.n_eff) and before.n_eff > 0 else before.n
    n2 = after.n_eff if math.isfinite(after.n_eff) and after.n_eff > 0 else after.n
    if n1 <= 0 or n2 <= 0:
        return math.nan
    pooled = (before.estimate * n1 + after.estimate * n2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    d = after.estimate - before.estimate
    if se0 == 0:
        return 1.0 if d == 0 else 0.0
    return float(2.0 * stats.norm.sf(abs(d) / se0))


def compare_rounds(
    before: Estimate,
    after: Estimate,
    *,
    level: float = 0.95,
    method: Literal["satterthwaite", "normal", "newcombe"] = "satterthwaite",
    ci_method: str = DEFAULT_CI_METHOD,
) -> Difference:
    """Change of a rate between two independent rounds.

    Parameters
    ----------
    before, after : Estimate
        The same indicator (and domain) in the earlier and the later round.
    level : float, default 0.95
        Confidence level.
    method : {"satterthwaite", "normal", "newcombe"}, default "satterthwaite"
        ``satterthwaite``: Wald interval with a t reference on Welch-
        Satterthwaite degrees of freedom from the two designs' df [1]_ [2]_.
        This is the default because drill domains are small (a community of
        30 respondents has df 29; a clustered street may have a handful of
        PSUs), where the normal quantile is too narrow; with large df it equals
        ``normal``. ``normal``: Wald interval with the normal quantile.
        ``newcombe``: Newcombe's hybrid score interval [3]_ built from each
        round's own interval (``Estimate.ci(level, ci_method)``).
    ci_method : str, default ``DEFAULT_CI_METHOD``
        Per-round interval method used by ``newcombe``.

    Returns
    -------
    Difference
        ``after - before`` with SE, interval and two-sided p-value.

    Notes
    -----
    SE of the change of independent estimates:
    :math:`\\mathrm{se} = \\sqrt{\\mathrm{se}_1^2 + \\mathrm{se}_2^2}`; the
    p-value is :math:`2\\,(1 - F(|d|/\\mathrm{se}))` with the same reference
    distribution as the interval.

    When either round has SE 0 (every respondent answered the same way, where
    the linearised variance vanishes) the Wald interval would ignore that
    round's uncertainty, so the Newcombe interval is used automatically and
    the p-value comes from the pooled two-proportion score test on the
    effective sample sizes [4]_; ``note`` says so. Newcombe's interval is

    .. math:: L = d - \\sqrt{(\\hat p_2 - l_2)^2 + (u_1 - \\hat p_1)^2},\\quad
              U = d + \\sqrt{(u_2 - \\hat p_2)^2 + (\\hat p_1 - l_1)^2}

    with :math:`(l_i, u_i)` each round's interval.
    """
    level = _check_level(level)
    if method not in COMPARE_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(COMPARE_METHODS)}")
    note = None
    degenerate = not (before.se > 0 and after.se > 0)
    if degenerate and method != "newcombe":
        method = "newcombe"
        note = "a round has SE 0: Newcombe hybrid score interval, pooled score-test p-value"
    if method == "newcombe":
        i1 = before.ci(level=level, method=ci_method)
        i2 = after.ci(level=level, method=ci_method)
        p1, p2 = before.estimate, after.estimate
        d = p2 - p1
        low = d - math.sqrt((p2 - i2.low) ** 2 + (i1.high - p1) ** 2)
        high = d + math.sqrt((i2.high - p2) ** 2 + (p1 - i1.low) ** 2)
        se = math.sqrt(before.se**2 + after.se**2)
        p_value = _pooled_p_value(before, after)
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
