"""Schema objects, the type registry and the package's import boundary."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import questions
from questions import (
    QUESTION_TYPES,
    Choice,
    Condition,
    Indicator,
    Question,
    Questionnaire,
    Screening,
    Text,
    get_type,
)


@pytest.mark.parametrize(
    "locale, expected",
    [("zh", "满意"), ("zh_CN", "满意"), ("en", "Satisfied"), ("en_US", "Satisfied"),
     ("en-GB", "Satisfied"), ("fr", "满意")],
)
def test_text_get(locale, expected):
    assert Text("满意", "Satisfied").get(locale) == expected


def test_text_falls_back_to_chinese():
    assert Text("满意").get("en") == "满意"
    assert str(Text("满意", "Satisfied")) == "满意"


@pytest.mark.parametrize(
    "answers, met",
    [({"q1": "yes"}, True), ({"q1": "no"}, False), ({}, False), ({"q1": None}, False),
     ({"q1": ["a", "yes"]}, True), ({"q1": ["a", "b"]}, False), ({"q1": []}, False)],
)
def test_condition_is_met(answers, met):
    assert Condition("q1", frozenset({"yes", "dont_know"})).is_met(answers) is met


def test_schema_objects_are_frozen_and_hashable():
    q = Question("q1", "satisfaction5", Text("满意吗"), scores={"a": 1.0}, options=[
        Choice("a", Text("甲"))])
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.required = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        q.scores["a"] = 2  # type: ignore[index]
    assert isinstance(q.options, tuple)
    assert hash(q) == hash(Question("q1", "satisfaction5", Text("满意吗"), scores={"a": 1.0},
                                    options=(Choice("a", Text("甲")),)))
    assert q.scores == {"a": 1.0}


def test_questionnaire_helpers():
    screen = Question("q_adult", "yes_no", Text("成年？"),
                      screening=Screening(frozenset({"yes"}), Text("谢谢")))
    aware = Question("q_aware", "yes_no", Text("知道吗？"), indicator="awareness",
                     counts_as_yes=frozenset({"yes"}))
    note = Question("q_note", "text", Text("建议"), required=False)
    q = Questionnaire(
        "drill", 1, Text("问卷"),
        indicators={"awareness": Indicator("awareness", Text("知晓率"), 0.8)},
        questions=[screen, aware, note],
    )
    assert q.question("q_aware") is aware
    with pytest.raises(KeyError, match="q_missing"):
        q.question("q_missing")
    assert q.screening_questions == (screen,)
    assert q.counted_questions == (aware,)
    assert q.targets == {"awareness": 0.8}
    assert aware.column == "q_aware"
    assert dataclasses.replace(aware, variable="aware").column == "aware"


def test_type_registry():
    assert list(QUESTION_TYPES) == [
        "single_choice", "multiple_choice", "satisfaction5", "yes_no", "number", "text",
        "community",
    ]
    with pytest.raises(ValueError, match="valid types: single_choice"):
        get_type("likert5")
    assert get_type("text").countable is False
    assert get_type("satisfaction5").countable is True


def test_public_api_is_exported():
    for name in questions.__all__:
        assert hasattr(questions, name), name
    assert questions.STANDARD_QUESTIONNAIRE_PATH.is_file()


FORBIDDEN = ("flask", "flask_wtf", "flask_sqlalchemy", "flask_babel", "flask_login",
             "sqlalchemy", "survey", "werkzeug", "jinja2")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_questions_imports_no_framework_code():
    # Walks every module, including function-level imports (which slip through review).
    package = Path(questions.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert len(files) >= 7
    for path in files:
        bad = imported_modules(path) & set(FORBIDDEN)
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_import_checker_catches_a_forbidden_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("def f():\n    from flask import current_app\n    import sqlalchemy.orm\n")
    assert imported_modules(sample) >= {"flask", "sqlalchemy"}
