"""Seeded simulation study: are the intervals and verdicts honest at drill scale?

A synthetic district (a few streets, each with a few communities) has
population cells community x gender x age group with their own true rates:
a community base rate on the logit scale plus gender and age effects, so that
weighting matters. The estimand is the **true community rate**, the
population-weighted mean of its cell rates; each community is given one of
:data:`RATES` exactly (spread over 0.5-0.99, several near the 0.8 target).

Each community is then sampled ``n`` times, not in proportion to the cells:
the elderly are over-sampled (up to 2.5x) and the young under-sampled, so
unweighted rates are biased upwards and the weights vary. Optionally the
respondents come in buildings of a given size with a building effect on the
logit scale (:class:`Clustering`), and the design declares the buildings
(``SurveyDesign(strata=street, clusters=building)``; building ids are unique
within a street only).

The sample is weighted by each scheme of :data:`SCHEMES`, every community's
rate is estimated with :func:`analysis.estimate_rates`, and for every interval
method of :data:`analysis.intervals.CI_METHODS` the interval
(``Estimate.ci``, capped, the default) and the verdict under the default
:class:`VerdictRule` are recorded (:func:`analysis.targets.target_verdict`
for the default method, the same rule via :func:`rule_verdict` for the
others); for the default method also the uncapped interval (R's numbers).
:func:`summarise` turns the records into coverage, false pass, false fail,
median width, share of insufficient verdicts, largest ``n_eff/n`` and mean
design effect per group.

Everything is driven by ``numpy.random.default_rng`` seeded from
``(seed, replication, ...)``, so results do not depend on how replications
are split among worker processes. ``bench/simulate_intervals.py`` runs the
full study; ``tests/analysis/test_simulation.py`` a reduced one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import special

from .calibration import calibrate
from .design import SurveyDesign
from .errors import AnalysisError
from .estimators import estimate_rates
from .intervals import CI_METHODS, DEFAULT_CI_METHOD
from .results import Estimate, Interval
from .targets import (
    DEFAULT_VERDICT_RULE,
    VERDICTS,
    VerdictRule,
    target_verdict,
    verdict_from_interval,
)
from .weighting import rake

__all__ = [
    "AGE_EFFECTS",
    "AGE_GROUPS",
    "AGE_SHARES",
    "CLUSTERINGS",
    "GENDER_EFFECTS",
    "METHOD_LABELS",
    "OVERSAMPLING",
    "RATES",
    "SAMPLE_SIZES",
    "SCHEMES",
    "UNCAPPED",
    "Clustering",
    "District",
    "Results",
    "Sample",
    "draw_sample",
    "evaluate",
    "make_district",
    "rule_verdict",
    "simulate",
    "summarise",
    "weight",
]

#: True community rates: spread over 0.5-0.99, several close to the 0.8 target.
RATES = (0.5, 0.7, 0.75, 0.78, 0.82, 0.85, 0.9, 0.95, 0.99)
#: Interviews per community.
SAMPLE_SIZES = (5, 8, 12, 20, 30, 60, 120, 400)
AGE_GROUPS = ("18-29", "30-44", "45-59", "60-69", "70+")
#: Share of each age group in a community's adult population (before noise).
AGE_SHARES = (0.20, 0.27, 0.25, 0.15, 0.13)
#: Logit-scale effects on the rate: the elderly know more than the young...
AGE_EFFECTS = (-0.9, -0.4, 0.0, 0.5, 1.0)
GENDER_EFFECTS = (0.2, -0.2)  # F, M
#: ...and are easier to find at home: chance of being interviewed, relative.
OVERSAMPLING = (0.5, 0.8, 1.0, 2.0, 2.5)

#: Weighting schemes. ``poststratified`` is what the app does (calibrate's
#: defaults on street x gender x age); ``raw-poststrat`` is the old behaviour
#: (only empty cells merged, no trimming); the ``-community`` variants
#: calibrate to community x gender x age cells instead.
SCHEMES = (
    "unweighted",
    "poststratified",
    "raw-poststrat",
    "raked",
    "poststrat-community",
    "raw-poststrat-community",
)

#: Label of the uncapped default interval (R's ``svyciprop`` numbers).
UNCAPPED = f"{DEFAULT_CI_METHOD} (uncapped, R)"
#: Interval methods recorded, in order: every capped method, then the uncapped default.
METHOD_LABELS = (*CI_METHODS, UNCAPPED)

_HERMITE = hermegauss(160)  # exact to ~1e-14 for sigma up to 2.4


@dataclass(frozen=True)
class Clustering:
    """How respondents come in buildings.

    ``size`` respondents per building (a community's ``n`` interviews are
    split over ``ceil(n/size)`` buildings of nearly equal size); ``sigma`` the
    standard deviation of the building effect on the logit scale. ``size=None``:
    no clusters, each respondent is a PSU.
    """

    name: str
    size: int | None = None
    sigma: float = 0.0


#: No clusters, and buildings of 8 with effects that give a design effect of
#: about 2 and 3: the mean ``Estimate.deff`` of unweighted rates is 1.6-2.0 and
#: 2.3-3.0 from 30 to 400 interviews a community (bench run, seed 20261203);
#: the bench reports the realised value, weighting included, with the results.
CLUSTERINGS = (
    Clustering("none"),
    Clustering("deff~2", 8, 1.4),
    Clustering("deff~3", 8, 2.4),
)


@dataclass(frozen=True)
class District:
    """Population and true rates of a synthetic district.

    ``pop`` and ``cell_rate`` have shape (communities, 2 genders, age groups);
    ``true_rate[k]`` is the population-weighted mean of ``cell_rate[k]``.
    """

    street: np.ndarray
    pop: np.ndarray
    cell_rate: np.ndarray
    true_rate: np.ndarray

    @property
    def n_communities(self) -> int:
        return int(self.street.size)

    @property
    def n_age(self) -> int:
        return int(self.pop.shape[2])


def _solve_base(pop: np.ndarray, effects: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Base logit per community so that the population-weighted mean rate is ``rates``."""
    share = pop.reshape(len(rates), -1) / pop.reshape(len(rates), -1).sum(axis=1, keepdims=True)
    eff = effects.reshape(len(rates), -1)
    b = special.logit(rates) - (share * eff).sum(axis=1)
    for _ in range(100):
        p = special.expit(b[:, None] + eff)
        f = (share * p).sum(axis=1) - rates
        if np.max(np.abs(f)) < 1e-14:
            break
        b = b - f / (share * p * (1.0 - p)).sum(axis=1)
    return b


