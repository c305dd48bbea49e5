"""Checks one submission trips on its own, with the reasons stored beside them."""

from analysis.integrity import IntegrityRules
from questions import load_standard
from survey.services.integrity import single_response_flags


def test_single_response_checks():
    questionnaire = load_standard()
    scale = [q.id for q in questionnaire.questions if q.type == "satisfaction5"]
    same = {qid: "satisfied" for qid in scale}
    varied = {qid: ("satisfied" if i % 2 else "neutral") for i, qid in enumerate(scale)}
    rules = IntegrityRules(min_seconds_per_answer=1.5)
    slow = 600.0
    flags, reasons = single_response_flags(questionnaire, same, slow, rules)
    assert flags == ["straight_lined"]
    assert reasons["straight_lined"] == f"{len(scale)} 道量表题全部选择同一答案"
    assert single_response_flags(questionnaire, varied, slow, rules) == ([], {})
    flags, reasons = single_response_flags(questionnaire, varied, 3.0, rules)
    assert flags == ["too_fast"] and reasons["too_fast"] == f"3 秒答完 {len(varied)} 题"
    # Too few items to judge straight-lining.
    assert single_response_flags(questionnaire, dict(list(same.items())[:4]), slow, rules) == ([], {})
