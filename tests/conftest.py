"""Shared fixtures. Every test that touches the database runs on SQLite and
on PostgreSQL: the ``app`` fixture is parametrized over both backends.

Isolation: each backend gets a fresh database for the session (a temporary
SQLite file; a new PostgreSQL database), migrated with Alembic. A test then
runs inside an outer transaction on one connection that is rolled back at
the end: ``db.session`` joins it with savepoints (SQLAlchemy's "Joining a
Session into an External Transaction"), so the app's ``commit()``,
``rollback()`` and ``with db.session.begin():`` behave as usual without
anything reaching the database.

Tests whose rows must really be committed -- a server in another process
(``live_server``, which counts as such by itself), threads with their own
connections, code that opens its own connection through ``db.engine`` --
say ``@pytest.mark.committed`` (or ``pytestmark`` for a module): they run on
the plain engine and every table is emptied afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import scoped_session, sessionmaker

from survey import create_app
from survey.extensions import db
from survey.migrate import upgrade_database

PG_ADMIN_URL = os.environ.get("MINYI_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("MINYI_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
ARTIFACTS = Path(__file__).parent / "artifacts"


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database for this test session, on one backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    name = f"minyi_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def app_config(database_url: str, tmp_path: Path | None = None, **extra) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "PUBLIC_BASE_URL": "http://survey.example.cn",
    }
    if tmp_path is not None:
        config["INSTANCE_PATH"] = str(tmp_path / "instance")
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def migrated_app(database_url, tmp_path_factory):
    app = create_app(app_config(database_url, tmp_path_factory.mktemp("app")))
    upgrade_database(app)
    yield app
    with app.app_context():
        db.engine.dispose()


class JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session on the test's connection while the current
    app uses the test's database: the test's app, or another one a test makes
    on the same database with other settings. (Flask-SQLAlchemy's ``get_bind``
    would pick the app's engine and ignore ``bind=``.) An app on another
    database -- an unreachable one, say -- keeps its own engine."""

    def __init__(self, db, *, test_url, test_connection, **kwargs):
        super().__init__(db, **kwargs)
        self._test_url = test_url
        self._test_connection = test_connection

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and has_app_context() and current_app.config["SQLALCHEMY_DATABASE_URI"] == self._test_url:
            return self._test_connection
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _sqlite_savepoints(connection):
    """pysqlite begins transactions itself, too late and never before a
    SAVEPOINT: on this connection alone, the driver stays out of it and
    SQLAlchemy emits BEGIN (SQLAlchemy's pysqlite "Serializable isolation /
    Savepoints" recipe). Returns the undo."""
    raw = connection.connection.dbapi_connection
    before = raw.isolation_level
    raw.isolation_level = None
    event.listen(connection, "begin", _sqlite_begin)

    def undo() -> None:
        event.remove(connection, "begin", _sqlite_begin)
        raw.isolation_level = before

    return undo


@contextlib.contextmanager
def rolled_back(app):
    """``db.session`` joined with savepoints to an outer transaction that is
    rolled back when the block ends."""
    with app.app_context():
        db.session.remove()
        connection = db.engine.connect()
    if _rows_in_every_table(connection):  # left by a test that did not use the ``app`` fixture
        _empty_every_table(app)
    undo = _sqlite_savepoints(connection) if connection.dialect.name == "sqlite" else None
    outer = connection.begin()
    factory = sessionmaker(class_=JoinedSession, db=db, query_cls=db.Query,
                           test_url=app.config["SQLALCHEMY_DATABASE_URI"], test_connection=connection,
                           join_transaction_mode="create_savepoint")
    # Set and put back here, not with the test's monkeypatch (a test may undo that).
    original, db.session = db.session, scoped_session(factory, db.session.registry.scopefunc)
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        if outer.is_active:
            outer.rollback()
        if undo is not None:
            undo()
        left = _rows_in_every_table(connection)
        connection.close()
    if left:
        _empty_every_table(app)
        pytest.fail(f"{left} rows were committed outside the test's transaction (another connection or "
                    "process): mark the test @pytest.mark.committed", pytrace=False)


def _rows_in_every_table(connection) -> int:
    """How many rows all the app's tables hold (one query; its transaction is ended)."""
    counts = [select(func.count()).select_from(table).scalar_subquery() for table in db.metadata.sorted_tables]
    try:
        return connection.scalar(select(sum(counts[1:], counts[0])))
    finally:
        connection.rollback()


def _empty_every_table(app) -> None:
    with app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def app(migrated_app, request):
    """The app on the migrated database, with an app context pushed so the
    test can use ``db.session`` directly. Whatever the test writes is rolled
    back at the end; a test marked ``committed`` (or using ``live_server``)
    commits for real and every table is emptied afterwards."""
    committed = request.node.get_closest_marker("committed") is not None or "live_server" in request.fixturenames
    with contextlib.ExitStack() as stack:
        if committed:
            stack.callback(_empty_every_table, migrated_app)
        else:
            stack.enter_context(rolled_back(migrated_app))
        with migrated_app.app_context():
            yield migrated_app
    # Sign-in attempts are counted per app (memory): each test starts with none.
    migrated_app.extensions["minyi_login_throttle"].reset()


@pytest.fixture
def backend(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0].split("+")[0]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def artifacts() -> Path:
    """Folder for screenshots and rendered pages a person should look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(app):
    """The app served by gunicorn (2 workers x 8 threads) on the test database."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=root, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/s/ping", timeout=2)
        except urllib.error.HTTPError:
            break  # 404 from the app: it is serving
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
