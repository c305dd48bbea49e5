"""Time the downloadable rate report: build_report, the PDF and the workbook.

A synthetic round: 100,000 responses over 50 communities (10 streets x 5),
15 rate indicators and a satisfaction index, post-stratified by street x
gender x age group, compared with an earlier round; the workbook carries
100,000 raw rows x 35 columns.

    python bench/bench_reports.py                 # best of 3; --repeat N, --rows N
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.report import IndicatorSpec, ReportInput, ReportMeta, build_report
from survey.queries.export import ResponseTable  # noqa: E402
from survey.renderers.report_pdf import report_pdf
from survey.renderers.report_xlsx import report_workbook

INDICATORS = 15
STREETS, PER_STREET = 10, 5
RAW_COLUMNS = 35


def synthetic_input(rows: int, seed: int, shift: float = 0.0) -> ReportInput:
    rng = np.random.default_rng(seed)
    streets = [f"S{i:02d}" for i in range(1, STREETS + 1)]
    units = [f"{s}C{j}" for s in streets for j in range(1, PER_STREET + 1)]
    unit_index = rng.integers(0, len(units), rows)
    unit = np.array(units)[unit_index]
    street = np.array([u[:3] for u in units])[unit_index]
    specs, values, dont_know = [], {}, {}
    for k in range(INDICATORS):
        p = np.clip(0.6 + 0.35 * rng.random(len(units)) + shift, 0, 1)[unit_index]
        v = (rng.random(rows) < p).astype(float)
        dk = rng.random(rows) < 0.05
        v[dk] = np.nan
        specs.append(IndicatorSpec(f"q{k + 1:02d}", f"指标{k + 1:02d}满意率", 0.8))
        values[specs[-1].key], dont_know[specs[-1].key] = v, dk
    specs.append(IndicatorSpec("index", "满意度指数", None, "index"))
    values["index"] = rng.choice([100.0, 75.0, 50.0, 25.0, 0.0], rows)
    dont_know["index"] = np.zeros(rows, bool)
    excluded = rng.random(rows) < 0.03
    return ReportInput(
        indicators=specs, values=values, dont_know=dont_know, unit=unit, street=street,
        gender=rng.choice(["male", "female"], rows),
        age_group=rng.choice(["18_29", "30_44", "45_59", "60_plus"], rows),
        excluded=excluded, exclusions={"screened_out": int(excluded.sum() // 2),
                                       "too_fast": int(excluded.sum() - excluded.sum() // 2)},
        unit_names={u: f"{u[:3]}街道第{u[-1]}社区" for u in units},
        street_names={s: f"第{s[1:]}街道" for s in streets},
        population=[({"street": s, "gender": g, "age_group": a}, 5000.0)
                    for s in streets for g in ("male", "female") for a in ("18_29", "30_44", "45_59", "60_plus")],
    )


def raw_rows(data: ReportInput) -> list[list[str]]:
    header = ["response_id", "submitted_at", "unit", "street", "gender", "age_group", "channel",
              *[s.key for s in data.indicators[:INDICATORS]], "index"]
    header += [f"extra{i}" for i in range(RAW_COLUMNS - len(header) - 1)] + ["comment"]
    rows = [header]
    n = len(data.unit)
    answers = [np.where(np.isnan(v), "9", np.nan_to_num(v).astype(int).astype(str))
               for v in (data.values[s.key] for s in data.indicators[:INDICATORS])]
    extras = RAW_COLUMNS - 8 - INDICATORS
    comments = ["", "", "", "路灯不亮", "=HYPERLINK(\"http://x\")", "+1", "很好"]
    for i in range(n):
        rows.append([str(i + 1), f"2026-11-{1 + i % 20:02d} {8 + i % 12:02d}:{i % 60:02d}:00",
                     data.unit[i], data.street[i], data.gender[i], data.age_group[i], "qr",
                     *[a[i] for a in answers], str(int(data.values["index"][i])),
                     *[str((i + j) % 5 + 1) for j in range(extras)], comments[i % len(comments)]])
    return rows


def best(label: str, repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    print(f"{label:<48} {min(times):7.3f} s   (runs: {', '.join(f'{t:.3f}' for t in times)})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = synthetic_input(args.rows, seed=1)
    previous = build_report(synthetic_input(args.rows, seed=2, shift=-0.03))
    raw = ResponseTable.from_rows(raw_rows(data))
    codebook = [{"column": c, "question": c, "type": "single", "values": ["1", "0", "9"], "indicator": c,
                 "counts_as_yes": ["1"], "excluded": ["9"]} for c in raw.header]
    counts = [{"question_id": f"q{k:02d}", "question_text": f"题目{k}", "option_code": str(o),
               "option_label": f"选项{o}", "count": 1000 * o, "share": o / 15} for k in range(1, 16)
              for o in range(1, 6)]
    meta = ReportMeta("基准测评", "official", "示范区", datetime(2026, 11, 21), "上一轮",
                      {u: "community" for u in data.unit_names} | {s: "street" for s in data.street_names})
    print(f"{args.rows:,} responses, {len(data.unit_names)} units, {INDICATORS} rate indicators + 1 index, "
          f"raw data {len(raw):,} x {len(raw.header)}")

    report = best("build_report (with comparison)", args.repeat, lambda: build_report(data, previous))
    pdf = best("report_pdf, round report", args.repeat, lambda: report_pdf(report, meta))
    street = next(iter(data.street_names))
    communities = [u for u in data.unit_names if u.startswith(street)]
    unit_pdf = best("report_pdf, one street with its communities", args.repeat,
                    lambda: report_pdf(report, meta, street, sub_units=communities))
    xlsx = best("report_workbook (with raw data)", args.repeat,
                lambda: report_workbook(report, meta, raw, codebook, counts))
    print(f"sizes: round PDF {len(pdf) / 1e3:.0f} KB, street PDF {len(unit_pdf) / 1e3:.0f} KB, "
          f"workbook {len(xlsx) / 1e6:.1f} MB")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
