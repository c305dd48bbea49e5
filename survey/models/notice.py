"""Rectification notices (督办单): departments responsible for indicators,
and the notices the office issues from a round's weak items, with their
state and the reply that came back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .round import Round
from .types import UTCDateTime, utcnow
from .unit import Unit
from .user import User

NOTICE_STATES = ("issued", "answered", "closed")


class Department(db.Model):
    """A department a notice can go to, e.g. 城管局, 政务服务中心."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndicatorDepartment(db.Model):
    """Which department answers for an indicator (by key, across questionnaire versions)."""

    __tablename__ = "indicator_departments"

    indicator_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)

    department: Mapped[Department] = relationship()


class Notice(db.Model):
    """One rectification notice, to a department or to a unit (exactly one of them).

    ``items`` is what the notice said when issued (a document does not change
    when late responses arrive): a list of dicts with the indicator ``key``,
    ``name``, ``domain`` (unit code, None for the whole area), ``domain_name``,
    ``rate``, ``ci_low``, ``ci_high``, ``target``, ``n`` and ``verdict``.
    """

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(f"state IN {NOTICE_STATES!r}", name="state"),
        CheckConstraint("(department_id IS NULL) <> (unit_id IS NULL)", name="one_addressee"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    #: e.g. "创文督办〔2026〕3号"; unique across the installation.
    number: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="issued")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: What the office asks beyond the items (free text, may be empty).
    request_text: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The department's reply (整改情况), as typed in and/or as an attached file.
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_filename: Mapped[str | None] = mapped_column(String(200))
    reply_content_type: Mapped[str | None] = mapped_column(String(100))
    reply_data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()
    department: Mapped[Department | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    issued_by: Mapped[User | None] = relationship()
