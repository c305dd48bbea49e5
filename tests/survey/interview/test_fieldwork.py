"""Field drills through the phone's endpoints: sign-up codes, joining, the
sync endpoint's per-item answers (stored / duplicate / invalid), exactly
once, practice kept apart, the speed rule per mode, and the quota."""

from __future__ import annotations

import csv
import io
import time

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Interviewer, PopulationCell, PracticeResponse, Response, RoundQuota
from survey.models.types import utcnow
from survey.queries.export import write_responses_csv
from survey.queries.reporting import round_report
from survey.usecases import fieldwork, integrity
from survey.usecases.demo import load_demo_population
from tests.factories import demo_round
from tests.survey.consolekit import new_client, unit
from tests.survey.interview.phonekit import item, join, signed_in_phone, signup_code, sync

COMMUNITY = "D01-S01-C01"
STREET = "D01-S01"


@pytest.fixture
def round_(app):
    return demo_round()


def _export(round_) -> list[dict]:
    out = io.StringIO()
    write_responses_csv(db.session, round_, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def _respondents(round_) -> int:
    report, _ = round_report(db.session, round_)
    return report.methodology.n_used


# --- codes and joining ------------------------------------------------------------------

def test_the_command_prints_one_sign_up_url_per_code_each_opening_once(app, runner, round_):
    result = runner.invoke(args=["interviewer-codes", str(round_.id), "--count", "3", "--units", f"{STREET},{COMMUNITY}"])
    assert result.exit_code == 0, result.output
    urls = result.output.split()
    assert len(urls) == 3 and len(set(urls)) == 3
    assert all(u.startswith(app.config["PUBLIC_BASE_URL"] + "/i/join/") for u in urls)
    made = db.session.scalars(select(Interviewer).where(Interviewer.round_id == round_.id)).all()
    assert {tuple(i.unit_ids) for i in made} == {tuple(sorted([unit(STREET).id, unit(COMMUNITY).id]))}
    client = new_client(app)
    path = urls[0][len(app.config["PUBLIC_BASE_URL"]):]
    assert "您的姓名" in client.get(path).get_data(as_text=True)
    code = path.rsplit("/", 1)[1]
    assert join(client, code, "李华").status_code == 303
    assert client.get(path).status_code == 404  # spent
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("interviewer.%"))).all()
    assert sorted(events) == ["interviewer.codes", "interviewer.join"]


@pytest.mark.parametrize("args, words", [
    (["--count", "0"], "1"), (["--count", "3", "--units", "NOPE"], "NOPE"),
])
def test_the_command_refuses_bad_counts_and_units_and_makes_nothing(runner, round_, args, words):
    result = runner.invoke(args=["interviewer-codes", str(round_.id), *args])
    assert result.exit_code != 0 and words in result.output
    assert db.session.scalar(select(func.count()).select_from(Interviewer)) == 0


def test_a_name_is_needed_and_bad_codes_say_so_in_chinese(app, round_):
    code = signup_code(round_)
    client = new_client(app)
    assert join(client, code, "   ").status_code == 422
    page = client.get("/i/join/" + "X" * 500)
    assert page.status_code == 404 and "登记码无效" in page.get_data(as_text=True)
    assert client.get("/i/join/%00").status_code in (400, 404)


