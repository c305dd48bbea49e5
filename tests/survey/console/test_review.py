"""Review of single responses: the flagged list, one response's answers, and
voiding / restoring with a reason, audited, by administrators only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Response
from survey.queries.export import write_responses_csv
from survey.usecases import integrity, review
from tests.factories import submit_responses
from tests.survey.consolekit import build_world, channel_of, csrf_token, login, new_client

BURST_REASON = "同一网络 10 分钟内集中提交 6 份"


@pytest.fixture
def world(app):
    world = build_world()
    round_ = world.district_round
    submit_responses(round_, 60, seed=21)
    integrity.ensure_current(db.session, round_)  # scored now: the flags set below stay
    db.session.refresh(round_)
    return world


def _responses_in(round_, code: str) -> list[Response]:
    channel = channel_of(round_, code)
    return list(db.session.scalars(select(Response).where(Response.channel_id == channel.id,
                                                          Response.status == "complete").order_by(Response.id)))


def _flag(response: Response, flag: str, reason: str) -> None:
    response.quality_flags = [*response.quality_flags, flag]
    response.flag_reasons = {**response.flag_reasons, flag: reason}
    db.session.commit()


def _signed_in(app, who: str):
    client = new_client(app)
    if who != "anonymous":
        login(client, who)
    return client


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _csv_voided(round_) -> dict[str, str]:
    out = io.StringIO()
    write_responses_csv(db.session, round_, out)
    return {row["response_id"]: row["voided"] for row in csv.DictReader(io.StringIO(out.getvalue()))}


def test_void_and_restore_round_trip(app, world):
    round_ = world.district_round
    target = _responses_in(round_, "D01-S01-C01")[0]
    _flag(target, "burst", BURST_REASON)
    revision = round_.flags_revision
    admin = _signed_in(app, "admin")
    url = f"/console/responses/{target.id}"

    page = admin.get(url).get_data(as_text=True)
    assert "短时间集中提交" in page and BURST_REASON in page and "作废此答卷" in page
    voided = admin.post(f"{url}/void", data={"csrf_token": csrf_token(admin), "reason": "  同一人代填多份  "})
    assert voided.status_code == 302
    db.session.expire_all()
    assert target.voided_at is not None and target.void_reason == "同一人代填多份"
    assert target.voided_by_id == world.users["admin"].id
    assert round_.flags_revision == revision + 1  # the report caches see the change
    [event] = _events(review.VOID_ACTION)
    assert (event.target, event.user_id, event.details["reason"]) == (f"response:{target.id}",
                                                                       world.users["admin"].id, "同一人代填多份")
    assert _csv_voided(round_)[str(target.id)] == "yes"
    page = admin.get(url).get_data(as_text=True)
    assert "已作废" in page and "同一人代填多份" in page and "恢复此答卷" in page

    restored = admin.post(f"{url}/restore", data={"csrf_token": csrf_token(admin), "reason": "核实为本人填写"})
    assert restored.status_code == 302
    db.session.expire_all()
    assert (target.voided_at, target.void_reason, target.voided_by_id) == (None, None, None)
    assert round_.flags_revision == revision + 2
    [event] = _events(review.RESTORE_ACTION)
    assert event.details["reason"] == "核实为本人填写" and event.details["voided_for"] == "同一人代填多份"
    assert set(_csv_voided(round_).values()) == {"no"}
    history = admin.get(url).get_data(as_text=True)
    assert "审核记录" in history and "核实为本人填写" in history


@pytest.mark.parametrize("reason", ["", "   ", "字" * 501])
def test_a_reason_is_required_and_bounded(app, world, reason):
    target = _responses_in(world.district_round, "D01-S01-C01")[0]
    admin = _signed_in(app, "admin")
    reply = admin.post(f"/console/responses/{target.id}/void", data={"csrf_token": csrf_token(admin),
                                                                    "reason": reason})
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert "请填写理由" in html or "500" in html
    db.session.expire_all()
    assert target.voided_at is None and _events(review.VOID_ACTION) == []


def test_the_longest_reason_is_kept_whole(app, world):
    target = _responses_in(world.district_round, "D01-S01-C01")[0]
    admin = _signed_in(app, "admin")
    reason = "理" * 500
    assert admin.post(f"/console/responses/{target.id}/void",
                      data={"csrf_token": csrf_token(admin), "reason": reason}).status_code == 302
    db.session.expire_all()
    assert target.void_reason == reason


def test_void_twice_and_restore_of_a_counted_response_are_refused(app, world):
    target = _responses_in(world.district_round, "D01-S01-C01")[0]
    admin = _signed_in(app, "admin")
    url = f"/console/responses/{target.id}"
    not_void = admin.post(f"{url}/restore", data={"csrf_token": csrf_token(admin), "reason": "误点"})
    assert not_void.status_code == 409 and "未被作废" in not_void.get_data(as_text=True)
    assert admin.post(f"{url}/void", data={"csrf_token": csrf_token(admin), "reason": "重复"}).status_code == 302
    twice = admin.post(f"{url}/void", data={"csrf_token": csrf_token(admin), "reason": "再次"})
    assert twice.status_code == 409 and "已被作废" in twice.get_data(as_text=True)
    assert len(_events(review.VOID_ACTION)) == 1 and _events(review.RESTORE_ACTION) == []


def test_service_needs_a_reason(app, world):
    target = _responses_in(world.district_round, "D01-S01-C01")[0]
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(review.ReviewRefused):
        review.void_response(db.session, target, world.users["admin"], " \n ", now)
    review.void_response(db.session, target, world.users["admin"], "代填", now)
    db.session.commit()
    assert target.voided_at == now
    review.restore_response(db.session, target, world.users["admin"], "核实", now)
    db.session.commit()
    assert target.voided_at is None


def test_flagged_list_in_chinese_with_filters(app, world):
    round_ = world.district_round
    burst, fast = _responses_in(round_, "D01-S01-C01")[:2]
    _flag(burst, "burst", BURST_REASON)
    _flag(fast, "too_fast", "12 秒答完 20 题")
    fast.submitted_at = datetime(2026, 3, 1, 1, 30, 5, tzinfo=UTC)  # 09:30:05 in Beijing
    db.session.commit()
    flagged_total = db.session.scalar(select(func.count(Response.id)).where(
        Response.round_id == round_.id, func.length(func.cast(Response.quality_flags, db.Text)) > 2))
    admin = _signed_in(app, "admin")
    url = f"/console/rounds/{round_.id}/review"

    page = admin.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="response-{burst.id}"' in html and f'id="response-{fast.id}"' in html
    assert "短时间集中提交" in html and BURST_REASON in html and "答题过快" in html
    assert "2026-03-01 09:30:05" in html  # Beijing time
    assert html.count('id="response-') == min(flagged_total, review.PER_PAGE)

    only_burst = admin.get(f"{url}?flag=burst").get_data(as_text=True)
    assert f'id="response-{burst.id}"' in only_burst and f'id="response-{fast.id}"' not in only_burst

    admin.post(f"/console/responses/{fast.id}/void", data={"csrf_token": csrf_token(admin), "reason": "过快"})
    voided = admin.get(f"{url}?flag=voided").get_data(as_text=True)
    assert voided.count('id="response-') == 1 and f'id="response-{fast.id}"' in voided
    # Nonsense in the query is ignored (a NUL byte is the request guard's 400), never an error.
    assert admin.get(f"{url}?flag=planet&page=99999999999999").status_code == 200
    assert admin.get(f"{url}?page=-3").status_code == 200
    assert admin.get(f"{url}?flag=%00").status_code == 400


def test_response_page_shows_the_answers_in_words(app, world):
    round_ = world.district_round
    target = _responses_in(round_, "D01-S01-C01")[0]
    questionnaire = round_.questionnaire_version.parsed
    html = _signed_in(app, "viewer").get(f"/console/responses/{target.id}").get_data(as_text=True)
    answered = next(q for q in questionnaire.questions if q.options and isinstance(target.answer_data.get(q.id), str))
    assert answered.text.zh in html
    assert answered.option(target.answer_data[answered.id]).label.zh in html
    assert "作废此答卷" not in html  # a viewer reads, and does not decide


@pytest.mark.parametrize("who, page_status, post_status", [
    ("viewer", 200, 403),
    ("staff_a", 403, 403),  # the response is in their street: raw rows are still the office's
    ("staff_b", 404, 404),  # another street's response: nothing to learn
    ("anonymous", 302, 302),
])
def test_who_may_review(app, world, who, page_status, post_status):
    round_ = world.district_round
    target = _responses_in(round_, "D01-S01-C01")[0]
    client = _signed_in(app, who)
    assert client.get(f"/console/responses/{target.id}").status_code == page_status
    for action in ("void", "restore"):
        reply = client.post(f"/console/responses/{target.id}/{action}",
                            data={"csrf_token": csrf_token(client), "reason": "试试"})
        assert reply.status_code == post_status
        if who == "anonymous":
            assert "/console/login" in reply.headers["Location"]
    listing = client.get(f"/console/rounds/{round_.id}/review").status_code
    assert listing == {"viewer": 200, "staff_a": 403, "staff_b": 403, "anonymous": 302}[who]
    db.session.expire_all()
    assert target.voided_at is None and _events(review.VOID_ACTION) == []


def test_a_round_out_of_reach_is_404_for_staff(app, world):
    # staff_a (street D01-S01) cannot see the round of street D01-S02 at all.
    other = world.street_b_round
    submit_responses(other, 5, seed=22)
    target = db.session.scalars(select(Response).where(Response.round_id == other.id)).first()
    client = _signed_in(app, "staff_a")
    assert client.get(f"/console/rounds/{other.id}/review").status_code == 404
    assert client.get(f"/console/responses/{target.id}").status_code == 404
    assert client.post(f"/console/responses/{target.id}/void",
                       data={"csrf_token": csrf_token(client), "reason": "x"}).status_code == 404
    assert _signed_in(app, "admin").get("/console/responses/2147483647").status_code == 404
