"""evaluate_answers, indicator_value and score_value."""

from __future__ import annotations

import pytest

from questions import (
    AnswerError,
    Question,
    Text,
    evaluate_answers,
    indicator_value,
    load_standard,
    parse_questionnaire,
    score_value,
)

COMMUNITIES = {"c01": "幸福社区", "c02": "和平社区"}


def drill():
    return parse_questionnaire(
        {
            "code": "drill",
            "version": 1,
            "title": "测试问卷",
            "indicators": {
                "awareness": {"name": "知晓率", "target": 0.8},
                "participation": {"name": "参与率", "target": 0.7},
                "satisfaction": {"name": "满意率", "target": 0.8},
            },
            "questions": [
                {"id": "q_adult", "type": "yes_no", "allow_dont_know": False,
                 "text": "您是否年满18周岁？",
                 "screening": {"eligible": ["yes"], "message": "感谢您的支持！"}},
                {"id": "q_aware", "type": "yes_no", "text": "您知道吗？", "indicator": "awareness"},
                {"id": "q_joined", "type": "yes_no", "allow_dont_know": False, "text": "参加过吗？"},
                {"id": "q_activities", "type": "multiple_choice", "text": "参加过哪些？",
                 "show_if": {"question": "q_joined", "any_of": ["yes"]},
                 "min_choices": 1, "max_choices": 2, "indicator": "participation",
                 "counts_as_yes": ["volunteer", "cleanup"], "excluded": ["forgot"],
                 "options": [{"code": "volunteer", "label": "志愿服务"},
                             {"code": "cleanup", "label": "清洁家园"},
                             {"code": "other", "label": "其他"},
                             {"code": "forgot", "label": "记不清"}]},
                {"id": "q_sat", "type": "satisfaction5", "text": "您满意吗？",
                 "indicator": "satisfaction"},
                {"id": "q_age", "type": "number", "text": "年龄", "min": 18, "max": 120,
                 "integer": True},
                {"id": "q_hours", "type": "number", "text": "每月志愿服务小时数", "required": False,
                 "min": 0},
                {"id": "q_note", "type": "text", "text": "建议", "required": False,
                 "max_length": 5},
                {"id": "q_unit", "type": "community", "text": "所在社区", "variable": "unit"},
            ],
        }
    )


