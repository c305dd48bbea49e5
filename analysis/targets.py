"""Target verdicts: does a rate reach its target, and how sure are we?

The office's question is "is this street's awareness rate at least 80%?". A
drill answers it with an interval, not with the point estimate:

* ``pass`` -- the interval's lower end is at or above the target;
* ``fail`` -- the interval's upper end is below the target;
* ``undecided`` -- the interval contains the target: more interviews are
  needed (see ``more_needed``);
* ``insufficient`` (样本不足) -- too few answers to judge: fewer usable answers
  than the rule's minimum, or an interval that neither clears nor misses the
  target and is too imprecise to report (:class:`VerdictRule`).

The rule (:class:`VerdictRule`) follows the NCHS data presentation standards
for proportions (Parker et al. 2017): an estimate whose effective sample size
is under 30, or whose interval is 30 points wide or more, is not reliable
enough to report. Offices act on pass and fail, so a verdict whose interval
already clears the target (or falls short of it) is kept down to a smaller
floor, ``min_n`` usable answers (default 12): the interval is exact (Korn-
Graubard on an effective size capped at the respondents), and the simulation
study (``bench/simulate_intervals.py``) shows coverage of at least 93% from
12 respondents on, for weighted and clustered drills alike. A unit below
``min_n`` is asked for ``min_n - n`` more answers, not an extrapolation. Below 12 no
verdict is given at all; with the usual targets (80%) nothing is lost, as
even 11 yes out of 11 cannot clear 72%.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*.
   Wiley. Section 2.3 (design-based t statistics and degrees of freedom).
.. [2] Korn, E. L. and Graubard, B. I. (1999). *Analysis of Health Surveys*.
   Wiley. Section 5.2 (degrees of freedom of a design).
.. [3] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or
   fiducial limits illustrated in the case of the binomial. *Biometrika* 26,
   404-413.
.. [4] Parker, J. D. et al. (2017). National Center for Health Statistics
   data presentation standards for proportions. *Vital Health Stat* 2(175).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from analysis.intervals import DEFAULT_CI_METHOD
from analysis.planning import more_interviews_needed
from analysis.results import Estimate, Interval

__all__ = [
    "DEFAULT_VERDICT_RULE",
    "MORE_NEEDED_LIMIT",
    "VERDICTS",
    "TargetResult",
    "VerdictRule",
    "one_sided_p_value",
    "target_verdict",
]

VERDICTS = ("pass", "fail", "undecided", "insufficient")

Verdict = Literal["pass", "fail", "undecided", "insufficient"]

#: "More interviews needed" is searched up to this many further interviews;
#: beyond it the report says "more than" this number.
MORE_NEEDED_LIMIT = 1000


@dataclass(frozen=True)
class VerdictRule:
    """When the data can carry a verdict (see the module docstring).

    Attributes
    ----------
    min_n : int
        Fewer usable answers than this: ``insufficient``, whatever the interval.
    reliable_n_eff : float
        An interval that contains the target is ``insufficient`` rather than
        ``undecided`` when the effective sample size is below this (NCHS: 30)...
    max_width : float
        ...or when the interval is at least this wide (NCHS: 0.30 of a rate;
        for a 0-100 index, 30 points).
    """

    min_n: int = 12
    reliable_n_eff: float = 30.0
    max_width: float = 0.30

    def __post_init__(self) -> None:
        if int(self.min_n) != self.min_n or self.min_n < 1:
            raise ValueError(f"min_n must be a whole number of at least 1, got {self.min_n!r}")
        if not self.reliable_n_eff >= 0 or not 0 < self.max_width <= 1:
            raise ValueError("reliable_n_eff must be >= 0 and max_width in (0, 1]")


DEFAULT_VERDICT_RULE = VerdictRule()


@dataclass(frozen=True)
class TargetResult:
    """The verdict of one estimate against one target.

    Attributes
    ----------
    verdict : {"pass", "fail", "undecided"}
        From the interval, see :func:`target_verdict`.
    p_value : float
        One-sided p-value of H0 "the rate is at most the target" against H1
        "the rate is above it". Small values support ``pass``.
    more_needed : int or None
        Further interviews that would decide an undecided (or insufficient)
        verdict at the current rate and design effect; ``None`` when already
        decided. When ``more_needed_exceeds`` is true it is the search limit
        and means "more than this many" (above all when the rate sits on the
        target, where no sample size decides).
    interval : Interval
        The interval the verdict was read from.
    target : float
        The target rate.
    note : str or None
        Why the p-value or the search fell back to something else, if it did.
    """

    verdict: Verdict
    p_value: float
    more_needed: int | None
    interval: Interval
    target: float
    note: str | None = None
    more_needed_exceeds: bool = False
    #: Why the verdict is ``insufficient``: "few_respondents" or "imprecise".
    reason: str | None = None


def _check_target(target: float, kind: str = "rate") -> float:
    target = float(target)
    if kind == "index":
        if not 0.0 <= target <= 100.0:
            raise ValueError(
                f"target of an index must be a score between 0 and 100, got {target!r}"
            )
    elif not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a rate between 0 and 1, got {target!r}")
    return target


def verdict_from_interval(interval: Interval, target: float) -> Verdict:
    """``pass`` if ``low >= target``, ``fail`` if ``high < target``, else ``undecided``."""
    if interval.low >= target:
        return "pass"
    if interval.high < target:
        return "fail"
    return "undecided"


def one_sided_p_value(estimate: Estimate, target: float) -> tuple[float, str | None]:
    """One-sided p-value for H0: rate <= target against H1: rate > target.

    Parameters
    ----------
    estimate : Estimate
        The estimate, with its design-based SE and degrees of freedom.
    target : float
        The target rate.

    Returns
    -------
    p_value : float
        The p-value.
    note : str or None
        Set when the exact binomial fallback was used.

    Notes
    -----
    With a positive SE, the design-based t test (Lumley 2010, Section 2.3;
    R's ``svyttest`` and ``confint(..., df = degf(design))``):

    .. math:: t = (\\hat p - p_0)/\\mathrm{se}, \\qquad p = 1 - F_{t,\\,\\mathrm{df}}(t),

    with the design's degrees of freedom (``Estimate.df``; the normal
    distribution when it is infinite or missing).

    When the SE is 0 -- every respondent answered yes, or every one no, and the
    linearised variance vanishes (R returns NaN there) -- the exact binomial
    test on the unweighted counts is used instead (Clopper and Pearson 1934):
    :math:`p = P(X \\ge x \\mid n, p_0)`. With all yes this is :math:`p_0^n`,
    with all no it is 1. For a satisfaction index (``kind="index"``, target on
    0-100) the t test applies as such; with SE 0 there is no p-value (NaN).
    """
    kind = getattr(estimate, "kind", "rate")
    target = _check_target(target, kind)
    p_hat, se, df = estimate.estimate, estimate.se, estimate.df
    if math.isfinite(se) and se > 0:
        t = (p_hat - target) / se
        if math.isfinite(df) and df > 0:
            return float(stats.t.sf(t, df)), None
        return float(stats.norm.sf(t)), None
    n, x = int(estimate.n), int(estimate.successes)
    if n < 1:
        return math.nan, "no respondents: no p-value"
    if kind == "index":
        return math.nan, "SE is 0: no p-value for an index"
    return (
        float(stats.binom.sf(x - 1, n, target)),
        "SE is 0: p-value from the exact binomial test on the counts",
    )


def target_verdict(
    estimate: Estimate,
    target: float,
    level: float = 0.95,
    method: str = DEFAULT_CI_METHOD,
    rule: VerdictRule = DEFAULT_VERDICT_RULE,
    *,
    more_limit: int = MORE_NEEDED_LIMIT,
) -> TargetResult:
    """Judge an estimate against a target rate.

    Parameters
    ----------
    estimate : Estimate
        From ``analysis.estimators.estimate_rates``.
    target : float
        Target rate between 0 and 1, e.g. 0.8 (for a satisfaction index,
        ``kind="index"``: a score between 0 and 100, e.g. 85).
    level : float, default 0.95
        Confidence level of the interval.
    method : str, default ``analysis.intervals.DEFAULT_CI_METHOD``
        Interval method, one of ``analysis.intervals.CI_METHODS``.
    rule : VerdictRule
        When the data are too thin for a verdict (``insufficient``).
    more_limit : int, default 1000
        Search "more interviews needed" up to this many further interviews.

    Returns
    -------
    TargetResult
        Verdict, one-sided p-value, further interviews needed, the interval.

    Notes
    -----
    The verdict follows the interval at ``level``: ``pass`` when its lower end
    is at or above the target, ``fail`` when its upper end is below, else
    ``undecided``. The p-value is that of :func:`one_sided_p_value`; with
    ``level = 0.95`` a two-sided interval corresponds to one-sided tests at
    2.5%, so ``pass`` normally comes with ``p_value < 0.025`` under the normal
    and t intervals (Wilson, logit and the beta intervals need not agree
    exactly). ``more_needed`` is computed by
    :func:`analysis.planning.more_interviews_needed` with the same interval
    method, keeping the current rate and design effect.

    Examples
    --------
    >>> r = target_verdict(estimate, 0.8)  # doctest: +SKIP
    >>> r.verdict, r.more_needed           # doctest: +SKIP
    ('undecided', 143)
    """
    kind = getattr(estimate, "kind", "rate")
    target = _check_target(target, kind)
    interval = estimate.ci(level=level, method=method)
    verdict: Verdict = verdict_from_interval(interval, target)
    reason = None
    scale = 100.0 if kind == "index" else 1.0
    if estimate.n < rule.min_n:
        verdict, reason = "insufficient", "few_respondents"
    elif verdict == "undecided" and (
        estimate.n_eff < rule.reliable_n_eff
        or interval.high - interval.low >= rule.max_width * scale
    ):
        verdict, reason = "insufficient", "imprecise"
    p_value, note = one_sided_p_value(estimate, target)
    more, exceeds = None, False
    if reason == "few_respondents":
        # Extrapolating a rate from a handful of answers says nothing: ask for the minimum.
        more = rule.min_n - estimate.n
    elif verdict in ("undecided", "insufficient") and estimate.n >= 1:
        if estimate.estimate == target:
            more, exceeds = more_limit, True
        elif verdict_from_interval(interval, target) == "undecided":
            more = more_interviews_needed(
                estimate, target, level=level, method=method, max_n=estimate.n + more_limit
            )
            if more is None:
                more, exceeds = more_limit, True
        if exceeds:
            extra = (
                "the rate equals the target: no sample size can decide"
                if estimate.estimate == target
                else f"more than {more_limit} further interviews needed"
            )
            note = extra if note is None else f"{note}; {extra}"
    return TargetResult(
        verdict=verdict,
        p_value=p_value,
        more_needed=more,
        interval=interval,
        target=target,
        note=note,
        more_needed_exceeds=exceeds,
        reason=reason,
    )
