"""The office leaves one interviewer's responses out of a round's results, or
counts them again: always with a reason, always audited.

An exclusion changes what the results count, so it bumps the round's
``flags_revision`` (the report caches key on it); the responses themselves
never change, and the report counts them under
:data:`survey.vocabulary.INTERVIEWER_EXCLUDED`.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..models import Interviewer, Round, User
from . import audit, review
from .review import ReviewRefused

EXCLUDE_ACTION = "interviewer.exclude"
INCLUDE_ACTION = "interviewer.include"
#: An exclusion or inclusion that cannot be made (no reason, too long, done
#: already) is refused as a review decision is: the message says why.
ExclusionRefused = ReviewRefused
clean_reason = review.clean_reason
REASON_MAX_LENGTH = review.REASON_MAX_LENGTH


def _bump_revision(session: Session, round_id: int) -> None:
    review.bump_revision(session, round_id)
    round_ = session.get(Round, round_id)
    if round_ is not None:
        session.expire(round_, ["flags_revision"])


def exclude_interviewer(session: Session, user: User, interviewer: Interviewer, reason: str,
                        now: datetime) -> None:
    """Leave every response ``interviewer`` collected out of the round's
    rates, reports and counts from now on, with the reason (audited).
    Flushes; the caller commits.

    :raises ExclusionRefused: no reason, a reason too long, or already excluded.
    """
    reason = clean_reason(reason)
    table = Interviewer.__table__
    # Only if still counted: of two administrators excluding at once, one is told it is done.
    changed = session.execute(
        update(table).where(table.c.id == interviewer.id, table.c.excluded_at.is_(None))
        .values(excluded_at=now, exclude_reason=reason)
    ).rowcount
    if not changed:
        raise ExclusionRefused(_("This interviewer's responses are already left out of the results."))
    _bump_revision(session, interviewer.round_id)
    event = audit.record(session, user, EXCLUDE_ACTION, f"interviewer:{interviewer.id}", round=interviewer.round_id,
                         name=interviewer.label, reason=reason)
    event.created_at = now
    session.flush()
    session.expire(interviewer)


def include_interviewer(session: Session, user: User, interviewer: Interviewer, reason: str,
                        now: datetime) -> None:
    """Count an excluded interviewer's responses again, with the reason
    (audited; the reason they were left out for is kept in the audit event).
    Flushes; the caller commits.

    :raises ExclusionRefused: no reason, a reason too long, or not excluded.
    """
    reason = clean_reason(reason)
    excluded_for = interviewer.exclude_reason
    table = Interviewer.__table__
    changed = session.execute(
        update(table).where(table.c.id == interviewer.id, table.c.excluded_at.is_not(None))
        .values(excluded_at=None, exclude_reason=None)
    ).rowcount
    if not changed:
        raise ExclusionRefused(_("This interviewer's responses are counted; there is nothing to bring back."))
    _bump_revision(session, interviewer.round_id)
    event = audit.record(session, user, INCLUDE_ACTION, f"interviewer:{interviewer.id}", round=interviewer.round_id,
                         name=interviewer.label, reason=reason, excluded_for=excluded_for)
    event.created_at = now
    session.flush()
    session.expire(interviewer)
