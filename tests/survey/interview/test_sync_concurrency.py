"""Interviewers' phones syncing at once against a real gunicorn server, each
batch sent twice at the same moment (the phone's retry racing its first
try): every questionnaire is stored exactly once, no request fails, on
SQLite (one writer at a time) and PostgreSQL alike."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Response
from tests.factories import complete_answers, demo_round
from tests.survey.interview.phonekit import signup_code

PHONES = 8
BATCHES = 4
PER_BATCH = 10


def _join(base: str, code: str, name: str) -> requests.Session:
    phone = requests.Session()
    page = phone.get(f"{base}/i/join/{code}", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert phone.post(f"{base}/i/join/{code}", data={"csrf_token": token, "name": name}, timeout=30).ok
    return phone


def test_phones_syncing_at_once_store_every_questionnaire_once(app, live_server):
    round_ = demo_round()
    questionnaire = round_.questionnaire_version.parsed
    phones = [_join(live_server, signup_code(round_, ["D01-S01"]), f"调查员{i}") for i in range(PHONES)]

    def batch(k: int) -> list[dict]:
        now = time.time() * 1000
        return [{"key": str(uuid.uuid4()), "started_at": now - 400_000, "completed_at": now,
                 "answers": {q: v if isinstance(v, list) else [v]
                             for q, v in complete_answers(questionnaire, "D01-S01-C02", (k + j) % 4).items()}}
                for j in range(PER_BATCH)]

    sends = [(phone, batch(k)) for phone in phones for k in range(BATCHES)]
    sends = [s for s in sends for _ in range(2)]  # every batch twice, at once

    def send(pair):
        phone, items = pair
        reply = phone.post(f"{live_server}/i/api/sync", json={"phone_now": time.time() * 1000, "items": items},
                           timeout=60)
        assert reply.status_code == 200, (reply.status_code, reply.text[:200])
        return [r["status"] for r in reply.json()["results"]]

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for result in pool.map(send, sends) for s in result]
    distinct = PHONES * BATCHES * PER_BATCH
    assert statuses.count("stored") == distinct and statuses.count("duplicate") == distinct
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Response)) == distinct
    assert db.session.scalar(select(func.count(func.distinct(Response.submission_key)))) == distinct
    assert db.session.scalar(select(func.count()).select_from(Answer)) == sum(
        len(r.answer_data) for r in db.session.scalars(select(Response)))
