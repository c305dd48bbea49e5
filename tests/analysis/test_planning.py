"""Sample size, allocation and "how many more interviews" (analysis.planning)."""

import math

import pytest
from scipy import stats

from analysis.planning import allocate, margin_of_error, more_interviews_needed, sample_size
from analysis.results import Estimate


def srs(x: int, n: int, name: str = "aware", domain: str | None = None) -> Estimate:
    """An unweighted simple-random-sample estimate, as R's svymean gives it."""
    p = x / n
    se = math.sqrt(p * (1 - p) / (n - 1))
    n_eff = n - 1 if 0 < p < 1 else n
    return Estimate(name, domain, n, x, p, se, n - 1, 1.0 if 0 < p < 1 else math.nan, n_eff)


# -- sample_size ---------------------------------------------------------------


def test_sample_size_worst_case_is_385():
    # 1.959964^2 * 0.25 / 0.05^2 = 384.15 -> rounded up (Cochran 1977, 4.4).
    assert sample_size(0.05) == 385


@pytest.mark.parametrize(
    ("population", "expected"),
    # Krejcie & Morgan (1970), Table 1, 5% margin, 95% level, P = 0.5: the
    # published values where their rounding agrees with rounding up.
    [(100, 80), (1000, 278)],
)
def test_sample_size_with_fpc_matches_krejcie_morgan(population, expected):
    assert sample_size(0.05, population=population) == expected


def test_sample_size_fpc_is_cochran_exact_form():
    # Cochran's n0 / (1 + (n0 - 1)/N), not the shortcut n0 / (1 + n0/N): for
    # N = 60 the two give 52.01 and 51.89 -> 53 and 52.
    assert sample_size(0.05, population=60) == 53


def test_sample_size_design_effect_and_rate():
    z = stats.norm.ppf(0.975)
    n0 = 1.5 * z**2 * 0.8 * 0.2 / 0.04**2  # 576.2...
    assert sample_size(0.04, rate=0.8, deff=1.5) == math.ceil(n0)
    assert sample_size(0.04, rate=0.8, deff=1.5, level=0.90) < math.ceil(n0)


@pytest.mark.parametrize("population", [None, 300, 5000])
@pytest.mark.parametrize(("margin", "rate", "deff"), [(0.05, 0.5, 1.0), (0.03, 0.85, 2.0)])
def test_sample_size_is_least_n_reaching_margin(margin, rate, deff, population):
    n = sample_size(margin, rate=rate, deff=deff, population=population)
    kw = dict(rate=rate, deff=deff, population=population)
    if population is not None and n == population:
        return
    assert margin_of_error(n, **kw) <= margin + 1e-12
    assert margin_of_error(n - 1, **kw) > margin


@pytest.mark.parametrize(
    "kwargs",
    [dict(margin=0), dict(margin=0.05, rate=1.5), dict(margin=0.05, deff=0),
     dict(margin=0.05, level=1.0), dict(margin=0.05, population=0)],
)
def test_sample_size_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        sample_size(**kwargs)


# -- allocate ------------------------------------------------------------------


def test_allocate_proportional_exact():
    assert allocate(10, {"A": 5, "B": 3, "C": 2}) == {"A": 5, "B": 3, "C": 2}


def test_allocate_largest_remainder():
    # quotas 4.2857, 2.8571, 2.8571 -> floors 4, 2, 2; two more by remainder
    assert allocate(10, {"A": 3, "B": 2, "C": 2}) == {"A": 4, "B": 3, "C": 3}
    # equal quotas 3.33: the tie goes to the first unit
    assert allocate(10, {"A": 1, "B": 1, "C": 1}) == {"A": 4, "B": 3, "C": 3}


def test_allocate_minimum_reallocates_the_rest():
    # 'd' would get 5 < 10: pinned at 10; 90 shared 50:30:15 = 47.37, 28.42,
    # 14.21 -> 47, 28, 14 (+1 to the largest remainder, 'b').
    alloc = allocate(100, {"a": 50, "b": 30, "c": 15, "d": 5}, minimum=10)
    assert alloc == {"a": 47, "b": 29, "c": 14, "d": 10}


