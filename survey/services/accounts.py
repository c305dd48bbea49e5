"""Office accounts: authentication."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from ..models import User



@cache
def _dummy_hash() -> str:
    # Checked when the user does not exist, so a wrong username takes as long
    # as a wrong password and does not reveal which accounts exist.
    return generate_password_hash("no such user")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.active or not user.check_password(password):
        return None
    return user
