"""Indicator columns from raw answers: Minyi's export, 问卷星 downloads, Excel tables.

``python -m analysis rates FILE --questionnaire Q.yaml`` reads a table of
answers as they were given (option codes, labels or numbers) and derives one
0/1 column per counted question with the questionnaire's own rules, the same
way the app's report does: an answer in ``counts_as_yes`` is 1, any other 0,
an excluded one (不了解, "don't know") blank, so it leaves the denominator.

Each row goes through ``questions.imports`` (which column answers which
question, and the option each cell means) and ``questions.evaluate_answers``
(skip logic, screening). Left out, and counted by reason:

- screened out: Minyi's ``status`` is ``screened_out``, or a screening
  question's answer ends the questionnaire;
- voided: Minyi's ``voided`` is ``yes``;
- not counted by the round: Minyi's ``counted`` is ``no`` for another reason
  (a quality flag or an interviewer the office left out), so the rates agree
  with the app's report of the round.

Derived columns: each indicator under its report key (the indicator key, or
``key.question_id`` for the second question counted towards one indicator),
``unit`` (the community question's answer: Minyi's unit code, or the
community as the file names it) and each demographic variable (``gender``,
``age_group``) as option codes, for ``--by``, ``--rake`` and
``--poststratify``. They replace file columns of the same name; the file's
other columns stay available (``unit_code``, ``channel_site``, a weight).

A value that fits no option, or an answer the questionnaire refuses, in a
row that counts is an error naming the row (a file answering another
questionnaire should not give rates silently); problems in questions that
feed no derived column (free text, "what needs improving") are ignored, and
so is a required question left blank.

Pure: imports ``questions`` and nothing of the web app.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from questions import Question, Questionnaire, evaluate_answers, indicator_value
from questions.imports import (
    NUMBER_SKIP_MARKERS,
    SKIP_MARKERS,
    SOURCE_MINYI,
    ColumnMatch,
    detect_source,
    match_columns,
    row_answers,
)

__all__ = [
    "UNIT_COLUMN",
    "DerivedTable",
    "RawAnswersError",
    "RawIndicator",
    "derive_indicators",
    "raw_indicators",
]

#: Name of the derived column holding each row's community.
UNIT_COLUMN = "unit"

#: Minyi's export: ``status`` of a screened-out response (``survey.vocabulary.STATUS_SCREENED_OUT``).
STATUS_SCREENED_OUT = "screened_out"
_YES = frozenset({"yes", "true", "1", "是"})
_NO = frozenset({"no", "false", "0", "否"})

#: What stops evaluation but is no error here: a question the file leaves
#: blank (or has no column for) is not answered.
_NOT_AN_ERROR = frozenset({"required"})


class RawAnswersError(ValueError):
    """A row's answers do not fit the questionnaire; the message names the row."""


@dataclass(frozen=True)
class RawIndicator:
    """One rate: a counted question under the key the app's report gives it."""

    key: str
    question: Question
    name: str  # the indicator's Chinese name
    target: float | None


def raw_indicators(questionnaire: Questionnaire) -> list[RawIndicator]:
    """The questionnaire's rates, keyed as ``survey.queries.reporting.indicator_specs`` keys them."""
    out: list[RawIndicator] = []
    seen: set[str] = set()
    for q in questionnaire.counted_questions:
        key = q.indicator if q.indicator not in seen else f"{q.indicator}.{q.id}"
        seen.add(key)
        indicator = questionnaire.indicators[q.indicator]
        out.append(RawIndicator(key, q, indicator.name.zh, indicator.target))
    return out


@dataclass
class DerivedTable:
    """The rows that count, as text columns.

    ``columns`` holds the file's columns (those with a name of their own) and
    the derived ones; ``rows`` the spreadsheet row number of each row kept.
    ``indicators`` are the rates some column of the file answers, ``missing``
    those none does.
    """

    source: str
    header: list[str]
    columns: dict[str, list[str]]
    rows: list[int]
    indicators: list[RawIndicator]
    missing: list[RawIndicator]
    read: int = 0
    screened_out: int = 0
    voided: int = 0
    not_counted: int = 0
    derived: list[str] = field(default_factory=list)

    def left_out(self) -> str:
        """What was left out, for the output's footer (empty when nothing was)."""
        parts = []
        if self.screened_out:
            parts.append(f"{self.screened_out} screened out")
        if self.voided:
            parts.append(f"{self.voided} voided")
        if self.not_counted:
            parts.append(f"{self.not_counted} not counted by the round (quality flag or interviewer)")
        return ", ".join(parts)


def _flag(header_index: dict[str, int], row: Sequence[str], name: str) -> str:
    index = header_index.get(name)
    if index is None or index >= len(row):
        return ""
    return str(row[index]).strip().lower()


def _variable_questions(questionnaire: Questionnaire) -> dict[str, Question]:
    """Derived column name -> question: the community as ``unit``, then each demographic variable."""
    out: dict[str, Question] = {}
    for q in questionnaire.questions:
        if q.kind.answers_unit:
            out.setdefault(UNIT_COLUMN, q)
    for q in questionnaire.questions:
        if q.variable and not q.kind.answers_unit and not q.kind.multiple:
            out.setdefault(q.variable, q)
    return out


