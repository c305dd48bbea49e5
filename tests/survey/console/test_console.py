"""The office console's first pages: sign-in, rounds, channels, all posters."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from survey.extensions import db
from survey.models import User
from tests.factories import demo_round


def _user(username="admin", password="correct-horse", role="admin") -> User:
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def _login(client, username="admin", password="correct-horse"):
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/console/login", data={"csrf_token": token, "username": username, "password": password})


def test_pages_need_sign_in(app, client):
    round_ = demo_round()
    for url in ("/console/", f"/console/rounds/{round_.id}", f"/console/rounds/{round_.id}/posters.pdf"):
        reply = client.get(url)
        assert reply.status_code == 302 and "/console/login" in reply.headers["Location"]


def test_wrong_password_is_refused_in_chinese(app, client):
    _user()
    reply = _login(client, password="wrong-password")
    assert reply.status_code == 401
    assert "用户名或密码错误" in reply.get_data(as_text=True)
    assert _login(client, username="nobody").status_code == 401


def test_admin_downloads_all_posters_of_a_round(app, client):
    round_ = demo_round()
    _user()
    assert _login(client).status_code == 302
    overview = client.get("/console/").get_data(as_text=True)
    assert round_.name in overview and "进行中" in overview
    page = client.get(f"/console/rounds/{round_.id}").get_data(as_text=True)
    for channel in round_.channels:
        assert channel.token in page
    pdf = client.get(f"/console/rounds/{round_.id}/posters.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == len(round_.channels)
    assert client.get("/console/rounds/9999").status_code == 404


def test_viewers_read_and_download_but_change_nothing(app, client):
    # Viewers read everything (tests/survey/console/test_permissions.py has the full matrix).
    round_ = demo_round()
    _user("viewer", role="viewer")
    _login(client, "viewer")
    assert client.get(f"/console/rounds/{round_.id}/posters.pdf").status_code == 200
    assert client.get("/console/").status_code == 200
    assert client.get(f"/console/rounds/{round_.id}/setup").status_code == 403


def test_inactive_account_cannot_sign_in(app, client):
    user = _user()
    user.active = False
    db.session.commit()
    assert _login(client).status_code == 401
