"""Warm the report caches when a web worker starts.

The first results view of a round reads every response into arrays (about
1.5 s for 100,000 responses) and computes the report; later views only read
what arrived since. A worker that has just started -- after a deployment or
a restart -- does that first read for its most recent rounds in a background
thread, so the office's first click finds them ready. The heavy report
modules (Matplotlib, ReportLab, openpyxl) are imported there too.

Started from ``gunicorn.conf.py`` (``post_worker_init``), so command-line
tools that load the app never start it.
"""

from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Round
from ..models.types import utcnow
from ..queries import reporting
from ..transactions import rollback_quietly


def rounds_to_warm(session: Session, limit: int) -> list[Round]:
    """The rounds the office most likely opens next: the latest that have begun."""
    return list(session.scalars(
        select(Round).where(Round.opens_at <= utcnow()).order_by(Round.opens_at.desc(), Round.id.desc()).limit(limit)
    ))


def warm_reports(app: Flask) -> list[int]:
    """Compute the default report of the latest rounds; return their ids."""
    from analysis import charts  # noqa: F401  (imported for their import time only)

    from ..renderers import report_pdf, report_xlsx  # noqa: F401

    warmed = []
    with app.app_context():
        try:
            for round_ in rounds_to_warm(db.session, app.config["WARM_UP_ROUNDS"]):
                start = time.perf_counter()
                reporting.round_report(db.session, round_)
                rollback_quietly()  # end the read transaction between rounds
                warmed.append(round_.id)
                app.logger.info("warmed round %s in %.1f s", round_.id, time.perf_counter() - start)
        except Exception:  # a cache warm-up must never take a worker down
            app.logger.exception("report warm-up stopped")
        finally:
            db.session.remove()
    return warmed


def start_warm_up(app: Flask) -> threading.Thread | None:
    if app.config["WARM_UP_ROUNDS"] <= 0:
        return None
    thread = threading.Thread(target=warm_reports, args=(app,), name="minyi-report-warm-up", daemon=True)
    thread.start()
    return thread
