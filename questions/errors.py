"""Errors raised or returned by the ``questions`` package.

::

    QuestionsError (Exception)
     └── QuestionnaireError     a questionnaire file is invalid; holds every Problem

    Problem                     one problem in a file (value object, not raised)
    AnswerError                 one invalid answer (value object, not raised); the
                                web app translates its machine ``code``

Answer errors are values rather than exceptions because a form shows all of
them at once, next to their questions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["AnswerError", "AnswerErrorCode", "Problem", "QuestionnaireError", "QuestionsError"]


class QuestionsError(Exception):
    """Base class of the errors raised by the ``questions`` package."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a questionnaire file.

    Parameters
    ----------
    source : str
        File name (or ``"<data>"``) the problem was found in.
    question_id : str or None
        Id of the question concerned (``"#3"`` for a question without a
        usable id), or None for a problem outside the questions.
    message : str
        What is wrong, in English, naming the key and the offending value.
    """

    source: str
    question_id: str | None
    message: str

    def __str__(self) -> str:
        if self.question_id is None:
            return f"{self.source}: {self.message}"
        return f"{self.source}: question {self.question_id}: {self.message}"


class QuestionnaireError(QuestionsError):
    """A questionnaire definition is invalid.

    ``str(error)`` is one line per problem, so a CLI can print it as is and
    office staff can fix every problem in one pass.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


AnswerErrorCode = Literal[
    "required",
    "invalid_choice",
    "too_few_choices",
    "too_many_choices",
    "not_a_number",
    "not_an_integer",
    "out_of_range",
    "too_long",
]


@dataclass(frozen=True)
class AnswerError:
    """One invalid answer.

    Parameters
    ----------
    code : str
        Machine code (see ``AnswerErrorCode``); the app turns it into a
        localized message.
    params : dict
        Values for the message, e.g. ``{"min": 1, "max": 3}``.
    """

    code: AnswerErrorCode
    # A plain dict (not a read-only view) so the app can pass it straight to
    # gettext formatting or json.dumps.
    params: dict[str, Any] = field(default_factory=dict)
