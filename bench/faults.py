"""Faults under a stream of submissions against a real gunicorn server (not a test).

    python bench/faults.py                       # every scenario
    python bench/faults.py restart --phones 300  # one scenario
    python bench/faults.py kill --backend sqlite

Scenarios (each with its own fresh database):

``restart``  PostgreSQL restarted twice mid-stream (``pg_ctl restart``: once
             ``-m fast``, once ``-m immediate``, which is a crash and a
             recovery) -- on a private server started for the run (initdb in a
             temporary folder, its own port), so no other user of the
             machine's server is disturbed.
``cut``      The connection between the app and the machine's PostgreSQL cut
             by a TCP proxy for a few seconds, then restored.
``kill``     gunicorn workers SIGKILLed mid-stream (one, then all, then one),
             on SQLite and on PostgreSQL.

Every phone opens its form first, then sends its answers with the same
ticket until it gets the thank-you page (retrying after a failure with a
short backoff, as the form script does with longer waits). While the stream
runs, a probe opens a form every 0.2 s as a newly arriving resident would.
Afterwards: every thank-you page must be exactly one stored response, no
submission key stored twice, every answer set stored, no 500.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from survey import create_app  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.migrate import upgrade_database  # noqa: E402
from survey.models import Answer, Response  # noqa: E402
from survey.usecases.demo import load_demo  # noqa: E402
from tests.factories import complete_answers  # noqa: E402
from tests.survey import faultkit  # noqa: E402

SECRET = "fault-bench"


def prepare(url: str, folder: Path, phones: int) -> list[faultkit.Phone]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": str(folder)})
    upgrade_database(app)
    with app.app_context():
        round_ = load_demo(db.session)
        db.session.commit()
        questionnaire = round_.questionnaire_version.parsed
        channels = [(c.token, c.unit.code) for c in round_.channels]
        made = [faultkit.Phone(channels[i % len(channels)][0],
                               complete_answers(questionnaire, channels[i % len(channels)][1], choice_index=i % 3))
                for i in range(phones)]
        db.session.remove()
        db.engine.dispose()
    return made


def stored_rows(url: str, folder: Path) -> tuple[list[tuple[str, int, int]], int]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": str(folder)})
    with app.app_context():
        counts = dict(db.session.execute(select(Answer.response_id, func.count()).group_by(Answer.response_id)).all())
        rows = [(r.submission_key, counts.get(r.id, 0), len(r.answer_data)) for r in db.session.scalars(select(Response))]
        answers = db.session.scalar(select(func.count()).select_from(Answer))
        db.session.remove()
        db.engine.dispose()
    return rows, answers


class Probe:
    """A new resident opening a form every 0.2 s: counts the replies."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token
        self.statuses: Counter = Counter()
        self.retry_after: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reply = requests.get(f"{self.base}/s/{self.token}", timeout=30)
                self.statuses[str(reply.status_code)] += 1
                if reply.status_code == 503:
                    self.retry_after.add(reply.headers.get("Retry-After", "missing"))
                    if "问卷暂时无法打开" not in reply.text:
                        self.statuses["503 without the Chinese message"] += 1
            except requests.RequestException as exc:
                self.statuses[type(exc).__name__] += 1
            self._stop.wait(0.2)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"statuses": dict(sorted(self.statuses.items())), "retry_after": sorted(self.retry_after)}


def run_stream(name: str, url: str, folder: Path, args, chaos) -> dict:
    phones = prepare(url, folder, args.phones)
    with faultkit.gunicorn(url, SECRET, workers=args.workers, threads=args.threads,
                           instance_path=str(folder)) as server:
        faultkit.open_forms(phones, server.base)
        probe = Probe(server.base, phones[0].token)
        result = faultkit.stream(phones, server.base, threads=args.concurrency, timeout=args.timeout,
                                 chaos=lambda thanked: chaos(thanked, server, phones))
        probe_report = probe.stop()
    rows, answers = stored_rows(url, folder)
    report = faultkit.exactly_once_report(phones, SECRET, rows, answers)
    waits = sorted(p.thanked_at - p.sent_at for p in phones if p.thanked_at)
    hit = [p for p in phones if p.last_failure_at]
    report.update({
        "scenario": name,
        "stream_seconds": round(result.seconds, 1),
        "faults": result.chaos,
        "phones_that_had_to_retry": len(hit),
        "seconds_to_thank_you": {"p50": round(statistics.median(waits), 2),
                                 "p95": round(waits[int(0.95 * (len(waits) - 1))], 2),
                                 "max": round(waits[-1], 2)} if waits else None,
        "new_residents_opening_the_form": probe_report,
        "server_errors_500": sum(n for k, n in report["outcomes"].items() if k.endswith(" 500"))
                             + probe_report["statuses"].get("500", 0),
    })
    report["ok"] = not report["problems"] and report["server_errors_500"] == 0
    return report


