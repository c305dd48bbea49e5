"""Interviewers' phones syncing against a real gunicorn server (not a test).

    python bench/bench_sync.py --backend sqlite --phones 20 --per-phone 100
    python bench/bench_sync.py --backend postgresql

Each phone claims a sign-up code, then sends its questionnaires in batches
of 20, as interview.js does; every third batch is sent twice (the answer
was "lost"), so duplicates are recognised under load. Reports
questionnaires stored per second, batch latency percentiles, and checks
stored = distinct questionnaires sent.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import gunicorn, scratch_database  # noqa: E402
from survey import create_app  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.migrate import upgrade_database  # noqa: E402
from survey.models import Response  # noqa: E402
from survey.models.types import utcnow  # noqa: E402
from survey.usecases import fieldwork  # noqa: E402
from survey.usecases.demo import load_demo  # noqa: E402
from tests.factories import complete_answers  # noqa: E402

BATCH = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--per-phone", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with scratch_database(args.backend, tmp) as url:
        run(args, url, tmp)


def run(args, url: str, tmp: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp)})
    upgrade_database(app)
    with app.app_context():
        round_ = load_demo(db.session)
        codes = [i.signup_code for i in fieldwork.create_signup_codes(
            db.session, None, round_, args.phones, ["D01-S01"], practice_only=False, now=utcnow())]
        db.session.commit()
        questionnaire = round_.questionnaire_version.parsed
        round_id = round_.id

    with gunicorn(url, tmp, 5798, args.workers, args.threads) as base:
        phones = []
        for i, code in enumerate(codes):
            phone = requests.Session()
            html = phone.get(f"{base}/i/join/{code}").text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
            phone.post(f"{base}/i/join/{code}", data={"csrf_token": token, "name": f"调查员{i}"})
            phones.append(phone)

        def items(n: int) -> list[dict]:
            now = time.time() * 1000
            out = []
            for k in range(n):
                answers = complete_answers(questionnaire, f"D01-S01-C0{1 + k % 3}", k % 4)
                out.append({"key": str(uuid.uuid4()), "practice": False, "started_at": now - 300_000,
                            "completed_at": now, "answers": {q: v if isinstance(v, list) else [v]
                                                             for q, v in answers.items()}})
            return out

        latencies: list[float] = []
        statuses: dict[str, int] = {}

        def work(phone) -> None:
            queue = items(args.per_phone)
            for b, start in enumerate(range(0, len(queue), BATCH)):
                batch = queue[start:start + BATCH]
                for _ in range(2 if b % 3 == 2 else 1):
                    t = time.perf_counter()
                    reply = phone.post(f"{base}/i/api/sync", json={"phone_now": time.time() * 1000, "items": batch})
                    latencies.append(time.perf_counter() - t)
                    reply.raise_for_status()
                    for r in reply.json()["results"]:
                        statuses[r["status"]] = statuses.get(r["status"], 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(args.phones) as pool:
            list(pool.map(work, phones))
        elapsed = time.perf_counter() - started

    with app.app_context():
        stored = db.session.query(Response).filter(Response.round_id == round_id).count()
    sent = args.phones * args.per_phone
    q = statistics.quantiles(latencies, n=100)
    print(f"backend {args.backend}: {args.phones} phones x {args.per_phone} questionnaires, batches of {BATCH}, "
          f"gunicorn {args.workers} workers x {args.threads} threads")
    print(f"  {sent} distinct sent in {elapsed:.1f} s: {sent / elapsed:.0f} questionnaires/s stored; "
          f"{len(latencies)} requests")
    print(f"  batch latency p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms")
    print(f"  answers: {statuses}; stored in the database: {stored} (expected {sent})")
    assert stored == sent, "lost or doubled questionnaires"


if __name__ == "__main__":
    main()
