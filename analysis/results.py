"""Result objects of the statistics engine: frozen, computed once, cheap to pass.

An :class:`Estimate` holds what every interval needs (estimate, SE, design
degrees of freedom, counts), so intervals are computed on demand with
:meth:`Estimate.ci` at any level and with any method, as scipy's
``BinomTestResult.proportion_ci`` does -- not fixed at estimation time as in
R's ``svyciprop``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DEFAULT_CI_METHOD", "Estimate", "Interval"]

#: Default interval method, Korn-Graubard (defined here so that ``Estimate.ci``
#: can name it in its signature; :mod:`analysis.intervals` re-exports it and
#: says why it is the default).
DEFAULT_CI_METHOD = "korn-graubard"


@dataclass(frozen=True)
class Interval:
    """A confidence interval.

    Attributes
    ----------
    low, high : float
        Bounds, within [0, 1] for rates (and [0, 100] for an index).
    method : str
        One of :data:`analysis.intervals.CI_METHODS`.
    level : float
        Confidence level, e.g. 0.95.
    note : str or None
        Set when the requested method could not be used as such and a fallback
        was applied, e.g. ``"variance 0: Clopper-Pearson on counts"``.
    """

    low: float
    high: float
    method: str
    level: float
    note: str | None = None


@dataclass(frozen=True)
class Estimate:
    """One weighted rate (or satisfaction index) with its design-based SE.

    Attributes
    ----------
    indicator : str
        Name of the indicator.
    domain : str or None
        Domain value (as text) or ``None`` for the whole sample.
    n : int
        Respondents with a non-missing value in the domain.
    successes : int
        Unweighted count of 1s (for an index: respondents at the top score).
    estimate : float
        Weighted rate in [0, 1] (``kind="rate"``) or mean score (``kind="index"``).
    se : float
        Taylor-linearization standard error, as R ``survey::svymean`` /
        ``svyby`` computes it for the design (calibration included).
    df : float
        Design degrees of freedom, R's ``degf()`` evaluated on the domain:
        PSUs minus strata among the rows of the domain (as ``svyby`` with
        ``svyciprop`` uses).
    deff : float
        Design effect as R's ``svymean(..., deff="replace")``: the variance
        over that of simple random sampling *with replacement* of the same
        ``n``, ``s^2/n`` with ``s^2 = n/(n-1) * sum w (y-p)^2 / sum w``; for a
        rate ``deff = Var * (n-1) / (p(1-p))``. (R's ``deff=TRUE`` divides by
        the without-replacement variance with population ``sum w``, infinite
        for unweighted drills; see METHODS.md.) ``nan`` when ``p(1-p) = 0``.
    n_eff : float
        Effective sample size ``p(1-p)/Var`` (for an index:
        ``s^2/Var`` with the weighted population variance ``s^2``), capped at
        ``n``: calibration can give a design effect below 1, but the data
        never hold more information than their respondents (NCHS 2017);
        ``n`` when the variance is 0.
    kind : str
        ``"rate"`` or ``"index"`` (satisfaction index on 0-100).
    """

    indicator: str
    domain: str | None
    n: int
    successes: int
    estimate: float
    se: float
    df: float
    deff: float
    n_eff: float
    kind: str = "rate"

    @property
    def variance(self) -> float:
        return self.se * self.se

    def ci(self, level: float = 0.95, method: str = DEFAULT_CI_METHOD, *, cap: bool = True) -> Interval:
        """Confidence interval for this estimate.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).
        method : str
            One of :data:`analysis.intervals.CI_METHODS`; default
            :data:`DEFAULT_CI_METHOD` (Korn-Graubard).
        cap : bool, default True
            Cap the effective sample size at the respondents (see
            :func:`analysis.intervals.confidence_interval`); ``False`` gives
            R's numbers exactly, even where calibration pushes the design
            effect below 1.

        Returns
        -------
        Interval
        """
        from .intervals import confidence_interval, index_interval  # intervals imports results

        if self.kind == "index":
            se = self.se
            if cap and self.n > 1 and math.isfinite(self.deff) and self.deff > 0:
                # deff = Var (n-1)/s^2, so Var >= s^2/n  <=>  deff >= (n-1)/n
                se *= math.sqrt(max(1.0, (self.n - 1) / (self.n * self.deff)))
            return index_interval(self.estimate, se, self.df, level, method)
        return confidence_interval(
            self.estimate, self.se, self.n, self.successes, self.df, level, method, cap=cap
        )

    @property
    def is_degenerate(self) -> bool:
        """True when the design variance is 0 (e.g. everyone answered yes)."""
        return not (self.se > 0) or math.isnan(self.se)
