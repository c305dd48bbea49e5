"""``python -m analysis`` on CSV files, as analysts run it.

The command line is called in this process (``analysis.cli.main``, which is
all ``python -m analysis`` runs) with its output streams captured: a
subprocess per call paid about a second of NumPy/SciPy imports. Two smoke
tests run the real ``python -m analysis``: one success, one error exit.

The numbers are checked three ways: against closed forms (unweighted SE
``sqrt(p(1-p)/(n-1))``, R's svymean), against R's survey package through the
committed fixtures in ``reference/`` (make_reference.R), and against
``analysis.estimators`` called directly. Every kind of bad input must exit
non-zero with one line on stderr and no traceback.
"""

import contextlib
import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.cli import JSON_KEYS, main
from analysis.design import SurveyDesign
from analysis.estimators import estimate_rates
from analysis.intervals import CI_METHODS
from analysis.weighting import poststratify, rake

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).resolve().parent / "reference"
R_CI = {"normal": "mean", "logit": "xlogit", "korn-graubard": "beta", "wilson": "wilson",
        "clopper-pearson": "cp"}


def run(*args) -> subprocess.CompletedProcess:
    """``main(args)`` in this process: exit status, stdout and stderr, as a
    subprocess would report them."""
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse usage errors and --help
            status = exc.code
    return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())


