"""Importing a round's export into an empty round (not a test).

    python bench/bench_import.py --backend sqlite --rows 20000
    python bench/bench_import.py --backend postgresql

Simulates N responses in a demo round, exports them (CSV, as the office
downloads them), and times planning the import (reading, matching every
cell, duplicate look-up) and the import itself into an empty round.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from survey import create_app  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.migrate import upgrade_database  # noqa: E402
from survey.models.types import utcnow  # noqa: E402
from survey.queries.export import write_responses_csv  # noqa: E402
from survey.usecases import response_import  # noqa: E402
from survey.usecases.demo import load_demo, simulate_responses  # noqa: E402
from survey.usecases.round_setup import create_round_with_channels  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with scratch_database(args.backend, tmp) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp)})
        upgrade_database(app)
        with app.app_context():
            source = load_demo(db.session)
            simulate_responses(db.session, source, args.rows, seed=1)
            db.session.commit()
            out = io.StringIO()
            write_responses_csv(db.session, source, out)
            data = out.getvalue().encode()
            now = utcnow()
            target = create_round_with_channels(
                db.session, None, name="import", kind="drill", questionnaire_version=source.questionnaire_version,
                unit=source.unit, opens_at=now - timedelta(days=30), closes_at=now + timedelta(days=3))
            db.session.commit()
            started = time.perf_counter()
            plan = response_import.plan_import(db.session, target, "responses.csv", data, now=now)
            planned = time.perf_counter()
            record = response_import.run_import(db.session, None, target, plan, now)
            db.session.commit()
            done = time.perf_counter()
            stored = record.stored
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend {args.backend}: {args.rows} rows, file {len(data) / 1e6:.1f} MB")
    print(f"  plan {planned - started:.1f} s, import {done - planned:.1f} s, stored {stored}; "
          f"peak memory {peak:.0f} MB (whole process)")


if __name__ == "__main__":
    main()