def make_district(
    rng: np.random.Generator,
    rates: Sequence[float] = RATES,
    *,
    communities_per_street: int = 3,
    jitter: float = 0.15,
) -> District:
    """A district with one community per entry of ``rates`` (in random order).

    Community sizes are uniform on 1,500-6,000 adults, split by
    :data:`AGE_SHARES` and gender with log-normal noise (sd 0.3) per cell.
    Cell rates: ``expit(base_k + gender effect + age effect + jitter)``, the
    jitter normal with sd ``jitter`` per community x age group, and ``base_k``
    solved so that the community's population-weighted rate is its entry
    of ``rates``.
    """
    rates = rng.permutation(np.asarray(rates, dtype=float))
    k, n_age = rates.size, len(AGE_SHARES)
    street = np.arange(k) // communities_per_street
    size = rng.uniform(1500.0, 6000.0, k)
    noise = np.exp(rng.normal(0.0, 0.3, (k, 2, n_age)))
    pop = np.maximum(np.round(size[:, None, None] * 0.5 * np.array(AGE_SHARES) * noise), 1.0)
    effects = (
        np.array(GENDER_EFFECTS)[None, :, None]
        + np.array(AGE_EFFECTS)[None, None, :]
        + rng.normal(0.0, jitter, (k, 1, n_age))
    )
    effects = np.broadcast_to(effects, pop.shape)
    base = _solve_base(pop, effects, rates)
    cell_rate = special.expit(base[:, None, None] + effects)
    true_rate = (pop * cell_rate).sum(axis=(1, 2)) / pop.sum(axis=(1, 2))
    return District(street=street, pop=pop, cell_rate=cell_rate, true_rate=true_rate)


