"""Idempotency under concurrency against a real gunicorn server: 200
simultaneous submissions, with repeats of the same keys and second tabs on
the same phone, store exactly one response per phone, on both databases."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Response
from tests.factories import complete_answers, demo_round
from tests.survey.formpage import parse_form

PHONES = 100
SECOND_TABS = 10
TOTAL_POSTS = 200


def _open_form(base: str, channel, session: requests.Session):
    page = session.get(f"{base}/s/{channel.token}", timeout=30)
    assert page.status_code == 200, page.status_code
    return parse_form(page.text)


def test_concurrent_submissions_store_each_phone_once(app, live_server):
    round_ = demo_round()
    questionnaire = round_.questionnaire_version.parsed
    channels = list(round_.channels)
    rng = random.Random(20261121)

    # Each phone opens the questionnaire; some open it in a second tab too.
    tickets = []  # (phone session, channel, form)
    phones = []
    for i in range(PHONES):
        phone = requests.Session()
        channel = channels[i % len(channels)]
        tickets.append((phone, channel, _open_form(live_server, channel, phone)))
        phones.append(phone)
    for i in range(SECOND_TABS):
        phone, channel, _ = tickets[i]
        tickets.append((phone, channel, _open_form(live_server, channel, phone)))
    answers_per_response = len(complete_answers(questionnaire, channels[0].unit.code))

    # Everything the threads need, loaded here: they have no app context.
    tickets = [
        (phone, channel.token, form, form.fields(complete_answers(questionnaire, channel.unit.code)))
        for phone, channel, form in tickets
    ]
    posts = list(tickets) + [rng.choice(tickets) for _ in range(TOTAL_POSTS - len(tickets))]
    rng.shuffle(posts)
    start = threading.Barrier(50)

    def submit(item):
        phone, token, form, data = item
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass  # the last few posts run without a full barrier
        cookies = phone.cookies.get_dict()
        reply = requests.post(
            f"{live_server}/s/{token}", data=data, cookies=cookies, allow_redirects=False, timeout=60
        )
        return form.ticket, reply.status_code, reply.headers.get("Location")

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(submit, posts))

    statuses = [status for _, status, _ in results]
    assert set(statuses) <= {303, 409}, sorted(set(statuses))
    # Every post of one ticket got the same answer, and the same thank-you page.
    by_ticket: dict[str, set] = {}
    for ticket, status, location in results:
        by_ticket.setdefault(ticket, set()).add((status, location))
    assert all(len(outcomes) == 1 for outcomes in by_ticket.values()), [o for o in by_ticket.values() if len(o) > 1]
    assert statuses.count(409) > 0 or SECOND_TABS == 0

    db.session.expire_all()
    stored = db.session.scalars(select(Response)).all()
    assert len(stored) == PHONES
    assert len({r.device_id for r in stored}) == PHONES
    assert len({r.submission_key for r in stored}) == PHONES
    winners = {t for t, outcomes in by_ticket.items() if next(iter(outcomes))[0] == 303}
    assert len(winners) == PHONES
    assert db.session.scalar(select(func.count()).select_from(Answer)) == PHONES * answers_per_response
    for phone in phones:
        phone.close()