def run_subprocess(*args) -> subprocess.CompletedProcess:
    """The real ``python -m analysis`` (smoke tests only)."""
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def rates(*args):
    r = run("rates", *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def write_csv(path: Path, header, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_columns(path: Path) -> dict[str, list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def num(col) -> np.ndarray:
    return np.array([math.nan if v in ("", "NA") else float(v) for v in col])


@pytest.fixture
def drill(tmp_path):
    """400 respondents in 5 streets, with blanks, weights and population files."""
    rng = np.random.default_rng(20240601)
    n = 400
    street = rng.choice(["东街", "S2", "S3", "S4", "S5"], n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    gender = rng.choice(["F", "M"], n)
    age = rng.choice(["18-29", "30-44", "45-59", "60+"], n, p=[0.15, 0.25, 0.25, 0.35])
    w = np.round(rng.uniform(0.5, 3.0, n), 3)
    aware = (rng.random(n) < 0.85).astype(int).astype(str).astype(object)
    aware[rng.random(n) < 0.05] = ""
    support = (rng.random(n) < 0.75).astype(int).astype(str)
    comm = np.array([f"{s}-{k}" for s, k in zip(street, rng.integers(0, 3, n), strict=True)])
    data = write_csv(tmp_path / "drill.csv",
                     ["id", "street", "community", "gender", "age", "w", "aware", "support"],
                     zip(range(1, n + 1), street, comm, gender, age, w, aware, support,
                         strict=True))
    write_csv(tmp_path / "gender.csv", ["gender", "population"], [["F", 5100], ["M", 4900]])
    write_csv(tmp_path / "age.csv", ["age", "population"],
              [["18-29", 2000], ["30-44", 3000], ["45-59", 2800], ["60+", 2200]])
    write_csv(tmp_path / "cells.csv", ["street", "gender", "population"],
              [[s, g, 1000 + 37 * i + (50 if g == "F" else 0)]
               for i, s in enumerate(["东街", "S2", "S3", "S4", "S5"]) for g in ("F", "M")])
    return data


def direct(path: Path, indicators=("aware",), by=None, weight=None, strata=None, cluster=None,
           cells=None, margins=()):
    """The same numbers from analysis.estimators called directly."""
    d = read_columns(path)
    n = len(d[indicators[0]])
    design = SurveyDesign(weights=np.ones(n) if weight is None else num(d[weight]),
                          strata=None if strata is None else np.array(d[strata]),
                          clusters=None if cluster is None else np.array(d[cluster]))
    if cells is not None:
        table = read_columns(cells)
        vars_ = [c for c in table if c != "population"]
        design, _ = poststratify(design, {v: np.array(d[v]) for v in vars_}, table)
    if margins:
        spec = {}
        for m in margins:
            t = read_columns(m)
            var = next(c for c in t if c != "population")
            spec[var] = (np.array(d[var]), dict(zip(t[var], map(float, t["population"]))))
        design = rake(design, spec)
    return estimate_rates(design, {k: num(d[k]) for k in indicators},
                          by=None if by is None else np.array(d[by]))


def assert_same(rows, ests, method="korn-graubard", level=0.95):
    assert len(rows) == len(ests)
    for r, e in zip(rows, ests, strict=True):
        assert (r["indicator"], r["domain"], r["n"]) == (e.indicator, e.domain, e.n)
        assert r["estimate"] == pytest.approx(e.estimate, abs=1e-12)
        assert r["se"] == pytest.approx(e.se, abs=1e-12)
        ci = e.ci(level, method)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert r["note"] == ci.note


# -- numbers -------------------------------------------------------------------


def test_unweighted_se_is_svymean(drill):
    rows = rates(drill, "--indicator", "aware", "--indicator", "support")
    assert [tuple(r) for r in rows] == [JSON_KEYS] * 2
    d = read_columns(drill)
    for row in rows:
        y = num(d[row["indicator"]])
        rows_all = len(y)
        y = y[~np.isnan(y)]
        n, p = len(y), y.mean()
        assert row["domain"] is None and row["n"] == n
        assert row["estimate"] == pytest.approx(p, abs=1e-12)
        if n == rows_all:  # 'support': no blanks
            assert row["se"] == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)), rel=1e-10)
            assert row["n_eff"] == pytest.approx(n - 1, rel=1e-10)
        else:
            # 'aware' has blanks: svymean(na.rm=TRUE) keeps the blank rows as
            # PSUs with zero weight, so Var = p(1-p)/n * N/(N-1), N all rows.
            se = math.sqrt(p * (1 - p) / n * rows_all / (rows_all - 1))
            assert row["se"] == pytest.approx(se, rel=1e-10)
        assert row["method"] == "korn-graubard" and row["level"] == 0.95
        assert row["target"] is None and row["verdict"] is None


def test_by_strata_gives_per_stratum_srs_se(drill):
    # stratified simple random sampling: a stratum's SE is sqrt(p(1-p)/(n_h-1))
    rows = rates(drill, "--indicator", "support", "--strata", "street", "--by", "street")
    d = read_columns(drill)
    y, street = num(d["support"]), np.array(d["street"])
    assert rows[0]["domain"] is None
    assert sorted(r["domain"] for r in rows[1:]) == sorted(set(street))
    for r in rows[1:]:
        yh = y[street == r["domain"]]
        p, n = yh.mean(), len(yh)
        assert r["estimate"] == pytest.approx(p, abs=1e-12)
        assert r["se"] == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)), rel=1e-10)


@pytest.mark.parametrize("method", CI_METHODS)
def test_weighted_by_unit_matches_estimators(drill, method):
    rows = rates(drill, "--indicator", "aware", "--indicator", "support", "--by", "street",
                 "--weight", "w", "--ci", method, "--level", "0.9")
    ests = direct(drill, ("aware", "support"), by="street", weight="w")
    assert_same(rows, ests, method, 0.9)
    assert {r["method"] for r in rows} == {method} and {r["level"] for r in rows} == {0.9}


def test_rake_matches_estimators(drill, tmp_path):
    rows = rates(drill, "--indicator", "aware", "--by", "street", "--weight", "w",
                 "--rake", tmp_path / "gender.csv", "--rake", tmp_path / "age.csv")
    assert_same(rows, direct(drill, by="street", weight="w",
                             margins=(tmp_path / "gender.csv", tmp_path / "age.csv")))
    # both spellings of several margins
    again = rates(drill, "--indicator", "aware", "--by", "street", "--weight", "w",
                  "--rake", tmp_path / "gender.csv", tmp_path / "age.csv")
    assert again == rows


