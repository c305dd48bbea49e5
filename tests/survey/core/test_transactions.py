"""The request (or the CLI command) is the one unit of work: it commits once at
its end or rolls back, whatever the view or service did in between."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import abort, redirect
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from survey import create_app, transactions
from survey.exceptions import SetupError
from survey.extensions import db
from survey.models import AuditEvent, SiteSetting, Unit, User
from tests.conftest import app_config
from tests.survey.consolekit import csrf_token, make_user, new_client

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def probe_app(app):
    """A second app on the test database with routes that write a row, then
    answer in each way a view can; wrapped by ``transactions.init_app`` as the
    real views are."""
    probe = create_app(app_config(app.config["SQLALCHEMY_DATABASE_URI"], WTF_CSRF_ENABLED=False,
                                  PROPAGATE_EXCEPTIONS=False))

    def write(value: str) -> None:
        db.session.add(SiteSetting(key="probe", value=value))
        db.session.flush()

    def ok():
        write("ok")
        return "stored"

    def raises():
        write("raises")
        raise RuntimeError("the view failed after writing")

    def refused():
        write("refused")
        return "problems", 422

    def refused_kept():
        write("kept")
        transactions.keep_refusal()
        return "wrong password", 401

    def not_found():
        write("not found")
        abort(404)

    def refused_by_service():
        write("refused by a service")
        raise SetupError("这项更改不能保存：示例原因。")

    def doomed_redirect():
        write("doomed")
        transactions.doom()
        return redirect("/elsewhere")

    def statement_only():
        # A write that never passes a flush (an INSERT run as a statement) is committed all the same.
        db.session.execute(insert(SiteSetting), [{"key": "probe", "value": "statement"}])
        return "stored"

    for view in (ok, raises, refused, refused_kept, not_found, refused_by_service, doomed_redirect, statement_only):
        probe.add_url_rule(f"/probe/{view.__name__}", view_func=view, methods=["POST"])
    transactions.init_app(probe)
    with probe.app_context():
        yield probe
        db.session.remove()
        db.engine.dispose()


def _stored(app) -> list[str]:
    with app.app_context():
        values = db.session.scalars(select(SiteSetting.value).where(SiteSetting.key == "probe")).all()
        db.session.remove()
        return list(values)


@pytest.mark.parametrize(("route", "status", "kept"), [
    ("ok", 200, ["ok"]),
    ("raises", 500, []),
    ("refused", 422, []),
    ("refused_kept", 401, ["kept"]),
    ("not_found", 404, []),
    ("refused_by_service", 422, []),
    ("doomed_redirect", 302, []),
    ("statement_only", 200, ["statement"]),
])
def test_the_request_commits_below_400_and_rolls_back_otherwise(probe_app, route, status, kept):
    response = probe_app.test_client().post(f"/probe/{route}")
    assert response.status_code == status
    assert _stored(probe_app) == kept


def test_a_refusal_no_view_answered_is_a_page_in_chinese(probe_app):
    response = probe_app.test_client().post("/probe/refused_by_service", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "这项更改不能保存：示例原因。" in page and "Traceback" not in page


def test_a_failed_commit_is_answered_503_and_leaves_nothing(probe_app, monkeypatch):
    def lost_connection():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", lost_connection)
    response = probe_app.test_client().post("/probe/ok")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    monkeypatch.undo()
    assert _stored(probe_app) == []


def test_every_view_of_the_app_is_wrapped(app):
    unwrapped = [endpoint for endpoint, view in app.view_functions.items()
                 if endpoint != "static" and not getattr(view, "is_transactional", False)]
    assert unwrapped == []


def test_a_refused_sign_in_is_kept_although_the_page_answers_401(app):
    make_user("office")
    client = new_client(app)
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    response = client.post("/console/login", data={"csrf_token": csrf_token(client), "username": "office",
                                                   "password": "wrong password!"})
    assert response.status_code == 401
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before + 1


def test_a_cli_command_that_fails_changes_nothing(runner, app):
    result = runner.invoke(args=["create-admin", "someone", "--password", "short"])
    assert result.exit_code != 0
    db.session.rollback()
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_admin_makes_staff_with_their_unit_through_the_users_service(runner, app):
    db.session.add(Unit(code="D01", name="示范区", level="district"))
    db.session.commit()
    refused = runner.invoke(args=["create-admin", "clerk", "--password", "a long enough password",
                                  "--role", "staff"])
    assert refused.exit_code != 0
    assert "单位" in refused.output
    result = runner.invoke(args=["create-admin", "clerk", "--password", "a long enough password",
                                 "--role", "staff", "--unit", "D01"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    clerk = db.session.scalar(select(User).where(User.username == "clerk"))
    assert clerk.role == "staff" and clerk.unit.code == "D01"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create")) is not None
    unknown = runner.invoke(args=["create-admin", "other", "--password", "a long enough password",
                                  "--role", "staff", "--unit", "NOPE"])
    assert unknown.exit_code != 0
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_only_the_transaction_owner_commits():
    """Views, services and commands never commit or roll back the app's session
    themselves (migrations run on their own connection)."""
    allowed = {"survey/transactions.py", "survey/migrate.py"}
    offenders = []
    for path in sorted((ROOT / "survey").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in allowed or relative.startswith("survey/migrations/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\.(commit|rollback)\(\)", line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
