"""Console speed on a big round (issue 4 "Speed"): 100,000 responses over 50
communities; results page, PDF report and workbook, cold (nothing cached) and
warm (the report cached by the results page).

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

import yaml
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from questions import STANDARD_QUESTIONNAIRE_PATH  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from survey import create_app  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.migrate import upgrade_database  # noqa: E402
from survey.models import Answer, PopulationCell, Response, Unit, User  # noqa: E402
from survey.models.types import utcnow  # noqa: E402
from survey.services import reporting  # noqa: E402
from survey.services.questionnaires import import_questionnaire  # noqa: E402
from survey.services.rounds import add_channels, create_round  # noqa: E402



def build(app, responses: int) -> int:
    rng = random.Random(5)
    with app.app_context():
        version, _ = import_questionnaire(db.session, yaml.safe_load(STANDARD_QUESTIONNAIRE_PATH.read_text("utf-8")))
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
                                status="complete", quality_flags=[], locale="zh", answer_data={}))
            for q in questions:
                if q.screening is not None:
                    value = sorted(q.screening.eligible)[0]
                elif q.type == "community":
                    value = channel.unit.code
                elif q.type == "multiple_choice":
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

    reporting._cache.clear()
    timed("results page (cold: read + compute)", lambda: get(base + "/results"))
    timed("results page (warm)", lambda: get(base + "/results"))
    reporting._cache.clear()
    timed("PDF report (cold)", lambda: get(base + "/report.pdf"))
    timed("PDF report (warm)", lambda: get(base + "/report.pdf"))
    reporting._cache.clear()
    timed("workbook with 100k raw rows (cold)", lambda: get(base + "/results.xlsx"))
    timed("workbook (warm)", lambda: get(base + "/results.xlsx"))
    with app.app_context():
        from survey.models import Round

        round_ = db.session.get(Round, round_id)
        reporting._cache.clear()
        data = timed("  of which: read responses into arrays", lambda: reporting.report_input(
            db.session, round_, reporting.ReportOptions()))
        from analysis.report import build_report

        timed("  of which: compute the report (analysis)", lambda: build_report(data))
        db.engine.dispose()


if __name__ == "__main__":
    main()