def test_poststratify_and_clusters_match_estimators(drill, tmp_path):
    rows = rates(drill, "--indicator", "aware", "--indicator", "support", "--by", "gender",
                 "--strata", "street", "--cluster", "community",
                 "--poststratify", tmp_path / "cells.csv")
    assert_same(rows, direct(drill, ("aware", "support"), by="gender", strata="street",
                             cluster="community", cells=tmp_path / "cells.csv"))


def test_target_verdicts_follow_the_interval(drill):
    rows = rates(drill, "--indicator", "aware", "--indicator", "support", "--by", "street",
                 "--target", "0.8")
    verdicts = set()
    for r in rows:
        assert r["target"] == 0.8
        expected = ("pass" if r["ci_low"] >= 0.8 else "fail" if r["ci_high"] < 0.8
                    else "undecided" if r["n_eff"] >= 30 and r["ci_high"] - r["ci_low"] < 0.3
                    else "insufficient")
        assert r["verdict"] == expected
        verdicts.add(expected)
    assert verdicts == {"pass", "fail", "undecided"}


def test_all_yes_unit_gets_a_sound_interval_and_says_so(tmp_path):
    rows_ = [["A", 1]] * 5 + [["B", 1], ["B", 0], ["B", 1], ["B", 1]]
    path = write_csv(tmp_path / "r.csv", ["unit", "aware"], rows_)
    rows = rates(path, "--indicator", "aware", "--by", "unit", "--target", "0.8")
    a = next(r for r in rows if r["domain"] == "A")
    assert a["estimate"] == 1.0 and a["se"] == 0.0
    assert a["ci_low"] == pytest.approx(0.025 ** (1 / 5), rel=1e-9)  # Clopper-Pearson, 5 of 5
    assert a["ci_high"] == 1.0 and "Clopper-Pearson" in a["note"]
    assert a["verdict"] == "insufficient"  # 5 answers: fewer than --min-n (12)
    rows = rates(path, "--indicator", "aware", "--by", "unit", "--target", "0.8", "--min-n", "3")
    a = next(r for r in rows if r["domain"] == "A")
    assert a["verdict"] == "insufficient"  # effective size 5 < 30 and not clear of 80%
    assert a["more_needed"] == 12  # 17 of 17 would clear 80%: 0.025 ** (1/17) = 0.805


def test_numeric_domains_are_text(tmp_path):
    path = write_csv(tmp_path / "r.csv", ["unit", "aware"],
                     [[1, 1], [1, 0], [2, 1], [2, 1], [2, 0], [10, 1], [10, 0]])
    rows = rates(path, "--indicator", "aware", "--by", "unit")
    assert [r["domain"] for r in rows] == [None, "1", "10", "2"] or \
        [r["domain"] for r in rows] == [None, "1", "2", "10"]


