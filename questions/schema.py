"""Frozen dataclasses describing a questionnaire.

These objects are what the rest of Minyi works with: the web form is built
from them, answers are checked against them (``questions.answers``) and the
exporter writes its codebook from them (``questions.codebook``). They are
built by ``questions.loader`` from YAML (or from the JSON dict the app keeps
in its database) and never change afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .types import QuestionType

__all__ = [
    "Choice",
    "Condition",
    "FrozenMap",
    "Indicator",
    "KnowledgeCard",
    "Question",
    "Questionnaire",
    "Screening",
    "Text",
]

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """A small read-only, hashable mapping.

    Frozen dataclasses holding a plain ``dict`` can still be mutated through
    it and cannot be hashed; this keeps questions truly immutable. It compares
    equal to a ``dict`` with the same items.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._data: dict[K, V] = dict(data)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


@dataclass(frozen=True)
class Text:
    """Localized text: Simplified Chinese, with an optional English translation.

    Parameters
    ----------
    zh : str
        The Chinese text; always present, it is what respondents read.
    en : str, optional
        English translation for staff and reports; falls back to ``zh``.
    """

    zh: str
    en: str | None = None

    def get(self, locale: str) -> str:
        """Return the text for ``locale`` (``"zh"``, ``"en"``, ``"en_US"`` ...).

        Any locale other than English, or English without a translation,
        gets the Chinese text.
        """
        language = locale.replace("-", "_").split("_", 1)[0].lower()
        if language == "en" and self.en:
            return self.en
        return self.zh

    def __str__(self) -> str:
        return self.zh


@dataclass(frozen=True)
class Choice:
    """One answer option: a stable machine ``code`` and its ``label``.

    Codes are what is stored and exported; labels can be reworded between
    versions without breaking comparisons across drills.
    """

    code: str
    label: Text


@dataclass(frozen=True)
class Condition:
    """Show a question only if an earlier question's answer is in ``any_of``."""

    question: str
    any_of: frozenset[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "any_of", frozenset(self.any_of))

    def is_met(self, answers: Mapping[str, object]) -> bool:
        """Whether the condition holds for the (clean) answers given so far.

        A missing answer never meets the condition. For a multiple-choice
        answer (a list) it is met if any selected code is in ``any_of``.
        """
        value = answers.get(self.question)
        if value is None:
            return False
        if isinstance(value, (list, tuple, set, frozenset)):
            return any(code in self.any_of for code in value)
        return value in self.any_of


@dataclass(frozen=True)
class Screening:
    """Eligibility screen attached to a question.

    Answers in ``eligible`` let the person continue; any other answer ends
    the questionnaire politely with ``message``.
    """

    eligible: frozenset[str]
    message: Text

    def __post_init__(self) -> None:
        object.__setattr__(self, "eligible", frozenset(self.eligible))


@dataclass(frozen=True)
class Indicator:
    """A rate the office reports, e.g. awareness (知晓率), with its target share."""

    key: str
    name: Text
    target: float


@dataclass(frozen=True)
class Question:
    """One question.

    Parameters
    ----------
    id : str
        Stable identifier (``[a-z][a-z0-9_]*``); stored answers are keyed by it.
    type : str
        Key of a type in ``questions.types.QUESTION_TYPES``; ``kind`` is the type itself.
    text, help : Text
        The question and an optional hint shown under it.
    required : bool
        Whether an answer is needed (only when the question is shown).
    options : tuple of Choice
        Answer options (empty for number, text and community questions).
    show_if : Condition, optional
        Ask only when an earlier answer matches.
    screening : Screening, optional
        Ends the questionnaire for ineligible answers.
    indicator : str, optional
        Key of the indicator this question counts towards.
    counts_as_yes, excluded : frozenset of str
        Codes that count as 1 ("aware", "satisfied") and codes left out of
        the rate's denominator ("不了解"); other codes count as 0.
    scores : Mapping of str to float, optional
        Points per code for a satisfaction index; unscored codes are left out.
    variable : str, optional
        Name of the demographic variable this question provides for
        weighting (``gender``, ``age_group``, ``unit``).
    min, max, integer : number limits for ``number`` questions.
    max_length : int, optional
        Longest accepted ``text`` answer, in characters.
    min_choices, max_choices : int, optional
        Limits on how many options a ``multiple_choice`` answer may select.
    """

    id: str
    type: str
    text: Text
    help: Text | None = None
    required: bool = True
    options: tuple[Choice, ...] = ()
    show_if: Condition | None = None
    screening: Screening | None = None
    indicator: str | None = None
    counts_as_yes: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    scores: Mapping[str, float] | None = None
    variable: str | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    max_length: int | None = None
    min_choices: int | None = None
    max_choices: int | None = None

    def __post_init__(self) -> None:
        # Accept lists/sets/dicts from callers but store immutable values.
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "counts_as_yes", frozenset(self.counts_as_yes))
        object.__setattr__(self, "excluded", frozenset(self.excluded))
        if self.scores is not None:
            object.__setattr__(self, "scores", FrozenMap(self.scores))

    @property
    def codes(self) -> tuple[str, ...]:
        """Option codes in display order."""
        return tuple(choice.code for choice in self.options)

    @property
    def kind(self) -> QuestionType:
        """The question's type from the registry, which knows how to parse,
        render, export and count its answers (``questions.types``).

        :raises ValueError: for a type key that is not registered.
        """
        # types.py builds its fixed options from this module, so it is imported here.
        from .types import get_type

        return get_type(self.type)

    @property
    def column(self) -> str:
        """Export column name: the ``variable`` if set, else the question id."""
        return self.variable or self.id

    def option(self, code: str) -> Choice:
        """Return the option with ``code``; raise ``KeyError`` if there is none."""
        for choice in self.options:
            if choice.code == code:
                return choice
        raise KeyError(f"question {self.id!r} has no option {code!r}")


