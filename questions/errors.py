"""Errors raised or returned by the ``questions`` package.

::

    QuestionsError (Exception)
     └── QuestionnaireError     a questionnaire file is invalid; holds every Problem
          └── QuestionnaireFileError   not readable at all (syntax, size, depth, characters)

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

__all__ = [
    "AnswerError", "AnswerErrorCode", "Problem", "QuestionnaireError", "QuestionnaireFileError", "QuestionsError",
]


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


class QuestionnaireFileError(QuestionnaireError):
    """The file cannot be read as a questionnaire at all (before its content is checked).

    ``reason`` is a machine code for the app to translate: ``too_large``,
    ``too_deep``, ``too_many_values``, ``text_too_long``, ``characters``,
    ``value_type``, ``syntax``, ``encoding`` (not UTF-8); ``line`` the file line where known (from 1),
    ``limit`` the bound that was passed, ``where`` the key path of the value
    concerned (``questions[3].text``) where known. ``str()`` is English.
    """

    def __init__(self, source: str, reason: str, message: str, *, line: int | None = None,
                 limit: int | None = None, where: str | None = None) -> None:
        super().__init__([Problem(source, None, message)])
        self.source = source
        self.reason = reason
        self.line = line
        self.limit = limit
        self.where = where


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
