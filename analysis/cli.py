"""Command line of the statistics engine: ``python -m analysis``.

Analysts bring CSV exports from paper drills or other tools::

    python -m analysis rates RESPONSES.csv --indicator aware --indicator support \\
        --by street --weight w --rake gender.csv --rake age.csv --target 0.8
    python -m analysis rates responses.csv --questionnaire standard --by unit
    python -m analysis plan size --margin 0.05 --rate 0.8 --deff 1.5
    python -m analysis plan allocate STREETS.csv --total 1200 --minimum 30
    python -m analysis plan more --n 60 --rate 0.82 --target 0.8

``rates`` reads one row per respondent (indicators 0/1, blank = not
applicable), builds a :class:`~analysis.design.SurveyDesign`, optionally
post-stratifies (``--poststratify CELLS.csv``: the cell columns plus
``population``) and rakes (``--rake MARGIN.csv``, repeatable: one variable
column plus ``population``), and prints every indicator's rate overall and by
``--by`` with SE, interval, design effect and the verdict against
``--target``. Post-stratification follows the drill policy of
:func:`analysis.calibration.calibrate`: cells with fewer than ``--min-cell``
respondents (default 20) are merged with neighbours (list the cell columns
coarse to fine: the last column is merged first), raking to the margins when
cells stay thin, weights above ``--trim`` times the mean (default 5) trimmed;
``--min-cell 1 --trim 0`` gives R's ``postStratify``. Verdicts are ``pass``,
``fail``, ``undecided`` or ``insufficient`` (:class:`analysis.targets.VerdictRule`,
``--min-n``). The JSON rows have the keys ``indicator, domain, n, estimate,
se, ci_low, ci_high, method, level, deff, n_eff, target, verdict,
more_needed`` (further interviews that would decide; ">1000" when more than
the search limit) and ``note`` (why an interval fell back, e.g. variance 0 when
everyone answered yes; null otherwise). Numbers that do not exist (an empty
domain) are null.

With ``--questionnaire Q.yaml`` (``standard``: the bundled standard
questionnaire) ``rates`` reads raw answers instead: Minyi's own export, a
问卷星 download (按选项文本 or 按选项序号) or an Excel/CSV table keyed by
question, as .csv, .xlsx or .xls. Each counted question gives a 0/1 column
named by its indicator key as the app's report names it (``awareness``;
``key.question_id`` for a second question of one indicator), derived with the
questionnaire's own rules (``counts_as_yes``; 不了解 blank, out of the
denominator); ``unit`` (the community question), ``gender`` and ``age_group``
are derived too, and the file's other columns stay (``unit_code``, a weight).
``--indicator`` picks keys (default: every indicator the file answers), each
judged against its own target unless ``--target`` is given. Screened-out,
voided and not-counted rows (Minyi's ``status``, ``voided``, ``counted``) are
left out and counted in the footer (on stderr for JSON and CSV). See
:mod:`analysis.rawanswers`.

Bad input exits with status 1 (2 for a usage error) and one line on stderr
naming the problem; there is never a traceback.

Files are read as UTF-8 (with or without a byte-order mark, as Excel writes
it), falling back to GB18030 for exports from Chinese Excel. An input file may
have at most 512 MiB and 5,000,000 data rows; a field longer than the csv
module's limit (128 KiB) or broken quoting is reported with its line.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import sys
from collections.abc import Sequence
from itertools import islice, repeat

import numpy as np

from analysis.calibration import DEFAULT_MIN_CELL, DEFAULT_TRIM_RATIO, CalibrationReport, calibrate
from analysis.design import SurveyDesign
from analysis.errors import AnalysisError
from analysis.estimators import estimate_rates
from analysis.intervals import CI_METHODS, DEFAULT_CI_METHOD
from analysis.planning import ALLOCATION_METHODS, MAX_SEARCH_N, allocate, sample_size
from analysis.rawanswers import DerivedTable, RawAnswersError, derive_indicators
from analysis.results import Estimate
from analysis.tabular import MAX_TABLE_BYTES, TableReadError, read_table
from analysis.targets import DEFAULT_VERDICT_RULE, VerdictRule, target_verdict
from analysis.textfile import with_text_encoding
from analysis.weighting import rake
from questions import Questionnaire, QuestionnaireError, load_questionnaire, load_standard
from questions.imports import SOURCE_TABLE, detect_source

__all__ = ["JSON_KEYS", "CliError", "main"]

#: Keys of every row of ``rates --format json`` (and columns of ``--format csv``).
JSON_KEYS = (
    "indicator",
    "domain",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "method",
    "level",
    "deff",
    "n_eff",
    "target",
    "verdict",
    "more_needed",
    "note",
)

FORMATS = ("json", "csv", "table")

#: Bounds of one input file: a million-row export of a few columns is about
#: 30 MB; the rows are held in memory while the columns are built.
MAX_INPUT_BYTES = 512 * 2**20
MAX_INPUT_ROWS = 5_000_000


class CliError(Exception):
    """Bad input: printed as one line on stderr, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage block)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


