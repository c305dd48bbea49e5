"""An interviewer's phone in tests: sign-up codes claimed through the real
pages, and questionnaires shaped as interview.js sends them."""

from __future__ import annotations

import re
import time
import uuid

from survey.extensions import db
from survey.models.types import utcnow
from survey.usecases import fieldwork
from tests.factories import complete_answers
from tests.survey.consolekit import new_client


def signup_code(round_, units: list[str] | None = None, practice: bool = False) -> str:
    made = fieldwork.create_signup_codes(db.session, None, round_, 1, units, practice_only=practice, now=utcnow())
    db.session.commit()
    return made[0].signup_code


def join(client, code: str, name: str = "王小明"):
    """Claim ``code`` with ``client`` (keeps the cookie); returns the response."""
    page = client.get(f"/i/join/{code}")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(f"/i/join/{code}", data={"csrf_token": token, "name": name})


def signed_in_phone(app, round_, units: list[str] | None = None, name: str = "王小明", practice: bool = False):
    client = new_client(app)
    response = join(client, signup_code(round_, units, practice), name)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def item(questionnaire, community: str, *, seconds: float = 300, practice: bool = False, choice: int = 0,
         gender: str | None = None, age_group: str | None = None, key: str | None = None,
         completed_ms: float | None = None) -> dict:
    """One questionnaire as the phone queues it (answers as lists of strings)."""
    answers = complete_answers(questionnaire, community, choice)
    if gender:
        answers["q_gender"] = gender
    if age_group:
        answers["q_age_group"] = age_group
    completed = completed_ms if completed_ms is not None else time.time() * 1000
    return {
        "key": key or str(uuid.uuid4()), "practice": practice, "unit": community,
        "started_at": completed - seconds * 1000, "completed_at": completed,
        "answers": {qid: value if isinstance(value, list) else [value] for qid, value in answers.items()},
    }


def sync(client, items: list[dict], phone_now: float | None = None, **headers):
    return client.post("/i/api/sync", json={"phone_now": phone_now or time.time() * 1000, "items": items},
                       headers=headers)
