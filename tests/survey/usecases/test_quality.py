"""Checks one submission trips on its own, with the reasons stored beside them."""

from analysis.integrity import IntegrityRules
from questions import load_standard
from survey.usecases.integrity import check_submission


def test_single_response_checks():
    questionnaire = load_standard()
    scale = [q.id for q in questionnaire.questions if q.type == "satisfaction5"]
    same = {qid: "satisfied" for qid in scale}
    varied = {qid: ("satisfied" if i % 2 else "neutral") for i, qid in enumerate(scale)}
    rules = IntegrityRules(min_seconds_per_answer=1.5)
    slow = 600.0
    checks = check_submission(questionnaire, same, slow, rules)
    assert checks.flags == ["straight_lined"] and checks.favourable == 1.0
    assert checks.reasons["straight_lined"] == f"{len(scale)} 道量表题全部选择同一答案"
    checks = check_submission(questionnaire, varied, slow, rules)
    assert (checks.flags, checks.reasons) == ([], {})
    assert checks.favourable == sum(i % 2 for i in range(len(scale))) / len(scale)
    checks = check_submission(questionnaire, varied, 3.0, rules)
    assert checks.flags == ["too_fast"] and checks.reasons["too_fast"] == f"3 秒答完 {len(varied)} 题"
    # Too few items to judge straight-lining; no counted answer, no share.
    checks = check_submission(questionnaire, dict(list(same.items())[:4]), slow, rules)
    assert checks.flags == [] and check_submission(questionnaire, {}, slow, rules).favourable is None
