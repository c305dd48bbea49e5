"""Live progress of a round with 100,000 responses (issue 4 item 4).

    python bench/bench_progress.py [--rows 100000] [--database-url URL]

Builds the demo district in a temporary SQLite database (or the given one,
which must be empty), inserts the responses in bulk and times
``monitoring.round_progress``: the first call scores the whole round for
integrity flags (``survey.usecases.integrity``), later ones only count.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from survey import create_app
from survey.extensions import db
from survey.migrate import upgrade_database
from survey.models import Response
from survey.models.types import utcnow
from survey.queries.progress import round_progress
from survey.usecases.demo import load_demo
from survey.vocabulary import STATUS_COMPLETE, STATUS_SCREENED_OUT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": folder})
    upgrade_database(app)
    with app.app_context():
        round_ = load_demo(db.session)
        db.session.commit()
        channels = list(round_.channels)
        questions = round_.questionnaire_version.parsed.questions
        rng = random.Random(1)
        now = utcnow()
        rows = []
        for i in range(args.rows):
            channel = channels[i % len(channels)]
            submitted = now - timedelta(seconds=rng.randrange(0, 14 * 86400))
            rows.append(dict(  # noqa: C408 - keyword form mirrors the columns
                round_id=round_.id, channel_id=channel.id, unit_id=channel.unit_id, submission_key=f"b{i}",
                device_id=f"d{rng.randrange(args.rows)}", network_hash=f"n{rng.randrange(5000)}",
                started_at=submitted - timedelta(seconds=rng.randrange(30, 600)), submitted_at=submitted,
                status=STATUS_COMPLETE if rng.random() < 0.95 else STATUS_SCREENED_OUT,
                quality_flags=["too_fast"] if rng.random() < 0.05 else [], locale="zh",
                answer_data={q.id: rng.choice(q.options).code for q in questions if q.options},
            ))
        db.session.execute(insert(Response), rows)
        db.session.commit()
        start = time.perf_counter()
        round_progress(db.session, round_, utcnow())
        first = time.perf_counter() - start
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            progress = round_progress(db.session, round_, utcnow())
            times.append(time.perf_counter() - start)
        # 100 more arrive now: the next view scores only what is within their reach.
        db.session.execute(insert(Response), [dict(row, submission_key=f"n{i}", submitted_at=now,
                                                   started_at=now - timedelta(seconds=200))
                                              for i, row in enumerate(rows[:100])])
        db.session.commit()
        start = time.perf_counter()
        round_progress(db.session, round_, utcnow())
        after_new = time.perf_counter() - start
        print(f"{args.rows} responses, {len(progress.rows)} rows: first (scoring the whole round) {first:.3f} s; "
              f"then best {min(times):.3f} s (runs {', '.join(f'{t:.3f}' for t in times)}); "
              f"after 100 new responses (scoring within their reach) {after_new:.3f} s; "
              f"flagged: {progress.total.flags}")


if __name__ == "__main__":
    main()
