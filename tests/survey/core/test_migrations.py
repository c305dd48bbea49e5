"""The Alembic migrations build exactly the models' schema, both ways."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from survey.extensions import db
from survey.migrate import alembic_config, downgrade_database, upgrade_database

pytestmark = pytest.mark.committed  # the schema is dropped and built again


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


def test_answer_data_is_filled_for_responses_stored_before_revision_0004(app):
    from sqlalchemy import select

    from survey.models import Response
    from tests.factories import demo_round, submit_responses

    round_ = demo_round()
    submit_responses(round_, 3, seed=11)
    before = {r.id: {a.question_id: a.value for a in r.answers} for r in db.session.scalars(select(Response))}
    db.session.remove()
    downgrade_database(app, "0003")
    upgrade_database(app)
    after = {r.id: r.answer_data for r in db.session.scalars(select(Response))}
    assert after == before and all(after.values())
