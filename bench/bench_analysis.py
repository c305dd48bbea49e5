"""Benchmark of the statistics engine (issue 3, "Speed"); not a timed test.

The job: 1,000,000 responses x 20 indicators x 50 communities (plus gender,
age group and street columns), design weights raked to three margins
(street, gender, age group), then every indicator's rate with SE and interval
overall and by community, and the verdict against an 80% target.

    python bench/bench_analysis.py                   # the full job, best of 3
    python bench/bench_analysis.py --rows 200000 --indicators 1 --units 12 \\
        --write-r bench/out/r200k                    # data + margins for bench_r.R
    python bench/bench_analysis.py --repeat 1 --write-csv bench/out/cli1m   # for the CLI

Reports wall time per stage (best of ``--repeat`` runs, each on a fresh
design) and peak memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the
high-water mark of the whole process, synthesis included). Target: < 1.5 s
for design + raking + estimates + intervals, < 2 GB.

The synthetic columns are integer codes (as an app would pass them after a
database query); text labels cost about 0.6 s per million rows to factorize
(see ``analysis.design.factorize``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.design import SurveyDesign  # noqa: E402
from analysis.estimators import estimate_rates  # noqa: E402
from analysis.targets import verdict_from_interval  # noqa: E402
from analysis.weighting import rake  # noqa: E402

N_STREETS = 10
N_AGE = 5


def maxrss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthesize(rows: int, indicators: int, units: int, seed: int) -> dict:
    """Respondent-level arrays: codes, weights, 0/1 indicators with some blanks."""
    rng = np.random.default_rng(seed)
    # communities of unequal size; each street holds units // N_STREETS of them
    size = rng.uniform(0.5, 1.5, units)
    unit = rng.choice(units, rows, p=size / size.sum()).astype(np.int32)
    street = (unit % N_STREETS).astype(np.int32)
    gender = rng.integers(0, 2, rows, dtype=np.int8)
    # the drill over-samples the elderly (at home): age group 4 is 60+
    age = rng.choice(N_AGE, rows, p=[0.12, 0.16, 0.2, 0.22, 0.3]).astype(np.int8)
    weight = rng.uniform(0.5, 2.0, rows)
    base = rng.uniform(0.6, 0.95, (indicators, units))
    ind = {}
    for k in range(indicators):
        p = base[k][unit] + 0.03 * (age == 4)
        y = (rng.random(rows) < p).astype(np.float64)
        if k % 4 == 3:  # "don't know" / not applicable on every fourth item
            y[rng.random(rows) < 0.05] = np.nan
        ind[f"q{k + 1:02d}"] = y
    return {"unit": unit, "street": street, "gender": gender, "age": age, "weight": weight,
            "indicators": ind}


def margins(data: dict) -> dict:
    """Population counts (a city of ~2.4 million adults) for street, gender and age."""
    rng = np.random.default_rng(1)
    total = 2_400_000.0
    st = rng.uniform(0.7, 1.3, N_STREETS)
    g = np.array([0.51, 0.49])
    a = np.array([0.2, 0.25, 0.22, 0.18, 0.15])
    return {
        "street": (data["street"], dict(enumerate(total * st / st.sum()))),
        "gender": (data["gender"], dict(enumerate(total * g))),
        "age": (data["age"], dict(enumerate(total * a))),
    }


def run_once(data: dict, target: float, method: str) -> tuple[dict, list]:
    times = {}
    t0 = time.perf_counter()
    design = SurveyDesign(weights=data["weight"])
    t1 = time.perf_counter()
    design = rake(design, margins(data))
    t2 = time.perf_counter()
    ests = estimate_rates(design, data["indicators"], by=data["unit"])
    t3 = time.perf_counter()
    rows = []
    for e in ests:
        ci = e.ci(0.95, method)
        rows.append((e, ci, verdict_from_interval(ci, target)))
    t4 = time.perf_counter()
    times["design"] = t1 - t0
    times["rake (3 margins)"] = t2 - t1
    times["rates + SE (overall and by unit)"] = t3 - t2
    times[f"intervals ({method}) + verdicts"] = t4 - t3
    times["total"] = t4 - t0
    return times, rows


def write_csv_input(data: dict, out: Path, *, all_indicators: bool) -> None:
    """The data as a responses CSV plus one margin CSV per raking variable.

    ``all_indicators=False`` writes the first indicator only, as column ``y``
    (the input of bench_r.R); otherwise every indicator under its name.
    """
    out.mkdir(parents=True, exist_ok=True)
    inds = data["indicators"] if all_indicators else {"y": next(iter(data["indicators"].values()))}
    cols = [data["unit"].tolist(), data["street"].tolist(), data["gender"].tolist(),
            data["age"].tolist(), np.round(data["weight"], 6).tolist()]
    cols += [["" if v != v else int(v) for v in y.tolist()] for y in inds.values()]
    with (out / "responses.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit", "street", "gender", "age", "w", *inds])
        w.writerows(zip(*cols, strict=True))
    for name, (_, pop) in margins(data).items():
        with (out / f"margin_{name}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([name, "population"])
            for k, v in pop.items():
                w.writerow([k, repr(float(v))])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--indicators", type=int, default=20)
    ap.add_argument("--units", type=int, default=50)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    ap.add_argument("--ci", default="korn-graubard", help="interval method")
    ap.add_argument("--target", type=float, default=0.8)
    ap.add_argument("--write-r", type=Path, metavar="DIR",
                    help="also write the first indicator and the margins as CSV for bench_r.R")
    ap.add_argument("--write-csv", type=Path, metavar="DIR",
                    help="also write every indicator and the margins as CSV (for the CLI)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    data = synthesize(args.rows, args.indicators, args.units, args.seed)
    t_syn = time.perf_counter() - t
    rss_data = maxrss_mb()
    runs = [run_once(data, args.target, args.ci) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r[0]["total"])
    times, rows = best
    rss_peak = maxrss_mb()
    if args.write_r:
        write_csv_input(data, args.write_r, all_indicators=False)
    if args.write_csv:
        write_csv_input(data, args.write_csv, all_indicators=True)

    verdicts = {}
    for _, _, v in rows:
        verdicts[v] = verdicts.get(v, 0) + 1
    result = {
        "rows": args.rows,
        "indicators": args.indicators,
        "units": args.units,
        "estimates": len(rows),
        "seconds": {k: round(v, 4) for k, v in times.items()},
        "total_all_runs": [round(r[0]["total"], 4) for r in runs],
        "synthesis_seconds": round(t_syn, 3),
        "peak_rss_mb_after_synthesis": round(rss_data, 1),
        "peak_rss_mb": round(rss_peak, 1),
        "verdicts": verdicts,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}, NumPy {np.__version__}",
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.rows:,} rows x {args.indicators} indicators x {args.units} units "
          f"-> {len(rows):,} estimates ({result['machine']})")
    print(f"  {'synthesis (not timed)':<38}{t_syn:8.3f} s")
    for k, v in times.items():
        print(f"  {k:<38}{v:8.3f} s")
    print(f"  totals of all runs: {', '.join(f'{x:.3f}' for x in result['total_all_runs'])} s")
    print(f"  peak RSS: {rss_data:.0f} MB after synthesis, {rss_peak:.0f} MB at the end")
    print(f"  verdicts at {args.target:.0%}: {verdicts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