def _unit_cell(match: ColumnMatch, question: Question, row: Sequence[str]) -> str:
    """The community as the file writes it, for sources ``row_answers`` leaves it to the caller."""
    index = match.columns.get(question.id)
    if index is None or index >= len(row):
        return ""
    text = str(row[index]).strip()
    plain = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return "" if plain in SKIP_MARKERS or plain in NUMBER_SKIP_MARKERS else text


def derive_indicators(
    questionnaire: Questionnaire,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    row_number: Callable[[int], int] = lambda i: i + 2,
) -> DerivedTable:
    """Indicator, unit and variable columns for the rows of a table that count.

    :raises RawAnswersError: no column answers any counted question, or a
        value in a row that counts fits no option (the first such, by row).
    """
    header = [str(h).strip() for h in header]
    source = detect_source(header)
    match = match_columns(questionnaire, header)
    every = raw_indicators(questionnaire)
    if not every:
        raise RawAnswersError(f"questionnaire {questionnaire.code!r} counts no question towards an indicator")
    answered = [ind for ind in every if match.columns_of(ind.question.id)]
    missing = [ind for ind in every if not match.columns_of(ind.question.id)]
    if not answered:
        raise RawAnswersError(
            f"no column answers a counted question of questionnaire {questionnaire.code!r} "
            f"(e.g. {every[0].question.id}: {every[0].question.text.zh}); is it the questionnaire of this file?"
        )
    variables = _variable_questions(questionnaire)
    unit_question = variables.get(UNIT_COLUMN)
    # Problems matter where a derived column or the screening reads the answer.
    relevant = {ind.question.id for ind in every} | {q.id for q in variables.values()}
    relevant |= {q.id for q in questionnaire.questions if q.screening is not None}
    where = {name: i for i, name in enumerate(header)}

    # First pass: raw answers of every row, and the communities the file names.
    read: list[tuple[int, dict[str, list[str]], list, Sequence[str]]] = []
    communities: dict[str, str] = {}
    for index, row in enumerate(rows):
        if not any(str(c).strip() for c in row):
            continue  # a blank row inside the table
        raw, problems = row_answers(questionnaire, match, row)
        if unit_question is not None and source != SOURCE_MINYI and unit_question.id not in raw:
            cell = _unit_cell(match, unit_question, row)
            if cell:
                raw[unit_question.id] = [cell]
        if unit_question is not None:
            for value in raw.get(unit_question.id, ()):
                communities.setdefault(value, value)
        read.append((index, raw, problems, row))

    variable_names = [n for n in variables if n not in {ind.key for ind in answered}]
    names = [ind.key for ind in answered] + variable_names
    derived: dict[str, list[str]] = {n: [] for n in names}
    coded: dict[str, dict[str, str]] = {ind.key: {} for ind in answered}  # answer code -> "1", "0" or ""
    kept_rows: list[int] = []
    kept_index: list[int] = []
    table = DerivedTable(source, [], {}, kept_rows, answered, missing, read=len(read), derived=names)
    for index, raw, problems, row in read:
        result = evaluate_answers(questionnaire, raw, community_options=communities)
        if _flag(where, row, "status") == STATUS_SCREENED_OUT or result.screened_out:
            table.screened_out += 1
            continue
        if _flag(where, row, "voided") in _YES:
            table.voided += 1
            continue
        if _flag(where, row, "counted") in _NO:
            table.not_counted += 1
            continue
        number = row_number(index)
        for problem in problems:
            if match.question_of(problem.column) in relevant:
                raise RawAnswersError(f"row {number}: {problem.message}")
        for qid, error in result.errors.items():
            if qid in relevant and error.code not in _NOT_AN_ERROR:
                columns = match.columns_of(qid)
                shown = ", ".join(f"{header[c]!r} = {str(row[c]).strip()!r}" for c in columns if c < len(row))
                raise RawAnswersError(
                    f"row {number}: {shown or qid}: not an answer to question {qid} "
                    f"({questionnaire.question(qid).text.zh}): {error.code}"
                    + (f" {error.params}" if error.params else "")
                )
        answers = result.answers
        for ind in answered:
            value = answers.get(ind.question.id)
            memo = coded[ind.key]
            text = memo.get(value) if isinstance(value, str) else None
            if text is None:  # first time this code, a list (multiple choice) or no answer
                found = indicator_value(ind.question, value)
                text = "" if found is None else str(found)
                if isinstance(value, str):
                    memo[value] = text
            derived[ind.key].append(text)
        for name in variable_names:
            value = answers.get(variables[name].id)
            derived[name].append("" if value is None else str(value))
        kept_rows.append(number)
        kept_index.append(index)

    # The file's own columns (each name once), then the derived ones over them.
    counts: dict[str, int] = {}
    for name in header:
        counts[name] = counts.get(name, 0) + 1
    kept = [rows[i] for i in kept_index]
    for position, name in enumerate(header):
        if name and counts[name] == 1 and name not in derived:
            table.columns[name] = [str(r[position]).strip() if position < len(r) else "" for r in kept]
            table.header.append(name)
    for name in names:
        table.columns[name] = derived[name]
        table.header.append(name)
    return table

