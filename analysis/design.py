"""The survey design: who was sampled how, and with what weight (R ``svydesign``).

A :class:`SurveyDesign` is built once from plain respondent-level arrays and is
immutable. It factorizes strata and PSUs to integer codes once, so estimators
can reuse them for any number of indicators and domains. Weighting functions
(:mod:`analysis.weighting`) return *new* designs that also carry the
calibration information R keeps in ``design$postStrata`` for the variance.

All arrays passed to the design and later to the estimators have one entry per
row of the original data, excluded rows included; excluded rows are dropped
here and counted in :attr:`SurveyDesign.n_excluded`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import InvalidDesign

__all__ = ["LONELY_PSU_RULES", "CalibrationStep", "SurveyDesign", "factorize", "joint_codes"]

#: How a stratum with a single PSU is handled (R ``options(survey.lonely.psu=)``).
LONELY_PSU_RULES = ("fail", "adjust", "remove", "certainty")


def factorize(values, *, name: str = "values") -> tuple[np.ndarray, list]:
    """Integer codes 0..k-1 for ``values`` plus the sorted distinct values.

    Missing values (``None``, NaN, empty string) get code -1. Integer arrays
    with a modest range are coded in O(n) (no sort); text is sorted with
    ``np.unique`` (about 0.6 s per million rows), so pass integer codes when
    speed matters.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidDesign(f"{name} must be one-dimensional")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return _factorize_int(arr)
    if arr.dtype.kind == "f":
        miss = np.isnan(arr)
        vals = arr[~miss]
        if vals.size and np.all(vals == np.round(vals)) and np.abs(vals).max() < 2**53:
            c, labels = _factorize_int(vals.astype(np.int64))
        else:
            uniq, c = np.unique(vals, return_inverse=True)
            labels = [float(v) for v in uniq]
        codes = np.full(arr.shape, -1, dtype=np.intp)
        codes[~miss] = c
        return codes, labels
    if arr.dtype.kind == "U":
        miss = arr == ""
        if miss.any():
            uniq, c = np.unique(arr[~miss], return_inverse=True)
            codes = np.full(arr.shape, -1, dtype=np.intp)
            codes[~miss] = c
        else:
            uniq, codes = np.unique(arr, return_inverse=True)
            codes = codes.astype(np.intp)
        return codes, uniq.tolist()
    obj = arr.astype(object)
    lst = obj.tolist()
    miss = np.fromiter(
        (v is None or v == "" or (isinstance(v, float) and math.isnan(v)) for v in lst),
        dtype=bool,
        count=len(lst),
    )
    present = obj[~miss]
    codes = np.full(arr.shape, -1, dtype=np.intp)
    if present.size == 0:
        return codes, []
    if _all_numbers(present):
        flo = present.astype(float)
        c, labels = factorize(flo, name=name)
    else:
        uniq, c = np.unique(present.astype(str), return_inverse=True)
        labels = uniq.tolist()
    codes[~miss] = c
    return codes, labels


def _factorize_int(arr: np.ndarray) -> tuple[np.ndarray, list]:
    if arr.size == 0:
        return np.zeros(0, np.intp), []
    lo, hi = int(arr.min()), int(arr.max())
    span = hi - lo + 1
    if span <= max(4 * arr.size, 1 << 16) and span <= 50_000_000:
        present = np.bincount(arr - lo, minlength=span) > 0
        mapping = np.cumsum(present) - 1
        codes = mapping[arr - lo].astype(np.intp)
        labels = (np.flatnonzero(present) + lo).tolist()
        return codes, labels
    uniq, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.intp), uniq.tolist()


