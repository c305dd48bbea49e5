"""Population counts per unit x gender x age group: the weighting targets."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .unit import Unit


class PopulationCell(db.Model):
    __tablename__ = "population_cells"
    __table_args__ = (
        UniqueConstraint("unit_id", "gender", "age_group"),
        CheckConstraint("population >= 0", name="population_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    #: Answer codes of the questionnaire's ``gender`` and ``age_group`` variables.
    gender: Mapped[str] = mapped_column(String(32))
    age_group: Mapped[str] = mapped_column(String(32))
    population: Mapped[int]

    unit: Mapped[Unit] = relationship()
