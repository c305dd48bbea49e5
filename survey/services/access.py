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


def visible_unit_codes(session: Session, user: User) -> set[str] | None:
    """Codes of the units the user may see; None means all."""
    ids = visible_unit_ids(session, user)
    if ids is None:
        return None
    return {code for code in session.scalars(select(Unit.code).where(Unit.id.in_(ids)))}


def can_see_round(session: Session, user: User, round_) -> bool:
    """A round is visible when it covers any unit the user may see."""
    ids = visible_unit_ids(session, user)
    if ids is None:
        return True
    area = {round_.unit_id, *(u.id for u in round_.unit.descendants())}
    return bool(area & ids)


# --- console roles (issue 4 item 1) -----------------------------------------
# admin: everything; viewer: reads everything, changes nothing; staff: reads
# its own unit and the units under it, and may add QR site channels there.


def can_read_all(user: User) -> bool:
    """Administrators and viewers read every unit; staff only their subtree."""
    return user.role in ("admin", "viewer")


def can_change_unit(session: Session, user: User, unit: Unit) -> bool:
    """Unit-level changes (a QR site channel): administrators anywhere, staff
    within their own units; viewers never."""
    if user.role == "admin":
        return True
    return user.role == "staff" and can_see_unit(session, user, unit)


def visible_channels(session: Session, user: User, round_) -> list:
    """The round's channels whose unit the user may see."""
    ids = visible_unit_ids(session, user)
    return [c for c in round_.channels if ids is None or c.unit_id in ids]
