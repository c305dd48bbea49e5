"""Who may see what. Office administrators see everything; unit staff see
their own unit and the units under it; viewers see everything, read-only.

Views ask here, never decide themselves; a unit outside the user's reach is
answered with 404 so that URL guessing learns nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Unit, User

WRITE_ROLES = ("admin",)


def visible_unit_ids(session: Session, user: User) -> set[int] | None:
    """Unit ids the user may see; None means all units."""
    if user.role in ("admin", "viewer"):
        return None
    if user.unit is None:
        return set()
    return {user.unit.id, *(u.id for u in user.unit.descendants())}


def can_see_unit(session: Session, user: User, unit: Unit) -> bool:
    visible = visible_unit_ids(session, user)
    return visible is None or unit.id in visible


def can_change(user: User) -> bool:
    """Set-up changes (units, questionnaires, rounds, accounts) are the office's."""
    return user.role in WRITE_ROLES


def top_units(session: Session, user: User) -> list[Unit]:
    """The highest units the user may see (their own, or the tree roots)."""
    if user.role in ("admin", "viewer"):
        return list(session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)))
    return [user.unit] if user.unit is not None else []