@dataclass(frozen=True)
class KnowledgeCard:
    """Short publicity text shown after submitting (the drill doubles as publicity)."""

    title: Text
    paragraphs: tuple[Text, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "paragraphs", tuple(self.paragraphs))


@dataclass(frozen=True)
class Questionnaire:
    """A versioned questionnaire: indicators, questions and closing texts.

    Parameters
    ----------
    code : str
        Stable identifier of the questionnaire (``civilization_standard``).
    version : int
        Positive version number; bump it whenever questions change.
    title, intro, thanks : Text
        Title, text shown before the first question and after submitting.
    indicators : Mapping of str to Indicator
        Declared indicators in file order.
    questions : tuple of Question
        Questions in the order they are asked.
    knowledge_card : KnowledgeCard, optional
        Publicity text shown after submitting.
    """

    code: str
    version: int
    title: Text
    intro: Text | None = None
    thanks: Text | None = None
    indicators: Mapping[str, Indicator] = field(default_factory=lambda: FrozenMap())
    questions: tuple[Question, ...] = ()
    knowledge_card: KnowledgeCard | None = None
    _by_id: Mapping[str, Question] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "indicators", FrozenMap(self.indicators))
        object.__setattr__(self, "questions", tuple(self.questions))
        object.__setattr__(self, "_by_id", FrozenMap((q.id, q) for q in self.questions))

    def question(self, id: str) -> Question:
        """Return the question with ``id``; raise ``KeyError`` if there is none."""
        try:
            return self._by_id[id]
        except KeyError:
            raise KeyError(f"questionnaire {self.code!r} has no question {id!r}") from None

    @property
    def screening_questions(self) -> tuple[Question, ...]:
        """Questions that can end the questionnaire for ineligible people."""
        return tuple(q for q in self.questions if q.screening is not None)

    @property
    def interview_order(self) -> tuple[Question, ...]:
        """The questions as an interviewer asks them: the community first (the
        interviewer knows where they stand, and a screened-out interview
        still counts for its community), then screening, then the other
        weighting variables (gender, age group), then the rest, each group in
        the questionnaire's order. A question whose ``show_if`` depends on one
        that stays behind keeps its place, so every condition still looks back."""
        early_ids: set[str] = set()
        for q in self.questions:
            if (q.screening or q.variable) and (q.show_if is None or q.show_if.question in early_ids):
                early_ids.add(q.id)
        early = [q for q in self.questions if q.id in early_ids]
        where = [q for q in early if q.variable == "unit" and q.show_if is None]
        screening = [q for q in early if q.screening and q not in where]
        variables = [q for q in early if q not in where and q not in screening]
        return tuple(where + screening + variables + [q for q in self.questions if q.id not in early_ids])

    @property
    def counted_questions(self) -> tuple[Question, ...]:
        """Questions counted towards an indicator."""
        return tuple(q for q in self.questions if q.indicator is not None)

    @property
    def targets(self) -> dict[str, float]:
        """Target share per indicator key, e.g. ``{"awareness": 0.8, ...}``."""
        return {key: indicator.target for key, indicator in self.indicators.items()}

    def texts(self) -> Iterator[Text]:
        """Every Text in the questionnaire (used to check translations)."""
        yield self.title
        for optional in (self.intro, self.thanks):
            if optional is not None:
                yield optional
        for indicator in self.indicators.values():
            yield indicator.name
        for q in self.questions:
            yield q.text
            if q.help is not None:
                yield q.help
            for choice in q.options:
                yield choice.label
            if q.screening is not None:
                yield q.screening.message
        if self.knowledge_card is not None:
            yield self.knowledge_card.title
            yield from self.knowledge_card.paragraphs

