"""Registry of question types.

One small class per type (as Indico's survey fields), registered in
``QUESTION_TYPES`` and reached from a question as ``question.kind``. A type
carries everything that depends on it, so that no code outside ``questions/``
branches on type names:

===========================  ==================================================
config                       ``config_keys``, ``read_config``, default
                             ``counts_as_yes`` / ``excluded`` / ``scores``, and
                             what the loader allows (``countable``,
                             ``scorable``, ``has_codes``, ``can_screen``)
parsing                      ``parse``: raw form input -> clean value
form widget                  ``widget`` (which form macro branch renders it:
                             ``choices``, ``community``, ``number``, ``text``)
                             and ``multiple`` (checkboxes rather than radios)
export                       ``export_text`` (the CSV cell) and its inverse
                             ``parse_export_text``; ``from_json_text`` for the
                             text a database's JSON ``->>`` hands over;
                             ``value_description`` for the codebook
tally and indicator coding   ``tally_codes`` (the codes an answer counts
                             under) and ``indicator_value`` (1, 0 or left out)
roles                        ``answers_unit`` (the answer is the respondent's
                             unit), ``is_rating_scale`` (a rating scale the
                             straight-lining check reads)
===========================  ==================================================

To add a type, write a class here, register it in ``QUESTION_TYPES`` and
document it in ``FORMAT.md``; the form, export, reports and checks follow.

Clean values
------------
===================  ==========================================
type                 clean value
===================  ==========================================
single_choice        option code (str)
multiple_choice      list of option codes, in option order
satisfaction5        option code (str)
yes_no               option code (str)
number               int if ``integer`` else float
text                 str (stripped)
community            unit code (str) from the runtime options
===================  ==========================================

A blank answer parses to None; whether that is allowed is decided by
``questions.answers`` (``required``, ``show_if``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Literal, NoReturn

from ._cells import neutralize, number_text, unneutralize
from ._config import (
    Report,
    describe,
    join,
    read_bool,
    read_code,
    read_number,
    read_positive_int,
    read_text,
)
from .schema import Choice, Question, Text

__all__ = [
    "QUESTION_TYPES",
    "CommunityType",
    "InvalidAnswer",
    "MultipleChoiceType",
    "NumberType",
    "QuestionType",
    "Satisfaction5Type",
    "SingleChoiceType",
    "TextType",
    "Widget",
    "YesNoType",
    "get_type",
]

#: Which branch of the form macro (templates/_macros/questions.html) renders a type.
Widget = Literal["choices", "community", "number", "text"]

#: Longest text answer accepted when a text question sets no ``max_length``;
#: a safe default keeps a pasted essay (or an attack) out of the database.
DEFAULT_TEXT_MAX_LENGTH = 500


class InvalidAnswer(Exception):
    """Raised by ``QuestionType.parse``; ``questions.answers`` turns it into an AnswerError."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


