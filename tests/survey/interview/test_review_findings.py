"""Regressions from the review of field drills: each of these once made a
phone's queue stick, a page fail, or an excluded interviewer still count."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import PopulationCell, Response, RoundQuota
from survey.models.types import utcnow
from survey.queries.export import response_table, write_responses_csv
from survey.queries.progress import round_progress
from survey.queries.reporting import option_counts
from survey.usecases.interviewer_exclusion import exclude_interviewer
from tests.factories import demo_round
from tests.survey.consolekit import make_user, new_client, unit
from tests.survey.fieldkit import add_interviewer
from tests.survey.interview.phonekit import item, signed_in_phone, sync

COMMUNITY = "D01-S01-C01"


@pytest.fixture
def round_(app):
    return demo_round()


def test_a_screened_out_interview_is_stored_for_the_phones_community(app, round_):
    phone = signed_in_phone(app, round_, ["D01-S01"])
    q = round_.questionnaire_version.parsed
    screened = item(q, COMMUNITY)
    screened["answers"] = {"q_adult": ["no"]}  # the interview ended at the first screening question
    results = sync(phone, [screened, item(q, COMMUNITY)]).get_json()["results"]
    assert [r["status"] for r in results] == ["stored", "stored"]
    stored = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert stored[0].status == "screened_out" and stored[0].unit.code == COMMUNITY


def test_the_community_is_asked_before_screening_on_the_phone(round_):
    order = [q.id for q in round_.questionnaire_version.parsed.interview_order]
    assert order.index("q_community") < order.index("q_adult") < order.index("q_gender")


@pytest.mark.parametrize("text", ["\\u0000 是一段文字", "[" * 80 + "{" * 80, "正常的建议"])
def test_text_that_looks_like_json_escapes_or_brackets_is_stored(app, round_, text):
    phone = signed_in_phone(app, round_, ["D01-S01"])
    one = item(round_.questionnaire_version.parsed, COMMUNITY)
    one["answers"]["q_suggestion"] = [text]
    reply = phone.post("/i/api/sync", data=json.dumps({"items": [one]}), content_type="application/json")
    assert reply.status_code == 200 and reply.get_json()["results"][0]["status"] == "stored"
    assert db.session.scalars(select(Response)).one().answer_data["q_suggestion"] == text


@pytest.mark.parametrize("raw", ['{"items": [{"key": "\\ud800abcdefgh"}]}', '{"items": [{"\\ud800": 1}]}'])
def test_a_lone_surrogate_is_refused_in_words(app, round_, raw):
    phone = signed_in_phone(app, round_, ["D01-S01"])
    reply = phone.post("/i/api/sync", data=raw, content_type="application/json")
    assert reply.status_code == 400 and not reply.get_json()["error"].isascii()


@pytest.mark.parametrize("cookie", ["\u00b2.x", "9999999999.x", "1.", ".", "0.x", "-1.x"])
def test_odd_interviewer_cookies_are_simply_not_signed_in(app, round_, cookie):
    client = new_client(app)
    client.set_cookie("minyi_interviewer", cookie, path="/i/")
    assert client.get("/i/api/state").status_code in (400, 401)
    assert client.get("/i/").status_code in (400, 401)


def test_population_coded_otherwise_gives_no_cells_instead_of_failing(app, round_):
    community = unit(COMMUNITY)
    db.session.add_all([PopulationCell(unit_id=community.id, gender="male", age_group="18_39", population=500),
                        PopulationCell(unit_id=community.id, gender="female", age_group="18_39", population=0)])
    db.session.add(RoundQuota(round_id=round_.id, unit_id=community.id, quota=40))
    db.session.commit()
    phone = signed_in_phone(app, round_, [COMMUNITY])
    assert phone.get("/i/").status_code == 200
    [state] = phone.get("/i/api/state").get_json()["units"]
    assert state["quota"] == 40 and state["cells"] == []
    assert sync(phone, [item(round_.questionnaire_version.parsed, COMMUNITY)]).status_code == 200


def test_an_excluded_interviewer_counts_nowhere(app, round_):
    fabricator = add_interviewer(round_, "赵六", 12, seed=3, communities=[COMMUNITY])
    office = make_user("office", "admin")

    def figures():
        db.session.expire_all()
        table = response_table(db.session, round_)
        counted = sum(1 for value in table.column("counted") if value == "yes")
        usable = round_progress(db.session, round_, utcnow()).total.usable
        awareness = sum(r["count"] for r in option_counts(round_.questionnaire_version.parsed, table)
                        if r["question_id"] == "q_aware")
        return counted, usable, awareness

    before = figures()
    exclude_interviewer(db.session, office, fabricator, "答卷雷同", utcnow())
    db.session.commit()
    after = figures()
    assert before[0] == 12 and after[0] == 0
    assert after[1] == before[1] - 12 and after[2] == before[2] - 12
    out = io.StringIO()
    write_responses_csv(db.session, round_, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["counted"] for r in rows} == {"no"} and {r["mode"] for r in rows} == {"interviewer"}
    assert db.session.scalar(select(func.count()).select_from(Response)) == 12  # kept, only not counted
