"""The reference datasets of the analysis tests and their designs (helpers, not tests).

The datasets and R's numbers live in ``reference/`` (see make_reference.R);
the design names below are the R objects of that script.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np

from analysis import SurveyDesign, poststratify, rake, trim_weights

REFERENCE = Path(__file__).parent / "reference"


def read_csv(path: Path) -> dict[str, list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def num(col) -> np.ndarray:
    return np.array([np.nan if v in ("", "NA") else float(v) for v in col])


@cache
def dataset(name: str) -> dict:
    return read_csv(REFERENCE / "data" / f"{name}.csv")


def margin(ds: str, var: str) -> dict:
    t = read_csv(REFERENCE / "data" / f"{ds}_margin_{var}.csv")
    return dict(zip(t[var], map(float, t["population"])))


@cache
def design(ds: str, name: str) -> SurveyDesign:
    d = dataset(ds)
    w = num(d["w"])
    n = len(w)
    margins = {v: (np.array(d[v]), margin(ds, v)) for v in ("street", "gender", "age")}
    table = read_csv(REFERENCE / "data" / f"{ds}_pop_street_gender.csv")
    cells = {"street": np.array(d["street"]), "gender": np.array(d["gender"])}
    base = {
        "srs": lambda: SurveyDesign(excluded=np.zeros(n, bool)),
        "weighted": lambda: SurveyDesign(weights=w),
        "strat": lambda: SurveyDesign(weights=w, strata=d["street"]),
        "clus": lambda: SurveyDesign(weights=w, strata=d["street"], clusters=d["community"]),
        "clus_fpc": lambda: SurveyDesign(
            weights=w, strata=d["street"], clusters=d["community"], fpc=num(d["fpc"])
        ),
        "lonely_adjust": lambda: SurveyDesign(
            weights=w, strata=d["stratum2"], clusters=d["community"], lonely_psu="adjust"
        ),
        "lonely_certainty": lambda: SurveyDesign(
            weights=w, strata=d["stratum2"], clusters=d["community"], lonely_psu="certainty"
        ),
    }
    if name in base:
        return base[name]()
    if name == "ps":
        return poststratify(design(ds, "weighted"), cells, table)[0]
    if name == "ps_clus":
        return poststratify(design(ds, "clus"), cells, table)[0]
    if name == "rake":
        return rake(design(ds, "weighted"), margins, epsilon=1e-13, max_iter=500)
    if name == "rake_clus":
        src = "clus_fpc" if ds == "drill" else "clus"
        return rake(design(ds, src), margins, epsilon=1e-13, max_iter=500)
    if name == "ps_rake":
        return rake(design(ds, "ps"), {"age": margins["age"]}, epsilon=1e-13, max_iter=500)
    if name == "rake_trim":
        return trim_weights(design(ds, "rake"), lower=30, upper=300)
    raise KeyError(name)
