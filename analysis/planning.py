"""Sample-size planning: how many interviews a drill needs, and where.

Three questions the campaign office asks before and during a drill:

* :func:`sample_size` -- how many respondents give a margin of error ``e`` at a
  confidence level, for an expected rate and design effect (Cochran 1977),
  optionally with a finite population correction; :func:`margin_of_error` is
  its inverse.
* :func:`allocate` -- how to split a total across streets or communities
  (proportional to population, equal, with a minimum per unit), in whole
  interviews that add up to the total (largest-remainder rounding).
* :func:`more_interviews_needed` -- how many further interviews a community
  needs, at its current rate and design effect, before its interval clears or
  falls short of the target.

References
----------
.. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley. Section 4.4
   (sample size for proportions) and Section 5.5 (proportional allocation).
.. [2] Kish, L. (1965). *Survey Sampling*. Wiley. Section 8.2 (design effect).
.. [3] Balinski, M. L. and Young, H. P. (2001). *Fair Representation*, 2nd ed.
   Brookings. (Hamilton's largest-remainder method.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from scipy import stats

__all__ = [
    "ALLOCATION_METHODS",
    "allocate",
    "margin_of_error",
    "more_interviews_needed",
    "sample_size",
]

ALLOCATION_METHODS = ("proportional", "equal")

#: Upper bound of the search in :func:`more_interviews_needed`; a rate this
#: close to the target cannot be settled by any drill an office can run.
MAX_SEARCH_N = 10_000_000


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level!r}")
    return level


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + _check_level(level) / 2.0))


def _check_common(rate: float, deff: float, population: float | None) -> None:
    if not 0.0 <= rate <= 1.0 or math.isnan(rate):
        raise ValueError(f"rate must be between 0 and 1, got {rate!r}")
    if not deff > 0 or not math.isfinite(deff):
        raise ValueError(f"deff must be a positive number, got {deff!r}")
    if population is not None and not population >= 1:
        raise ValueError(f"population must be at least 1, got {population!r}")


def sample_size(
    margin: float,
    *,
    level: float = 0.95,
    rate: float = 0.5,
    deff: float = 1.0,
    population: float | None = None,
) -> int:
    """Respondents needed for a margin of error at a confidence level.

    Parameters
    ----------
    margin : float
        Half-width of the interval wanted, as a proportion (0.05 = 5 points).
    level : float, default 0.95
        Confidence level.
    rate : float, default 0.5
        Expected rate. 0.5 is the worst case; campaign rates usually sit at
        0.8-0.95, where fewer interviews are needed.
    deff : float, default 1.0
        Expected design effect (Kish), e.g. from the previous round's
        ``Estimate.deff`` or weight diagnostics. Multiplies the simple random
        sample size.
    population : float, optional
        Size of the eligible population; applies the finite population
        correction.

    Returns
    -------
    int
        The sample size, rounded up (never more than ``population``).

    Notes
    -----
    Cochran's formula for a proportion with the normal approximation [1]_
    (Section 4.4), multiplied by the design effect [2]_:

    .. math:: n_0 = \\mathrm{deff}\\, z_{1-\\alpha/2}^2\\, p(1-p) / e^2,
              \\qquad n = \\frac{n_0}{1 + (n_0 - 1)/N}.

    For ``rate`` 0 or 1 the formula gives 0; we return at least 1.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., Section 4.4.
    .. [2] Kish, L. (1965). *Survey Sampling*, Section 8.2.

    Examples
    --------
    >>> sample_size(0.05)
    385
    >>> sample_size(0.05, rate=0.8, deff=1.5, population=2000)
    312
    """
    margin = float(margin)
    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must be between 0 and 1 (exclusive), got {margin!r}")
    _check_common(rate, deff, population)
    z = _z(level)
    n0 = deff * z * z * rate * (1.0 - rate) / (margin * margin)
    n = n0 if population is None else n0 / (1.0 + (n0 - 1.0) / population)
    # Guard against 384.0000000001 rounding up to 385 because of float noise.
    size = max(1, math.ceil(n - 1e-9))
    if population is not None:
        size = min(size, math.floor(population))
    return size


def margin_of_error(
    n: float,
    *,
    level: float = 0.95,
    rate: float = 0.5,
    deff: float = 1.0,
    population: float | None = None,
) -> float:
    """Margin of error (half-width of the normal interval) for ``n`` respondents.

    Parameters
    ----------
    n : float
        Number of respondents.
    level, rate, deff, population
        As in :func:`sample_size`.

    Returns
    -------
    float
        :math:`z \\sqrt{\\mathrm{deff}\\, p(1-p)/n \\cdot (N-n)/(N-1)}`, the
        inverse of :func:`sample_size` (Cochran 1977, Section 4.4).
    """
    if not n >= 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    _check_common(rate, deff, population)
    fpc = 1.0
    if population is not None:
        if n > population:
            raise ValueError(f"n ({n}) exceeds the population ({population})")
        fpc = (population - n) / (population - 1.0) if population > 1 else 0.0
    return _z(level) * math.sqrt(deff * rate * (1.0 - rate) / n * fpc)


def allocate(
    total: int,
    populations: Mapping[str, float],
    *,
    method: Literal["proportional", "equal"] = "proportional",
    minimum: int = 0,
) -> dict[str, int]:
    """Split ``total`` interviews across units in whole numbers that add up.

    Parameters
    ----------
    total : int
        Interviews to allocate.
    populations : mapping of unit -> population
        Population of each unit (census or household register). Used for the
        proportional method; the keys give the units for both methods.
    method : {"proportional", "equal"}, default "proportional"
        Proportional to population (Cochran 1977, Section 5.5), or equal per
        unit (best when each unit's own rate matters as much as the city's).
    minimum : int, default 0
        Least interviews per unit. Units whose share falls below it get the
        minimum, and the rest is shared among the others in proportion
        (repeated until every share is at least the minimum).

    Returns
    -------
    dict
        Unit -> interviews, in the order of ``populations``; the values sum to
        ``total``.

    Notes
    -----
    Fractional quotas are rounded by the largest-remainder (Hamilton) method
    [3]_: every unit gets the floor of its quota and the units with the largest
    fractional parts get one more until the total is reached. Ties go to the
    larger population, then to the earlier unit. Unlike independent rounding,
    this always adds up to ``total``.

    References
    ----------
    .. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., Section 5.5.
    .. [3] Balinski, M. L. and Young, H. P. (2001). *Fair Representation*.

    Examples
    --------
    >>> allocate(10, {"A": 1, "B": 1, "C": 1})
    {'A': 4, 'B': 3, 'C': 3}
    """
    if method not in ALLOCATION_METHODS:
        raise ValueError(
            f"unknown allocation method {method!r}; choose one of {', '.join(ALLOCATION_METHODS)}"
        )
    units = list(populations)
    if not units:
        raise ValueError("no units to allocate to")
    if int(total) != total or total < 0:
        raise ValueError(f"total must be a non-negative whole number, got {total!r}")
    if int(minimum) != minimum or minimum < 0:
        raise ValueError(f"minimum must be a non-negative whole number, got {minimum!r}")
    total, minimum = int(total), int(minimum)
    pops = np.array([float(populations[u]) for u in units])
    if not np.all(np.isfinite(pops)) or np.any(pops < 0):
        raise ValueError("populations must be non-negative numbers")
    k = len(units)
    if minimum * k > total:
        raise ValueError(
            f"total {total} is less than the minimum {minimum} for each of the {k} units"
        )
    size = pops if method == "proportional" else np.ones(k)
    if size.sum() <= 0:
        raise ValueError("populations add up to zero; cannot allocate proportionally")

    # Units pinned at the minimum; repeat because pinning one unit lowers the
    # others' shares (Cochran's "re-allocate the remainder" rule).
    fixed = np.zeros(k, dtype=bool)
    while True:
        free_size = np.where(fixed, 0.0, size)
        rest = total - minimum * fixed.sum()
        if free_size.sum() > 0:
            quota = np.where(fixed, float(minimum), rest * free_size / free_size.sum())
        else:  # every remaining unit has population 0: split the rest equally
            n_free = int((~fixed).sum())
            quota = np.where(fixed, float(minimum), rest / max(n_free, 1))
        newly = (~fixed) & (quota < minimum)
        if not newly.any():
            break
        fixed |= newly

    counts = np.floor(quota + 1e-9).astype(np.int64)
    short = total - int(counts.sum())
    remainder = quota - counts
    # Largest remainder first, then larger population, then input order.
    order = sorted(range(k), key=lambda i: (-round(remainder[i], 12), -pops[i], i))
    for i in order[:short]:
        counts[i] += 1
    return {u: int(c) for u, c in zip(units, counts, strict=True)}


def _scaled(estimate, n_new: int):
    """The estimate as it would be with ``n_new`` respondents, same rate and deff."""
    n = estimate.n
    factor = n_new / n
    changes = {
        "n": n_new,
        "successes": int(round(estimate.successes * factor)),
        "se": estimate.se / math.sqrt(factor),
    }
    if math.isfinite(estimate.n_eff) and estimate.n_eff > 0:
        changes["n_eff"] = estimate.n_eff * factor
    else:
        changes["n_eff"] = n_new
    if math.isfinite(estimate.df) and estimate.df > 0:
        # PSUs grow in proportion (df + 1 of them in one stratum): n - 1 -> n' - 1 unclustered
        changes["df"] = (estimate.df + 1.0) * factor - 1.0
    return dataclasses.replace(estimate, **changes)


def _decided(interval, target: float) -> bool:
    return interval.low >= target or interval.high < target


def more_interviews_needed(
    estimate,
    target: float,
    *,
    level: float = 0.95,
    method: str | None = None,
    max_n: int = MAX_SEARCH_N,
) -> int | None:
    """Further interviews needed before the interval excludes the target.

    Parameters
    ----------
    estimate : analysis.results.Estimate
        The community's current estimate.
    target : float
        The target rate, e.g. 0.8.
    level : float, default 0.95
        Confidence level of the interval.
    method : str, optional
        Interval method (``analysis.intervals.CI_METHODS``); the default is the
        package default.
    max_n : int, default 10,000,000
        Give up beyond this total sample size.

    Returns
    -------
    int or None
        ``0`` is never returned: ``None`` when the verdict is already decided
        (the interval already clears or falls short of the target). Otherwise
        the least number ``m >= 1`` of further interviews such that, at the
        current rate and design effect, the interval computed with ``n + m``
        respondents lies wholly at or above the target or wholly below it.
        ``None`` is also returned for an undecided estimate that no sample size
        up to ``max_n`` can settle -- above all when the rate equals the target
        exactly, where every interval contains the target; check
        ``TargetResult.verdict`` to tell the two apart.

    Notes
    -----
    The hypothetical estimate keeps the point estimate and the design effect:
    with :math:`n' = n + m` respondents the variance is scaled as
    :math:`\\mathrm{se}'^2 = \\mathrm{se}^2\\, n/n'` (Kish 1965, Section 8.2:
    :math:`\\mathrm{Var} = \\mathrm{deff}\\, p(1-p)/n`), the effective sample
    size as :math:`n_\\mathrm{eff}\\, n'/n`, the count of successes in
    proportion, and the design degrees of freedom in proportion (as if the new
    interviews came in more clusters of the same size). The interval is then
    recomputed with ``Estimate.ci`` -- the same method as the report -- and the
    least ``n'`` is found by doubling followed by bisection on integers. The
    interval width shrinks monotonically in ``n'`` up to the discreteness of
    Clopper-Pearson on rounded counts, which can move the answer by one or two.
    """
    n = int(estimate.n)
    if n < 1:
        raise ValueError("the estimate has no respondents; use sample_size() to plan from scratch")
    kwargs = {"level": level} if method is None else {"level": level, "method": method}

    def decided_at(n_new: int) -> bool:
        return _decided(_scaled(estimate, n_new).ci(**kwargs), target)

    if _decided(estimate.ci(**kwargs), target):
        return None
    if not math.isfinite(estimate.estimate) or estimate.estimate == target:
        return None
    lo, hi = n, 2 * n
    while not decided_at(hi):
        if hi >= max_n:
            return None
        lo, hi = hi, min(2 * hi, max_n)
    # Invariant: undecided at lo, decided at hi.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decided_at(mid):
            hi = mid
        else:
            lo = mid
    return hi - n
