"""Confidence intervals: degenerate counts, soundness, Korn-Graubard on the effective sample size,
and the checks on methods and levels (R comparisons are in test_reference_r.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import analysis
from analysis import (
    CI_METHODS,
    Estimate,
    InvalidDesign,
    SurveyDesign,
    confidence_interval,
    estimate_rates,
)

# -- intervals -----------------------------------------------------------------


@pytest.mark.parametrize("method", CI_METHODS)
@pytest.mark.parametrize(("x", "n"), [(0, 5), (5, 5), (3, 3), (0, 200), (200, 200)])
def test_variance_zero_gives_clopper_pearson_on_counts(method, x, n):
    (est,) = estimate_rates(
        SurveyDesign(weights=np.ones(n)), {"a": np.r_[np.ones(x), np.zeros(n - x)]}
    )
    assert est.se == 0.0 and est.n_eff == n
    iv = est.ci(0.95, method)
    ref = stats.binomtest(x, n).proportion_ci(0.95, method="exact")
    assert (iv.low, iv.high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert iv.note == "variance 0: Clopper-Pearson on counts"


def test_single_respondent_design_is_a_lonely_psu():
    with pytest.raises(InvalidDesign, match="only one PSU"):
        SurveyDesign(weights=[1.0])
    (e,) = estimate_rates(SurveyDesign(weights=[1.0], lonely_psu="certainty"), {"a": [1]})
    assert e.n == 1 and e.se == 0 and e.ci().note


@pytest.mark.parametrize("method", CI_METHODS)
@pytest.mark.parametrize(("x", "n"), [(1, 2), (2, 3), (1, 20), (19, 20), (48, 60), (590, 600)])
def test_intervals_are_sound(method, x, n):
    (est,) = estimate_rates(
        SurveyDesign(weights=np.ones(n)), {"a": np.r_[np.ones(x), np.zeros(n - x)]}
    )
    for level in (0.8, 0.9, 0.95, 0.99):
        iv = est.ci(level, method)
        assert iv.method == method and iv.level == level
        if method != "normal":  # R's "mean" interval is not clipped
            assert 0.0 <= iv.low <= est.estimate <= iv.high <= 1.0
        wider = est.ci(min(level + 0.005, 0.999), method)
        assert wider.low <= iv.low + 1e-12 and wider.high >= iv.high - 1e-12


def test_srs_korn_graubard_is_clopper_pearson_on_n_eff():
    # Unweighted SRS: Var = p(1-p)/(n-1), so n_eff = n - 1 and df = n - 1: the
    # Korn-Graubard factor (t_{n-1}/t_df)^2 is 1.
    n, x = 60, 48
    (est,) = estimate_rates(
        SurveyDesign(weights=np.ones(n)), {"a": np.r_[np.ones(x), np.zeros(n - x)]}
    )
    assert est.n_eff == pytest.approx(n - 1)
    kg = est.ci(0.95, "korn-graubard")
    cp = analysis.clopper_pearson_interval(x / n * (n - 1), n - 1, 0.95)
    assert (kg.low, kg.high) == pytest.approx(cp, abs=1e-12)


def test_unknown_method_and_bad_level_are_rejected():
    with pytest.raises(ValueError, match="wilson, clopper-pearson"):
        confidence_interval(0.5, 0.1, 10, 5, 9, 0.95, "jeffreys")
    with pytest.raises(ValueError, match="level"):
        confidence_interval(0.5, 0.1, 10, 5, 9, 95, "wilson")


def test_no_degrees_of_freedom_is_noted():
    iv = confidence_interval(0.7, 0.05, 30, 21, 0, 0.95, "wilson")
    assert iv.note and "degrees of freedom" in iv.note
    assert 0 < iv.low < 0.7 < iv.high < 1


def test_no_respondents():
    iv = confidence_interval(math.nan, math.nan, 0, 0, 0, 0.95, "wilson")
    assert (iv.low, iv.high) == (0.0, 1.0)


def test_default_method_is_korn_graubard():
    assert analysis.DEFAULT_CI_METHOD == "korn-graubard"
    est = Estimate("a", None, 60, 48, 0.8, 0.05, 59.0, 1.0, 64.0)
    assert est.ci() == est.ci(0.95, "korn-graubard")
