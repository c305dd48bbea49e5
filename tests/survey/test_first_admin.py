"""A fresh install: the office creates its first administrator in the
browser, once; afterwards the page is gone and two people claiming it at the
same moment cannot both succeed."""

from __future__ import annotations

import re
import threading

import requests
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, User
from tests.survey.consolekit import csrf_token, make_user, new_client


def _claim(client, username, password="a-long-password", confirm=None):
    return client.post("/console/welcome", data={"csrf_token": csrf_token(client), "username": username,
                                                 "password": password, "confirm": confirm or password})


def test_a_fresh_install_asks_for_the_first_administrator(app):
    client = new_client(app)
    reply = client.get("/console/login")
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/console/welcome")
    page = client.get("/console/welcome").get_data(as_text=True)
    assert "欢迎使用民意" in page and "创建管理员" in page

    reply = _claim(client, "office", "a-long-password", "another-password")
    assert reply.status_code == 422 and "两次输入的密码不一致" in reply.get_data(as_text=True)
    reply = _claim(client, "office", "short")
    assert reply.status_code == 422 and "至少" in reply.get_data(as_text=True)
    assert db.session.scalars(select(User)).all() == []

    reply = _claim(client, "office")
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/console/units")
    user = db.session.scalars(select(User)).one()
    assert (user.username, user.role, user.active) == ("office", "admin", True)
    assert user.check_password("a-long-password")
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.user_id) == ("user.create", None)
    assert client.get("/console/units").status_code == 200  # signed in

    assert client.get("/console/welcome").status_code == 404
    assert _claim(new_client(app), "intruder").status_code == 404
    assert new_client(app).get("/console/login").status_code == 200
    assert db.session.scalars(select(User.username)).all() == ["office"]


def test_the_page_never_appears_once_an_account_exists(app):
    make_user("made-on-the-command-line")
    client = new_client(app)
    assert client.get("/console/login").status_code == 200
    assert client.get("/console/welcome").status_code == 404
    assert _claim(client, "second").status_code == 404
    assert db.session.scalars(select(User.username)).all() == ["made-on-the-command-line"]


def test_simultaneous_claims_make_one_administrator(app, live_server):
    """Eight browsers submit the form at the same moment (gunicorn, 2 workers x 8 threads)."""
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
            "confirm": "a-long-password"})

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
