"""What each question type carries: widget, export text and its inverse, tally codes, roles."""

from __future__ import annotations

import json

import pytest

from questions import QUESTION_TYPES, Question, Text, export_value, parse_questionnaire

COMMUNITIES = {"c01": "幸福社区", "c02": "和平社区"}

QUESTIONNAIRE = parse_questionnaire({
    "code": "types", "version": 1, "title": "题型",
    "indicators": {"participation": {"name": "参与率", "target": 0.7}},
    "questions": [
        {"id": "q_single", "type": "single_choice", "text": "单选",
         "options": [{"code": "a", "label": "甲"}, {"code": "18_29", "label": "18—29岁"}]},
        {"id": "q_multi", "type": "multiple_choice", "text": "多选", "indicator": "participation",
         "counts_as_yes": ["a", "b"], "excluded": ["none"],
         "options": [{"code": "a", "label": "甲"}, {"code": "b", "label": "乙"}, {"code": "c", "label": "丙"},
                     {"code": "none", "label": "都没有"}]},
        {"id": "q_sat", "type": "satisfaction5", "text": "满意吗？"},
        {"id": "q_yes", "type": "yes_no", "text": "是否？"},
        {"id": "q_int", "type": "number", "text": "年龄", "integer": True, "min": -10, "max": 130},
        {"id": "q_float", "type": "number", "text": "小时"},
        {"id": "q_text", "type": "text", "text": "建议"},
        {"id": "q_unit", "type": "community", "text": "社区"},
    ],
})

# Raw form input per question whose clean value must survive the export and come back.
INPUTS = [
    ("q_single", ["a"]), ("q_single", ["18_29"]),
    ("q_multi", ["a"]), ("q_multi", ["c", "a", "none"]),
    *(("q_sat", [code]) for code in QUESTIONNAIRE.question("q_sat").codes),
    ("q_yes", ["yes"]), ("q_yes", ["dont_know"]),
    ("q_int", ["35"]), ("q_int", ["-3"]), ("q_int", ["0"]),
    ("q_float", ["2.5"]), ("q_float", ["35"]), ("q_float", ["0.1"]), ("q_float", ["1e16"]), ("q_float", ["-7.25"]),
    ("q_text", ["多设垃圾桶"]), ("q_text", ['=HYPERLINK("x")']), ("q_text", ["-1"]), ("q_text", ["+86 123"]),
    ("q_text", ["@all"]), ("q_text", ["'quoted'"]), ("q_text", ["a;b"]), ("q_text", ["第一行\n第二行"]),
    ("q_unit", ["c02"]),
]


def clean(question_id, raw):
    question = QUESTIONNAIRE.question(question_id)
    return question, question.kind.parse(question, raw, COMMUNITIES)


def test_every_type_is_exercised():
    assert {q.type for q in QUESTIONNAIRE.questions} == set(QUESTION_TYPES)
    assert {QUESTIONNAIRE.question(qid).type for qid, _ in INPUTS} == set(QUESTION_TYPES)


def test_question_kind_is_the_registered_type():
    for question in QUESTIONNAIRE.questions:
        assert question.kind is QUESTION_TYPES[question.type]
    with pytest.raises(ValueError, match="unknown question type 'likert5'"):
        Question("q", "likert5", Text("题")).kind  # noqa: B018 - the property raises


#: Type -> (widget, multiple): which branch of templates/_macros/questions.html asks it.
WIDGETS = {
    "single_choice": ("choices", False),
    "multiple_choice": ("choices", True),
    "satisfaction5": ("choices", False),
    "yes_no": ("choices", False),
    "number": ("number", False),
    "text": ("text", False),
    "community": ("community", False),
}


@pytest.mark.parametrize("type_key", QUESTION_TYPES)
def test_widget_per_type(type_key):
    assert (QUESTION_TYPES[type_key].widget, QUESTION_TYPES[type_key].multiple) == WIDGETS[type_key]


def test_widget_table_covers_every_type():
    assert set(WIDGETS) == set(QUESTION_TYPES)