def _conditional_logit(p: np.ndarray, sigma: float) -> np.ndarray:
    """``eta`` with ``E[expit(eta + sigma Z)] = p``, Z standard normal (Gauss-Hermite)."""
    p = np.asarray(p, dtype=float)
    if sigma == 0:
        return special.logit(p)
    nodes, weights = _HERMITE
    weights = weights / weights.sum()
    eta = special.logit(p) * math.sqrt(1.0 + 0.346 * sigma * sigma)
    for _ in range(100):
        q = special.expit(eta[..., None] + sigma * nodes)
        f = (q * weights).sum(axis=-1) - p
        if np.max(np.abs(f)) < 1e-14:
            break
        eta = eta - f / (q * (1.0 - q) * weights).sum(axis=-1)
    return eta


@dataclass(frozen=True)
class Sample:
    """Respondent-level arrays of one drill (integer codes)."""

    community: np.ndarray
    street: np.ndarray
    gender: np.ndarray
    age: np.ndarray
    cluster: np.ndarray | None
    y: np.ndarray
    n: int
    clustering: Clustering = field(default_factory=lambda: CLUSTERINGS[0])


def draw_sample(
    rng: np.random.Generator, district: District, n: int, clustering: Clustering = CLUSTERINGS[0]
) -> Sample:
    """``n`` interviews per community, cells drawn in proportion to population x oversampling.

    With clusters, the community's interviews are split over ``ceil(n/size)``
    buildings, each with a normal effect (sd ``sigma``) on the logit scale; the
    cell rates are first moved to the conditional scale so that every
    respondent's expected answer is still its cell's true rate (the estimand
    does not change with the clustering).
    """
    k, n_age = district.n_communities, district.n_age
    n_cells = 2 * n_age
    prob = (district.pop * np.array(OVERSAMPLING)[None, None, :]).reshape(k, n_cells)
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    u = rng.random((k, n))
    cell = np.minimum((u[:, :, None] > cum[:, None, :]).sum(axis=2), n_cells - 1)
    community = np.repeat(np.arange(k), n)
    eta = _conditional_logit(district.cell_rate.reshape(k, n_cells), clustering.sigma)
    logit = np.take_along_axis(eta, cell, axis=1)
    cluster = None
    if clustering.size is not None:
        n_buildings = -(-n // clustering.size)
        building = np.broadcast_to(np.arange(n) % n_buildings, (k, n))
        effect = rng.normal(0.0, clustering.sigma, (k, n_buildings))
        logit = logit + np.take_along_axis(effect, building, axis=1)
        # ids unique within a street only (the design nests them in the strata)
        per_street = np.bincount(district.street)
        first = np.r_[0, np.cumsum(per_street)[:-1]]
        slot = np.arange(k) - first[district.street]
        cluster = (slot[:, None] * n_buildings + building).ravel()
    y = (rng.random((k, n)) < special.expit(logit)).astype(float).ravel()
    cell = cell.ravel()
    return Sample(
        community=community,
        street=district.street[community],
        gender=cell // n_age,
        age=cell % n_age,
        cluster=cluster,
        y=y,
        n=n,
        clustering=clustering,
    )


def _population_cells(district: District, first: str) -> list:
    """Population table ``(cell dict, count)``: street (or community) x gender x age."""
    pop = district.pop
    if first == "street":
        pop = np.zeros((int(district.street.max()) + 1,) + district.pop.shape[1:])
        np.add.at(pop, district.street, district.pop)
    return [
        ({first: s, "gender": g, "age": a}, float(pop[s, g, a]))
        for s in range(pop.shape[0])
        for g in range(2)
        for a in range(district.n_age)
    ]


def weight(sample: Sample, district: District, scheme: str) -> tuple[SurveyDesign | None, str]:
    """The design of ``sample`` weighted by ``scheme`` (:data:`SCHEMES`).

    Returns ``(design, what was done)``, or ``(None, why)`` when the scheme
    cannot be applied to this sample (raking with a category that has no
    respondents, or that does not converge): the study counts it as skipped.
    """
    design = SurveyDesign(strata=sample.street, clusters=sample.cluster)
    if scheme == "unweighted":
        return design, "unweighted"
    if scheme == "raked":
        margins = {}
        for name, values, axes in (
            ("street", sample.street, None),
            ("gender", sample.gender, (0, 2)),
            ("age", sample.age, (0, 1)),
        ):
            if axes is None:
                totals = np.bincount(district.street, weights=district.pop.sum(axis=(1, 2)))
            else:
                totals = district.pop.sum(axis=axes)
            margins[name] = (values, {i: float(t) for i, t in enumerate(totals)})
        try:
            return rake(design, margins), "raked"
        except AnalysisError as exc:
            return None, f"skipped: {exc}"
    if scheme not in SCHEMES:
        raise ValueError(f"unknown weighting scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    first = "community" if scheme.endswith("-community") else "street"
    cells = {
        first: sample.community if first == "community" else sample.street,
        "gender": sample.gender,
        "age": sample.age,
    }
    kwargs = {"min_cell": 1, "trim_ratio": None} if scheme.startswith("raw-") else {}
    new, report = calibrate(design, cells, _population_cells(district, first), **kwargs)
    return new, report.method


def rule_verdict(
    estimate: Estimate, interval: Interval, target: float, rule: VerdictRule = DEFAULT_VERDICT_RULE
) -> str:
    """The verdict :func:`target_verdict` would give with ``interval`` (for the uncapped one).

    ``target_verdict`` always reads the capped interval; this applies the same
    rule (too few answers, or an undecided interval that is too imprecise:
    ``insufficient``) to any interval.
    """
    verdict = verdict_from_interval(interval, target)
    if estimate.n < rule.min_n:
        return "insufficient"
    if verdict == "undecided" and (
        estimate.n_eff < rule.reliable_n_eff or interval.high - interval.low >= rule.max_width
    ):
        return "insufficient"
    return verdict


_VERDICT_CODE = {v: i for i, v in enumerate(VERDICTS)}


def evaluate(
    design: SurveyDesign,
    sample: Sample,
    district: District,
    target: float = 0.8,
    rule: VerdictRule = DEFAULT_VERDICT_RULE,
    methods: Sequence[str] = METHOD_LABELS,
) -> dict[str, np.ndarray]:
    """Estimates, intervals and verdicts of every community for each of ``methods``.

    Returns arrays with one row per community (``true``, ``n``, ``successes``,
    ``estimate``, ``se``, ``df``, ``deff``, ``n_eff``, and ``raw_n_eff`` =
    ``p(1-p)/Var`` before the cap, NaN when the variance is 0) and, with one
    column per entry of ``methods`` (:data:`METHOD_LABELS`), ``low``, ``high``
    and ``verdict`` (index in :data:`analysis.targets.VERDICTS`).

    The default method's verdict is :func:`target_verdict`'s; the other
    methods' verdicts apply the same rule to their intervals
    (:func:`rule_verdict`, checked against ``target_verdict`` in the tests).
    ``target_verdict`` also computes a p-value and searches for "more
    interviews needed", neither of which the study uses (the verdict does not
    depend on them); calling it for every method took 40% of the running time.
    It is called with ``more_limit=1`` for the same reason.
    """
    for method in methods:
        if method not in METHOD_LABELS:
            raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHOD_LABELS)}")
    k, m = district.n_communities, len(methods)
    out = {
        "true": district.true_rate.copy(),
        "n": np.zeros(k),
        "successes": np.zeros(k),
        "estimate": np.full(k, np.nan),
        "se": np.full(k, np.nan),
        "df": np.full(k, np.nan),
        "deff": np.full(k, np.nan),
        "n_eff": np.full(k, np.nan),
        "raw_n_eff": np.full(k, np.nan),
        "low": np.full((k, m), np.nan),
        "high": np.full((k, m), np.nan),
        "verdict": np.full((k, m), -1, dtype=np.int8),
    }
    for est in estimate_rates(design, {"y": sample.y}, by=sample.community)[1:]:
        j = int(est.domain)
        out["n"][j] = est.n
        out["successes"][j] = est.successes
        out["df"][j] = est.df
        out["estimate"][j] = est.estimate
        out["se"][j] = est.se
        out["deff"][j] = est.deff
        out["n_eff"][j] = est.n_eff
        if est.se > 0:
            out["raw_n_eff"][j] = est.estimate * (1.0 - est.estimate) / est.variance
        for i, method in enumerate(methods):
            if method == DEFAULT_CI_METHOD:
                res = target_verdict(est, target, method=method, rule=rule, more_limit=1)
                interval, verdict = res.interval, res.verdict
            else:
                if method == UNCAPPED:
                    interval = est.ci(0.95, DEFAULT_CI_METHOD, cap=False)
                else:
                    interval = est.ci(0.95, method)
                verdict = rule_verdict(est, interval, target, rule)
            out["low"][j, i], out["high"][j, i] = interval.low, interval.high
            out["verdict"][j, i] = _VERDICT_CODE[verdict]
    return out