def test_csv_and_table_formats(drill):
    args = ("rates", drill, "--indicator", "aware", "--by", "street", "--target", "0.8")
    as_json = rates(*args[1:])
    out = run(*args, "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(out.stdout.splitlines()))
    assert tuple(rows[0]) == JSON_KEYS and len(rows) == len(as_json)
    for c, j in zip(rows, as_json, strict=True):
        assert c["domain"] == (j["domain"] or "")
        assert float(c["estimate"]) == j["estimate"] and float(c["ci_low"]) == j["ci_low"]
        assert c["verdict"] == j["verdict"]
    table = run(*args)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["indicator", "domain", "n"]
    assert "(all)" in lines[2] and "东街" in table.stdout


# -- against R's survey package (fixtures of reference/make_reference.R) --------

R_DESIGNS = {
    "srs": [],
    "weighted": ["--weight", "w"],
    "strat": ["--weight", "w", "--strata", "street"],
    "clus": ["--weight", "w", "--strata", "street", "--cluster", "community"],
    "ps": ["--weight", "w", "--poststratify", "drill_pop_street_gender.csv"],
    "rake": ["--weight", "w", "--rake", "drill_margin_street.csv", "drill_margin_gender.csv",
             "drill_margin_age.csv"],
    "ps_rake": ["--weight", "w", "--poststratify", "drill_pop_street_gender.csv",
                "--rake", "drill_margin_age.csv"],
}


def r_expected(design: str, by: str, level: float):
    t = read_columns(REFERENCE / "expected" / "drill.csv")
    rows = [dict(zip(t, vals, strict=True)) for vals in zip(*t.values(), strict=True)]
    return {(r["indicator"], None if r["domain"] == "NA" else r["domain"]): r for r in rows
            if r["design"] == design and r["kind"] == "rate" and r["by"] in ("", by)
            and float(r["level"]) == level}


def f(x):
    return math.nan if x == "NA" else float(x)


@pytest.mark.parametrize(
    ("design", "by", "method", "level"),
    [(d, "community", "korn-graubard", 0.95) for d in R_DESIGNS]
    + [(d, "street", m, 0.9) for d in ("clus", "rake", "ps_rake") for m in CI_METHODS],
)
def test_matches_r_survey(design, by, method, level):
    data = REFERENCE / "data"
    args = [a if not a.endswith(".csv") else data / a for a in R_DESIGNS[design]]
    rows = rates(data / "drill.csv", "--indicator", "aware", "--indicator", "support",
                 "--indicator", "partic", "--by", by, "--ci", method, "--level", level, *args)
    expected = r_expected(design, by, level)
    assert len(expected) == len(rows)
    checked = capped = 0
    for row in rows:
        r = expected[(row["indicator"], row["domain"])]
        where = f"{design} {row['indicator']} {row['domain']}"
        assert row["n"] == int(r["n"]), where
        assert row["estimate"] == pytest.approx(f(r["estimate"]), abs=1e-9), where
        assert row["se"] == pytest.approx(f(r["se"]), abs=1e-7), where
        p = f(r["estimate"])
        if f(r["se"]) ** 2 <= 1e-12 * p * (1 - p) or f(r["se"]) == 0:
            # R gives NaN (everyone answered alike, or the domain lies inside
            # one PSU, as communities do in 'clus'); Minyi: Clopper-Pearson on counts
            assert "Clopper-Pearson" in row["note"], where
            continue
        low, high = f(r[f"{R_CI[method]}_low"]), f(r[f"{R_CI[method]}_high"])
        if n_eff_capped(method, p, f(r["se"]), row["n"], f(r["df"]), level):
            # More information than respondents (METHODS.md, deviations): Minyi's
            # interval is that of n respondents, never narrower than R's.
            assert row["ci_low"] <= low + 1e-9 and row["ci_high"] >= high - 1e-9, where
            capped += 1
            continue
        assert row["ci_low"] == pytest.approx(low, abs=1e-6), where
        assert row["ci_high"] == pytest.approx(high, abs=1e-6), where
        checked += 1
    assert checked >= 3  # at least the overall rows


def n_eff_capped(method, p, se, n, df, level):
    """Whether R's effective sample size (Korn-Graubard: after its df factor) exceeds n."""
    from scipy import special

    n_eff = p * (1 - p) / se**2
    if method == "korn-graubard" and n > 1:
        a = (1 - level) / 2
        n_eff *= (special.stdtrit(n - 1, a) / special.stdtrit(df, a)) ** 2
    return n_eff > n


# -- planning ----------------------------------------------------------------------


def test_plan_size():
    out = run("plan", "size", "--margin", "0.05")
    assert out.returncode == 0 and out.stdout.strip() == "385"
    out = run("plan", "size", "--margin", "0.05", "--population", "1000", "--format", "json")
    assert json.loads(out.stdout)["n"] == 278  # Krejcie & Morgan (1970)


def test_plan_allocate(tmp_path):
    path = write_csv(tmp_path / "units.csv", ["street", "population"],
                     [["a", 50], ["b", 30], ["c", 15], ["d", 5]])
    out = run("plan", "allocate", path, "--total", "100", "--minimum", "10", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert {r["unit"]: r["interviews"] for r in json.loads(out.stdout)} == {
        "a": 47, "b": 29, "c": 14, "d": 10}
    table = run("plan", "allocate", path, "--total", "100", "--method", "equal")
    assert table.returncode == 0 and "total" in table.stdout


def test_plan_more():
    out = run("plan", "more", "--n", "60", "--rate", "0.82", "--target", "0.8", "--ci", "normal",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    # least n' with 0.82 - t(n'-1) sqrt(0.82 * 0.18 / (n'-1)) >= 0.8 (SE scaled as
    # se * sqrt(60/n'), df as 59 n'/60 -- see planning.more_interviews_needed)
    se = math.sqrt(0.82 * 0.18 / 59)
    n_new = next(k for k in range(61, 100_000)
                 if 0.82 - stats.t.ppf(0.975, 59 * k / 60) * se * math.sqrt(60 / k) >= 0.8)
    assert got["verdict"] == "undecided" and got["more_needed"] == n_new - 60


# -- bad input -------------------------------------------------------------------------


def bad(tmp_path, name, header, rows):
    return write_csv(tmp_path / name, header, rows)


BAD_CASES = {
    "missing file": (lambda t, d: ["rates", t / "nope.csv", "--indicator", "aware"],
                     "nope.csv: file not found"),
    "missing indicator": (lambda t, d: ["rates", d, "--indicator", "awareness"],
                          "no indicator column 'awareness'"),
    "missing by": (lambda t, d: ["rates", d, "--indicator", "aware", "--by", "district"],
                   "no --by column 'district'"),
    "missing weight": (lambda t, d: ["rates", d, "--indicator", "aware", "--weight", "wt"],
                       "no weight column 'wt'"),
    "value 2": (lambda t, d: ["rates", bad(t, "x.csv", ["aware"], [[1], [2], [0]]),
                              "--indicator", "aware"], "value '2' on line 3"),
    "value yes": (lambda t, d: ["rates", bad(t, "x.csv", ["aware"], [[1], ["yes"]]),
                                "--indicator", "aware"], "'yes'"),
    "negative weight": (lambda t, d: ["rates", bad(t, "x.csv", ["aware", "w"], [[1, 1], [0, -2]]),
                                      "--indicator", "aware", "--weight", "w"], "'-2' on line 3"),
    "text weight": (lambda t, d: ["rates", bad(t, "x.csv", ["aware", "w"], [[1, "x"], [0, 1]]),
                                  "--indicator", "aware", "--weight", "w"], "weight 'w'"),
    "margin level not in data": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--rake",
                      bad(t, "m.csv", ["gender", "population"], [["F", 1], ["M", 1], ["X", 5]])],
        "'X' have population but no respondents"),
    "data level not in margin": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--rake",
                      bad(t, "m.csv", ["gender", "population"], [["F", 1]])],
        "'M' in"),
    "margin variable not in data": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--rake",
                      bad(t, "m.csv", ["sex", "population"], [["F", 1]])],
        "margin variable 'sex'"),
    "margin without population": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--rake",
                      bad(t, "m.csv", ["gender", "count"], [["F", 1]])],
        "'population' column"),
    "margin totals differ": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--rake", t / "age.csv",
                      bad(t, "m.csv", ["gender", "population"], [["F", 1], ["M", 1]])],
        "different population totals"),
    "cell missing": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--poststratify",
                      bad(t, "c.csv", ["gender", "population"], [["F", 10]])],
        "have no population row (e.g. gender=M)"),
    "cell column not in data": (
        lambda t, d: ["rates", d, "--indicator", "aware", "--poststratify",
                      bad(t, "c.csv", ["district", "population"], [["F", 10]])],
        "'district' are not columns"),
    "unknown method": (lambda t, d: ["rates", d, "--indicator", "aware", "--ci", "agresti"],
                       "invalid choice: 'agresti'"),
    "bad level": (lambda t, d: ["rates", d, "--indicator", "aware", "--level", "95"],
                  "--level must be between 0 and 1"),
    "bad target": (lambda t, d: ["rates", d, "--indicator", "aware", "--target", "80"],
                   "--target must be a rate"),
    "no indicator": (lambda t, d: ["rates", d], "required: --indicator"),
    "lonely psu": (lambda t, d: ["rates", bad(t, "x.csv", ["aware", "s", "c"],
                                              [[1, "A", 1], [0, "A", 1], [1, "B", 2], [1, "B", 3]]),
                                 "--indicator", "aware", "--strata", "s", "--cluster", "c"],
                   "only one PSU"),
    "empty file": (lambda t, d: ["rates", bad(t, "x.csv", ["aware"], []), "--indicator", "aware"],
                   "no data rows"),
    "ragged row": (lambda t, d: ["rates", bad(t, "x.csv", ["aware", "b"], [[1, 1], [1]]),
                                 "--indicator", "aware"], "line 3 has 1 fields"),
    "unknown command": (lambda t, d: ["means", d], "invalid choice: 'means'"),
    "plan more bad rate": (lambda t, d: ["plan", "more", "--n", "60", "--rate", "82",
                                         "--target", "0.8"], "--rate must be between 0 and 1"),
    "allocation below minimum": (
        lambda t, d: ["plan", "allocate", bad(t, "u.csv", ["u", "population"], [["a", 1]]),
                      "--total", "5", "--minimum", "10"], "less than the minimum"),
}


