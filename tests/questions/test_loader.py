"""Validation of questionnaire definitions: every broken file gives its precise error."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from questions import (
    STANDARD_QUESTIONNAIRE_PATH,
    Questionnaire,
    QuestionnaireError,
    Text,
    load_questionnaire,
    load_questionnaire_text,
    load_standard,
    parse_questionnaire,
)

SOURCE = "drill.yaml"


def valid() -> dict:
    """A small valid definition; each test breaks one thing in a fresh copy."""
    return copy.deepcopy(
        {
            "code": "drill",
            "version": 1,
            "title": {"zh": "测试问卷", "en": "Test questionnaire"},
            "indicators": {
                "awareness": {"name": "知晓率", "target": 0.8},
                "support": {"name": {"zh": "支持率", "en": "Support"}, "target": 0.7},
            },
            "questions": [
                {
                    "id": "q_adult",
                    "type": "yes_no",
                    "allow_dont_know": False,
                    "text": "您是否年满18周岁？",
                    "screening": {"eligible": ["yes"], "message": "感谢您的支持！"},
                },
                {"id": "q_aware", "type": "yes_no", "text": "您知道吗？", "indicator": "awareness"},
                {
                    "id": "q_support",
                    "type": "single_choice",
                    "text": "您是否支持？",
                    "options": [
                        {"code": "support", "label": "支持"},
                        {"code": "oppose", "label": "不支持"},
                    ],
                    "indicator": "support",
                    "counts_as_yes": ["support"],
                },
                {"id": "q_sat", "type": "satisfaction5", "text": "您是否满意？"},
                {"id": "q_age", "type": "number", "text": "您的年龄", "min": 18, "max": 120},
                {"id": "q_note", "type": "text", "text": "建议", "required": False},
            ],
        }
    )


def question(data: dict, qid: str) -> dict:
    return next(q for q in data["questions"] if q["id"] == qid)


def problems(data: object) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(data, source=SOURCE)
    lines = str(info.value).splitlines()
    assert lines == [str(p) for p in info.value.problems]
    return lines


def test_valid_definition_parses():
    q = parse_questionnaire(valid(), source=SOURCE)
    assert isinstance(q, Questionnaire)
    assert [x.id for x in q.questions] == [
        "q_adult", "q_aware", "q_support", "q_sat", "q_age", "q_note"
    ]
    assert q.title == Text("测试问卷", "Test questionnaire")
    assert q.question("q_support").counts_as_yes == {"support"}
    assert q.question("q_aware").codes == ("yes", "no", "dont_know")
    assert q.question("q_adult").codes == ("yes", "no")
    assert q.question("q_note").max_length == 500  # safe default
    assert q.question("q_age").required is True


# -- file-level problems -----------------------------------------------------------------


def test_yaml_syntax_error_names_line():
    text = "code: drill\nversion: 1\nquestions: [\n  {id: q1,\n"
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire_text(text, source="broken.yaml")
    (line,) = str(info.value).splitlines()
    assert line.startswith("broken.yaml: YAML syntax error at line ")
    assert info.value.problems[0].question_id is None


def test_yaml_syntax_error_line_number_is_the_bad_line():
    text = "code: drill\nversion: 1\ntitle: x\ntitle2: a: b\n"
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire_text(text, source="broken.yaml")
    assert "line 4," in str(info.value)


@pytest.mark.parametrize("data, kind", [([1, 2], "a list"), ("hello", "the text 'hello'"),
                                        (None, "nothing")])
def test_top_level_not_a_mapping(data, kind):
    assert problems(data) == [
        f"{SOURCE}: the top level must be a mapping of keys such as 'code' and 'questions' "
        f"(got {kind})"
    ]


@pytest.mark.parametrize("key", ["code", "version", "title", "questions"])
def test_missing_required_key(key):
    data = valid()
    del data[key]
    lines = problems(data)
    assert f"{SOURCE}: missing required key {key!r}" in lines


@pytest.mark.parametrize("version, shown", [(0, "the number 0"), (-2, "the number -2"),
                                            ("1", "the text '1'"), (1.5, "the number 1.5"),
                                            (True, "true")])
def test_version_must_be_positive_int(version, shown):
    data = valid()
    data["version"] = version
    assert problems(data) == [
        f"{SOURCE}: 'version' must be a positive whole number (got {shown})"
    ]


def test_unknown_top_level_key_suggests_fix():
    data = valid()
    data["titel"] = "x"
    assert problems(data) == [f"{SOURCE}: unknown top-level key 'titel' (did you mean 'title'?)"]


@pytest.mark.parametrize("target", [0, 1.2, 80, -0.5, "0.8"])
def test_target_must_be_share(target):
    data = valid()
    data["indicators"]["awareness"]["target"] = target
    (line,) = problems(data)
    assert line.startswith(f"{SOURCE}: indicator 'awareness': target must be a share in (0, 1]")


def test_target_percent_hint():
    data = valid()
    data["indicators"]["awareness"]["target"] = 80
    assert problems(data)[0].endswith("(write 80% as 0.80)")


def test_target_of_one_is_allowed():
    data = valid()
    data["indicators"]["awareness"]["target"] = 1
    assert parse_questionnaire(data).targets["awareness"] == 1.0


def test_declared_indicator_without_question():
    data = valid()
    data["indicators"]["safety"] = {"name": "安全感", "target": 0.8}
    assert problems(data) == [
        f"{SOURCE}: indicator 'safety' is declared but no question counts towards it"
    ]


# -- question-level problems -------------------------------------------------------------


def test_duplicate_question_id():
    data = valid()
    question(data, "q_sat")["id"] = "q_aware"
    assert problems(data) == [
        f"{SOURCE}: question q_aware: duplicate question id 'q_aware' (first used by question #2)"
    ]


@pytest.mark.parametrize("bad", ["Q1", "1q", "q-1", "q 1", ""])
def test_invalid_id(bad):
    data = valid()
    question(data, "q_sat")["id"] = bad
    label = bad or "#4"
    assert problems(data) == [
        f"{SOURCE}: question {label}: invalid id {bad!r} "
        f"(use a lowercase letter followed by lowercase letters, digits or _; at most 64 characters)"
    ]


def test_missing_id_uses_position():
    data = valid()
    del question(data, "q_sat")["id"]
    assert problems(data) == [f"{SOURCE}: question #4: missing 'id'"]


def test_unknown_type_lists_valid_ones():
    data = valid()
    question(data, "q_sat")["type"] = "likert"
    assert problems(data) == [
        f"{SOURCE}: question q_sat: unknown type 'likert' (valid types: single_choice, "
        "multiple_choice, satisfaction5, yes_no, number, text, community)"
    ]


def test_missing_text():
    data = valid()
    del question(data, "q_sat")["text"]
    assert problems(data) == [f"{SOURCE}: question q_sat: missing 'text'"]


def test_text_mapping_without_zh():
    data = valid()
    question(data, "q_sat")["text"] = {"en": "Are you satisfied?"}
    assert problems(data) == [f"{SOURCE}: question q_sat: 'text' has no 'zh' (Chinese) entry"]


def test_text_with_unknown_language():
    data = valid()
    question(data, "q_sat")["text"] = {"zh": "满意吗", "fr": "Satisfait ?"}
    assert problems(data) == [
        f"{SOURCE}: question q_sat: 'text': unknown language 'fr' (use 'zh' and 'en')"
    ]


def test_text_plain_string_is_chinese_and_mapping_keeps_english():
    data = valid()
    question(data, "q_sat")["text"] = {"zh": "满意吗", "en": "Satisfied?"}
    q = parse_questionnaire(data)
    assert q.question("q_sat").text == Text("满意吗", "Satisfied?")
    assert q.question("q_aware").text == Text("您知道吗？", None)


def test_choice_question_without_options():
    data = valid()
    del question(data, "q_support")["options"]
    assert problems(data) == [
        f"{SOURCE}: question q_support: single_choice questions need 'options'"
    ]


def test_empty_options():
    data = valid()
    question(data, "q_support")["options"] = []
    assert problems(data) == [
        f"{SOURCE}: question q_support: 'options' must be a non-empty list (got a list)"
    ]


def test_duplicate_option_codes():
    data = valid()
    question(data, "q_support")["options"].append({"code": "support", "label": "很支持"})
    assert problems(data) == [f"{SOURCE}: question q_support: duplicate option code 'support'"]


def test_unquoted_yes_code_is_explained():
    text = yaml.safe_dump(valid(), allow_unicode=True).replace("- 'yes'", "- yes")
    assert "- yes" in text
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire_text(text, source=SOURCE)
    assert str(info.value) == (
        f"{SOURCE}: question q_adult: screening: eligible: code true is not a code: YAML reads "
        'unquoted yes/no/on/off as true/false, so put the code in quotes, e.g. "yes"'
    )


def test_numeric_code_is_explained():
    data = valid()
    question(data, "q_support")["options"][0]["code"] = 1829  # what YAML makes of 18_29
    (line,) = problems(data)
    assert line.startswith(f"{SOURCE}: question q_support: option #1: code 1829 is a number")


def test_show_if_unknown_question():
    data = valid()
    question(data, "q_sat")["show_if"] = {"question": "q_nope", "any_of": ["yes"]}
    assert problems(data) == [
        f"{SOURCE}: question q_sat: show_if refers to unknown question 'q_nope'"
    ]


def test_show_if_later_question():
    data = valid()
    question(data, "q_aware")["show_if"] = {"question": "q_support", "any_of": ["support"]}
    assert problems(data) == [
        f"{SOURCE}: question q_aware: show_if refers to question 'q_support', which does not "
        "come before this one; show_if may only refer to earlier questions"
    ]


def test_show_if_self():
    data = valid()
    question(data, "q_aware")["show_if"] = {"question": "q_aware", "any_of": ["yes"]}
    assert "which does not come before this one" in problems(data)[0]


def test_show_if_unknown_code():
    data = valid()
    question(data, "q_sat")["show_if"] = {"question": "q_aware", "any_of": ["maybe"]}
    assert problems(data) == [
        f"{SOURCE}: question q_sat: show_if: question 'q_aware' has no option 'maybe' "
        "(options: yes, no, dont_know)"
    ]


def test_show_if_on_number_question():
    data = valid()
    question(data, "q_note")["show_if"] = {"question": "q_age", "any_of": ["18"]}
    assert problems(data) == [
        f"{SOURCE}: question q_note: show_if refers to question 'q_age', which is a number "
        "question; show_if needs a choice question"
    ]


def test_show_if_malformed():
    data = valid()
    question(data, "q_sat")["show_if"] = "q_aware"
    assert problems(data) == [
        f"{SOURCE}: question q_sat: show_if must be a mapping with 'question' and 'any_of'"
    ]


def test_show_if_empty_any_of():
    data = valid()
    question(data, "q_sat")["show_if"] = {"question": "q_aware", "any_of": []}
    assert problems(data) == [
        f"{SOURCE}: question q_sat: show_if: 'any_of' lists no codes, so the question would "
        "never be shown"
    ]


def test_show_if_valid():
    data = valid()
    question(data, "q_sat")["show_if"] = {"question": "q_aware", "any_of": ["yes", "dont_know"]}
    cond = parse_questionnaire(data).question("q_sat").show_if
    assert cond.question == "q_aware"
    assert cond.any_of == {"yes", "dont_know"}


def test_screening_code_not_an_option():
    data = valid()
    question(data, "q_adult")["screening"]["eligible"] = ["yes", "dont_know"]
    assert problems(data) == [
        f"{SOURCE}: question q_adult: screening: eligible code 'dont_know' is not an option "
        "(options: yes, no)"
    ]


def test_screening_with_no_eligible_codes():
    data = valid()
    question(data, "q_adult")["screening"]["eligible"] = []
    assert problems(data) == [
        f"{SOURCE}: question q_adult: screening: 'eligible' lists no codes, so nobody could "
        "continue"
    ]


def test_empty_questions_list():
    data = valid()
    data["questions"] = None
    assert problems(data) == [f"{SOURCE}: 'questions' must be a non-empty list (got nothing)"]


def test_screening_on_non_choice_question():
    data = valid()
    question(data, "q_age")["screening"] = {"eligible": ["18"], "message": "谢谢"}
    assert problems(data) == [
        f"{SOURCE}: question q_age: screening on a number question: only single_choice, "
        "satisfaction5, yes_no questions can screen"
    ]


def test_screening_needs_message_and_required():
    data = valid()
    q = question(data, "q_adult")
    q["required"] = False
    del q["screening"]["message"]
    assert problems(data) == [
        f"{SOURCE}: question q_adult: a screening question must be required",
        f"{SOURCE}: question q_adult: screening has no 'message' for people who are not eligible",
    ]


def test_unknown_indicator_lists_known():
    data = valid()
    question(data, "q_aware")["indicator"] = "awarenes"
    # No follow-up "awareness is declared but unused": the typo is the one problem.
    assert problems(data) == [
        f"{SOURCE}: question q_aware: unknown indicator 'awarenes' (known: awareness, support)"
    ]


def test_counts_as_yes_unknown_code():
    data = valid()
    question(data, "q_support")["counts_as_yes"] = ["support", "strong"]
    assert problems(data) == [
        f"{SOURCE}: question q_support: counts_as_yes: unknown code 'strong' "
        "(options: support, oppose)"
    ]


def test_excluded_unknown_code():
    data = valid()
    question(data, "q_sat")["excluded"] = ["unknown", "no_idea"]
    assert problems(data) == [
        f"{SOURCE}: question q_sat: excluded: unknown code 'no_idea' (options: very_satisfied, "
        "satisfied, neutral, dissatisfied, very_dissatisfied, unknown)"
    ]


def test_counted_choice_question_needs_counts_as_yes():
    data = valid()
    del question(data, "q_support")["counts_as_yes"]
    assert problems(data) == [
        f"{SOURCE}: question q_support: counted towards 'support' but no code counts: "
        "add 'counts_as_yes'"
    ]


@pytest.mark.parametrize("qid, qtype", [("q_note", "text"), ("q_age", "number")])
def test_counted_question_of_uncountable_type(qid, qtype):
    data = valid()
    question(data, qid)["indicator"] = "awareness"
    assert problems(data) == [
        f"{SOURCE}: question {qid}: {qtype} questions cannot be counted towards an indicator "
        "(only single_choice, multiple_choice, satisfaction5, yes_no can)"
    ]


def test_number_min_greater_than_max():
    data = valid()
    question(data, "q_age")["min"] = 130
    assert problems(data) == [f"{SOURCE}: question q_age: min (130) is greater than max (120)"]


def test_unknown_key_typo_in_question():
    data = valid()
    question(data, "q_support")["requried"] = False
    assert problems(data) == [
        f"{SOURCE}: question q_support: unknown key 'requried' (did you mean 'required'?)"
    ]


def test_key_of_another_type():
    data = valid()
    question(data, "q_support")["max_length"] = 10
    assert problems(data) == [
        f"{SOURCE}: question q_support: key 'max_length' does not apply to single_choice "
        "questions (it is for text)"
    ]


def test_labels_for_unknown_code():
    data = valid()
    question(data, "q_adult")["labels"] = {"dont_know": "说不清"}
    assert problems(data) == [
        f"{SOURCE}: question q_adult: labels: 'dont_know' is not an option of this question "
        "(options: yes, no)"
    ]


def test_labels_reword_fixed_options():
    data = valid()
    question(data, "q_aware")["labels"] = {"yes": {"zh": "知道", "en": "I know"}}
    q = parse_questionnaire(data).question("q_aware")
    assert q.option("yes").label == Text("知道", "I know")
    assert q.option("no").label.zh == "否"


def test_multiple_choice_limits_checked():
    data = valid()
    data["questions"].append({
        "id": "q_improve", "type": "multiple_choice", "text": "改进", "min_choices": 3,
        "max_choices": 2, "options": [{"code": "a", "label": "甲"}, {"code": "b", "label": "乙"}],
    })
    assert problems(data) == [
        f"{SOURCE}: question q_improve: min_choices (3) is greater than max_choices (2)",
        f"{SOURCE}: question q_improve: min_choices (3) is more than the number of options (2)",
    ]


def test_variable_clash_and_duplicate():
    data = valid()
    question(data, "q_age")["variable"] = "q_sat"
    question(data, "q_sat")["variable"] = "age"
    question(data, "q_support")["variable"] = "age"
    assert problems(data) == [
        f"{SOURCE}: question q_sat: variable 'age' is already provided by question 'q_support'",
        f"{SOURCE}: question q_age: variable 'q_sat' is also a question id; choose another name",
    ]


def test_several_problems_all_reported_in_order():
    data = valid()
    data["version"] = "v1"
    question(data, "q_aware")["indicator"] = "awarenes"
    question(data, "q_sat")["type"] = "likert"
    question(data, "q_age")["min"] = 200
    question(data, "q_note")["text"] = {"en": "Suggestions"}
    lines = problems(data)
    assert lines[0] == f"{SOURCE}: 'version' must be a positive whole number (got the text 'v1')"
    assert lines[1].startswith(f"{SOURCE}: question q_aware: unknown indicator 'awarenes'")
    assert lines[2].startswith(f"{SOURCE}: question q_sat: unknown type 'likert'")
    assert lines[3] == f"{SOURCE}: question q_age: min (200) is greater than max (120)"
    assert lines[4] == f"{SOURCE}: question q_note: 'text' has no 'zh' (Chinese) entry"
    assert len(lines) == 5
    err_ids = [p.question_id for p in QuestionnaireError_problems(data)]
    assert err_ids == [None, "q_aware", "q_sat", "q_age", "q_note"]


def QuestionnaireError_problems(data):  # noqa: N802 - reads as "the error's problems"
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(data, source=SOURCE)
    return info.value.problems


def test_load_questionnaire_reports_file_name(tmp_path):
    data = valid()
    question(data, "q_aware")["indicator"] = "awarenes"
    path = tmp_path / "standard.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    assert str(info.value) == (
        "standard.yaml: question q_aware: unknown indicator 'awarenes' (known: awareness, support)"
    )
    assert info.value.problems[0].source == "standard.yaml"


# -- the shipped standard questionnaire ------------------------------------------------

EXPECTED_TARGETS = {
    "awareness": 0.80,
    "support": 0.70,
    "participation": 0.70,
    "satisfaction": 0.80,
    "satisfaction_sanitation": 0.80,
    "satisfaction_order": 0.80,
    "safety": 0.80,
    "satisfaction_traffic": 0.60,
    "satisfaction_community": 0.80,
    "satisfaction_window": 0.85,
    "integrity": 0.80,
    "core_values": 0.70,
}


@pytest.fixture(scope="module")
def standard() -> Questionnaire:
    return load_standard()


def test_standard_indicators_and_targets(standard):
    assert standard.targets == pytest.approx(EXPECTED_TARGETS)
    counted = {q.indicator for q in standard.counted_questions}
    assert counted == set(EXPECTED_TARGETS)


def test_standard_every_text_has_zh_and_en(standard):
    texts = list(standard.texts())
    assert len(texts) > 60
    for text in texts:
        assert text.zh.strip() and text.en and text.en.strip(), text
        # Chinese text should read as Chinese, not as a leftover English line.
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh), text


def test_standard_structure(standard):
    ids = [q.id for q in standard.questions]
    assert 15 <= len(ids) <= 25  # about three minutes on a phone
    screens = standard.screening_questions
    assert [q.id for q in screens] == ids[:2]
    for q in screens:
        assert q.screening.eligible == {"yes"} and q.screening.message.zh
    # Demographics come last, for weighting.
    assert [q.variable for q in standard.questions[-3:]] == ["gender", "age_group", "unit"]
    assert standard.questions[-1].type == "community"
    assert standard.question(ids[-3]).codes == ("male", "female")
    assert standard.question(ids[-2]).codes == ("18_29", "30_44", "45_59", "60_plus")
    types = {q.type for q in standard.questions}
    assert types >= {"yes_no", "single_choice", "multiple_choice", "satisfaction5", "text"}
    sat = [q for q in standard.questions if q.type == "satisfaction5"]
    assert len(sat) >= 6
    for q in sat:
        assert q.counts_as_yes == {"very_satisfied", "satisfied"} and q.excluded == {"unknown"}
    optional = [q for q in standard.questions if not q.required]
    assert {q.type for q in optional} >= {"multiple_choice", "text"}
    assert all(q.indicator is None for q in optional)
    card = standard.knowledge_card
    assert 3 <= len(card.paragraphs) <= 5
    assert any("富强、民主、文明、和谐" in p.zh and "爱国、敬业、诚信、友善" in p.zh
               for p in card.paragraphs)
    assert standard.intro is not None and standard.thanks is not None


def test_standard_round_trip_through_yaml_and_json(standard):
    text = STANDARD_QUESTIONNAIRE_PATH.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert parse_questionnaire(data) == standard
    # The app stores the dict as JSON and rebuilds the questionnaire from it.
    assert parse_questionnaire(json.loads(json.dumps(data, ensure_ascii=False))) == standard
    assert load_questionnaire(STANDARD_QUESTIONNAIRE_PATH) == standard
    assert hash(parse_questionnaire(data)) == hash(standard)


def test_round_trip_detects_a_change(standard):
    data = yaml.safe_load(STANDARD_QUESTIONNAIRE_PATH.read_text(encoding="utf-8"))
    data["indicators"]["awareness"]["target"] = 0.9
    assert parse_questionnaire(data) != standard


def test_format_doc_example_loads():
    doc = (STANDARD_QUESTIONNAIRE_PATH.parent.parent / "FORMAT.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    q = load_questionnaire_text(example, source="FORMAT.md")
    assert q.code == "drill_2024"
    assert q.question("q_aware").option("yes").label.zh == "知道"
    assert q.question("q_community").variable == "unit"
