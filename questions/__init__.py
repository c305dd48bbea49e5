"""Questionnaire definitions for Minyi: schema, question types, loading and answers.

This package is pure Python (plus PyYAML): it imports no Flask, SQLAlchemy
or ``survey`` code, so that definitions can be validated and answers
processed anywhere (CLI, tests, exporter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .answers import AnswerSet, evaluate_answers, indicator_value, score_value
from .bounded import check_definition, read_questionnaire_file, read_yaml
from .codebook import codebook_rows, export_value
from .errors import AnswerError, Problem, QuestionnaireError, QuestionnaireFileError, QuestionsError
from .loader import load_questionnaire, load_questionnaire_text, parse_questionnaire
from .schema import (
    Choice,
    Condition,
    Indicator,
    KnowledgeCard,
    Question,
    Questionnaire,
    Screening,
    Text,
)
from .types import QUESTION_TYPES, QuestionType, get_type

__all__ = [
    "QUESTION_TYPES",
    "STANDARD_QUESTIONNAIRE_PATH",
    "AnswerError",
    "AnswerSet",
    "Choice",
    "Condition",
    "Indicator",
    "KnowledgeCard",
    "Problem",
    "Question",
    "QuestionType",
    "Questionnaire",
    "QuestionnaireError",
    "QuestionnaireFileError",
    "QuestionsError",
    "Screening",
    "Text",
    "check_definition",
    "codebook_rows",
    "evaluate_answers",
    "export_value",
    "get_type",
    "indicator_value",
    "load_questionnaire",
    "load_questionnaire_text",
    "load_standard",
    "standard_definition",
    "parse_questionnaire",
    "read_questionnaire_file",
    "read_yaml",
    "score_value",
]

#: The shipped standard civilization-city questionnaire (创文 群众满意度调查问卷).
STANDARD_QUESTIONNAIRE_PATH: Path = (
    Path(__file__).resolve().parent / "bank" / "civilization_standard.yaml"
)


def load_standard() -> Questionnaire:
    """Load the shipped standard questionnaire.

    :raises QuestionnaireError: if the shipped file is broken (a packaging bug).
    """
    return load_questionnaire(STANDARD_QUESTIONNAIRE_PATH)


def standard_definition() -> Any:
    """The shipped standard questionnaire's definition (a fresh mapping each call), not yet validated."""
    return read_questionnaire_file(STANDARD_QUESTIONNAIRE_PATH.name, STANDARD_QUESTIONNAIRE_PATH.read_bytes())