# -- reading --------------------------------------------------------------


class Table:
    """A CSV file read as text columns (only the columns asked for).

    ``lines[i]`` is the file line of data row ``i`` (the header is line 1), so
    that error messages point at the line an analyst sees in an editor.
    """

    def __init__(self, path: str, header: list[str], columns: dict[str, list[str]],
                 lines: Sequence[int]):
        self.path = path
        self.header = header
        self.columns = columns
        self.lines = lines

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str, what: str = "column") -> list[str]:
        if name not in self.header:
            raise CliError(
                f"{self.path}: no {what} {name!r} (columns: {', '.join(self.header)})"
            )
        if name not in self.columns:  # pragma: no cover - a bug in the caller
            raise RuntimeError(f"column {name!r} was not read")
        return self.columns[name]


def read_csv(path: str, wanted: Sequence[str] | None = None) -> Table:
    """Read a CSV file with a header row; every row must have the header's length.

    Only the columns in ``wanted`` (all when None) are kept, which keeps a
    million-row export with many unused columns small in memory.
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise CliError(f"{path}: file not found") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_INPUT_BYTES:
        raise CliError(f"{path}: larger than {MAX_INPUT_BYTES // 2**20} MiB; "
                       f"keep only the columns needed, or split the file")
    reader = None

    def read(encoding: str) -> Table:
        nonlocal reader
        reader = None
        with open(path, newline="", encoding=encoding) as fh:
            reader = csv.reader(fh)
            return _read(path, reader, wanted)

    try:
        return with_text_encoding(read)
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 or GB18030 text") from None
    except FileNotFoundError:
        raise CliError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})") from None
    except csv.Error as exc:
        line = reader.line_num if reader is not None else 0
        if "field larger than field limit" in str(exc):
            raise CliError(f"{path}: line {line}: a field is longer than "
                           f"{csv.field_size_limit()} characters") from None
        raise CliError(f"{path}: line {line}: not valid CSV ({exc})") from None


def _read(path: str, reader, wanted: Sequence[str] | None) -> Table:
    # A million rows are a million lists: the cyclic garbage collector would
    # rescan them again and again while they are built and transposed (2-3x
    # slower); nothing here forms reference cycles.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_rows(path, reader, wanted)
    finally:
        if enabled:
            gc.enable()


def _read_rows(path: str, reader, wanted: Sequence[str] | None) -> Table:
    first = next(reader, None)
    if not first or not any(c.strip() for c in first):
        raise CliError(f"{path}: empty file (no header row)")
    header = [c.strip() for c in first]
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise CliError(f"{path}: duplicate column(s) {', '.join(dup)}")
    width = len(header)
    rows = list(islice(reader, MAX_INPUT_ROWS + 1))
    if len(rows) > MAX_INPUT_ROWS:
        raise CliError(f"{path}: more than {MAX_INPUT_ROWS:,} data rows; split the file")
    lines: Sequence[int] = range(2, len(rows) + 2)
    if set(map(len, rows)) - {width}:  # blank or ragged lines: the slow path
        kept, kept_lines = [], []
        for lineno, row in enumerate(rows, start=2):
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                raise CliError(
                    f"{path}: line {lineno} has {len(row)} fields, the header has {width}"
                )
            kept.append(row)
            kept_lines.append(lineno)
        rows, lines = kept, kept_lines
    names = set(header if wanted is None else wanted)
    # zip(*rows) transposes in C; unwanted columns are dropped straight away
    columns = {c: list(col) for c, col in zip(header, zip(*rows)) if c in names}
    if not rows:
        columns = {c: [] for c in header if c in names}
    return Table(path, header, columns, lines)


def _line_of(table: Table, index: int) -> int:
    """File line of data row ``index``."""
    return table.lines[index]


_INDICATOR_FAST = {"": math.nan, "0": 0.0, "1": 1.0}
_INDICATOR_VALUES = {"": math.nan, "0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0}


def indicator_column(table: Table, name: str) -> np.ndarray:
    """0/1 values of an indicator column, blank -> NaN; anything else is an error."""
    values = table.column(name, "indicator column")
    # -1 marks anything but "0", "1" and blank; those few go the slow way
    out = np.fromiter(map(_INDICATOR_FAST.get, values, repeat(-1.0)), float, len(values))
    for i in np.flatnonzero(out == -1.0):  # " 1 ", "1.0" and the like, or an error
        x = _INDICATOR_VALUES.get(values[i].strip())
        if x is None:
            raise CliError(
                f"{table.path}: indicator {name!r} has value {values[i]!r} on line "
                f"{_line_of(table, int(i))}; expected 0, 1 or blank"
            )
        out[i] = x
    return out


def number_column(table: Table, name: str, what: str, *, positive: bool = True) -> np.ndarray:
    values = table.column(name, f"{what} column")
    try:
        out = np.fromiter(map(float, values), float, len(values))
    except ValueError:
        out = None
    if out is not None:
        bad = ~np.isfinite(out) | (out <= 0 if positive else False)
        if not bad.any():
            return out
    for i, v in enumerate(values):  # find and name the offending line
        try:
            x = float(v)
        except ValueError:
            raise CliError(
                f"{table.path}: {what} {name!r} has value {v!r} on line {_line_of(table, i)}; "
                "expected a number"
            ) from None
        if not math.isfinite(x) or (positive and x <= 0):
            raise CliError(
                f"{table.path}: {what} {name!r} has value {v!r} on line {_line_of(table, i)}; "
                "expected a positive number"
            )
    raise AssertionError("unreachable")  # pragma: no cover


def label_column(table: Table, name: str, what: str, *, allow_blank: bool = False) -> np.ndarray:
    values = np.char.strip(np.array(table.column(name, f"{what} column"), dtype=str))
    if not allow_blank:
        blank = np.flatnonzero(values == "")
        if blank.size:
            raise CliError(
                f"{table.path}: {what} {name!r} is blank on line {_line_of(table, int(blank[0]))}"
            )
    return values


def _population_values(table: Table) -> list[float]:
    values = table.column("population", "column")
    out = []
    for i, v in enumerate(values):
        try:
            x = float(v)
        except ValueError:
            x = math.nan
        if not math.isfinite(x) or x < 0:
            raise CliError(
                f"{table.path}: population {v!r} on line {_line_of(table, i)} is not a "
                "non-negative number"
            )
        out.append(x)
    return out


def read_margin(path: str) -> tuple[str, dict[str, float]]:
    """A raking margin file: one variable column plus ``population``."""
    table = read_csv(path)
    others = [c for c in table.header if c != "population"]
    if "population" not in table.header or len(others) != 1:
        raise CliError(
            f"{path}: a margin file needs exactly one variable column and a 'population' "
            f"column (found: {', '.join(table.header)})"
        )
    var = others[0]
    levels = [v.strip() for v in table.column(var)]
    pops = _population_values(table)
    margin: dict[str, float] = {}
    for level, pop in zip(levels, pops, strict=True):
        if level in margin:
            raise CliError(f"{path}: level {level!r} of {var!r} is listed twice")
        margin[level] = pop
    return var, margin


def margin_values(path: str, var: str, margin: dict[str, float], data: Table) -> np.ndarray:
    """The data's values of a margin variable, checked against the margin file."""
    if var not in data.header:
        raise CliError(f"{path}: margin variable {var!r} is not a column of {data.path}")
    values = label_column(data, var, "margin variable")
    present = set(np.unique(values).tolist())
    missing = sorted(present - set(margin))
    if missing:
        raise CliError(
            f"{path}: {var!r} value(s) {', '.join(map(repr, missing[:5]))} in {data.path} "
            "have no population row"
        )
    empty = sorted(k for k, v in margin.items() if k not in present and v > 0)
    if empty:
        raise CliError(
            f"{path}: {var!r} level(s) {', '.join(map(repr, empty[:5]))} have population but "
            f"no respondents in {data.path}; merge them with a neighbouring level"
        )
    return values