def joint_codes(*parts: tuple[np.ndarray, int]) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """Code the distinct combinations of several code arrays.

    Parameters
    ----------
    parts : (codes, size) pairs, codes in ``0..size-1``.

    Returns
    -------
    codes : ndarray
        Combination code of each element, ``0..k-1`` (in lexicographic order).
    k : int
    components : list of ndarray
        For each part, its code in each of the ``k`` combinations.
    """
    codes, size = parts[0]
    codes = np.asarray(codes, dtype=np.int64)
    # keep only the used values of the first part
    first, k, comp_first = _compress(codes, size)
    codes = first
    comps = [comp_first]
    for c2, s2 in parts[1:]:
        key = codes * int(s2) + np.asarray(c2, dtype=np.int64)
        new, k2, uniq = _compress(key, k * int(s2))
        comps = [comp[uniq // int(s2)] for comp in comps] + [uniq % int(s2)]
        codes, k = new, k2
    return codes.astype(np.intp), int(k), [c.astype(np.intp) for c in comps]


def _compress(key: np.ndarray, space: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Relabel ``key`` (values in ``0..space-1``) to ``0..k-1``; also return the used values."""
    if space <= max(4 * key.size, 1 << 16) and space <= 50_000_000:
        present = np.bincount(key, minlength=space) > 0
        mapping = np.cumsum(present) - 1
        uniq = np.flatnonzero(present)
        return mapping[key], int(uniq.size), uniq
    uniq, inv = np.unique(key, return_inverse=True)
    return inv.astype(np.int64), int(uniq.size), uniq


def _kept(values, keep: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    return arr if keep.all() else arr[keep]


def _all_numbers(a: np.ndarray) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) for v in a.tolist())


@dataclass(frozen=True, eq=False)
class CalibrationStep:
    """One calibration that the variance must account for (an entry of R's ``design$postStrata``).

    Attributes
    ----------
    kind : {"poststratify", "rake"}
    codes : tuple of ndarray
        Per margin (one for post-stratification), the cell code of each kept row.
    n_cells : tuple of int
    psw : tuple of ndarray
        Per margin, R's ``attr(, "weights")``: the weights just after that
        adjustment (for raking: in the last sweep).
    oldw : tuple of ndarray or None
        Post-stratification only: the weights before it (R's ``"oldweights"``).
    """

    kind: str
    codes: tuple
    n_cells: tuple
    psw: tuple
    oldw: tuple | None = None


@dataclass(frozen=True, eq=False)
class _Factor:
    """Weights written as ``w0 * factor[jcal]`` (exact after our own calibrations).

    ``w = w0 * gw[jcal]``; for calibration term ``t``, ``psw_t = w0 * gp[t][jcal]``
    and (post-stratification) ``oldw_t = w0 * go[t][jcal]``. Estimators then
    need only sums of ``y * w0**e`` per cell, a few per indicator.
    """

    w0: np.ndarray
    w0_const: float | None
    gw: np.ndarray
    gp: tuple
    go: tuple


class SurveyDesign:
    """A complex survey design, as R's ``svydesign(ids=, strata=, weights=, fpc=)``.

    Parameters
    ----------
    weights : array-like, optional
        Sampling (design) weights, positive. Default 1 for every row.
    strata : array-like, optional
        Stratum of each row (any hashable values). Default: one stratum.
    clusters : array-like, optional
        Primary sampling unit (first-stage cluster) of each row. Clusters are
        taken as nested in strata (R ``nest=TRUE``). Default: each row is its
        own PSU.
    fpc : array-like, optional
        Finite population correction per row, constant within a stratum: either
        the population number of PSUs in the stratum (values > 1) or the
        sampling fraction (all values <= 1), as R's ``fpc=``.
    excluded : array-like of bool, optional
        Rows to leave out (screened out, practice, duplicate, too fast). They
        are dropped before anything else and counted in :attr:`n_excluded`.
    lonely_psu : {"fail", "adjust", "remove", "certainty"}
        What to do with a stratum holding a single PSU. ``"fail"`` (R's
        default) raises :class:`InvalidDesign`; the others are R's
        ``options(survey.lonely.psu=)`` rules (see METHODS.md).

    Attributes
    ----------
    n_rows : int
        Rows given, excluded ones included.
    n : int
        Rows kept.
    n_excluded : int
    keep : ndarray of bool
        Mask of kept rows (length ``n_rows``).
    weights : ndarray
        Current weights of the kept rows (after any calibration).
    base_weights : ndarray
        Design weights before calibration.
    strata, psu : ndarray of intp
        Stratum code and (globally unique) PSU code of each kept row.
    n_strata, n_psu : int
    psu_stratum : ndarray
        Stratum of each PSU.
    stratum_n_psu : ndarray
        PSUs per stratum in the sample.
    stratum_fpc : ndarray
        ``f_h = 1 - n_h/N_h`` per stratum (1 without fpc).
    calibration : tuple of CalibrationStep
    rake_report : RakeReport or None
        Convergence of the last raking (None if never raked).
    """

    def __init__(
        self,
        *,
        weights=None,
        strata=None,
        clusters=None,
        fpc=None,
        excluded=None,
        lonely_psu: Literal["fail", "adjust", "remove", "certainty"] = "fail",
    ) -> None:
        given = {
            "weights": weights,
            "strata": strata,
            "clusters": clusters,
            "fpc": fpc,
            "excluded": excluded,
        }
        lengths = {k: len(v) for k, v in given.items() if v is not None}
        if not lengths:
            raise InvalidDesign(
                "a design needs at least one array (weights, strata, clusters, "
                "fpc or excluded) to know the number of rows"
            )
        if len(set(lengths.values())) != 1:
            raise InvalidDesign(f"design arrays differ in length: {lengths}")
        if lonely_psu not in LONELY_PSU_RULES:
            raise ValueError(
                f"unknown lonely_psu rule {lonely_psu!r}; choose one of "
                f"{', '.join(LONELY_PSU_RULES)}"
            )
        n_rows = next(iter(lengths.values()))
        keep = np.ones(n_rows, dtype=bool)
        if excluded is not None:
            ex = np.asarray(excluded)
            if ex.dtype != bool:
                try:
                    ex = ex.astype(float)
                except (TypeError, ValueError) as exc:
                    raise InvalidDesign("excluded must be boolean (or 0/1)") from exc
                ex = np.nan_to_num(ex, nan=0.0) != 0
            keep = ~ex
        n = int(keep.sum())
        if n == 0:
            raise InvalidDesign("every row is excluded")

        if weights is None:
            w = np.ones(n)
        else:
            try:
                w = np.asarray(weights, dtype=float)[keep]
            except (TypeError, ValueError) as exc:
                raise InvalidDesign("weights must be numbers") from exc
            if not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise InvalidDesign("weights must be finite and positive for every kept row")

        if strata is None:
            s_codes, s_labels = np.zeros(n, np.intp), [None]
        else:
            s_codes, s_labels = factorize(_kept(strata, keep), name="strata")
            if np.any(s_codes < 0):
                raise InvalidDesign("strata has missing values")
        n_strata = len(s_labels)

        if clusters is None:
            psu = np.arange(n, dtype=np.intp)
            psu_stratum = s_codes.copy()
            self._row_psu = True
        else:
            c_codes, _ = factorize(_kept(clusters, keep), name="clusters")
            if np.any(c_codes < 0):
                raise InvalidDesign("clusters has missing values")
            psu, n_pairs, (psu_stratum, _) = joint_codes(
                (s_codes, n_strata), (c_codes, int(c_codes.max()) + 1)
            )
            self._row_psu = n_pairs == n
        n_psu = int(psu_stratum.size if clusters is not None else n)
        stratum_n_psu = np.bincount(psu_stratum, minlength=n_strata)

        f = np.ones(n_strata)
        if fpc is not None:
            try:
                fp = np.asarray(fpc, dtype=float)[keep]
            except (TypeError, ValueError) as exc:
                raise InvalidDesign("fpc must be numbers") from exc
            if not np.all(np.isfinite(fp)) or np.any(fp <= 0):
                raise InvalidDesign("fpc must be positive numbers")
            lo = np.full(n_strata, np.inf)
            hi = np.full(n_strata, -np.inf)
            np.minimum.at(lo, s_codes, fp)
            np.maximum.at(hi, s_codes, fp)
            if np.any(lo != hi):
                raise InvalidDesign("fpc must be constant within each stratum")
            if np.all(fp <= 1):
                frac = lo
            else:
                if np.any(lo < stratum_n_psu):
                    raise InvalidDesign(
                        "fpc (population PSUs) is below the sampled PSUs in some stratum"
                    )
                frac = stratum_n_psu / lo
            f = 1.0 - frac

        lonely = stratum_n_psu == 1
        if lonely.any() and lonely_psu == "fail":
            bad = [s_labels[i] for i in np.flatnonzero(lonely)[:5]]
            raise InvalidDesign(
                f"{int(lonely.sum())} stratum/strata with only one PSU (e.g. {bad}); "
                "merge strata or choose lonely_psu='adjust', 'remove' or 'certainty'"
            )

        self.n_rows = int(n_rows)
        self.n = n
        self.n_excluded = int(n_rows - n)
        self.keep = keep
        self.base_weights = w
        self.weights = w
        self.strata = s_codes
        self.strata_labels = s_labels
        self.psu = psu
        self.n_strata = n_strata
        self.n_psu = n_psu
        self.psu_stratum = psu_stratum
        self.stratum_n_psu = stratum_n_psu
        self.stratum_fpc = f
        self.lonely_psu = lonely_psu
        self.has_strata = strata is not None
        self.has_clusters = clusters is not None
        self.has_fpc = fpc is not None
        self.has_weights = weights is not None
        self.calibration: tuple[CalibrationStep, ...] = ()
        #: Set by :func:`analysis.weighting.rake` (a ``RakeReport``).
        self.rake_report = None
        # Joint calibration cell of each row and, per calibration term, the
        # term's cell for each joint cell (see estimators._View).
        self.jcal = np.zeros(n, dtype=np.intp)
        self.n_jcal = 1
        self.termcodes: tuple = ()
        const = float(w[0]) if np.all(w == w[0]) else None
        self._factor: _Factor | None = _Factor(w, const, np.ones(1), (), ())
        self._cache: dict = {}
        for a in (w, s_codes, psu, psu_stratum, stratum_n_psu, f, keep):
            a.flags.writeable = False

    # -- derived designs -------------------------------------------------
    def _with(
        self,
        *,
        weights: np.ndarray,
        step: CalibrationStep | None = None,
        jcal=None,
        n_jcal=None,
        termcodes=None,
        factor="drop",
    ) -> SurveyDesign:
        """A copy with new weights (and possibly one more calibration step).

        ``factor="drop"`` forgets the factored form of the weights (e.g. after
        trimming); estimators then use explicit per-row vectors (slower, same
        numbers).
        """
        new = object.__new__(SurveyDesign)
        new.__dict__.update(self.__dict__)
        w = np.asarray(weights, dtype=float)
        w.flags.writeable = False
        new.weights = w
        if step is not None:
            new.calibration = self.calibration + (step,)
            new.jcal, new.n_jcal, new.termcodes = jcal, int(n_jcal), tuple(termcodes)
        new._factor = None if isinstance(factor, str) else factor
        new._cache = {}
        return new

    def subset_rows(self, values, *, name: str = "values") -> np.ndarray:
        """``values`` restricted to the kept rows (checks the length)."""
        arr = np.asarray(values)
        if arr.shape[:1] != (self.n_rows,):
            raise InvalidDesign(
                f"{name} has {arr.shape[0] if arr.ndim else 0} rows, the design has {self.n_rows}"
            )
        return arr if self.n_excluded == 0 else arr[self.keep]

    @property
    def degf(self) -> int:
        """Design degrees of freedom, R ``degf()``: PSUs minus strata."""
        return int(self.n_psu - self.n_strata)

    @property
    def is_calibrated(self) -> bool:
        return bool(self.calibration)

    def __repr__(self) -> str:
        return (
            f"SurveyDesign(n={self.n}, excluded={self.n_excluded}, strata={self.n_strata}, "
            f"psu={self.n_psu}, calibrated={[c.kind for c in self.calibration]})"
        )
