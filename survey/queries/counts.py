"""Counts for the office's overview pages."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Response, Round


def responses_by_channel(session: Session, round_: Round) -> dict[int, int]:
    """Channel id -> number of stored responses (complete or screened out)."""
    rows = session.execute(
        select(Response.channel_id, func.count()).where(Response.round_id == round_.id).group_by(Response.channel_id)
    )
    return {channel_id: count for channel_id, count in rows}


def responses_by_round(session: Session, unit_ids: set[int] | None = None) -> dict[int, int]:
    """Round id -> stored responses; only those of ``unit_ids`` when given."""
    query = select(Response.round_id, func.count()).group_by(Response.round_id)
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(unit_ids))
    rows = session.execute(query)
    return {round_id: count for round_id, count in rows}
