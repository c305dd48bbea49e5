"""A starting worker reads its latest rounds into the report cache, so the
first results view does not have to; command-line tools never start it."""

from __future__ import annotations

import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from survey.extensions import db
from survey.infrastructure import warmup
from survey.models import Round
from survey.models.types import utcnow
from survey.queries import reporting
from tests.factories import demo_round, submit_responses

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fresh_caches():
    reporting._cache.clear()
    reporting._rows_cache.clear()
    yield
    reporting._cache.clear()
    reporting._rows_cache.clear()


def test_warm_up_computes_the_latest_rounds_reports(app, fresh_caches, monkeypatch):
    round_ = demo_round()
    submit_responses(round_, 40, seed=3)
    assert warmup.warm_reports(app) == [round_.id]
    assert reporting._rows_cache[round_.id].count == 40

    def no_recomputing(*args, **kwargs):
        raise AssertionError("the report should have come from the cache")

    monkeypatch.setattr(reporting, "build_report", no_recomputing)
    monkeypatch.setattr(reporting, "_read_new_rows", no_recomputing)
    report, _ = reporting.round_report(db.session, round_)
    assert report.methodology.n_rows == 40


def test_rounds_not_yet_open_are_not_warmed_and_the_newest_come_first(app, fresh_caches, monkeypatch):
    round_ = demo_round()
    future = Round(name="下一轮", kind="official", questionnaire_version=round_.questionnaire_version,
                   unit=round_.unit, opens_at=utcnow() + timedelta(days=3), closes_at=utcnow() + timedelta(days=9))
    older = Round(name="上一轮", kind="drill", questionnaire_version=round_.questionnaire_version,
                  unit=round_.unit, opens_at=round_.opens_at - timedelta(days=30),
                  closes_at=round_.opens_at - timedelta(days=20))
    db.session.add_all([future, older])
    db.session.commit()
    assert [r.id for r in warmup.rounds_to_warm(db.session, 5)] == [round_.id, older.id]
    monkeypatch.setitem(app.config, "WARM_UP_ROUNDS", 1)
    assert warmup.warm_reports(app) == [round_.id]


def test_a_failing_warm_up_is_logged_and_leaves_the_worker_alone(app, fresh_caches, monkeypatch, caplog):
    demo_round()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(reporting, "round_report", broken)
    assert warmup.warm_reports(app) == []
    assert "report warm-up stopped" in caplog.text


def test_gunicorn_workers_start_the_warm_up_and_zero_turns_it_off(app, fresh_caches, monkeypatch):
    round_ = demo_round()
    submit_responses(round_, 10, seed=4)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    started = []
    real_start = warmup.start_warm_up
    monkeypatch.setattr(warmup, "start_warm_up", lambda a: started.append(real_start(a)) or started[-1])
    hooks["post_worker_init"](SimpleNamespace(wsgi=app))
    started[0].join(timeout=60)
    assert round_.id in reporting._rows_cache

    monkeypatch.setitem(app.config, "WARM_UP_ROUNDS", 0)
    assert real_start(app) is None
