"""Confidence intervals for survey proportions, as R's ``survey::svyciprop``.

Every method takes the design-based estimate ``p``, its standard error, the
design degrees of freedom ``df`` and the unweighted counts, and uses the
*effective sample size* ``n_eff = p(1-p)/Var(p)`` where a binomial method needs
an ``n``.

==================  =====================  ===========================================
Minyi name          ``svyciprop`` method   interval
==================  =====================  ===========================================
``normal``          ``"mean"``             ``p +- t_{df} se``
``logit``           ``"xlogit"``           ``expit(logit p +- t_{df} se/(p(1-p)))``
``korn-graubard``   ``"beta"``             Clopper-Pearson on ``n_eff`` deflated by
                                           ``(t_{n-1}/t_{df})^2`` (Korn & Graubard 1998)
``wilson``          ``"wilson"`` (4.5)     Wilson score interval, ``n -> n_eff``,
                                           ``z -> t_{df}``
``clopper-pearson`` (none)                 Clopper-Pearson on ``n_eff`` (no df term)
==================  =====================  ===========================================

Degenerate cases. When the variance is 0 (everyone in the domain answered yes,
or no, or a single PSU carries the domain) R returns ``NaN`` bounds; Minyi
returns the exact Clopper-Pearson interval on the unweighted counts
(``successes`` of ``n``) and says so in :attr:`Interval.note`. When the design
has no degrees of freedom left (``df <= 0``) the t quantile does not exist; the
interval is then computed with the normal quantile (``df = inf``) and noted.

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions
with small expected number of positive counts estimated from survey data.
*Survey Methodology* 24, 193-201.
Wilson, E. B. (1927). Probable inference, the law of succession, and
statistical inference. *JASA* 22, 209-212.
Clopper, C. J. and Pearson, E. S. (1934). *Biometrika* 26, 404-413.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, 3.2.1;
R package ``survey``, ``svyciprop``.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import special

from .results import DEFAULT_CI_METHOD, Interval

__all__ = [
    "CI_METHODS",
    "DEFAULT_CI_METHOD",
    "R_METHOD_NAMES",
    "CIMethod",
    "clopper_pearson_interval",
    "confidence_interval",
    "index_interval",
    "korn_graubard_interval",
    "logit_interval",
    "normal_interval",
    "wilson_interval",
]

CIMethod = Literal["wilson", "clopper-pearson", "korn-graubard", "logit", "normal"]

#: Interval methods, in the order the reports list them.
CI_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson", "korn-graubard", "logit", "normal")

# DEFAULT_CI_METHOD (defined in results.py, re-exported here) is Korn-Graubard.
# It is R's ``svyciprop(method="beta")``, the NCHS standard for survey
# proportions, never shorter than Clopper-Pearson on the effective sample size
# (df <= n - 1), and keeps at least nominal coverage near 0% and 100% and for
# the small per-community samples of a drill. A "pass" verdict (lower bound >=
# target) therefore errs on the side of "undecided". See METHODS.md for the
# comparison with Wilson.

#: The ``svyciprop`` method each Minyi method reproduces (``None``: no R twin).
R_METHOD_NAMES: dict[str, str | None] = {
    "wilson": "wilson",
    "clopper-pearson": None,
    "korn-graubard": "beta",
    "logit": "xlogit",
    "normal": "mean",
}

_VARIANCE_0_NOTE = "variance 0: Clopper-Pearson on counts"
_DF_0_NOTE = "no design degrees of freedom: normal quantile used"
_VARIANCE_0_PSU_NOTE = "variance 0: Clopper-Pearson on counts scaled to the design's PSUs"
_NO_DF_NOTE = "no design degrees of freedom: no interval narrower than 0-100% (NCHS)"


def _check(level: float, method: str) -> None:
    if method not in CI_METHODS:
        raise ValueError(
            f"unknown interval method {method!r}; choose one of {', '.join(CI_METHODS)}"
        )
    if not (0.0 < level < 1.0):
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")


def _tq(level: float, df: float) -> float:
    """Two-sided t quantile ``t_{df, 1-alpha/2}`` (normal for infinite df)."""
    a = (1.0 - level) / 2.0
    if math.isinf(df):
        return float(-special.ndtri(a))
    return float(-special.stdtrit(df, a))


def clopper_pearson_interval(x: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for ``x`` successes of ``n``; real ``x``, ``n`` allowed.

    ``[B(a/2; x, n-x+1), B(1-a/2; x+1, n-x)]`` with ``B`` the beta quantile, and
    the bound 0 (1) when ``x = 0`` (``x = n``), as R's ``svyciprop(method="beta")``
    and ``binom.test`` compute it.
    """
    a = 1.0 - level
    low = 0.0 if x <= 0 else float(special.betaincinv(x, n - x + 1.0, a / 2.0))
    high = 1.0 if x >= n else float(special.betaincinv(x + 1.0, n - x, 1.0 - a / 2.0))
    return low, high


