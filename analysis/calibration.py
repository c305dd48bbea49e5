"""Weights that fit the sample: the calibration policy for drill-sized data.

:func:`calibrate` turns population figures by cell (street x gender x age
group) into weights a drill can carry. Post-stratifying to every cell, as R's
``postStratify`` does, is right for large samples and wrong for a drill: a
cell with one or two respondents gets a weight set by its population alone,
a singleton cell has no within-cell variance, and the interval then claims far
more certainty than the data hold. So:

1. **Post-strata of at least ``min_cell`` respondents.** Cells with fewer are
   merged with a neighbour, always within the first variable (the street):
   along the last variable first (the adjacent age group of the same street
   and gender), then along the middle ones (the other gender of the street),
   nearer levels first, the smaller neighbour first. The merged cell gets the
   sum of the populations, so no population is dropped.
2. **Raking when cells stay thin.** If some street as a whole cannot reach
   ``min_cell`` within itself, the cross-classification is given up and the
   weights are raked to the margins (each variable on its own), with thin
   categories of a margin merged with the adjacent category.
3. **Fewer margins.** A margin left with one category after merging carries
   no information and is dropped; if raking does not converge, the last
   (finest) margin is dropped and raking repeated. One margin left:
   post-stratification to it; none: unweighted.
4. **Trimming.** Weights above ``trim_ratio`` times the mean weight are cut to
   that bound and the excess shared among the other rows (total kept,
   repeated until no weight is above the bound; R ``trimWeights(strict=TRUE)``).

Defaults: ``min_cell = 20`` respondents per post-stratum or margin category,
after Kalton and Flores-Cervantes (2003), who note that weighting cells are
commonly required to hold at least 20 or 30 respondents to keep adjustment
factors stable; 20 is the lower end because drill cells are small and the
intervals are protected separately (the effective sample size is capped at the
respondents, see :mod:`analysis.intervals`). ``trim_ratio = 5``: DeBell and
Krosnick (2009), the ANES weighting standard, cap weights at five times the
mean weight.

References
----------
Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of
Official Statistics* 19(2), 81-97.
DeBell, M. and Krosnick, J. A. (2009). *Computing Weights for American
National Election Study Survey Data*. ANES Technical Report nes012427.
Lumley, T. (2010). *Complex Surveys*. Wiley, ch. 7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .design import SurveyDesign
from .errors import InvalidDesign
from .weighting import _row_cells, population_cells, poststratify, rake, trim_weights

__all__ = [
    "DEFAULT_MIN_CELL",
    "DEFAULT_TRIM_RATIO",
    "CalibrationReport",
    "Merge",
    "calibrate",
]

#: Least respondents per post-stratum or margin category (Kalton & Flores-Cervantes 2003).
DEFAULT_MIN_CELL = 20
#: Largest weight, as a multiple of the mean weight (DeBell & Krosnick 2009).
DEFAULT_TRIM_RATIO = 5.0

@dataclass(frozen=True)
class Merge:
    """Thin cells merged with a neighbour along ``variable``.

    ``cells`` and ``into`` are the population cells (dicts of the cell
    variables) on either side; for a margin they hold that variable only.
    """

    variable: str
    cells: tuple
    into: tuple
    respondents: int


@dataclass(frozen=True)
class CalibrationReport:
    """What :func:`calibrate` did, for the methodology section.

    Attributes
    ----------
    method : {"poststratified", "raked", "unweighted"}
    variables : tuple of str
        The cell variables given, coarse to fine.
    used : tuple of str
        The variables the weights were calibrated to: the cross-classified
        cells (post-stratified) or the margins (raked; one margin:
        post-stratified to it).
    dropped : tuple of str
        Margins left out (too thin, or raking did not converge with them).
    min_cell : int
    groups : int
        Post-strata, or margin categories summed over the margins used.
    merges : tuple of Merge
    thin_cells : int
        Population cells with fewer than ``min_cell`` respondents before merging.
    fallback : str or None
        Why the cross-classification was given up, if it was.
    trim_ratio : float or None
    trimmed : int
        Rows whose weight was cut to ``trim_ratio`` times the mean.
    """

    method: str
    variables: tuple
    used: tuple
    dropped: tuple
    min_cell: int
    groups: int
    merges: tuple
    thin_cells: int
    fallback: str | None
    trim_ratio: float | None
    trimmed: int

    @property
    def n_merged(self) -> int:
        return len(self.merges)


class _Groups:
    """Union-find over population cells with respondent and population sums."""

    def __init__(self, resp: np.ndarray, pops: np.ndarray):
        self.parent = list(range(len(resp)))
        self.members = {i: [i] for i in range(len(resp))}
        self.resp = {i: int(resp[i]) for i in range(len(resp))}
        self.pop = {i: float(pops[i]) for i in range(len(resp))}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        self.parent[ra] = rb
        self.members[rb] += self.members.pop(ra)
        self.resp[rb] += self.resp.pop(ra)
        self.pop[rb] += self.pop.pop(ra)

    def roots(self) -> list[int]:
        return sorted(self.members)


def _collapse(keys, resp, pops, variables, levels, min_cell, locked: int):
    """Merge thin groups with neighbours; positions ``< locked`` never change.

    Returns (groups, merges, stuck): ``stuck`` is True when a thin group has no
    neighbour left (its whole block of locked variables is thin).
    """
    index = {k: i for i, k in enumerate(keys)}
    live = [i for i in range(len(keys)) if pops[i] > 0 or resp[i] > 0]
    groups = _Groups(resp, pops)
    for i in range(len(keys)):
        if i not in live:
            groups.members.pop(i)
    merges = []

    def thin(g):
        return groups.resp[g] < min_cell or groups.pop[g] <= 0

    while True:
        candidates = [g for g in groups.roots() if thin(g)]
        if not candidates:
            return groups, merges, False
        g = min(candidates, key=lambda r: (groups.resp[r], r))
        best = None
        for pos in range(len(variables) - 1, locked - 1, -1):
            lv = levels[variables[pos]]
            for i in groups.members[g]:
                at = lv.index(keys[i][pos])
                for other, level in enumerate(lv):
                    j = index.get(keys[i][:pos] + (level,) + keys[i][pos + 1 :])
                    if j is None or j not in live:
                        continue
                    h = groups.find(j)
                    if h == g:
                        continue
                    rank = (abs(other - at), groups.resp[h], h)
                    if best is None or rank < best[0]:
                        best = (rank, h, pos)
            if best is not None:
                break
        if best is None:
            return groups, merges, True
        _, h, pos = best
        merges.append(Merge(
            variables[pos],
            tuple(dict(zip(variables, keys[i])) for i in groups.members[g]),
            tuple(dict(zip(variables, keys[i])) for i in groups.members[h]),
            groups.resp[g],
        ))
        groups.union(g, h)


def calibrate(
    design: SurveyDesign,
    cells: Mapping[str, object],
    population,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    trim_ratio: float | None = DEFAULT_TRIM_RATIO,
) -> tuple[SurveyDesign, CalibrationReport]:
    """Calibrate the weights to population cells the sample can carry.

    Parameters
    ----------
    design : SurveyDesign
    cells : mapping of str to array-like
        The cell variables, **coarse to fine** (e.g. street, gender, age
        group), one value per row. The first is never merged across in the
        cross-classification (a street keeps its own post-strata).
    population
        As for :func:`analysis.weighting.poststratify`: ``(cell dict, count)``
        pairs or a table. The order in which a variable's values first appear
        is their natural order (list age groups in age order).
    min_cell : int, default 20
        Least respondents per post-stratum or margin category; ``1`` merges
        only empty cells (R's ``postStratify`` with Minyi's neighbour rule).
    trim_ratio : float or None, default 5
        Cap on a weight as a multiple of the mean weight; ``None``: no trimming.

    Returns
    -------
    (SurveyDesign, CalibrationReport)

    Raises
    ------
    InvalidDesign
        The population table is malformed, or respondents sit in a cell it
        does not list.
    """
    if int(min_cell) != min_cell or min_cell < 1:
        raise ValueError(f"min_cell must be a whole number of at least 1, got {min_cell!r}")
    if trim_ratio is not None and not trim_ratio > 1:
        raise ValueError(f"trim_ratio must be above 1, got {trim_ratio!r}")
    min_cell = int(min_cell)
    variables = tuple(cells)
    if not variables:
        raise InvalidDesign("calibration needs at least one cell variable")
    index, pops, levels = population_cells(population, variables)
    keys = list(index)
    # the population cell of every kept row (raises for a cell the table does not list)
    row_cell = _row_cells(design, cells, variables, index)
    resp = np.bincount(row_cell, minlength=len(keys)).astype(np.int64)
    thin_cells = int(np.count_nonzero((resp < min_cell) & ((pops > 0) | (resp > 0))))

    groups, merges, stuck = _collapse(keys, resp, pops, variables, levels, min_cell, locked=1)
    if not stuck:
        group_of_cell = np.zeros(len(keys), dtype=np.int64)
        for g in groups.roots():
            group_of_cell[groups.members[g]] = g
        table = [({"cell": str(g)}, groups.pop[g]) for g in groups.roots()]
        full = _full(design, group_of_cell[row_cell])
        new, _ = poststratify(design, {"cell": full}, table, collapse="none")
        method, used, dropped, n_groups, fallback = "poststratified", variables, (), len(table), None
    else:
        fallback = (
            f"some {variables[0]} has fewer than {min_cell} respondents in all" if len(variables) > 1
            else f"some {variables[0]} has fewer than {min_cell} respondents"
        )
        new, used, dropped, n_groups, merges = _rake_margins(
            design, variables, keys, pops, resp, row_cell, levels, min_cell
        )
        method = "unweighted" if not used else ("raked" if len(used) > 1 else "poststratified")
    trimmed = 0
    if trim_ratio is not None and method != "unweighted":
        w = new.weights
        bound = trim_ratio * float(w.mean())
        trimmed = int(np.count_nonzero(w > bound * (1 + 1e-12)))
        if trimmed:
            new = trim_weights(new, upper=bound, strict=True)
    return new, CalibrationReport(
        method=method, variables=variables, used=tuple(used), dropped=tuple(dropped),
        min_cell=min_cell, groups=n_groups, merges=tuple(merges), thin_cells=thin_cells,
        fallback=fallback, trim_ratio=trim_ratio, trimmed=trimmed,
    )


def _rake_margins(design, variables, keys, pops, resp, row_cell, levels, min_cell):
    """Rake to each variable's margin, thin categories merged with the adjacent one."""
    margins: dict[str, tuple[np.ndarray, dict]] = {}
    merges: list[Merge] = []
    dropped: list[str] = []
    n_groups = 0
    for pos, v in enumerate(variables):
        lv = levels[v]
        m_pop = np.zeros(len(lv))
        m_resp = np.zeros(len(lv), dtype=np.int64)
        for i, k in enumerate(keys):
            at = lv.index(k[pos])
            m_pop[at] += pops[i]
            m_resp[at] += resp[i]
        margin_keys = [(x,) for x in lv]
        groups, found, _ = _collapse(margin_keys, m_resp, m_pop, (v,), {v: lv}, min_cell, locked=0)
        roots = groups.roots()
        if len(roots) < 2:
            dropped.append(v)
            continue
        merges += found
        n_groups += len(roots)
        group_of_level = {lv[i]: g for g in roots for i in groups.members[g]}
        group_of_cell = np.array([group_of_level[k[pos]] for k in keys], dtype=np.int64)
        margins[v] = (_full(design, group_of_cell[row_cell]), {str(g): groups.pop[g] for g in roots})
    while len(margins) >= 2:
        raked = rake(design, margins, max_iter=100, epsilon=1e-8, on_nonconvergence="warn")
        if raked.rake_report.converged:
            kept = [m for m in merges if m.variable in margins]
            return raked, tuple(margins), dropped, n_groups, kept
        last = list(margins)[-1]
        dropped.append(last)
        del margins[last]
    if len(margins) == 1:
        (v, (values, pop)), = margins.items()
        new, _ = poststratify(design, {v: values}, [({v: k}, c) for k, c in pop.items()], collapse="none")
        return new, (v,), dropped, len(pop), [m for m in merges if m.variable == v]
    return design, (), dropped, 0, []


def _full(design: SurveyDesign, kept_values: np.ndarray) -> np.ndarray:
    """Integer codes of the kept rows spread back to all ``n_rows`` (excluded rows: 0, never read)."""
    out = np.zeros(design.n_rows, dtype=np.int64)
    out[design.keep] = kept_values
    return out
