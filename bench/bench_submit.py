"""Submission throughput against a real gunicorn server (not a test).

    python bench/bench_submit.py --backend sqlite --submissions 1000 --concurrency 20
    python bench/bench_submit.py --backend postgresql

Opens N forms (distinct phones), then posts them all with C concurrent
clients, every tenth one twice; reports requests/s and latency percentiles,
and checks the stored count.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
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
from survey.usecases.demo import load_demo  # noqa: E402
from tests.factories import complete_answers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp())
    with scratch_database(args.backend, tmp) as url:
        run(args, url, tmp)


def run(args, url: str, tmp: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp)})
    upgrade_database(app)
    with app.app_context():
        round_ = load_demo(db.session)
        db.session.commit()
        questionnaire = round_.questionnaire_version.parsed
        channels = [(c.token, c.unit.code) for c in round_.channels]

    with gunicorn(url, tmp, 5799, args.workers, args.threads) as base:
        forms = []
        for i in range(args.submissions):
            token, unit = channels[i % len(channels)]
            phone = requests.Session()
            html = phone.get(f"{base}/s/{token}").text
            fields = {
                "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1),
                "ticket": re.search(r'id="ticket" name="ticket" type="hidden" value="([^"]+)"', html).group(1),
            }
            for qid, value in complete_answers(questionnaire, unit).items():
                fields[f"q_{qid}"] = value
            forms.append((token, phone.cookies.get_dict(), fields))
        posts = forms + forms[::10]

        def post(item):
            token, cookies, fields = item
            start = time.perf_counter()
            reply = requests.post(f"{base}/s/{token}", data=fields, cookies=cookies, allow_redirects=False)
            return time.perf_counter() - start, reply.status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(post, posts))
        elapsed = time.perf_counter() - start
    latencies = sorted(r[0] for r in results)
    statuses = {s for _, s in results}
    with app.app_context():
        stored = db.session.query(Response).count()
        db.engine.dispose()
    print(f"backend={args.backend} posts={len(posts)} (repeats={len(forms[::10])}) concurrency={args.concurrency} "
          f"gunicorn={args.workers}x{args.threads}")
    print(f"  {len(posts) / elapsed:.0f} submissions/s; latency p50={statistics.median(latencies) * 1000:.0f} ms "
          f"p95={latencies[int(0.95 * len(latencies))] * 1000:.0f} ms max={latencies[-1] * 1000:.0f} ms")
    print(f"  statuses={sorted(statuses)} stored={stored} (expected {len(forms)})")


if __name__ == "__main__":
    main()
