"""League tables with rank intervals (analysis.ranking)."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.design import SurveyDesign
from analysis.estimators import estimate_rates
from analysis.ranking import is_ahead, rank_units, unit_scores
from analysis.results import Estimate


def est(unit, p, se, name="aware", n=100):
    return Estimate(name, unit, n, round(p * n), p, se, n - 1, 1.0, n - 1)


def by_unit(table):
    return {r.unit: r for r in table}


def test_well_separated_units_have_exact_ranks():
    ests = [est("A", 0.95, 0.01), est("B", 0.80, 0.01), est("C", 0.60, 0.01), est(None, 0.8, 0.01)]
    table = rank_units(ests)
    assert [(r.unit, r.rank, r.rank_low, r.rank_high) for r in table] == [
        ("A", 1, 1, 1), ("B", 2, 2, 2), ("C", 3, 3, 3)]


def test_indistinguishable_units_share_the_whole_range():
    ests = [est(u, 0.8, 0.05) for u in "ABCDE"]
    table = rank_units(ests, draws=4000)
    assert all(r.rank == 1 for r in table)  # ties share the best rank
    assert all((r.rank_low, r.rank_high) == (1, 5) for r in table)


@pytest.mark.parametrize(("gap", "second_possible"), [(0.10, False), (0.04, True)])
def test_two_unit_rank_interval_matches_normal_probability(gap, second_possible):
    # With two units, P(A ranked 2nd) = Phi(-gap / sqrt(se_a^2 + se_b^2)):
    # 0.10/0.0424 -> 0.9%, below 2.5%: rank interval [1, 1]; 0.04 -> 17%: [1, 2].
    se = 0.03
    prob = stats.norm.cdf(-gap / math.hypot(se, se))
    assert (prob > 0.025) == second_possible
    t = by_unit(rank_units([est("A", 0.8 + gap, se), est("B", 0.8, se)], draws=20_000))
    assert (t["A"].rank_low, t["A"].rank_high) == ((1, 2) if second_possible else (1, 1))
    assert t["A"].rank == 1 and t["B"].rank == 2


def test_seeded_and_reproducible():
    ests = [est(u, 0.7 + 0.02 * i, 0.04) for i, u in enumerate("ABCDEFGH")]
    assert rank_units(ests, seed=7) == rank_units(ests, seed=7)
    table = rank_units(ests)
    for r in table:
        assert r.rank_low <= r.rank <= r.rank_high


def test_composite_score_and_se():
    ests = [est("A", 0.9, 0.03, "aware"), est("A", 0.7, 0.04, "support"),
            est("B", 0.8, 0.02, "aware"), est("B", 0.8, 0.02, "support")]
    w = {"aware": 3, "support": 1}
    cons = unit_scores(ests, weights=w)
    assert cons["A"][0] == pytest.approx(0.75 * 0.9 + 0.25 * 0.7)
    assert cons["A"][1] == pytest.approx(0.75 * 0.03 + 0.25 * 0.04)  # bound, rho = 1
    ind = unit_scores(ests, weights=w, composite_se="independent")
    assert ind["A"][1] == pytest.approx(math.hypot(0.75 * 0.03, 0.25 * 0.04))
    table = rank_units(ests, weights=w)
    assert [r.unit for r in table] == ["A", "B"]
    assert "upper bound" in table[0].note


def test_all_yes_unit_is_not_ranked_with_certainty():
    # 3 of 3 said yes (SE 0) against 85% of 200: the small unit's SE is the
    # half-width of its Clopper-Pearson interval, so it is not surely first.
    y_small, y_big = np.ones(3), np.r_[np.ones(170), np.zeros(30)]
    unit = np.array(["tiny"] * 3 + ["big"] * 200)
    ests = estimate_rates(SurveyDesign(weights=np.ones(203)), {"aware": np.r_[y_small, y_big]},
                          by=unit)
    t = by_unit(rank_units(ests))
    assert t["tiny"].rank == 1 and t["tiny"].rank_high == 2
    assert t["tiny"].se > 0 and "SE 0" in t["tiny"].note
    tiny = next(e for e in ests if e.domain == "tiny")
    big = next(e for e in ests if e.domain == "big")
    assert not is_ahead(tiny, big)


def test_is_ahead_only_when_the_data_tell():
    a, b = est("A", 0.90, 0.015, n=400), est("B", 0.80, 0.02, n=400)
    assert is_ahead(a, b) and not is_ahead(b, a)
    # 82% vs 80% with 60 interviews each: neither is ahead
    c = est("C", 0.82, math.sqrt(0.82 * 0.18 / 59), n=60)
    d = est("D", 0.80, math.sqrt(0.80 * 0.20 / 59), n=60)
    assert not is_ahead(c, d) and not is_ahead(d, c)
    t = by_unit(rank_units([a, b, c, d]))
    assert t["A"].rank == 1
    assert is_ahead(t["A"], t["B"]) and not is_ahead(t["C"], t["D"])


def test_errors():
    ests = [est("A", 0.9, 0.03, "aware"), est("B", 0.8, 0.02, "support")]
    with pytest.raises(ValueError, match="2 indicators"):
        rank_units(ests)
    with pytest.raises(ValueError, match="no estimate for support"):
        rank_units(ests, weights={"aware": 1, "support": 1})
    with pytest.raises(ValueError, match="not both"):
        rank_units(ests, indicator="aware", weights={"aware": 1})
    with pytest.raises(ValueError, match="conservative, independent"):
        rank_units(ests, indicator="aware", composite_se="exact")
    with pytest.raises(ValueError):
        is_ahead(ests[0], ests[1])  # different indicators
