"""A round's results: responses read from the database into arrays, and the
report computed by ``analysis.report`` — the one source of every number on
the results page, in the PDF, the workbook and the API.

Reports are cached per process, keyed by the round's response count and
newest response id, so the page, its charts and the downloads a user asks
for in a row compute the report once and always show the same numbers.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from itertools import compress

import numpy as np
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from analysis.intervals import CI_METHODS, DEFAULT_CI_METHOD  # noqa: F401 (re-exported)
from analysis.report import IndicatorSpec, Report, ReportInput, ReportMeta, build_report
from analysis.targets import VerdictRule
from questions import Question, Questionnaire, indicator_value, score_value

from .. import vocabulary
from ..exceptions import SetupError
from ..infrastructure.bulkread import collector_paused
from ..models import Interviewer, PopulationCell, Response, Round, Unit
from ..models.types import utcnow
from ..usecases import integrity
from .export import ResponseTable

STATUS_SCREENED_OUT = vocabulary.STATUS_SCREENED_OUT


@dataclass(frozen=True)
class ReportOptions:
    ci_method: str = DEFAULT_CI_METHOD
    level: float = 0.95
    compare_to: int | None = None  # id of an earlier round
    ranking_indicator: str | None = None
    #: Flags whose responses are left out; None means the round's own choice.
    #: () shows the rates with every flagged response counted, for comparison.
    excluded_flags: tuple[str, ...] | None = None
    #: Interviewers whose responses are left out; None means those the office
    #: excluded (``Interviewer.excluded_at``); () counts every interviewer's.
    excluded_interviewers: tuple[int, ...] | None = None
    #: Count the responses voided on review too (for comparison).
    include_voided: bool = False

    def __post_init__(self) -> None:
        if self.ci_method not in CI_METHODS:
            raise SetupError(f"unknown interval method {self.ci_method!r}; use one of {', '.join(CI_METHODS)}")
        if not 0.5 <= self.level < 1:
            raise SetupError("the confidence level must be between 0.5 and 1")


def indicator_specs(questionnaire: Questionnaire, targets: dict[str, float]) -> list[tuple[IndicatorSpec, Question]]:
    """The rates (one per counted question) and satisfaction indices to report."""
    specs: list[tuple[IndicatorSpec, Question]] = []
    seen: set[str] = set()
    for q in questionnaire.counted_questions:
        key = q.indicator if q.indicator not in seen else f"{q.indicator}.{q.id}"
        seen.add(key)
        name = questionnaire.indicators[q.indicator].name.zh
        specs.append((IndicatorSpec(key, name, targets.get(q.indicator), "rate"), q))
    for q in questionnaire.questions:
        if q.scores and q.indicator:
            name = f"{questionnaire.indicators[q.indicator].name.zh}（{vocabulary.INDICATOR_KINDS['index'].zh}）"
            specs.append((IndicatorSpec(f"{q.indicator}.index", name, None, "index"), q))
    return specs


def _decoder(question: Question, kind: str) -> dict[str, tuple[float, bool]]:
    """Each possible answer code -> (value, is "don't know"): a table lookup
    per answer keeps a 100,000-response round fast."""
    table = {}
    for code in question.codes:
        value = indicator_value(question, code) if kind == "rate" else score_value(question, code)
        table[code] = (np.nan if value is None else float(value), code in question.excluded)
    return table


@dataclass
class _RoundRows:
    """Per-response arrays of one round, read once and then extended with the
    responses that arrived since: stored responses never change."""

    round_key: tuple
    last_id: int = 0
    count: int = 0
    #: The round's ``flags_revision`` the flags and voids were read at.
    flags_revision: int = 0
    voided: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    unit_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: The interviewer who collected each response (0: none, a resident's own or paper).
    interviewer_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    screened_out: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    flags: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    dont_know: dict = field(default_factory=dict)
    gender: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    age_group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


_rows_cache: dict[int, _RoundRows] = {}
_rows_lock = threading.Lock()
_round_locks: dict[int, threading.Lock] = {}


def _read_new_rows(session: Session, round_: Round, specs, after_id: int) -> _RoundRows:
    """The round's responses with id > after_id, as arrays.

    The database takes each needed answer out of ``answer_data`` (SQLite
    ``json_extract``, PostgreSQL ``->>``), so Python sees one plain string per
    cell and maps it through a table: no per-response JSON parsing."""
    questionnaire = round_.questionnaire_version.parsed
    variable_of = {q.variable: q.id for q in questionnaire.questions if q.variable in ("gender", "age_group")}
    wanted = list(dict.fromkeys([q.id for _, q in specs] + list(variable_of.values())))
    # Core execution on the connection: ORM result processing would double the time.
    rows = session.connection().execute(
        select(Response.id, Response.status, cast(Response.quality_flags, Text), Response.unit_id,
               Response.voided_at.is_not(None), Response.interviewer_id,
               *(Response.answer_data[qid].as_string() for qid in wanted))
        .where(Response.round_id == round_.id, Response.id > after_id)
        .order_by(Response.id)
    ).all()
    n = len(rows)
    part = _RoundRows(round_key=(), last_id=rows[-1][0] if rows else after_id, count=n)
    if n == 0:
        part.values = {spec.key: np.zeros(0) for spec, _ in specs}
        part.dont_know = {spec.key: np.zeros(0, dtype=bool) for spec, _ in specs}
        return part
    transposed = list(zip(*rows))
    answers_of = dict(zip(wanted, transposed[6:]))
    part.voided = np.array(transposed[4], dtype=bool)
    part.interviewer_id = np.array([i or 0 for i in transposed[5]], dtype=np.int64)
    part.unit_id = np.array(transposed[3], dtype=np.int64)
    part.screened_out = np.array([status == STATUS_SCREENED_OUT for status in transposed[1]], dtype=bool)
    part.flags = [integrity.flags_from_text(f) for f in transposed[2]]
    missing = (np.nan, False)
    for spec, q in specs:
        table = _decoder(q, spec.kind)
        table[None] = missing
        column = answers_of[q.id]
        decoded = [table.get(v) for v in column]
        for i, found in enumerate(decoded):
            if found is None:  # a list (multiple choice) or an unforeseen form
                v = indicator_value(q, json.loads(column[i]))
                decoded[i] = (np.nan if v is None else float(v), False)
        part.values[spec.key] = np.array([v for v, _ in decoded], dtype=float)
        part.dont_know[spec.key] = np.array([u for _, u in decoded], dtype=bool)
    for name, target in (("gender", "gender"), ("age_group", "age_group")):
        qid = variable_of.get(name)
        values = answers_of[qid] if qid else [""] * n
        setattr(part, target, np.array([v or "" for v in values], dtype=object))
    return part


def _round_lock(round_id: int) -> threading.Lock:
    with _rows_lock:
        return _round_locks.setdefault(round_id, threading.Lock())


def _round_rows(session: Session, round_: Round, specs) -> _RoundRows:
    """The cached arrays of the round, brought up to date.

    One reader per round at a time: a request that arrives while another one
    (or the warm-up) reads the round waits for it, then reads only what came
    after, instead of reading the whole round a second time alongside."""
    round_key = (round_.id, round_.created_at, round_.questionnaire_version.checksum)
    with _round_lock(round_.id), collector_paused():
        with _rows_lock:
            cached = _rows_cache.get(round_.id)
        if cached is not None:
            # Rows are never deleted in use; a changed count (a wiped test database) means start over.
            seen = session.scalar(select(func.count(Response.id)).where(
                Response.round_id == round_.id, Response.id <= cached.last_id))
            if cached.round_key != round_key or seen != cached.count:
                cached = None
            elif cached.flags_revision != round_.flags_revision:
                cached = _with_current_flags(session, round_, cached)
        if cached is None:
            cached = _RoundRows(round_key=round_key, values={s.key: np.zeros(0) for s, _ in specs},
                                dont_know={s.key: np.zeros(0, dtype=bool) for s, _ in specs},
                                flags_revision=round_.flags_revision)
        part = _read_new_rows(session, round_, specs, cached.last_id)
        if part.count:
            cached = _RoundRows(
                round_key=round_key,
                last_id=part.last_id,
                count=cached.count + part.count,
                flags_revision=cached.flags_revision,
                voided=np.concatenate([cached.voided, part.voided]),
                unit_id=np.concatenate([cached.unit_id, part.unit_id]),
                interviewer_id=np.concatenate([cached.interviewer_id, part.interviewer_id]),
                screened_out=np.concatenate([cached.screened_out, part.screened_out]),
                flags=cached.flags + part.flags,
                values={k: np.concatenate([cached.values[k], part.values[k]]) for k in part.values},
                dont_know={k: np.concatenate([cached.dont_know[k], part.dont_know[k]]) for k in part.dont_know},
                gender=np.concatenate([cached.gender, part.gender]),
                age_group=np.concatenate([cached.age_group, part.age_group]),
            )
        with _rows_lock:
            _rows_cache[round_.id] = cached
        return cached


def _with_current_flags(session: Session, round_: Round, cached: _RoundRows) -> _RoundRows:
    """The cached arrays with flags and voids read again: scoring and review
    change them (and bump the round's ``flags_revision``); answers never change."""
    rows = session.connection().execute(
        select(cast(Response.quality_flags, Text), Response.voided_at.is_not(None))
        .where(Response.round_id == round_.id, Response.id <= cached.last_id).order_by(Response.id)
    ).all()
    return replace(cached, flags_revision=round_.flags_revision,
                   flags=[integrity.flags_from_text(f) for f, _ in rows],
                   voided=np.array([v for _, v in rows], dtype=bool))


def report_input(session: Session, round_: Round, options: ReportOptions) -> ReportInput:
    """A round's responses as the arrays ``analysis.report`` takes."""
    questionnaire = round_.questionnaire_version.parsed
    specs = indicator_specs(questionnaire, round_.effective_targets())
    rows = _round_rows(session, round_, specs)
    units = {u.id: u for u in session.scalars(select(Unit))}
    unit_ids = sorted(set(rows.unit_id.tolist()))
    code_of = {uid: units[uid].code for uid in unit_ids}
    street_of = {uid: units[uid].street.code for uid in unit_ids}
    exclusions: dict[str, int] = {STATUS_SCREENED_OUT: int(np.count_nonzero(rows.screened_out))}
    excluded = rows.screened_out.copy()
    if not options.include_voided:
        voided = rows.voided & ~excluded
        if voided.any():
            exclusions[vocabulary.VOIDED.code] = int(np.count_nonzero(voided))
            excluded |= voided
    interviewers = (excluded_interviewer_ids(session, round_) if options.excluded_interviewers is None
                    else options.excluded_interviewers)
    if interviewers:
        theirs = np.isin(rows.interviewer_id, np.array(interviewers, dtype=np.int64)) & ~excluded
        if theirs.any():
            exclusions[vocabulary.INTERVIEWER_EXCLUDED.code] = int(np.count_nonzero(theirs))
            excluded |= theirs
    # A response left out above is not counted again under a flag (flags may overlap each other).
    before_flags = excluded.copy()
    excluded_flags = round_.excluded_flags if options.excluded_flags is None else options.excluded_flags
    for flag in excluded_flags:
        flagged = np.array([flag in f for f in rows.flags], dtype=bool) & ~before_flags
        exclusions[flag] = int(np.count_nonzero(flagged))
        excluded |= flagged
    area_ids = {round_.unit_id, *(u.id for u in round_.unit.descendants())}
    return ReportInput(
        indicators=[spec for spec, _ in specs],
        values=rows.values,
        dont_know=rows.dont_know,
        unit=np.array([code_of[u] for u in rows.unit_id.tolist()], dtype=str),
        street=np.array([street_of[u] for u in rows.unit_id.tolist()], dtype=str),
        gender=rows.gender.astype(str),
        age_group=rows.age_group.astype(str),
        excluded=excluded,
        exclusions=exclusions,
        unit_names={u.code: u.name for u in units.values() if u.level == "community"},
        street_names={u.code: u.name for u in units.values() if u.level != "community"},
        population=_population(session, units, area_ids),
        level=options.level,
        ci_method=options.ci_method,
        min_cell=round_.min_weighting_cell,
        verdict_rule=VerdictRule(min_n=round_.min_verdict_respondents),
    )


def excluded_interviewer_ids(session: Session, round_: Round) -> tuple[int, ...]:
    """The interviewers of the round whose responses the office left out."""
    return tuple(session.scalars(select(Interviewer.id).where(
        Interviewer.round_id == round_.id, Interviewer.excluded_at.is_not(None)).order_by(Interviewer.id)))


def _population(session: Session, units: dict[int, Unit], area_ids: set[int]) -> list[tuple[dict, float]] | None:
    """Population cells by street x gender x age group (communities summed to their street)."""
    totals: dict[tuple[str, str, str], float] = {}
    for cell in session.scalars(select(PopulationCell).where(PopulationCell.unit_id.in_(area_ids))):
        unit = units[cell.unit_id]
        key = (unit.street.code, cell.gender, cell.age_group)
        totals[key] = totals.get(key, 0.0) + cell.population
    if not totals:
        return None
    return [({"street": s, "gender": g, "age_group": a}, count) for (s, g, a), count in sorted(totals.items())]


_cache: OrderedDict[tuple, Report] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 32


def _fingerprint(session: Session, round_: Round) -> tuple:
    """What the round's report depends on, cheap enough for every request.

    Population: a re-import deletes and inserts cells (new ids); figures
    changed in place shift the id-weighted sum even when the total stays.
    Units are renamed and moved in place, so their rows themselves are part
    of the key (a few hundred short rows). Excluding an interviewer bumps
    ``flags_revision``; the excluded ones are part of the key as well, so a
    change made without the bump still shows."""
    count, newest = session.execute(
        select(func.count(Response.id), func.max(Response.id)).where(Response.round_id == round_.id)
    ).one()
    population = session.execute(
        select(func.count(PopulationCell.id), func.sum(PopulationCell.population), func.max(PopulationCell.id),
               func.sum(PopulationCell.population * PopulationCell.id))
    ).one()
    units = hash(tuple(session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.parent_id, Unit.level).order_by(Unit.id)).all()))
    # created_at: SQLite may give a new round the id of a deleted one.
    return (round_.id, round_.created_at, count, newest, tuple(population), units,
            round_.questionnaire_version.checksum, json.dumps(round_.targets, sort_keys=True),
            json.dumps(sorted(round_.excluded_flags)),
            round_.min_verdict_respondents, round_.min_weighting_cell, round_.flags_revision,
            excluded_interviewer_ids(session, round_))


