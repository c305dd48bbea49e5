"""Review of single responses: the flagged responses of a round, one
response's answers, and a reviewer's decision that a response does not count
(void) or counts again (restore), always with a reason and audited.

A void changes what the results count, so it bumps the round's
``flags_revision`` (the report caches key on it); the answers themselves
never change.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.orm import Session

from analysis.integrity import FLAGS
from questions import Questionnaire
from questions import Text as LocalText

from ..exceptions import SetupError
from ..models import AuditEvent, Channel, Response, Round, Unit, User
from ..vocabulary import VOIDED
from . import audit, integrity

REASON_MAX_LENGTH = 500
#: What the list of a round's responses to review can be narrowed to.
FILTERS = (*FLAGS, VOIDED.code)
PER_PAGE = 50

VOID_ACTION = "response.void"
RESTORE_ACTION = "response.restore"


class ReviewRefused(SetupError):
    """A void or restore that cannot be made; the message says why."""


def clean_reason(reason: str | None) -> str:
    """The reason as stored. :raises ReviewRefused: none given, or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused(_("Give a reason."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ReviewRefused(_("Keep the reason to %(n)s characters or fewer.", n=REASON_MAX_LENGTH))
    return reason


def _bump_revision(session: Session, round_id: int) -> None:
    # In SQL: two reviewers at once must both change the revision.
    table = Round.__table__
    session.execute(update(table).where(table.c.id == round_id).values(flags_revision=table.c.flags_revision + 1))


def void_response(session: Session, response: Response, user: User, reason: str, now: datetime) -> None:
    """Leave ``response`` out of every rate, report and export count from now
    on, with the reviewer's reason (audited). Flushes; the caller commits.

    :raises ReviewRefused: no reason, a reason too long, or already void.
    """
    reason = clean_reason(reason)
    table = Response.__table__
    # Only if still counted: of two reviewers voiding at once, one is told it is done.
    changed = session.execute(
        update(table).where(table.c.id == response.id, table.c.voided_at.is_(None))
        .values(voided_at=now, void_reason=reason, voided_by_id=user.id)
    ).rowcount
    if not changed:
        raise ReviewRefused(_("This response has already been voided."))
    _bump_revision(session, response.round_id)
    event = audit.record(session, user, VOID_ACTION, f"response:{response.id}", round=response.round_id,
                         reason=reason)
    event.created_at = now
    session.flush()
    session.expire(response)


def restore_response(session: Session, response: Response, user: User, reason: str, now: datetime) -> None:
    """Count a voided response again, with the reviewer's reason (audited;
    the reason it was voided for is kept in the audit event). Flushes; the
    caller commits.

    :raises ReviewRefused: no reason, a reason too long, or not void.
    """
    reason = clean_reason(reason)
    voided_for, voided_by = response.void_reason, response.voided_by_id
    table = Response.__table__
    changed = session.execute(
        update(table).where(table.c.id == response.id, table.c.voided_at.is_not(None))
        .values(voided_at=None, void_reason=None, voided_by_id=None)
    ).rowcount
    if not changed:
        raise ReviewRefused(_("This response is not void; there is nothing to restore."))
    _bump_revision(session, response.round_id)
    event = audit.record(session, user, RESTORE_ACTION, f"response:{response.id}", round=response.round_id,
                         reason=reason, voided_for=voided_for, voided_by=voided_by)
    event.created_at = now
    session.flush()
    session.expire(response)


# --- what the reviewer reads ---------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    id: int
    submitted_at: datetime
    duration_seconds: float
    channel_unit: str
    channel_site: str
    unit: str
    status: str
    flags: list[str]
    reasons: dict[str, str]
    voided_at: datetime | None


@dataclass(frozen=True)
class ReviewPage:
    rows: list[ReviewRow]
    flag: str | None
    page: int
    pages: int
    #: Responses the filter matches (all pages).
    total: int
    #: Flag (or "voided") -> how many responses of the round carry it.
    counts: dict[str, int]


def flagged_responses(session: Session, round_: Round, *, flag: str | None = None, page: int = 1,
                      per_page: int = PER_PAGE) -> ReviewPage:
    """The round's flagged or voided responses, newest first, ``per_page`` at
    a time (``page`` counts from 1 and is clamped); ``flag`` narrows them to
    one flag, or to the voided ones."""
    integrity.ensure_current(session, round_)  # flags across responses, scored up to the newest
    flags_text = cast(Response.quality_flags, Text)
    flagged = flags_text.is_not(None) & (flags_text != "[]")
    of_round = Response.round_id == round_.id
    marks = session.execute(
        select(flags_text, Response.voided_at.is_not(None)).where(of_round, flagged | Response.voided_at.is_not(None))
    ).all()
    counts = {name: 0 for name in FILTERS}
    for text, voided in marks:
        for name in integrity.flags_from_text(text):
            if name in counts:
                counts[name] += 1
        counts[VOIDED.code] += bool(voided)
    if flag == VOIDED.code:
        condition = Response.voided_at.is_not(None)
    elif flag in FLAGS:
        # Flags are stored as a JSON list of these fixed names, quoted.
        condition = flags_text.like(f'%"{flag}"%')
    else:
        flag, condition = None, flagged | Response.voided_at.is_not(None)
    total = counts[flag] if flag else len(marks)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(Response.id, Response.submitted_at, Response.started_at, Response.channel_id, Response.unit_id,
               Response.status, flags_text, cast(Response.flag_reasons, Text), Response.voided_at)
        .where(of_round, condition)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    channels = {c.id: c for c in session.scalars(select(Channel).where(Channel.round_id == round_.id))}
    unit_ids = {r[4] for r in rows}
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    return ReviewPage(
        rows=[ReviewRow(
            id=rid, submitted_at=submitted, duration_seconds=(submitted - started).total_seconds(),
            channel_unit=channels[channel_id].unit.full_name, channel_site=channels[channel_id].site,
            unit=units[unit_id].full_name, status=status, flags=integrity.flags_from_text(flags),
            reasons=json.loads(reasons) if reasons else {}, voided_at=voided_at,
        ) for rid, submitted, started, channel_id, unit_id, status, flags, reasons, voided_at in rows],
        flag=flag, page=page, pages=pages, total=total, counts=counts,
    )


@dataclass(frozen=True)
class AnswerLine:
    """One question and what the respondent answered, for reading: each part
    is a localised text (an option's label) or plain text (a number, a typed
    answer, a community's name). No parts: not answered (or not asked)."""

    question_id: str
    question: LocalText
    parts: list[LocalText | str]


def answer_lines(session: Session, questionnaire: Questionnaire, answers: dict) -> list[AnswerLine]:
    community_codes = [answers[q.id] for q in questionnaire.questions
                       if q.kind.answers_unit and isinstance(answers.get(q.id), str)]
    names = ({u.code: u.full_name for u in session.scalars(select(Unit).where(Unit.code.in_(community_codes)))}
             if community_codes else {})
    lines = []
    for question in questionnaire.questions:
        value = answers.get(question.id)
        if value is None:
            parts: list = []
        elif question.kind.answers_unit:
            parts = [names.get(value, str(value))]
        elif question.options:
            parts = []
            for code in value if isinstance(value, list) else [value]:
                try:
                    parts.append(question.option(code).label)
                except KeyError:
                    parts.append(str(code))
        else:
            parts = [str(value)]
        lines.append(AnswerLine(question.id, question.text, parts))
    return lines


def review_history(session: Session, response: Response) -> list[AuditEvent]:
    """Voids and restores of the response, oldest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.target == f"response:{response.id}",
                                 AuditEvent.action.in_((VOID_ACTION, RESTORE_ACTION)))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ))


def voided_by(session: Session, response: Response) -> User | None:
    return session.get(User, response.voided_by_id) if response.voided_by_id else None


def round_response_count(session: Session, round_: Round) -> int:
    return session.scalar(select(func.count(Response.id)).where(Response.round_id == round_.id)) or 0