def read_cells(path: str) -> tuple[list[str], dict[str, list]]:
    """A post-stratification cells file: the cell columns plus ``population``."""
    table = read_csv(path)
    variables = [c for c in table.header if c != "population"]
    if "population" not in table.header or not variables:
        raise CliError(
            f"{path}: a cells file needs one or more cell columns and a 'population' column "
            f"(found: {', '.join(table.header)})"
        )
    population: dict[str, list] = {v: [s.strip() for s in table.column(v)] for v in variables}
    population["population"] = _population_values(table)
    if len(set(zip(*(population[v] for v in variables), strict=True))) != len(table):
        raise CliError(f"{path}: a cell is listed twice")
    return variables, population


def cell_values(path: str, variables: list[str], population: dict[str, list],
                data: Table) -> dict[str, np.ndarray]:
    """The data's cell columns, checked: every respondent's cell has a population row.

    Cells with population but no respondents are allowed: ``poststratify``
    collapses them with a neighbour and reports it.
    """
    absent = [v for v in variables if v not in data.header]
    if absent:
        raise CliError(
            f"{path}: cell column(s) {', '.join(map(repr, absent))} are not columns of {data.path}"
        )
    cells = {v: label_column(data, v, "cell variable") for v in variables}
    listed = set(zip(*(population[v] for v in variables), strict=True))
    seen = set(zip(*(cells[v].tolist() for v in variables), strict=True))
    missing = sorted(seen - listed)
    if missing:
        example = ", ".join(f"{v}={x}" for v, x in zip(variables, missing[0], strict=True))
        raise CliError(
            f"{path}: {len(missing)} cell(s) of {data.path} have no population row "
            f"(e.g. {example})"
        )
    return cells