@dataclass
class Results:
    """Records of a simulation: one row per (replication, n, clustering, scheme, community).

    ``unit`` holds the per-community columns of :func:`evaluate` plus ``rep``,
    ``n_design`` (interviews per community), ``clustering`` and ``scheme``
    (indices into the tuples below);
    ``low``, ``high``, ``verdict`` have one column per method in ``methods``.
    ``skipped`` counts (n, clustering, scheme) runs that could not be weighted.
    """

    ns: tuple
    clusterings: tuple
    schemes: tuple
    methods: tuple
    target: float
    unit: dict
    skipped: dict

    def select(self, **conditions) -> np.ndarray:
        """Boolean mask of units, e.g. ``select(scheme="raked", n=12)``."""
        mask = np.ones(self.unit["true"].size, dtype=bool)
        for key, value in conditions.items():
            if key == "n":
                mask &= np.isin(self.unit["n_design"], np.atleast_1d(value))
            elif key == "scheme":
                mask &= np.isin(self.unit["scheme"], [self.schemes.index(v) for v in _seq(value)])
            elif key == "clustering":
                names = [c.name for c in self.clusterings]
                mask &= np.isin(self.unit["clustering"], [names.index(v) for v in _seq(value)])
            elif key == "rate":
                mask &= np.isin(np.round(self.unit["true"], 6), np.round(np.atleast_1d(value), 6))
            else:
                raise ValueError(f"unknown condition {key!r}")
        return mask


