"""API tokens for the office's own systems."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiToken, User
from ..models.types import utcnow
from . import audit


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str, created_by: User | None) -> str:
    """Create a token carrying ``user``'s permissions; return it (shown once). Flushes."""
    token = "minyi_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip()[:100] or "API", token_hash=_hash(token), user=user)
    session.add(row)
    session.flush()
    audit.record(session, created_by, "api_token.create", f"api_token:{row.id}", name=row.name, for_user=user.username)
    return token


def revoke_token(session: Session, token_id: int, revoked_by: User) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, revoked_by, "api_token.revoke", f"api_token:{row.id}", name=row.name)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user behind a valid, unrevoked token."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user
