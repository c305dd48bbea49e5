"""Field drills: volunteer interviewers and the practice answers kept apart.

An interviewer is not a console account: a volunteer gets a one-time sign-up
code (printed as a QR code) for one round and some units, claims it on
their phone with their name, and from then on the phone carries a secret
whose keyed hash is stored here. Practice answers live in their own table,
so no query of results, exports or reports can count them by mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .round import Round
from .types import UTCDateTime, utcnow
from .unit import Unit


class Interviewer(db.Model):
    __tablename__ = "interviewers"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    #: The sign-up code while unclaimed (so the sheet can be printed again);
    #: cleared when a phone claims it, after which it opens nothing.
    signup_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: The volunteer's name as they typed it when claiming.
    name: Mapped[str | None] = mapped_column(String(50))
    #: Ids of the units (streets or communities) the interviewer works in.
    unit_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Every answer of a practice interviewer is practice.
    practice_only: Mapped[bool] = mapped_column(default=False)
    #: Keyed hash of the secret the claiming phone carries in its cookie.
    secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A revoked interviewer's phone can no longer send (its stored answers stay).
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The office leaves this interviewer's responses out of the round's results.
    excluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exclude_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship()

    @property
    def label(self) -> str:
        """How pages and exports name the interviewer: name and number."""
        return f"{self.name or '（未登记）'}（{self.id}号）"


class PracticeResponse(db.Model):
    """A questionnaire filled in practice: stored so the interviewer sees it
    confirmed, never read by results, exports or reports; the office clears them."""

    __tablename__ = "practice_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("interviewers.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    interviewer: Mapped[Interviewer] = relationship()
    unit: Mapped[Unit | None] = relationship()
