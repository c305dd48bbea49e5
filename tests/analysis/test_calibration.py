"""The drill weighting policy (analysis.calibration.calibrate)."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_reference import REFERENCE, dataset, num, read_csv
from analysis_reference import design as reference_design

from analysis import SurveyDesign, estimate_rates, poststratify
from analysis.calibration import calibrate

AGES = ["18-29", "30-44", "45-59", "60+"]


def district(counts: dict[tuple[str, str, str], int], population: float = 1000.0):
    """Rows with the given respondents per (street, gender, age) and a flat population table."""
    street, gender, age = [], [], []
    for (s, g, a), k in counts.items():
        street += [s] * k
        gender += [g] * k
        age += [a] * k
    streets = sorted({s for s, _, _ in counts})
    table = [({"street": s, "gender": g, "age": a}, population)
             for s in streets for g in ("F", "M") for a in AGES]
    cells = {"street": np.array(street), "gender": np.array(gender), "age": np.array(age)}
    return SurveyDesign(strata=cells["street"]), cells, table


def cell_sizes(design, cells):
    """Respondents per distinct final weight within each street (a post-stratum's rows share a factor)."""
    sizes = {}
    for s, w in zip(cells["street"], np.round(design.weights, 9)):
        sizes[(s, w)] = sizes.get((s, w), 0) + 1
    return sizes


def test_thin_cells_merge_along_age_then_gender_within_the_street():
    # Street A: 60 respondents spread thinly over 8 cells; street B: 45.
    counts = {("A", g, a): k for g, ks in (("F", (3, 9, 10, 12)), ("M", (2, 6, 8, 10))) for a, k in zip(AGES, ks)}
    counts |= {("B", g, a): k for g, ks in (("F", (1, 4, 8, 12)), ("M", (0, 3, 7, 10))) for a, k in zip(AGES, ks)}
    design, cells, table = district(counts)
    new, report = calibrate(design, cells, table)
    assert report.method == "poststratified" and report.fallback is None
    assert report.used == ("street", "gender", "age")
    # every post-stratum holds at least 20 respondents, none crosses a street
    assert min(cell_sizes(new, cells).values()) >= 20
    # no population is dropped
    assert new.weights.sum() == pytest.approx(16 * 1000.0)
    # the first merges go along age (the finest variable), gender only after
    assert report.merges[0].variable == "age"
    assert {m.variable for m in report.merges} <= {"age", "gender"}
    assert all(len({c["street"] for c in (*m.cells, *m.into)}) == 1 for m in report.merges)
    assert report.thin_cells == 16


def test_a_thin_street_falls_back_to_raking_on_the_margins():
    counts = {("A", g, a): 10 for g in "FM" for a in AGES}  # 80
    counts |= {("B", g, a): 8 for g in "FM" for a in AGES}  # 64
    counts |= {("C", "F", "60+"): 5, ("C", "M", "45-59"): 4}  # 9: a street cannot reach 20
    design, cells, table = district(counts)
    new, report = calibrate(design, cells, table)
    assert report.method == "raked"
    assert "street" in report.fallback
    assert set(report.used) == {"street", "gender", "age"}
    # street C was merged with a neighbouring street in the street margin
    assert any(m.variable == "street" for m in report.merges)
    assert new.weights.sum() == pytest.approx(24 * 1000.0)
    # the margins hold: gender totals are the population's
    for g in "FM":
        assert new.weights[cells["gender"] == g].sum() == pytest.approx(12 * 1000.0, rel=1e-6)


def test_sixteen_answers_are_not_weighted():
    # The demo's second round: 16 usable answers over two streets.
    counts = {("A", "F", "60+"): 5, ("A", "M", "45-59"): 4, ("B", "F", "30-44"): 4, ("B", "M", "60+"): 3}
    design, cells, table = district(counts)
    new, report = calibrate(design, cells, table)
    assert report.method == "unweighted" and report.used == ()
    assert set(report.dropped) == {"street", "gender", "age"}
    np.testing.assert_array_equal(new.weights, design.weights)
    (est,) = [e for e in estimate_rates(new, {"y": np.r_[np.ones(9), np.zeros(7)]}) if e.domain is None]
    assert est.n_eff <= est.n == 16


def test_one_margin_left_is_post_stratification_to_it():
    # Street A is thin (10); merged with B the street margin has one category,
    # and so has age (everyone 60+): both dropped, gender (35 / 25) is kept.
    counts = {("A", "F", "60+"): 10, ("B", "F", "60+"): 25, ("B", "M", "60+"): 25}
    design, cells, table = district(counts)
    new, report = calibrate(design, cells, table)
    assert report.method == "poststratified" and report.fallback
    assert report.used == ("gender",) and set(report.dropped) == {"street", "age"}
    for g in "FM":
        assert new.weights[cells["gender"] == g].sum() == pytest.approx(8000.0)


def test_extreme_weights_are_trimmed_to_five_times_the_mean():
    counts = {("A", g, a): 40 for g in "FM" for a in AGES}
    counts[("A", "M", "18-29")] = 20  # under-sampled cell with a huge population
    design, cells, table = district(counts)
    table = [(c, 60000.0 if (c["gender"], c["age"]) == ("M", "18-29") else 1000.0) for c, _ in table]
    new, report = calibrate(design, cells, table)
    assert report.trimmed == 20
    w = new.weights
    assert w.max() <= 5 * w.mean() * (1 + 1e-9)
    assert w.sum() == pytest.approx(67000.0)  # the total is kept
    _, untrimmed = calibrate(design, cells, table, trim_ratio=None)
    assert untrimmed.trimmed == 0


def test_large_cells_are_r_post_stratification_exactly():
    # The reference drill (412 rows, street x gender cells of 34-67): nothing to
    # merge or trim, so the design is R's postStratify and its numbers R's.
    d = dataset("drill")
    cells = {"street": np.array(d["street"]), "gender": np.array(d["gender"])}
    table = read_csv(REFERENCE / "data" / "drill_pop_street_gender.csv")
    base = reference_design("drill", "weighted")
    ours, report = calibrate(base, cells, table)
    assert report.method == "poststratified" and not report.merges and report.trimmed == 0
    r_ps = reference_design("drill", "ps")
    np.testing.assert_allclose(ours.weights, r_ps.weights, rtol=1e-12)
    y = num(d["aware"])
    for a, b in zip(estimate_rates(ours, {"aware": y}, by=cells["street"]),
                    estimate_rates(r_ps, {"aware": y}, by=cells["street"])):
        assert a.se == pytest.approx(b.se, rel=1e-12)


def test_min_cell_one_merges_only_empty_cells_like_poststratify():
    counts = {("A", g, a): k for g, ks in (("F", (0, 3, 5, 7)), ("M", (1, 2, 4, 6))) for a, k in zip(AGES, ks)}
    design, cells, table = district(counts)
    ours, report = calibrate(design, cells, table, min_cell=1, trim_ratio=None)
    theirs, ps = poststratify(design, cells, table)
    np.testing.assert_allclose(ours.weights, theirs.weights, rtol=1e-12)
    assert report.n_merged == ps.n_collapsed == 1


def test_bad_arguments():
    design, cells, table = district({("A", "F", "60+"): 30})
    with pytest.raises(ValueError, match="min_cell"):
        calibrate(design, cells, table, min_cell=0)
    with pytest.raises(ValueError, match="trim_ratio"):
        calibrate(design, cells, table, trim_ratio=0.5)
    bad = {**cells, "age": np.array(["99+"] * 30)}
    with pytest.raises(ValueError, match="population table does not list"):
        calibrate(design, bad, table)
