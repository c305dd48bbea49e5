"""Simulation study at drill scale (analysis.simulation): are intervals and verdicts honest?

The full study is ``bench/simulate_intervals.py`` (see bench/README.md); these
tests run a reduced grid with the app's weighting (``calibrate`` defaults on
street x gender x age cells, which are sparse at these sizes: a street of 3
communities x 12 interviews has 36 respondents for 10 cells) and the default
interval (Korn-Graubard, capped), with and without clustered interviews.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from analysis import simulation as sim
from analysis.estimators import estimate_rates
from analysis.intervals import CI_METHODS, DEFAULT_CI_METHOD
from analysis.targets import target_verdict

SEED = 20261204
NS = (12, 20, 30, 60)
#: Each replication is a district of 36 communities (4 of each true rate, 12
#: streets of 3 communities, as in the bench), so one replication gives 36 units.
RATES = sim.RATES * 4
REPS = 20
APP, OLD = "poststratified", "raw-poststrat"
METHODS = (DEFAULT_CI_METHOD, sim.UNCAPPED)


@pytest.fixture(scope="module")
def study() -> sim.Results:
    # Monte Carlo error. A scenario cell (n x clustering, the 9 true rates
    # pooled) holds REPS x 36 = 720 units, so a coverage of 95% is known to
    # +-0.8 points (one SE): a cell whose true coverage is 95% or more falls
    # below the 93% bar by chance with probability 0.7% or less. The bench run
    # (bench/README.md, 3,600 units a cell) puts these cells at 95.6-98.5%
    # without clusters or with deff~2. The false-pass shares pool 20 x 16
    # below-target units per n: 1,280 per clustering (+-0.44 points around
    # 2.5%) and 3,840 overall (+-0.25).
    # With deff~3 the bench finds 93.0% (n = 20) and 93.4% (n = 30), on the bar,
    # and false passes of 3.8% pooled over n (9.1% at n = 20): an all-yes
    # community in a few buildings gets Clopper-Pearson on its counts, as if its
    # answers were independent (METHODS.md section 7). Those two tests fail
    # until that is fixed; they are not loosened.
    return sim.simulate(REPS, SEED, ns=NS, schemes=(APP, OLD), rates=RATES, methods=METHODS)


def cell(results: sim.Results, **conditions) -> dict:
    method = conditions.pop("method", DEFAULT_CI_METHOD)
    return sim.summarise(results, results.select(**conditions), method)


# -- the synthetic district ---------------------------------------------------


def test_each_community_has_its_true_rate_and_weighting_matters():
    district = sim.make_district(np.random.default_rng(1))
    # the estimand: population-weighted mean of the cell rates, one per RATES entry
    assert sorted(district.true_rate) == pytest.approx(sorted(sim.RATES), abs=1e-12)
    mean = (district.pop * district.cell_rate).sum(axis=(1, 2)) / district.pop.sum(axis=(1, 2))
    assert mean == pytest.approx(district.true_rate, abs=1e-12)
    # the elderly know more than the young, so over-sampling them biases unweighted rates
    young, old = district.cell_rate[:, :, 0], district.cell_rate[:, :, -1]
    assert np.all(old > young)
    sample = sim.draw_sample(np.random.default_rng(2), district, 400)
    share_old = np.mean(sample.age == len(sim.AGE_GROUPS) - 1)
    assert share_old > 2 * district.pop[:, :, -1].sum() / district.pop.sum()


@pytest.mark.parametrize("p", [0.5, 0.8, 0.97, 0.999])
def test_building_effects_keep_each_respondents_expected_answer(p):
    sigma = sim.CLUSTERINGS[-1].sigma
    eta = sim._conditional_logit(np.array([p]), sigma)[0]
    mean, _ = integrate.quad(
        lambda z: special.expit(eta + sigma * z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
        -12, 12,
    )
    assert mean == pytest.approx(p, abs=1e-10)


def test_buildings_are_numbered_within_streets():
    district = sim.make_district(np.random.default_rng(3))
    sample = sim.draw_sample(np.random.default_rng(4), district, 20, sim.CLUSTERINGS[1])
    design, _ = sim.weight(sample, district, "unweighted")
    # 3 buildings of 7, 7, 6 per community; ids repeat across streets but are distinct PSUs
    assert design.n_psu == 3 * district.n_communities
    assert np.unique(sample.cluster).size == 3 * 3


def test_rule_verdict_is_target_verdicts_rule():
    district = sim.make_district(np.random.default_rng(5))
    checked = 0
    none, deff2, deff3 = sim.CLUSTERINGS
    for n, clustering in ((12, none), (30, deff3), (60, deff2)):
        sample = sim.draw_sample(np.random.default_rng(n), district, n, clustering)
        for scheme in (APP, OLD, "unweighted"):
            design, _ = sim.weight(sample, district, scheme)
            for est in estimate_rates(design, {"y": sample.y}, by=sample.community)[1:]:
                for method in CI_METHODS:
                    expected = target_verdict(est, 0.8, method=method).verdict
                    assert sim.rule_verdict(est, est.ci(0.95, method), 0.8) == expected
                    checked += 1
    assert checked == 3 * 3 * 9 * len(CI_METHODS)


def test_results_depend_on_the_seed_only():
    kwargs = {
        "ns": (12,), "clusterings": sim.CLUSTERINGS[:2], "schemes": (APP,), "methods": METHODS
    }
    one = sim.simulate(2, 7, **kwargs)
    two = sim.simulate(2, 7, workers=2, **kwargs)
    other = sim.simulate(2, 8, **kwargs)
    for key, value in one.unit.items():
        np.testing.assert_array_equal(value, two.unit[key], err_msg=key)
    assert not np.array_equal(one.unit["estimate"], other.unit["estimate"])


# -- the study ------------------------------------------------------------------


def test_every_cell_holds_enough_units(study):
    for n in NS:
        for c in study.clusterings:
            assert cell(study, n=n, clustering=c.name, scheme=APP)["units"] >= 300
    assert not study.skipped


def test_n_eff_never_exceeds_the_respondents(study):
    u = study.unit
    assert np.all(u["n_eff"] <= u["n"])
    assert cell(study, scheme=APP)["n_eff_over_n"] == 0.0


@pytest.mark.parametrize("clustering", [c.name for c in sim.CLUSTERINGS])
def test_default_interval_covers_at_least_93_percent_from_12_respondents(study, clustering):
    low = {
        n: s["coverage"]
        for n in NS
        if (s := cell(study, n=n, clustering=clustering, scheme=APP))["coverage"] < 0.93
    }
    assert not low, f"coverage below 93% with {clustering} clusters: {low}"


def test_false_pass_is_at_most_2_5_percent_overall(study):
    s = cell(study, scheme=APP)
    assert s["below"] >= 3000
    assert s["false_pass"] <= 0.025, s


@pytest.mark.parametrize("clustering", [c.name for c in sim.CLUSTERINGS])
def test_false_pass_is_at_most_2_5_percent_in_each_design(study, clustering):
    # "overall" pools designs: clustered drills must not hide behind unclustered ones
    s = cell(study, scheme=APP, clustering=clustering)
    by_n = {n: round(cell(study, scheme=APP, clustering=clustering, n=n)["false_pass"], 3)
            for n in NS}
    assert s["false_pass"] <= 0.025, (s["false_pass"], by_n)


def test_old_raw_poststratification_uncapped_undercovers_in_sparse_cells(study):
    # n = 12 and 20 without clusters: 36-60 respondents per street for 10 cells.
    # R's postStratify-like weighting (only empty cells merged, no trimming)
    # with R's interval is far from honest; the new defaults are not.
    for n in (12, 20):
        old = cell(study, n=n, clustering="none", scheme=OLD, method=sim.UNCAPPED)
        new = cell(study, n=n, clustering="none", scheme=APP)
        assert old["coverage"] < 0.93, (n, old)
        assert new["coverage"] - old["coverage"] >= 0.04, (n, old["coverage"], new["coverage"])
