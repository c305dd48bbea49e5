"""Live progress: numbers per community, street subtotals and total against
hand-computed ones; bursts; staff scoping; the page and its JSON."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from analysis.integrity import FLAGS
from survey.extensions import db
from survey.models import Response, RoundQuota
from survey.queries.access import visible_unit_ids
from survey.queries.progress import round_progress
from tests.factories import demo_round
from tests.survey.consolekit import login, make_user, new_client, unit

UTC = UTC
#: 11:00 on 10 May in Beijing; "today" there began at 16:00 UTC on 9 May.
NOW = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)
_keys = itertools.count()
_patterns = itertools.count(1)


def _answers(round_, kind):
    """Answers to the scale items: varied, or all alike (straight-lined)."""
    scale = [q.id for q in round_.questionnaire_version.parsed.questions if q.type == "satisfaction5"]
    if kind == "alike":
        return {qid: "satisfied" for qid in scale}
    # A different mix for every response (bits of a counter), so no two are identical sets.
    salt = next(_patterns)
    return {qid: "neutral" if salt >> i & 1 else "satisfied" for i, qid in enumerate(scale)}


def _response(round_, code, submitted, seconds, status="complete", answers="varied", device=None, network=None):
    unit_ = unit(code)
    channel = next(c for c in round_.channels if c.unit_id == unit_.id)
    db.session.add(Response(
        round_id=round_.id, channel_id=channel.id, unit_id=unit_.id, submission_key=f"k{next(_keys)}",
        device_id=device, network_hash=network, started_at=submitted - timedelta(seconds=seconds),
        submitted_at=submitted, status=status, screened_out_by="age" if status == "screened_out" else None,
        answer_data=_answers(round_, answers), locale="zh",
    ))


def _flags(**counts):
    return {flag: counts.get(flag, 0) for flag in FLAGS}


def _at(day, hour, minute=0):
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def round_with_responses(app):
    round_ = demo_round()
    c01, c02, b1 = "D01-S01-C01", "D01-S01-C02", "D01-S02-C01"
    _response(round_, c01, _at(10, 2), 120, device="d1", network="n1")
    _response(round_, c01, _at(9, 15), 8, device="d2")   # 23:00 on 9 May in Beijing; too fast
    _response(round_, c01, _at(9, 16, 30), 20, status="screened_out")          # 00:30 on 10 May in Beijing
    _response(round_, c01, _at(10, 2, 30), 300, answers="alike")
    for minute in range(6):  # six phones from one network within five minutes: a burst and device churn
        _response(round_, c02, _at(10, 1, minute), 60, device=f"p{minute}", network="netX")
    _response(round_, c02, _at(10, 1, 30), 90, network="netX")                  # 25 minutes later: not in it
    for i, seconds in enumerate((100, 110, 120, 130, 140)):  # five from one phone: not more than five
        _response(round_, b1, _at(9, 10, i), seconds, device="dev5")
    round_.quotas.append(RoundQuota(unit=unit(c01), quota=10))
    round_.quotas.append(RoundQuota(unit=unit(c02), quota=20))
    db.session.commit()
    return round_


def _rows(progress):
    return {(r.kind, r.code): r for r in [*progress.rows, progress.total]}


def test_progress_numbers_by_hand(round_with_responses):
    progress = round_progress(db.session, round_with_responses, NOW)
    rows = _rows(progress)
    c01 = rows["unit", "D01-S01-C01"]
    assert (c01.today, c01.total, c01.complete, c01.screened_out, c01.usable, c01.quota) == (3, 4, 3, 1, 2, 10)
    assert (c01.completion_rate, c01.attainment, c01.median_seconds) == (0.75, 0.2, 120)
    assert c01.flags == _flags(too_fast=1, straight_lined=1)
    c02 = rows["unit", "D01-S01-C02"]
    assert (c02.today, c02.total, c02.usable, c02.quota, c02.attainment, c02.median_seconds) == (7, 7, 7, 20, 0.35, 60)
    assert c02.flags == _flags(burst=6, device_churn=6)
    c03 = rows["unit", "D01-S01-C03"]
    assert (c03.total, c03.quota, c03.completion_rate, c03.attainment, c03.median_seconds) == (0, None, None, None, None)
    street_a = rows["subtotal", "D01-S01"]
    assert (street_a.today, street_a.total, street_a.complete, street_a.usable, street_a.quota) == (10, 11, 10, 9, 30)
    assert street_a.attainment == pytest.approx(0.3) and street_a.completion_rate == pytest.approx(10 / 11)
    assert street_a.median_seconds == 60  # ten complete: 8 s, six of 60 s, then 90, 120, 300
    assert street_a.flags == _flags(too_fast=1, straight_lined=1, burst=6, device_churn=6)
    b1 = rows["unit", "D01-S02-C01"]
    assert (b1.today, b1.total, b1.median_seconds, b1.flags["burst"], b1.quota) == (0, 5, 120, 0, None)
    total = rows["total", "D01"]
    assert (total.today, total.total, total.complete, total.usable, total.quota) == (10, 16, 15, 14, 30)
    assert total.median_seconds == 90 and total.attainment == pytest.approx(14 / 30)
    assert progress.excluded == {flag: flag == "too_fast" for flag in FLAGS}
    # Rows come street by street, each followed by its subtotal.
    order = [(r.kind, r.code) for r in progress.rows]
    assert order[:4] == [("unit", "D01-S01-C01"), ("unit", "D01-S01-C02"), ("unit", "D01-S01-C03"),
                         ("subtotal", "D01-S01")]
    assert len([k for k, _ in order if k == "unit"]) == 8 and len([k for k, _ in order if k == "subtotal"]) == 3


def test_excluding_straight_lined_changes_usable(round_with_responses):
    round_with_responses.excluded_flags = ["too_fast", "straight_lined"]
    db.session.commit()
    rows = _rows(round_progress(db.session, round_with_responses, NOW))
    assert rows["unit", "D01-S01-C01"].usable == 1 and rows["total", "D01"].usable == 13


def test_staff_see_their_units_only(round_with_responses):
    staff = make_user("staff_a", "staff", unit("D01-S01"))
    progress = round_progress(db.session, round_with_responses, NOW, visible_unit_ids(db.session, staff))
    assert {(r.kind, r.code) for r in progress.rows} == {
        ("unit", "D01-S01-C01"), ("unit", "D01-S01-C02"), ("unit", "D01-S01-C03"), ("subtotal", "D01-S01")}
    assert progress.total.total == 11 and progress.total.quota == 30
    # Bursts are still found across the whole round.
    assert progress.total.flags["burst"] == 6
    community_staff = make_user("staff_c", "staff", unit("D01-S02-C01"))
    only = round_progress(db.session, round_with_responses, NOW, visible_unit_ids(db.session, community_staff))
    assert [(r.kind, r.code) for r in only.rows] == [("unit", "D01-S02-C01")] and only.total.total == 5
    # A quota set on the street above them is not theirs to see: their total
    # carries only their community's quota.
    round_with_responses.quotas.append(RoundQuota(unit=unit("D01-S02"), quota=400))
    round_with_responses.quotas.append(RoundQuota(unit=unit("D01-S02-C01"), quota=50))
    db.session.commit()
    only = round_progress(db.session, round_with_responses, NOW, visible_unit_ids(db.session, community_staff))
    assert only.total.quota == 50 and only.total.attainment == pytest.approx(5 / 50)


def test_progress_page_and_json(app, round_with_responses, monkeypatch):
    # The page and the expectation read one clock: run on the real one, a
    # Beijing midnight between the two calls would change "today".
    monkeypatch.setattr("survey.console.progress.utcnow", lambda: NOW)
    make_user("viewer", "viewer")
    client = new_client(app)
    login(client, "viewer")
    data = client.get(f"/console/rounds/{round_with_responses.id}/progress.json").get_json()
    expected = round_progress(db.session, round_with_responses, NOW).as_dict()
    for payload in (data, expected):
        payload.pop("generated_at")
    assert data == expected
    page = client.get(f"/console/rounds/{round_with_responses.id}/progress?lang=en").get_data(as_text=True)
    assert 'data-code="D01-S01-C02"' in page and 'data-k="flags.burst">6<' in page
    assert "Completion = complete ÷ (complete + screened out)" in page
    assert "/static/progress.js" in page and 'data-refresh-url="/console/rounds/' in page and "progress.json" in page
    assert page.count("excluded</span>") == 1 and page.count("kept</span>") == len(FLAGS) - 1
