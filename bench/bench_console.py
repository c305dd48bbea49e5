"""Console speed on a big round (issue 4 "Speed"): 100,000 responses over 50
communities; results page, PDF report and workbook, cold (nothing cached),
after a worker's warm-up, and after new responses arrived.

    python bench/bench_console.py [--backend sqlite|postgresql] [--responses 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from questions import standard_definition  # noqa: E402
from survey import create_app  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.infrastructure.warmup import warm_reports  # noqa: E402
from survey.migrate import upgrade_database  # noqa: E402
from survey.models import Answer, PopulationCell, Response, Unit, User  # noqa: E402
from survey.models.types import utcnow  # noqa: E402
from survey.queries import reporting  # noqa: E402
from survey.usecases.questionnaires import import_questionnaire  # noqa: E402
from survey.usecases.round_setup import add_channels, create_round  # noqa: E402
from survey.vocabulary import STATUS_COMPLETE  # noqa: E402


def build(app, responses: int) -> int:
    rng = random.Random(5)
    with app.app_context():
        version, _ = import_questionnaire(db.session, standard_definition())
        district = Unit(code="B", name="基准区", level="district")
        communities = []
        for s in range(5):
            street = Unit(code=f"B-S{s}", name=f"第{s + 1}街道", level="street", parent=district)
            communities += [Unit(code=f"B-S{s}-C{c}", name=f"第{s + 1}街道第{c + 1}社区", level="community", parent=street)
                            for c in range(10)]
        db.session.add(district)
        db.session.flush()
        for unit in communities:
            for g in ("male", "female"):
                for a in ("18_29", "30_44", "45_59", "60_plus"):
                    db.session.add(PopulationCell(unit=unit, gender=g, age_group=a, population=rng.randint(300, 900)))
        now = utcnow()
        round_ = create_round(db.session, name="基准测评", kind="drill", questionnaire_version=version, unit=district,
                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1))
        channels = add_channels(db.session, round_, communities)
        admin = User(username="bench", role="admin")
        admin.set_password("bench-password")
        db.session.add(admin)
        db.session.commit()
        questions = round_.questionnaire_version.parsed.questions
        batch_r, batch_a = [], []
        next_id = 1
        for i in range(responses):
            channel = channels[i % len(channels)]
            batch_r.append(dict(id=next_id, round_id=round_.id, channel_id=channel.id, unit_id=channel.unit_id,
                                submission_key=f"b{i}", started_at=now - timedelta(minutes=5), submitted_at=now,
                                status=STATUS_COMPLETE, quality_flags=[], locale="zh", answer_data={}))
            for q in questions:
                if q.screening is not None:
                    value = sorted(q.screening.eligible)[0]
                elif q.kind.answers_unit:
                    value = channel.unit.code
                elif q.kind.multiple:
                    value = [q.options[0].code]
                elif q.options:
                    value = q.options[min(int(rng.expovariate(1.2)), len(q.options) - 1)].code
                else:
                    continue
                batch_a.append(dict(response_id=next_id, question_id=q.id, value=value))
                batch_r[-1]["answer_data"][q.id] = value
            next_id += 1
            if len(batch_r) == 5000:
                db.session.execute(insert(Response), batch_r)
                db.session.execute(insert(Answer), batch_a)
                db.session.commit()
                batch_r, batch_a = [], []
        if batch_r:
            db.session.execute(insert(Response), batch_r)
            db.session.execute(insert(Answer), batch_a)
            db.session.commit()
        return round_.id


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:6.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--responses", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with scratch_database(args.backend, tmp) as url:
        run(args, url, tmp)


def run(args, url: str, tmp: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp),
                      "WTF_CSRF_ENABLED": False})
    upgrade_database(app)
    start = time.perf_counter()
    round_id = build(app, args.responses)
    print(f"backend={args.backend}: {args.responses} responses over 50 communities "
          f"(set-up {time.perf_counter() - start:.0f} s)")
    client = app.test_client()
    client.post("/console/login", data={"username": "bench", "password": "bench-password"})
    base = f"/console/rounds/{round_id}"

    def get(url):
        reply = client.get(url)
        assert reply.status_code == 200, (url, reply.status_code)
        return reply

    def forget():
        """As after a worker starts: nothing cached (imported modules stay)."""
        reporting._cache.clear()
        reporting._rows_cache.clear()

    pages = (("results page", "/results"), ("PDF report", "/report.pdf"), ("workbook with 100k raw rows", "/results.xlsx"))
    print("cold: nothing cached, as in a worker without the warm-up")
    for first in (True, False):
        for label, url in pages:
            forget()
            timed(label + (" (first: with module imports)" if first else ""), lambda url=url: get(base + url))
    print("after the worker's warm-up (gunicorn.conf.py; runs in the background)")
    forget()
    timed("warm-up: read the round, compute the report", lambda: warm_reports(app))
    timed("results page", lambda: get(base + "/results"))
    timed("PDF report", lambda: get(base + "/report.pdf"))
    timed("workbook with 100k raw rows", lambda: get(base + "/results.xlsx"))
    print("after 500 new responses (arrays extended, report recomputed)")
    add_responses(app, round_id, 500)
    timed("results page", lambda: get(base + "/results"))
    with app.app_context():
        db.engine.dispose()


def add_responses(app, round_id: int, count: int) -> None:
    """More responses like the last ones, with new ids."""
    with app.app_context():
        last = db.session.scalar(select(Response).where(Response.round_id == round_id).order_by(Response.id.desc()))
        answers = db.session.execute(select(Answer.question_id, Answer.value).where(Answer.response_id == last.id)).all()
        start = last.id + 1
        db.session.execute(insert(Response), [
            dict(id=start + i, round_id=round_id, channel_id=last.channel_id, unit_id=last.unit_id,
                 submission_key=f"extra{i}", started_at=last.started_at, submitted_at=last.submitted_at,
                 status=STATUS_COMPLETE, quality_flags=[], locale="zh", answer_data=last.answer_data)
            for i in range(count)])
        db.session.execute(insert(Answer), [dict(response_id=start + i, question_id=q, value=v)
                                            for i in range(count) for q, v in answers])
        db.session.commit()


if __name__ == "__main__":
    main()