def _seq(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _chunk(args) -> tuple[dict, dict]:
    reps, seed, ns, clusterings, schemes, rates, target, rule, methods = args
    cols: dict[str, list] = {}
    skipped: dict = {}
    for rep in reps:
        district = make_district(np.random.default_rng([seed, rep, 0]), rates)
        for n in ns:
            for i_c, clustering in enumerate(clusterings):
                rng = np.random.default_rng([seed, rep, 1, int(n), i_c])
                sample = draw_sample(rng, district, int(n), clustering)
                for i_s, scheme in enumerate(schemes):
                    design, _ = weight(sample, district, scheme)
                    if design is None:
                        key = (int(n), clustering.name, scheme)
                        skipped[key] = skipped.get(key, 0) + 1
                        continue
                    rec = evaluate(design, sample, district, target, rule, methods)
                    k = rec["true"].size
                    rec["rep"] = np.full(k, rep)
                    rec["n_design"] = np.full(k, int(n))
                    rec["clustering"] = np.full(k, i_c)
                    rec["scheme"] = np.full(k, i_s)
                    for key, value in rec.items():
                        cols.setdefault(key, []).append(value)
    return {key: np.concatenate(v) for key, v in cols.items()}, skipped


def simulate(
    reps: int,
    seed: int,
    *,
    ns: Sequence[int] = SAMPLE_SIZES,
    clusterings: Sequence[Clustering] = CLUSTERINGS,
    schemes: Sequence[str] = SCHEMES,
    rates: Sequence[float] = RATES,
    target: float = 0.8,
    rule: VerdictRule = DEFAULT_VERDICT_RULE,
    methods: Sequence[str] = METHOD_LABELS,
    workers: int = 1,
) -> Results:
    """Run ``reps`` replications of every (n, clustering, scheme).

    Replication ``r`` draws its district from ``default_rng([seed, r, 0])``
    and its sample for size ``n`` and clustering ``c`` from
    ``default_rng([seed, r, 1, n, c])`` -- the same district for every n,
    and the same sample for every weighting scheme -- so the records are the
    same whatever ``workers`` is.
    """
    for s in schemes:
        if s not in SCHEMES:
            raise ValueError(f"unknown weighting scheme {s!r}")
    config = (
        seed, tuple(ns), tuple(clusterings), tuple(schemes), tuple(rates), target, rule,
        tuple(methods),
    )
    if workers <= 1 or reps < 2:
        parts = [_chunk((range(reps), *config))]
    else:
        n_chunks = min(reps, 8 * workers)
        bounds = np.linspace(0, reps, n_chunks + 1).astype(int)
        jobs = [(range(a, b), *config) for a, b in pairwise(bounds) if b > a]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_chunk, jobs))
    unit = {key: np.concatenate([p[0][key] for p in parts]) for key in parts[0][0]}
    order = np.lexsort((unit["scheme"], unit["clustering"], unit["n_design"], unit["rep"]))
    unit = {key: value[order] for key, value in unit.items()}
    skipped: dict = {}
    for _, part in parts:
        for key, count in part.items():
            skipped[key] = skipped.get(key, 0) + count
    return Results(
        ns=tuple(int(n) for n in ns),
        clusterings=tuple(clusterings),
        schemes=tuple(schemes),
        methods=tuple(methods),
        target=float(target),
        unit=unit,
        skipped=skipped,
    )


