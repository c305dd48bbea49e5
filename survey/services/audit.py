"""Writing and reading the audit log. Every change made by office staff goes through here."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from questions.codebook import neutralize

from ..models import AuditEvent, User

CSV_COLUMNS = ["id", "created_at_utc", "username", "action", "target", "details"]


def record(session: Session, user: User | None, action: str, target: str = "", **details: Any) -> AuditEvent:
    """Add an audit event in the caller's transaction (so it commits, or
    rolls back, with the change it describes)."""
    event = AuditEvent(user_id=user.id if user is not None else None, action=action, target=target, details=details)
    session.add(event)
    return event


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def events_page(session: Session, page: int = 1, per_page: int = 50) -> EventPage:
    """One page of the log, newest first (``page`` counts from 1 and is clamped)."""
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    events = session.scalars(
        select(AuditEvent)
        .options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return EventPage(list(events), page, pages, total)


def write_csv(session: Session, out: IO[str]) -> int:
    """The whole log as CSV, newest first; every text cell is made inert for
    spreadsheets (usernames, unit names and site names are typed by people)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    query = (
        select(AuditEvent)
        .options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    for event in session.scalars(query):
        writer.writerow([
            str(event.id),
            event.created_at.isoformat(),
            neutralize(event.user.username) if event.user is not None else "",
            neutralize(event.action),
            neutralize(event.target),
            neutralize(json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True)),
        ])
        count += 1
    return count
