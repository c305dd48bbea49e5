"""Managing office accounts: create, deactivate or reactivate, reset or
change a password; the first administrator's one-time setup code.

Every change is written to the audit log in the caller's transaction. A
password change or reset and a deactivation end every open session of the
account (``signin.end_sessions``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from ..exceptions import SetupError
from ..infrastructure.login_throttle import LoginThrottle, Refusal, address_fingerprint
from ..models import SiteSetting, Unit, User
from ..models.user import ROLES
from . import audit
from .signin import end_sessions

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
    # The first-administrator page is closed for good once any account exists.
    session.execute(delete(SiteSetting).where(SiteSetting.key == SETUP_CODE_SETTING))
    audit.record(session, actor, "user.create", f"user:{user.id}", username=username, role=role,
                 unit=unit.code if user.unit is not None else None)
    return user


def needs_first_admin(session: Session) -> bool:
    """A fresh install: no account exists yet, so the console offers to create one."""
    return session.scalar(select(User.id).limit(1)) is None


#: Site setting holding the SHA-256 of the first administrator's setup code.
SETUP_CODE_SETTING = "setup_code_hash"
#: No 0/O, 1/I: the code is read off a terminal and typed.
SETUP_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SETUP_CODE_GROUPS, SETUP_CODE_GROUP_LENGTH = 3, 4  # 12 characters of 32: 60 bits


def _setup_code_hash(code: str) -> str:
    # A plain hash is enough: the code is random with 60 bits, not a password someone chose.
    normalized = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()


def issue_setup_code(session: Session) -> str | None:
    """A new one-time code for the first-administrator page, replacing any
    earlier one; None once an account exists. Only its hash is stored. Flushes."""
    if not needs_first_admin(session):
        return None
    groups = ["".join(secrets.choice(SETUP_CODE_ALPHABET) for _ in range(SETUP_CODE_GROUP_LENGTH))
              for _ in range(SETUP_CODE_GROUPS)]
    code = "-".join(groups)
    setting = session.get(SiteSetting, SETUP_CODE_SETTING)
    if setting is None:
        session.add(SiteSetting(key=SETUP_CODE_SETTING, value=_setup_code_hash(code)))
    else:
        setting.value = _setup_code_hash(code)
    session.flush()
    audit.record(session, None, "setup_code.issue")
    return code


def verify_setup_code(session: Session, throttle: LoginThrottle, code: str, *, address: str | None,
                      secret_key: str) -> Refusal | bool:
    """True for the right setup code; False for a wrong one (counted against
    the address and audited); a Refusal when the address has given too many
    wrong codes lately (nothing is compared then)."""
    refusal = throttle.check_setup_code(address)
    if refusal is not None:
        if throttle.first_refusal(refusal, "", address):
            audit.record(session, None, "setup_code.throttled", retry_after=refusal.retry_after,
                         source=address_fingerprint(secret_key, address))
        return refusal
    stored = session.get(SiteSetting, SETUP_CODE_SETTING)
    if stored is not None and hmac.compare_digest(stored.value, _setup_code_hash(code)):
        return True
    throttle.setup_code_failed(address)
    audit.record(session, None, "setup_code.failed", source=address_fingerprint(secret_key, address))
    return False


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
    if not active:
        end_sessions(session, user)
    session.flush()
    audit.record(session, actor, "user.reactivate" if active else "user.deactivate", f"user:{user.id}",
                 username=user.username)


def reset_password(session: Session, actor: User | None, user: User, password: str) -> None:
    """Give the account a new password and end its open sessions (the caller
    keeps its own session if it reset its own password). Flushes.

    :raises AccountError: too short.
    """
    _check_password(password)
    user.set_password(password)
    end_sessions(session, user)
    audit.record(session, actor, "user.password_reset", f"user:{user.id}", username=user.username)


class WrongPassword(AccountError):
    """The current password given for a change is wrong."""


def change_own_password(session: Session, throttle: LoginThrottle, user: User, *, current: str, new: str,
                        address: str | None) -> Refusal | None:
    """A signed-in user changes their password, giving the current one; every
    other session of the account ends. Wrong current passwords count like
    failed sign-ins (a stolen session must not become a password oracle), and
    the throttle is asked before the hash. Flushes.

    :returns: the throttle's refusal, or None when the password was changed.
    :raises WrongPassword: the current password is wrong.
    :raises AccountError: the new password is too short.
    """
    _check_password(new)
    refusal = throttle.check_sign_in(user.username, address)
    if refusal is not None:
        return refusal
    if not user.check_password(current):
        throttle.sign_in_failed(address)
        raise WrongPassword(_("The current password is wrong."))
    throttle.sign_in_succeeded(user.username)
    user.set_password(new)
    end_sessions(session, user)
    audit.record(session, user, "user.password_change", f"user:{user.id}", username=user.username)
    return None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