# -- raw answers ---------------------------------------------------------------

#: ``--questionnaire standard``: the bundled standard questionnaire.
STANDARD = "standard"
_RAW_HINT = ("; for raw answers (Minyi's export, a 问卷星 download) give the questionnaire: "
             "--questionnaire Q.yaml or --questionnaire standard")


def read_questionnaire(name: str) -> Questionnaire:
    """The questionnaire a file answers: a YAML file, or ``standard``."""
    try:
        if name == STANDARD:
            return load_standard()
        return load_questionnaire(name)
    except QuestionnaireError as exc:
        raise CliError(f"--questionnaire: {exc}") from None
    except FileNotFoundError:
        raise CliError(f"{name}: file not found (--questionnaire takes a YAML file or "
                       f"{STANDARD!r})") from None
    except IsADirectoryError:
        raise CliError(f"{name}: is a directory, not a questionnaire file") from None
    except OSError as exc:
        raise CliError(f"{name}: cannot read ({exc.strerror})") from None


def read_raw(path: str, questionnaire: Questionnaire) -> tuple[Table, DerivedTable]:
    """A file of raw answers (CSV, .xlsx, .xls) as a table with one 0/1 column
    per indicator, ``unit`` and the demographic variables, only the rows that count."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TABLE_BYTES + 1)  # read_table refuses what is longer
    except FileNotFoundError:
        raise CliError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a file of answers") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        table = read_table(os.path.basename(path), data)
        derived = derive_indicators(questionnaire, table.header, table.rows, table.row_number)
    except TableReadError as exc:
        raise CliError(f"{path}: {exc.message}") from None
    except RawAnswersError as exc:
        raise CliError(f"{path}: {exc}") from None
    if derived.read == 0:
        raise CliError(f"{path}: no data rows")
    return Table(path, derived.header, derived.columns, derived.rows), derived


def _raw_selection(args: argparse.Namespace, derived: DerivedTable, path: str) -> list[str]:
    """The indicator keys asked for (all the file answers by default), checked."""
    keys = [ind.key for ind in derived.indicators]
    if not args.indicator:
        return keys
    absent = {ind.key: ind for ind in derived.missing}
    for name in args.indicator:
        if name in absent:
            q = absent[name].question
            raise CliError(f"{path}: no column answers question {q.id} ({q.text.zh}) of indicator {name!r}")
        if name not in keys:
            raise CliError(f"--indicator {name!r} is not an indicator of the questionnaire "
                           f"(indicators: {', '.join(keys + list(absent))})")
    return list(args.indicator)


def describe_raw(derived: DerivedTable, used: int) -> str:
    """What reading the raw answers did, for the footer."""
    text = f"{derived.read} rows read ({derived.source}), {used} counted"
    left_out = derived.left_out()
    if left_out:
        text += f" (left out: {left_out})"
    missing = [ind.key for ind in derived.missing]
    if missing:
        text += f"; no column for {', '.join(missing)}"
    return text


# -- rates ------------------------------------------------------------------


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def rate_rows(args: argparse.Namespace) -> list[dict]:
    """Compute the rows of ``rates`` (a list of dicts with :data:`JSON_KEYS`)."""
    if not 0.0 < args.level < 1.0:
        raise CliError(f"--level must be between 0 and 1, got {args.level}")
    if args.target is not None and not 0.0 <= args.target <= 1.0:
        raise CliError(f"--target must be a rate between 0 and 1, got {args.target}")
    if args.min_cell < 1:
        raise CliError(f"--min-cell must be at least 1, got {args.min_cell}")
    if args.trim != 0 and not args.trim > 1:
        raise CliError(f"--trim must be 0 (off) or above 1, got {args.trim}")
    if args.min_n < 1:
        raise CliError(f"--min-n must be at least 1, got {args.min_n}")
    chosen = list(args.indicator or [])
    dup = sorted({c for c in chosen if chosen.count(c) > 1})
    if dup:
        raise CliError(f"--indicator {dup[0]!r} is given twice")
    questionnaire = None if args.questionnaire is None else read_questionnaire(args.questionnaire)
    # The small files first: they name the columns to read from the big one.
    margin_files = [(p, *read_margin(p)) for p in args.rake]
    names = [m[1] for m in margin_files]
    twice = sorted({v for v in names if names.count(v) > 1})
    if twice:
        raise CliError(f"--rake: two margin files for the variable {twice[0]!r}")
    cell_file = read_cells(args.poststratify) if args.poststratify else None
    wanted = [*chosen, *names, *(cell_file[0] if cell_file else [])]
    wanted += [c for c in (args.by, args.weight, args.strata, args.cluster) if c is not None]

    targets: dict[str, float | None] = {}
    raw = None
    if questionnaire is not None:
        data, raw = read_raw(args.responses, questionnaire)
        chosen = _raw_selection(args, raw, data.path)
        targets = {ind.key: ind.target for ind in raw.indicators}
        if len(data) == 0:
            raise CliError(f"{data.path}: no row counts ({raw.left_out()})")
    else:
        try:
            data = read_csv(args.responses, wanted)
        except CliError as exc:
            if str(args.responses).lower().endswith((".xlsx", ".xls")):
                raise CliError(f"{exc}{_RAW_HINT}") from None  # Excel is read only with a questionnaire
            raise
        if len(data) == 0:
            raise CliError(f"{data.path}: no data rows")
    try:
        indicators = {name: indicator_column(data, name) for name in chosen}
    except CliError as exc:
        if raw is None and detect_source(data.header) != SOURCE_TABLE:
            raise CliError(f"{exc}{_RAW_HINT}") from None
        raise
    weights = None if args.weight is None else number_column(data, args.weight, "weight")
    strata = None if args.strata is None else label_column(data, args.strata, "strata")
    clusters = None if args.cluster is None else label_column(data, args.cluster, "cluster")
    by = None if args.by is None else label_column(data, args.by, "--by", allow_blank=True)
    margins = {var: (margin_values(p, var, m, data), m) for p, var, m in margin_files}
    cells = None
    if cell_file is not None:
        cells = cell_values(args.poststratify, *cell_file, data)

    if weights is None and strata is None and clusters is None:
        weights = np.ones(len(data))  # SurveyDesign needs one array to know the rows
    design = SurveyDesign(weights=weights, strata=strata, clusters=clusters, lonely_psu=args.lonely_psu)
    how = [f"{design.n} rows", "weights: " + (args.weight or "none")]
    if raw is not None:
        how[0] = describe_raw(raw, design.n)
        titles = {ind.key: ind.name for ind in raw.indicators}
        args.legend = [f"{key}: {titles[key]}" for key in chosen]
    if cells is not None:
        design, report = calibrate(design, cells, cell_file[1], min_cell=args.min_cell,
                                   trim_ratio=args.trim or None)
        how.append(describe_calibration(report))
    if margins:
        design = rake(design, margins)
        how.append(f"raked to {', '.join(margins)} "
                   f"({design.rake_report.iterations} sweep(s))")
    args.how = "; ".join(how)

    rule = VerdictRule(min_n=args.min_n)
    rows = []
    for est in estimate_rates(design, indicators, by=by):
        ci = est.ci(level=args.level, method=args.ci)
        empty = est.n == 0
        verdict = more = None
        target = args.target if args.target is not None else targets.get(est.indicator)
        if target is not None and not empty:
            decided = target_verdict(est, target, level=args.level, method=args.ci, rule=rule)
            verdict, more = decided.verdict, decided.more_needed
            if decided.more_needed_exceeds:
                more = f">{more}"
        rows.append(
            {
                "indicator": est.indicator,
                "domain": est.domain,
                "n": int(est.n),
                "estimate": _num(est.estimate),
                "se": _num(est.se),
                "ci_low": None if empty else _num(ci.low),
                "ci_high": None if empty else _num(ci.high),
                "method": args.ci,
                "level": args.level,
                "deff": _num(est.deff),
                "n_eff": _num(est.n_eff),
                "target": target,
                "verdict": verdict,
                "more_needed": more,
                "note": "no respondents" if empty else ci.note,
            }
        )
    return rows


def describe_calibration(report: CalibrationReport) -> str:
    """One line of what the weighting did, for the table footer."""
    if report.method == "unweighted":
        return (f"not weighted: every margin has fewer than {report.min_cell} respondents "
                "in some category")
    if report.fallback is None:
        text = f"post-stratified to {' x '.join(report.used)} ({report.groups} cells"
    else:
        kind = "raked to" if report.method == "raked" else "post-stratified to"
        text = f"{report.fallback}: {kind} {', '.join(report.used)} ({report.groups} categories"
    if report.merges:
        text += f"; {report.n_merged} merge(s) of cells under {report.min_cell} respondents"
    text += ")"
    if report.dropped:
        text += f"; margin(s) dropped: {', '.join(report.dropped)}"
    if report.trimmed:
        text += f"; {report.trimmed} weight(s) trimmed to {report.trim_ratio:g} x the mean"
    return text


def _fmt(x, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def render_table(rows: list[dict], headers: Sequence[str]) -> str:
    """Plain aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for j, r in enumerate(cells):
        parts = []
        for i, c in enumerate(r):
            numeric = j > 0 and _looks_numeric(c)
            parts.append(c.rjust(widths[i]) if numeric else c.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _looks_numeric(s: str) -> bool:
    try:
        float(s.rstrip("%"))
    except ValueError:
        return False
    return True


def write_rates(rows: list[dict], fmt: str, out, how: str | None = None,
                legend: Sequence[str] = ()) -> None:
    if fmt == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2, allow_nan=False)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=JSON_KEYS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if r[k] is None else r[k] for k in JSON_KEYS})
    else:
        headers = ("indicator", "domain", "n", "rate", "se", "ci", "deff", "target", "verdict")
        body = []
        notes = []
        for r in rows:
            ci = "-" if r["ci_low"] is None else f"{r['ci_low']:.1%} - {r['ci_high']:.1%}"
            mark = ""
            if r["note"]:
                if r["note"] not in notes:
                    notes.append(r["note"])
                mark = " *" + str(notes.index(r["note"]) + 1)
            body.append(
                [
                    r["indicator"],
                    "(all)" if r["domain"] is None else r["domain"],
                    r["n"],
                    "-" if r["estimate"] is None else f"{r['estimate']:.1%}",
                    _fmt(r["se"]),
                    ci + mark,
                    _fmt(r["deff"], 2),
                    "-" if r["target"] is None else f"{r['target']:.0%}",
                    r["verdict"] or "-",
                ]
            )
        out.write(render_table(body, headers) + "\n")
        level = rows[0]["level"] if rows else 0.95
        out.write(f"\n{level * 100:g}% intervals, method {rows[0]['method'] if rows else ''}")
        out.write(f"; {how}\n" if how else "\n")
        for i, n in enumerate(notes, start=1):
            out.write(f"*{i} {n}\n")
        for line in legend:
            out.write(f"{line}\n")


