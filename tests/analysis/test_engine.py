"""Design, weighting, estimators and intervals: behaviour the R comparison does not cover.

Numbers that R can produce are checked in test_reference_r.py; here: degenerate
cases, validation, reports, exclusions, and invariances (a result must not
depend on how it was computed).
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from analysis_reference import REFERENCE, dataset, design, margin, num, read_csv
from scipy import stats

import analysis
from analysis import (
    CI_METHODS,
    ConvergenceError,
    Estimate,
    InvalidDesign,
    SurveyDesign,
    confidence_interval,
    estimate_rates,
    poststratify,
    rake,
    satisfaction_index,
    trim_weights,
    weight_diagnostics,
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


# -- weighting -----------------------------------------------------------------------


def _pop_table(ds="drill"):
    return read_csv(REFERENCE / "data" / f"{ds}_pop_street_gender.csv")


def test_poststratify_hits_the_population_and_reports():
    d = dataset("drill")
    cells = {"street": d["street"], "gender": d["gender"]}
    des, rep = poststratify(design("drill", "weighted"), cells, _pop_table())
    pop = sum(map(float, _pop_table()["population"]))
    assert des.weights.sum() == pytest.approx(pop)
    assert rep.population_total == pytest.approx(pop)
    assert rep.n_collapsed == 0 and len(rep.strata) == 8
    for cell in rep.strata:
        assert cell.factor == pytest.approx(cell.population / cell.weight_before)


def test_population_as_pairs_equals_table():
    d = dataset("drill")
    t = _pop_table()
    pairs = [
        ({"street": s, "gender": g}, float(p))
        for s, g, p in zip(t["street"], t["gender"], t["population"])
    ]
    cells = {"street": d["street"], "gender": d["gender"]}
    a, _ = poststratify(design("drill", "weighted"), cells, t)
    b, _ = poststratify(design("drill", "weighted"), cells, pairs)
    np.testing.assert_array_equal(a.weights, b.weights)


def _collapse_case():
    """Street x age cells where S2/45-59 has no respondents."""
    d = dataset("drill")
    street, age = np.array(d["street"]), np.array(d["age"])
    drop = (street == "S2") & (age == "45-59")
    keep = ~drop
    ages = ["18-29", "30-44", "45-59", "60+"]
    pop = [
        ({"street": s, "age": a}, 1000.0 + 10 * i + j)
        for i, s in enumerate(["S1", "S2", "S3", "S4"])
        for j, a in enumerate(ages)
    ]
    base = SurveyDesign(weights=num(d["w"]), excluded=drop)
    return base, {"street": street, "age": age}, pop, keep, ages


def test_empty_cell_collapses_with_the_neighbouring_age_group():
    base, cells, pop, _, _ = _collapse_case()
    des, rep = poststratify(base, cells, pop)
    assert rep.collapsed == (
        ({"street": "S2", "age": "45-59"}, {"street": "S2", "age": "30-44"}, "age"),
    )
    total = sum(p for _, p in pop)
    assert des.weights.sum() == pytest.approx(total)  # no population dropped
    merged = next(c for c in rep.strata if len(c.cells) == 2)
    assert merged.population == 1000 + 10 + 1 + 1000 + 10 + 2
    # same as post-stratifying by hand to the merged cell
    agevar = np.where((cells["street"] == "S2") & (cells["age"] == "45-59"), "30-44", cells["age"])
    pop2 = {}
    for key, p in pop:
        a = "30-44" if key == {"street": "S2", "age": "45-59"} else key["age"]
        pop2[(key["street"], a)] = pop2.get((key["street"], a), 0) + p
    hand, _ = poststratify(
        base,
        {"street": cells["street"], "age": agevar},
        [({"street": s, "age": a}, p) for (s, a), p in pop2.items()],
    )
    np.testing.assert_allclose(des.weights, hand.weights, rtol=1e-13)


def test_empty_cell_without_collapse_raises():
    base, cells, pop, _, _ = _collapse_case()
    with pytest.raises(InvalidDesign, match="no respondents"):
        poststratify(base, cells, pop, collapse="none")


def test_cell_missing_from_population_raises():
    d = dataset("drill")
    t = _pop_table()
    t = {k: v[:-1] for k, v in t.items()}
    with pytest.raises(InvalidDesign, match="does not list"):
        poststratify(design("drill", "weighted"), {"street": d["street"], "gender": d["gender"]}, t)


def test_rake_matches_margins_and_reports():
    d = dataset("drill")
    margins = {v: (np.array(d[v]), margin("drill", v)) for v in ("street", "gender", "age")}
    des = rake(design("drill", "weighted"), margins)
    assert des.rake_report.converged
    for vals, pop in margins.values():
        for k, target in pop.items():
            assert des.weights[vals == k].sum() == pytest.approx(target, rel=1e-9)


def test_rake_nonconvergence():
    # Margins that cannot both hold: every M is in S1, but S1 is given fewer people than M.
    street = np.array(["S1", "S1", "S2", "S2"])
    gender = np.array(["M", "M", "F", "F"])
    des = SurveyDesign(weights=np.ones(4))
    margins = {"street": (street, {"S1": 10, "S2": 90}), "gender": (gender, {"M": 50, "F": 50})}
    with pytest.raises(ConvergenceError):
        rake(des, margins, max_iter=20)
    out = rake(des, margins, max_iter=20, on_nonconvergence="warn")
    assert not out.rake_report.converged and out.rake_report.iterations == 20


def test_rake_margin_mismatch():
    street = np.array(["S1", "S2", "S3"])
    des = SurveyDesign(weights=np.ones(3))
    with pytest.raises(InvalidDesign, match="no population count"):
        rake(des, {"street": (street, {"S1": 10, "S2": 90})})
    with pytest.raises(InvalidDesign, match="no respondents"):
        rake(des, {"street": (street, {"S1": 10, "S2": 80, "S3": 5, "S4": 5})})


def test_trim_keeps_total_and_bounds():
    w = np.array([1.0, 2.0, 3.0, 10.0, 4.0])
    des = trim_weights(SurveyDesign(weights=w), upper=5, strict=True)
    assert des.weights.sum() == pytest.approx(w.sum())
    assert des.weights.max() <= 5 + 1e-12


def test_weight_diagnostics():
    w = np.array([1.0, 1.0, 2.0, 4.0])
    diag = weight_diagnostics(SurveyDesign(weights=w))
    assert diag.kish_deff == pytest.approx(4 * 22 / 64)
    assert diag.n_eff == pytest.approx(64 / 22)
    assert (diag.min, diag.max, diag.ratio) == (1.0, 4.0, 4.0)


# -- satisfaction index -------------------------------------------------------------


def test_satisfaction_index_counts_top_box_and_checks_range():
    des = SurveyDesign(weights=np.ones(5))
    (e,) = satisfaction_index(des, [100, 80, 100, np.nan, 0])
    assert e.kind == "index" and e.n == 4 and e.successes == 2
    assert e.estimate == pytest.approx(70.0)
    scale = dict(zip([1, 2, 3, 4, 5], analysis.DEFAULT_INDEX_SCORES))
    (f,) = satisfaction_index(des, ["1", 2, 1.0, "不了解", 5], scale=scale)
    assert (f.n, f.successes, f.estimate) == (e.n, e.successes, e.estimate)
    with pytest.raises(InvalidDesign, match="0-100"):
        satisfaction_index(des, [100, 120, 0, 0, 0])


# -- architecture -------------------------------------------------------------------


def test_analysis_imports_no_web_or_database_code():
    forbidden = {"flask", "sqlalchemy", "survey", "flask_wtf", "flask_sqlalchemy"}
    root = Path(analysis.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def test_public_api():
    for name in analysis.__all__:
        assert hasattr(analysis, name)


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
