"""Managing office accounts: create, deactivate or reactivate, reset a password.

Every change is written to the audit log in the caller's transaction.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..exceptions import SetupError
from ..models import Unit, User
from ..models.user import ROLES
from . import audit

MIN_PASSWORD_LENGTH = 8


class AccountError(SetupError):
    """An account change that cannot be made; the message says why."""


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))


def create_user(session: Session, actor: User | None, *, username: str, password: str, role: str,
                unit: Unit | None = None) -> User:
    """Create an account. Staff need a unit (what they may see); the unit is
    ignored for administrators and viewers, who see everything. Flushes.

    :raises AccountError: taken username, short password, unknown role, staff without unit.
    """
    username = (username or "").strip()
    if not username:
        raise AccountError(_("A username is required."))
    if role not in ROLES:
        raise AccountError(_("Unknown role %(role)s.", role=role))
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(_("The username %(name)s is already taken.", name=username))
    _check_password(password)
    if role == "staff" and unit is None:
        raise AccountError(_("Unit staff need a unit: the unit whose data they may see."))
    user = User(username=username, role=role, unit=unit if role == "staff" else None)
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", f"user:{user.id}", username=username, role=role,
                 unit=unit.code if user.unit is not None else None)
    return user


def needs_first_admin(session: Session) -> bool:
    """A fresh install: no account exists yet, so the console offers to create one."""
    return session.scalar(select(User.id).limit(1)) is None


def create_first_admin(session: Session, *, username: str, password: str) -> User:
    """The first administrator of a fresh install, created in the browser.
    Flushes; the caller commits.

    Two people submitting at once must not both succeed: PostgreSQL locks the
    table for the check; SQLite lets one writer at a time hold the database,
    so counting after the insert sees the other's committed account.

    :raises AccountError: an account exists already, or the name or password is not acceptable.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    if not needs_first_admin(session):
        raise AccountError(_("This installation already has an administrator. Sign in instead."))
    user = create_user(session, None, username=username, password=password, role="admin")
    if session.scalar(select(func.count(User.id))) != 1:
        raise AccountError(_("This installation already has an administrator. Sign in instead."))
    return user


def set_active(session: Session, actor: User | None, user: User, active: bool) -> None:
    """Deactivate (the account can no longer sign in, and open sessions end)
    or reactivate an account. Flushes.

    :raises AccountError: an administrator deactivating their own account.
    """
    if actor is not None and actor.id == user.id and not active:
        raise AccountError(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    session.flush()
    audit.record(session, actor, "user.reactivate" if active else "user.deactivate", f"user:{user.id}",
                 username=user.username)


def reset_password(session: Session, actor: User | None, user: User, password: str) -> None:
    """Give the account a new password. Flushes. :raises AccountError: too short."""
    _check_password(password)
    user.set_password(password)
    session.flush()
    audit.record(session, actor, "user.password_reset", f"user:{user.id}", username=user.username)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