def at_share(thanked, phones, share: float) -> int:
    faultkit.wait_until(lambda: thanked() >= share * len(phones), timeout=300)
    return thanked()


def scenario_restart(args, folder: Path) -> list[dict]:
    server_db = faultkit.PrivatePostgres()
    try:
        url = server_db.create_database(f"minyi_faults_{uuid.uuid4().hex[:8]}")

        def chaos(thanked, server, phones):
            faults = []
            for share, mode in ((0.25, "fast"), (0.6, "immediate")):
                at = at_share(thanked, phones, share)
                seconds = server_db.restart(mode)
                faults.append({"restart": mode, "after_thank_yous": at, "pg_ctl_seconds": round(seconds, 2)})
            return faults

        return [run_stream("PostgreSQL restarted (fast, then immediate)", url, folder, args, chaos)]
    finally:
        server_db.close()


def scenario_cut(args, folder: Path) -> list[dict]:
    with scratch_database("postgresql", folder) as direct:
        host_port = direct.split("@", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1) if ":" in host_port else (host_port, "5432")
        proxy = faultkit.CuttableProxy(host, int(port))
        try:
            def chaos(thanked, server, phones):
                at = at_share(thanked, phones, 0.3)
                proxy.cut()
                time.sleep(args.cut_seconds)
                proxy.restore()
                return [{"cut_seconds": args.cut_seconds, "after_thank_yous": at}]

            return [run_stream(f"connection to PostgreSQL cut for {args.cut_seconds} s",
                               proxy.url(direct), folder, args, chaos)]
        finally:
            proxy.close()


def scenario_kill(args, folder: Path) -> list[dict]:
    reports = []
    for backend in args.backends:
        with scratch_database(backend, folder / backend if backend == "sqlite" else folder) as url:
            def chaos(thanked, server, phones):
                kills = []
                for share, everyone in ((0.2, False), (0.45, True), (0.7, False)):
                    faultkit.wait_until(lambda: len(server.worker_pids()) >= args.workers, timeout=60)
                    at = at_share(thanked, phones, share)
                    pids = server.worker_pids()
                    for pid in pids if everyone else pids[:1]:
                        os.kill(pid, signal.SIGKILL)
                    kills.append({"killed_workers": len(pids) if everyone else 1, "after_thank_yous": at})
                return kills

            reports.append(run_stream(f"gunicorn workers SIGKILLed ({backend})", url, folder, args, chaos))
    return reports


SCENARIOS = {"restart": scenario_restart, "cut": scenario_cut, "kill": scenario_kill}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=12, help="phones sending at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--cut-seconds", type=float, default=3.0)
    parser.add_argument("--backend", dest="backends", action="append", choices=["sqlite", "postgresql"],
                        help="for kill (default: both)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a phone keeps trying")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.backends = args.backends or ["sqlite", "postgresql"]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}: choose from {', '.join(SCENARIOS)}")
    reports = []
    for name in args.scenarios or list(SCENARIOS):
        folder = Path(tempfile.mkdtemp(prefix=f"minyi-faults-{name}-"))
        (folder / "sqlite").mkdir()
        try:
            reports += SCENARIOS[name](args, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(reports, indent=2, ensure_ascii=False))
    else:
        for r in reports:
            print(f"{r['scenario']}: {'OK' if r['ok'] else 'FAILED'}")
            print(f"  faults: {r['faults']}")
            print(f"  phones {r['phones']}, thanked {r['thanked']}, stored {r['stored']} "
                  f"(distinct keys {r['distinct_keys']}), 500s {r['server_errors_500']}, "
                  f"stream {r['stream_seconds']} s")
            print(f"  phones that had to retry: {r['phones_that_had_to_retry']}; "
                  f"seconds to thank-you {r['seconds_to_thank_you']}")
            print(f"  phones' replies: {r['outcomes']}")
            print(f"  new residents opening the form: {r['new_residents_opening_the_form']}")
            for problem in r["problems"][:10]:
                print(f"  PROBLEM: {problem}")
    sys.exit(0 if all(r["ok"] for r in reports) else 1)


if __name__ == "__main__":
    main()
