"""Office accounts: signing in and out.

Each sign-in, failed sign-in, throttled attempt and sign-out is written to the
audit log in the caller's transaction (the caller commits). The password is
never written anywhere; the name typed is kept, shortened, because failed
attempts on a name that does not exist are worth seeing too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..infrastructure.login_throttle import LoginThrottle, Refusal, address_fingerprint
from ..models import User
from . import audit

#: Characters of a typed account name kept in the audit log.
AUDITED_NAME_LENGTH = 40
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")


@cache
def _dummy_hash() -> str:
    # Checked when the user does not exist, so a wrong username takes as long
    # as a wrong password and does not reveal which accounts exist.
    return generate_password_hash("no such user")


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == (username or "").strip()))


def _check(session: Session, username: str, password: str) -> tuple[User | None, str]:
    """The account the name belongs to (or None), and why the credentials
    are refused ("" when they are accepted)."""
    user = find_user(session, username)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None, "unknown_account"
    if not user.check_password(password):
        return user, "wrong_password"
    if not user.active:
        return user, "inactive"
    return user, ""


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user, refused = _check(session, username, password)
    return None if refused else user


def audited_name(username: str | None) -> str:
    """The typed name as the audit log keeps it: stripped, without control characters, shortened."""
    name = CONTROL_CHARACTERS.sub("", (username or "").strip())
    return name if len(name) <= AUDITED_NAME_LENGTH else name[:AUDITED_NAME_LENGTH] + "…"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the user, or a refusal by the throttle, or neither (wrong name or password)."""

    user: User | None = None
    refused: Refusal | None = None


def sign_in(session: Session, throttle: LoginThrottle, *, username: str, password: str, address: str | None,
            secret_key: str) -> SignIn:
    """Check the throttle, then the password (only if the throttle allows:
    a refused attempt costs no hash), and audit the outcome."""
    source = address_fingerprint(secret_key, address)
    refusal = throttle.check_sign_in(username, address)
    if refusal is not None:
        if throttle.first_refusal(refusal, username, address):
            user = find_user(session, username)
            audit.record(session, None, "login.throttled", f"user:{user.id}" if user else "",
                         username=audited_name(username), rule=refusal.rule, retry_after=refusal.retry_after,
                         source=source)
        return SignIn(refused=refusal)
    user, refused = _check(session, username, password)
    if refused:
        throttle.sign_in_failed(address)
        audit.record(session, None, "login.failed", f"user:{user.id}" if user else "",
                     username=audited_name(username), reason=refused, source=source)
        return SignIn()
    throttle.sign_in_succeeded(username)
    record_sign_in(session, user, address, secret_key)
    return SignIn(user=user)


def record_sign_in(session: Session, user: User, address: str | None, secret_key: str) -> None:
    audit.record(session, user, "login", f"user:{user.id}", source=address_fingerprint(secret_key, address))


def sign_out(session: Session, user: User) -> None:
    """End every session of the account (this browser's and any other). Flushes."""
    end_sessions(session, user)
    audit.record(session, user, "logout", f"user:{user.id}")


def end_sessions(session: Session, user: User) -> None:
    """Make every session cookie issued to the account so far worthless: the
    user loader accepts a session only with the account's current version. Flushes."""
    user.session_version = (user.session_version or 0) + 1
    session.flush()
