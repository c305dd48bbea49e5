"""Office staff accounts (the respondents have none)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, utcnow
from .unit import Unit

ROLES = ("admin", "staff", "viewer")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: ``admin`` (everything), ``staff`` (own unit and below), ``viewer`` (read-only).
    role: Mapped[str] = mapped_column(String(16))
    #: For staff: the unit they may see (with everything under it).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(default=True)
    #: Bumped on sign-out and password change; a session cookie carrying an
    #: older version is no longer accepted.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class ApiToken(db.Model):
    """A token the office's own systems use for the JSON API. Only a hash is
    stored; the token is shown once, when an administrator creates it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The account whose permissions the token carries.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
