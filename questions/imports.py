"""Answers from spreadsheets made elsewhere: 问卷星 downloads, Minyi's own
export and plain tables, as raw answers for ``evaluate_answers``.

Pure: the table arrives as a header and rows of strings (``analysis.tabular``
reads files into that); nothing here touches a database.

Three steps, each usable on its own::

    source = detect_source(table.header)                       # "wjx", "minyi" or "table"
    match = match_columns(questionnaire, table.header, saved)  # which column answers which question
    for row in table.rows:
        meta = meta_of(source, table.header, row)              # row id, submission time, duration
        raw, problems = row_answers(questionnaire, match, row)
        raw[unit_question.id] = [unit_code]                    # the caller places the response
        result = evaluate_answers(questionnaire, raw, community_options)

问卷星 layout (as its "下载答卷数据" gives it)
----------------------------------------------
Leading columns 序号, 提交答卷时间 (``2026/5/12 10:31:05``), 所用时间
(``123秒``, ``2分3秒``), 来源, 来源详情, 来自IP, in varying order; then one
column per question headed ``N、question text`` (also ``N：``, ``N.``).
"按选项文本" cells hold option labels, several joined with ``┋``; "按选项序号"
cells hold 1-based option numbers, and a multiple-choice question is either
joined with ``┋`` or split into one 0/1 column per option headed
``第N题(option)`` or ``N(option)``. A matrix question gives one column per
row, headed ``第N题(row)`` or ``N(row)``; each row answers one Minyi question.
Skipped questions read ``跳过``, ``(跳过)``, ``(空)``, empty, or ``-2`` / ``-3``
in the number form. An option with a text box reads ``其他〖what was typed〗``.

Minyi's export
--------------
The fixed columns of ``survey.queries.export`` (``response_id`` ...
``counted``), then one column per question named ``Question.column``,
holding what ``export_value`` wrote (codes, ``;``-joined codes, numbers,
neutralised text), read back with each type's ``parse_export_text``.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from ._cells import number_text
from .schema import Question, Questionnaire

__all__ = [
    "MINYI_FIXED_COLUMNS",
    "SOURCE_MINYI",
    "SOURCE_TABLE",
    "SOURCE_WJX",
    "WJX_META_COLUMNS",
    "CellProblem",
    "ColumnMatch",
    "RowMeta",
    "detect_source",
    "match_columns",
    "meta_of",
    "parse_duration",
    "parse_timestamp",
    "row_answers",
]

SOURCE_MINYI = "minyi"
SOURCE_WJX = "wjx"
SOURCE_TABLE = "table"

#: The fixed leading columns of Minyi's response export, in order (the same
#: list as ``survey.queries.export.FIXED_COLUMNS``; a test keeps them equal).
MINYI_FIXED_COLUMNS = (
    "response_id", "unit_code", "unit_name", "channel_id", "channel_site",
    "started_at", "submitted_at", "duration_seconds", "status", "screened_out_by", "quality_flags",
    "voided", "mode", "interviewer", "counted", "imported_from",
)

#: 问卷星's own columns (not answers). 总分 appears in scored questionnaires (考试).
WJX_META_COLUMNS = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "总分")

#: What 问卷星 writes for a question the respondent did not answer or never saw,
#: after NFKC (so the full-width "（跳过）" is covered too).
SKIP_MARKERS = frozenset({"", "跳过", "(跳过)", "(空)", "空"})
#: ... and in the number form (按选项序号): -2 not shown (跳题), -3 skipped.
NUMBER_SKIP_MARKERS = frozenset({"-2", "-3"})

#: The separator 问卷星 joins several chosen options with.
WJX_SEPARATOR = "┋"
#: The sheet number column of Minyi's paper-entry template (its row id).
SHEET_NUMBER = "问卷编号"
NUMBER_LIST = re.compile(r"\d+(?:[\s,，、;；]+\d+)+")


@dataclass(frozen=True)
class RowMeta:
    """What a source says about one response besides its answers.

    ``submitted_at`` is naive, as written in the file: 问卷星 writes Beijing
    time, Minyi's export UTC (its ``+00:00`` is applied and dropped); the
    caller attaches the zone. ``unit_text`` is Minyi's ``unit_code``; None
    for other sources, whose community the caller chooses.
    """

    row_id: str | None = None
    submitted_at: datetime | None = None
    duration_seconds: float | None = None
    unit_text: str | None = None


@dataclass(frozen=True)
class CellProblem:
    """A cell that answers no question properly; ``column`` is 0-based, ``message`` in Chinese."""

    column: int
    header: str
    value: str
    message: str


@dataclass
class ColumnMatch:
    """Which columns of a table answer which questions.

    Parameters
    ----------
    source : str
        ``"minyi"``, ``"wjx"`` or ``"table"`` (see ``detect_source``).
    header : list of str
        The table's header, as matched.
    columns : dict of str to int
        Question id -> the (0-based) column holding its answer: an option
        label or number, several joined with ``┋`` (``;`` in Minyi's export),
        a number or text.
    option_columns : dict of str to dict of str to int
        Multiple-choice question id -> option code -> its 0/1 column (问卷星's
        split form). A question is in ``columns`` or here, never both.
    unmatched_columns : list of int
        Columns that are neither the source's own (``meta_columns``), nor
        assigned, nor ignored: to show the user for mapping.
    unmatched_questions : list of str
        Question ids no column answers, in questionnaire order.
    meta_columns : list of int
        The source's own columns (序号, 提交答卷时间 ...; ``response_id`` ...).
    ignored_columns : list of int
        Columns the saved mapping says to ignore (mapped to ``""``).
    """

    source: str
    header: list[str]
    columns: dict[str, int] = field(default_factory=dict)
    option_columns: dict[str, dict[str, int]] = field(default_factory=dict)
    unmatched_columns: list[int] = field(default_factory=list)
    unmatched_questions: list[str] = field(default_factory=list)
    meta_columns: list[int] = field(default_factory=list)
    ignored_columns: list[int] = field(default_factory=list)
    _options: dict[str, _Options] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _options_of(self, question: Question) -> _Options:
        found = self._options.get(question.id)
        if found is None or found.question is not question:
            found = self._options[question.id] = _Options(question)
        return found

    def columns_of(self, question_id: str) -> list[int]:
        """The columns answering a question (one, several split columns, or none)."""
        if question_id in self.columns:
            return [self.columns[question_id]]
        return sorted(self.option_columns.get(question_id, {}).values())

    def question_of(self, column: int) -> str | None:
        """The question id a column answers, None if it answers none."""
        for qid, index in self.columns.items():
            if index == column:
                return qid
        for qid, options in self.option_columns.items():
            if column in options.values():
                return qid
        return None

    def mapping(self) -> dict[str, str]:
        """This match as a ``saved`` mapping for ``match_columns``: header text ->
        question id (``"qid:code"`` for a split option column), ``""`` for an
        ignored column. Save it (after the user's corrections) and the next file
        with the same headers matches itself."""
        out: dict[str, str] = {self.header[i]: "" for i in self.ignored_columns}
        for qid, index in self.columns.items():
            out[self.header[index]] = qid
        for qid, options in self.option_columns.items():
            for code, index in options.items():
                out[self.header[index]] = f"{qid}:{code}"
        return out


# -- text normalisation --------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)  # cells repeat a lot: a few labels per column
def _exact(text: str) -> str:
    """Text compared "exactly": NFKC (full-width letters, digits and brackets to
    half-width), no whitespace, case folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _loose(text: str) -> str:
    """Text compared loosely: as ``_exact`` without punctuation and symbols
    (``18—29岁`` = ``18-29岁`` = ``18~29岁``, ``是否满意？`` = ``是否满意``), and 其它 = 其他."""
    return "".join(ch for ch in _exact(text) if unicodedata.category(ch)[0] in "LNM").replace("其它", "其他")


_FILL_IN = re.compile(r"〖.*?〗", re.S)


def _strip_fill_in(text: str) -> str:
    """``其他〖扫雪〗`` -> ``其他``: what 问卷星 appends for an option's text box."""
    return _FILL_IN.sub("", text).strip()


def _is_skip(cell: str, numbers: bool) -> bool:
    value = _exact(cell)
    return value in SKIP_MARKERS or (numbers and value in NUMBER_SKIP_MARKERS)


# -- headers -------------------------------------------------------------------------

# "第12题(环境卫生)", "12(环境卫生)": a matrix row or a split option column.
_SUB_HEADER = re.compile(r"^(?:第\s*(\d{1,3})\s*题|(\d{1,3}))\s*[(（](.*)[)）]\s*$", re.S)
# "12、text", "12：text", "12.text", "第12题 text", "Q12. text", "Q12 text".
_NUMBERED = re.compile(
    r"^(?:第\s*(\d{1,3})\s*题\s*[、:：.．]?|[Qq]\s*(\d{1,3})\s*[、:：.．]?|(\d{1,3})\s*[、:：.．])\s*(.*)$", re.S
)
# "[单选题]", "[矩阵量表题]" ... that some exports append to the question text.
_TYPE_TAG = re.compile(r"\s*[\[【][^\]】]{0,12}题[\]】]\s*$")


@dataclass(frozen=True)
class _Header:
    index: int
    text: str  # as in the file
    number: int | None  # 问卷星's question number, if the header carries one
    body: str  # the question text, or the part in brackets of a split/matrix header
    sub: bool  # "N(x)": a matrix row or a split option column


def _parse_header(index: int, text: str) -> _Header:
    found = _SUB_HEADER.match(text)
    if found:
        number = int(found.group(1) or found.group(2))
        return _Header(index, text, number, found.group(3).strip(), True)
    found = _NUMBERED.match(text)
    if found and found.group(4).strip():
        number = int(found.group(1) or found.group(2) or found.group(3))
        return _Header(index, text, number, _TYPE_TAG.sub("", found.group(4)).strip().rstrip("*").strip(), False)
    return _Header(index, text, None, _TYPE_TAG.sub("", text).strip().rstrip("*").strip(), False)


def detect_source(header: Sequence[str]) -> str:
    """Where a table comes from: ``"minyi"`` (Minyi's export: ``response_id`` and
    ``submitted_at``), ``"wjx"`` (问卷星: 序号 or 提交答卷时间, or ``N、`` question
    headers) or ``"table"`` (anything else)."""
    names = {str(h).strip() for h in header}
    if {"response_id", "submitted_at"} <= names:
        return SOURCE_MINYI
    if "序号" in names or "提交答卷时间" in names or any(re.match(r"^\d{1,3}、", n) for n in names):
        return SOURCE_WJX
    return SOURCE_TABLE


def _meta_names(source: str) -> frozenset[str]:
    if source == SOURCE_MINYI:
        return frozenset(MINYI_FIXED_COLUMNS)
    if source == SOURCE_WJX:
        return frozenset(WJX_META_COLUMNS)
    return frozenset(WJX_META_COLUMNS) | frozenset(MINYI_FIXED_COLUMNS) | {SHEET_NUMBER}


# -- options -------------------------------------------------------------------------


class _Options:
    """Finds the option a piece of cell text means: its label (Chinese or English)
    or code, exactly or loosely, its 1-based number, or ``其他（请注明）`` for 其他."""

    def __init__(self, question: Question):
        self.question = question
        self.codes = question.codes
        kind = question.kind
        self.unit = kind.answers_unit
        self.multiple = kind.multiple
        self.choice = bool(question.options) and not kind.answers_unit
        self.exact: dict[str, str] = {}
        loose: dict[str, set[str]] = {}
        # Chinese labels first, then codes, then English labels: "satisfied" is the
        # code of 比较满意 though 满意 is "Satisfied" in English.
        for pick in (lambda c: c.label.zh, lambda c: c.code, lambda c: c.label.en):
            for choice in question.options:
                text = pick(choice)
                if text:
                    self.exact.setdefault(_exact(text), choice.code)
                    if _loose(text):
                        loose.setdefault(_loose(text), set()).add(choice.code)
        self.loose = {key: next(iter(codes)) for key, codes in loose.items() if len(codes) == 1}
        others = [c for c in question.options if "其他" in c.label.zh or "其它" in c.label.zh]
        self.other = (others[0].code, _loose(others[0].label.zh)) if len(others) == 1 else None
        self._memo: dict[tuple[str, bool], str | None] = {}

    def code_of(self, text: str, numbers: bool = True) -> str | None:
        key = (text, numbers)
        if key not in self._memo:
            if len(self._memo) > 10_000:  # free text in a choice column: do not grow without end
                self._memo.clear()
            self._memo[key] = self._code_of(text, numbers)
        return self._memo[key]

    def _code_of(self, text: str, numbers: bool) -> str | None:
        text = _strip_fill_in(text)
        exact = _exact(text)
        if exact in self.exact:
            return self.exact[exact]
        if numbers and re.fullmatch(r"\d{1,3}(\.0+)?", exact):
            number = int(float(exact))
            if 1 <= number <= len(self.codes):
                return self.codes[number - 1]
        loose = _loose(text)
        if loose in self.loose:
            return self.loose[loose]
        if self.other is not None and self.other[1] and loose.startswith(self.other[1]):
            return self.other[0]  # "其他（请注明）", "其它_____"
        return None

    def choices_text(self, numbered: bool) -> str:
        labels = [c.label.zh for c in self.question.options]
        if numbered:
            return "、".join(f"{n}={label}" for n, label in enumerate(labels, start=1))
        return "、".join(labels)


def _is_choice(question: Question) -> bool:
    return bool(question.options) and not question.kind.answers_unit


# -- matching ------------------------------------------------------------------------

#: Loose question texts at least this similar (difflib ratio) match when nothing matches exactly.
FUZZY_THRESHOLD = 0.85


def match_columns(
    questionnaire: Questionnaire,
    header: Sequence[str],
    saved: Mapping[str, str] | None = None,
) -> ColumnMatch:
    """Which column answers which question.

    Minyi's export matches by column name (``Question.column``, or the id).
    Other tables match by question text, numbering (``12、``, ``第12题``,
    ``Q12.``), punctuation, whitespace and full-width forms ignored, then
    by close similarity; ``N(x)`` / ``第N题(x)`` columns match ``x`` to the
    option labels of a multiple-choice question (split 0/1 columns) or, as
    matrix rows, to a question's text or its indicator's name.

    ``saved`` maps a header text (exactly as in the file) to a question id,
    ``"qid:code"`` for one option's 0/1 column, or ``""`` to ignore the
    column; it overrides the automatic match (see ``ColumnMatch.mapping``).
    Entries naming a question the questionnaire lacks are left out.
    """
    header = [str(h).strip() for h in header]
    source = detect_source(header)
    match = ColumnMatch(source=source, header=header)
    by_id = {q.id: q for q in questionnaire.questions}
    decided: set[int] = set()

    def assigned(qid: str) -> bool:
        return qid in match.columns or qid in match.option_columns

    def assign_column(qid: str, index: int) -> None:
        match.columns[qid] = index
        decided.add(index)

    def assign_option(qid: str, code: str, index: int) -> None:
        match.option_columns.setdefault(qid, {})[code] = index
        decided.add(index)

    parsed = [_parse_header(i, text) for i, text in enumerate(header)]

    # 1. The user's saved mapping (headers compared stripped, as tables give them).
    saved = {str(k).strip(): v for k, v in (saved or {}).items()}
    for head in parsed:
        if head.text not in saved:
            continue
        target = str(saved[head.text] or "").strip()
        if not target:
            match.ignored_columns.append(head.index)
            decided.add(head.index)
            continue
        qid, _, code = target.partition(":")
        question = by_id.get(qid)
        if question is None:
            continue
        if question.kind.multiple and qid not in match.columns:
            if not code and head.sub:
                code = match._options_of(question).code_of(head.body, numbers=False) or ""
            if code in question.codes and code not in match.option_columns.get(qid, {}):
                assign_option(qid, code, head.index)
                continue
        if not code and not assigned(qid):
            assign_column(qid, head.index)

    # 2. The source's own columns.
    meta = _meta_names(source)
    match.meta_columns = [h.index for h in parsed if h.text in meta and h.index not in decided]
    decided.update(match.meta_columns)

    free = [h for h in parsed if h.index not in decided and h.text]
    # 3. Column names: Minyi's export, or a table keyed like it.
    for head in free:
        for question in questionnaire.questions:
            if not assigned(question.id) and head.text in (question.column, question.id):
                assign_column(question.id, head.index)
                break
    if source == SOURCE_MINYI:
        unit = next((q for q in questionnaire.questions if q.kind.answers_unit), None)
        if unit is not None and not assigned(unit.id) and "unit_code" in header:
            # An export without the question's column still says where each response counts.
            match.columns[unit.id] = header.index("unit_code")
    else:
        _match_by_text(questionnaire, [h for h in free if h.index not in decided], match, decided)

    match.unmatched_columns = [i for i in range(len(header)) if i not in decided]
    match.unmatched_questions = [q.id for q in questionnaire.questions if not assigned(q.id)]
    return match


def _question_keys(questionnaire: Questionnaire, question: Question) -> list[str]:
    keys = [_loose(question.text.zh)]
    if question.text.en:
        keys.append(_loose(question.text.en))
    return [k for k in keys if k]


def _match_by_text(questionnaire: Questionnaire, free: list[_Header], match: ColumnMatch, decided: set[int]) -> None:
    questions = questionnaire.questions

    def assigned(qid: str) -> bool:
        return qid in match.columns or qid in match.option_columns

    keys = {q.id: _question_keys(questionnaire, q) for q in questions}

    # Whole questions, by their text exactly (loosely normalised).
    for head in (h for h in free if not h.sub):
        body = _loose(head.body)
        if not body:
            continue
        found = [q for q in questions if not assigned(q.id) and body in keys[q.id]]
        if len(found) == 1:
            match.columns[found[0].id] = head.index
            decided.add(head.index)

    # Split option columns and matrix rows, one 问卷星 question number at a time. Their
    # texts can be read both ways (a matrix row 环境卫生, an option 环境卫生 of "what
    # needs improving"), so a group whose every column names an option of one
    # multiple-choice question goes first; then each group is read the way that
    # matches more of its columns.
    groups: dict[int, list[_Header]] = {}
    for head in free:
        if head.sub and head.index not in decided:
            groups.setdefault(head.number or 0, []).append(head)
    for group in groups.values():
        split = _split_candidates(questions, group, match)
        if split is not None and len(split[1]) == len(group):
            _assign_split(split, match, decided)
    for group in groups.values():
        group = [head for head in group if head.index not in decided]
        if not group:
            continue
        split = _split_candidates(questions, group, match)
        rows = _matrix_candidates(questionnaire, group, match)
        if split is not None and len(split[1]) > len(rows):
            _assign_split(split, match, decided)
        elif rows and (split is None or len(rows) > len(split[1])):
            for index, qid in rows.items():
                match.columns[qid] = index
                decided.add(index)

    # Whatever is left: close enough texts, the closest pairs first.
    pairs: list[tuple[float, int, int, str]] = []
    for head in free:
        body = _loose(head.body)
        if head.index in decided or head.sub or len(body) < 4:
            continue
        for order, question in enumerate(questions):
            if assigned(question.id):
                continue
            score = max((difflib.SequenceMatcher(None, body, key).ratio() for key in keys[question.id]), default=0)
            if score >= FUZZY_THRESHOLD:
                pairs.append((-score, head.index, order, question.id))
    for _, index, _, qid in sorted(pairs):
        if index not in decided and not assigned(qid):
            match.columns[qid] = index
            decided.add(index)


def _split_candidates(questions: Sequence[Question], group: list[_Header],
                      match: ColumnMatch) -> tuple[str, dict[str, int]] | None:
    """The multiple-choice question whose options the ``N(option)`` columns of
    ``group`` name, and which column is which option: every column, or, for a
    question with options 问卷星 lacks or adds, most of them (at least two).
    None if no question (or more than one equally) fits."""
    best: list[tuple[int, str, dict[str, int]]] = []
    for question in questions:
        if not question.kind.multiple or question.id in match.columns or question.id in match.option_columns:
            continue
        options = match._options_of(question)
        found: dict[str, int] = {}
        for head in group:
            code = options.code_of(head.body, numbers=False)
            if code is not None and code not in found:
                found[code] = head.index
        if found:
            best.append((len(found), question.id, found))
    if not best:
        return None
    best.sort(key=lambda item: -item[0])
    count, qid, found = best[0]
    runner_up = best[1][0] if len(best) > 1 else 0
    enough = count == len(group) or (count >= 2 and count * 2 > len(group))
    if not enough or count == runner_up:
        return None
    return qid, found


def _row_fits(tier: int, row: str, question: Question, questionnaire: Questionnaire, names: list[str]) -> bool:
    """Whether a matrix row's (loose) text names ``question``: 0 its text, 1 inside
    its text or indicator name, 2 close to one of them."""
    if tier == 0:
        return row in _question_keys(questionnaire, question)
    if tier == 1:
        return len(row) >= 2 and any(row in name for name in names)
    return any(difflib.SequenceMatcher(None, row, name).ratio() >= FUZZY_THRESHOLD for name in names)


def _assign_split(split: tuple[str, dict[str, int]], match: ColumnMatch, decided: set[int]) -> None:
    qid, found = split
    match.option_columns[qid] = found
    decided.update(found.values())


def _matrix_candidates(questionnaire: Questionnaire, group: list[_Header], match: ColumnMatch) -> dict[int, str]:
    """``N(row)`` columns that each name one single-answer question (column ->
    question id): by its text, else the one question whose text or indicator
    name contains the row's text (a matrix row 环境卫生 and 环境卫生满意率), else
    by close similarity. Rows naming no question, or several, are left out."""
    candidates = [q for q in questionnaire.questions if _is_choice(q) and not q.kind.multiple]
    taken: set[str] = set()

    def free(q: Question) -> bool:
        return q.id not in match.columns and q.id not in match.option_columns and q.id not in taken

    def names(q: Question) -> list[str]:
        out = _question_keys(questionnaire, q)
        if q.indicator and q.indicator in questionnaire.indicators:
            name = questionnaire.indicators[q.indicator].name
            out += [_loose(name.zh)] + ([_loose(name.en)] if name.en else [])
        return [n for n in out if n]

    rows: dict[int, str] = {}
    for head in group:
        row = _loose(head.body)
        if not row:
            continue
        for tier in range(3):
            found = [q for q in candidates if free(q) and _row_fits(tier, row, q, questionnaire, names(q))]
            if len(found) == 1:
                rows[head.index] = found[0].id
                taken.add(found[0].id)
            if found:
                break  # one found, or several: then the user maps it
    return rows


# -- rows ----------------------------------------------------------------------------


def _cell(row: Sequence[str], index: int) -> str:
    if index < 0 or index >= len(row):
        return ""
    value = row[index]
    return "" if value is None else str(value).strip()


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(match: ColumnMatch, index: int, value: str) -> str:
    header = match.header[index] if index < len(match.header) else ""
    return f"第 {index + 1} 列「{_short(header)}」的值「{_short(value)}」"


def row_answers(
    questionnaire: Questionnaire,
    match: ColumnMatch,
    row: Sequence[str],
) -> tuple[dict[str, list[str]], list[CellProblem]]:
    """Raw answers of one row, ready for ``evaluate_answers``, and the cells that
    fit no option.

    Choice answers become option codes (a list for multiple choice), from
    labels (whitespace and full-width forms ignored; ``其他〖…〗`` is 其他), from
    1-based option numbers, from codes, from Minyi's export text, or from
    split 0/1 columns; numbers and text are passed on as written (their
    checks are ``evaluate_answers``'s). Skipped markers give no answer, and
    so does a cell with a problem (the problem says which).

    The community question is filled only from Minyi's export (its own
    column, else ``unit_code``): for other sources the caller supplies it.
    """
    raw: dict[str, list[str]] = {}
    problems: list[CellProblem] = []
    minyi = match.source == SOURCE_MINYI

    def problem(index: int, value: str, text: str) -> None:
        header = match.header[index] if index < len(match.header) else ""
        problems.append(CellProblem(index, header, value, _where(match, index, value) + text))

    for question in questionnaire.questions:
        options = match._options_of(question)
        if question.id in match.option_columns:
            codes = _split_answer(question, options, match.option_columns[question.id], row, problem)
            if codes:
                raw[question.id] = codes
            continue
        index = match.columns.get(question.id)
        if index is None:
            continue
        cell = _cell(row, index)
        if options.unit:
            if minyi:
                if not cell and "unit_code" in match.header:
                    cell = _cell(row, match.header.index("unit_code"))
                if cell:
                    raw[question.id] = [cell]
            continue
        if minyi:
            # Minyi writes a blank cell for no answer, and nothing else means skipped.
            value = _export_value(question, cell) if cell else None
            if value is None:
                continue
            if not options.choice:
                raw[question.id] = value
                continue
            pieces = value
        else:
            if _is_skip(cell, numbers=options.choice or match.source == SOURCE_WJX):
                continue
            if not options.choice:
                raw[question.id] = [cell]
                continue
            pieces = _pieces(_strip_fill_in(cell), match.source)
        codes = _choice_codes(options, pieces, index, cell, problem)
        if codes:
            raw[question.id] = codes
    return raw, problems


def _export_value(question: Question, cell: str) -> list[str] | None:
    """Minyi's export cell as raw input: codes, or the number or text as a string."""
    try:
        value = question.kind.parse_export_text(question, cell)
    except ValueError:
        return [cell]  # not what the exporter writes: evaluate_answers says why
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [number_text(value)]
    return [str(value)]


def _pieces(cell: str, source: str) -> list[str]:
    if WJX_SEPARATOR in cell:
        parts = cell.split(WJX_SEPARATOR)
    elif source == SOURCE_TABLE and NUMBER_LIST.fullmatch(cell.strip()):
        parts = re.split(r"[\s,，、;；]+", cell.strip())  # "1 3" or "1、3": option numbers typed in a sheet
    elif source == SOURCE_TABLE:
        parts = re.split(r"[;；]", cell)
    else:
        parts = [cell]
    return [p.strip() for p in parts if p.strip()]


def _choice_codes(options: _Options, pieces: list[str], index: int, cell: str, problem) -> list[str]:
    if not options.multiple and len(pieces) > 1:
        problem(index, cell, "选了多项，本题只能选一项")
        return []
    codes: list[str] = []
    for piece in pieces:
        code = options.code_of(piece)
        if code is None:
            numbered = bool(re.fullmatch(r"-?\d+(\.\d+)?", _exact(piece)))
            which = "" if len(pieces) == 1 else f"中的「{_short(piece)}」"
            problem(index, cell, f"{which}不是本题的选项（可选：{options.choices_text(numbered)}）")
            return []
        if code not in codes:
            codes.append(code)
    return codes


def _split_answer(question: Question, options: _Options, columns: Mapping[str, int], row: Sequence[str],
                  problem) -> list[str]:
    """The options chosen in 问卷星's split form: 1 chosen, 0 not, a skip marker nothing."""
    chosen: list[str] = []
    bad = False
    for code, index in columns.items():
        cell = _cell(row, index)
        value = _exact(_strip_fill_in(cell))
        if _is_skip(cell, numbers=True) or re.fullmatch(r"0(\.0+)?", value):
            continue
        if re.fullmatch(r"1(\.0+)?", value) or options.code_of(cell, numbers=False) == code:
            chosen.append(code)
            continue
        problem(index, cell, "应为 1（选中）或 0（未选）")
        bad = True
    if bad:
        return []
    return [code for code in question.codes if code in chosen]


# -- row metadata --------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.(\d{1,6}))?)?\s*秒?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(text: str) -> datetime | None:
    """A date and time as spreadsheets write it, naive; None if it is not one.

    ``2026/5/12 10:31:05`` (问卷星), ``2026-05-12 10:31:05`` (an Excel date
    cell), ``2026-05-12T02:31:05.5+00:00`` (Minyi's export: an offset is
    applied, giving naive UTC), ``2026年5月12日 10:31``.
    """
    found = _TIMESTAMP.match(unicodedata.normalize("NFKC", text or "").strip())
    if not found:
        return None
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                         int((fraction or "0").ljust(6, "0")))
    except ValueError:
        return None
    if offset:
        if offset == "Z":
            zone = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        value = value.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return value


_DURATION = re.compile(
    r"^(?:(\d+)\s*天)?\s*(?:(\d+)\s*(?:小时|时))?\s*(?:(\d+)\s*分(?:钟)?)?\s*(?:(\d+(?:\.\d+)?)\s*秒)?$"
)


def parse_duration(text: str) -> float | None:
    """Seconds from ``123秒``, ``2分3秒``, ``1小时2分3秒``, ``0:02:03`` or a plain
    number of seconds; None if it is none of these."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    clock = re.fullmatch(r"(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)", value)
    if clock:
        return int(clock.group(1)) * 3600 + int(clock.group(2)) * 60 + float(clock.group(3))
    found = _DURATION.match(value)
    if not found or not any(found.groups()):
        return None
    days, hours, minutes, secs = found.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs or 0)


def meta_of(source: str, header: Sequence[str], row: Sequence[str]) -> RowMeta:
    """Row id, submission time, duration and unit of one row.

    问卷星: 序号, 提交答卷时间, 所用时间 (no unit). Minyi's export: response_id,
    submitted_at, duration_seconds, unit_code. A plain table: whichever of
    these columns it has. Values that cannot be read give None.
    """
    names = [str(h).strip() for h in header]

    def value(*candidates: str) -> str:
        for name in candidates:
            if name in names:
                cell = _cell(row, names.index(name))
                if cell:
                    return cell
        return ""

    if source == SOURCE_MINYI:
        row_id, submitted, duration, unit = (value("response_id"), value("submitted_at"),
                                             value("duration_seconds"), value("unit_code"))
    elif source == SOURCE_WJX:
        row_id, submitted, duration, unit = value("序号"), value("提交答卷时间"), value("所用时间"), ""
    else:
        row_id = value("response_id", "序号", SHEET_NUMBER)
        submitted = value("submitted_at", "提交答卷时间")
        duration = value("duration_seconds", "所用时间")
        unit = value("unit_code")
    return RowMeta(
        row_id=row_id or None,
        submitted_at=parse_timestamp(submitted) if submitted else None,
        duration_seconds=parse_duration(duration) if duration else None,
        unit_text=unit or None,
    )
