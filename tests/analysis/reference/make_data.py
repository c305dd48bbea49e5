"""Write the deterministic datasets that make_reference.R computes expected numbers for.

Run from this folder: ``python make_data.py && Rscript make_reference.R``.
The CSVs are committed; tests read only them and ``expected/``.

drill.csv  ~400 respondents, 4 streets (strata) x 3-5 communities (clusters);
           community C12: everyone aware (variance 0), C21: nobody took part,
           C43: 3 respondents; missing answers (blank); design weights; fpc;
           ``stratum2`` puts C44 alone in stratum S5 (a lonely PSU).
large.csv  20,000 respondents, 10 streets x 10 communities, unequal weights.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
AGES = ["18-29", "30-44", "45-59", "60+"]
SCORES = {1: 100, 2: 80, 3: 60, 4: 40, 5: 0}


def _write(path: Path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if (isinstance(v, float) and np.isnan(v)) else v for v in r])


def drill():
    rng = np.random.default_rng(20260101)
    sizes = {
        "S1": [30, 25, 28, 22],
        "S2": [35, 27, 30],
        "S3": [24, 26, 31, 29, 20],
        "S4": [33, 28, 3, 21],
    }
    rows = []
    rid = 0
    for si, (street, cs) in enumerate(sizes.items()):
        for ci, size in enumerate(cs):
            comm = f"C{si + 1}{ci + 1}"
            base = 0.55 + 0.08 * si + 0.04 * ci
            for _ in range(size):
                rid += 1
                gender = "F" if rng.random() < 0.55 else "M"
                age = AGES[int(rng.choice(4, p=[0.15, 0.25, 0.3, 0.3]))]
                old = age == "60+"
                w = round(float(rng.uniform(1, 4)) * (0.7 if old else 1.2), 3)
                aware = float(rng.random() < min(base + (0.1 if old else 0), 0.97))
                if comm == "C12":
                    aware = 1.0
                if rng.random() < 0.06:
                    aware = np.nan
                support = float(rng.random() < min(base + 0.1, 0.97))
                partic = float(rng.random() < base - 0.25)
                if comm == "C21":
                    partic = 0.0
                if rng.random() < 0.1:
                    partic = np.nan
                sat = int(rng.choice(5, p=[0.3, 0.3, 0.2, 0.1, 0.1])) + 1
                score = float(SCORES[sat]) if rng.random() > 0.08 else np.nan
                stratum2 = "S5" if comm == "C44" else street
                fpc = {"S1": 12, "S2": 9, "S3": 15, "S4": 10}[street]
                rows.append(
                    [
                        rid,
                        street,
                        comm,
                        stratum2,
                        fpc,
                        gender,
                        age,
                        w,
                        aware,
                        support,
                        partic,
                        score,
                    ]
                )
    header = [
        "id",
        "street",
        "community",
        "stratum2",
        "fpc",
        "gender",
        "age",
        "w",
        "aware",
        "support",
        "partic",
        "score",
    ]
    _write(HERE / "data" / "drill.csv", header, rows)
    # population tables (counts of residents)
    pop_sg = []
    for si, street in enumerate(sizes):
        for g in ("F", "M"):
            pop_sg.append([street, g, 4000 + 700 * si + (300 if g == "F" else 0)])
    _write(
        HERE / "data" / "drill_pop_street_gender.csv", ["street", "gender", "population"], pop_sg
    )
    total = sum(r[2] for r in pop_sg)
    street_tot = {s: sum(r[2] for r in pop_sg if r[0] == s) for s in sizes}
    _write(
        HERE / "data" / "drill_margin_street.csv",
        ["street", "population"],
        [[s, v] for s, v in street_tot.items()],
    )
    g_tot = {g: sum(r[2] for r in pop_sg if r[1] == g) for g in ("F", "M")}
    _write(
        HERE / "data" / "drill_margin_gender.csv",
        ["gender", "population"],
        [[g, v] for g, v in g_tot.items()],
    )
    shares = [0.22, 0.28, 0.27, 0.23]
    ages = [round(total * s) for s in shares]
    ages[-1] = total - sum(ages[:-1])
    _write(
        HERE / "data" / "drill_margin_age.csv",
        ["age", "population"],
        [[a, v] for a, v in zip(AGES, ages)],
    )


def large():
    rng = np.random.default_rng(20260202)
    n = 20_000
    street = rng.integers(0, 10, n)
    comm = street * 10 + rng.integers(0, 10, n)
    gender = np.where(rng.random(n) < 0.52, "F", "M")
    age = np.array(AGES)[rng.choice(4, size=n, p=[0.12, 0.23, 0.3, 0.35])]
    w = np.round(rng.gamma(4.0, 0.5, n) + 0.2, 3)
    p = 0.7 + 0.02 * street + 0.05 * (age == "60+")
    aware = (rng.random(n) < p).astype(float)
    support = (rng.random(n) < p + 0.05).astype(float)
    support[rng.random(n) < 0.05] = np.nan
    sat = rng.choice([100.0, 80.0, 60.0, 40.0, 0.0], size=n, p=[0.35, 0.3, 0.2, 0.1, 0.05])
    sat[rng.random(n) < 0.05] = np.nan
    rows = [
        [
            i + 1,
            f"J{street[i]:02d}",
            f"J{street[i]:02d}-{comm[i] % 10}",
            gender[i],
            age[i],
            w[i],
            int(aware[i]),
            support[i],
            sat[i],
        ]
        for i in range(n)
    ]
    _write(
        HERE / "data" / "large.csv",
        ["id", "street", "community", "gender", "age", "w", "aware", "support", "score"],
        rows,
    )
    streets = [f"J{s:02d}" for s in range(10)]
    _write(
        HERE / "data" / "large_margin_street.csv",
        ["street", "population"],
        [[s, 20000 + 1500 * i] for i, s in enumerate(streets)],
    )
    total = sum(20000 + 1500 * i for i in range(10))
    _write(
        HERE / "data" / "large_margin_gender.csv",
        ["gender", "population"],
        [["F", total // 2 + 1000], ["M", total - total // 2 - 1000]],
    )
    shares = [0.2, 0.3, 0.28, 0.22]
    ages = [round(total * s) for s in shares]
    ages[-1] = total - sum(ages[:-1])
    _write(
        HERE / "data" / "large_margin_age.csv",
        ["age", "population"],
        [[a, v] for a, v in zip(AGES, ages)],
    )
    pop_sg = []
    for i, s in enumerate(streets):
        for g in ("F", "M"):
            pop_sg.append([s, g, 10000 + 750 * i + (400 if g == "F" else -400)])
    _write(
        HERE / "data" / "large_pop_street_gender.csv", ["street", "gender", "population"], pop_sg
    )


if __name__ == "__main__":
    drill()
    large()
