"""Writing the audit log. Every change made by office staff goes through here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent, User


def record(session: Session, user: User | None, action: str, target: str = "", **details: Any) -> AuditEvent:
    """Add an audit event in the caller's transaction (so it commits, or
    rolls back, with the change it describes)."""
    event = AuditEvent(user_id=user.id if user is not None else None, action=action, target=target, details=details)
    session.add(event)
    return event
