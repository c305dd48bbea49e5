"""Jinja filters for rendering questionnaire definitions, and the coded values' words (``survey.vocabulary``)."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from analysis.intervals import DEFAULT_CI_METHOD
from questions import AnswerError, Text

from . import vocabulary

ANSWER_ERROR_MESSAGES = {
    "required": _l("Please answer this question."),
    "invalid_choice": _l("Please choose one of the options given."),
    "too_few_choices": _l("Please choose at least %(min)s."),
    "too_many_choices": _l("Please choose at most %(max)s."),
    "not_a_number": _l("Please enter a number."),
    "not_an_integer": _l("Please enter a whole number."),
    "out_of_range": _l("Please enter a number from %(min)s to %(max)s."),
    "too_long": _l("Please keep it under %(max)s characters."),
}

#: Weighting variables of a report, in words (analysis.calibration names them).
WEIGHTING_VARIABLES = {
    "street": _l("street"),
    "gender": _l("gender"),
    "age_group": _l("age group"),
}


def variable_name(variable: str) -> str:
    return str(WEIGHTING_VARIABLES.get(variable, variable))


def _ci_note(note: str | None) -> str:
    """An interval's note in the interface language (Chinese words; English keeps the note)."""
    if str(get_locale()).startswith("en"):
        return note or ""
    from .renderers.report_words import ci_note_words

    return ci_note_words(note)


def localized(text: Text | None) -> str:
    if text is None:
        return ""
    return text.get(str(get_locale()))


def answer_error_message(error: AnswerError) -> str:
    message = ANSWER_ERROR_MESSAGES.get(error.code, ANSWER_ERROR_MESSAGES["invalid_choice"])
    params = {k: _plain_number(v) for k, v in (error.params or {}).items()}
    try:
        return str(message) % params if params else str(message)
    except (KeyError, TypeError, ValueError):
        return str(ANSWER_ERROR_MESSAGES["invalid_choice"])


def _plain_number(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def register(app: Flask) -> None:
    app.add_template_filter(localized, "loc")
    app.add_template_filter(answer_error_message, "answer_error")
    app.add_template_filter(variable_name, "variable_name")
    app.add_template_filter(_ci_note, "ci_note")
    app.add_template_filter(vocabulary.label, "label")
    # The coded values' words (survey.vocabulary): {{ round_kinds[round.kind] | label }}.
    app.add_template_global(vocabulary.EXCLUSION_REASONS, "exclusion_reasons")
    app.add_template_global(vocabulary.INTERVAL_METHODS, "interval_methods")
    app.add_template_global(DEFAULT_CI_METHOD, "default_ci_method")
    app.add_template_global(vocabulary.QUALITY_FLAGS, "quality_flags")
    app.add_template_global(vocabulary.RESPONSE_STATUSES, "response_statuses")
    app.add_template_global(vocabulary.ROLES, "roles")
    app.add_template_global(vocabulary.ROUND_KINDS, "round_kinds")
    app.add_template_global(vocabulary.ROUND_STATES, "round_states")
    app.add_template_global(vocabulary.VERDICTS, "verdicts")
