"""Simulation study of interval coverage and verdict errors at drill scale.

Runs :func:`analysis.simulation.simulate` -- synthetic districts of 3 streets
x 3 communities with true community rates 0.5-0.99, 5 to 400 interviews per
community with the elderly over-sampled, six weighting schemes, no clusters
or buildings of 8 with design effects of about 2 and 3 -- and prints Markdown
tables: the default interval with the app's weighting by n and clustering,
old against new weighting, coverage and false passes by true rate, the
interval methods, the weighting schemes (capped and uncapped), bias, the
weakest scenario cells, and the full table by method x n band x weighting x
clustering.

    python bench/simulate_intervals.py --reps 400 --seed 20261203
    python bench/simulate_intervals.py --reps 40 --quick        # well under a minute

``--quick`` keeps n = 12, 20, 30, 60 and the street-cell weightings (the
app's and the old one). Results depend only on ``--seed``, ``--reps`` and
``--quick``, not on ``--workers``. ``--save FILE.npz`` keeps every unit's
record for further analysis.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import simulation as sim  # noqa: E402
from analysis.intervals import DEFAULT_CI_METHOD  # noqa: E402

BANDS = (("5-8", (5, 8)), ("12-20", (12, 20)), ("30-60", (30, 60)), ("120-400", (120, 400)))
APP = "poststratified"
COMMUNITY = "poststrat-community"
OLD = {APP: "raw-poststrat", COMMUNITY: "raw-poststrat-community"}
KG, UNCAPPED = DEFAULT_CI_METHOD, sim.UNCAPPED


def pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.{digits}f}"


def num(x: float, digits: int = 2) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---" if i == 0 else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def summary(res: sim.Results, method: str = KG, **conditions) -> dict:
    return sim.summarise(res, res.select(**conditions), method)


def bands_of(res: sim.Results):
    for name, ns in BANDS:
        ns = tuple(n for n in ns if n in res.ns)
        if ns:
            yield name, ns


def rates_of(res: sim.Results) -> list[float]:
    return sorted({round(float(r), 6) for r in res.unit["true"]})


def by_n(res: sim.Results, method: str, scheme: str) -> str:
    """Every metric by n and clustering for one method and weighting."""
    rows = []
    for n in res.ns:
        for c in res.clusterings:
            s = summary(res, method, n=n, clustering=c.name, scheme=scheme)
            if not s["units"]:
                continue
            rows.append([
                str(n), c.name, str(s["units"]), pct(s["coverage"]),
                f"{pct(s['false_pass'])} of {s['below']}", pct(s["false_fail"]),
                num(s["width"], 3), pct(s["insufficient"], 0), pct(s["var0"], 0),
                pct(s["var0_coverage"]), num(s["max_n_eff_ratio"]),
                num(s["max_raw_n_eff_ratio"], 1), num(s["deff"]),
            ])
    return table(
        ["n", "clusters", "units", "coverage %", "false pass %", "false fail %", "median width",
         "insufficient %", "variance 0 %", "coverage if var. 0 %", "max n_eff/n",
         "max p(1-p)/Var/n", "mean deff"],
        rows,
    )


def old_vs_new(res: sim.Results) -> str:
    """Coverage and false pass of the new defaults against the old weighting, uncapped."""
    pairs = [(s, OLD[s]) for s in (APP, COMMUNITY) if s in res.schemes and OLD[s] in res.schemes]
    header = ["n", "clusters"]
    for new, old in pairs:
        header += [f"{new}, capped: coverage % / false pass %",
                   f"{old}, uncapped: coverage % / false pass %"]
    rows = []
    for n in res.ns:
        for c in res.clusterings:
            row = [str(n), c.name]
            for new, old in pairs:
                for scheme, method in ((new, KG), (old, UNCAPPED)):
                    s = summary(res, method, n=n, clustering=c.name, scheme=scheme)
                    row.append(f"{pct(s['coverage'])} / {pct(s['false_pass'])}")
            rows.append(row)
    return table(header, rows)


def by_rate(res: sim.Results, scheme: str, key: str, below_only: bool = False) -> str:
    """``key`` (coverage or false pass) by clustering x true rate (rows) and n (columns)."""
    rows = []
    for c in res.clusterings:
        for rate in rates_of(res):
            if below_only and rate >= res.target:
                continue
            row = [f"{c.name}, {rate:g}"]
            for n in res.ns:
                row.append(pct(summary(res, n=n, rate=rate, scheme=scheme, clustering=c.name)[key]))
            rows.append(row)
    return table(["clusters, true rate"] + [f"n={n}" for n in res.ns], rows)


def methods_table(res: sim.Results, scheme: str) -> str:
    rows = []
    names = [c.name for c in res.clusterings]
    for method in res.methods:
        for band, ns in bands_of(res):
            cov = [pct(summary(res, method, n=ns, clustering=c, scheme=scheme)["coverage"])
                   for c in names]
            s = summary(res, method, n=ns, scheme=scheme)
            rows.append([method, band, *cov, pct(s["false_pass"], 2), pct(s["false_fail"], 1),
                         num(s["width"], 3), pct(s["insufficient"], 0)])
    return table(
        ["method", "n", *[f"coverage % ({c})" for c in names], "false pass %", "false fail %",
         "median width", "insufficient %"],
        rows,
    )


def schemes_table(res: sim.Results) -> str:
    rows = []
    names = [c.name for c in res.clusterings]
    for scheme in res.schemes:
        for method in (KG, UNCAPPED):
            for band, ns in bands_of(res):
                cov = [pct(summary(res, method, n=ns, clustering=c, scheme=scheme)["coverage"])
                       for c in names]
                s = summary(res, method, n=ns, scheme=scheme)
                rows.append([scheme, "capped" if method == KG else "uncapped", band, *cov,
                             pct(s["false_pass"], 2), num(s["width"], 3),
                             num(s["max_raw_n_eff_ratio"], 1), num(s["deff"])])
    return table(
        ["weighting", "interval", "n", *[f"coverage % ({c})" for c in names], "false pass %",
         "median width", "max p(1-p)/Var/n", "mean deff"],
        rows,
    )


def bias_table(res: sim.Results, rates=(0.5, 0.78, 0.9)) -> str:
    """Mean estimate minus true rate (points), no clusters."""
    rows = []
    for scheme in res.schemes:
        for rate in rates:
            row = [f"{scheme}, {rate:g}"]
            for n in res.ns:
                s = summary(res, n=n, rate=rate, scheme=scheme, clustering="none")
                row.append(num(100 * s["bias"], 1))
            rows.append(row)
    return table(["weighting, true rate"] + [f"n={n}" for n in res.ns], rows)


def weakest(res: sim.Results, schemes, n_min: int = 12, bar: float = 0.93):
    """Per method the scenario cell (n, rate, scheme, clustering) with the lowest coverage,
    and the default method's cells below ``bar``."""
    rows, below = [], []
    cells = [(n, scheme, c.name, rate) for n in res.ns if n >= n_min for scheme in schemes
             for c in res.clusterings for rate in rates_of(res)]
    for method in res.methods:
        worst = None
        for n, scheme, cname, rate in cells:
            s = summary(res, method, n=n, rate=rate, scheme=scheme, clustering=cname)
            if not s["units"]:
                continue
            found = (s["coverage"], n, rate, scheme, cname, s["units"], s["var0_coverage"],
                     s["var0"])
            if worst is None or found < worst:
                worst = found
            if method == KG and s["coverage"] < bar:
                below.append(found)
        if worst is not None:
            cov, n, rate, scheme, cname, units = worst[:6]
            rows.append([method, pct(cov), str(n), f"{rate:g}", scheme, cname, str(units)])
    text = table(
        ["method", "lowest coverage %", "n", "true rate", "weighting", "clusters", "units"], rows
    )
    return text, sorted(below)


