"""Responses and their answers. Respondents are anonymous by construction:
no name, phone or IP is stored, only keyed hashes of the device cookie and of
the network prefix (for spotting bursts, never reversible to an address).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .fieldwork import Interviewer
from .round import Channel, Round
from .types import UTCDateTime
from .unit import Unit

RESPONSE_STATUSES = ("complete", "screened_out")
#: How a response was collected: the resident on their own phone (QR code),
#: a volunteer interviewing them, or a paper questionnaire typed in.
RESPONSE_MODES = ("self", "interviewer", "paper")


class Response(db.Model):
    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(f"status IN {RESPONSE_STATUSES!r}", name="status"),
        CheckConstraint(f"mode IN {RESPONSE_MODES!r}", name="mode"),
        # One response per device per round where the round asks for it:
        # device_lock is the device id in such rounds and NULL otherwise, and
        # NULLs never collide, so the database itself refuses a second one.
        UniqueConstraint("round_id", "device_lock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    #: The QR channel a resident came through; None for interviews and paper.
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    #: The respondent's community: their answer where asked, else the channel's unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: Made when the form was first served; the same key never stores twice.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    device_lock: Mapped[str | None] = mapped_column(String(64))
    network_hash: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: ``complete`` or ``screened_out`` (outside the surveyed population).
    status: Mapped[str] = mapped_column(String(16))
    screened_out_by: Mapped[str | None] = mapped_column(String(64))
    #: Quality checks that fired, e.g. ["too_fast", "straight_lined"].
    quality_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Why each flag in ``quality_flags`` fired, in words (flag -> reason).
    flag_reasons: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: Share of the counted answers that are favourable (None: none given);
    #: the integrity scoring compares bursts with the rest of the round on it.
    favourable_share: Mapped[float | None] = mapped_column(Float)
    #: A reviewer's decision that this response does not count (audited; restorable).
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    #: ``self``, ``interviewer`` or ``paper`` (RESPONSE_MODES).
    mode: Mapped[str] = mapped_column(String(16), default="self", server_default="self")
    #: The volunteer who asked the questions (interviewer mode).
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("interviewers.id"), index=True)
    #: The office account that typed a paper questionnaire in (paper mode).
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The file import that brought this response in (None: collected by Minyi).
    import_id: Mapped[int | None] = mapped_column(ForeignKey("response_imports.id"), index=True)
    #: All answers as one document (question id -> clean value), written with
    #: the ``answers`` rows in the same transaction and never changed. Reports
    #: and exports read it: one row per response instead of one per answer.
    answer_data: Mapped[dict[str, Any]] = mapped_column(
        # JSONB on PostgreSQL: its ->> reads a stored tree instead of re-parsing text.
        JSON().with_variant(postgresql.JSONB(), "postgresql"), default=dict
    )

    round: Mapped[Round] = relationship()
    channel: Mapped[Channel | None] = relationship()
    interviewer: Mapped[Interviewer | None] = relationship()
    unit: Mapped[Unit] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.id"
    )

    @property
    def duration_seconds(self) -> float:
        return (self.submitted_at - self.started_at).total_seconds()


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    #: The clean value: an option code, a list of codes, a number or text.
    value: Mapped[Any] = mapped_column(JSON)

    response: Mapped[Response] = relationship(back_populates="answers")
