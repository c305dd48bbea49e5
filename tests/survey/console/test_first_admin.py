"""A fresh install: the office creates its first administrator in the
browser, once, with the one-time setup code ``flask init-db`` printed;
afterwards the page is gone and two people claiming it at the same moment
cannot both succeed. Wrong codes are throttled."""

from __future__ import annotations

import re
import threading

import requests
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, SiteSetting, User
from survey.usecases import users
from tests.survey.consolekit import csrf_token, make_user, new_client


def _issue_code() -> str:
    code = users.issue_setup_code(db.session)
    db.session.commit()
    return code


def _claim(client, username, password="a-long-password", confirm=None, code=""):
    return client.post("/console/welcome", data={"csrf_token": csrf_token(client), "username": username,
                                                 "password": password, "confirm": confirm or password,
                                                 "setup_code": code})


def _actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_a_fresh_install_asks_for_the_first_administrator(app):
    code = _issue_code()
    client = new_client(app)
    reply = client.get("/console/login")
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/console/welcome")
    page = client.get("/console/welcome").get_data(as_text=True)
    assert "欢迎使用民意" in page and "创建管理员" in page and "设置码" in page and "init-db" in page

    reply = _claim(client, "office", "a-long-password", "another-password", code=code)
    assert reply.status_code == 422 and "两次输入的密码不一致" in reply.get_data(as_text=True)
    reply = _claim(client, "office", "short", code=code)
    assert reply.status_code == 422 and "至少" in reply.get_data(as_text=True)
    reply = _claim(client, "office")  # no code
    assert reply.status_code == 422
    reply = _claim(client, "office", code="ABCD-EFGH-JKLM")
    assert reply.status_code == 403 and "设置码不正确" in reply.get_data(as_text=True)
    assert db.session.scalars(select(User)).all() == []

    # The code as printed, or typed in lower case without the dashes.
    reply = _claim(client, "office", code=code.replace("-", "").lower())
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/console/units")
    user = db.session.scalars(select(User)).one()
    assert (user.username, user.role, user.active) == ("office", "admin", True)
    assert user.check_password("a-long-password")
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert created.user_id is None
    assert _actions() == ["setup_code.issue", "setup_code.failed", "user.create", "login"]
    assert db.session.get(SiteSetting, users.SETUP_CODE_SETTING) is None  # used up
    assert client.get("/console/units").status_code == 200  # signed in

    assert client.get("/console/welcome").status_code == 404
    assert _claim(new_client(app), "intruder", code=code).status_code == 404
    assert new_client(app).get("/console/login").status_code == 200
    assert db.session.scalars(select(User.username)).all() == ["office"]


def test_only_the_hash_of_the_code_is_stored_and_a_new_code_replaces_the_old(app):
    first = _issue_code()
    stored = db.session.get(SiteSetting, users.SETUP_CODE_SETTING).value
    assert first not in stored and first.replace("-", "") not in stored and len(stored) == 64
    second = _issue_code()
    assert second != first
    client = new_client(app)
    assert _claim(client, "office", code=first).status_code == 403
    assert _claim(client, "office", code=second).status_code == 302


def test_without_any_code_issued_no_code_opens_the_page(app):
    assert db.session.get(SiteSetting, users.SETUP_CODE_SETTING) is None
    client = new_client(app)
    for guess in ("", "AAAA-AAAA-AAAA", "anything"):
        assert _claim(client, "office", code=guess).status_code in (403, 422)
    assert db.session.scalars(select(User)).all() == []


