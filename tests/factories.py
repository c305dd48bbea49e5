"""Builders for test data, on the app's session."""

from __future__ import annotations

from datetime import timedelta

from survey.extensions import db
from survey.models import Channel, Round
from survey.models.types import utcnow
from survey.usecases.demo import load_demo, simulate_responses


def demo_round(**changes) -> Round:
    """The demo district and open drill round; ``changes`` adjust the round."""
    round_ = load_demo(db.session)
    for key, value in changes.items():
        setattr(round_, key, value)
    db.session.commit()
    return round_


def close_round(round_: Round) -> None:
    round_.closes_at = utcnow() - timedelta(seconds=1)
    round_.opens_at = round_.closes_at - timedelta(days=1)
    db.session.commit()


def first_channel(round_: Round) -> Channel:
    return round_.channels[0]


def complete_answers(questionnaire, community_code: str, choice_index: int = 0) -> dict[str, object]:
    """A valid, complete set of form answers: screening passed, every
    question answered with its ``choice_index``-th option where it has options."""
    answers: dict[str, object] = {}
    for q in questionnaire.questions:
        if q.screening is not None:
            answers[q.id] = sorted(q.screening.eligible)[0]
        elif q.type == "community":
            answers[q.id] = community_code
        elif q.type == "multiple_choice":
            answers[q.id] = [q.options[0].code]
        elif q.options:
            answers[q.id] = q.options[min(choice_index, len(q.options) - 1)].code
        elif q.type == "number":
            answers[q.id] = str(int(q.min or 0))
        elif q.type == "text":
            answers[q.id] = "希望多组织志愿服务活动"
    return answers


def submit_responses(round_, count: int, seed: int = 1, screened_share: float = 0.05) -> None:
    """Store ``count`` plausible responses through the real submission service."""
    simulate_responses(db.session, round_, count, seed=seed, screened_share=screened_share)
    db.session.commit()
