"""Taylor-linearization variances of ratio means, computed from cell sums.

Internal module. It reproduces what R's ``survey`` package computes for
``svymean`` / ``svyby(..., svymean)`` on a ``survey.design2`` object:

* the linearized variable of the (domain) mean ``x_i = w_i d_i (y_i - p)/S``
  (``svymean.survey.design2``);
* calibration residuals, in the order the calibrations were made
  (``svyrecvar``): post-stratification subtracts ``psw_i`` times the
  ``oldw``-weighted post-stratum mean of ``x/psw * oldw``; raking backfits,
  10 times over the margins, ``x <- x - psw * ave(x/psw, margin)``;
* the one-stage stratified cluster variance with fpc and R's lonely-PSU rules
  (``onestage``/``onestrat``):
  ``sum_h f_h n_h/(n_h-1) sum_{psu in h} (T_psu - mean_h T)^2``.

Everything is linear in sums of ``y * w0**e`` over the cells of
(stratum or PSU) x domain x joint calibration cell, so the rows are read once
per indicator (one ``np.bincount``) and the rest works on small arrays. The
calibration residual of every row is ``- sum_t psw_t G_t[c_t]``; its PSU
totals enter the sum of squares through design-level matrices (``Gs`` =
``sum_h sq_h B_h' B_h`` with ``B`` the PSU x cell sums of ``psw``), so no
respondent-level array is built per domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .design import SurveyDesign, joint_codes

#: Largest cells x domains matrix of calibration terms kept dense.
_DENSE_LIMIT = 2_000_000


def _col_dot(a, b) -> np.ndarray:
    """Column sums of the elementwise product (dense or sparse operands)."""
    if sparse.issparse(a):
        return np.asarray(a.multiply(b).sum(axis=0)).ravel()
    return np.einsum("cd,cd->d", a, np.asarray(b))


def _bc(codes, weights, size):
    return np.bincount(codes, weights=weights, minlength=size)


def stratum_scales(design: SurveyDesign) -> tuple[np.ndarray, np.ndarray]:
    """Per stratum, the multipliers of sum T^2 (``sq``) and of (sum T)^2 (``ctr``).

    ``n_h > 1``: ``sq = f n/(n-1)``, ``ctr = f/(n-1)``; a lonely PSU (``n_h = 1``):
    ``adjust`` -> ``sq = f`` and no centring (deviation from the overall mean, as
    R); ``certainty``/``remove`` -> 0. A stratum with ``f < 1e-7`` (census) adds 0.
    """
    key = "scales"
    if key in design._cache:
        return design._cache[key]
    nh = design.stratum_n_psu.astype(float)
    f = design.stratum_fpc
    sq = np.zeros_like(f)
    ctr = np.zeros_like(f)
    many = nh > 1
    sq[many] = f[many] * nh[many] / (nh[many] - 1)
    ctr[many] = f[many] / (nh[many] - 1)
    if design.lonely_psu == "adjust":
        one = nh == 1
        sq[one] = f[one]
    census = f < 1e-7
    sq[census] = 0.0
    ctr[census] = 0.0
    design._cache[key] = (sq, ctr)
    return sq, ctr


@dataclass
class Terms:
    """Design-level calibration structure (independent of indicators and domains)."""

    steps: list  # (kind, [term indices])
    kinds: list
    n_cells: list
    offsets: np.ndarray
    rowcodes: list  # per term, cell of each row
    psw: list
    a: list  # oldw/psw (post-stratification) or 1/psw (raking)
    norm: list  # per term and cell: sum oldw (ps) or count (rake)
    cross: list  # cross[t][u]: csr, sum a_t psw_u by (c_t, c_u)
    gs: object  # csr C x C: sum_h sq_h B_h' B_h
    bsum: object  # csr H x C: sum psw by (stratum, cell)
    b: object | None  # csr n_psu x C (clustered designs)
    inv_norm: list  # 1/norm (0 for a cell without rows)
    inv_norm_diag: list

    @property
    def n_terms(self) -> int:
        return len(self.kinds)


def calibration_terms(design: SurveyDesign) -> Terms | None:
    """The design-level matrices of the calibration residuals (cached on the design).

    Built from sums over the cells of (PSU or stratum) x joint calibration
    cell, so the rows are read a few times in all, not once per term pair.
    """
    if not design.calibration:
        return None
    if "terms" in design._cache:
        return design._cache["terms"]
    steps, kinds, n_cells, rowcodes, psw, a = [], [], [], [], [], []
    for step in design.calibration:
        idx = []
        for k, codes in enumerate(step.codes):
            idx.append(len(kinds))
            kinds.append(step.kind)
            n_cells.append(int(step.n_cells[k]))
            rowcodes.append(codes)
            psw.append(step.psw[k])
            a.append(
                step.oldw[k] / step.psw[k] if step.kind == "poststratify" else 1.0 / step.psw[k]
            )
        steps.append((step.kind, idx))
    T = len(kinds)
    offsets = np.concatenate([[0], np.cumsum(n_cells)]).astype(np.intp)
    C = int(offsets[-1])
    clustered = design.has_clusters
    g, n_g = (design.psu, design.n_psu) if clustered else (design.strata, design.n_strata)
    cell, ncell, (cg, cj) = joint_codes((g, n_g), (design.jcal, design.n_jcal))
    f = design._factor
    tc = [design.termcodes[t][cj] for t in range(T)]  # term cell of each (g, jcal) cell
    if f is not None:
        if f.w0_const is not None:
            cnt = np.bincount(cell, minlength=ncell).astype(float)
            W = [cnt, cnt * f.w0_const, cnt * f.w0_const**2]
        else:
            W = [
                np.bincount(cell, minlength=ncell).astype(float),
                np.bincount(cell, weights=f.w0, minlength=ncell),
                np.bincount(cell, weights=f.w0 * f.w0, minlength=ncell),
            ]
        gp = [x[cj] for x in f.gp]
        go = [None if x is None else x[cj] for x in f.go]

        def sum_psw(t):
            return gp[t] * W[1]

        def sum_psw2(t, u):
            return gp[t] * gp[u] * W[2]

        def sum_apsw(t, u):
            if kinds[t] == "rake":
                return gp[u] / gp[t] * W[0]
            return go[t] * gp[u] / gp[t] * W[1]

        def sum_oldw(t):
            return go[t] * W[1]
    else:

        def sum_psw(t):
            return np.bincount(cell, weights=psw[t], minlength=ncell)

        def sum_psw2(t, u):
            return np.bincount(cell, weights=psw[t] * psw[u], minlength=ncell)

        def sum_apsw(t, u):
            return np.bincount(cell, weights=a[t] * psw[u], minlength=ncell)

        def sum_oldw(t):
            oldw = design.calibration[_step_of(steps, t)].oldw[0]
            return np.bincount(cell, weights=oldw, minlength=ncell)

    W0 = np.bincount(cell, minlength=ncell).astype(float)
    norm = [
        np.bincount(
            tc[t], weights=sum_oldw(t) if kinds[t] == "poststratify" else W0, minlength=n_cells[t]
        )
        for t in range(T)
    ]
    cross = [
        [
            sparse.csr_matrix((sum_apsw(t, u), (tc[t], tc[u])), shape=(n_cells[t], n_cells[u]))
            for u in range(T)
        ]
        for t in range(T)
    ]
    sq, _ = stratum_scales(design)
    h_of_cell = design.psu_stratum[cg] if clustered else cg
    spsw = [sum_psw(t) for t in range(T)]
    bsum = sparse.csr_matrix(
        (
            np.concatenate(spsw),
            (np.tile(h_of_cell, T), np.concatenate([tc[t] + offsets[t] for t in range(T)])),
        ),
        shape=(design.n_strata, C),
    )
    if clustered:
        b = sparse.csr_matrix(
            (
                np.concatenate(spsw),
                (np.tile(cg, T), np.concatenate([tc[t] + offsets[t] for t in range(T)])),
            ),
            shape=(design.n_psu, C),
        )
        gs = (b.T @ sparse.diags(sq[design.psu_stratum]) @ b).tocsr()
    else:
        b = None
        rows, cols, vals = [], [], []
        sqc = sq[h_of_cell]
        for t in range(T):
            for u in range(T):
                rows.append(tc[t] + offsets[t])
                cols.append(tc[u] + offsets[u])
                vals.append(sqc * sum_psw2(t, u))
        gs = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(C, C)
        )
    inv_norm = [np.where(x > 0, 1.0 / np.where(x > 0, x, 1.0), 0.0) for x in norm]
    terms = Terms(
        steps,
        kinds,
        n_cells,
        offsets,
        rowcodes,
        psw,
        a,
        norm,
        cross,
        gs,
        bsum,
        b,
        inv_norm,
        [sparse.diags(x).tocsr() for x in inv_norm],
    )
    design._cache["terms"] = terms
    return terms


def _step_of(steps, t) -> int:
    for i, (_, idx) in enumerate(steps):
        if t in idx:
            return i
    raise IndexError(t)


class View:
    """Cells of (PSU or stratum) x domain x joint calibration cell for one domain coding."""

    def __init__(self, design: SurveyDesign, g, n_g, d, n_d, jcal, n_jcal, rows_per_cell=None):
        self.design = design
        self.D = int(n_d)
        # ``g, d, jcal`` are per row, or (for a coarser view) per cell of a finer
        # view whose row counts are ``rows_per_cell``; ``J`` maps them to cells.
        J, nJ, (Jg, Jd, Jj) = joint_codes((g, n_g), (d, n_d), (jcal, n_jcal))
        self.J = J
        self.rows = np.bincount(J, weights=rows_per_cell, minlength=nJ)
        if rows_per_cell is None:
            self.rows = self.rows.astype(float)
        self.nJ = nJ
        self.Jg, self.Jd, self.Jj = Jg, Jd, Jj
        self.clustered = design.has_clusters
        self.Jh = design.psu_stratum[Jg] if self.clustered else Jg
        self.Jc = [tc[Jj] for tc in design.termcodes]
        D = self.D
        H = design.n_strata
        hd = np.unique(self.Jh.astype(np.int64) * D + Jd)
        strata_in_d = np.bincount(hd % D, minlength=D)
        if self.clustered:
            pair, npair, (pg, pd) = joint_codes((Jg, design.n_psu), (Jd, D))
            self.Jpair, self.npair, self.pair_psu, self.pair_d = pair, npair, pg, pd
            self.pair_h = design.psu_stratum[pg]
            psu_in_d = np.bincount(pd, minlength=D)
        else:
            psu_in_d = np.bincount(Jd, weights=self.rows, minlength=D)
        self.df = (psu_in_d - strata_in_d).astype(float)
        self.H = H


def domain_variance(view: View, get, terms: Terms | None, index: bool = False):
    """Estimates and variances of the ratio means of one column in every domain of ``view``.

    ``get(col, vec)`` returns cell sums over the view's cells, ``col`` in
    ``{"ym", "m", "y2m"}`` and ``vec`` in ``{"1", "w", "w2", ("wp", t), ("aw", t)}``.
    Returns ``(n, successes_or_None, S, p, var, sum_w_y2)``.
    """
    design = view.design
    D, Jd, Jh = view.D, view.Jd, view.Jh
    sq, ctr = stratum_scales(design)
    n_d = _bc(Jd, get("m", "1"), D)
    Mw = get("m", "w")
    Yw = get("ym", "w")
    S = _bc(Jd, Mw, D)
    Y = _bc(Jd, Yw, D)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = Y / S
        invS = np.where(S > 0, 1.0 / S, 0.0)
    p0 = np.where(S > 0, p, 0.0)
    pJ, iJ = p0[Jd], invS[Jd]
    aJ = (Yw - pJ * Mw) * iJ
    if view.clustered:
        apair = _bc(view.Jpair, aJ, view.npair)
        var = _bc(view.pair_d, sq[view.pair_h] * apair * apair, D)
    else:
        y1 = get("ym", "w2")
        y2 = get("y2m", "w2") if index else y1
        a2 = (y2 - 2.0 * pJ * y1 + pJ * pJ * get("m", "w2")) * iJ * iJ
        var = _bc(Jd, sq[Jh] * a2, D)
    use_ctr = bool(np.any(ctr != 0))
    if use_ctr:
        sa = _bc(Jh.astype(np.intp) * D + Jd, aJ, view.H * D).reshape(view.H, D)
    if terms is not None:
        T = terms.n_terms
        # Cell x domain matrices; sparse when large (fine post-strata by many
        # domains: a cell holds few domains), dense otherwise (faster).
        dense = sum(terms.n_cells) * D <= _DENSE_LIMIT

        def cell_by_domain(t, vals):
            nt = terms.n_cells[t]
            if dense:
                return _bc(view.Jc[t] * D + Jd, vals, nt * D).reshape(nt, D)
            return sparse.csr_matrix((vals, (view.Jc[t], Jd)), shape=(nt, D))

        x0 = [
            cell_by_domain(t, (get("ym", ("aw", t)) - pJ * get("m", ("aw", t))) * iJ)
            for t in range(T)
        ]
        G = [x * 0.0 for x in x0]
        active = [False] * T
        for kind, idx in terms.steps:
            sweeps = 10 if kind == "rake" else 1
            for _ in range(sweeps):
                for t in idx:
                    r = x0[t]
                    for u in range(T):
                        if active[u]:
                            r = r - terms.cross[t][u] @ G[u]
                    step = terms.inv_norm[t][:, None] * r if dense else terms.inv_norm_diag[t] @ r
                    G[t] = G[t] + step
                    active[t] = True
        gall = np.vstack(G) if dense else sparse.vstack(G).tocsr()
        if view.clustered:
            asp = sparse.csr_matrix(
                (apair * sq[view.pair_h], (view.pair_psu, view.pair_d)), shape=(design.n_psu, D)
            )
            kall = terms.b.T @ asp
            kall = kall.toarray() if dense else kall.tocsr()
        else:
            sqJ = sq[Jh]
            ks = [
                cell_by_domain(t, sqJ * (get("ym", ("wp", t)) - pJ * get("m", ("wp", t))) * iJ)
                for t in range(T)
            ]
            kall = np.vstack(ks) if dense else sparse.vstack(ks).tocsr()
        var = var - 2.0 * _col_dot(gall, kall) + _col_dot(gall, terms.gs @ gall)
        if use_ctr:
            bg = terms.bsum @ gall
            sa = sa - (bg if dense else bg.toarray())
    if use_ctr:
        var = var - (ctr[:, None] * sa * sa).sum(axis=0)
    var = np.maximum(var, 0.0)
    var[S <= 0] = np.nan
    succ = _bc(Jd, get("ym", "1"), D) if not index else None
    wy2 = _bc(Jd, get("y2m", "w"), D) if index else None
    return n_d, succ, S, p, var, wy2
