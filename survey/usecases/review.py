"""Review of single responses: a round's responses with their flags, mode
and interviewer, one response's answers, and a reviewer's decision that a
response does not count (void) or counts again (restore), always with a
reason and audited. Who may read and decide is ``survey.queries.access``'s.

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
from ..models import AuditEvent, Channel, Interviewer, Response, Round, Unit, User
from ..vocabulary import RESPONSE_MODES, VOIDED
from . import audit, integrity

REASON_MAX_LENGTH = 500
FLAGGED = "flagged"
#: What the list of a round's responses can be narrowed to (besides all of
#: them): those with any flag, those with one flag, the voided ones.
FILTERS = (FLAGGED, *FLAGS, VOIDED.code)
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


def bump_revision(session: Session, round_id: int) -> None:
    """The round's report caches key on ``flags_revision``: a change of what counts bumps it."""
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
    bump_revision(session, response.round_id)
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
    bump_revision(session, response.round_id)
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
    #: ``self``, ``interviewer`` or ``paper``.
    mode: str
    #: The interviewer's label (interviews), else None.
    interviewer: str | None
    #: The office left this response's interviewer out of the results.
    interviewer_excluded: bool
    #: Whether the response came through a QR code (interviews and paper did not).
    has_channel: bool
    #: The QR code's unit and site; None when there is none, or when its unit
    #: is outside the reader's units (a neighbour's poster: not theirs to name).
    channel_unit: str | None
    channel_site: str | None
    unit: str
    status: str
    flags: list[str]
    reasons: dict[str, str]
    voided_at: datetime | None


@dataclass(frozen=True)
class ReviewPage:
    rows: list[ReviewRow]
    #: The filter shown (one of FILTERS), None for all responses.
    flag: str | None
    #: The collection mode and the interviewer the list is narrowed to (None: any).
    mode: str | None
    interviewer_id: int | None
    page: int
    pages: int
    #: Responses the filters match (all pages).
    total: int
    #: Responses of the chosen mode and interviewer, before the flag filter.
    all: int
    #: Filter ("flagged", a flag, or "voided") -> how many of ``all`` it matches.
    counts: dict[str, int]


def round_interviewers(session: Session, round_: Round, unit_ids: set[int] | None = None) -> list[Interviewer]:
    """The round's interviewers a reviewer can narrow the list to: those who
    signed up or sent responses; for ``unit_ids`` (a unit's staff) only those
    working in, or with responses from, those units."""
    interviewers = list(session.scalars(select(Interviewer).where(Interviewer.round_id == round_.id)
                                        .order_by(Interviewer.id)))
    query = select(Response.interviewer_id).where(Response.round_id == round_.id,
                                                  Response.interviewer_id.is_not(None)).distinct()
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    with_responses = set(session.scalars(query))
    return [i for i in interviewers if i.id in with_responses or (
        i.claimed_at is not None and (unit_ids is None or bool(set(i.unit_ids or ()) & unit_ids)))]


def round_responses(session: Session, round_: Round, *, unit_ids: set[int] | None = None, flag: str | None = None,
                    mode: str | None = None, interviewer_id: int | None = None, page: int = 1,
                    per_page: int = PER_PAGE) -> ReviewPage:
    """The round's responses, newest first, ``per_page`` at a time (``page``
    counts from 1 and is clamped): only those of ``unit_ids`` when given (a
    unit's staff), narrowed to a collection ``mode`` and an interviewer, and
    by ``flag`` to the flagged ones, one flag, or the voided ones. Unknown
    filter values are ignored."""
    integrity.ensure_current(session, round_)  # flags across responses, scored up to the newest
    flags_text = cast(Response.quality_flags, Text)
    flagged = flags_text.is_not(None) & (flags_text != "[]")
    voided = Response.voided_at.is_not(None)
    base = [Response.round_id == round_.id]
    if unit_ids is not None:
        base.append(Response.unit_id.in_(sorted(unit_ids)))
    if mode in RESPONSE_MODES:
        base.append(Response.mode == mode)
    else:
        mode = None
    if interviewer_id is not None:
        base.append(Response.interviewer_id == interviewer_id)
    everything = session.scalar(select(func.count(Response.id)).where(*base)) or 0
    counts = {name: 0 for name in FILTERS}
    for text, is_void in session.execute(select(flags_text, voided).where(*base, flagged | voided)):
        names = integrity.flags_from_text(text)
        counts[FLAGGED] += bool(names)
        for name in names:
            if name in counts:
                counts[name] += 1
        counts[VOIDED.code] += bool(is_void)
    if flag == FLAGGED:
        condition = flagged
    elif flag == VOIDED.code:
        condition = voided
    elif flag in FLAGS:
        # Flags are stored as a JSON list of these fixed names, quoted.
        condition = flags_text.like(f'%"{flag}"%')
    else:
        flag, condition = None, None
    total = counts[flag] if flag else everything
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    query = (select(Response.id, Response.submitted_at, Response.started_at, Response.mode, Response.interviewer_id,
                    Response.channel_id, Response.unit_id, Response.status, flags_text,
                    cast(Response.flag_reasons, Text), Response.voided_at)
             .where(*base).order_by(Response.submitted_at.desc(), Response.id.desc())
             .offset((page - 1) * per_page).limit(per_page))
    if condition is not None:
        query = query.where(condition)
    rows = session.execute(query).all()
    channels = _by_id(session, Channel, {r.channel_id for r in rows})
    units = _by_id(session, Unit, {r.unit_id for r in rows})
    interviewers = _by_id(session, Interviewer, {r.interviewer_id for r in rows})

    listed = []
    for r in rows:
        interviewer = interviewers.get(r.interviewer_id)
        channel = channels.get(r.channel_id)
        shown = channel is not None and (unit_ids is None or channel.unit_id in unit_ids)
        listed.append(ReviewRow(
            id=r.id, submitted_at=r.submitted_at, duration_seconds=(r.submitted_at - r.started_at).total_seconds(),
            mode=r.mode, interviewer=interviewer.label if interviewer else None,
            interviewer_excluded=bool(interviewer and interviewer.excluded_at is not None),
            has_channel=channel is not None, channel_unit=channel.unit.full_name if shown else None,
            channel_site=channel.site if shown else None, unit=units[r.unit_id].full_name, status=r.status,
            flags=integrity.flags_from_text(r[8]), reasons=json.loads(r[9]) if r[9] else {},
            voided_at=r.voided_at,
        ))
    return ReviewPage(rows=listed, flag=flag, mode=mode, interviewer_id=interviewer_id, page=page, pages=pages,
                      total=total, all=everything, counts=counts)


def _by_id(session: Session, model, ids: set) -> dict:
    ids = {i for i in ids if i is not None}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


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


def entered_by(session: Session, response: Response) -> User | None:
    """The office account that typed a paper questionnaire in."""
    return session.get(User, response.entered_by_id) if response.entered_by_id else None


def round_response_count(session: Session, round_: Round, unit_ids: set[int] | None = None) -> int:
    """The round's responses (those of ``unit_ids`` when given)."""
    query = select(func.count(Response.id)).where(Response.round_id == round_.id)
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    return session.scalar(query) or 0
