"""build_report: the numbers in the report are the estimators' own, for the
right domains, and the weak items' "don't know" shares are the counts."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.design import SurveyDesign
from analysis.estimators import estimate_rates
from analysis.report import WEAK_ITEMS, IndicatorSpec, ReportInput, build_report


def _input(seed: int = 3, n: int = 900) -> ReportInput:
    rng = np.random.default_rng(seed)
    # Codes whose text order ("U10" < "U2") differs from their number order.
    units = np.array(["U2", "U10", "U9", "U1"])[rng.integers(0, 4, n)]
    street = np.where(np.isin(units, ["U2", "U10"]), "S1", "S2")
    values, dont_know = {}, {}
    for key, p in (("aware", 0.9), ("support", 0.6)):
        answer = rng.random(n)
        unknown = answer > 0.92
        values[key] = np.where(unknown, np.nan, (answer < p).astype(float))
        dont_know[key] = unknown
    excluded = rng.random(n) < 0.05
    return ReportInput(
        indicators=[IndicatorSpec("aware", "知晓率", 0.8), IndicatorSpec("support", "支持率", 0.8)],
        values=values,
        dont_know=dont_know,
        unit=units,
        street=street,
        gender=np.array(["male"] * n),
        age_group=np.array(["30_44"] * n),
        excluded=excluded,
        exclusions={"too_fast": int(excluded.sum())},
        unit_names={"U1": "一社区", "U2": "二社区", "U9": "九社区", "U10": "十社区"},
        street_names={"S1": "东街道", "S2": "西街道"},
    )


def test_unit_rows_are_the_estimators_numbers_for_each_unit():
    data = _input()
    report = build_report(data)
    design = SurveyDesign(strata=data.street, excluded=data.excluded, lonely_psu="adjust")
    expected = {(e.indicator, e.domain): e for e in estimate_rates(design, dict(data.values), by=data.unit)}
    assert {r.domain for r in report.by_unit} == {"U1", "U2", "U9", "U10"}
    for r in report.by_unit:
        e = expected[(r.key, r.domain)]
        assert (r.n, r.rate, r.estimate.se) == (e.n, pytest.approx(e.estimate, abs=1e-15), pytest.approx(e.se))
        assert r.domain_name == data.unit_names[r.domain]
        # the plain share, as unweighted rows are counted
        rows = (data.unit == r.domain) & ~data.excluded & ~np.isnan(data.values[r.key])
        assert r.rate == pytest.approx(np.mean(data.values[r.key][rows]))


def test_weak_items_count_dont_know_answers_per_unit():
    data = _input()
    report = build_report(data)
    assert report.weak_items and len(report.weak_items) <= WEAK_ITEMS
    assert all(w.verdict != "pass" for w in report.weak_items)
    for w in report.weak_items:
        rows = ~data.excluded if w.domain is None else ~data.excluded & (data.unit == w.domain)
        unknown = np.count_nonzero(rows & data.dont_know[w.key])
        answered = np.count_nonzero(rows & (data.dont_know[w.key] | ~np.isnan(data.values[w.key])))
        assert w.dont_know_share == pytest.approx(unknown / answered)
    gaps = [w.rate - w.target for w in report.weak_items]
    assert gaps == sorted(gaps)
