"""Invariants the database and the models keep."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import PublishedVersionChanged, Unit
from tests.factories import demo_round


def test_published_questionnaire_version_never_changes(app):
    version = demo_round().questionnaire_version
    assert version.is_published
    version.definition = {**version.definition, "title": "别的标题"}
    with pytest.raises(PublishedVersionChanged):
        db.session.flush()
    db.session.rollback()


def test_unit_levels_are_checked(app):
    db.session.add(Unit(code="X1", name="某地", level="province"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_channel_tokens_are_unique_and_unguessable(app):
    tokens = [c.token for c in demo_round().channels]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 22 for t in tokens)  # 128 random bits


def test_unit_tree(app):
    round_ = demo_round()
    district = round_.unit
    assert district.level == "district"
    communities = [u for u in district.descendants() if u.level == "community"]
    assert len(communities) == len(round_.channels)
    assert communities[0].full_name.startswith(district.name)