def complete(**changes):
    raw = {
        "q_adult": ["yes"],
        "q_aware": ["yes"],
        "q_joined": ["yes"],
        "q_activities": ["cleanup", "volunteer"],
        "q_sat": ["satisfied"],
        "q_age": ["35"],
        "q_hours": [""],
        "q_note": ["  很好  "],
        "q_unit": ["c02"],
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def evaluate(raw):
    return evaluate_answers(drill(), raw, community_options=COMMUNITIES)


def test_complete_submission():
    result = evaluate(complete())
    assert result.errors == {}
    assert result.is_valid and not result.screened_out
    assert result.answers == {
        "q_adult": "yes",
        "q_aware": "yes",
        "q_joined": "yes",
        "q_activities": ["volunteer", "cleanup"],  # option order, not input order
        "q_sat": "satisfied",
        "q_age": 35,
        "q_note": "很好",
        "q_unit": "c02",
    }
    assert isinstance(result.answers["q_age"], int)
    order = [q.id for q in drill().questions]
    assert list(result.answers) == [i for i in order if i in result.answers]


def test_required_missing():
    result = evaluate(complete(q_aware=None, q_sat=["  "], q_age=[]))
    assert result.errors == {
        "q_aware": AnswerError("required", {}),
        "q_sat": AnswerError("required", {}),
        "q_age": AnswerError("required", {}),
    }
    assert "q_aware" not in result.answers and "q_sat" not in result.answers
    assert not result.is_valid


def test_optional_blank_is_omitted():
    result = evaluate(complete(q_note=[""], q_hours=None))
    assert result.errors == {}
    assert "q_note" not in result.answers and "q_hours" not in result.answers


def test_invalid_choice():
    result = evaluate(complete(q_sat=["ecstatic"], q_aware=["yes", "no"]))
    assert result.errors["q_sat"] == AnswerError("invalid_choice", {"value": "ecstatic"})
    assert result.errors["q_aware"].code == "invalid_choice"
    assert set(result.errors) == {"q_sat", "q_aware"}


def test_dont_know_not_offered_when_disabled():
    result = evaluate(complete(q_joined=["dont_know"]))
    assert result.errors["q_joined"].code == "invalid_choice"


def test_show_if_skips_question_and_ignores_input():
    result = evaluate(complete(q_joined=["no"], q_activities=["nonsense"]))
    assert result.errors == {}
    assert "q_activities" not in result.answers


def test_show_if_question_required_when_shown():
    result = evaluate(complete(q_activities=[]))
    assert result.errors == {"q_activities": AnswerError("required", {})}


def test_show_if_not_met_when_condition_answer_invalid():
    result = evaluate(complete(q_joined=["perhaps"], q_activities=[]))
    assert set(result.errors) == {"q_joined"}


@pytest.mark.parametrize("answer", [["no"], ["no", ""]])
def test_screening_stops_evaluation(answer):
    # Later questions are blank or invalid, yet produce no errors.
    result = evaluate({"q_adult": answer, "q_aware": ["maybe"], "q_sat": ["bad"]})
    assert result.screened_out_by == "q_adult"
    assert result.screened_out
    assert result.answers == {"q_adult": "no"}
    assert result.errors == {}


def test_screening_on_standard_questionnaire_second_screen():
    q = load_standard()
    first, second = (s.id for s in q.screening_questions)
    result = evaluate_answers(q, {first: ["yes"], second: ["no"]}, community_options=COMMUNITIES)
    assert result.screened_out_by == second
    assert result.answers == {first: "yes", second: "no"}
    assert result.errors == {}


def test_eligible_screening_answer_continues():
    result = evaluate({"q_adult": ["yes"]})
    assert result.screened_out_by is None
    assert "q_aware" in result.errors


def test_blank_screening_question_is_required_not_screened():
    result = evaluate(complete(q_adult=[]))
    assert result.screened_out_by is None
    assert result.errors == {"q_adult": AnswerError("required", {})}


def test_multiple_choice_limits():
    too_many = evaluate(complete(q_activities=["volunteer", "cleanup", "other"]))
    assert too_many.errors == {
        "q_activities": AnswerError("too_many_choices", {"max": 2, "count": 3})
    }
    # Duplicates from a tampered form count once.
    dup = evaluate(complete(q_activities=["cleanup", "cleanup"]))
    assert dup.errors == {} and dup.answers["q_activities"] == ["cleanup"]
    bad = evaluate(complete(q_activities=["cleanup", "party"]))
    assert bad.errors["q_activities"] == AnswerError("invalid_choice", {"value": "party"})


def test_multiple_choice_min():
    q = drill()
    question = q.question("q_activities")
    from dataclasses import replace

    stricter = replace(q, questions=tuple(
        replace(x, min_choices=2) if x.id == question.id else x for x in q.questions
    ))
    result = evaluate_answers(stricter, complete(q_activities=["other"]), COMMUNITIES)
    assert result.errors == {
        "q_activities": AnswerError("too_few_choices", {"min": 2, "count": 1})
    }


@pytest.mark.parametrize(
    "raw, error",
    [
        ("abc", AnswerError("not_a_number", {"value": "abc"})),
        ("nan", AnswerError("not_a_number", {"value": "nan"})),
        ("35.5", AnswerError("not_an_integer", {"value": "35.5"})),
        ("17", AnswerError("out_of_range", {"value": 17, "min": 18, "max": 120})),
        ("121", AnswerError("out_of_range", {"value": 121, "min": 18, "max": 120})),
    ],
)
def test_number_errors(raw, error):
    assert evaluate(complete(q_age=[raw])).errors == {"q_age": error}


@pytest.mark.parametrize("raw, value", [("18", 18), ("120", 120), (" 40.0 ", 40), ("４５", 45)])
def test_number_accepted(raw, value):
    result = evaluate(complete(q_age=[raw]))
    assert result.errors == {}
    assert result.answers["q_age"] == value


def test_float_number_with_only_min():
    result = evaluate(complete(q_hours=["2.5"]))
    assert result.answers["q_hours"] == 2.5
    assert evaluate(complete(q_hours=["-1"])).errors["q_hours"].code == "out_of_range"


def test_text_length():
    ok = evaluate(complete(q_note=["五个字正好"]))
    assert ok.errors == {} and ok.answers["q_note"] == "五个字正好"
    long = evaluate(complete(q_note=["六个字太长了"]))
    assert long.errors == {"q_note": AnswerError("too_long", {"max": 5, "length": 6})}


def test_community_options():
    good = evaluate(complete(q_unit=["c01"]))
    assert good.answers["q_unit"] == "c01"
    bad = evaluate(complete(q_unit=["c99"]))
    assert bad.errors == {"q_unit": AnswerError("invalid_choice", {"value": "c99"})}
    missing = evaluate(complete(q_unit=[]))
    assert missing.errors == {"q_unit": AnswerError("required", {})}


def test_community_options_are_needed():
    with pytest.raises(ValueError, match="community_options"):
        evaluate_answers(drill(), complete())


# -- indicator_value / score_value -------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [("very_satisfied", 1), ("satisfied", 1), ("neutral", 0), ("dissatisfied", 0),
     ("very_dissatisfied", 0), ("unknown", None), (None, None)],
)
def test_indicator_value_satisfaction5(value, expected):
    assert indicator_value(drill().question("q_sat"), value) == expected


