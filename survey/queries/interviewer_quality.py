"""Interviewer quality of a round: each interviewer's figures and flags
(``analysis.interviewer_quality``), and what leaving their responses out
does to each overall rate (the round's report with and without them).

Read only; the exclusion itself is ``usecases.interviewer_exclusion``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.interviewer_quality import (
    InterviewerFacts,
    InterviewerQuality,
    QualityRules,
    assess_interviewers,
    too_few_words,
)
from questions import Question, indicator_value

from .. import vocabulary
from ..models import Interviewer, Response, Round
from .reporting import ReportOptions, excluded_interviewer_ids, round_report

RULES = QualityRules()


@dataclass(frozen=True)
class RateEffect:
    """One overall indicator with and without an interviewer's responses."""

    key: str
    name: str
    kind: str
    #: The rate (or index) counting the interviewer's responses, and without them.
    counted: float | None
    without: float | None

    @property
    def change(self) -> float | None:
        """What leaving the responses out changes: percentage points for a
        rate, index points for an index (None when either side has no value)."""
        if self.counted is None or self.without is None:
            return None
        return (self.without - self.counted) * (100 if self.kind == "rate" else 1)


@dataclass(frozen=True)
class InterviewerRow:
    interviewer: Interviewer
    #: All the responses they sent (screened-out ones too).
    responses: int
    #: Figures and flags of their complete responses (None: none yet).
    quality: InterviewerQuality | None
    effects: list[RateEffect]
    #: How many of their responses the results count when they are counted
    #: (screened out, voided and flagged ones left out as the round sets).
    used: int

    @property
    def note(self) -> str | None:
        """样本太少 in a sentence, when there are too few responses to judge."""
        if self.quality is None or not self.quality.too_few:
            return None
        return too_few_words(self.quality.count, RULES)


@dataclass(frozen=True)
class QualityPage:
    rows: list[InterviewerRow]
    rules: QualityRules
    #: Interviewers whose responses the results leave out now.
    excluded: tuple[int, ...]


def _value_table(question: Question) -> dict[str, tuple[int | None, bool]]:
    """Answer code -> (1 favourable / 0 not / None, is "don't know")."""
    return {code: (indicator_value(question, code), code in question.excluded) for code in question.codes}


def _decode(question: Question, table: dict, text: str) -> tuple[int | None, bool]:
    found = table.get(text)
    if found is not None:
        return found
    try:  # a list (multiple choice) comes as JSON text
        value = indicator_value(question, json.loads(text))
    except (TypeError, ValueError):
        return None, False
    return value, value is None


def interviewer_facts(session: Session, round_: Round) -> tuple[InterviewerFacts, Counter]:
    """The complete responses of the round's interviewers as the arrays the
    analysis takes, and every interviewer's count of all responses."""
    questionnaire = round_.questionnaire_version.parsed
    counted = questionnaire.counted_questions
    variable_of = {q.variable: q.id for q in questionnaire.questions if q.variable in ("gender", "age_group")}
    wanted = list(dict.fromkeys([q.id for q in counted] + list(variable_of.values())))
    rows = session.execute(
        select(Response.interviewer_id, Response.status, Response.started_at, Response.submitted_at,
               *(Response.answer_data[qid].as_string() for qid in wanted))
        .where(Response.round_id == round_.id, Response.interviewer_id.is_not(None))
        .order_by(Response.id)
    ).all()
    tables = [_value_table(q) for q in counted]
    position = {qid: i for i, qid in enumerate(wanted)}
    sent: Counter = Counter()
    columns: dict[str, list] = {name: [] for name in (
        "interviewer", "duration", "completed", "pattern", "answered", "dont_know", "favourable", "cell")}
    for interviewer_id, status, started, submitted, *answers in rows:
        sent[interviewer_id] += 1
        if status == vocabulary.STATUS_SCREENED_OUT:
            continue
        pattern, answered, dont_know, favourable = [], 0, 0, 0
        for q, table in zip(counted, tables, strict=True):
            text = answers[position[q.id]]
            pattern.append(text)
            if text is None:
                continue
            value, unknown = _decode(q, table, text)
            answered += 1
            dont_know += unknown
            favourable += value == 1
        gender, age = (answers[position[variable_of[v]]] if v in variable_of else None for v in ("gender", "age_group"))
        columns["interviewer"].append(interviewer_id)
        columns["duration"].append((submitted - started).total_seconds())
        columns["completed"].append(submitted.timestamp())
        columns["pattern"].append(tuple(pattern))
        columns["answered"].append(answered)
        columns["dont_know"].append(dont_know)
        columns["favourable"].append(favourable)
        columns["cell"].append(f"{gender}/{age}" if gender and age else None)
    return InterviewerFacts(**columns), sent


def _rates(session: Session, round_: Round, excluded: set[int]) -> tuple[dict[str, tuple[str, str, float | None]], int]:
    """The overall rows (key -> name, kind, value) and the responses used, with ``excluded`` left out."""
    report, _ = round_report(session, round_, ReportOptions(excluded_interviewers=tuple(sorted(excluded))))
    rates = {r.key: (r.name, r.kind, None if math.isnan(r.rate) else r.rate) for r in report.overall}
    return rates, report.methodology.n_used


def quality_page(session: Session, round_: Round) -> QualityPage:
    """Every interviewer of the round who sent responses, by number: figures,
    flags, and each overall rate counting their responses and without them
    (the other interviewers excluded as the office set)."""
    facts, sent = interviewer_facts(session, round_)
    quality = {q.interviewer: q for q in assess_interviewers(facts, RULES)}
    excluded = excluded_interviewer_ids(session, round_)
    interviewers = {i.id: i for i in session.scalars(
        select(Interviewer).where(Interviewer.round_id == round_.id, Interviewer.id.in_(list(sent))))}
    rows = []
    for interviewer_id in sorted(interviewers):
        others = set(excluded) - {interviewer_id}
        (counted, used), (without, used_without) = (_rates(session, round_, others),
                                                    _rates(session, round_, others | {interviewer_id}))
        effects = [RateEffect(key, name, kind, rate, without.get(key, (None, None, None))[2])
                   for key, (name, kind, rate) in counted.items()]
        rows.append(InterviewerRow(interviewers[interviewer_id], sent[interviewer_id],
                                   quality.get(interviewer_id), effects, used - used_without))
    return QualityPage(rows=rows, rules=RULES, excluded=excluded)

