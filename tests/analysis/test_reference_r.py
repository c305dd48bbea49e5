"""Minyi's estimates, SEs and intervals against R's survey package.

Expected values: reference/expected/*.csv, written by reference/make_reference.R
(R survey 4.1; the R code for every column is in that script). Tolerances are
those of the issue: estimates 1e-9, standard errors 1e-7, intervals 1e-6
(absolute); design effects 1e-7 relative.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import cache

import numpy as np
import pytest
from analysis_reference import REFERENCE, dataset, design, num, read_csv

from analysis import CI_METHODS, estimate_rates, satisfaction_index

CI_COLUMNS = {
    "normal": "mean",
    "logit": "xlogit",
    "korn-graubard": "beta",
    "wilson": "wilson",
    "clopper-pearson": "cp",
}
FILES = ("drill", "large", "drill_lonely_adjust", "drill_lonely_certainty")


@cache
def expected(file: str):
    t = read_csv(REFERENCE / "expected" / f"{file}.csv")
    rows = [dict(zip(t, vals)) for vals in zip(*t.values())]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["design"], r["indicator"], r["by"])].append(r)
    return groups


def _cases():
    for f in FILES:
        for key in expected(f):
            yield pytest.param(f, *key, id=f"{f}-{'-'.join(k or 'overall' for k in key)}")


@cache
def ours(ds: str, dname: str, indicator: str, by: str):
    d = dataset(ds)
    des = design(ds, dname)
    byv = np.array(d[by]) if by else None
    if indicator == "score":
        res = satisfaction_index(des, num(d["score"]), by=byv, indicator="score")
    else:
        res = estimate_rates(des, {indicator: num(d[indicator])}, by=byv)
    if by:
        return {e.domain: e for e in res if e.domain is not None}
    return {None: res[0]}


def f(x: str) -> float:
    return math.nan if x == "NA" else float(x)


@pytest.mark.parametrize(("file", "dname", "indicator", "by"), list(_cases()))
def test_matches_r(file, dname, indicator, by):
    ds = "large" if file == "large" else "drill"
    got = ours(ds, dname, indicator, by)
    for r in expected(file)[(dname, indicator, by)]:
        dom = None if r["domain"] == "NA" else r["domain"]
        e = got[dom]
        where = f"{dname}/{indicator}/{by or 'overall'}={dom} level={r['level']}"
        assert e.n == int(r["n"]), where
        assert e.df == f(r["df"]), where
        assert abs(e.estimate - f(r["estimate"])) <= 1e-9, where
        se_r = f(r["se"])
        p = f(r["estimate"])
        unit_var = max(p * (1 - p), 0.0) if r["kind"] == "rate" else 1.0
        if se_r**2 <= 1e-12 * unit_var:
            # R's variance is 0 up to rounding (everyone yes, or a domain inside one
            # PSU); its intervals then rest on noise. Minyi reports 0 and says so.
            assert e.se == 0.0, where
            assert e.ci(f(r["level"])).note, where
            continue
        assert abs(e.se - se_r) <= 1e-7, (where, e.se, se_r)
        if se_r > 0:
            assert e.se == pytest.approx(se_r, rel=1e-7), where
            assert e.deff == pytest.approx(f(r["deff"]), rel=1e-7), where
        level = f(r["level"])
        if r["kind"] == "index":
            iv = e.ci(level, "normal", cap=False)
            if not math.isnan(f(r["t_low"])):
                # R's confint is not clipped; Minyi keeps the index within 0-100.
                assert abs(iv.low - max(f(r["t_low"]), 0.0)) <= 1e-6, where
                assert abs(iv.high - min(f(r["t_high"]), 100.0)) <= 1e-6, where
            continue
        assert e.successes == int(r["successes"]), where
        for method, col in CI_COLUMNS.items():
            lo, hi = f(r[f"{col}_low"]), f(r[f"{col}_high"])
            iv = e.ci(level, method, cap=False)  # R parity; the cap is checked below
            if math.isnan(lo) or math.isnan(hi):
                # R gives nothing usable (variance 0 or no df): Minyi says what it did.
                assert iv.note, (where, method)
                assert 0.0 <= iv.low <= iv.high <= 1.0, (where, method)
                continue
            assert abs(iv.low - lo) <= 1e-6, (where, method, iv.low, lo)
            assert abs(iv.high - hi) <= 1e-6, (where, method, iv.high, hi)
            assert iv.note is None, (where, method)


def test_reference_covers_every_design():
    designs = {k[0] for f in FILES for k in expected(f)}
    assert {
        "srs",
        "weighted",
        "strat",
        "clus",
        "clus_fpc",
        "ps",
        "ps_clus",
        "rake",
        "rake_clus",
        "ps_rake",
        "rake_trim",
        "lonely_adjust",
        "lonely_certainty",
    } <= designs


def test_reference_has_degenerate_domains():
    rows = [r for g in expected("drill").values() for r in g]
    zero = [r for r in rows if r["se"] != "NA" and float(r["se"]) == 0.0]
    tiny = [r for r in rows if r["n"] == "3"]
    assert zero and tiny


def test_korn_graubard_reproduces_svyciprop_beta_with_its_row_count():
    """svyciprop(method="beta") uses nrow(design) - 1 for the t numerator.

    For a domain of a calibrated design that is every row of the sample, and
    for an uncalibrated one the domain's rows including missing answers. Minyi
    uses the respondents n (what beta_low/beta_high hold); given R's row count
    the same function gives R's own numbers.
    """
    from analysis import korn_graubard_interval

    checked = differs = 0
    for file in ("drill", "large"):
        for rows in expected(file).values():
            for r in rows:
                if r["kind"] != "rate" or r["svyciprop_beta_low"] == "NA":
                    continue
                p, se = f(r["estimate"]), f(r["se"])
                if se**2 <= 1e-12 * p * (1 - p):
                    continue
                low, high = korn_graubard_interval(
                    p, se * se, int(r["nrow_design"]), f(r["df"]), f(r["level"])
                )
                assert abs(low - f(r["svyciprop_beta_low"])) <= 1e-6
                assert abs(high - f(r["svyciprop_beta_high"])) <= 1e-6
                checked += 1
                differs += r["nrow_design"] != r["n"]
    assert checked > 1000 and differs > 100


@pytest.mark.parametrize("file", FILES)
def test_capped_intervals_never_narrower_than_r(file):
    """The one deviation from svyciprop: n_eff is capped at the respondents.

    Where R's effective size is within n the intervals are R's exactly; where
    calibration (or the df factor) pushes it above n, Minyi's interval is the
    wider one, and the reported n_eff never exceeds n."""
    ds = "large" if file == "large" else "drill"
    same = wider = 0
    for (dname, indicator, by) in expected(file):
        for e in ours(ds, dname, indicator, by).values():
            if e.n == 0:
                continue
            assert e.n_eff <= e.n, (dname, indicator, by, e.domain)
            for method in CI_METHODS:
                capped, raw = e.ci(0.95, method), e.ci(0.95, method, cap=False)
                assert capped.low <= raw.low + 1e-12 and capped.high >= raw.high - 1e-12
                if (capped.low, capped.high) == (raw.low, raw.high):
                    same += 1
                else:
                    wider += 1
    assert same > 0 and wider > 0


# ---- capped intervals (cap=True, Minyi's default) against R ------------------
# The *_cap_* columns of reference/expected/*.csv are R transcriptions: beta_cap
# is CDC surveytable's svyciprop_adjusted(method="beta") (NCHS) with
# nrow(design) -> n and df = degf; the others cap n_eff at n (Wilson,
# Clopper-Pearson) or floor the variance at p(1-p)/n (mean, xlogit). See
# make_reference.R.

_DF_0 = "no design degrees of freedom: normal quantile used"


def _rate_rows(file: str):
    ds = "large" if file == "large" else "drill"
    for (dname, indicator, by), rows in expected(file).items():
        got = ours(ds, dname, indicator, by)
        for r in rows:
            if r["kind"] == "rate":
                e = got[None if r["domain"] == "NA" else r["domain"]]
                yield f"{dname}/{indicator}/{by or 'overall'}={r['domain']}", r, e


def _variance_0(r) -> bool:
    p, se = f(r["estimate"]), f(r["se"])
    return math.isnan(se) or se**2 <= 1e-12 * max(p * (1 - p), 0.0)


@pytest.mark.parametrize("file", FILES)
def test_capped_intervals_match_r(file):
    """Estimate.ci(level, method) (cap=True) equals R's *_cap_* columns within 1e-6.

    Excluded, each asserted: R's variance 0 up to rounding (Minyi: variance 0,
    Clopper-Pearson on counts, noted, as in test_matches_r); R's NA (no df:
    Minyi uses the normal quantile and says so); Korn-Graubard with no df,
    where NCHS's limit case gives [0, 1] (test below)."""
    compared = noted = 0
    for where, r, e in _rate_rows(file):
        level = f(r["level"])
        assert e.n == int(r["n"]), where
        if _variance_0(r):
            for method in CI_METHODS:
                assert e.ci(level, method).note, (where, method)
            noted += 1
            continue
        for method, col in CI_COLUMNS.items():
            lo, hi = f(r[f"{col}_cap_low"]), f(r[f"{col}_cap_high"])
            iv = e.ci(level, method)
            if method == "korn-graubard" and not f(r["df"]) > 0:
                continue  # test_korn_graubard_without_df_is_not_nchs_limit_case
            if math.isnan(lo) or math.isnan(hi):
                assert iv.note == _DF_0 and not f(r["df"]) > 0, (where, method)
                assert iv.low <= iv.high, (where, method)  # normal is not clipped, as in R
                noted += 1
                continue
            assert abs(iv.low - lo) <= 1e-6, (where, method, level, iv.low, lo)
            assert abs(iv.high - hi) <= 1e-6, (where, method, level, iv.high, hi)
            assert iv.note is None, (where, method)
            compared += 1
    assert compared > 0


