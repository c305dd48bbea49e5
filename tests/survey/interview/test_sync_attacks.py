"""The sync endpoint as an attacker or a broken phone would use it: every
request gets a clear answer, none a 500, and nothing is stored but valid
questionnaires of the signed-in interviewer."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import PracticeResponse, Response
from tests.factories import demo_round
from tests.survey.interview.phonekit import item, signed_in_phone

COMMUNITY = "D01-S01-C01"


@pytest.fixture
def phone(app):
    round_ = demo_round()
    return signed_in_phone(app, round_, ["D01-S01"]), round_.questionnaire_version.parsed


def _stored() -> int:
    return (db.session.scalar(select(func.count()).select_from(Response))
            + db.session.scalar(select(func.count()).select_from(PracticeResponse)))


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,                      # nesting deeper than any parser's stack
    '{"items": [' + ",".join(["{}"] * 5000) + "]}",     # too many items
    '{"items": [{"key": "\\u0000\\u0000\\u0000\\u0000\\u0000"}]}',
    '{"phone_now": 1e400, "items": [{}]}',
    '{"items": [{"key": "abcdefgh", "started_at": 99999999999999999999999999, '
    '"completed_at": -1, "answers": {"q_aware": ["\\u0000"]}}]}',
    "\xff\xfe not json",
    "",
])
def test_hostile_bodies_get_an_answer_and_store_nothing(phone, raw):
    client, _ = phone
    reply = client.post("/i/api/sync", data=raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw,
                        content_type="application/json")
    assert reply.status_code in (200, 400, 413), reply.status_code
    if reply.status_code == 200:
        assert {r["status"] for r in reply.get_json()["results"]} == {"invalid"}
    assert _stored() == 0


def test_a_nul_byte_refuses_the_request_in_words(phone):
    client, questionnaire = phone
    bad = item(questionnaire, COMMUNITY)
    bad["answers"]["q_suggestion"] = ["多组织活动\x00"]  # interview.js strips these before queuing
    reply = client.post("/i/api/sync", json={"items": [bad]})
    assert reply.status_code == 400 and not reply.get_json()["error"].isascii()
    assert _stored() == 0


@pytest.mark.parametrize("change", [
    {"answers": {"q_" * 40: ["x"] * 101}},
    {"answers": "nope"},
    {"started_at": "yesterday"},
    {"completed_at": True},
    {"key": "k" * 41},
    {"key": "短"},
    {"unit": ["D01-S02-C01"]},
])
def test_broken_items_are_invalid_one_by_one(phone, change):
    client, questionnaire = phone
    good = item(questionnaire, COMMUNITY)
    bad = item(questionnaire, COMMUNITY)
    if "answers" in change and isinstance(change["answers"], dict):
        bad["answers"].update(change["answers"])
    else:
        bad.update(change)
    reply = client.post("/i/api/sync", data=json.dumps({"items": [good, bad]}), content_type="application/json")
    assert reply.status_code == 200
    statuses = [r["status"] for r in reply.get_json()["results"]]
    assert statuses[0] == "stored"
    assert statuses[1] == ("stored" if change == {"unit": ["D01-S02-C01"]} else "invalid")
    assert _stored() == statuses.count("stored")


def test_another_interviewers_key_is_their_own(app, phone):
    client, questionnaire = phone
    round_ = demo_round()
    other = signed_in_phone(app, round_, ["D01-S01"], name="李四")
    same = item(questionnaire, COMMUNITY)
    assert client.post("/i/api/sync", json={"items": [same]}).get_json()["results"][0]["status"] == "stored"
    # The same key from another phone is another questionnaire, not a duplicate of the first.
    assert other.post("/i/api/sync", json={"items": [same]}).get_json()["results"][0]["status"] == "stored"
    assert _stored() == 2
