"""Weighted rates and satisfaction indexes with Taylor-linearization SEs (R ``svymean``/``svyby``).

Estimators are pure functions ``(design, data) -> list[Estimate]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ._linearization import View, calibration_terms, domain_variance
from .design import SurveyDesign, factorize
from .errors import InvalidDesign
from .results import Estimate

__all__ = ["DEFAULT_INDEX_SCORES", "estimate_rates", "satisfaction_index"]

#: Scores of the five satisfaction levels, best first (满意 .. 不满意).
DEFAULT_INDEX_SCORES = (100.0, 80.0, 60.0, 40.0, 0.0)


class _Plan:
    """Domain coding and cell structure shared by all indicators of one call."""

    def __init__(self, design: SurveyDesign, by):
        self.design = design
        self.terms = calibration_terms(design)
        g = design.psu if design.has_clusters else design.strata
        n_g = design.n_psu if design.has_clusters else design.n_strata
        n = design.n
        if by is None:
            self.labels: list[str] = []
            self.dom = None
            self.all = View(design, g, n_g, np.zeros(n, np.intp), 1, design.jcal, design.n_jcal)
            self.rowview = self.all
        else:
            codes, labels = factorize(design.subset_rows(by, name="by"), name="by")
            self.labels = [_label(v) for v in labels]
            k = len(labels)
            codes = np.where(codes < 0, k, codes)
            self.dom = View(design, g, n_g, codes, k + 1, design.jcal, design.n_jcal)
            self.all = View(
                design,
                self.dom.Jg,
                n_g,
                np.zeros(self.dom.nJ, np.intp),
                1,
                self.dom.Jj,
                design.n_jcal,
                rows_per_cell=self.dom.rows,
            )
            self.rowview = self.dom
        f = design._factor
        self.factor = f
        self._w0pow = {}
        if f is not None and f.w0_const is None:
            self._w0pow = {1: f.w0, 2: f.w0 * f.w0}
        self._rowvec = {}
        self._full_mask_sums = {}

    # -- row-level sums over the cells of the finest view -------------------
    def _base(self, col: np.ndarray | None, e: int) -> np.ndarray:
        J, nJ = self.rowview.J, self.rowview.nJ
        f = self.factor
        if f.w0_const is not None:
            s = self.rowview.rows if col is None else np.bincount(J, weights=col, minlength=nJ)
            return s * f.w0_const**e if e else s
        if e == 0:
            return self.rowview.rows if col is None else np.bincount(J, weights=col, minlength=nJ)
        v = self._w0pow[e]
        return np.bincount(J, weights=v if col is None else col * v, minlength=nJ)

    def _vec(self, vec) -> np.ndarray | None:
        """Explicit row vector (used when the weights are not in factored form)."""
        if vec in self._rowvec:
            return self._rowvec[vec]
        d = self.design
        w = d.weights
        if vec == "1":
            v = None
        elif vec == "w":
            v = w
        elif vec == "w2":
            v = w * w
        elif vec[0] == "wp":
            v = w * self.terms.psw[vec[1]]
        else:
            v = w * self.terms.a[vec[1]]
        self._rowvec[vec] = v
        return v

    def getter(self, cols: dict):
        """``get(col, vec)`` for the finest view and for the overall view."""
        cache: dict = {}
        view = self.rowview
        f = self.factor
        terms = self.terms

        def base(name, e):
            key = (name, "base", e)
            if key not in cache:
                col = cols[name]
                if col is None and (name, e) in self._full_mask_sums:
                    cache[key] = self._full_mask_sums[(name, e)]
                else:
                    cache[key] = self._base(col, e)
                    if col is None:
                        self._full_mask_sums[(name, e)] = cache[key]
            return cache[key]

        def get_fine(name, vec):
            key = (name, vec)
            if key in cache:
                return cache[key]
            if f is not None:
                Jj = view.Jj
                if vec == "1":
                    r = base(name, 0)
                elif vec == "w":
                    r = f.gw[Jj] * base(name, 1)
                elif vec == "w2":
                    r = f.gw[Jj] ** 2 * base(name, 2)
                elif vec[0] == "wp":
                    r = (f.gw * f.gp[vec[1]])[Jj] * base(name, 2)
                else:
                    t = vec[1]
                    if terms.kinds[t] == "rake":
                        r = (f.gw / f.gp[t])[Jj] * base(name, 0)
                    else:
                        r = (f.go[t] * f.gw / f.gp[t])[Jj] * base(name, 1)
            else:
                col, v = cols[name], self._vec(vec)
                if col is None and v is None:
                    r = view.rows
                else:
                    wts = v if col is None else (col if v is None else col * v)
                    r = np.bincount(view.J, weights=wts, minlength=view.nJ)
            cache[key] = r
            return r

        if self.dom is None:
            return get_fine, get_fine

        def get_all(name, vec):
            key = ("all", name, vec)
            if key not in cache:
                cache[key] = np.bincount(
                    self.all.J, weights=get_fine(name, vec), minlength=self.all.nJ
                )
            return cache[key]

        return get_fine, get_all


#: Variances below this fraction of the unit variance p(1-p) (n_eff > 1e12) are rounding noise.
_NOISE = 1e-12


def _label(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _as_values(values, design: SurveyDesign, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = np.array([np.nan if (v is None or v == "") else v for v in arr.tolist()], dtype=float)
    elif arr.dtype.kind == "b":
        arr = arr.astype(float)
    elif arr.dtype.kind not in "iuf":
        try:
            arr = arr.astype(float)
        except ValueError as exc:
            raise InvalidDesign(f"{name}: values must be numbers") from exc
    return design.subset_rows(arr, name=name)


def _columns(y: np.ndarray, index: bool) -> dict:
    if y.dtype.kind == "f":
        miss = np.isnan(y)
        if miss.any():
            m = (~miss).astype(float)
            ym = np.where(miss, 0.0, y)
        else:
            m, ym = None, y
    else:
        m, ym = None, y.astype(float)
    cols = {"ym": ym, "m": m}
    if index:
        cols["y2m"] = ym * ym
    return cols


def _rows(design, plan, name, get_fine, get_all, kind):
    index = kind == "index"
    out = []
    views = [(plan.all, get_all if plan.dom is not None else get_fine, True)]
    if plan.dom is not None:
        views.append((plan.dom, get_fine, False))
    for view, get, overall in views:
        n_d, succ, S, p, var, wy2 = domain_variance(view, get, plan.terms, index=index)
        k = 1 if overall else len(plan.labels)
        for j in range(k):
            dom = None if overall else plan.labels[j]
            n = round(n_d[j])
            if n == 0 or not S[j] > 0:
                out.append(
                    Estimate(
                        name, dom, 0, 0, math.nan, math.nan, float(view.df[j]), math.nan, 0.0, kind
                    )
                )
                continue
            est = float(p[j])
            v = float(var[j])
            if index:
                pv = max(float(wy2[j] / S[j] - est * est), 0.0)
            else:
                pv = est * (1.0 - est)
            if not v > _NOISE * pv:
                # Constant values in the domain (everyone yes, or no), or a domain
                # inside one PSU: the variance is 0 in exact arithmetic; what is
                # left is rounding noise (R reports it, e.g. se = 1e-17).
                v = 0.0
            if v > 0 and pv > 0:
                n_eff = min(pv / v, float(n))  # never more than the respondents
                deff = v * (n - 1) / pv if n > 1 else math.nan
            else:
                n_eff, deff = float(n), math.nan
            successes = round(succ[j]) if succ is not None else 0
            out.append(
                Estimate(
                    name, dom, n, successes, est, math.sqrt(v), float(view.df[j]), deff, n_eff, kind
                )
            )
    return out


def estimate_rates(
    design: SurveyDesign,
    indicators: Mapping[str, object],
    by=None,
) -> list[Estimate]:
    """Weighted rate of each 0/1 indicator, overall and by domain.

    Parameters
    ----------
    design : SurveyDesign
    indicators : mapping of str to array-like
        Name -> values 1, 0 or NaN (NaN: not in the denominator), one per row
        of the original data (``design.n_rows``).
    by : array-like, optional
        Domain of each row (unit, gender, ...). Rows with a missing domain count
        in the overall rate only.

    Returns
    -------
    list of Estimate
        For each indicator in order: the overall row (``domain=None``), then one
        row per domain value (sorted by value, given as text: ``3`` -> ``"3"``).
        Domains where the indicator has no respondent get ``n=0`` and NaN
        estimate and SE.

    Notes
    -----
    ``p = sum w y / sum w`` over rows with a value, and its variance is
    R ``svymean``'s (overall) or ``svyby(..., svymean)``'s (domains): the
    domain keeps the whole sample's strata and PSUs (Lumley 2010, 2.2, 3.4).
    """
    plan = _Plan(design, by)
    get_fine, get_all = plan.getter({})
    out: list[Estimate] = []
    for name, values in indicators.items():
        y = _as_values(values, design, name)
        cols = _columns(y, index=False)
        ym = cols["ym"]
        bad = (ym != 0) & (ym != 1)
        if bad.any():
            v = ym[np.flatnonzero(bad)[0]]
            raise InvalidDesign(f"indicator {name!r} has a value {v!r}; expected 0, 1 or missing")
        get_fine, get_all = plan.getter(cols)
        out.extend(_rows(design, plan, name, get_fine, get_all, "rate"))
    return out


def satisfaction_index(
    design: SurveyDesign, scores, by=None, indicator: str = "index", *, scale: Mapping | None = None
) -> list[Estimate]:
    """Satisfaction index: weighted mean score on 0-100, overall and by domain.

    Parameters
    ----------
    design : SurveyDesign
    scores : array-like
        Score of each row on 0-100 (e.g. levels mapped with
        :data:`DEFAULT_INDEX_SCORES`); NaN for no valid answer (不了解).
    by : array-like, optional
    indicator : str
        Name given to the estimates.
    scale : mapping, optional
        If given, ``scores`` holds answers (e.g. levels 1-5 or labels) and
        ``scale`` maps each to its score, e.g. ``{1: 100, 2: 80, 3: 60, 4: 40,
        5: 0}``; answers not in ``scale`` (不了解, blank) are missing.

    Returns
    -------
    list of Estimate
        ``kind="index"``; ``successes`` counts rows at the top score (100).
    """
    plan = _Plan(design, by)
    if scale is not None:
        lookup = {str(k): float(v) for k, v in scale.items()}
        raw = np.asarray(scores, dtype=object).tolist()
        scores = np.array(
            [
                lookup.get(_label(v) if isinstance(v, float) else str(v), np.nan)
                if v is not None
                else np.nan
                for v in raw
            ],
            dtype=float,
        )
    y = _as_values(scores, design, indicator)
    cols = _columns(y, index=True)
    ym = cols["ym"]
    if np.any((ym < 0) | (ym > 100)):
        raise InvalidDesign(f"{indicator!r}: scores must lie in 0-100")
    cols_top = {"ym": (ym == 100).astype(float), "m": cols["m"]}
    get_fine, get_all = plan.getter(cols)
    rows = _rows(design, plan, indicator, get_fine, get_all, "index")
    # successes of an index: respondents at the top score
    tf, ta = plan.getter(cols_top)
    tops = []
    for view, get in [(plan.all, ta if plan.dom is not None else tf)] + (
        [(plan.dom, tf)] if plan.dom is not None else []
    ):
        tops.extend(
            np.bincount(view.Jd, weights=get("ym", "1"), minlength=view.D)[
                : (1 if view is plan.all else len(plan.labels))
            ].tolist()
        )
    return [replace(r, successes=round(s)) if r.n else r for r, s in zip(rows, tops)]
