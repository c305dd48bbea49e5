"""Console test helpers: accounts, sign-in, CSRF tokens, and a small world of
rounds and units to test who sees what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from survey.extensions import db
from survey.models import Channel, Round, Unit, User
from survey.models.types import utcnow
from survey.usecases.round_setup import create_round_with_channels
from tests.factories import demo_round

PASSWORD = "correct-horse"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def make_user(username: str, role: str = "admin", unit: Unit | None = None, password: str = PASSWORD) -> User:
    user = User(username=username, role=role, unit=unit)
    # A cheap hash: the tests sign in hundreds of times; the app's own default stays strong.
    user.password_hash = generate_password_hash(password, "pbkdf2:sha256:1000")
    db.session.add(user)
    db.session.commit()
    return user


class ConsoleClient(FlaskClient):
    """A test client for tests with several signed-in people at once.

    The ``app`` fixture's app context (and so ``g``) outlives requests, and
    Flask-Login keeps the signed-in user in ``g`` (Flask-WTF its CSRF token):
    without clearing them, one client's requests would run as another's user.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


def new_client(app) -> ConsoleClient:
    return ConsoleClient(app, app.response_class, use_cookies=True)


def csrf_token(client) -> str:
    # A fresh install sends the login page on to the first administrator's page (which has a token too).
    page = client.get("/console/login", follow_redirects=True).get_data(as_text=True)
    match = CSRF.search(page)
    return match.group(1) or match.group(2)


def login(client, username: str, password: str = PASSWORD):
    reply = client.post("/console/login", data={"csrf_token": csrf_token(client), "username": username,
                                                "password": password})
    assert reply.status_code == 302, f"{username} could not sign in"
    return reply


def unit(code: str) -> Unit:
    return db.session.scalars(select(Unit).where(Unit.code == code)).one()


def channel_of(round_: Round, code: str, site: str = "") -> Channel:
    return next(c for c in round_.channels if c.unit.code == code and c.site == site)


@dataclass
class World:
    """The demo district (streets D01-S01 东风, D01-S02 新华, D01-S03 城南) with:
    ``district_round`` over the whole district, ``street_b_round`` over
    D01-S02 only; accounts admin, viewer, staff_a (street D01-S01) and
    staff_b (community D01-S02-C01)."""

    district_round: Round
    street_b_round: Round
    users: dict[str, User]


def build_world() -> World:
    district_round = demo_round()
    now = utcnow()
    street_b_round = create_round_with_channels(
        db.session, None, name="新华街道专项调查", kind="drill",
        questionnaire_version=district_round.questionnaire_version, unit=unit("D01-S02"),
        opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=7),
    )
    db.session.commit()
    users = {
        "admin": make_user("admin", "admin"),
        "viewer": make_user("viewer", "viewer"),
        "staff_a": make_user("staff_a", "staff", unit("D01-S01")),
        "staff_b": make_user("staff_b", "staff", unit("D01-S02-C01")),
    }
    return World(district_round, street_b_round, users)
