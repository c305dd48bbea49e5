"""The bot of issue 9, replayed through the real form: 150 submitters with a
fresh cookie jar each, tickets fetched 40 minutes before, answers drawn at
85% "best", each from its own network, all sent within a minute through one
community's QR code - against residents who arrive on their own over five
days and answer as real residents do.

Shown: at least 90% of the bot is flagged, residents stay under 5% flagged,
a community meeting (40 residents in 20 minutes) is a burst but not an
anomaly, and leaving the bot's flags out brings the rates back to the
residents' own.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from questions import indicator_value
from survey.extensions import db
from survey.models import Response
from survey.queries import reporting
from survey.usecases import integrity
from tests.factories import demo_round
from tests.survey.consolekit import login, make_user, new_client
from tests.survey.formpage import parse_form

#: Noon, Beijing time, on the first day of the simulated week.
START = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
ATTACKED = "D01-S01-C02"
MEETING = "D01-S02-C03"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(START)
    monkeypatch.setattr("survey.public.views.utcnow", clock)
    return clock


def _answers(questionnaire, community: str, rng: random.Random, p_best: float, best_only: bool) -> dict:
    """One resident's (or bot's) answers: each counted question favourable with
    probability ``p_best`` - a bot picks the very best option, a resident one
    of the favourable ones - demographics and the rest at random."""
    answers: dict[str, object] = {}
    for q in questionnaire.questions:
        if q.screening is not None:
            answers[q.id] = sorted(q.screening.eligible)[0]
        elif q.type == "community":
            answers[q.id] = community
        elif q.indicator is not None:
            good = [o.code for o in q.options if indicator_value(q, o.code) == 1]
            bad = [o.code for o in q.options if indicator_value(q, o.code) == 0]
            if rng.random() < p_best:
                answers[q.id] = good[0] if best_only else rng.choice(good)
            else:
                answers[q.id] = rng.choice(bad)
        elif q.type == "multiple_choice":
            answers[q.id] = [rng.choice(q.options).code]
        elif q.options:
            answers[q.id] = rng.choice(q.options).code
    return answers


def _submit(app, clock, channel_token: str, answers: dict, address: str, fetched: datetime, sent: datetime) -> None:
    """Fetch the form with a fresh cookie jar at ``fetched``, send it at ``sent``."""
    client = new_client(app)  # a fresh cookie jar (and no token left in the shared ``g``)
    environ = {"REMOTE_ADDR": address}
    clock.now = fetched
    page = client.get(f"/s/{channel_token}", environ_base=environ)
    assert page.status_code == 200
    clock.now = sent
    form = parse_form(page.get_data(as_text=True))
    reply = client.post(f"/s/{channel_token}", data=form.fields(answers), environ_base=environ)
    assert reply.status_code == 303, reply.get_data(as_text=True)[:500]


def _residents(app, clock, round_, rng, count: int, days: int = 5) -> None:
    """Residents arriving on their own: daytime in Beijing, over ``days`` days,
    each community with its own mood, 40 s to 10 min per questionnaire, from
    mobile and home networks (a few hundred /24s shared across the district)."""
    questionnaire = round_.questionnaire_version.parsed
    channels = list(round_.channels)
    mood = {c.id: rng.uniform(0.5, 0.75) for c in channels}
    arrivals = sorted(START + timedelta(days=rng.randrange(days), hours=rng.uniform(-3, 9)) for _ in range(count))
    for sent in arrivals:
        channel = rng.choice(channels)
        p = min(0.97, max(0.05, rng.gauss(mood[channel.id], 0.15)))
        seconds = min(600.0, rng.lognormvariate(4.9, 0.5))  # median about 2 minutes
        address = f"10.{rng.randrange(40)}.{rng.randrange(8)}.{rng.randrange(1, 250)}"
        _submit(app, clock, channel.token, _answers(questionnaire, channel.unit.code, rng, p, False),
                address, sent - timedelta(seconds=seconds), sent)


def _bot(app, clock, round_, rng, count: int = 150) -> None:
    """Tickets fetched 40 minutes before; all sent within one minute; 85% best."""
    questionnaire = round_.questionnaire_version.parsed
    channel = next(c for c in round_.channels if c.unit.code == ATTACKED)
    attack = START + timedelta(days=2, hours=2)
    for i in range(count):
        address = f"172.{16 + i % 16}.{i}.{rng.randrange(1, 250)}"  # a /24 of its own each
        _submit(app, clock, channel.token, _answers(questionnaire, ATTACKED, rng, 0.85, True), address,
                attack - timedelta(minutes=40), attack + timedelta(seconds=rng.uniform(0, 60)))


def _meeting(app, clock, round_, rng, count: int = 40) -> None:
    """A community meeting: everyone scans the code on the screen within 20 minutes."""
    questionnaire = round_.questionnaire_version.parsed
    channel = next(c for c in round_.channels if c.unit.code == MEETING)
    meeting = START + timedelta(days=3, hours=6)
    for i in range(count):
        sent = meeting + timedelta(seconds=rng.uniform(0, 1200))
        p = min(0.97, max(0.05, rng.gauss(0.62, 0.15)))
        _submit(app, clock, channel.token, _answers(questionnaire, MEETING, rng, p, False),
                f"10.{40 + i % 3}.0.{i + 1}", sent - timedelta(seconds=rng.uniform(90, 400)), sent)


def _flagged_share(ids: set[int], flags_of: dict[int, list[str]]) -> float:
    return sum(1 for i in ids if flags_of[i]) / len(ids)


def _rates(round_, excluded: tuple[str, ...] | None) -> dict[str, float]:
    report, _ = reporting.round_report(db.session, round_, reporting.ReportOptions(excluded_flags=excluded))
    return {r.key: r.estimate.estimate for r in report.overall if r.kind == "rate"}


def _new_ids(before: set[int]) -> set[int]:
    return set(db.session.scalars(db.select(Response.id))) - before


def test_bot_is_flagged_residents_are_not(app, clock):
    round_ = demo_round(opens_at=START - timedelta(days=1), closes_at=START + timedelta(days=30),
                        one_response_per_device=True)
    rng = random.Random(20261203)
    _residents(app, clock, round_, rng, 240)
    residents = _new_ids(set())
    truth = _rates(round_, ())
    _meeting(app, clock, round_, rng)
    meeting = _new_ids(residents)
    _bot(app, clock, round_, rng)
    bots = _new_ids(residents | meeting)
    assert (len(residents), len(meeting), len(bots)) == (240, 40, 150)

    db.session.expire_all()
    integrity.ensure_current(db.session, round_)
    rows = db.session.execute(db.select(Response.id, Response.quality_flags, Response.flag_reasons)).all()
    flags_of = {rid: flags for rid, flags, _ in rows}
    reasons_of = {rid: reasons for rid, _, reasons in rows}

    bot_share = _flagged_share(bots, flags_of)
    resident_share = _flagged_share(residents, flags_of)
    print(f"bot flagged {bot_share:.1%}, residents flagged {resident_share:.1%}")
    assert bot_share >= 0.90
    assert resident_share < 0.05
    # The bot is told apart by its answers as well as its timing, with reasons in words.
    assert sum("anomalous_answers" in flags_of[i] for i in bots) / len(bots) >= 0.90
    sample = reasons_of[min(bots)]
    assert "同一二维码" in sample["burst"] and "好评" in sample["anomalous_answers"]
    # The meeting is a burst, but its answers are like everyone else's.
    assert sum("burst" in flags_of[i] for i in meeting) >= 0.9 * len(meeting)
    assert not any("anomalous_answers" in flags_of[i] for i in meeting)

    # The bot moves the rates; leaving out what it tripped brings them back.
    stuffed = _rates(round_, ())
    cleaned = _rates(round_, ("anomalous_answers",))
    for key in ("awareness", "support"):
        assert stuffed[key] - truth[key] > 0.05, key
        assert abs(cleaned[key] - truth[key]) < 0.03, key
    print({k: (round(truth[k], 3), round(stuffed[k], 3), round(cleaned[k], 3)) for k in ("awareness", "support")})

    # The office leaves the anomaly out and sees each rate with and without it.
    round_.excluded_flags = ["too_fast", "anomalous_answers"]
    db.session.commit()
    make_user("office", "admin")
    client = new_client(app)
    login(client, "office")
    page = client.get(f"/console/rounds/{round_.id}/results").get_data(as_text=True)
    row = re.search(r'<tr data-indicator="awareness" data-domain="">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)
    assert cells[0] == f"{100 * cleaned['awareness']:.1f}%" and cells[1] == f"{100 * stuffed['awareness']:.1f}%"
    assert "全部计入" in page and "集中提交且答案分布异常" in page


def test_residents_alone_are_rarely_flagged(app, clock):
    round_ = demo_round(opens_at=START - timedelta(days=1), closes_at=START + timedelta(days=30))
    _residents(app, clock, round_, random.Random(7), 300)
    integrity.ensure_current(db.session, round_)
    flags = list(db.session.scalars(db.select(Response.quality_flags)))
    share = sum(1 for f in flags if f) / len(flags)
    print(f"residents flagged {share:.1%}")
    assert len(flags) == 300 and share < 0.05


def test_an_expired_ticket_brings_the_answers_back(app, clock):
    round_ = demo_round(opens_at=START - timedelta(days=1), closes_at=START + timedelta(days=30))
    channel = round_.channels[0]
    answers = _answers(round_.questionnaire_version.parsed, channel.unit.code, random.Random(1), 0.7, False)
    client = new_client(app)
    clock.now = START
    form = parse_form(client.get(f"/s/{channel.token}").get_data(as_text=True))
    clock.now = START + timedelta(seconds=app.config["TICKET_LIFETIME_SECONDS"] + 1)
    reply = client.post(f"/s/{channel.token}", data=form.fields(answers))
    assert reply.status_code == 409
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 0
    again = parse_form(reply.get_data(as_text=True))
    assert again.ticket != form.ticket
    # The fresh form carries the answers; sending it at once stores them once,
    # and the answer time still counts from when the resident began (not too fast).
    assert client.post(f"/s/{channel.token}", data=again.fields(answers)).status_code == 303
    stored = db.session.scalars(db.select(Response)).one()
    assert stored.started_at == START and "too_fast" not in stored.quality_flags
    # A repeat of the stored form is recognised however old its ticket.
    clock.now += timedelta(seconds=app.config["TICKET_LIFETIME_SECONDS"] + 1)
    assert client.post(f"/s/{channel.token}", data=again.fields(answers)).status_code == 303
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 1


def test_scoring_as_responses_arrive_equals_scoring_at_the_end(app, clock):
    """Incremental scoring (only responses within reach of the new ones) flags
    exactly what one pass over the finished round flags."""
    round_ = demo_round(opens_at=START - timedelta(days=1), closes_at=START + timedelta(days=30))
    rng = random.Random(11)
    for batch in range(3):
        _residents(app, clock, round_, rng, 40, days=1)
        if batch == 1:
            _bot(app, clock, round_, rng, count=30)
            _meeting(app, clock, round_, rng, count=20)
        db.session.expire_all()
        integrity.ensure_current(db.session, round_)
    as_they_came = dict(db.session.execute(db.select(Response.id, Response.quality_flags)).all())
    integrity.score_round(db.session, round_, integrity.current_rules())
    db.session.commit()
    at_the_end = dict(db.session.execute(db.select(Response.id, Response.quality_flags)).all())
    assert as_they_came == at_the_end
    assert sum(1 for f in at_the_end.values() if "anomalous_answers" in f) >= 27  # the check had work to do


def test_an_expired_form_of_a_closed_round_is_not_offered_again(app, clock):
    round_ = demo_round(opens_at=START - timedelta(days=1), closes_at=START + timedelta(hours=7))
    channel = round_.channels[0]
    answers = _answers(round_.questionnaire_version.parsed, channel.unit.code, random.Random(2), 0.7, False)
    client = new_client(app)
    clock.now = START
    form = parse_form(client.get(f"/s/{channel.token}").get_data(as_text=True))
    clock.now = START + timedelta(hours=8)  # expired, and the round has closed
    reply = client.post(f"/s/{channel.token}", data=form.fields(answers))
    assert reply.status_code == 403 and "已经结束" in reply.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 0


def test_a_code_stuffed_steadily_is_flagged_as_it_happens(app, clock):
    """No burst: one stuffed reply every 40 minutes on one code for three
    days, while residents answer as usual. Scored as responses arrive, the
    code's every response ends up flagged, exactly as one pass at the end."""
    round_ = demo_round(opens_at=START - timedelta(days=1), closes_at=START + timedelta(days=30))
    rng = random.Random(12)
    questionnaire = round_.questionnaire_version.parsed
    stuffed = next(c for c in round_.channels if c.unit.code == ATTACKED)
    for day in range(3):
        _residents(app, clock, round_, rng, 60, days=1)
        for i in range(36):
            sent = START + timedelta(days=day, minutes=40 * i)
            _submit(app, clock, stuffed.token, _answers(questionnaire, ATTACKED, rng, 0.97, True),
                    f"10.99.{day}.{i + 1}", sent - timedelta(seconds=rng.uniform(90, 300)), sent)
        db.session.expire_all()
        integrity.ensure_current(db.session, round_)
    as_they_came = dict(db.session.execute(db.select(Response.id, Response.quality_flags)).all())
    on_code = set(db.session.scalars(db.select(Response.id).where(Response.channel_id == stuffed.id)))
    assert {rid for rid, flags in as_they_came.items() if "channel_anomaly" in flags} == on_code
    integrity.score_round(db.session, round_, integrity.current_rules())
    db.session.commit()
    assert dict(db.session.execute(db.select(Response.id, Response.quality_flags)).all()) == as_they_came
