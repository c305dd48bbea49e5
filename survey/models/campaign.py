"""Campaigns (创建周期): the drills and the official evaluation of one
campaign, grouped so their results can be followed over time and the
official evaluation forecast from the latest drill."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("official_sample_size BETWEEN 1 AND 1000000", name="official_sample_size"),
        CheckConstraint("official_unit_sample_size IS NULL OR official_unit_sample_size BETWEEN 1 AND 1000000",
                        name="official_unit_sample_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: Residents the official evaluation is expected to sample in the whole area (forecast).
    official_sample_size: Mapped[int] = mapped_column(default=600, server_default="600")
    #: Residents it is expected to sample per street or community; None: no per-unit forecast.
    official_unit_sample_size: Mapped[int | None] = mapped_column()
    #: Indicator key -> weight in the evaluation (分值); missing keys weigh 1.
    indicator_weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Expected date of the official evaluation (Beijing date), if known.
    evaluation_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def weight_of(self, key: str) -> float:
        return float((self.indicator_weights or {}).get(key, 1.0))
