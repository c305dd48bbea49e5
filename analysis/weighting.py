"""Calibrating weights to population counts: post-stratification, raking, trimming.

Each function returns a *new* :class:`~analysis.design.SurveyDesign`; the new
design remembers the calibration so that standard errors account for it as
R's ``survey`` does (``postStratify``, ``rake``; Lumley 2010, ch. 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .design import CalibrationStep, SurveyDesign, _Factor, factorize, joint_codes
from .errors import ConvergenceError, InvalidDesign

__all__ = [
    "COLLAPSE_RULES",
    "CellReport",
    "PostStratReport",
    "RakeReport",
    "WeightDiagnostics",
    "poststratify",
    "rake",
    "trim_weights",
    "weight_diagnostics",
]

#: Rules for a population cell without respondents.
COLLAPSE_RULES = ("neighbour", "none")


@dataclass(frozen=True)
class CellReport:
    """One post-stratum after collapsing.

    Attributes
    ----------
    cells : tuple of dict
        The population cells merged into this post-stratum (one unless collapsed).
    population : float
        Population count of the post-stratum.
    respondents : int
        Kept rows in it.
    weight_before : float
        Sum of the weights before post-stratification.
    factor : float
        Adjustment ``population / weight_before`` applied to its rows.
    """

    cells: tuple
    population: float
    respondents: int
    weight_before: float
    factor: float


@dataclass(frozen=True)
class PostStratReport:
    """What :func:`poststratify` did.

    Attributes
    ----------
    variables : tuple of str
        The cell variables, in the order given.
    strata : tuple of CellReport
        The post-strata used.
    collapsed : tuple of (dict, dict, str)
        ``(empty cell, cell it was merged into, variable along which)``, in order.
    population_total : float
        Equal to the sum of the weights afterwards: no population is dropped.
    """

    variables: tuple
    strata: tuple
    collapsed: tuple
    population_total: float

    @property
    def n_collapsed(self) -> int:
        return len(self.collapsed)


@dataclass(frozen=True)
class RakeReport:
    """Convergence of :func:`rake`: sweeps done and the largest relative margin error left."""

    iterations: int
    max_relative_error: float
    converged: bool
    margins: tuple = field(default=())


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of a design's weights (Kish 1965, sec. 11.7).

    Attributes
    ----------
    n : int
    sum : float
    kish_deff : float
        ``n * sum(w^2) / sum(w)^2``: the variance inflation due to unequal weights alone.
    n_eff : float
        ``n / kish_deff = sum(w)^2 / sum(w^2)``.
    min, max, mean : float
    ratio : float
        ``max / min``.
    """

    n: int
    sum: float
    kish_deff: float
    n_eff: float
    min: float
    max: float
    mean: float
    ratio: float


def weight_diagnostics(design: SurveyDesign) -> WeightDiagnostics:
    """Kish design effect, effective sample size, min, max and max/min of the weights.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley. Sec. 11.7 (``1 + cv^2``).
    """
    w = design.weights
    s, s2 = float(w.sum()), float(np.dot(w, w))
    n = design.n
    deff = n * s2 / (s * s)
    return WeightDiagnostics(
        n=n,
        sum=s,
        kish_deff=deff,
        n_eff=s * s / s2,
        min=float(w.min()),
        max=float(w.max()),
        mean=s / n,
        ratio=float(w.max() / w.min()),
    )


def trim_weights(
    design: SurveyDesign,
    lower: float | None = None,
    upper: float | None = None,
    *,
    strict: bool = False,
) -> SurveyDesign:
    """Trim weights to ``[lower, upper]``, as R's ``trimWeights``.

    Parameters
    ----------
    design : SurveyDesign
    lower, upper : float, optional
        Bounds on the weights (absolute values, not multiples of the mean).
    strict : bool
        The weight cut off (or added) is shared *equally* among the rows that
        were inside the bounds, so the total is kept (R ``trimWeights``). That
        may push some of them beyond a bound; ``strict=True`` repeats until no
        weight is outside (R ``strict=TRUE``).

    Returns
    -------
    SurveyDesign
        With the same calibration record, as R keeps ``postStrata``: the
        variance still removes the calibration residuals with the weights
        the calibration produced.
    """
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lo > hi:
        raise ValueError("lower bound is above the upper bound")
    w = design.weights
    for _ in range(1000):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        if outside.all():
            raise InvalidDesign("every weight is outside the trimming bounds")
        nw = np.clip(w, lo, hi)
        nw[~outside] += (w - nw).sum() / (~outside).sum()
        w = nw
        if not strict:
            break
    if w is design.weights:
        return design
    return design._with(weights=w)


