"""The ``app`` fixture's isolation: what a test commits is rolled back after
it, while inside the test commit, rollback and ``begin()`` act as usual."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import SiteSetting
from tests.conftest import rolled_back


def _keys() -> list[str]:
    return list(db.session.scalars(select(SiteSetting.key).order_by(SiteSetting.key)))


def _rows_on_the_engine(app) -> int:
    """Rows as another connection sees them (what the database really holds)."""
    with app.app_context(), db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(SiteSetting))


def test_commits_inside_are_kept_for_the_test_and_gone_after(migrated_app):
    with rolled_back(migrated_app), migrated_app.app_context():
        db.session.add(SiteSetting(key="committed", value="1"))
        db.session.commit()
        db.session.add(SiteSetting(key="rolled-back", value="2"))
        db.session.flush()
        db.session.rollback()  # back to the last commit, not to the test's start
        assert _keys() == ["committed"]
        db.session.commit()
        with db.session.begin():  # as CLI commands write
            db.session.add(SiteSetting(key="in-begin", value="3"))
        assert _keys() == ["committed", "in-begin"]
        db.session.commit()
        with pytest.raises(RuntimeError), db.session.begin():
            db.session.add(SiteSetting(key="failed", value="4"))
            raise RuntimeError
        assert _keys() == ["committed", "in-begin"]
        db.session.commit()
        with migrated_app.app_context():  # a second app context joins the same transaction
            assert _keys() == ["committed", "in-begin"]
    assert _rows_on_the_engine(migrated_app) == 0


def test_a_failed_flush_leaves_the_session_usable(migrated_app):
    with rolled_back(migrated_app), migrated_app.app_context():
        db.session.add(SiteSetting(key="k", value="1"))
        db.session.commit()
        db.session.add(SiteSetting(key="k", value="duplicate"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()  # PostgreSQL: back to the savepoint, the transaction is not aborted
        assert _keys() == ["k"]
    assert _rows_on_the_engine(migrated_app) == 0


@pytest.mark.committed
def test_a_committed_test_really_commits(app):
    db.session.add(SiteSetting(key="real", value="1"))
    db.session.commit()
    assert _rows_on_the_engine(app) == 1


def test_rows_committed_on_another_connection_fail_the_test_and_are_removed(migrated_app):
    with pytest.raises(pytest.fail.Exception, match="committed outside the test's transaction"):
        with rolled_back(migrated_app), migrated_app.app_context(), db.engine.begin() as other:
            other.execute(insert(SiteSetting).values(key="elsewhere", value="1"))
    assert _rows_on_the_engine(migrated_app) == 0