def full_table(res: sim.Results) -> str:
    rows = []
    for method in res.methods:
        for band, ns in bands_of(res):
            for scheme in res.schemes:
                for c in res.clusterings:
                    s = summary(res, method, n=ns, scheme=scheme, clustering=c.name)
                    if not s["units"]:
                        continue
                    rows.append([
                        method, band, scheme, c.name, str(s["units"]), pct(s["coverage"]),
                        pct(s["false_pass"], 2), pct(s["false_fail"], 1), num(s["width"], 3),
                        pct(s["insufficient"], 0), num(s["max_n_eff_ratio"]),
                    ])
    return table(
        ["method", "n", "weighting", "clusters", "units", "coverage %", "false pass %",
         "false fail %", "median width", "insufficient %", "max n_eff/n"],
        rows,
    )


def save(res: sim.Results, path: str) -> None:
    np.savez_compressed(
        path, **res.unit, ns=np.array(res.ns), schemes=np.array(res.schemes),
        methods=np.array(res.methods), clusterings=np.array([c.name for c in res.clusterings]),
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=400, help="replications (districts) per scenario")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--quick", action="store_true",
                    help="n = 12, 20, 30, 60; the app's and the old street-cell weighting")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-full", action="store_true", help="leave out the full table")
    ap.add_argument("--save", metavar="FILE.npz", help="save every unit's record")
    args = ap.parse_args(argv)

    ns, schemes = sim.SAMPLE_SIZES, sim.SCHEMES
    if args.quick:
        ns, schemes = (12, 20, 30, 60), (APP, OLD[APP])
    t0 = time.perf_counter()
    res = sim.simulate(args.reps, args.seed, ns=ns, schemes=schemes, workers=args.workers)
    elapsed = time.perf_counter() - t0
    if args.save:
        save(res, args.save)

    command = "python bench/simulate_intervals.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    units = res.unit["true"].size
    out = print
    out("# Simulation study: interval coverage and verdict errors at drill scale\n")
    out(f"Command: `{command}`  ")
    out(f"{args.reps} replications x {len(ns)} sizes x {len(res.clusterings)} clusterings x "
        f"{len(schemes)} weightings x {len(sim.RATES)} communities = {units:,} unit estimates; "
        f"target {res.target:g}; {elapsed:.0f} s with {args.workers} worker(s) "
        f"(Python {platform.python_version()}, NumPy {np.__version__}).")
    skipped = sum(res.skipped.values())
    if skipped:
        detail = ", ".join(f"{k[2]} n={k[0]} {k[1]}: {v}" for k, v in sorted(res.skipped.items()))
        out(f"Skipped (weighting not possible): {skipped} runs ({detail}).")
    out("\nColumns: coverage of the true community rate; false pass = share called pass among "
        "units whose true rate is below the target (\"of\": how many); false fail = share called "
        "fail among units at or above it; variance 0 = estimates with variance 0 (everyone "
        "answered alike), whose interval is Clopper-Pearson on the counts; max n_eff/n uses "
        "Estimate.n_eff (capped), max p(1-p)/Var/n the design's own variance; mean deff = mean "
        "Estimate.deff (clustering and weighting together; NaN when the variance is 0).\n")
    out(f"## Default interval ({KG}, capped), app weighting ({APP})\n")
    out(by_n(res, KG, APP))
    if OLD[APP] in schemes:
        out(f"\n## Old behaviour: {OLD[APP]} (min_cell=1, no trimming), uncapped interval (R)\n")
        out(by_n(res, UNCAPPED, OLD[APP]))
    out("\n## New defaults against the old weighting with R's interval\n")
    out(old_vs_new(res))
    out(f"\n## Coverage % by true rate, default interval, {APP}\n")
    out(by_rate(res, APP, "coverage"))
    out(f"\n## False pass % by true rate below the target, default interval, {APP}\n")
    out(by_rate(res, APP, "false_pass", below_only=True))
    if COMMUNITY in schemes:
        out(f"\n## Coverage % by true rate, default interval, {COMMUNITY}\n")
        out(by_rate(res, COMMUNITY, "coverage"))
    out(f"\n## Interval methods, app weighting ({APP})\n")
    out(methods_table(res, APP))
    out("\n## Weighting schemes, default interval capped and uncapped\n")
    out(schemes_table(res))
    out("\n## Bias (mean estimate minus true rate, points), no clusters\n")
    out(bias_table(res))
    for scheme in (s for s in (APP, COMMUNITY) if s in schemes):
        text, below = weakest(res, (scheme,))
        out(f"\n## Lowest coverage per method, cells n >= 12 x true rate x clustering, {scheme}\n")
        out(text)
        if below:
            out(f"\nCells where the default interval covers less than 93% ({len(below)}):\n")
            out(table(
                ["coverage %", "n", "true rate", "clusters", "units", "variance 0 %",
                 "coverage if var. 0 %"],
                [[pct(c[0]), str(c[1]), f"{c[2]:g}", c[4], str(c[5]), pct(c[7], 0), pct(c[6])]
                 for c in below],
            ))
        else:
            out("\nNo cell with n >= 12 where the default interval covers less than 93%.")
    if not args.no_full:
        out("\n## Full table: method x n band x weighting x clustering\n")
        out(full_table(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