def test_korn_graubard_without_df_is_the_nchs_limit_case():
    """Where the domain has no design df but a variance (a domain inside one PSU
    of a calibrated design), svyciprop_adjusted sets rat.squ = 0, so n_eff = 0
    and its interval is [0, 1]: the data say nothing about that domain's
    variance. Minyi follows NCHS (and says so); uncapped, it keeps its old
    fallback (normal quantile, i.e. Clopper-Pearson on n_eff: R's cp columns)."""
    rows = 0
    for file in FILES:
        for where, r, e in _rate_rows(file):
            if _variance_0(r) or f(r["df"]) > 0:
                continue
            assert (f(r["beta_cap_low"]), f(r["beta_cap_high"])) == (0.0, 1.0), where
            iv = e.ci(f(r["level"]), "korn-graubard")
            assert (iv.low, iv.high) == (0.0, 1.0) and "NCHS" in iv.note, where
            raw = e.ci(f(r["level"]), "korn-graubard", cap=False)
            assert raw.note == _DF_0, where
            rows += 1
    assert rows > 0


# ---- Newcombe's hybrid score interval (reference/make_newcombe.R) ------------


def _newcombe_rows():
    t = read_csv(REFERENCE / "expected" / "newcombe.csv")
    return [dict(zip(t, vals)) for vals in zip(*t.values())]


