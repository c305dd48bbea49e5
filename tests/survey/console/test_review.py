"""Review of single responses: a round's responses (flags, mode, interviewer),
one response's answers, and voiding / restoring with a reason, audited: the
office for every unit, staff for their own units; viewers read only."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Interviewer, Response
from survey.models.types import utcnow
from survey.queries.export import write_responses_csv
from survey.queries.reporting import round_report
from survey.usecases import integrity, review
from survey.usecases.submission import insert_response
from tests.factories import submit_responses
from tests.survey.consolekit import build_world, channel_of, csrf_token, login, new_client, unit

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

    page = admin.get(f"{url}?flag=flagged")
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
    ("staff_a", 200, 302),  # the response is in their street: theirs to review
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
    assert listing == {"viewer": 200, "staff_a": 200, "staff_b": 200, "anonymous": 302}[who]
    db.session.expire_all()
    assert target.voided_at is None  # staff_a voided it and restored it
    assert len(_events(review.VOID_ACTION)) == len(_events(review.RESTORE_ACTION)) == (who == "staff_a")


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


# --- every response, by mode and interviewer; staff for their own units ----------------

@dataclass
class Field:
    """Responses without a QR code (an interview in street A, paper sheets in
    street A and in staff_b's community), and one from staff_b's community
    that came through a neighbour's QR code."""

    interviewer: Interviewer
    interview: Response
    paper_a: Response
    paper_b: Response
    via_neighbour: Response


def _store(round_, key: str, code: str, mode: str, **extra) -> Response:
    """One response like the submission paths store it, for the community ``code``."""
    questionnaire = round_.questionnaire_version.parsed
    answers = dict(_responses_in(round_, "D01-S01-C01")[0].answer_data)
    for question in questionnaire.questions:
        if question.kind.answers_unit:
            answers[question.id] = code
    now = utcnow()
    values = dict(
        round_id=round_.id, channel_id=None, unit_id=unit(code).id, submission_key=key, device_id=None,
        device_lock=None, network_hash=None, started_at=now - timedelta(minutes=12), submitted_at=now,
        status="complete", screened_out_by=None, quality_flags=[], flag_reasons={}, favourable_share=None,
        locale="zh", answer_data=answers, mode=mode,
    )
    values.update(extra)
    response = insert_response(db.session, values)
    db.session.commit()
    return response


@pytest.fixture
def field(world) -> Field:
    round_ = world.district_round
    interviewer = Interviewer(round_id=round_.id, name="王芳", unit_ids=[unit("D01-S01-C01").id],
                              claimed_at=utcnow())
    db.session.add(interviewer)
    db.session.commit()
    admin = world.users["admin"]
    return Field(
        interviewer=interviewer,
        interview=_store(round_, "field-interview", "D01-S01-C01", "interviewer", interviewer_id=interviewer.id),
        paper_a=_store(round_, "field-paper-a", "D01-S01-C02", "paper", entered_by_id=admin.id),
        paper_b=_store(round_, "field-paper-b", "D01-S02-C01", "paper", entered_by_id=admin.id),
        via_neighbour=_store(round_, "field-neighbour", "D01-S02-C01", "self",
                             channel_id=channel_of(round_, "D01-S02-C02").id),
    )


def _listed(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="response-(\d+)"', html)}


def test_the_list_shows_every_response_with_mode_and_interviewer(app, world, field):
    round_ = world.district_round
    admin = _signed_in(app, "admin")
    url = f"/console/rounds/{round_.id}/review"
    stored = db.session.scalar(select(func.count(Response.id)).where(Response.round_id == round_.id))

    html = admin.get(url).get_data(as_text=True)
    assert f"全部 ({stored})" in html and html.count('id="response-') == review.PER_PAGE  # every response, paged
    assert "王芳" in html and "调查员访问" in html and "纸质问卷录入" in html  # the interviewer select, the modes

    interviews = admin.get(f"{url}?mode=interviewer").get_data(as_text=True)
    assert _listed(interviews) == {field.interview.id}
    assert field.interviewer.label in interviews and "全部 (1)" in interviews
    paper = admin.get(f"{url}?mode=paper").get_data(as_text=True)
    assert _listed(paper) == {field.paper_a.id, field.paper_b.id}
    row = re.search(rf'<tr id="response-{field.paper_a.id}".*?</tr>', paper, re.S).group(0)
    assert "纸质问卷录入" in row and row.count("<td>—</td>") == 3  # no interviewer, QR code or flag
    by_interviewer = admin.get(f"{url}?interviewer={field.interviewer.id}").get_data(as_text=True)
    assert _listed(by_interviewer) == {field.interview.id}
    assert _listed(admin.get(f"{url}?mode=self&interviewer={field.interviewer.id}").get_data(as_text=True)) == set()
    # The filters combine with the flag filter and carry over to its links.
    _flag(field.paper_b, "straight_lined", "20 题全选同一项")
    flagged_paper = admin.get(f"{url}?mode=paper&flag=flagged").get_data(as_text=True)
    assert _listed(flagged_paper) == {field.paper_b.id} and "mode=paper" in flagged_paper
    # Values that are no mode or no interviewer of the round are ignored.
    for query in ("mode=planet", "interviewer=99999", "interviewer=abc", f"interviewer={2**40}"):
        reply = admin.get(f"{url}?{query}")
        assert reply.status_code == 200 and f"全部 ({stored})" in reply.get_data(as_text=True), query


def test_the_response_page_shows_how_it_was_collected(app, world, field):
    admin = _signed_in(app, "admin")
    interview = admin.get(f"/console/responses/{field.interview.id}")
    assert interview.status_code == 200
    html = interview.get_data(as_text=True)
    assert "调查员访问" in html and field.interviewer.label in html and "<th>二维码</th>" not in html
    paper = admin.get(f"/console/responses/{field.paper_a.id}").get_data(as_text=True)
    assert "纸质问卷录入" in paper and 'id="entered-by">admin<' in paper and "<th>二维码</th>" not in paper
    scanned = admin.get(f"/console/responses/{field.via_neighbour.id}").get_data(as_text=True)
    assert "<th>二维码</th>" in scanned and unit("D01-S02-C02").full_name in scanned


def test_staff_review_the_responses_of_their_own_units(app, world, field):
    round_ = world.district_round
    street_a = {u.id for u in (unit("D01-S01"), *unit("D01-S01").descendants())}
    ids_a = set(db.session.scalars(select(Response.id).where(Response.round_id == round_.id,
                                                               Response.unit_id.in_(street_a))))
    staff_a = _signed_in(app, "staff_a")
    url = f"/console/rounds/{round_.id}/review"

    html = staff_a.get(url).get_data(as_text=True)
    assert f"{len(ids_a)}份答卷" in html and f"全部 ({len(ids_a)})" in html  # their units' count, not the round's
    listed = set()
    for page in range(1, 10):
        listed |= _listed(staff_a.get(f"{url}?page={page}").get_data(as_text=True))
    assert listed == ids_a and field.paper_b.id not in listed
    assert _listed(staff_a.get(f"{url}?mode=paper").get_data(as_text=True)) == {field.paper_a.id}
    assert "新华街道" not in html

    # Another unit's response: 404 to read and to decide.
    assert staff_a.get(f"/console/responses/{field.paper_b.id}").status_code == 404
    assert staff_a.post(f"/console/responses/{field.paper_b.id}/void",
                        data={"csrf_token": csrf_token(staff_a), "reason": "越界"}).status_code == 404

    # Their own: voided with a reason, the results leave it out, still stored, audited; restored, counted again.
    counted = round_report(db.session, round_)[0].methodology.n_used
    page = staff_a.get(f"/console/responses/{field.interview.id}").get_data(as_text=True)
    assert "作废此答卷" in page
    assert staff_a.post(f"/console/responses/{field.interview.id}/void",
                        data={"csrf_token": csrf_token(staff_a), "reason": "调查员代答"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Response, field.interview.id).voided_at is not None  # kept in the database
    assert round_report(db.session, round_)[0].methodology.n_used == counted - 1
    [event] = _events(review.VOID_ACTION)
    assert (event.user_id, event.details["reason"]) == (world.users["staff_a"].id, "调查员代答")
    assert _listed(staff_a.get(f"{url}?flag=voided").get_data(as_text=True)) == {field.interview.id}
    assert staff_a.post(f"/console/responses/{field.interview.id}/restore",
                        data={"csrf_token": csrf_token(staff_a), "reason": "核实无误"}).status_code == 302
    db.session.expire_all()
    assert round_report(db.session, round_)[0].methodology.n_used == counted
    assert len(_events(review.VOID_ACTION)) == len(_events(review.RESTORE_ACTION)) == 1  # the log keeps both


def test_staff_of_a_community_see_only_it_and_not_a_neighbours_qr_code(app, world, field):
    round_ = world.district_round
    staff_b = _signed_in(app, "staff_b")
    neighbour = unit("D01-S02-C02").name
    html = staff_b.get(f"/console/rounds/{round_.id}/review").get_data(as_text=True)
    assert {field.paper_b.id, field.via_neighbour.id} <= _listed(html)
    assert field.interview.id not in _listed(html) and field.paper_a.id not in _listed(html)
    assert "王芳" not in html  # street A's interviewer is not offered to filter by
    assert "其他单位的二维码" in html and neighbour not in html
    page = staff_b.get(f"/console/responses/{field.via_neighbour.id}").get_data(as_text=True)
    assert "其他单位的二维码" in page and neighbour not in page and "作废此答卷" in page
    assert staff_b.get(f"/console/responses/{field.interview.id}").status_code == 404


def test_viewers_read_every_response_and_decide_nothing(app, world, field):
    viewer = _signed_in(app, "viewer")
    assert field.paper_b.id in _listed(viewer.get(
        f"/console/rounds/{world.district_round.id}/review?mode=paper").get_data(as_text=True))
    page = viewer.get(f"/console/responses/{field.interview.id}")
    assert page.status_code == 200 and "作废此答卷" not in page.get_data(as_text=True)
    assert viewer.post(f"/console/responses/{field.interview.id}/void",
                       data={"csrf_token": csrf_token(viewer), "reason": "试试"}).status_code == 403
    db.session.expire_all()
    assert field.interview.voided_at is None and _events(review.VOID_ACTION) == []


def test_can_review_unit(app, world):
    from survey.queries import access

    users = world.users
    street_a, street_b = unit("D01-S01-C01"), unit("D01-S02-C01")
    assert access.can_review_unit(db.session, users["admin"], street_b)
    assert access.can_review_unit(db.session, users["staff_a"], street_a)
    assert not access.can_review_unit(db.session, users["staff_a"], street_b)
    assert not access.can_review_unit(db.session, users["viewer"], street_a)