@pytest.mark.parametrize("value, expected", [("yes", 1), ("no", 0), ("dont_know", 0),
                                             (None, None)])
def test_indicator_value_yes_no(value, expected):
    assert indicator_value(drill().question("q_aware"), value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(["volunteer"], 1), (["other", "cleanup"], 1), (["other"], 0), (["other", "forgot"], 0),
     (["forgot"], None), ([], None), (None, None)],
)
def test_indicator_value_multiple_choice(value, expected):
    assert indicator_value(drill().question("q_activities"), value) == expected


@pytest.mark.parametrize("value, expected", [("support", 1), ("indifferent", 0),
                                             ("oppose", 0)])
def test_indicator_value_single_choice(value, expected):
    support = next(q for q in load_standard().counted_questions if q.indicator == "support")
    assert indicator_value(support, value) == expected


def test_indicator_value_core_values_counts_only_full():
    q = next(q for q in load_standard().counted_questions if q.indicator == "core_values")
    assert [indicator_value(q, c) for c in q.codes] == [1, 0, 0]


def test_indicator_value_uncounted_question_raises():
    with pytest.raises(ValueError, match="q_age"):
        indicator_value(drill().question("q_age"), 35)


@pytest.mark.parametrize(
    "value, expected",
    [("very_satisfied", 100), ("satisfied", 80), ("neutral", 60), ("dissatisfied", 40),
     ("very_dissatisfied", 0), ("unknown", None), (None, None)],
)
def test_score_value_satisfaction5(value, expected):
    assert score_value(drill().question("q_sat"), value) == expected


def test_score_value_custom_scores():
    q = Question("q_x", "single_choice", Text("x"), scores={"a": 10, "b": 2.5})
    assert score_value(q, "a") == 10 and score_value(q, "b") == 2.5 and score_value(q, "c") is None


def test_score_value_unscored_question_raises():
    with pytest.raises(ValueError, match="no scores"):
        score_value(drill().question("q_aware"), "yes")


def test_standard_full_submission():
    q = load_standard()
    raw = {}
    for question in q.questions:
        if question.type == "community":
            raw[question.id] = ["c01"]
        elif question.type == "text":
            raw[question.id] = ["多设垃圾桶"]
        elif question.type == "multiple_choice":
            raw[question.id] = list(question.codes[:2])
        elif question.screening is not None:
            raw[question.id] = sorted(question.screening.eligible)
        else:
            raw[question.id] = [question.codes[0]]
    result = evaluate_answers(q, raw, COMMUNITIES)
    assert result.errors == {}
    assert len(result.answers) == len(q.questions)
    rates = {x.indicator: indicator_value(x, result.answers[x.id]) for x in q.counted_questions}
    assert set(rates) == set(q.targets)
