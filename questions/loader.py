"""Read and validate questionnaire definitions.

Files are YAML (see ``FORMAT.md``); the app also stores the parsed dict as
JSON and rebuilds the questionnaire with ``parse_questionnaire``, so both go
through the same validation. Validation collects *every* problem before
raising one ``QuestionnaireError``: office staff edit these files by hand,
and fixing one problem per run would be tedious.
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from ._config import (
    ID_RE,
    ID_RULE,
    Report,
    check_keys,
    describe,
    is_number,
    join,
    read_bool,
    read_code,
    read_codes,
    read_positive_int,
    read_text,
    suggest,
)
from .bounded import read_questionnaire_file, read_yaml
from .errors import Problem, QuestionnaireError
from .schema import (
    Condition,
    Indicator,
    KnowledgeCard,
    Question,
    Questionnaire,
    Screening,
    Text,
)
from .types import QUESTION_TYPES, QuestionType

__all__ = [
    "Problem",
    "QuestionnaireError",
    "load_questionnaire",
    "load_questionnaire_text",
    "parse_questionnaire",
]

TOP_LEVEL_KEYS = (
    "code",
    "version",
    "title",
    "intro",
    "thanks",
    "indicators",
    "questions",
    "knowledge_card",
)
REQUIRED_TOP_LEVEL_KEYS = ("code", "version", "title", "questions")
COMMON_QUESTION_KEYS = (
    "id",
    "type",
    "text",
    "help",
    "required",
    "show_if",
    "screening",
    "indicator",
    "counts_as_yes",
    "excluded",
    "scores",
    "variable",
)
ALL_TYPE_KEYS = frozenset(key for t in QUESTION_TYPES.values() for key in t.config_keys)


def load_questionnaire(path: str | PathLike[str]) -> Questionnaire:
    """Load and validate a questionnaire file.

    Problems are reported under the file's name.

    :raises QuestionnaireError: listing every problem in the file.
    :raises OSError: if the file cannot be read.
    """
    path = Path(path)
    return parse_questionnaire(read_questionnaire_file(path.name, path.read_bytes()), source=path.name)


def load_questionnaire_text(text: str, source: str = "<text>") -> Questionnaire:
    """Parse YAML ``text`` and validate it as a questionnaire.

    :raises QuestionnaireError: for a YAML syntax error or any invalid content
        (a :class:`QuestionnaireFileError` when the file is too large, too deep,
        or not YAML at all: see :mod:`questions.bounded`).
    """
    return parse_questionnaire(read_yaml(text, source), source=source)


def parse_questionnaire(data: Any, source: str = "<data>") -> Questionnaire:
    """Validate an already-parsed definition (from YAML or stored JSON).

    Parameters
    ----------
    data : dict
        The top-level mapping, as ``yaml.safe_load`` or ``json.loads`` returns it.
    source : str
        Name used in problem messages (the file name).

    Returns
    -------
    Questionnaire

    :raises QuestionnaireError: listing every problem found.
    """
    parser = _Parser(source)
    questionnaire = parser.parse(data)
    if parser.problems or questionnaire is None:
        raise QuestionnaireError(parser.problems)
    return questionnaire


class _Parser:
    """Holds the problems found so far while reading one definition."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def reporter(self, question_id: str | None = None) -> Report:
        def report(message: str) -> None:
            self.problems.append(Problem(self.source, question_id, message))

        return report

    # -- top level -------------------------------------------------------------------------

    def parse(self, data: Any) -> Questionnaire | None:
        report = self.reporter()
        if not isinstance(data, Mapping):
            report(f"the top level must be a mapping of keys such as 'code' and 'questions' "
                   f"(got {describe(data)})")
            return None
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                report(f"unknown top-level key {key!r}{suggest(str(key), TOP_LEVEL_KEYS)}")
        for key in REQUIRED_TOP_LEVEL_KEYS:
            if key not in data:
                report(f"missing required key {key!r}")

        code = None
        if "code" in data:
            code = data["code"]
            if not isinstance(code, str) or not ID_RE.match(code):
                report(f"'code' must be an identifier such as 'civilization_standard' ({ID_RULE}); "
                       f"got {describe(code)}")
                code = None
        version = None
        if "version" in data:
            version = read_positive_int(data["version"], "'version'", report)
        title = read_text(data["title"], "'title'", report) if "title" in data else None
        intro = self.optional_text(data, "intro", report)
        thanks = self.optional_text(data, "thanks", report)
        indicators = self.parse_indicators(data.get("indicators"), report)
        # Questions are checked against every declared key, even one whose own
        # definition is broken, so a single typo is not reported twice.
        declared = list(data["indicators"]) if isinstance(data.get("indicators"), Mapping) else []
        questions = (
            self.parse_questions(data["questions"], declared, report) if "questions" in data else []
        )
        card = self.parse_card(data["knowledge_card"], report) if "knowledge_card" in data else None

        used = {q.indicator for q in questions if q.indicator is not None}
        for key in declared:
            if key not in used and questions and not self.has_question_problems:
                report(f"indicator {key!r} is declared but no question counts towards it")

        if self.problems or code is None or version is None or title is None:
            return None
        return Questionnaire(
            code=code,
            version=version,
            title=title,
            intro=intro,
            thanks=thanks,
            indicators=indicators,
            questions=tuple(questions),
            knowledge_card=card,
        )

    @property
    def has_question_problems(self) -> bool:
        # A question dropped for another problem may be the one counting towards an
        # indicator; don't pile a misleading "unused indicator" on top.
        return any(p.question_id is not None for p in self.problems)

    @staticmethod
    def optional_text(data: Mapping[str, Any], key: str, report: Report) -> Text | None:
        if data.get(key) is None:
            return None
        return read_text(data[key], f"{key!r}", report)

    def parse_indicators(self, raw: Any, report: Report) -> dict[str, Indicator]:
        indicators: dict[str, Indicator] = {}
        if raw is None:
            return indicators
        if not isinstance(raw, Mapping):
            report(f"'indicators' must be a mapping of indicator key to name and target "
                   f"(got {describe(raw)})")
            return indicators
        for key, spec in raw.items():
            what = f"indicator {key!r}"
            if not isinstance(key, str) or not ID_RE.match(key):
                report(f"{what}: invalid key ({ID_RULE})")
                continue
            if not isinstance(spec, Mapping):
                report(f"{what} must be a mapping with 'name' and 'target' (got {describe(spec)})")
                continue
            check_keys(spec, ("name", "target"), f"{what}: ", report)
            name = read_text(spec["name"], f"{what}: name", report) if "name" in spec else None
            if "name" not in spec:
                report(f"{what} has no 'name'")
            target = spec.get("target")
            if "target" not in spec:
                report(f"{what} has no 'target'")
                target = None
            elif not is_number(target) or not 0 < target <= 1:
                hint = " (write 80% as 0.80)" if is_number(target) and target > 1 else ""
                report(f"{what}: target must be a share in (0, 1], got {describe(target)}{hint}")
                target = None
            if name is not None and target is not None:
                indicators[key] = Indicator(key, name, float(target))
        return indicators

    def parse_card(self, raw: Any, report: Report) -> KnowledgeCard | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            report(f"'knowledge_card' must be a mapping with 'title' and 'paragraphs' "
                   f"(got {describe(raw)})")
            return None
        check_keys(raw, ("title", "paragraphs"), "knowledge_card: ", report)
        title = None
        if "title" in raw:
            title = read_text(raw["title"], "knowledge_card: title", report)
        else:
            report("knowledge_card has no 'title'")
        paragraphs_raw = raw.get("paragraphs")
        if not isinstance(paragraphs_raw, list) or not paragraphs_raw:
            report(f"knowledge_card: 'paragraphs' must be a non-empty list "
                   f"(got {describe(paragraphs_raw)})")
            return None
        paragraphs = [
            read_text(p, f"knowledge_card: paragraph {n}", report)
            for n, p in enumerate(paragraphs_raw, start=1)
        ]
        if title is None or any(p is None for p in paragraphs):
            return None
        return KnowledgeCard(title, tuple(p for p in paragraphs if p is not None))

    # -- questions -------------------------------------------------------------------------

    def parse_questions(self, raw: Any, indicators: list[str], report: Report) -> list[Question]:
        if not isinstance(raw, list) or not raw:
            report(f"'questions' must be a non-empty list (got {describe(raw)})")
            return []
        # All ids up front, so show_if can tell a later question from an unknown one.
        all_ids = {item["id"] for item in raw if isinstance(item, Mapping)
                   and isinstance(item.get("id"), str)}
        state = _QuestionsState(all_ids=all_ids, indicators=indicators)
        questions = []
        for number, item in enumerate(raw, start=1):
            question = self.parse_question(number, item, state)
            if question is not None:
                questions.append(question)
        return questions

    def parse_question(self, number: int, item: Any, state: _QuestionsState) -> Question | None:
        raw_id = item.get("id") if isinstance(item, Mapping) else None
        label = raw_id if isinstance(raw_id, str) and raw_id else f"#{number}"
        report = self.reporter(label)
        before = len(self.problems)

        if not isinstance(item, Mapping):
            report(f"must be a mapping with 'id', 'type' and 'text' (got {describe(item)})")
            return None

        # -- identity
        qid: str | None = None
        if "id" not in item:
            report("missing 'id'")
        elif not isinstance(raw_id, str) or not ID_RE.match(raw_id):
            shown = repr(raw_id) if isinstance(raw_id, str) else describe(raw_id)
            report(f"invalid id {shown} ({ID_RULE})")
        elif raw_id in state.positions:
            report(f"duplicate question id {raw_id!r} (first used by question "
                   f"#{state.positions[raw_id]})")
        else:
            qid = raw_id
            state.positions[raw_id] = number
        if isinstance(raw_id, str):
            state.seen.add(raw_id)

        qtype: QuestionType | None = None
        if "type" not in item:
            report("missing 'type'")
        elif not isinstance(item["type"], str) or item["type"] not in QUESTION_TYPES:
            report(f"unknown type {item['type']!r} (valid types: {join(QUESTION_TYPES)})")
        else:
            qtype = QUESTION_TYPES[item["type"]]

        self.check_question_keys(item, qtype, report)

        # -- wording
        text = None
        if "text" not in item or item["text"] is None:
            report("missing 'text'")
        else:
            text = read_text(item["text"], "'text'", report)
        help_text = self.optional_text(item, "help", report)
        required = True
        if "required" in item:
            required = read_bool(item["required"], "'required'", report) is not False

        if qtype is None:
            return None

        # -- type-specific config and counting
        config = qtype.read_config(item, report)
        options = config.get("options", ())
        codes = [choice.code for choice in options]
        counting = self.parse_counting(item, qtype, options, codes, state, report)
        screening = self.parse_screening(item, qtype, codes, required, report)
        show_if = self.parse_show_if(item, qid, state, report)
        variable = self.parse_variable(item, qid, state, report)

        if len(self.problems) > before or qid is None or text is None:
            return None
        question = Question(
            id=qid,
            type=qtype.key,
            text=text,
            help=help_text,
            required=required,
            show_if=show_if,
            screening=screening,
            variable=variable,
            **counting,
            **config,
        )
        state.built[qid] = question
        return question

    @staticmethod
    def check_question_keys(
        item: Mapping[str, Any], qtype: QuestionType | None, report: Report
    ) -> None:
        if qtype is None:
            allowed = set(COMMON_QUESTION_KEYS) | ALL_TYPE_KEYS
        else:
            allowed = set(COMMON_QUESTION_KEYS) | set(qtype.config_keys)
        for key in item:
            if key in allowed:
                continue
            if key in ALL_TYPE_KEYS and qtype is not None:
                owners = [t.key for t in QUESTION_TYPES.values() if key in t.config_keys]
                report(f"key {key!r} does not apply to {qtype.key} questions "
                       f"(it is for {join(owners)})")
            else:
                report(f"unknown key {key!r}{suggest(str(key), allowed)}")

    @staticmethod
    def parse_counting(
        item: Mapping[str, Any],
        qtype: QuestionType,
        options: tuple,
        codes: list[str],
        state: _QuestionsState,
        report: Report,
    ) -> dict[str, Any]:
        counting: dict[str, Any] = {}
        if not qtype.countable:
            if "indicator" in item:
                report(f"{qtype.key} questions cannot be counted towards an indicator "
                       f"(only {join(t.key for t in QUESTION_TYPES.values() if t.countable)} can)")
            for key in ("counts_as_yes", "excluded", "scores"):
                if key in item:
                    report(f"{key!r} does not apply to {qtype.key} questions")
            return counting

        def code_set(key: str, default: frozenset[str]) -> frozenset[str]:
            if key not in item:
                return default
            listed = read_codes(item[key], key, report)
            if listed is None:
                return default
            for code in listed:
                if codes and code not in codes:
                    report(f"{key}: unknown code {code!r} (options: {join(codes)})")
            return frozenset(listed)

        counts_as_yes = code_set("counts_as_yes", qtype.default_counts_as_yes(options))
        excluded = code_set("excluded", qtype.default_excluded(options))
        both = counts_as_yes & excluded
        if both:
            report(f"codes both counted and excluded: {join(sorted(both))}")
        counting["counts_as_yes"] = counts_as_yes
        counting["excluded"] = excluded

        if "indicator" in item:
            key = item["indicator"]
            if not isinstance(key, str) or key not in state.indicators:
                report(f"unknown indicator {key!r} (known: {join(map(str, state.indicators))})")
            else:
                counting["indicator"] = key
                if not counts_as_yes:
                    report(f"counted towards {key!r} but no code counts: add 'counts_as_yes'")

        scores = qtype.default_scores(options)
        if "scores" in item:
            scores = None
            raw = item["scores"]
            if not qtype.scorable:
                report(f"'scores' does not apply to {qtype.key} questions")
            elif not isinstance(raw, Mapping):
                report(f"'scores' must be a mapping of option code to points (got {describe(raw)})")
            else:
                scores = {}
                for raw_code, points in raw.items():
                    code = read_code(raw_code, "scores: code", report)
                    if code is None:
                        continue
                    if codes and code not in codes:
                        report(f"scores: unknown code {code!r} (options: {join(codes)})")
                    elif not is_number(points):
                        report(f"scores: {code!r} must be a number (got {describe(points)})")
                    else:
                        scores[code] = float(points)
        if scores is not None:
            counting["scores"] = scores
        return counting

    @staticmethod
    def parse_screening(
        item: Mapping[str, Any],
        qtype: QuestionType,
        codes: list[str],
        required: bool,
        report: Report,
    ) -> Screening | None:
        raw = item.get("screening")
        if raw is None:
            return None
        if not qtype.can_screen:
            report(f"screening on a {qtype.key} question: only "
                   f"{join(t.key for t in QUESTION_TYPES.values() if t.can_screen)} questions "
                   f"can screen")
            return None
        if not isinstance(raw, Mapping):
            report(f"'screening' must be a mapping with 'eligible' and 'message' "
                   f"(got {describe(raw)})")
            return None
        check_keys(raw, ("eligible", "message"), "screening: ", report)
        if not required:
            # An unanswered screen would let anyone through.
            report("a screening question must be required")
        eligible = None
        if "eligible" not in raw:
            report("screening has no 'eligible' codes")
        else:
            eligible = read_codes(raw["eligible"], "screening: eligible", report)
            if eligible == []:
                report("screening: 'eligible' lists no codes, so nobody could continue")
            for code in eligible or ():
                if codes and code not in codes:
                    report(f"screening: eligible code {code!r} is not an option "
                           f"(options: {join(codes)})")
        message = None
        if "message" not in raw:
            report("screening has no 'message' for people who are not eligible")
        else:
            message = read_text(raw["message"], "screening: message", report)
        if not eligible or message is None:
            return None
        return Screening(frozenset(eligible), message)

    @staticmethod
    def parse_show_if(
        item: Mapping[str, Any], qid: str | None, state: _QuestionsState, report: Report
    ) -> Condition | None:
        raw = item.get("show_if")
        if raw is None:
            return None
        if not isinstance(raw, Mapping) or "question" not in raw or "any_of" not in raw:
            report("show_if must be a mapping with 'question' and 'any_of'")
            return None
        check_keys(raw, ("question", "any_of"), "show_if: ", report)
        target = raw["question"]
        any_of = read_codes(raw["any_of"], "show_if: any_of", report)
        if not isinstance(target, str) or target not in state.all_ids:
            report(f"show_if refers to unknown question {target!r}")
            return None
        if target == item.get("id") or target not in state.seen:
            report(f"show_if refers to question {target!r}, which does not come before this "
                   f"one; show_if may only refer to earlier questions")
            return None
        earlier = state.built.get(target)
        if earlier is None:
            return None  # the earlier question has its own problems, already reported
        if not QUESTION_TYPES[earlier.type].has_codes:
            report(f"show_if refers to question {target!r}, which is a {earlier.type} "
                   f"question; show_if needs a choice question")
            return None
        if any_of is None:
            return None
        if not any_of:
            report("show_if: 'any_of' lists no codes, so the question would never be shown")
            return None
        ok = True
        for code in any_of:
            if code not in earlier.codes:
                report(f"show_if: question {target!r} has no option {code!r} "
                       f"(options: {join(earlier.codes)})")
                ok = False
        return Condition(target, frozenset(any_of)) if ok and any_of else None

    @staticmethod
    def parse_variable(
        item: Mapping[str, Any], qid: str | None, state: _QuestionsState, report: Report
    ) -> str | None:
        raw = item.get("variable")
        if raw is None:
            return None
        if not isinstance(raw, str) or not ID_RE.match(raw):
            report(f"invalid variable {describe(raw)} ({ID_RULE})")
            return None
        if raw in state.variables:
            report(f"variable {raw!r} is already provided by question {state.variables[raw]!r}")
            return None
        # The variable names the export column, so it must not clash with another id.
        if raw != qid and raw in state.all_ids:
            report(f"variable {raw!r} is also a question id; choose another name")
            return None
        state.variables[raw] = qid or "?"
        return raw


class _QuestionsState:
    """What the question parser has seen so far (ids, built questions, variables)."""

    def __init__(self, all_ids: set[str], indicators: list[str]) -> None:
        self.all_ids = all_ids
        self.indicators = indicators
        self.positions: dict[str, int] = {}
        self.seen: set[str] = set()
        self.built: dict[str, Question] = {}
        self.variables: dict[str, str] = {}