def test_the_phone_page_asks_screening_and_weighting_questions_first(app, round_):
    phone = signed_in_phone(app, round_, [STREET])
    html = phone.get("/i/").get_data(as_text=True)
    order = [html.index(f'id="question-{q}"') for q in ("q_community", "q_adult", "q_gender", "q_age_group", "q_aware")]
    assert order == sorted(order)
    assert "王小明" in html and 'src="/static/interview.js' in html
    # Only the interviewer's communities are offered.
    assert 'value="D01-S01-C01"' in html and 'value="D01-S02-C01"' not in html
    assert new_client(app).get("/i/").status_code == 401
    sw = phone.get("/i/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert "/static/interview.js?v=" in sw.get_data(as_text=True)


# --- syncing ----------------------------------------------------------------------------------

def test_a_batch_is_stored_once_attributed_and_marked_as_interviews(app, round_):
    round_.one_response_per_device = True
    db.session.commit()
    phone = signed_in_phone(app, round_, [STREET], name="张三")
    q = round_.questionnaire_version.parsed
    batch = [item(q, COMMUNITY, choice=i) for i in range(3)]
    before = _respondents(round_)
    first = sync(phone, batch)
    assert first.status_code == 200
    assert [r["status"] for r in first.get_json()["results"]] == ["stored"] * 3
    again = sync(phone, batch)  # the phone never heard the answer and sends again
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate"] * 3
    assert all(r["confirmed_at"] for r in again.get_json()["results"])
    stored = db.session.scalars(select(Response).where(Response.round_id == round_.id,
                                                       Response.mode == "interviewer")).all()
    assert len(stored) == 3
    assert {r.interviewer.name for r in stored} == {"张三"}
    assert {r.channel_id for r in stored} == {None} and {r.device_lock for r in stored} == {None}
    assert _respondents(round_) == before + 3
    rows = [r for r in _export(round_) if r["mode"] == "interviewer"]
    assert len(rows) == 3 and {r["interviewer"] for r in rows} == {f"张三（{stored[0].interviewer_id}号）"}
    assert {r["channel_id"] for r in rows} == {""}


def test_each_item_gets_its_own_answer_and_bad_ones_change_nothing(app, round_):
    phone = signed_in_phone(app, round_, [STREET])
    q = round_.questionnaire_version.parsed
    good = item(q, COMMUNITY)
    missing = item(q, COMMUNITY)
    del missing["answers"]["q_aware"]
    elsewhere = item(q, "D01-S02-C01")
    results = sync(phone, [good, missing, elsewhere, {"key": "bad key!"}, "nonsense"]).get_json()["results"]
    assert [r["status"] for r in results] == ["stored", "invalid", "invalid", "invalid", "invalid"]
    assert "q_aware" in results[1]["errors"] and results[1]["errors"]["q_aware"]
    assert not results[1]["errors"]["q_aware"].isascii()
    assert "q_community" in results[2]["errors"]
    assert results[3]["problems"] and not results[3]["problems"][0].isascii()
    assert db.session.scalar(select(func.count()).select_from(Response).where(Response.mode == "interviewer")) == 1


@pytest.mark.parametrize("body, headers, status", [
    ({"items": []}, {}, 400),
    ({"items": [{}] * 51}, {}, 400),
    ({"items": "x"}, {}, 400),
    (["not", "an", "object"], {}, 400),
    ({"items": [{}]}, {"Sec-Fetch-Site": "cross-site"}, 400),
    ({"items": [{}]}, {"Origin": "https://evil.example"}, 400),
])
def test_the_sync_endpoint_refuses_what_it_cannot_take(app, round_, body, headers, status):
    phone = signed_in_phone(app, round_)
    response = phone.post("/i/api/sync", json=body, headers=headers)
    assert response.status_code == status
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_phone_without_a_valid_sign_in_is_refused(app, round_):
    q = round_.questionnaire_version.parsed
    stranger = new_client(app)
    assert sync(stranger, [item(q, COMMUNITY)]).status_code == 401
    stranger.set_cookie("minyi_interviewer", "1.forged", path="/i/")
    assert sync(stranger, [item(q, COMMUNITY)]).status_code == 401
    phone = signed_in_phone(app, round_)
    interviewer = db.session.scalars(select(Interviewer)).one()
    fieldwork.revoke_interviewer(db.session, None, interviewer, utcnow())
    db.session.commit()
    assert sync(phone, [item(q, COMMUNITY)]).status_code == 401
    assert phone.get("/i/").status_code == 401
    assert phone.post("/i/api/sync", data="x", content_type="text/plain").status_code == 400


def test_phone_times_are_corrected_by_its_clock_error(app, round_):
    phone = signed_in_phone(app, round_)
    q = round_.questionnaire_version.parsed
    day = 24 * 3600 * 1000
    now_ms = time.time() * 1000
    late = item(q, COMMUNITY, seconds=400, completed_ms=now_ms - day - 60_000)  # a phone a day behind
    assert sync(phone, [late], phone_now=now_ms - day).get_json()["results"][0]["status"] == "stored"
    stored = db.session.scalars(select(Response)).one()
    assert abs((utcnow() - stored.submitted_at).total_seconds() - 60) < 30
    assert round(stored.duration_seconds) == 400


def test_questionnaires_completed_outside_the_round_are_refused_unless_practice(app, round_):
    phone = signed_in_phone(app, round_)
    q = round_.questionnaire_version.parsed
    before_opening = (round_.opens_at.timestamp() - 3600) * 1000
    results = sync(phone, [item(q, COMMUNITY, completed_ms=before_opening),
                           item(q, COMMUNITY, completed_ms=before_opening, practice=True)]).get_json()["results"]
    assert [r["status"] for r in results] == ["invalid", "stored"]
    assert "练习" in results[0]["problems"][0]


def test_the_speed_rule_is_the_interviewers_and_survives_rescoring(app, round_):
    phone = signed_in_phone(app, round_)
    q = round_.questionnaire_version.parsed
    hurried, careful = item(q, COMMUNITY, seconds=40), item(q, COMMUNITY, seconds=200)
    sync(phone, [hurried, careful])
    # 40 s for ~18 answers: fast for an interview (3 s each), not for a resident alone (1.5 s).
    integrity.score_round(db.session, round_, integrity.current_rules())
    flags = {r.submission_key.split("-", 1)[1]: r.quality_flags for r in db.session.scalars(select(Response))}
    assert "too_fast" in flags[hurried["key"]] and "too_fast" not in flags[careful["key"]]
    assert integrity.seconds_by_mode(app.config)["paper"] == 0.0


# --- practice -----------------------------------------------------------------------------------

def test_practice_answers_are_kept_apart_and_can_be_cleared(app, round_):
    phone = signed_in_phone(app, round_)
    trainee = signed_in_phone(app, round_, practice=True, name="实习生")
    q = round_.questionnaire_version.parsed
    before = _respondents(round_)
    assert sync(phone, [item(q, COMMUNITY, practice=True)]).get_json()["results"][0]["practice"] is True
    forced = sync(trainee, [item(q, COMMUNITY, practice=False)]).get_json()["results"][0]
    assert forced["status"] == "stored" and forced["practice"] is True
    assert db.session.scalar(select(func.count()).select_from(PracticeResponse)) == 2
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert _respondents(round_) == before and _export(round_) == []
    assert fieldwork.clear_practice(db.session, None, round_, utcnow()) == 2
    assert db.session.scalar(select(func.count()).select_from(PracticeResponse)) == 0


# --- quota ----------------------------------------------------------------------------------------

def test_the_quota_splits_the_sample_over_cells_and_counts_what_is_done(app, round_):
    load_demo_population(db.session)
    db.session.add(RoundQuota(round_id=round_.id, unit_id=unit(COMMUNITY).id, quota=40))
    db.session.commit()
    phone = signed_in_phone(app, round_, [COMMUNITY])
    state = phone.get("/i/api/state").get_json()
    [community] = state["units"]
    assert community["code"] == COMMUNITY and community["quota"] == 40
    assert sum(c["target"] for c in community["cells"]) == 40 and len(community["cells"]) == 8
    cells = db.session.scalars(select(PopulationCell).where(PopulationCell.unit_id == unit(COMMUNITY).id)).all()
    assert {c.population for c in cells} >= {900}
    first = community["cells"][0]
    assert (first["gender"], first["age"], first["done"]) == ("男", "18—29岁", 0)
    answer = sync(phone, [item(round_.questionnaire_version.parsed, COMMUNITY, gender="male", age_group="18_29")])
    after = answer.get_json()["state"]["units"][0]
    assert after["cells"][0]["done"] == 1 and after["cells"][0]["missing"] == first["target"] - 1
    assert after["done"] == community["done"] + 1 and after["mine"] == 1
