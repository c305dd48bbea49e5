"""Survey rounds (测评轮次) and the QR channels that collect their responses."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .campaign import Campaign
from .questionnaire import QuestionnaireVersion
from .types import UTCDateTime, utcnow
from .unit import Unit

ROUND_KINDS = ("drill", "official")


class Round(db.Model):
    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint(f"kind IN {ROUND_KINDS!r}", name="kind"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("min_verdict_respondents BETWEEN 1 AND 1000", name="min_verdict_respondents"),
        CheckConstraint("min_weighting_cell BETWEEN 1 AND 1000", name="min_weighting_cell"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ``drill`` (模拟问卷调查) or ``official``.
    kind: Mapped[str] = mapped_column(String(16))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    #: The area the round covers (usually a district).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: The campaign whose drills (and official evaluation) this round belongs to.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Indicator key -> target rate in (0, 1]; missing keys use the questionnaire's.
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Refuse a second response from the same device cookie in this round.
    one_response_per_device: Mapped[bool] = mapped_column(default=True)
    #: Quality flags whose responses the results leave out (counted in the methodology).
    excluded_flags: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["too_fast"])
    #: Fewer usable answers than this: a unit's verdict is 样本不足 (analysis.targets.VerdictRule).
    min_verdict_respondents: Mapped[int] = mapped_column(default=12, server_default="12")
    #: Least respondents per weighting cell (analysis.calibration.calibrate).
    min_weighting_cell: Mapped[int] = mapped_column(default=20, server_default="20")
    #: Highest response id the cross-response integrity scoring has seen.
    flags_scored_through: Mapped[int] = mapped_column(default=0, server_default="0")
    #: How many responses the round had then (a late commit below the mark changes it).
    flags_scored_count: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Bumped whenever a response's flags or void state change (report caches key on it).
    flags_revision: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When device and network hashes of this round were purged (retention).
    technical_data_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    unit: Mapped[Unit] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    channels: Mapped[list[Channel]] = relationship(back_populates="round", order_by="Channel.id")
    quotas: Mapped[list[RoundQuota]] = relationship(back_populates="round", cascade="all, delete-orphan")

    def state_at(self, now: datetime) -> str:
        """``not_open``, ``open`` or ``closed`` at ``now``."""
        if now < self.opens_at:
            return "not_open"
        if now >= self.closes_at:
            return "closed"
        return "open"

    def effective_targets(self) -> dict[str, float]:
        """Per-indicator targets: the round's own, else the questionnaire's defaults."""
        targets = dict(self.questionnaire_version.parsed.targets)
        targets.update({k: float(v) for k, v in (self.targets or {}).items()})
        return targets


def new_channel_token() -> str:
    """128 random bits, URL-safe: a token cannot be guessed from another."""
    return secrets.token_urlsafe(16)


class Channel(db.Model):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("round_id", "unit_id", "site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: Where the poster hangs, e.g. "北门公告栏"; "" for the unit's main channel
    #: (not NULL, so the unique constraint holds on every backend).
    site: Mapped[str] = mapped_column(String(100), default="")
    token: Mapped[str] = mapped_column(String(43), unique=True, default=new_channel_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship(back_populates="channels")
    unit: Mapped[Unit] = relationship()


class RoundQuota(db.Model):
    """How many responses a round wants from a unit (its sample size)."""

    __tablename__ = "round_quotas"
    __table_args__ = (
        UniqueConstraint("round_id", "unit_id"),
        CheckConstraint("quota >= 0", name="quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    quota: Mapped[int]

    round: Mapped[Round] = relationship(back_populates="quotas")
    unit: Mapped[Unit] = relationship()