#: Control characters a phone's keyboard never means (C0 but tab and line
#: breaks, and DEL): pasted ones are dropped rather than refusing the whole
#: questionnaire, and PostgreSQL could not store a NUL anyway.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _values(raw: Sequence[str] | str | None) -> list[str]:
    """Non-blank, stripped input values without control characters; a bare string counts as one value."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    cleaned = (CONTROL_CHARACTERS.sub("", v).strip() for v in raw if isinstance(v, str))
    return [v for v in cleaned if v]


class QuestionType:
    """Base class of question types.

    Class attributes
    ----------------
    key : str
        Name used in questionnaire files (``type: yes_no``).
    name : Text
        Human name for the admin interface.
    config_keys : tuple of str
        Type-specific keys allowed in a question (besides the common ones).
    countable : bool
        Whether the question may count towards an indicator (and so carry
        ``counts_as_yes`` / ``excluded``).
    scorable : bool
        Whether the question may carry ``scores``.
    has_codes : bool
        Whether answers are option codes known from the file, so that
        ``show_if`` may refer to them.
    can_screen : bool
        Whether the question may carry ``screening``.
    widget : Widget
        Which form widget asks it: ``choices`` (radio buttons or check
        boxes over ``question.options``), ``community`` (a list of the
        office's communities), ``number`` or ``text``.
    multiple : bool
        Whether several options may be chosen (check boxes, not radio
        buttons); the clean value is then a list.
    answers_unit : bool
        Whether the answer is the respondent's unit code (the response is
        then counted under that unit rather than the channel's).
    is_rating_scale : bool
        Whether the question is a rating scale that straight-lining
        (the same level for every item) is read on.
    """

    key: ClassVar[str]
    name: ClassVar[Text]
    config_keys: ClassVar[tuple[str, ...]] = ()
    countable: ClassVar[bool] = False
    scorable: ClassVar[bool] = False
    has_codes: ClassVar[bool] = False
    can_screen: ClassVar[bool] = False
    widget: ClassVar[Widget]
    multiple: ClassVar[bool] = False
    answers_unit: ClassVar[bool] = False
    is_rating_scale: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"

    def read_config(self, data: Mapping[str, Any], report: Report) -> dict[str, Any]:
        """Validate the type-specific keys of ``data``; return ``Question`` keyword args."""
        return {}

    def default_counts_as_yes(self, options: Sequence[Choice]) -> frozenset[str]:
        return frozenset()

    def default_excluded(self, options: Sequence[Choice]) -> frozenset[str]:
        return frozenset()

    def default_scores(self, options: Sequence[Choice]) -> Mapping[str, float] | None:
        return None

    def parse(
        self,
        question: Question,
        raw: Sequence[str],
        community_options: Mapping[str, str] | None = None,
    ) -> object | None:
        """Turn raw input into a clean value, None when blank.

        :raises InvalidAnswer: when the input is not a valid answer.
        """
        raise NotImplementedError

    # -- export ----------------------------------------------------------------------

    def export_text(self, question: Question, value: object) -> str:
        """How one clean answer is written in a CSV cell.

        Codes as they are, several codes joined by ``";"``, numbers plainly
        (``35``, ``1.5``) and a missing answer as an empty cell.
        """
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            return ";".join(str(code) for code in value)
        if isinstance(value, bool):
            # Not produced by any type today; written as a code rather than "True".
            return "yes" if value else "no"
        if isinstance(value, (int, float)):
            return number_text(value)
        return str(value)

    def parse_export_text(self, question: Question, text: str) -> object | None:
        """The clean answer a CSV cell written by ``export_text`` holds; None for an empty cell.

        The base reads one code (choice and community types).
        """
        return text or None

    def from_json_text(self, question: Question, text: str) -> object:
        """The clean answer from the text a database gives for its stored JSON
        value (SQLite ``json_extract``, PostgreSQL ``->>``): a string comes
        back bare, a list or number as JSON. The base has string answers."""
        return text

    def value_description(self, question: Question, locale: str) -> str:
        """What the values of the question's export column mean, for the codebook."""
        return "; ".join(f"{c.code}={c.label.get(locale)}" for c in question.options)

    # -- tallies and indicators -----------------------------------------------------

    def tally_codes(self, question: Question, value: object) -> tuple[str, ...]:
        """The codes a clean answer counts under when codes are tallied
        (the option chosen, each option selected, the unit); none for a
        missing answer. The base type's answers have no codes."""
        return ()

    def indicator_value(self, question: Question, value: object) -> int | None:
        """What one answer contributes to an indicator rate: 1 if any of its
        codes counts as yes, None if it has none or all are excluded, else 0.

        ``questions.indicator_value`` calls this after checking the question
        is counted.
        """
        codes = self.tally_codes(question, value)
        if not codes:
            return None
        if any(code in question.counts_as_yes for code in codes):
            return 1
        if all(code in question.excluded for code in codes):
            return None
        return 0


# Codebook descriptions of the values of types without options in the file.
_VALUE_WORDS = {
    "zh": {
        "community": "社区（村）代码，由系统提供",
        "number": "数字",
        "integer": "整数",
        "text": "文字",
        "range": "{low}至{high}",
        "max_length": "最多{n}字",
    },
    "en": {
        "community": "community (unit) code, supplied by the system",
        "number": "number",
        "integer": "whole number",
        "text": "free text",
        "range": "{low} to {high}",
        "max_length": "at most {n} characters",
    },
}


def _value_words(locale: str) -> dict[str, str]:
    english = locale.replace("-", "_").split("_", 1)[0].lower() == "en"
    return _VALUE_WORDS["en" if english else "zh"]


def _codes_of(value: object) -> tuple[Any, ...]:
    """The codes of a choice answer: none, one code, or a list's codes."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    return (value,)


def _read_options(data: Mapping[str, Any], type_key: str, report: Report) -> tuple[Choice, ...]:
    if "options" not in data:
        report(f"{type_key} questions need 'options'")
        return ()
    raw = data["options"]
    if not isinstance(raw, list) or not raw:
        report(f"'options' must be a non-empty list (got {describe(raw)})")
        return ()
    options: list[Choice] = []
    seen: set[str] = set()
    failed = False

    def report_option(message: str) -> None:
        nonlocal failed
        failed = True
        report(message)

    for number, item in enumerate(raw, start=1):
        what = f"option #{number}"
        if not isinstance(item, Mapping):
            report_option(
                f"{what} must be a mapping with 'code' and 'label' (got {describe(item)})"
            )
            continue
        for key in item:
            if key not in ("code", "label"):
                report_option(f"{what}: unknown key {key!r} (allowed: code, label)")
        if "code" not in item:
            report_option(f"{what} has no 'code'")
            continue
        code = read_code(item["code"], f"{what}: code", report_option)
        if code is None:
            continue
        if code in seen:
            report_option(f"duplicate option code {code!r}")
            continue
        seen.add(code)
        if "label" not in item:
            report_option(f"option {code!r} has no 'label'")
            continue
        label = read_text(item["label"], f"option {code!r}: label", report_option)
        if label is not None:
            options.append(Choice(code, label))
    # With a broken option, later checks of codes against the options would only
    # add confusing follow-up problems, so report no options at all.
    return () if failed else tuple(options)


class _ChoiceType(QuestionType):
    """Shared parsing for types whose answer is one option code."""

    countable = True
    scorable = True
    has_codes = True
    can_screen = True
    widget = "choices"

    def parse(self, question, raw, community_options=None):
        values = _values(raw)
        if not values:
            return None
        # Two values for a single-choice question only come from a tampered form.
        if len(values) > 1 or values[0] not in question.codes:
            _invalid_choice(values)
        return values[0]

    def tally_codes(self, question, value):
        return _codes_of(value)


def _invalid_choice(values: list[str]) -> NoReturn:
    bad = values[0] if len(values) == 1 else values
    raise InvalidAnswer("invalid_choice", value=bad)


class SingleChoiceType(_ChoiceType):
    """Pick one option from a list given in the file."""

    key = "single_choice"
    name = Text("单选题", "Single choice")
    config_keys = ("options",)

    def read_config(self, data, report):
        return {"options": _read_options(data, self.key, report)}


class MultipleChoiceType(QuestionType):
    """Pick any number of options (optionally between ``min_choices`` and ``max_choices``)."""

    key = "multiple_choice"
    name = Text("多选题", "Multiple choice")
    config_keys = ("options", "min_choices", "max_choices")
    countable = True
    has_codes = True
    widget = "choices"
    multiple = True

    def read_config(self, data, report):
        options = _read_options(data, self.key, report)
        config: dict[str, Any] = {"options": options}
        for key in ("min_choices", "max_choices"):
            if key in data:
                config[key] = read_positive_int(data[key], f"'{key}'", report)
        low, high = config.get("min_choices"), config.get("max_choices")
        if low is not None and high is not None and low > high:
            report(f"min_choices ({low}) is greater than max_choices ({high})")
        if options:
            for key in ("min_choices", "max_choices"):
                limit = config.get(key)
                if limit is not None and limit > len(options):
                    report(f"{key} ({limit}) is more than the number of options ({len(options)})")
        return config

    def parse(self, question, raw, community_options=None):
        values = _values(raw)
        if not values:
            return None
        unknown = [v for v in values if v not in question.codes]
        if unknown:
            _invalid_choice(unknown)
        # Option order, duplicates dropped: the same answer always exports the same.
        chosen = set(values)
        codes = [code for code in question.codes if code in chosen]
        if question.min_choices is not None and len(codes) < question.min_choices:
            raise InvalidAnswer("too_few_choices", min=question.min_choices, count=len(codes))
        if question.max_choices is not None and len(codes) > question.max_choices:
            raise InvalidAnswer("too_many_choices", max=question.max_choices, count=len(codes))
        return codes

    def parse_export_text(self, question, text):
        return text.split(";") if text else None

    def from_json_text(self, question, text):
        return json.loads(text)

    def tally_codes(self, question, value):
        return _codes_of(value)


class _FixedChoiceType(_ChoiceType):
    """A choice type with built-in options; ``labels`` may reword them."""

    config_keys: ClassVar[tuple[str, ...]] = ("labels",)

    def base_options(self, data: Mapping[str, Any], report: Report) -> tuple[Choice, ...]:
        raise NotImplementedError

    def read_config(self, data, report):
        options = self.base_options(data, report)
        labels = data.get("labels")
        if labels is None:
            return {"options": options}
        if not isinstance(labels, Mapping):
            report(f"'labels' must be a mapping of option code to text (got {describe(labels)})")
            return {"options": options}
        codes = [choice.code for choice in options]
        relabelled = dict((choice.code, choice.label) for choice in options)
        for raw_code, raw_label in labels.items():
            code = read_code(raw_code, "labels: code", report)
            if code is None:
                continue
            if code not in relabelled:
                report(
                    f"labels: {code!r} is not an option of this question (options: {join(codes)})"
                )
                continue
            label = read_text(raw_label, f"labels: {code!r}", report)
            if label is not None:
                relabelled[code] = label
        return {"options": tuple(Choice(code, relabelled[code]) for code in codes)}


SATISFACTION5_OPTIONS = (
    Choice("very_satisfied", Text("满意", "Satisfied")),
    Choice("satisfied", Text("比较满意", "Fairly satisfied")),
    Choice("neutral", Text("一般", "Neutral")),
    Choice("dissatisfied", Text("不太满意", "Not very satisfied")),
    Choice("very_dissatisfied", Text("不满意", "Dissatisfied")),
    Choice("unknown", Text("不了解", "Don't know enough to say")),
)

# Index points per level as offices commonly use them; "unknown" has no score.
SATISFACTION5_SCORES = {
    "very_satisfied": 100.0,
    "satisfied": 80.0,
    "neutral": 60.0,
    "dissatisfied": 40.0,
    "very_dissatisfied": 0.0,
}


class Satisfaction5Type(_FixedChoiceType):
    """The five-point satisfaction scale plus 不了解 ("don't know").

    The rate counts the top two boxes among people who gave a level; people
    who do not know the service are excluded rather than counted as
    dissatisfied, as the campaign's satisfaction rate (满意率) is defined.
    """

    key = "satisfaction5"
    name = Text("满意度（五级）", "Satisfaction (five levels)")
    is_rating_scale = True

    def base_options(self, data, report):
        return SATISFACTION5_OPTIONS

    def default_counts_as_yes(self, options):
        return frozenset({"very_satisfied", "satisfied"})

    def default_excluded(self, options):
        return frozenset({"unknown"})

    def default_scores(self, options):
        return dict(SATISFACTION5_SCORES)


YES_NO_OPTIONS = (
    Choice("yes", Text("是", "Yes")),
    Choice("no", Text("否", "No")),
    Choice("dont_know", Text("不知道", "Don't know")),
)


class YesNoType(_FixedChoiceType):
    """Yes / no, with an optional 不知道 ("don't know", ``allow_dont_know``, default true).

    By default "don't know" counts as not-yes: for awareness or participation
    not knowing is a meaningful "no". Set ``excluded: [dont_know]`` to leave
    it out instead.
    """

    key = "yes_no"
    name = Text("是否题", "Yes / no")
    config_keys = ("labels", "allow_dont_know")

    def base_options(self, data, report):
        allow = True
        if "allow_dont_know" in data:
            allow = read_bool(data["allow_dont_know"], "'allow_dont_know'", report) is not False
        return YES_NO_OPTIONS if allow else YES_NO_OPTIONS[:2]

    def default_counts_as_yes(self, options):
        return frozenset({"yes"})


class NumberType(QuestionType):
    """A number, optionally whole (``integer``) and within ``min``..``max``."""

    key = "number"
    name = Text("数字", "Number")
    config_keys = ("min", "max", "integer")
    widget = "number"

    def read_config(self, data, report):
        config: dict[str, Any] = {}
        for key in ("min", "max"):
            if key in data:
                config[key] = read_number(data[key], f"'{key}'", report)
        if "integer" in data:
            config["integer"] = read_bool(data["integer"], "'integer'", report) or False
        low, high = config.get("min"), config.get("max")
        if low is not None and high is not None and low > high:
            report(f"min ({low}) is greater than max ({high})")
        return config

    def parse(self, question, raw, community_options=None):
        values = _values(raw)
        if not values:
            return None
        text = values[0]
        try:
            # float() also accepts full-width digits typed on Chinese keyboards.
            number = float(text)
        except ValueError:
            raise InvalidAnswer("not_a_number", value=text) from None
        if not math.isfinite(number):
            raise InvalidAnswer("not_a_number", value=text)
        value: float | int = number
        if question.integer:
            if not number.is_integer():
                raise InvalidAnswer("not_an_integer", value=text)
            value = int(number)
        too_low = question.min is not None and value < question.min
        too_high = question.max is not None and value > question.max
        if too_low or too_high:
            raise InvalidAnswer("out_of_range", value=value, min=question.min, max=question.max)
        return value

    def parse_export_text(self, question, text):
        if not text:
            return None
        if question.integer:
            try:
                return int(text)
            except ValueError:
                pass
        return float(text)

    def from_json_text(self, question, text):
        return json.loads(text)

    def value_description(self, question, locale):
        words = _value_words(locale)
        kind = words["integer"] if question.integer else words["number"]
        if question.min is not None and question.max is not None:
            low, high = number_text(question.min), number_text(question.max)
            kind += " " + words["range"].format(low=low, high=high)
        elif question.min is not None:
            kind += f" ≥ {number_text(question.min)}"
        elif question.max is not None:
            kind += f" ≤ {number_text(question.max)}"
        return kind


class TextType(QuestionType):
    """Free text, at most ``max_length`` characters (default 500)."""

    key = "text"
    name = Text("填空题", "Free text")
    config_keys = ("max_length",)
    widget = "text"

    def read_config(self, data, report):
        length = DEFAULT_TEXT_MAX_LENGTH
        if "max_length" in data:
            length = read_positive_int(data["max_length"], "'max_length'", report) or length
        return {"max_length": length}

    def parse(self, question, raw, community_options=None):
        values = _values(raw)
        if not values:
            return None
        # Normalise line endings so the length limit means the same on every browser.
        text = values[0].replace("\r\n", "\n").replace("\r", "\n")
        limit = question.max_length
        if limit is not None and len(text) > limit:
            raise InvalidAnswer("too_long", max=limit, length=len(text))
        return text

    def export_text(self, question, value):
        """As the base, but text that starts like a spreadsheet formula (``=``,
        ``+``, ``-``, ``@``) gets a leading apostrophe: offices open exports in
        Excel/WPS, and a respondent must not be able to inject a formula."""
        if value is None or isinstance(value, (list, tuple, bool, int, float)):
            return super().export_text(question, value)
        return neutralize(str(value))

    def parse_export_text(self, question, text):
        """The typed text; see ``unneutralize`` for the one text that does not read back."""
        return unneutralize(text) or None

    def value_description(self, question, locale):
        words = _value_words(locale)
        if question.max_length is not None:
            return f"{words['text']} ({words['max_length'].format(n=question.max_length)})"
        return words["text"]


class CommunityType(QuestionType):
    """The respondent's community (社区/村).

    Its options are not in the file: the app supplies the allowed unit codes
    at run time (``community_options``), since units change more often than
    questionnaires and differ between offices using the same file.
    """

    key = "community"
    name = Text("所在社区", "Community")
    widget = "community"
    answers_unit = True

    def parse(self, question, raw, community_options=None):
        if community_options is None:
            raise ValueError(
                f"question {question.id!r} is a community question: pass community_options"
            )
        values = _values(raw)
        if not values:
            return None
        if len(values) > 1 or values[0] not in community_options:
            _invalid_choice(values)
        return values[0]

    def tally_codes(self, question, value):
        return _codes_of(value)

    def value_description(self, question, locale):
        return _value_words(locale)["community"]


#: All question types by key, in the order they are documented.
QUESTION_TYPES: Mapping[str, QuestionType] = MappingProxyType({
    t.key: t
    for t in (
        SingleChoiceType(),
        MultipleChoiceType(),
        Satisfaction5Type(),
        YesNoType(),
        NumberType(),
        TextType(),
        CommunityType(),
    )
})


def get_type(key: str) -> QuestionType:
    """Return the question type called ``key``.

    :raises ValueError: for an unknown key, listing the valid ones.
    """
    try:
        return QUESTION_TYPES[key]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown question type {key!r} (valid types: {join(QUESTION_TYPES)})"
        ) from None
