"""Leaving one interviewer's responses out of a round's results, and counting
them again: the report, the respondent count and the methodology follow, the
cache notices, every change is audited with its reason."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Response
from survey.models.types import utcnow
from survey.queries import reporting
from survey.queries.reporting import ReportOptions, report_input, round_report
from survey.usecases import integrity
from survey.usecases.interviewer_exclusion import (
    EXCLUDE_ACTION,
    INCLUDE_ACTION,
    ExclusionRefused,
    exclude_interviewer,
    include_interviewer,
)
from survey.vocabulary import INTERVIEWER_EXCLUDED, VOIDED
from tests.factories import demo_round, submit_responses
from tests.survey.consolekit import make_user
from tests.survey.fieldkit import add_interviewer


@pytest.fixture
def field(app):
    """A round with 60 residents' own responses and two interviewers: 王芳
    (25 varied interviews) and 李强 (20 interviews, every answer the first
    option: the most favourable)."""
    round_ = demo_round()
    submit_responses(round_, 60, seed=4, screened_share=0.0)
    wang = add_interviewer(round_, "王芳", 25, seed=2)
    li = add_interviewer(round_, "李强", 20, choice=0, end=utcnow() - timedelta(hours=3))
    admin = make_user("office", "admin")
    integrity.ensure_current(db.session, round_)
    db.session.refresh(round_)
    round_.excluded_flags = []  # nothing left out for a flag: the interviewer is the only reason here
    db.session.commit()
    return round_, wang, li, admin


def _overall(report) -> dict[str, float]:
    return {r.key: r.rate for r in report.overall}


def test_excluding_an_interviewer_leaves_their_responses_out_and_including_brings_them_back(field):
    round_, wang, li, admin = field
    before, _ = round_report(db.session, round_)
    assert before.methodology.n_used == 105 and INTERVIEWER_EXCLUDED.code not in before.methodology.exclusions

    exclude_interviewer(db.session, admin, li, "  访问时长与答案均不合常理  ", utcnow())
    db.session.commit()
    assert li.excluded_at is not None and li.exclude_reason == "访问时长与答案均不合常理"
    after, _ = round_report(db.session, round_)
    assert after.methodology.n_rows == 105 and after.methodology.n_used == 85
    assert after.methodology.exclusions[INTERVIEWER_EXCLUDED.code] == 20
    # 李强's answers were all the most favourable: without them every rate he moved goes down.
    assert _overall(after)["awareness"] < _overall(before)["awareness"]
    # Exactly the report of the round without his responses.
    data = report_input(db.session, round_, ReportOptions())
    theirs = set(db.session.scalars(select(Response.id).where(Response.interviewer_id == li.id)))
    ids = list(db.session.scalars(select(Response.id).where(Response.round_id == round_.id).order_by(Response.id)))
    assert [i for i, out in zip(ids, data.excluded, strict=True) if out] == sorted(theirs)

    # The comparisons: every interviewer counted, or another one left out instead.
    everyone, _ = round_report(db.session, round_, ReportOptions(excluded_interviewers=()))
    assert _overall(everyone) == _overall(before)
    instead, _ = round_report(db.session, round_, ReportOptions(excluded_interviewers=(wang.id,)))
    assert instead.methodology.exclusions[INTERVIEWER_EXCLUDED.code] == 25

    include_interviewer(db.session, admin, li, "复核后确认属实", utcnow())
    db.session.commit()
    assert li.excluded_at is None and li.exclude_reason is None
    again, _ = round_report(db.session, round_)
    assert again.methodology.n_used == 105 and _overall(again) == _overall(before)

    exclude, include = (list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
                        for action in (EXCLUDE_ACTION, INCLUDE_ACTION))
    assert len(exclude) == len(include) == 1
    assert exclude[0].target == include[0].target == f"interviewer:{li.id}"
    assert exclude[0].user_id == admin.id
    assert exclude[0].details == {"round": round_.id, "name": f"李强（{li.id}号）", "reason": "访问时长与答案均不合常理"}
    assert include[0].details["reason"] == "复核后确认属实"
    assert include[0].details["excluded_for"] == "访问时长与答案均不合常理"


def test_each_change_bumps_the_revision_and_the_cache_notices(field):
    round_, _, li, admin = field
    revision = round_.flags_revision
    first, _ = round_report(db.session, round_)
    key = reporting._fingerprint(db.session, round_)
    exclude_interviewer(db.session, admin, li, "抽查发现代填", utcnow())
    db.session.commit()
    assert round_.flags_revision == revision + 1
    assert reporting._fingerprint(db.session, round_) != key
    assert round_report(db.session, round_)[0].methodology.n_used == first.methodology.n_used - 20

    # Even a change that did not bump the revision is noticed (the excluded ones are in the key).
    li.excluded_at = None
    db.session.commit()
    assert round_report(db.session, round_)[0].methodology.n_used == first.methodology.n_used
    include_revision = round_.flags_revision
    li.excluded_at, li.exclude_reason = utcnow(), "再次排除"
    db.session.commit()
    include_interviewer(db.session, admin, li, "误操作", utcnow())
    db.session.commit()
    assert round_.flags_revision == include_revision + 1


def test_a_reason_is_required_and_a_change_is_made_once(field):
    round_, _, li, admin = field
    for reason in ("", "   ", None, "理" * 501):
        with pytest.raises(ExclusionRefused) as refused:
            exclude_interviewer(db.session, admin, li, reason, utcnow())
        assert not str(refused.value).isascii()
    assert li.excluded_at is None
    exclude_interviewer(db.session, admin, li, "理" * 500, utcnow())
    with pytest.raises(ExclusionRefused, match="已"):
        exclude_interviewer(db.session, admin, li, "再排除一次", utcnow())
    include_interviewer(db.session, admin, li, "恢复", utcnow())
    with pytest.raises(ExclusionRefused):
        include_interviewer(db.session, admin, li, "再恢复一次", utcnow())
    db.session.commit()
    assert len(list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_((EXCLUDE_ACTION, INCLUDE_ACTION)))))) == 2


def test_voided_responses_can_be_counted_for_comparison(field):
    round_, wang, _, admin = field
    voided = list(db.session.scalars(select(Response).where(Response.interviewer_id == wang.id).limit(3)))
    for response in voided:
        response.voided_at = utcnow()
    round_.flags_revision += 1
    db.session.commit()
    usual, _ = round_report(db.session, round_)
    assert usual.methodology.exclusions[VOIDED.code] == 3 and usual.methodology.n_used == 102
    counted, _ = round_report(db.session, round_, ReportOptions(include_voided=True))
    assert VOIDED.code not in counted.methodology.exclusions and counted.methodology.n_used == 105
    # A voided response of an excluded interviewer is counted once, as voided.
    exclude_interviewer(db.session, admin, wang, "全部复核", utcnow())
    db.session.commit()
    both, _ = round_report(db.session, round_)
    assert both.methodology.exclusions[VOIDED.code] == 3
    assert both.methodology.exclusions[INTERVIEWER_EXCLUDED.code] == 22
    assert both.methodology.n_used == 80
    data = report_input(db.session, round_, ReportOptions())
    assert int(np.count_nonzero(data.excluded)) == 25
