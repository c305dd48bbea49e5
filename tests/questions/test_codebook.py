"""Codebook rows and CSV cell values."""

from __future__ import annotations

import pytest

from questions import Question, Text, codebook_rows, export_value, load_standard


@pytest.fixture(scope="module")
def standard():
    return load_standard()


def by_column(rows):
    return {row["column"]: row for row in rows}


def test_codebook_has_one_row_per_question(standard):
    rows = codebook_rows(standard)
    assert len(rows) == len(standard.questions)
    assert all(set(row) == {"column", "question", "type", "values", "indicator",
                            "counts_as_yes", "excluded"} for row in rows)
    assert all(isinstance(v, str) for row in rows for v in row.values())


def test_codebook_satisfaction_row(standard):
    q = next(q for q in standard.questions if q.indicator == "satisfaction_window")
    row = by_column(codebook_rows(standard))[q.id]
    assert row["type"] == "satisfaction5"
    assert row["question"] == q.text.zh
    assert row["values"] == (
        "very_satisfied=满意; satisfied=比较满意; neutral=一般; dissatisfied=不太满意; "
        "very_dissatisfied=不满意; unknown=不了解"
    )
    assert row["indicator"] == "satisfaction_window"
    assert row["counts_as_yes"] == "very_satisfied; satisfied"
    assert row["excluded"] == "unknown"


def test_codebook_english(standard):
    rows = by_column(codebook_rows(standard, locale="en"))
    assert rows["gender"]["values"] == "male=Male; female=Female"
    assert rows["gender"]["question"] == "Your gender"
    assert rows["unit"]["values"] == "community (unit) code, supplied by the system"


def test_codebook_uses_variable_as_column(standard):
    rows = by_column(codebook_rows(standard))
    assert {"gender", "age_group", "unit"} <= set(rows)
    assert rows["age_group"]["values"].startswith("18_29=18—29岁; ")
    assert rows["gender"]["indicator"] == "" and rows["gender"]["counts_as_yes"] == ""


def test_codebook_number_and_text_descriptions():
    from questions import Questionnaire

    q = Questionnaire(
        "x", 1, Text("x"),
        questions=(
            Question("q_age", "number", Text("年龄"), min=18, max=120, integer=True),
            Question("q_hours", "number", Text("小时"), min=0),
            Question("q_note", "text", Text("建议"), max_length=300),
        ),
    )
    zh = by_column(codebook_rows(q))
    assert zh["q_age"]["values"] == "整数 18至120"
    assert zh["q_hours"]["values"] == "数字 ≥ 0"
    assert zh["q_note"]["values"] == "文字 (最多300字)"
    en = by_column(codebook_rows(q, locale="en_US"))
    assert en["q_age"]["values"] == "whole number 18 to 120"


@pytest.mark.parametrize(
    "qtype, value, cell",
    [
        ("single_choice", "support", "support"),
        ("multiple_choice", ["volunteer", "cleanup"], "volunteer;cleanup"),
        ("multiple_choice", [], ""),
        ("number", 35, "35"),
        ("number", 35.0, "35"),
        ("number", 2.5, "2.5"),
        ("text", "多设垃圾桶", "多设垃圾桶"),
        ("text", "=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
        ("text", "-1", "'-1"),
        ("community", "c01", "c01"),
        ("satisfaction5", None, ""),
    ],
)
def test_export_value(qtype, value, cell):
    q = Question("q", qtype, Text("题"))
    assert export_value(q, value) == cell


def test_export_value_negative_number_is_plain():
    assert export_value(Question("q", "number", Text("题")), -3) == "-3"
