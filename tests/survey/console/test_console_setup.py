"""Set-up through the console's forms: units and population uploads,
questionnaire upload and preview, round creation with targets and suggested
quotas, open/close, site channels, accounts; and the audit log they leave."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import yaml
from sqlalchemy import delete, func, select

from analysis.planning import allocate, sample_size
from questions import STANDARD_QUESTIONNAIRE_PATH, QuestionnaireError, parse_questionnaire
from survey.extensions import db
from survey.models import (
    AuditEvent,
    PopulationCell,
    QuestionnaireVersion,
    Round,
    RoundQuota,
    Unit,
    User,
)
from tests.factories import demo_round
from tests.survey.consolekit import csrf_token, login, make_user, new_client, unit
from tests.survey.formpage import parse_form

UNITS_CSV = "编码,名称,上级编码\nD9,测试区,\nD9-S1,甲街道,D9\nD9-S1-C1,一社区,D9-S1\nD9-S1-C2,二社区,D9-S1\n"
BROKEN_UNITS_CSV = "编码,名称,上级编码\nD9,测试区,\nD9,重复区,\nX1,某街道,NOPE\n,无编码,\n"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _admin(app):
    make_user("admin", "admin")
    client = new_client(app)
    login(client, "admin")
    return client


def _post(client, url, data=None, **kwargs):
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


def _upload(client, url, prefix, name, content: bytes):
    data = {f"{prefix}file" if prefix else "file": (io.BytesIO(content), name)}
    if prefix:
        data[f"{prefix}csrf_token"] = csrf_token(client)
    return _post(client, url, data, content_type="multipart/form-data")


def _problems(html: str) -> list[str]:
    block = re.search(r'<div class="notice bad" role="alert" id="problems">(.*?)</div>', html, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.DOTALL) if block else []


#: Signing in and out is audited too; these tests look at the changes.
SESSION_ACTIONS = ("login", "login.failed", "login.throttled", "logout")


def _actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.not_in(SESSION_ACTIONS))
                                                 .order_by(AuditEvent.id))]


def test_unit_upload_lists_every_problem_and_changes_nothing(app):
    client = _admin(app)
    reply = _upload(client, "/console/units/import", "units-", "units.csv", BROKEN_UNITS_CSV.encode())
    assert reply.status_code == 422
    problems = _problems(reply.get_data(as_text=True))
    assert len(problems) == 3, problems
    assert any("第3行" in p for p in problems) and any("NOPE" in p for p in problems) and any("第5行" in p for p in problems)
    assert _count(Unit) == 0 and _actions() == []

    reply = _upload(client, "/console/units/import", "units-", "units.csv", UNITS_CSV.encode())
    assert reply.status_code == 302
    page = client.get("/console/units").get_data(as_text=True)
    assert "4" in page and "一社区" in page and "甲街道" in page
    assert _count(Unit) == 4 and _actions() == ["units.import"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action.not_in(SESSION_ACTIONS))).one()
    assert event.details == {"created": 4, "updated": 0} and event.user.username == "admin"


def test_a_long_file_name_does_not_fail_the_import(app):
    client = _admin(app)
    name = "各街道社区名单（" + "第一批" * 60 + "）.csv"
    reply = _upload(client, "/console/units/import", "units-", name, UNITS_CSV.encode())
    assert reply.status_code == 302
    assert _count(Unit) == 4
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "units.import")).one()
    assert event.target == name[:128]


def test_population_upload_broken_then_good(app):
    client = _admin(app)
    _upload(client, "/console/units/import", "units-", "units.csv", UNITS_CSV.encode())
    broken = "单位编码,性别,年龄组,人口\nD9-S1-C1,男,18_29,10\nXX,女,18_29,5\nD9-S1-C2,女,18_29,many\n"
    reply = _upload(client, "/console/population/import", "population-", "pop.csv", broken.encode())
    assert reply.status_code == 422
    problems = _problems(reply.get_data(as_text=True))
    assert len(problems) == 2 and "XX" in problems[0] and "many" in problems[1]
    assert _count(PopulationCell) == 0
    good = "单位编码,性别,年龄组,人口\nD9-S1-C1,男,18_29,1000\nD9-S1-C1,女,18_29,1200\nD9-S1-C2,男,60+,300\n"
    reply = _upload(client, "/console/population/import", "population-", "pop.csv", good.encode())
    assert reply.status_code == 302
    follow = client.get("/console/units").get_data(as_text=True)
    assert "3" in follow
    assert "population 2200" in client.get("/console/units?lang=en").get_data(as_text=True)
    assert _count(PopulationCell) == 3 and _actions() == ["units.import", "population.import"]


def test_unsupported_or_missing_file(app):
    client = _admin(app)
    reply = _upload(client, "/console/units/import", "units-", "units.pdf", b"%PDF")
    assert reply.status_code == 422 and "CSV" in _problems(reply.get_data(as_text=True))[0]
    reply = _post(client, "/console/units/import", {"units-csrf_token": csrf_token(client)})
    assert reply.status_code == 422 and _problems(reply.get_data(as_text=True))


STANDARD = STANDARD_QUESTIONNAIRE_PATH.read_text(encoding="utf-8")


def test_questionnaire_upload_lists_every_problem(app):
    client = _admin(app)
    reply = _upload(client, "/console/questionnaires", "", "q.yaml", b"code: [unclosed\n")
    assert reply.status_code == 422
    (problem,) = _problems(reply.get_data(as_text=True))
    assert "YAML" in problem

    data = yaml.safe_load(STANDARD)
    data["version"] = "two"
    data["questions"][1]["type"] = "no_such_type"
    data["questions"][2]["options"] = []
    broken = yaml.safe_dump(data, allow_unicode=True).encode()
    try:
        parse_questionnaire(data, source="q.yaml")
    except QuestionnaireError as exc:
        expected = [str(p) for p in exc.problems]
    assert len(expected) >= 3
    reply = _upload(client, "/console/questionnaires", "", "q.yaml", broken)
    assert reply.status_code == 422
    from html import unescape

    assert [unescape(p) for p in _problems(reply.get_data(as_text=True))] == expected
    assert _count(QuestionnaireVersion) == 0 and _actions() == []

    reply = _upload(client, "/console/questionnaires", "", "standard.yaml", STANDARD.encode())
    assert reply.status_code == 302
    assert _count(QuestionnaireVersion) == 1 and _actions() == ["questionnaire.import"]
    page = client.get("/console/questionnaires").get_data(as_text=True)
    assert "civilization_standard" in page and "/preview" in page


def _blocks(html: str) -> dict[str, str]:
    """The rendered question blocks by question id (each block ends before the next one)."""
    parts = re.split(r'(?=<div class="card question)', html)
    found = {}
    for part in parts[1:]:
        qid = re.search(r'data-qid="([^"]+)"', part).group(1)
        found[qid] = part.split("</form>")[0].split('<button class="btn"')[0].strip()
    return found


def test_preview_renders_the_residents_question_blocks(app):
    round_ = demo_round()
    client = _admin(app)
    channel = round_.channels[0]
    public = client.get(f"/s/{channel.token}").get_data(as_text=True)
    preview = client.get(f"/console/questionnaires/{round_.questionnaire_version_id}/preview").get_data(as_text=True)
    questionnaire = round_.questionnaire_version.parsed
    public_blocks, preview_blocks = _blocks(public), _blocks(preview)
    assert list(preview_blocks) == [q.id for q in questionnaire.questions] == list(public_blocks)
    for q in questionnaire.questions:
        if q.type != "community":  # the community list depends on the poster's street
            assert preview_blocks[q.id] == public_blocks[q.id], q.id
    # The same stylesheet, and no ticket or CSRF token: nothing real to submit to.
    assert re.search(r'<link rel="stylesheet" href="[^"]+">', public).group(0) in preview
    assert 'name="ticket"' not in preview and 'name="csrf_token"' not in preview
    assert 'method="get"' in preview and f"/s/{channel.token}" not in preview
    assert 'data-preview="1"' in preview
    parse_form(public)  # the public form still carries both


def _new_round_form(client, round_, **changes):
    page = client.get("/console/rounds/new").get_data(as_text=True)
    assert "新建" in page or "New round" in page
    data = {
        "name": "2026年第二次模拟测评", "kind": "official",
        "questionnaire_version": str(round_.questionnaire_version_id),
        "unit": str(unit("D01-S01").id),
        "opens_at": "2026-03-01T08:00", "closes_at": "2026-03-15T20:00",
        "one_response_per_device": "no", "excluded_flags": ["too_fast", "straight_lined"],
    }
    data.update(changes)
    return _post(client, "/console/rounds/new", data)


def test_round_creation_targets_and_suggested_quotas(app):
    district = demo_round()
    client = _admin(app)
    # A form with errors creates nothing.
    reply = _new_round_form(client, district, closes_at="2026-02-01T08:00", name="")
    assert reply.status_code == 422 and _count(Round) == 1

    reply = _new_round_form(client, district)
    assert reply.status_code == 302
    round_ = db.session.scalars(select(Round).where(Round.name == "2026年第二次模拟测评")).one()
    assert reply.headers["Location"].endswith(f"/console/rounds/{round_.id}/setup")
    # Beijing time in the form, UTC in the database.
    assert round_.opens_at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert round_.closes_at == datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert (round_.kind, round_.one_response_per_device) == ("official", False)
    assert round_.excluded_flags == ["straight_lined", "too_fast"]
    assert sorted(c.unit.code for c in round_.channels) == ["D01-S01-C01", "D01-S01-C02", "D01-S01-C03"]

    # Targets: blank inherits (the default is shown), a value is in percent.
    page = client.get(f"/console/rounds/{round_.id}/setup").get_data(as_text=True)
    assert 'placeholder="80"' in page
    reply = _post(client, f"/console/rounds/{round_.id}/targets", {"target_awareness": "150", "target_support": "x"})
    assert reply.status_code == 422 and round_.targets == {}
    reply = _post(client, f"/console/rounds/{round_.id}/targets", {"target_awareness": "85", "target_support": ""})
    assert reply.status_code == 302
    db.session.refresh(round_)
    assert round_.targets == {"awareness": 0.85}
    assert round_.effective_targets()["awareness"] == 0.85 and round_.effective_targets()["support"] == 0.7

    # Population for two of the three communities.
    for code, n in (("D01-S01-C01", 3000), ("D01-S01-C02", 1000)):
        db.session.add(PopulationCell(unit=unit(code), gender="male", age_group="18_29", population=n))
    db.session.commit()
    page = client.get(f"/console/rounds/{round_.id}/setup?suggest=sample_size").get_data(as_text=True)
    expected = {
        "D01-S01-C01": sample_size(0.05, level=0.95, rate=0.8, deff=1.5, population=3000),
        "D01-S01-C02": sample_size(0.05, level=0.95, rate=0.8, deff=1.5, population=1000),
        "D01-S01-C03": sample_size(0.05, level=0.95, rate=0.8, deff=1.5),
    }
    for code, n in expected.items():
        assert re.search(rf'id="quota_{unit(code).id}" name="quota_{unit(code).id}"[^>]*value="{n}"', page), code
    assert "1" in re.search(r'id="suggestion">(.*?)</p>', page, re.DOTALL).group(1)  # one without population

    page = client.get(f"/console/rounds/{round_.id}/setup?suggest=allocate&total=200&minimum=30").get_data(as_text=True)
    split = allocate(200, {"a": 3000, "b": 1000, "c": 0}, minimum=30)
    for code, key in (("D01-S01-C01", "a"), ("D01-S01-C02", "b"), ("D01-S01-C03", "c")):
        assert re.search(rf'name="quota_{unit(code).id}"[^>]*value="{split[key]}"', page), code
    assert _count(RoundQuota) == 0  # suggestions are not saved
    bad = client.get(f"/console/rounds/{round_.id}/setup?suggest=allocate&total=50&minimum=30").get_data(as_text=True)
    assert _problems(bad)

    quotas = {f"quota_{unit(code).id}": str(n) for code, n in expected.items()}
    quotas[f"quota_{unit('D01-S01-C03').id}"] = ""
    reply = _post(client, f"/console/rounds/{round_.id}/quotas", {**quotas, f"quota_{unit('D01-S01-C02').id}": "-4"})
    assert reply.status_code == 422 and _count(RoundQuota) == 0
    reply = _post(client, f"/console/rounds/{round_.id}/quotas", quotas)
    assert reply.status_code == 302
    assert {q.unit.code: q.quota for q in db.session.scalars(select(RoundQuota))} == {
        "D01-S01-C01": expected["D01-S01-C01"], "D01-S01-C02": expected["D01-S01-C02"]}
    assert _actions() == ["round.create", "round.targets", "round.quotas"]


def test_open_and_close_now_and_site_channels(app):
    round_ = demo_round()
    client = _admin(app)
    reply = _post(client, f"/console/rounds/{round_.id}/open")
    assert reply.status_code == 422 and _problems(reply.get_data(as_text=True))  # already open
    assert _post(client, f"/console/rounds/{round_.id}/close").status_code == 302
    db.session.refresh(round_)
    assert round_.state_at(datetime.now(UTC)) == "closed"
    assert client.get(f"/s/{round_.channels[0].token}").status_code == 403  # residents see it closed

    community = unit("D01-S02-C02")
    reply = _post(client, f"/console/rounds/{round_.id}/channels", {"unit": community.id, "site": "北门公告栏"})
    assert reply.status_code == 302
    again = _post(client, f"/console/rounds/{round_.id}/channels", {"unit": community.id, "site": "北门公告栏"},
                  follow_redirects=True)
    assert "北门公告栏" in again.get_data(as_text=True)
    db.session.refresh(round_)
    assert [c.site for c in round_.channels if c.unit_id == community.id] == ["", "北门公告栏"]
    assert _actions() == ["round.close", "channel.create"]


def test_staff_site_channel_is_audited_with_its_author(app):
    round_ = demo_round()
    make_user("staff_a", "staff", unit("D01-S01"))
    client = new_client(app)
    login(client, "staff_a")
    reply = _post(client, f"/console/rounds/{round_.id}/channels", {"unit": unit("D01-S01-C02").id, "site": "菜市场"})
    assert reply.status_code == 302
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action.not_in(SESSION_ACTIONS))).one()
    assert (event.action, event.user.username, event.details["site"], event.details["unit"]) == (
        "channel.create", "staff_a", "菜市场", "D01-S01-C02")


def test_accounts_create_deactivate_reset(app):
    demo_round()
    client = _admin(app)
    base = {"new-username": "li", "new-password": "long-enough-1", "new-role": "staff", "new-unit": "0"}
    reply = _post(client, "/console/accounts", {**base, "new-csrf_token": csrf_token(client)})
    assert reply.status_code == 422 and _count(User) == 1  # staff without a unit
    reply = _post(client, "/console/accounts", {**base, "new-password": "short", "new-csrf_token": csrf_token(client)})
    assert reply.status_code == 422 and _count(User) == 1
    reply = _post(client, "/console/accounts", {**base, "new-unit": str(unit("D01-S02").id),
                                                "new-csrf_token": csrf_token(client)})
    assert reply.status_code == 302
    li = db.session.scalars(select(User).where(User.username == "li")).one()
    assert (li.role, li.unit.code) == ("staff", "D01-S02") and li.check_password("long-enough-1")
    reply = _post(client, "/console/accounts", {**base, "new-unit": str(unit("D01-S02").id),
                                                "new-csrf_token": csrf_token(client)})
    assert reply.status_code == 422  # taken username

    staff = new_client(app)
    login(staff, "li", "long-enough-1")
    assert staff.get("/console/").status_code == 200
    assert _post(client, f"/console/accounts/{li.id}/deactivate").status_code == 302
    assert staff.get("/console/").status_code == 302  # signed out
    assert _post(client, f"/console/accounts/{li.id}/reactivate").status_code == 302
    reply = _post(client, f"/console/accounts/{li.id}/password",
                  {"reset-password": "another-pass", "reset-csrf_token": csrf_token(client)})
    assert reply.status_code == 302
    db.session.refresh(li)
    assert li.check_password("another-pass") and li.active
    admin = db.session.scalars(select(User).where(User.username == "admin")).one()
    assert _post(client, f"/console/accounts/{admin.id}/deactivate").status_code == 422  # not yourself
    assert _actions() == ["user.create", "user.deactivate", "user.reactivate", "user.password_reset"]
    page = client.get("/console/accounts").get_data(as_text=True)
    assert "li" in page and "新华街道" in page


def test_audit_log_page_and_csv(app):
    demo_round()
    client = _admin(app)
    admin = db.session.scalars(select(User)).one()
    from survey.usecases import audit

    db.session.execute(delete(AuditEvent))  # the administrator's sign-in: only the events below
    sneaky = make_user("=HYPERLINK(1)", "admin")
    for i in range(60):
        audit.record(db.session, admin, "round.targets", f"round:{i}")
    audit.record(db.session, sneaky, "+cmd", "-target", site="=1+1")
    db.session.commit()
    page = client.get("/console/audit").get_data(as_text=True)
    assert page.index("+cmd") < page.index("轮次 #59<") < page.index("轮次 #50<")  # newest first
    assert "修改目标值" in page and "round.targets" not in page  # actions in words
    assert "轮次 #9<" not in page  # on the second page
    second = client.get("/console/audit?page=2").get_data(as_text=True)
    assert "轮次 #9<" in second and "轮次 #59<" not in second
    reply = client.get("/console/audit.csv")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["id", "created_at_utc", "username", "action", "target", "details"]
    assert len(rows) == 62
    assert rows[1][2:5] == ["'=HYPERLINK(1)", "'+cmd", "'-target"]
    assert rows[1][5] == '{"site": "=1+1"}'
    assert rows[-1][4] == "round:0"
