"""One reader of questionnaire files (questions.read_questionnaire_file)."""

from __future__ import annotations

import pytest

from questions import (
    STANDARD_QUESTIONNAIRE_PATH,
    QuestionnaireFileError,
    load_questionnaire,
    load_standard,
    parse_questionnaire,
    read_questionnaire_file,
    standard_definition,
)
from questions.bounded import MAX_FILE_CHARACTERS


def test_utf8_with_or_without_a_byte_order_mark():
    text = "title: {zh: 测评, en: Survey}\n"
    assert read_questionnaire_file("q.yaml", text.encode()) == {"title": {"zh": "测评", "en": "Survey"}}
    assert read_questionnaire_file("q.yaml", b"\xef\xbb\xbf" + text.encode()) == {"title": {"zh": "测评", "en": "Survey"}}


def test_other_encodings_and_oversized_files_are_refused_with_a_reason():
    with pytest.raises(QuestionnaireFileError) as caught:
        read_questionnaire_file("gbk.yaml", "title: 测评\n".encode("gb18030"))
    assert (caught.value.reason, caught.value.source) == ("encoding", "gbk.yaml")
    with pytest.raises(QuestionnaireFileError) as caught:
        read_questionnaire_file("big.yaml", b"#" * (4 * MAX_FILE_CHARACTERS + 1))
    assert caught.value.reason == "too_large"


def test_the_standard_definition_is_a_fresh_copy_of_the_shipped_file():
    first = standard_definition()
    first["version"] = -1
    assert standard_definition()["version"] != -1
    assert parse_questionnaire(standard_definition()) == load_standard() == load_questionnaire(STANDARD_QUESTIONNAIRE_PATH)
