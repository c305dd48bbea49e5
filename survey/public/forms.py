"""The answer form's fixed part. The questions themselves are rendered from
the questionnaire definition and validated by ``questions.evaluate_answers``,
which the exporter and the analysis share; WTForms carries CSRF and the ticket."""

from flask_wtf import FlaskForm
from wtforms import HiddenField


class AnswerForm(FlaskForm):
    ticket = HiddenField()


ANSWER_FIELD_PREFIX = "q_"


def raw_answers(form_data) -> dict[str, list[str]]:
    """Question id -> submitted strings, from fields named ``q_<question id>``."""
    return {
        key[len(ANSWER_FIELD_PREFIX):]: form_data.getlist(key)
        for key in form_data
        if key.startswith(ANSWER_FIELD_PREFIX)
    }