def test_roles():
    assert [key for key, t in QUESTION_TYPES.items() if t.answers_unit] == ["community"]
    assert [key for key, t in QUESTION_TYPES.items() if t.is_rating_scale] == ["satisfaction5"]
    # Only the types whose answer is an option code are asked with the choices widget.
    assert all((t.widget == "choices") == t.has_codes for t in QUESTION_TYPES.values())


@pytest.mark.parametrize("question_id, raw", INPUTS)
def test_export_text_round_trip(question_id, raw):
    question, value = clean(question_id, raw)
    assert value is not None
    cell = question.kind.export_text(question, value)
    assert cell == export_value(question, value)
    back = question.kind.parse_export_text(question, cell)
    assert back == value and type(back) is type(value)
    assert question.kind.export_text(question, back) == cell


@pytest.mark.parametrize("question", QUESTIONNAIRE.questions, ids=lambda q: q.type)
def test_missing_answer_is_an_empty_cell_and_back(question):
    assert question.kind.export_text(question, None) == ""
    assert question.kind.parse_export_text(question, "") is None
    assert question.kind.tally_codes(question, None) == ()


def test_export_text_neutralizes_formulas_in_text_only():
    text = QUESTIONNAIRE.question("q_text")
    assert text.kind.export_text(text, "=1+1") == "'=1+1"
    assert text.kind.export_text(text, "-1") == "'-1"
    assert text.kind.export_text(text, "'quoted'") == "'quoted'"
    number = QUESTIONNAIRE.question("q_int")
    assert number.kind.export_text(number, -3) == "-3"


def test_text_typed_as_apostrophe_and_formula_reads_back_without_the_apostrophe():
    # The one text the cell cannot tell apart from a neutralized formula (see questions._cells.unneutralize).
    text = QUESTIONNAIRE.question("q_text")
    assert text.kind.export_text(text, "'=x") == text.kind.export_text(text, "=x") == "'=x"
    assert text.kind.parse_export_text(text, "'=x") == "=x"


@pytest.mark.parametrize("question_id, raw", INPUTS)
def test_from_json_text_reads_what_the_database_hands_over(question_id, raw):
    question, value = clean(question_id, raw)
    # SQLite json_extract / PostgreSQL ->> give a string bare and anything else as JSON.
    text = value if isinstance(value, str) else json.dumps(value)
    assert question.kind.from_json_text(question, text) == value


@pytest.mark.parametrize("question_id, raw, codes", [
    ("q_single", ["18_29"], ("18_29",)),
    ("q_multi", ["c", "a"], ("a", "c")),
    ("q_sat", ["unknown"], ("unknown",)),
    ("q_yes", ["no"], ("no",)),
    ("q_int", ["35"], ()),
    ("q_float", ["2.5"], ()),
    ("q_text", ["a"], ()),
    ("q_unit", ["c01"], ("c01",)),
])
def test_tally_codes(question_id, raw, codes):
    question, value = clean(question_id, raw)
    assert question.kind.tally_codes(question, value) == codes


def test_tally_of_an_export_cell():
    multi = QUESTIONNAIRE.question("q_multi")
    assert multi.kind.tally_codes(multi, multi.kind.parse_export_text(multi, "a;c")) == ("a", "c")
    single = QUESTIONNAIRE.question("q_single")
    assert single.kind.tally_codes(single, single.kind.parse_export_text(single, "a")) == ("a",)


@pytest.mark.parametrize("value, expected", [
    (["a"], 1), (["c", "b"], 1), (["c"], 0), (["none"], None), (["c", "none"], 0), ([], None), (None, None),
    # A bare code, as integrity's per-code lookup table asks.
    ("a", 1), ("c", 0), ("none", None),
])
def test_multiple_choice_indicator_coding(value, expected):
    multi = QUESTIONNAIRE.question("q_multi")
    assert multi.kind.indicator_value(multi, value) == expected


def test_indicator_coding_of_a_single_code():
    sat = QUESTIONNAIRE.question("q_sat")
    assert [sat.kind.indicator_value(sat, code) for code in sat.codes] == [1, 1, 0, 0, 0, None]