def korn_graubard_interval(
    p: float, var: float, n: int, df: float, level: float = 0.95, *, cap: bool = False
):
    """Korn-Graubard interval, exactly R's ``svyciprop(method="beta")``.

    ``n_eff = p(1-p)/var * (t_{n-1}/t_{df})^2`` and the Clopper-Pearson bounds with
    ``x = p n_eff``: ``qbeta(a/2, x, n_eff-x+1)``, ``qbeta(1-a/2, x+1, n_eff-x)``.
    With ``cap=True`` the adjusted ``n_eff`` is first capped at ``n``, as NCHS
    does (``svyciprop_adjusted`` in CDC's surveytable:
    ``n.eff = min(nrow(design), n.eff * rat.squ)``).
    """
    a = 1.0 - level
    n_eff = p * (1.0 - p) / var
    if n > 1 and not math.isinf(df):
        n_eff *= (special.stdtrit(n - 1, a / 2) / special.stdtrit(df, a / 2)) ** 2
    if cap:
        n_eff = min(n_eff, float(n))
    return clopper_pearson_interval(p * n_eff, n_eff, level)


def wilson_interval(
    p: float, var: float, df: float, level: float = 0.95, *, n: float | None = None
) -> tuple[float, float]:
    """Wilson score interval with ``n -> n_eff = p(1-p)/var`` and ``z -> t_{df}``.

    ``(p + z^2/(2m) -+ z sqrt(p(1-p)/m + z^2/(4m^2))) / (1 + z^2/m)`` with
    ``m = n_eff`` (Wilson 1927; survey 4.5 ``svyciprop(method="wilson")``),
    capped at ``n`` when ``n`` is given.
    """
    m = p * (1.0 - p) / var
    if n is not None:
        m = min(m, float(n))
    return wilson_score(p, m, _tq(level, df))


def wilson_score(p: float, m: float, z: float) -> tuple[float, float]:
    """The Wilson score interval for a rate ``p`` on ``m`` (effective) respondents at quantile ``z``."""
    z2 = z * z
    centre = p + z2 / (2.0 * m)
    half = z * math.sqrt(max(p * (1.0 - p), 0.0) / m + z2 / (4.0 * m * m))
    den = 1.0 + z2 / m
    return max(0.0, (centre - half) / den), min(1.0, (centre + half) / den)


def logit_interval(p: float, se: float, df: float, level: float = 0.95) -> tuple[float, float]:
    """``expit(logit(p) -+ t_{df} se / (p(1-p)))``: R's ``svyciprop(method="xlogit")``."""
    z = _tq(level, df)
    lp = math.log(p / (1.0 - p))
    h = z * se / (p * (1.0 - p))
    return float(special.expit(lp - h)), float(special.expit(lp + h))


def normal_interval(p: float, se: float, df: float, level: float = 0.95) -> tuple[float, float]:
    """``p -+ t_{df} se``: R's ``svyciprop(method="mean")`` (not clipped, as in R)."""
    z = _tq(level, df)
    return p - z * se, p + z * se