def _norm_key(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def poststratify(
    design: SurveyDesign, cells: Mapping[str, object], population, *, collapse: str = "neighbour"
) -> tuple[SurveyDesign, PostStratReport]:
    """Post-stratify the weights to population counts per cell (R ``postStratify``).

    Parameters
    ----------
    design : SurveyDesign
    cells : mapping of str to array-like
        The cell variables (e.g. ``{"street": ..., "gender": ..., "age": ...}``),
        each one value per row (``n_rows`` long).
    population : sequence of (dict, float) or mapping of str to sequence
        The population count of every cell: either pairs
        ``({"street": "A", "gender": "F", "age": "18-29"}, 1234)`` or a table
        (columns of equal length) with the cell variables and ``population``.
        Values are matched as text. The order in which a variable's values
        first appear is taken as their natural order (used to find neighbours).
    collapse : {"neighbour", "none"}
        Rule for a population cell without respondents. ``"neighbour"``: merge
        it with the nearest cell that differs only in one variable, trying the
        last variable first (e.g. the adjacent age group in the same street and
        gender), the previous level before the next, nearer levels first;
        repeated until every post-stratum has respondents. ``"none"``: raise.

    Returns
    -------
    (SurveyDesign, PostStratReport)

    Raises
    ------
    InvalidDesign
        A respondent's cell is not in the population table, a cell has a
        negative count, or an empty cell has no neighbour with respondents.

    Notes
    -----
    New weight ``w_i N_c / sum_{j in c} w_j``. The variance (Lumley 2010, 7.3;
    R ``svyrecvar``) is that of the residuals of the linearized estimator from
    its post-stratum means.
    """
    if collapse not in COLLAPSE_RULES:
        raise ValueError(
            f"unknown collapse rule {collapse!r}; choose one of {', '.join(COLLAPSE_RULES)}"
        )
    if not cells:
        raise InvalidDesign("poststratify needs at least one cell variable")
    variables = tuple(cells)
    cell_index, pops, levels = population_cells(population, variables)
    keys = list(cell_index)
    # the population cell of every kept row
    row_cell = _row_cells(design, cells, variables, cell_index)
    n_cells = len(pops)
    resp = np.bincount(row_cell, minlength=n_cells)
    wsum = np.bincount(row_cell, weights=design.weights, minlength=n_cells)
    # collapse empty cells that carry population
    group = np.arange(n_cells)
    collapsed = []

    def find(i):
        while group[i] != i:
            i = group[i]
        return i

    gresp = resp.astype(np.int64).copy()
    for i in range(n_cells):
        if gresp[find(i)] > 0 or pops[i] == 0:
            continue
        if collapse == "none":
            raise InvalidDesign(
                f"population cell {dict(zip(variables, keys[i]))} has no "
                "respondents (collapse='none')"
            )
        target = _neighbour(i, keys, variables, levels, cell_index, lambda j: gresp[find(j)] > 0)
        if target is None:
            raise InvalidDesign(
                f"population cell {dict(zip(variables, keys[i]))} has no respondents "
                "and no neighbouring cell with respondents to merge with"
            )
        j, var = target
        ri, rj = find(i), find(j)
        group[ri] = rj
        gresp[rj] += gresp[ri]
        collapsed.append((dict(zip(variables, keys[i])), dict(zip(variables, keys[j])), var))
    roots = np.array([find(i) for i in range(n_cells)])
    uniq_roots, ps_of_cell = np.unique(roots, return_inverse=True)
    n_ps = len(uniq_roots)
    ps_pop = np.bincount(ps_of_cell, weights=pops, minlength=n_ps)
    ps_w = np.bincount(ps_of_cell, weights=wsum, minlength=n_ps)
    ps_resp = np.bincount(ps_of_cell, weights=resp, minlength=n_ps)
    # post-strata with respondents but population 0 would get weight 0
    zero = (ps_pop <= 0) & (ps_resp > 0)
    if zero.any():
        k = int(np.flatnonzero(zero)[0])
        cell = keys[int(np.flatnonzero(ps_of_cell == k)[0])]
        raise InvalidDesign(f"cell {dict(zip(variables, cell))} has respondents but population 0")
    factor = np.where(ps_w > 0, ps_pop / np.where(ps_w > 0, ps_w, 1.0), 0.0)
    ps_row = ps_of_cell[row_cell]
    new_design = _apply_step(design, "poststratify", (ps_row,), (n_ps,), factor_per_cell=[factor])
    strata = []
    order = np.argsort(ps_of_cell, kind="stable")
    bounds = np.searchsorted(ps_of_cell[order], np.arange(n_ps + 1))
    for k in range(n_ps):
        if ps_resp[k] == 0:
            continue
        idx = order[bounds[k] : bounds[k + 1]]
        strata.append(
            CellReport(
                tuple(dict(zip(variables, keys[i])) for i in idx),
                float(ps_pop[k]),
                int(ps_resp[k]),
                float(ps_w[k]),
                float(factor[k]),
            )
        )
    report = PostStratReport(variables, tuple(strata), tuple(collapsed), float(pops.sum()))
    return new_design, report


def population_cells(population, variables) -> tuple[dict[tuple, int], np.ndarray, dict[str, list]]:
    """The population table checked: (cell key -> index, counts, each variable's levels).

    Levels are in the order of their first appearance in the table (their
    natural order, used to find neighbours).
    """
    levels: dict[str, list] = {v: [] for v in variables}
    cell_index: dict[tuple, int] = {}
    pops = []
    for key, count in _population_rows(population, variables):
        for v, x in zip(variables, key):
            if x not in levels[v]:
                levels[v].append(x)
        if key in cell_index:
            raise InvalidDesign(f"population cell {dict(zip(variables, key))} is listed twice")
        if not (count >= 0) or not np.isfinite(count):
            raise InvalidDesign(f"population cell {dict(zip(variables, key))} has count {count!r}")
        cell_index[key] = len(pops)
        pops.append(float(count))
    return cell_index, np.asarray(pops), levels


def _population_rows(population, variables) -> list[tuple[tuple, float]]:
    rows = []
    if isinstance(population, Mapping):
        missing = [v for v in (*variables, "population") if v not in population]
        if missing:
            raise InvalidDesign(f"population table lacks column(s) {', '.join(missing)}")
        cols = [list(population[v]) for v in variables]
        counts = list(population["population"])
        if any(len(c) != len(counts) for c in cols):
            raise InvalidDesign("population table columns differ in length")
        for i, c in enumerate(counts):
            rows.append((tuple(_norm_key(col[i]) for col in cols), _count(c)))
        return rows
    for item in population:
        try:
            key, count = item
        except (TypeError, ValueError) as exc:
            raise InvalidDesign("population must be (cell dict, count) pairs or a table") from exc
        missing = [v for v in variables if v not in key]
        if missing:
            raise InvalidDesign(f"population cell {key} lacks {', '.join(missing)}")
        extra = [k for k in key if k not in variables]
        if extra:
            raise InvalidDesign(f"population cell {key} has variables not in cells: {extra}")
        rows.append((tuple(_norm_key(key[v]) for v in variables), _count(count)))
    return rows


def _count(c) -> float:
    try:
        return float(c)
    except (TypeError, ValueError) as exc:
        raise InvalidDesign(f"population count {c!r} is not a number") from exc


def _text_codes(design: SurveyDesign, values, name: str):
    """Codes of the kept rows' values, matched as text; returns (codes, labels)."""
    arr = design.subset_rows(values, name=name)

    codes, labels = factorize(arr, name=name)
    if np.any(codes < 0):
        raise InvalidDesign(f"{name} has missing values")
    return codes, [_norm_key(v) for v in labels]


def _row_cells(design, cells, variables, cell_index) -> np.ndarray:
    codes, labels = [], []
    for v in variables:
        c, lab = _text_codes(design, cells[v], v)
        codes.append((c, len(lab)))
        labels.append(lab)
    joint, k, comps = joint_codes(*codes)
    lookup = np.empty(k, dtype=np.intp)
    for j in range(k):
        key = tuple(labels[m][comps[m][j]] for m in range(len(variables)))
        if key not in cell_index:
            raise InvalidDesign(
                f"respondents in cell {dict(zip(variables, key))}, which the "
                "population table does not list"
            )
        lookup[j] = cell_index[key]
    return lookup[joint]


def _neighbour(i, keys, variables, levels, cell_index, has_resp):
    """Nearest cell differing from cell ``i`` in one variable (last variable first) that has respondents."""
    key = keys[i]
    for pos in range(len(variables) - 1, -1, -1):
        v = variables[pos]
        lv = levels[v]
        at = lv.index(key[pos])
        for dist in range(1, len(lv)):
            for cand in (at - dist, at + dist):
                if 0 <= cand < len(lv):
                    k2 = key[:pos] + (lv[cand],) + key[pos + 1 :]
                    j = cell_index.get(k2)
                    if j is not None and has_resp(j):
                        return j, v
    return None


def _apply_step(
    design: SurveyDesign,
    kind: str,
    codes: tuple,
    n_cells: tuple,
    *,
    factor_per_cell=None,
    joint=None,
    gp_cells=None,
    g_final=None,
) -> SurveyDesign:
    """A design with one more calibration step.

    Post-stratification: ``factor_per_cell[0][code]`` multiplies the weights.
    Raking: ``joint`` = (codes of the joint margin cell per row, number, components),
    ``gp_cells[k]`` the cumulative factor (per joint cell) right after margin ``k`` in
    the last sweep, ``g_final`` the final factor.
    """
    old_w = design.weights
    f = design._factor
    if kind == "poststratify":
        ps = codes[0]
        jc, nj, (old_part, new_part) = joint_codes((design.jcal, design.n_jcal), (ps, n_cells[0]))
        g = factor_per_cell[0]
        new_w = old_w * g[ps]
        step = CalibrationStep(kind, codes, n_cells, (new_w,), (old_w,))
        termcodes = [tc[old_part] for tc in design.termcodes] + [new_part]
        factor = "drop"
        if f is not None:
            gw_old = f.gw[old_part]
            gw = gw_old * g[new_part]
            factor = _Factor(
                f.w0,
                f.w0_const,
                gw,
                tuple(x[old_part] for x in f.gp) + (gw,),
                tuple(None if x is None else x[old_part] for x in f.go) + (gw_old,),
            )
    else:
        jc, nj, old_part, margin_parts = joint
        psw = tuple(old_w * gp[jc] for gp in gp_cells)
        new_w = old_w * g_final[jc]
        step = CalibrationStep(kind, codes, n_cells, psw, None)
        termcodes = [tc[old_part] for tc in design.termcodes] + list(margin_parts)
        factor = "drop"
        if f is not None:
            gw_old = f.gw[old_part]
            factor = _Factor(
                f.w0,
                f.w0_const,
                gw_old * g_final,
                tuple(x[old_part] for x in f.gp) + tuple(gw_old * gp for gp in gp_cells),
                tuple(None if x is None else x[old_part] for x in f.go) + (None,) * len(gp_cells),
            )
    return design._with(
        weights=new_w, step=step, jcal=jc, n_jcal=nj, termcodes=termcodes, factor=factor
    )


def rake(
    design: SurveyDesign,
    margins: Mapping[str, tuple],
    *,
    max_iter: int = 50,
    epsilon: float = 1e-10,
    on_nonconvergence: str = "raise",
) -> SurveyDesign:
    """Rake (iterative proportional fitting) the weights to several margins (R ``rake``).

    Parameters
    ----------
    design : SurveyDesign
    margins : mapping of str to (array-like, mapping of value to float)
        For each margin, the row values (``n_rows`` long) and the population
        count of each value. Values are matched as text.
    max_iter : int
        Maximum number of sweeps over all margins.
    epsilon : float
        Convergence tolerance: the largest relative difference between a
        weighted margin total and its population count after a sweep.
    on_nonconvergence : {"raise", "warn"}
        ``"raise"``: :class:`ConvergenceError`; ``"warn"``: return the last
        weights, with ``design.rake_report.converged`` false.

    Returns
    -------
    SurveyDesign
        ``rake_report`` attribute: a :class:`RakeReport`.

    Notes
    -----
    Each sweep post-stratifies to each margin in turn, as R's ``rake`` does
    (Deming & Stephan 1940). It works on the cross-classification of the
    margins (R's ``compress``), so its cost does not grow with the number of
    rows. The variance uses R's backfitting of the linearized estimator
    against the margins (``svyrecvar``, class ``"raking"``).
    """
    if on_nonconvergence not in ("raise", "warn"):
        raise ValueError("on_nonconvergence must be 'raise' or 'warn'")
    if not margins:
        raise InvalidDesign("rake needs at least one margin")
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    codes, n_cells, targets = [], [], []
    for name, spec in margins.items():
        try:
            values, pop = spec
        except (TypeError, ValueError) as exc:
            raise InvalidDesign(f"margin {name!r} must be (values, {{value: population}})") from exc
        c, labels = _text_codes(design, values, name)
        popn = {_norm_key(k): _count(v) for k, v in dict(pop).items()}
        missing = [lab for lab in labels if lab not in popn]
        if missing:
            raise InvalidDesign(
                f"margin {name!r}: value(s) {missing[:5]} in the data have no population count"
            )
        empty = [k for k, v in popn.items() if k not in labels and v > 0]
        if empty:
            raise InvalidDesign(
                f"margin {name!r}: population value(s) {empty[:5]} have no "
                "respondents; merge them with a neighbouring category"
            )
        tgt = np.array([popn[lab] for lab in labels])
        if np.any(tgt <= 0):
            raise InvalidDesign(f"margin {name!r}: a category with respondents has population 0")
        codes.append(c)
        n_cells.append(len(labels))
        targets.append(tgt)
    totals = [t.sum() for t in targets]
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise InvalidDesign(f"rake margins have different population totals: {totals}")
    jc, nj, comps = joint_codes((design.jcal, design.n_jcal), *zip(codes, n_cells))
    old_part, parts = comps[0], comps[1:]
    W = np.bincount(jc, weights=design.weights, minlength=nj)
    g = np.ones(nj)
    gp = [None] * len(parts)
    it = 0
    err = np.inf
    while it < max_iter:
        it += 1
        for k, part in enumerate(parts):
            tot = np.bincount(part, weights=W * g, minlength=n_cells[k])
            g = g * (targets[k] / tot)[part]
            gp[k] = g.copy()
        err = max(
            float(
                np.max(
                    np.abs(
                        np.bincount(part, weights=W * g, minlength=n_cells[k]) / targets[k] - 1.0
                    )
                )
            )
            for k, part in enumerate(parts)
        )
        if err <= epsilon:
            break
    converged = err <= epsilon
    if not converged and on_nonconvergence == "raise":
        raise ConvergenceError(
            f"raking did not converge in {max_iter} sweeps (largest relative "
            f"margin error {err:.3g} > epsilon {epsilon:g})"
        )
    new = _apply_step(
        design,
        "rake",
        tuple(codes),
        tuple(n_cells),
        joint=(jc, nj, old_part, parts),
        gp_cells=gp,
        g_final=g,
    )
    new.rake_report = RakeReport(it, err, converged, tuple(margins))
    return new
