"""Change between two rounds (analysis.compare)."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.compare import compare_all, compare_rounds, satterthwaite_df
from analysis.design import SurveyDesign
from analysis.estimators import estimate_rates
from analysis.results import Estimate


def rates(y, by=None, weights=None):
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if weights is None else weights
    return estimate_rates(SurveyDesign(weights=w), {"aware": y}, by=by)


def sample(rng, p, n):
    return (rng.random(n) < p).astype(float)


def test_unweighted_matches_welch_t_test():
    # For unweighted rounds se^2 = s^2/n (R svymean), so the Satterthwaite
    # comparison is exactly Welch's two-sample t test (scipy, equal_var=False).
    rng = np.random.default_rng(1)
    y1, y2 = sample(rng, 0.72, 80), sample(rng, 0.85, 120)
    (before,), (after,) = rates(y1), rates(y2)
    diff = compare_rounds(before, after, method="satterthwaite")
    welch = stats.ttest_ind(y2, y1, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert diff.difference == pytest.approx(y2.mean() - y1.mean(), abs=1e-12)
    assert diff.df == pytest.approx(welch.df, rel=1e-10)
    assert diff.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    assert (diff.low, diff.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert diff.method == "satterthwaite" and diff.note is None


def test_normal_method():
    b = Estimate("aware", None, 400, 300, 0.75, 0.02, 399, 1.0, 399)
    a = Estimate("aware", None, 400, 340, 0.85, 0.015, 399, 1.0, 399)
    d = compare_rounds(b, a, method="normal", level=0.9)
    assert d.se == pytest.approx(0.025)
    assert d.difference == pytest.approx(0.10)
    z = stats.norm.ppf(0.95)
    assert (d.low, d.high) == pytest.approx((0.10 - z * 0.025, 0.10 + z * 0.025))
    assert d.p_value == pytest.approx(2 * stats.norm.sf(4.0))
    assert d.significant


def test_satterthwaite_df_formula():
    # (v1 + v2)^2 / (v1^2/df1 + v2^2/df2); infinite df drops out
    assert satterthwaite_df(1.0, 10, 1.0, 10) == pytest.approx(20)
    assert satterthwaite_df(4.0, 9, 1.0, 4) == pytest.approx(25 / (16 / 9 + 1 / 4))
    assert satterthwaite_df(1.0, 10, 1.0, math.inf) == pytest.approx(40)
    assert math.isinf(satterthwaite_df(1.0, math.inf, 1.0, math.inf))


def test_no_change_is_not_significant():
    rng = np.random.default_rng(2)
    y = sample(rng, 0.8, 60)
    (b,), (a,) = rates(y), rates(y)
    d = compare_rounds(b, a)
    assert d.difference == 0 and d.p_value == pytest.approx(1.0)
    assert not d.significant


def wilson(p, n, z):
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_default_is_newcombe_on_wilson_intervals():
    # Newcombe (1998) method 10 with Wilson components on each round's effective
    # size (unweighted: p(1-p)/se^2 = n - 1, as svymean's variance divides by
    # n - 1) and the t quantile on its df, as survey's svyciprop(method="wilson").
    rng = np.random.default_rng(3)
    (b,), (a,) = rates(sample(rng, 0.6, 40)), rates(sample(rng, 0.8, 50))
    d = compare_rounds(b, a)
    assert d.method == "newcombe" and d.note is None
    l1, u1 = wilson(b.estimate, b.n - 1, stats.t.ppf(0.975, b.df))
    l2, u2 = wilson(a.estimate, a.n - 1, stats.t.ppf(0.975, a.df))
    assert d.low == pytest.approx(d.difference - math.hypot(a.estimate - l2, u1 - b.estimate))
    assert d.high == pytest.approx(d.difference + math.hypot(u2 - a.estimate, b.estimate - l1))


def test_all_yes_round_uses_newcombe():
    # round 2: 12 of 12 said yes, SE 0. A Wald interval would ignore round 2's
    # uncertainty; Newcombe's interval uses its Wilson interval on n = 12.
    rng = np.random.default_rng(3)
    (b,) = rates(sample(rng, 0.75, 40))
    (a,) = rates(np.ones(12))
    d = compare_rounds(b, a)
    assert d.method == "newcombe"
    assert not d.significant  # 12 interviews cannot tell
    # the Wald interval would have (wrongly) ignored round 2; it is never used with SE 0
    forced = compare_rounds(b, a, method="normal")
    assert forced.method == "newcombe" and "SE 0" in forced.note


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_interval_p_value_and_words_agree(seed, level):
    # Small drill rounds, rates near 1, weights: the p-value is below 1 - level
    # exactly when the interval excludes 0, and the interval stays in [-1, 1].
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(3, 40, size=2)
    w1, w2 = rng.uniform(0.2, 5, n1), rng.uniform(0.2, 5, n2)
    (b,) = rates(sample(rng, rng.uniform(0.3, 1), n1), weights=w1)
    (a,) = rates(sample(rng, rng.uniform(0.3, 1), n2), weights=w2)
    d = compare_rounds(b, a, level=level)
    assert -1.0 <= d.low <= d.difference <= d.high <= 1.0
    assert d.significant == (d.p_value < 1 - level)


def test_issue_examples_stay_in_range():
    # "+0.7, -127.9 - +129.4": tiny rounds gave Wald intervals far outside [-1, 1]
    b = Estimate("aware", "C1", 3, 2, 0.667, 0.3, 1, 1.0, 3)
    a = Estimate("aware", "C1", 2, 1, 0.674, 0.4, 1, 1.0, 2)
    for method in ("newcombe", "satterthwaite", "normal"):
        d = compare_rounds(b, a, method=method)
        assert -1.0 <= d.low and d.high <= 1.0
        assert not d.significant and d.p_value >= 0.05


def test_all_no_to_all_yes_is_significant():
    (b,), (a,) = rates(np.zeros(30)), rates(np.ones(30))
    d = compare_rounds(b, a)
    assert d.significant and d.p_value < 1e-6


def test_both_all_yes():
    (b,), (a,) = rates(np.ones(20)), rates(np.ones(25))
    d = compare_rounds(b, a)
    assert d.difference == 0 and d.p_value == 1.0 and not d.significant


def test_compare_all_matches_indicator_and_domain():
    rng = np.random.default_rng(4)
    by1 = np.array(["A"] * 50 + ["B"] * 50)
    by2 = np.array(["B"] * 60 + ["C"] * 40)
    before = rates(sample(rng, 0.7, 100), by=by1)
    after = rates(sample(rng, 0.8, 100), by=by2)
    out = compare_all(before, after)
    assert [d.domain for d in out] == [None, "B"]
    b_b = next(e for e in before if e.domain == "B")
    a_b = next(e for e in after if e.domain == "B")
    assert out[1].difference == pytest.approx(a_b.estimate - b_b.estimate)


def test_bad_method():
    b = Estimate("aware", None, 10, 5, 0.5, 0.1, 9, 1.0, 9)
    with pytest.raises(ValueError, match="newcombe, satterthwaite, normal"):
        compare_rounds(b, b, method="welch")
    with pytest.raises(ValueError, match="level"):
        compare_rounds(b, b, level=95)