def test_init_db_prints_a_code_while_no_account_exists(app, runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    code = re.search(r"^\s+([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\s*$", result.output, re.M).group(1)
    assert "/console/welcome" in result.output
    assert _claim(new_client(app), "office", code=code).status_code == 302
    # Once an account exists, init-db prints no code and the page stays closed.
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "welcome" not in result.output
    assert db.session.get(SiteSetting, users.SETUP_CODE_SETTING) is None


def test_create_admin_closes_the_page_and_is_audited(app, runner):
    code = _issue_code()
    result = runner.invoke(args=["create-admin", "boss", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    assert db.session.get(SiteSetting, users.SETUP_CODE_SETTING) is None
    assert _claim(new_client(app), "office", code=code).status_code == 404
    assert "user.create" in _actions()
    result = runner.invoke(args=["create-admin", "boss", "--password", "a-long-password"])
    assert result.exit_code != 0 and "boss" in result.output


def test_wrong_codes_are_throttled_per_address(app):
    code = _issue_code()
    guesser = new_client(app)
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for i in range(5):
        assert _claim(guesser, "office", code=f"WRNG-CODE-{i:04d}").status_code == 403
    reply = _claim(guesser, "office", code="WRNG-CODE-0099")
    assert reply.status_code == 429 and 0 < int(reply.headers["Retry-After"]) <= 15 * 60
    assert "分钟后再试" in reply.get_data(as_text=True)
    # Locked out: even the right code is not compared now.
    assert _claim(guesser, "office", code=code).status_code == 429
    assert db.session.scalars(select(User)).all() == []
    assert _actions().count("setup_code.failed") == 5
    assert _actions().count("setup_code.throttled") == 1  # once, not per refused attempt
    # Another address is not held up.
    other = new_client(app)
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert _claim(other, "office", code=code).status_code == 302


def test_the_page_never_appears_once_an_account_exists(app):
    code = _issue_code()
    make_user("made-on-the-command-line")
    client = new_client(app)
    assert client.get("/console/login").status_code == 200
    assert client.get("/console/welcome").status_code == 404
    assert _claim(client, "second", code=code).status_code == 404
    assert db.session.scalars(select(User.username)).all() == ["made-on-the-command-line"]


def test_simultaneous_claims_make_one_administrator(app, live_server):
    """Eight browsers submit the form at the same moment (gunicorn, 2 workers x 8 threads)."""
    code = _issue_code()
    sessions, tokens = [], []
    for _ in range(8):
        s = requests.Session()
        page = s.get(f"{live_server}/console/welcome").text
        tokens.append(re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1))
        sessions.append(s)
    start = threading.Barrier(len(sessions))
    replies = [None] * len(sessions)

    def claim(i):
        start.wait()
        replies[i] = sessions[i].post(f"{live_server}/console/welcome", allow_redirects=False, data={
            "csrf_token": tokens[i], "username": f"admin{i}", "password": "a-long-password",
            "confirm": "a-long-password", "setup_code": code})

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.expire_all()
    users = db.session.scalars(select(User)).all()
    assert len(users) == 1 and users[0].role == "admin"
    statuses = sorted(r.status_code for r in replies)
    assert all(code in (302, 404) for code in statuses), statuses
    winners = [r for r in replies if r.status_code == 302 and r.headers["Location"].endswith("/console/units")]
    assert len(winners) == 1


def test_a_claim_that_loses_the_race_is_told_the_page_is_gone_not_that_its_code_was_wrong(app, monkeypatch):
    """Another browser made the first account (using up the code) between this
    request's first look and its check of the code: 404, as the page is gone."""
    code = _issue_code()
    client = new_client(app)
    token = csrf_token(client)
    users.create_first_admin(db.session, username="winner", password="a-long-password")
    db.session.commit()
    looks = iter([True])  # the request's first look still sees a fresh install
    real = users.needs_first_admin
    monkeypatch.setattr(users, "needs_first_admin", lambda session: next(looks, None) or real(session))
    reply = client.post("/console/welcome", data={"csrf_token": token, "username": "loser",
                                                  "password": "a-long-password", "confirm": "a-long-password",
                                                  "setup_code": code})
    assert reply.status_code == 404
    assert db.session.scalars(select(User.username)).all() == ["winner"]
    assert "setup_code.failed" not in _actions()
