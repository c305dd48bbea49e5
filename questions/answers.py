"""Pure answer processing, shared by the web form and the exporter.

``evaluate_answers`` turns raw form input into clean answers and errors;
``indicator_value`` and ``score_value`` turn one clean answer into what the
rate and index estimators count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import AnswerError
from .schema import Question, Questionnaire
from .types import QUESTION_TYPES, InvalidAnswer

__all__ = ["AnswerError", "AnswerSet", "evaluate_answers", "indicator_value", "score_value"]


@dataclass(frozen=True)
class AnswerSet:
    """The outcome of evaluating one submission.

    Parameters
    ----------
    answers : dict
        Clean values by question id, in question order; blank optional and
        skipped questions are absent.
    errors : dict of str to AnswerError
        Invalid answers by question id.
    screened_out_by : str or None
        Id of the screening question that ended the questionnaire, if any.
    """

    answers: dict[str, object] = field(default_factory=dict)
    errors: dict[str, AnswerError] = field(default_factory=dict)
    screened_out_by: str | None = None

    @property
    def is_valid(self) -> bool:
        """True when there are no errors (a screened-out submission can be valid)."""
        return not self.errors

    @property
    def screened_out(self) -> bool:
        return self.screened_out_by is not None


def evaluate_answers(
    questionnaire: Questionnaire,
    raw: Mapping[str, Sequence[str]],
    community_options: Mapping[str, str] | None = None,
) -> AnswerSet:
    """Check raw form input against a questionnaire.

    Questions are evaluated in order. A question whose ``show_if`` is not met
    is skipped: its input is ignored and it is never required. When a
    screening question gets an ineligible answer, evaluation stops there and
    later questions are neither answered nor checked.

    Parameters
    ----------
    questionnaire : Questionnaire
    raw : Mapping of str to list of str
        Input values by question id, as from ``request.form.getlist(id)``
        (e.g. ``{k: form.getlist(k) for k in form}``).
    community_options : Mapping of str to str, optional
        Allowed unit codes and names for ``community`` questions; required
        when the questionnaire has one.

    Returns
    -------
    AnswerSet

    :raises ValueError: if the questionnaire has a community question and no
        ``community_options`` are given (a programming error, not bad input).
    """
    if community_options is None and any(q.kind.answers_unit for q in questionnaire.questions):
        raise ValueError(
            f"questionnaire {questionnaire.code!r} asks for the community: "
            f"pass community_options"
        )
    answers: dict[str, object] = {}
    errors: dict[str, AnswerError] = {}
    for question in questionnaire.questions:
        if question.show_if is not None and not question.show_if.is_met(answers):
            continue
        qtype = QUESTION_TYPES[question.type]
        try:
            value = qtype.parse(question, raw.get(question.id, ()), community_options)
        except InvalidAnswer as exc:
            errors[question.id] = AnswerError(exc.code, dict(exc.params))  # type: ignore[arg-type]
            continue
        if value is None:
            if question.required:
                errors[question.id] = AnswerError("required", {})
            continue
        answers[question.id] = value
        screening = question.screening
        if screening is not None and value not in screening.eligible:
            return AnswerSet(answers, errors, screened_out_by=question.id)
    return AnswerSet(answers, errors)


def indicator_value(question: Question, value: object) -> int | None:
    """What one answer contributes to its question's indicator rate.

    Returns 1 if the answer counts as yes, 0 if it counts as no, and None if
    the answer is missing or excluded from the rate (e.g. 不了解). For
    multiple choice, 1 if any selected code counts as yes; None if every
    selected code is excluded.

    :raises ValueError: if the question is not counted towards an indicator.
    """
    if question.indicator is None:
        raise ValueError(f"question {question.id!r} is not counted towards an indicator")
    return question.kind.indicator_value(question, value)


def score_value(question: Question, value: object) -> float | None:
    """Points one answer scores for a satisfaction index, None if unscored.

    Missing answers and codes without a score (e.g. 不了解) give None, so
    they drop out of the average.

    :raises ValueError: if the question has no ``scores``.
    """
    if question.scores is None:
        raise ValueError(f"question {question.id!r} has no scores")
    if value is None or not isinstance(value, str):
        return None
    return question.scores.get(value)
