"""Managing office accounts: create, deactivate or reactivate, reset a password.

Every change is written to the audit log in the caller's transaction.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
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