def summarise(results: Results, mask: np.ndarray, method: str) -> dict:
    """Coverage, verdict errors and widths of the units in ``mask`` for one method.

    Keys: ``units``; ``coverage`` (share of intervals containing the true
    rate); ``below`` / ``false_pass`` (units whose true rate is below the
    target, and the share of them called ``pass``); ``above`` /
    ``false_fail`` (true rate at or above the target, share called ``fail``);
    ``width`` (median interval width); ``insufficient`` (share of
    ``insufficient`` verdicts); ``n_eff_over_n`` (share of estimates with
    ``Estimate.n_eff > n``, to be 0); ``max_n_eff_ratio`` (largest
    ``Estimate.n_eff/n``); ``max_raw_n_eff_ratio`` (largest ``p(1-p)/Var/n``,
    before the cap); ``deff`` (mean ``Estimate.deff``); ``bias`` (mean
    estimate minus true rate); ``var0`` (share of estimates with variance 0,
    whose interval is Clopper-Pearson on the counts), ``var0_coverage`` (the
    coverage among them) and ``var0_false_pass`` (false passes with variance
    0, as a share of the units below the target).
    """
    i = results.methods.index(method)
    u = results.unit
    true = u["true"][mask]
    low, high = u["low"][mask, i], u["high"][mask, i]
    verdict = u["verdict"][mask, i]
    n = u["n"][mask]
    below = true < results.target - 1e-12
    above = ~below
    n_eff, raw = u["n_eff"][mask], u["raw_n_eff"][mask]
    deff = u["deff"][mask]
    covered = (low <= true) & (true <= high)
    var0 = ~(u["se"][mask] > 0)
    passed = verdict == _VERDICT_CODE["pass"]

    def share(x, of=None):
        x = x if of is None else x[of]
        return float(np.mean(x)) if x.size else math.nan

    def finite(f, x):
        return float(f(x)) if np.any(np.isfinite(x)) else math.nan

    return {
        "units": int(true.size),
        "coverage": share(covered),
        "below": int(below.sum()),
        "false_pass": share(passed, below),
        "above": int(above.sum()),
        "false_fail": share(verdict == _VERDICT_CODE["fail"], above),
        "width": float(np.median(high - low)) if true.size else math.nan,
        "insufficient": share(verdict == _VERDICT_CODE["insufficient"]),
        "n_eff_over_n": share(n_eff > n * (1 + 1e-12)),
        "max_n_eff_ratio": finite(np.nanmax, n_eff / n),
        "max_raw_n_eff_ratio": finite(np.nanmax, raw / n),
        "deff": finite(np.nanmean, deff),
        "bias": share(u["estimate"][mask] - true),
        "var0": share(var0),
        "var0_coverage": share(covered, var0),
        "var0_false_pass": share(passed & var0, below),
    }
