"""Administrative units: district (区) -> street (街道) -> community (社区)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

UNIT_LEVELS = ("district", "street", "community")


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (CheckConstraint(f"level IN {UNIT_LEVELS!r}", name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code from the office's own list (e.g. the statistical area code).
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")

    def descendants(self) -> list[Unit]:
        """This unit's whole subtree below it, depth first."""
        found: list[Unit] = []
        for child in self.children:
            found.append(child)
            found.extend(child.descendants())
        return found

    @property
    def street(self) -> Unit:
        """The street a community belongs to; a street or district is its own."""
        return self.parent if self.level == "community" and self.parent is not None else self

    @property
    def full_name(self) -> str:
        """Names from the top of the tree down, e.g. '示范区 东风街道 花园社区'."""
        names = []
        unit: Unit | None = self
        while unit is not None:
            names.append(unit.name)
            unit = unit.parent
        return " ".join(reversed(names))

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"
