"""Survey designs: exclusions, lonely PSUs, invalid designs, domains, and invariances (a result
must not depend on how it was computed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_reference import dataset, design, num

from analysis import (
    InvalidDesign,
    SurveyDesign,
    estimate_rates,
)

# -- design ------------------------------------------------------------------------


def test_excluded_rows_are_left_out_and_counted():
    d = dataset("drill")
    n = len(d["w"])
    extra = 7
    rng = np.random.default_rng(3)
    w = np.r_[num(d["w"]), rng.uniform(1, 3, extra)]
    street = np.r_[np.array(d["street"]), ["S1"] * extra]
    comm = np.r_[np.array(d["community"]), ["C11"] * extra]
    aware = np.r_[num(d["aware"]), np.ones(extra)]
    excluded = np.r_[np.zeros(n, bool), np.ones(extra, bool)]
    des = SurveyDesign(weights=w, strata=street, clusters=comm, excluded=excluded)
    assert des.n_excluded == extra and des.n == n and des.n_rows == n + extra
    got = estimate_rates(des, {"aware": aware}, by=street)
    want = estimate_rates(
        design("drill", "clus"), {"aware": num(d["aware"])}, by=np.array(d["street"])
    )
    assert got == want


def test_lonely_psu_fails_by_default():
    d = dataset("drill")
    with pytest.raises(InvalidDesign, match="only one PSU"):
        SurveyDesign(weights=num(d["w"]), strata=d["stratum2"], clusters=d["community"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"weights": [1.0, -1.0, 2.0]}, "positive"),
        ({"weights": [1.0, 2.0], "strata": ["a", "b", "c"]}, "length"),
        ({"weights": [1.0, 1.0, 1.0], "strata": ["a", None, "b"]}, "missing"),
        (
            {"strata": ["a", "a", "b", "b"], "fpc": [10, 10, 10, 12], "clusters": [1, 2, 3, 4]},
            "constant",
        ),
        ({"excluded": [True, True]}, "excluded"),
    ],
)
def test_invalid_designs(kw, match):
    with pytest.raises(InvalidDesign, match=match):
        SurveyDesign(**kw)


def test_indicator_values_are_checked():
    des = SurveyDesign(weights=np.ones(3))
    with pytest.raises(InvalidDesign, match="expected 0, 1 or missing"):
        estimate_rates(des, {"a": [1, 2, 0]})
    with pytest.raises(InvalidDesign, match="rows"):
        estimate_rates(des, {"a": [1, 0]})


def test_missing_domain_counts_in_overall_only():
    y = np.array([1, 0, 1, 1, 0, 1.0])
    by = np.array(["A", "A", None, "B", "B", ""], dtype=object)
    res = estimate_rates(SurveyDesign(weights=np.ones(6)), {"a": y}, by=by)
    assert [e.domain for e in res] == [None, "A", "B"]
    assert res[0].n == 6 and res[1].n == 2 and res[2].n == 2


def test_domain_without_respondents():
    y = np.array([1, 0, np.nan, np.nan])
    res = estimate_rates(SurveyDesign(weights=np.ones(4)), {"a": y}, by=[1, 1, 2, 2])
    assert res[2].domain == "2" and res[2].n == 0 and math.isnan(res[2].estimate)


def test_factored_and_explicit_weights_give_the_same_numbers():
    """The fast path (weights as base weight x cell factor) equals the row-by-row path."""
    d = dataset("drill")
    for name in ("rake_clus", "ps_rake", "ps", "strat"):
        des = design("drill", name)
        explicit = des._with(weights=des.weights)  # forgets the factored form
        assert explicit._factor is None
        for ind in ("aware", "partic"):
            a = estimate_rates(des, {ind: num(d[ind])}, by=np.array(d["community"]))
            b = estimate_rates(explicit, {ind: num(d[ind])}, by=np.array(d["community"]))
            for x, y in zip(a, b):
                assert x.estimate == pytest.approx(y.estimate, abs=1e-12, nan_ok=True)
                assert x.se == pytest.approx(y.se, rel=1e-9, abs=1e-15, nan_ok=True)


def test_indicators_and_domains_do_not_interact():
    d = dataset("drill")
    des = design("drill", "rake_clus")
    both = estimate_rates(
        des, {"aware": num(d["aware"]), "partic": num(d["partic"])}, by=np.array(d["street"])
    )
    one = estimate_rates(des, {"partic": num(d["partic"])}, by=np.array(d["street"]))
    assert both[5:] == one
    overall = estimate_rates(des, {"partic": num(d["partic"])})
    assert overall[0] == one[0]





@pytest.mark.parametrize("name", ["ps", "ps_clus", "rake_clus", "ps_rake", "rake_trim"])
def test_sparse_calibration_path_equals_dense(monkeypatch, name):
    """Many post-strata x many domains switch to sparse matrices: same numbers."""
    import analysis._linearization as lin

    d = dataset("drill")
    des = design("drill", name)
    data = {"aware": num(d["aware"]), "partic": num(d["partic"])}
    for by in ("community", "age"):
        dense = estimate_rates(des, data, by=np.array(d[by]))
        monkeypatch.setattr(lin, "_DENSE_LIMIT", 0)
        sparse_ = estimate_rates(des, data, by=np.array(d[by]))
        monkeypatch.undo()
        for a, b in zip(dense, sparse_, strict=True):
            assert a.estimate == pytest.approx(b.estimate, abs=1e-12, nan_ok=True)
            assert a.se == pytest.approx(b.se, rel=1e-9, abs=1e-15, nan_ok=True)


def test_fpc_as_fraction_equals_fpc_as_population():
    d = dataset("drill")
    strata, comm, w = d["street"], d["community"], num(d["w"])
    pop = num(d["fpc"])
    n_psu = {s: len({c for s2, c in zip(strata, comm) if s2 == s}) for s in set(strata)}
    frac = np.array([n_psu[s] for s in strata]) / pop
    a = SurveyDesign(weights=w, strata=strata, clusters=comm, fpc=pop)
    b = SurveyDesign(weights=w, strata=strata, clusters=comm, fpc=frac)
    ra = estimate_rates(a, {"aware": num(d["aware"])}, by=d["street"])
    rb = estimate_rates(b, {"aware": num(d["aware"])}, by=d["street"])
    for x, y in zip(ra, rb, strict=True):
        assert x.se == pytest.approx(y.se, rel=1e-12)


def test_lonely_remove_equals_certainty():
    # R's onestrat computes the same (zero) contribution for both rules.
    d = dataset("drill")
    kw = {"weights": num(d["w"]), "strata": d["stratum2"], "clusters": d["community"]}
    a = estimate_rates(SurveyDesign(**kw, lonely_psu="remove"), {"aware": num(d["aware"])})
    b = estimate_rates(SurveyDesign(**kw, lonely_psu="certainty"), {"aware": num(d["aware"])})
    assert a == b
