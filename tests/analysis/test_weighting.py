"""Weighting: post-stratification, raking, trimming and weight diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_reference import REFERENCE, dataset, design, margin, num, read_csv

from analysis import (
    ConvergenceError,
    InvalidDesign,
    SurveyDesign,
    poststratify,
    rake,
    trim_weights,
    weight_diagnostics,
)

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
