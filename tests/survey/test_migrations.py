"""The Alembic migrations build exactly the models' schema, both ways."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from survey.extensions import db
from survey.migrate import alembic_config, downgrade_database, upgrade_database


def test_migrations_match_models(app):
    with app.app_context():
        cfg = alembic_config(app.config["SQLALCHEMY_DATABASE_URI"])
        with db.engine.connect() as connection:
            cfg.attributes["connection"] = connection
            command.check(cfg)  # raises if the models and the migrations differ


def test_downgrade_and_upgrade_again(app):
    downgrade_database(app, "base")
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(app)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"units", "rounds", "channels", "responses", "answers", "questionnaire_versions", "users"} <= tables
