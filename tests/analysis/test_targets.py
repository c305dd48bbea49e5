"""Target verdicts (analysis.targets)."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.design import SurveyDesign
from analysis.estimators import estimate_rates
from analysis.intervals import CI_METHODS
from analysis.planning import more_interviews_needed
from analysis.results import Estimate, Interval
from analysis.targets import one_sided_p_value, target_verdict, verdict_from_interval


def srs(x: int, n: int) -> Estimate:
    """An unweighted estimate computed by the estimators themselves."""
    y = np.r_[np.ones(x), np.zeros(n - x)]
    (est,) = estimate_rates(SurveyDesign(weights=np.ones(n)), {"aware": y})
    return est


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.80, 0.90, "pass"), (0.81, 0.95, "pass"), (0.70, 0.7999, "fail"),
     (0.70, 0.80, "undecided"), (0.75, 0.85, "undecided")],
)
def test_verdict_reads_the_interval(low, high, expected):
    assert verdict_from_interval(Interval(low, high, "wilson", 0.95), 0.8) == expected


@pytest.mark.parametrize("method", CI_METHODS)
@pytest.mark.parametrize(("x", "n"), [(380, 400), (200, 400), (49, 60), (3, 3), (0, 5)])
def test_verdict_agrees_with_interval(method, x, n):
    est = srs(x, n)
    res = target_verdict(est, 0.8, method=method)
    ci = est.ci(0.95, method)
    assert res.interval == ci
    if n < 12:  # VerdictRule.min_n: no verdict from fewer answers, however they fell
        assert res.verdict == "insufficient" and res.reason == "few_respondents"
        assert res.more_needed >= 12 - n
    elif ci.low >= 0.8:
        assert res.verdict == "pass" and res.more_needed is None
    elif ci.high < 0.8:
        assert res.verdict == "fail" and res.more_needed is None
    else:
        assert res.verdict == "undecided"


def test_known_verdicts():
    assert target_verdict(srs(380, 400), 0.8).verdict == "pass"  # 95% of 400
    assert target_verdict(srs(200, 400), 0.8).verdict == "fail"  # 50% of 400
    # 82% from 60 interviews has not shown 80% (DOMAIN.md)
    res = target_verdict(srs(49, 60), 0.8)
    assert res.verdict == "undecided"
    # it would take more than the search limit of further interviews: said as a bound
    assert res.more_needed == 1000 and res.more_needed_exceeds
    assert more_interviews_needed(srs(49, 60), 0.8) > 1000
    # 75% of 100: a few hundred more would show it is below 80%
    res = target_verdict(srs(75, 100), 0.8)
    assert res.verdict == "undecided" and not res.more_needed_exceeds
    assert 0 < res.more_needed == more_interviews_needed(srs(75, 100), 0.8) < 1000


def test_p_value_is_design_t_test():
    # unweighted: t = (p - 0.8)/sqrt(p(1-p)/(n-1)) on n-1 df (R: svyttest-like)
    est = srs(90, 100)
    p, note = one_sided_p_value(est, 0.8)
    t = (0.9 - 0.8) / math.sqrt(0.9 * 0.1 / 99)
    assert p == pytest.approx(stats.t.sf(t, 99), rel=1e-12)
    assert note is None
    # rate below the target: p-value above one half
    assert one_sided_p_value(srs(70, 100), 0.8)[0] > 0.5


@pytest.mark.parametrize(("x", "n"), [(85, 100), (170, 200), (430, 500), (90, 100)])
def test_p_value_is_dual_to_normal_interval(x, n):
    # the normal interval (p -+ t se) clears the target exactly when the
    # one-sided p-value is below (1 - level)/2
    res = target_verdict(srs(x, n), 0.8, method="normal")
    assert (res.verdict == "pass") == (res.p_value < 0.025)


def test_degenerate_p_value_is_exact_binomial():
    res = target_verdict(srs(10, 10), 0.8)
    assert res.p_value == pytest.approx(0.8**10, rel=1e-12)
    assert "exact binomial" in res.note
    assert target_verdict(srs(0, 10), 0.8).p_value == pytest.approx(1.0)


def test_rate_at_target_cannot_be_decided():
    res = target_verdict(srs(40, 50), 0.8)
    assert res.verdict == "undecided"
    assert res.more_needed == 1000 and res.more_needed_exceeds  # "more than 1000"
    assert "equals the target" in res.note


def test_empty_domain():
    empty = Estimate("aware", "X", 0, 0, math.nan, math.nan, 0.0, math.nan, 0.0)
    res = target_verdict(empty, 0.8)
    assert res.verdict == "insufficient" and res.more_needed == 12  # the minimum for a verdict
    assert math.isnan(res.p_value)


@pytest.mark.parametrize(
    ("x", "n", "verdict", "reason"),
    [
        (9, 16, "insufficient", "imprecise"),  # the 56% of 16: interval 29-81%
        (11, 11, "insufficient", "few_respondents"),  # below min_n, whatever the answers
        (3, 11, "insufficient", "few_respondents"),  # even a clear miss
        (2, 12, "fail", None),  # clears the target from 12 answers: kept
        (20, 20, "pass", None),  # 20 of 20: the exact interval clears 80%
        (23, 30, "insufficient", "imprecise"),  # effective size 29 < 30 (NCHS)
        (45, 60, "undecided", None),  # 60 answers, interval 62-85%: more needed
    ],
)
def test_verdict_rule_at_drill_scale(x, n, verdict, reason):
    res = target_verdict(srs(x, n), 0.8)
    assert (res.verdict, res.reason) == (verdict, reason)


def test_a_unit_below_the_minimum_is_asked_for_the_minimum():
    # 3 answers at 33%: no extrapolated "893 more", just the 9 that make 12
    res = target_verdict(srs(1, 3), 0.8)
    assert res.verdict == "insufficient" and res.more_needed == 9 and not res.more_needed_exceeds


def test_verdict_rule_is_configurable():
    from analysis.targets import VerdictRule

    assert target_verdict(srs(3, 11), 0.8, rule=VerdictRule(min_n=5)).verdict == "fail"
    assert target_verdict(srs(2, 12), 0.8, rule=VerdictRule(min_n=20)).verdict == "insufficient"
    # NCHS: an undecided interval from an effective size under 30 is "insufficient"
    assert target_verdict(srs(40, 50), 0.8, rule=VerdictRule(reliable_n_eff=60)).verdict == "insufficient"
    with pytest.raises(ValueError, match="min_n"):
        VerdictRule(min_n=0)


def test_bad_target_and_method():
    with pytest.raises(ValueError, match="target"):
        target_verdict(srs(5, 10), 80)
    with pytest.raises(ValueError, match="wilson"):
        target_verdict(srs(5, 10), 0.8, method="agresti")


def test_satisfaction_index_target_on_0_100():
    # mean score 77.3 with SE 2.03 on 199 df; target 80: undecided, p-value
    # from the t distribution; target 82: the t interval's upper end is below.
    from analysis.estimators import satisfaction_index

    rng = np.random.default_rng(0)
    scores = rng.choice([100, 80, 60, 40, 0], 200, p=[0.5, 0.3, 0.1, 0.05, 0.05]).astype(float)
    (idx,) = satisfaction_index(SurveyDesign(weights=np.ones(200)), scores)
    res = target_verdict(idx, 80)
    assert res.verdict == "undecided" and res.more_needed > 0
    assert res.p_value == pytest.approx(stats.t.sf((idx.estimate - 80) / idx.se, 199))
    assert target_verdict(idx, 82).verdict == "fail"
    with pytest.raises(ValueError, match="0 and 100"):
        target_verdict(idx, 120)
