"""create_app and its settings: environment, defaults, the kept secret key."""

from __future__ import annotations

import sqlite3

from survey import create_app
from survey.config import load_config, normalize_database_url
from survey.extensions import db


def test_defaults_come_from_the_instance_folder(tmp_path):
    settings = load_config(tmp_path, {}, {})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'minyi.sqlite3'}"
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == settings["SECRET_KEY"] and len(settings["SECRET_KEY"]) == 64
    assert key_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    # The same key on the next start (and for every worker).
    assert load_config(tmp_path, {}, {})["SECRET_KEY"] == settings["SECRET_KEY"]


def test_environment_settings(tmp_path):
    env = {"DATABASE_URL": "postgres://u@h/db", "SECRET_KEY": "k", "PUBLIC_BASE_URL": "https://x.cn/"}
    settings = load_config(tmp_path, env, {})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert settings["SECRET_KEY"] == "k"
    assert settings["PUBLIC_BASE_URL"] == "https://x.cn"
    assert not (tmp_path / "secret_key").exists()


def test_normalize_database_url():
    assert normalize_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert normalize_database_url("sqlite:///x") == "sqlite:///x"


def test_create_app_has_no_side_effects_but_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no database created yet
    with app.app_context():
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert isinstance(raw, sqlite3.Connection)
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 15000
            assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        db.engine.dispose()