def run_in_process(args, capsys):
    """``main(args)`` in this process, its output read through pytest's
    capture: exit status, stdout, stderr."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def check_one_line(status, stdout, stderr, message):
    assert status != 0
    assert stdout == ""
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert message in stderr, stderr


def test_bad_value_names_the_file_line_despite_blank_lines(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("aware,unit\n1,A\n\n0,A\n\n1,B\nja,B\n", encoding="utf-8")
    check_one_line(*run_in_process(["rates", path, "--indicator", "aware"], capsys),
                   "value 'ja' on line 7")


def test_gb18030_export_is_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("知晓,街道\n1,东街\n0,东街\n1,西街\n".encode("gb18030"))
    rows = rates(path, "--indicator", "知晓", "--by", "街道")
    assert [r["domain"] for r in rows] == [None, "东街", "西街"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line(drill, tmp_path, case, capsys):
    # In-process for speed (a subprocess pays ~1 s of NumPy/SciPy imports);
    # main() is exactly what ``python -m analysis`` runs.
    make_args, message = BAD_CASES[case]
    check_one_line(*run_in_process(make_args(tmp_path, drill), capsys), message)


def test_bad_input_as_subprocess(drill, tmp_path):
    """Smoke test: ``python -m analysis`` exits 1 with one line on stderr."""
    make_args, message = BAD_CASES["value 2"]
    out = run_subprocess(*make_args(tmp_path, drill))
    check_one_line(out.returncode, out.stdout, out.stderr, message)
    assert out.returncode == 1


def test_rates_as_subprocess(drill):
    """Smoke test: ``python -m analysis`` prints what ``main`` prints and exits 0."""
    args = ("rates", drill, "--indicator", "aware", "--by", "street", "--weight", "w", "--format", "json")
    out = run_subprocess(*args)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert json.loads(out.stdout) == json.loads(run(*args).stdout)
    assert_same(json.loads(out.stdout), direct(drill, by="street", weight="w"))