def _counts_estimate(x: int, n: int):
    """An Estimate of x of n unweighted: se^2 = p(1-p)/n and df = inf, so that
    Minyi's Wilson components are Wilson on n with the normal quantile."""
    from analysis.results import Estimate

    p = x / n
    return Estimate(
        indicator="y", domain=None, n=n, successes=x, estimate=p,
        se=math.sqrt(p * (1 - p) / n), df=math.inf, deff=1.0, n_eff=float(n),
    )  # fmt: skip


def _newcombe_id(r) -> str:
    return f"{r['x_before']}of{r['n_before']}-{r['x_after']}of{r['n_after']}-{float(r['level']):g}"


@pytest.mark.parametrize("r", _newcombe_rows(), ids=_newcombe_id)
def test_newcombe_matches_r(r):
    from analysis.compare import _inverted_p_value, newcombe_interval

    before = _counts_estimate(int(r["x_before"]), int(r["n_before"]))
    after = _counts_estimate(int(r["x_after"]), int(r["n_after"]))
    low, high = newcombe_interval(before, after, f(r["level"]))
    # R's bound can be 1 + 2e-16; Minyi clips to [-1, 1].
    assert abs(low - f(r["low"])) <= 1e-6, (low, r["low"])
    assert abs(high - f(r["high"])) <= 1e-6, (high, r["high"])
    assert abs(_inverted_p_value(before, after) - f(r["p_inverted"])) <= 1e-6