def confidence_interval(
    estimate: float,
    se: float,
    n: int,
    successes: int,
    df: float,
    level: float = 0.95,
    method: str = DEFAULT_CI_METHOD,
    *,
    cap: bool = True,
) -> Interval:
    """Confidence interval for a survey proportion.

    Parameters
    ----------
    estimate : float
        Weighted proportion ``p`` in [0, 1].
    se : float
        Its design-based standard error.
    n : int
        Respondents with a value (the unweighted denominator).
    successes : int
        Unweighted count of 1s; used only by the variance-0 fallback.
    df : float
        Design degrees of freedom (``inf`` for a normal quantile).
    level : float
        Confidence level in (0, 1).
    method : {"wilson", "clopper-pearson", "korn-graubard", "logit", "normal"}
    cap : bool, default True
        Never claim more than the respondents: the effective sample size is
        capped at ``n`` (for Korn-Graubard after its degrees-of-freedom factor,
        as NCHS does), so a design effect below 1 from calibration cannot make
        the interval narrower than the unweighted one; for ``normal`` and
        ``logit`` the variance is floored at ``p(1-p)/n`` to the same effect.
        ``cap=False`` gives R's ``svyciprop`` numbers exactly.

    Returns
    -------
    Interval

    Notes
    -----
    See the module docstring for the formulas and METHODS.md for the sources.
    With variance 0 (or ``p`` at 0 or 1, where n_eff is undefined) every
    method returns Clopper-Pearson on ``successes`` of ``n`` with a note;
    with ``n = 0`` the interval is ``[0, 1]``.
    """
    _check(level, method)
    p = float(estimate)
    var = float(se) ** 2
    if n <= 0 or math.isnan(p):
        return Interval(0.0, 1.0, method, level, "no respondents")
    if not (var > 0.0) or p <= 0.0 or p >= 1.0:
        m = float(n)
        if cap and math.isfinite(df) and df + 1 < n:
            # Clustered answers that all agree: the counts are worth no more than
            # the PSUs that carry them (df + 1 for one stratum), not n interviews.
            m = max(float(df), 0.0) + 1.0
        low, high = clopper_pearson_interval(successes * m / n, m, level)
        return Interval(low, high, method, level, _VARIANCE_0_NOTE if m == n else _VARIANCE_0_PSU_NOTE)
    note = None
    if not (df > 0) and method == "korn-graubard" and cap:
        # NCHS's limit case (svyciprop_adjusted: rat.squ = 0, so n_eff = 0): a
        # domain inside one PSU carries no information about its own variance.
        return Interval(0.0, 1.0, method, level, _NO_DF_NOTE)
    if not (df > 0) and method != "clopper-pearson":
        df, note = math.inf, _DF_0_NOTE
    floor = p * (1.0 - p) / n  # the variance of an unweighted sample of n
    if method == "korn-graubard":
        low, high = korn_graubard_interval(p, var, n, df, level, cap=cap)
    elif method == "clopper-pearson":
        n_eff = p * (1.0 - p) / var
        if cap:
            n_eff = min(n_eff, float(n))
        low, high = clopper_pearson_interval(p * n_eff, n_eff, level)
    elif method == "wilson":
        low, high = wilson_interval(p, var, df, level, n=n if cap else None)
    else:
        se_used = math.sqrt(max(var, floor)) if cap else float(se)
        interval = logit_interval if method == "logit" else normal_interval
        low, high = interval(p, se_used, df, level)
    return Interval(low, high, method, level, note)


def index_interval(
    estimate: float, se: float, df: float, level: float = 0.95, method: str = DEFAULT_CI_METHOD
) -> Interval:
    """Interval for a satisfaction index (0-100 mean score): ``m -+ t_{df} se``.

    A mean score is not a proportion, so the binomial methods do not apply;
    every method name gives the t interval (R ``confint(svymean(...), df=degf)``),
    clipped to [0, 100], with a note when ``method`` is not ``"normal"``.
    """
    _check(level, method)
    if math.isnan(estimate):
        return Interval(0.0, 100.0, method, level, "no respondents")
    if not se > 0:
        return Interval(
            estimate, estimate, method, level, "variance 0 (one score, or one PSU): zero width"
        )
    note = None if method == "normal" else "index: t interval on the mean score"
    if not (df > 0):
        df = math.inf
        note = _DF_0_NOTE
    z = _tq(level, df)
    low, high = estimate - z * se, estimate + z * se
    return Interval(max(0.0, low), min(100.0, high), method, level, note)