def test_allocate_minimum_cascades():
    # u1-u3 get 1.6, 3.2, 4.8 < 25 and are pinned; u4 gets 31.7 at first, but
    # the rest (125) split 1000:200 gives it 20.8 < 25, so it is pinned too.
    pops = {"big": 1000, "u1": 10, "u2": 20, "u3": 30, "u4": 200}
    assert allocate(200, pops, minimum=25) == {"big": 100, "u1": 25, "u2": 25, "u3": 25,
                                                "u4": 25}
    # with u4 at 400 it stays free: 125 split 1000:400 = 89.29, 35.71 -> 89, 36
    pops["u4"] = 400
    assert allocate(200, pops, minimum=25) == {"big": 89, "u1": 25, "u2": 25, "u3": 25,
                                                "u4": 36}


def test_allocate_equal():
    alloc = allocate(103, {f"c{i}": 10 * i + 1 for i in range(10)}, method="equal")
    assert sum(alloc.values()) == 103
    assert sorted(alloc.values()) == [10] * 7 + [11] * 3


@pytest.mark.parametrize("total", [0, 1, 7, 999, 12345])
def test_allocate_always_adds_up(total):
    pops = {"a": 123.4, "b": 5, "c": 0, "d": 77, "e": 1e5}
    assert sum(allocate(total, pops).values()) == total


def test_allocate_errors():
    with pytest.raises(ValueError, match="proportional, equal"):
        allocate(10, {"a": 1}, method="neyman")
    with pytest.raises(ValueError, match="minimum"):
        allocate(10, {"a": 1, "b": 1, "c": 1}, minimum=4)
    with pytest.raises(ValueError):
        allocate(10, {})
    with pytest.raises(ValueError):
        allocate(10, {"a": -1, "b": 2})


# -- more_interviews_needed ----------------------------------------------------


def test_more_needed_normal_method_matches_closed_form():
    # p = 0.85 from 60 interviews, normal interval with t on n-1 df. With n'
    # interviews: se' = se * sqrt(60/n'), df' = 59 * n'/60; the least n' with
    # p - t(df') se' >= 0.8 is found by a plain scan, independently.
    est = srs(51, 60)
    m = more_interviews_needed(est, 0.8, method="normal")

    def lower(n_new):
        df = 59 * n_new / 60
        return est.estimate - stats.t.ppf(0.975, df) * est.se * math.sqrt(60 / n_new)

    n_new = next(k for k in range(61, 10_000) if lower(k) >= 0.8)
    assert m == n_new - 60


@pytest.mark.parametrize("method", ["wilson", "korn-graubard", "logit", "clopper-pearson"])
def test_more_needed_is_minimal(method):
    est = srs(26, 30)  # 86.7%
    m = more_interviews_needed(est, 0.8, method=method)
    assert m is not None and m > 0

    def scaled(n_new):
        f = n_new / est.n
        return Estimate(est.indicator, None, n_new, round(est.successes * f), est.estimate,
                        est.se / math.sqrt(f), est.df * f, est.deff, est.n_eff * f)

    assert scaled(30 + m).ci(method=method).low >= 0.8
    assert scaled(30 + m - 1).ci(method=method).low < 0.8


def test_more_needed_below_target_decides_fail():
    est = srs(45, 60)  # 75% < 80%
    m = more_interviews_needed(est, 0.8, method="normal")
    assert m is not None and m > 0


def test_more_needed_all_yes_community_uses_clopper_pearson_on_counts():
    # 3 of 3 said yes: variance 0, the interval is Clopper-Pearson on counts,
    # lower end (0.025)^(1/n). It reaches 0.8 at n >= log(0.025)/log(0.8) = 16.5.
    est = srs(3, 3)
    assert more_interviews_needed(est, 0.8) == 17 - 3


def test_more_needed_none_when_decided_or_at_target():
    assert more_interviews_needed(srs(380, 400), 0.8) is None  # 95%: already passes
    assert more_interviews_needed(srs(40, 50), 0.8) is None  # exactly 80%


def test_more_needed_design_effect_doubles_the_need():
    est = srs(51, 60)
    deff2 = Estimate("aware", None, 60, 51, est.estimate, est.se * math.sqrt(2), 59, 2.0,
                     est.n_eff / 2)
    m1 = more_interviews_needed(est, 0.8, method="normal")
    m2 = more_interviews_needed(deff2, 0.8, method="normal")
    # n' roughly doubles with the design effect
    assert abs((60 + m2) / (60 + m1) - 2) < 0.05
