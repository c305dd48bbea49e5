"""Interviewers and their responses in tests, stored as the interviewer's
phone stores them (``insert_response`` with mode ``interviewer``), without
going through a phone."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from questions import evaluate_answers
from survey.extensions import db
from survey.models import Interviewer, Round, Unit
from survey.models.types import utcnow
from survey.usecases.integrity import check_submission, current_rules, seconds_by_mode
from survey.usecases.submission import insert_response
from survey.vocabulary import STATUS_COMPLETE, STATUS_SCREENED_OUT
from tests.factories import complete_answers


def add_interviewer(round_: Round, name: str, count: int, *, seed: int = 1, seconds: float = 360,
                    gap_seconds: float = 300, choice: int | None = None, communities: list[str] | None = None,
                    end: datetime | None = None, commit: bool = True) -> Interviewer:
    """An interviewer of ``round_`` (claimed now, named ``name``) with
    ``count`` complete responses, one after another, the last ending at
    ``end`` (default now): each interview takes ``seconds``, then
    ``gap_seconds`` pass before the next begins.

    Answers are valid and varied (each question's option drawn at random
    with ``seed``), or every question's ``choice``-th option; communities are
    drawn from ``communities`` (default the round's)."""
    now = utcnow()
    interviewer = Interviewer(round_id=round_.id, name=name, claimed_at=now, unit_ids=[])
    db.session.add(interviewer)
    db.session.flush()
    questionnaire = round_.questionnaire_version.parsed
    area = [round_.unit, *round_.unit.descendants()]
    options = {u.code: u.name for u in area if u.level == "community"}
    codes = communities or sorted(options)
    rng = random.Random(seed)
    rules, least = current_rules(), seconds_by_mode()["interviewer"]
    end = end or now
    started = end - timedelta(seconds=count * seconds + (count - 1) * gap_seconds)
    for i in range(count):
        community = rng.choice(codes)
        raw = complete_answers(questionnaire, community, choice if choice is not None else 0)
        if choice is None:
            for q in questionnaire.questions:
                if q.options and q.screening is None and not q.kind.multiple and not q.kind.answers_unit:
                    raw[q.id] = rng.choice(q.options).code
        answer_set = evaluate_answers(questionnaire, {k: v if isinstance(v, list) else [v] for k, v in raw.items()},
                                      community_options=options)
        assert not answer_set.errors, answer_set.errors
        submitted = started + timedelta(seconds=seconds)
        checks = check_submission(questionnaire, answer_set.answers, seconds, rules, min_seconds=least)
        response = insert_response(db.session, dict(
            round_id=round_.id, channel_id=None,
            unit_id=db.session.scalar(select(Unit.id).where(Unit.code == community)),
            submission_key=f"field-{interviewer.id}-{i}", device_id=None, device_lock=None, network_hash=None,
            started_at=started, submitted_at=submitted,
            status=STATUS_SCREENED_OUT if answer_set.screened_out_by else STATUS_COMPLETE,
            screened_out_by=answer_set.screened_out_by, quality_flags=checks.flags, flag_reasons=checks.reasons,
            favourable_share=checks.favourable, locale="zh", answer_data=answer_set.answers,
            mode="interviewer", interviewer_id=interviewer.id,
        ))
        assert response is not None
        started = submitted + timedelta(seconds=gap_seconds)
    if commit:
        db.session.commit()
    return interviewer