def round_report(session: Session, round_: Round,
                 options: ReportOptions = ReportOptions()) -> tuple[Report, ReportMeta]:
    """The round's report (and what it is about), computed or from the cache.

    :raises SetupError: the round to compare with is unknown or the round itself.
    """
    integrity.ensure_current(session, round_)
    earlier = None
    if options.compare_to is not None:
        earlier = session.get(Round, options.compare_to)
        if earlier is None or earlier.id == round_.id:
            raise SetupError("the round to compare with does not exist")
    key = (_fingerprint(session, round_), options,
           _fingerprint(session, earlier) if earlier is not None else None)
    with _cache_lock:
        report = _cache.get(key)
        if report is not None:
            _cache.move_to_end(key)
    if report is None:
        previous = None
        if earlier is not None:
            previous, _ = round_report(session, earlier, ReportOptions(options.ci_method, options.level))
        report = build_report(report_input(session, round_, options), previous, options.ranking_indicator)
        with _cache_lock:
            _cache[key] = report
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    meta = ReportMeta(
        round_name=round_.name,
        round_kind=round_.kind,
        area_name=round_.unit.name,
        generated_at=utcnow(),
        compared_round_name=earlier.name if earlier is not None else None,
        unit_levels={u.code: u.level for u in [round_.unit, *round_.unit.descendants()]},
    )
    return report, meta


def option_counts(questionnaire: Questionnaire, raw: ResponseTable) -> list[dict]:
    """How often each option of each choice question was chosen among the
    responses the results count (the export's ``counted`` column: complete,
    not voided, not left out for a flag or its interviewer), tallied from the
    raw export the workbook writes anyway, instead of a second pass over the database."""
    complete = [counted == "yes" for counted in raw.column("counted")]
    result = []
    for q in questionnaire.questions:
        if not q.options:
            continue
        counted: Counter[str] = Counter()
        for text, times in Counter(compress(raw.column(q.column), complete)).items():
            for code in q.kind.tally_codes(q, q.kind.parse_export_text(q, text)):
                counted[code] += times
        total = sum(counted[o.code] for o in q.options)
        for option in q.options:
            count = counted[option.code]
            result.append({
                "question_id": q.id, "question_text": q.text.zh, "option_code": option.code,
                "option_label": option.label.zh, "count": count, "share": count / total if total else 0.0,
            })
    return result
