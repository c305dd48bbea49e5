"""Shared fixtures. Every test that touches the database runs on SQLite and
on PostgreSQL: the ``app`` fixture is parametrized over both backends.

Isolation: each backend gets a fresh database for the session (a temporary
SQLite file; a new PostgreSQL database), migrated with Alembic, and every
table is emptied after each test. Rolled-back outer transactions (the
savepoint recipe) would be faster, but several tests run a real server in
other threads and processes, which must see committed rows.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import delete

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


@pytest.fixture
def app(migrated_app):
    """The app on a migrated database that is emptied after the test; an app
    context is pushed so the test can use ``db.session`` directly."""
    with migrated_app.app_context():
        yield migrated_app
    with migrated_app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
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