def cmd_rates(args: argparse.Namespace) -> int:
    if not args.indicator and args.questionnaire is None:
        args.parser.error("the following arguments are required: --indicator "
                          "(or --questionnaire, for raw answers)")
    rows = rate_rows(args)
    write_rates(rows, args.format, sys.stdout, getattr(args, "how", None), getattr(args, "legend", ()))
    if args.questionnaire is not None and args.format != "table":
        # The table has a footer; JSON and CSV rows keep their keys, so say it aside.
        print(f"note: {args.how}", file=sys.stderr)
    return 0


# -- plan ---------------------------------------------------------------------


def cmd_plan_size(args: argparse.Namespace) -> int:
    n = sample_size(
        args.margin, level=args.level, rate=args.rate, deff=args.deff, population=args.population
    )
    if args.format == "json":
        out = {
            "n": n,
            "margin": args.margin,
            "level": args.level,
            "rate": args.rate,
            "deff": args.deff,
            "population": args.population,
        }
        print(json.dumps(out))
    elif args.format == "csv":
        print("n")
        print(n)
    else:
        print(n)
    return 0


def cmd_plan_allocate(args: argparse.Namespace) -> int:
    table = read_csv(args.populations)
    if "population" not in table.header:
        raise CliError(f"{table.path}: no 'population' column (columns: {', '.join(table.header)})")
    unit_col = args.unit
    if unit_col is None:
        others = [c for c in table.header if c != "population"]
        if len(others) != 1:
            raise CliError(
                f"{table.path}: name the unit column with --unit (columns: {', '.join(others)})"
            )
        unit_col = others[0]
    units = [u.strip() for u in table.column(unit_col)]
    pops = _population_values(table)
    if len(set(units)) != len(units):
        raise CliError(f"{table.path}: a unit is listed twice in {unit_col!r}")
    alloc = allocate(
        args.total, dict(zip(units, pops, strict=True)), method=args.method, minimum=args.minimum
    )
    rows = [
        {"unit": u, "population": p, "interviews": alloc[u]}
        for u, p in zip(units, pops, strict=True)
    ]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(
            sys.stdout, fieldnames=("unit", "population", "interviews"), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    else:
        body = [[r["unit"], f"{r['population']:g}", r["interviews"]] for r in rows]
        body.append(["total", f"{sum(pops):g}", sum(alloc.values())])
        print(render_table(body, (unit_col, "population", "interviews")))
    return 0


def cmd_plan_more(args: argparse.Namespace) -> int:
    if args.n < 2:
        raise CliError("--n must be at least 2")
    if not 0.0 <= args.rate <= 1.0:
        raise CliError(f"--rate must be between 0 and 1, got {args.rate}")
    if not 0.0 <= args.target <= 1.0:
        raise CliError(f"--target must be a rate between 0 and 1, got {args.target}")
    if not args.deff > 0:
        raise CliError(f"--deff must be positive, got {args.deff}")
    est = srs_estimate(args.n, args.rate, args.deff)
    # Planning asks for the real number, however large: search up to MAX_SEARCH_N.
    result = target_verdict(est, args.target, level=args.level, method=args.ci,
                            more_limit=MAX_SEARCH_N - args.n)
    if args.format == "json":
        print(json.dumps({"n": args.n, "rate": args.rate, "deff": args.deff,
                          "target": args.target, "level": args.level, "method": args.ci,
                          "ci_low": result.interval.low, "ci_high": result.interval.high,
                          "verdict": result.verdict, "more_needed": result.more_needed,
                          "more_needed_exceeds": result.more_needed_exceeds,
                          "note": result.note}))
    else:
        more = "-" if result.more_needed is None else str(result.more_needed)
        if result.more_needed_exceeds:
            more = f"more than {more}"
        print(f"{result.verdict}; more interviews needed: {more}"
              + (f" ({result.note})" if result.note else ""))
    return 0


def srs_estimate(n: int, rate: float, deff: float = 1.0) -> Estimate:
    """An estimate from ``n`` interviews at ``rate`` with design effect ``deff``.

    SE as R's ``svymean`` gives it for a simple random sample,
    :math:`\\sqrt{p(1-p)/(n-1)}`, times :math:`\\sqrt{\\mathrm{deff}}`; design
    degrees of freedom ``n - 1``; successes ``round(rate * n)``.
    """
    x = round(rate * n)
    se = math.sqrt(deff * rate * (1.0 - rate) / (n - 1))
    n_eff = min((n - 1) / deff, float(n)) if 0 < rate < 1 else float(n)
    return Estimate("rate", None, n, x, rate, se, float(n - 1), deff, n_eff)


# -- parser ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m analysis",
        description="Weighted rates, intervals and target verdicts for Minyi survey exports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{rates,plan}")

    r = sub.add_parser(
        "rates",
        help="rates with SE, interval and verdict, overall and by unit",
        description="Weighted rates of 0/1 indicators (blank = not applicable), or of raw "
                    "answers read with their questionnaire (--questionnaire).",
    )
    r.add_argument("responses", metavar="FILE", help="one row per respondent: CSV; with "
                   "--questionnaire also .xlsx/.xls (Minyi's export, a 问卷星 download)")
    r.add_argument("--questionnaire", metavar="Q.yaml",
                   help="read raw answers with this questionnaire ('standard': the bundled one); "
                        "each counted question gives an indicator column named by its key, "
                        "plus 'unit', 'gender', 'age_group'")
    r.add_argument("--indicator", action="append", metavar="COL",
                   help="0/1 indicator column, or with --questionnaire an indicator key "
                        "(default: all); repeat for several")
    r.add_argument("--by", metavar="COL", help="domain column (unit, gender, ...)")
    r.add_argument("--weight", metavar="COL", help="design weight column")
    r.add_argument("--strata", metavar="COL", help="stratum column")
    r.add_argument("--cluster", metavar="COL", help="PSU (cluster) column, nested in strata")
    r.add_argument("--lonely-psu", choices=("fail", "adjust", "certainty", "remove"), default="fail",
                   help="a stratum with one PSU: fail (R's default), or R's adjust / certainty / remove")
    r.add_argument("--poststratify", metavar="CELLS.csv",
                   help="cell columns plus 'population'")
    r.add_argument("--rake", action="extend", nargs="+", default=[], metavar="MARGIN.csv",
                   help="one variable column plus 'population' (repeat for several margins)")
    r.add_argument("--min-cell", type=int, default=DEFAULT_MIN_CELL, metavar="N",
                   help=f"least respondents per weighting cell (default {DEFAULT_MIN_CELL}; "
                        "1: merge only empty cells)")
    r.add_argument("--trim", type=float, default=DEFAULT_TRIM_RATIO, metavar="RATIO",
                   help=f"cap weights at RATIO x the mean weight (default {DEFAULT_TRIM_RATIO:g}; 0: off)")
    r.add_argument("--ci", choices=CI_METHODS, default=DEFAULT_CI_METHOD,
                   help=f"interval method (default {DEFAULT_CI_METHOD})")
    r.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    r.add_argument("--target", type=float,
                   help="target rate, e.g. 0.8 (with --questionnaire: default each indicator's own)")
    r.add_argument("--min-n", type=int, default=DEFAULT_VERDICT_RULE.min_n, metavar="N",
                   help="fewer usable answers than N: verdict 'insufficient' "
                        f"(default {DEFAULT_VERDICT_RULE.min_n})")
    r.add_argument("--format", choices=FORMATS, default="table", help="output (default table)")
    r.set_defaults(func=cmd_rates, parser=r)

    p = sub.add_parser("plan", help="sample size and allocation")
    psub = p.add_subparsers(dest="plan_command", required=True, metavar="{size,allocate,more}")
    s = psub.add_parser("size", help="respondents for a margin of error")
    s.add_argument("--margin", type=float, required=True, help="half-width, e.g. 0.05")
    s.add_argument("--level", type=float, default=0.95)
    s.add_argument("--rate", type=float, default=0.5, help="expected rate (default 0.5)")
    s.add_argument("--deff", type=float, default=1.0, help="expected design effect (default 1)")
    s.add_argument("--population", type=float,
                   help="population size (finite population correction)")
    s.add_argument("--format", choices=FORMATS, default="table")
    s.set_defaults(func=cmd_plan_size)

    a = psub.add_parser("allocate", help="split interviews across units")
    a.add_argument("populations", metavar="POPULATIONS.csv", help="unit column plus 'population'")
    a.add_argument("--total", type=int, required=True)
    a.add_argument("--method", choices=ALLOCATION_METHODS, default="proportional")
    a.add_argument("--minimum", type=int, default=0, help="least interviews per unit")
    a.add_argument("--unit", metavar="COL", help="unit column (default: the other column)")
    a.add_argument("--format", choices=FORMATS, default="table")
    a.set_defaults(func=cmd_plan_allocate)

    m = psub.add_parser("more", help="further interviews a community needs to decide a target")
    m.add_argument("--n", type=int, required=True, help="interviews so far")
    m.add_argument("--rate", type=float, required=True, help="current rate, e.g. 0.82")
    m.add_argument("--target", type=float, required=True, help="target rate, e.g. 0.8")
    m.add_argument("--deff", type=float, default=1.0, help="design effect (default 1)")
    m.add_argument("--ci", choices=CI_METHODS, default=DEFAULT_CI_METHOD)
    m.add_argument("--level", type=float, default=0.95)
    m.add_argument("--format", choices=("json", "table"), default="table")
    m.set_defaults(func=cmd_plan_more)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        message = str(exc)
    except (AnalysisError, ValueError) as exc:
        message = str(exc)
    except BrokenPipeError:  # e.g. piped into head
        return 0
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return 1
