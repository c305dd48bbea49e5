from questions import load_standard
from survey.services.quality import quality_flags


def test_quality_checks():
    questions = load_standard().questions
    scale = [q.id for q in questions if q.type == "satisfaction5"]
    same = {qid: "satisfied" for qid in scale}
    varied = {qid: ("satisfied" if i % 2 else "neutral") for i, qid in enumerate(scale)}
    slow = 600.0
    assert quality_flags(same, questions, slow, 1.5) == ["straight_lined"]
    assert quality_flags(varied, questions, slow, 1.5) == []
    assert quality_flags(varied, questions, 3.0, 1.5) == ["too_fast"]
    assert quality_flags(dict(list(same.items())[:4]), questions, slow, 1.5) == []  # too few items to judge
