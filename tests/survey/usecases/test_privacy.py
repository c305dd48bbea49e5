"""Privacy: device cookies stored only as keyed hashes; technical data
purged a set time after a round closes; a round exported, then deleted."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from survey.config import load_config
from survey.extensions import db
from survey.models import Answer, AuditEvent, Channel, Response, Round, RoundQuota
from survey.usecases import privacy
from survey.usecases.round_setup import set_quotas
from survey.usecases.submission import device_hash
from tests.factories import close_round, complete_answers, demo_round, submit_responses
from tests.survey.consolekit import build_world, csrf_token, login, new_client
from tests.survey.formpage import parse_form

RETENTION = timedelta(days=90)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- device identifiers ---------------------------------------------------------------

def test_device_cookie_is_stored_only_as_a_keyed_hash(app, client):
    round_ = demo_round()
    channel = round_.channels[0]
    answers = complete_answers(round_.questionnaire_version.parsed, channel.unit.code)
    form = parse_form(client.get(f"/s/{channel.token}").get_data(as_text=True))
    cookie = client.get_cookie(app.config["DEVICE_COOKIE_NAME"]).value
    assert client.post(f"/s/{channel.token}", data=form.fields(answers),
                       environ_base={"REMOTE_ADDR": "203.0.113.77"}).status_code == 303

    # Every column of the stored row, read back from the table itself.
    row = db.session.execute(text("SELECT * FROM responses")).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    assert cookie not in stored and "203.0.113" not in stored
    assert row["device_id"] == row["device_lock"] == device_hash(app.config["SECRET_KEY"], cookie)
    assert len(row["device_id"]) == 32
    # Another key gives another hash: the table cannot be joined to cookies without the key.
    assert device_hash("another key", cookie) != row["device_id"]

    # The one-response-per-device rule still holds (it compares hashes).
    assert client.get(f"/s/{channel.token}").status_code == 409
    assert _count(Response) == 1


def test_raw_device_ids_from_before_are_hashed(app):
    round_ = demo_round()
    submit_responses(round_, 3, seed=5)
    first, second, third = db.session.scalars(select(Response).order_by(Response.id)).all()
    first.device_id = first.device_lock = "rawcookievalue-22chars"
    second.device_id = device_hash(app.config["SECRET_KEY"], "already-hashed")
    db.session.commit()
    assert privacy.hash_raw_device_ids(db.session, app.config["SECRET_KEY"], dry_run=True) == 1
    assert privacy.hash_raw_device_ids(db.session, app.config["SECRET_KEY"]) == 1
    db.session.commit()
    db.session.expire_all()
    expected = device_hash(app.config["SECRET_KEY"], "rawcookievalue-22chars")
    assert (first.device_id, first.device_lock) == (expected, expected)
    assert second.device_id == device_hash(app.config["SECRET_KEY"], "already-hashed")
    assert third.device_id is None
    assert privacy.hash_raw_device_ids(db.session, app.config["SECRET_KEY"]) == 0


# --- retention -------------------------------------------------------------------------

def _with_technical_data(round_: Round, count: int, seed: int) -> None:
    submit_responses(round_, count, seed=seed)
    db.session.execute(update(Response).where(Response.round_id == round_.id).values(
        device_id=func.substr(func.lower(Response.submission_key), 1, 32), network_hash="net-hash"))
    db.session.commit()


def _technical(round_: Round) -> int:
    return _count(Response, Response.round_id == round_.id,
                  (Response.device_id.is_not(None)) | (Response.device_lock.is_not(None))
                  | (Response.network_hash.is_not(None)))


def test_technical_data_are_purged_after_retention_and_not_before(app):
    world = build_world()
    closed, still_open = world.district_round, world.street_b_round
    _with_technical_data(closed, 30, seed=3)
    _with_technical_data(still_open, 10, seed=4)
    close_round(closed)
    # Some flags and a void, to see that they stay.
    flagged = db.session.scalars(select(Response).where(Response.round_id == closed.id).limit(3)).all()
    for r in flagged:
        r.quality_flags, r.flag_reasons = ["burst"], {"burst": "同一网络 10 分钟内集中提交 6 份"}
    db.session.commit()
    answers_before = _count(Answer)
    data_before = {r.id: (r.answer_data, r.quality_flags, r.flag_reasons)
                   for r in db.session.scalars(select(Response).where(Response.round_id == closed.id))}
    closed_at = closed.closes_at

    # A day before the retention ends: nothing.
    assert privacy.purge_technical_data(db.session, closed_at + RETENTION - timedelta(days=1), RETENTION) == []
    assert _technical(closed) == 30 and closed.technical_data_purged_at is None

    # A dry run lists the round and changes nothing.
    when = closed_at + RETENTION
    listed = privacy.purge_technical_data(db.session, when, RETENTION, dry_run=True)
    assert [(p.round_id, p.responses) for p in listed] == [(closed.id, 30)]
    assert _technical(closed) == 30

    purged = privacy.purge_technical_data(db.session, when, RETENTION)
    db.session.commit()
    db.session.expire_all()
    assert [(p.round_id, p.responses) for p in purged] == [(closed.id, 30)]
    assert _technical(closed) == 0
    assert _technical(still_open) == 10  # an open round keeps its technical data
    assert closed.technical_data_purged_at == when
    assert _count(Answer) == answers_before
    assert {r.id: (r.answer_data, r.quality_flags, r.flag_reasons)
            for r in db.session.scalars(select(Response).where(Response.round_id == closed.id))} == data_before
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == privacy.PURGE_ACTION)).one()
    assert event.target == f"round:{closed.id}" and event.details["responses"] == 30 and event.user_id is None

    # Done once: the next day's run finds nothing.
    assert privacy.purge_technical_data(db.session, when + timedelta(days=1), RETENTION) == []


def test_purge_command_reports_in_chinese(app, runner):
    round_ = demo_round()
    _with_technical_data(round_, 5, seed=6)
    close_round(round_)
    app.config["TECHNICAL_DATA_RETENTION_DAYS"] = 0
    try:
        dry = runner.invoke(args=["purge-technical-data", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "试运行" in dry.output and "将清除 5 份答卷" in dry.output
        assert _technical(round_) == 5
        real = runner.invoke(args=["purge-technical-data"])
        assert real.exit_code == 0, real.output
        assert "已清除 5 份答卷的设备与网络标识" in real.output and round_.name in real.output
        db.session.expire_all()
        assert _technical(round_) == 0
        again = runner.invoke(args=["purge-technical-data"])
        assert "没有到期" in again.output
    finally:
        app.config["TECHNICAL_DATA_RETENTION_DAYS"] = 90


def test_round_page_says_when_technical_data_go(app):
    world = build_world()
    round_ = world.district_round
    close_round(round_)
    client = new_client(app)
    login(client, "admin")
    page = client.get(f"/console/rounds/{round_.id}").get_data(as_text=True)
    assert "关闭后 90 天" in page and "清除" in page
    privacy.purge_technical_data(db.session, round_.closes_at + RETENTION, RETENTION)
    db.session.commit()
    page = client.get(f"/console/rounds/{round_.id}").get_data(as_text=True)
    assert "已于" in page and "清除" in page


def test_retention_setting_from_the_environment(tmp_path):
    env = {"SECRET_KEY": "k"}
    settings = load_config(tmp_path, {**env, "MINYI_TECHNICAL_DATA_RETENTION_DAYS": "30"}, {})
    assert settings["TECHNICAL_DATA_RETENTION_DAYS"] == 30
    for bad in ("thirty", "-1"):
        with pytest.raises(ValueError, match="MINYI_TECHNICAL_DATA_RETENTION_DAYS"):
            load_config(tmp_path, {**env, "MINYI_TECHNICAL_DATA_RETENTION_DAYS": bad}, {})


# --- export, then delete ---------------------------------------------------------------------

def _rows_of_round(round_id: int, channel_ids: list[int]) -> dict[str, int]:
    return {
        "rounds": _count(Round, Round.id == round_id),
        "responses": _count(Response, Response.round_id == round_id),
        "answers": _count(Answer, Answer.response_id.in_(select(Response.id).where(Response.round_id == round_id))),
        "channels": _count(Channel, Channel.round_id == round_id),
        "quotas": _count(RoundQuota, RoundQuota.round_id == round_id),
        "answers of its channels": _count(Response, Response.channel_id.in_(channel_ids)),
    }


@pytest.fixture
def closed_world(app):
    world = build_world()
    round_ = world.district_round
    submit_responses(round_, 40, seed=8)
    submit_responses(world.street_b_round, 12, seed=9)
    set_quotas(db.session, world.users["admin"], round_, {round_.channels[0].unit_id: 30})
    db.session.commit()
    close_round(round_)
    return world


def test_export_then_delete_a_round(app, closed_world):
    round_, other = closed_world.district_round, closed_world.street_b_round
    round_id, name = round_.id, round_.name
    channel_ids = [c.id for c in round_.channels]
    other_before = _rows_of_round(other.id, [c.id for c in other.channels])
    admin = new_client(app)
    login(admin, "admin")

    page = admin.get(f"/console/rounds/{round_id}/delete")
    assert page.status_code == 200
    assert "40" in page.get_data(as_text=True)
    # Not before the data were downloaded.
    refused = admin.post(f"/console/rounds/{round_id}/delete",
                         data={"csrf_token": csrf_token(admin), "confirm_name": name})
    assert refused.status_code == 422 and "下载" in refused.get_data(as_text=True)
    assert _rows_of_round(round_id, channel_ids)["responses"] == 40

    archive = admin.get(f"/console/rounds/{round_id}/archive.zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zf:
        assert set(zf.namelist()) == {"README.txt", "responses.csv", "codebook.csv", "round.json",
                                      "questionnaire.json"}
        rows = list(csv.DictReader(io.StringIO(zf.read("responses.csv").decode("utf-8-sig"))))
        settings = json.loads(zf.read("round.json"))
    assert len(rows) == 40 and {r["voided"] for r in rows} == {"no"}
    assert settings["round"]["name"] == name
    assert [q["quota"] for q in settings["quotas"]] == [30]
    assert sum(c["responses"] for c in settings["channels"]) == 40

    # The name must be typed exactly.
    wrong = admin.post(f"/console/rounds/{round_id}/delete",
                       data={"csrf_token": csrf_token(admin), "confirm_name": name + "x"})
    assert wrong.status_code == 422
    assert _rows_of_round(round_id, channel_ids)["rounds"] == 1

    done = admin.post(f"/console/rounds/{round_id}/delete",
                      data={"csrf_token": csrf_token(admin), "confirm_name": f"  {name} "})
    assert done.status_code == 302
    db.session.expire_all()
    assert _rows_of_round(round_id, channel_ids) == dict.fromkeys(other_before, 0)
    assert _rows_of_round(other.id, [c.id for c in other.channels]) == other_before  # the other round is untouched
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == privacy.DELETE_ACTION)).one()
    assert event.target == f"round:{round_id}" and event.user_id == closed_world.users["admin"].id
    assert event.details["responses"] == 40 and event.details["name"] == name
    assert admin.get(f"/console/rounds/{round_id}").status_code == 404


def test_an_open_round_is_not_deleted(app):
    world = build_world()
    round_ = world.district_round
    submit_responses(round_, 5, seed=2)
    admin = new_client(app)
    login(admin, "admin")
    assert admin.get(f"/console/rounds/{round_.id}/archive.zip").status_code == 200
    refused = admin.post(f"/console/rounds/{round_.id}/delete",
                         data={"csrf_token": csrf_token(admin), "confirm_name": round_.name})
    assert refused.status_code == 422 and "关闭" in refused.get_data(as_text=True)
    assert _count(Response, Response.round_id == round_.id) == 5
    assert _count(AuditEvent, AuditEvent.action == privacy.DELETE_ACTION) == 0


@pytest.mark.parametrize("who", ["viewer", "staff_a", "staff_b", "anonymous"])
def test_only_administrators_export_and_delete(app, closed_world, who):
    round_ = closed_world.district_round
    client = new_client(app)
    if who != "anonymous":
        login(client, who)
    expected = 302 if who == "anonymous" else 403
    for reply in (client.get(f"/console/rounds/{round_.id}/archive.zip"),
                  client.get(f"/console/rounds/{round_.id}/delete"),
                  client.post(f"/console/rounds/{round_.id}/delete",
                              data={"csrf_token": csrf_token(client), "confirm_name": round_.name})):
        assert reply.status_code == expected
        if who == "anonymous":
            assert "/console/login" in reply.headers["Location"]
    assert _count(Response, Response.round_id == round_.id) == 40
    assert _count(AuditEvent, AuditEvent.action.in_([privacy.EXPORT_ACTION, privacy.DELETE_ACTION])) == 0


def test_delete_round_command(app, runner, closed_world, tmp_path):
    round_ = closed_world.district_round
    round_id = round_.id
    channel_ids = [c.id for c in round_.channels]
    target = tmp_path / "archive.zip"
    target.write_bytes(b"earlier")
    kept = runner.invoke(args=["delete-round", str(round_id), "--yes", "--archive", str(target)])
    assert kept.exit_code != 0 and "已存在" in kept.output
    assert target.read_bytes() == b"earlier" and _count(Round, Round.id == round_id) == 1

    target = tmp_path / "round.zip"
    result = runner.invoke(args=["delete-round", str(round_id), "--yes", "--archive", str(target)])
    assert result.exit_code == 0, result.output
    assert "已删除" in result.output and "40 份答卷" in result.output
    with zipfile.ZipFile(target) as zf:
        assert len(list(csv.reader(io.StringIO(zf.read("responses.csv").decode("utf-8-sig"))))) == 41
    db.session.expire_all()
    assert set(_rows_of_round(round_id, channel_ids).values()) == {0}
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"round:{round_id}")
                                 .order_by(AuditEvent.id)).all()
    assert actions[-2:] == [privacy.EXPORT_ACTION, privacy.DELETE_ACTION]

    missing = runner.invoke(args=["delete-round", str(round_id), "--yes"])
    assert missing.exit_code != 0 and "没有编号" in missing.output


def test_delete_round_command_refuses_an_open_round(app, runner, tmp_path):
    round_ = demo_round()
    result = runner.invoke(args=["delete-round", str(round_.id), "--yes", "--archive", str(tmp_path / "a.zip")])
    assert result.exit_code != 0 and "尚未关闭" in result.output
    assert not (tmp_path / "a.zip").exists()
    assert _count(Round, Round.id == round_.id) == 1
