"""The respondent's use cases: open a QR channel, serve a form, store a submission once.

Idempotency rests on the database, not on timing: every form carries a
signed ticket with a random submission key, ``responses.submission_key`` is
unique, and the insert is ``ON CONFLICT DO NOTHING``, so a double tap, a
retry after a lost connection, two tabs or two concurrent requests store one
row and all get the same thank-you page.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from analysis.integrity import IntegrityRules
from questions import AnswerSet, evaluate_answers

from ..exceptions import AlreadyResponded, ChannelNotFound, InvalidSubmission, RoundNotOpen
from ..infrastructure.hashing import keyed_hash
from ..models import Answer, Channel, Response, Round, Unit
from ..vocabulary import STATUS_COMPLETE, STATUS_SCREENED_OUT
from .integrity import SubmissionChecks, check_submission

TICKET_SALT = "minyi.form-ticket"


@dataclass(frozen=True)
class Ticket:
    """What the form carries from the moment it was first served."""

    submission_key: str
    channel_id: int
    #: When the resident began: the form was first served (answer time counts from here).
    started_at: datetime
    #: When this ticket was issued (its lifetime counts from here): the serving
    #: time, or the renewal of an expired form that brought the answers back.
    issued_at: datetime | None = None

    @property
    def issued(self) -> datetime:
        return self.issued_at or self.started_at


@dataclass(frozen=True)
class SubmissionOutcome:
    """``stored`` (new row), ``duplicate`` (key seen before), ``invalid``
    (answers need fixing) or ``expired`` (the form was served too long ago)."""

    status: str
    response: Response | None = None
    answer_set: AnswerSet | None = None


def find_channel(session: Session, token: str) -> Channel:
    """The channel a QR token names. :raises ChannelNotFound:"""
    channel = session.scalar(select(Channel).where(Channel.token == token)) if len(token) <= 64 else None
    if channel is None:
        raise ChannelNotFound(token)
    return channel


def ensure_open(round_: Round, now: datetime) -> None:
    """:raises RoundNotOpen: before opening or after closing time."""
    state = round_.state_at(now)
    if state != "open":
        raise RoundNotOpen(state, round_.name)


def issue_ticket(secret_key: str, channel: Channel, now: datetime, started_at: datetime | None = None) -> str:
    """A signed, tamper-proof ticket: a new submission key and the serving
    time; ``started_at`` carries an expired form's start into its renewal,
    so the resident's answer time still counts from when they began."""
    payload = {"k": secrets.token_urlsafe(24), "c": channel.id, "t": now.timestamp()}
    if started_at is not None:
        payload["s"] = started_at.timestamp()
    return URLSafeSerializer(secret_key, salt=TICKET_SALT).dumps(payload)


def read_ticket(secret_key: str, ticket: str, channel: Channel) -> Ticket:
    """:raises InvalidSubmission: forged ticket, or one served for another channel."""
    try:
        payload = URLSafeSerializer(secret_key, salt=TICKET_SALT).loads(ticket or "")
        issued = datetime.fromtimestamp(float(payload["t"]), tz=UTC)
        parsed = Ticket(
            submission_key=str(payload["k"]),
            channel_id=int(payload["c"]),
            started_at=datetime.fromtimestamp(float(payload.get("s", payload["t"])), tz=UTC),
            issued_at=issued,
        )
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidSubmission("bad form ticket") from exc
    if parsed.channel_id != channel.id:
        raise InvalidSubmission("ticket belongs to another channel")
    return parsed


def find_response(session: Session, submission_key: str) -> Response | None:
    return session.scalar(select(Response).where(Response.submission_key == submission_key))


def community_options(session: Session, channel: Channel) -> dict[str, str]:
    """Communities a resident reached through ``channel`` may say they live in:
    those of the channel's street (a poster in one community is also read by
    neighbours), or all under the channel's unit when it is a street or district."""
    unit = channel.unit
    scope = unit.street
    communities = [u for u in [scope, *scope.descendants()] if u.level == "community"]
    return {u.code: u.name for u in communities}


def device_has_responded(session: Session, round_: Round, device_id: str | None) -> bool:
    if not device_id or not round_.one_response_per_device:
        return False
    found = session.scalar(
        select(Response.id).where(Response.round_id == round_.id, Response.device_lock == device_id)
    )
    return found is not None


def device_hash(secret_key: str, device_cookie: str | None) -> str | None:
    """Keyed hash of the device cookie, the only form in which it is stored:
    the one-response-per-device rule compares hashes, and the table cannot be
    joined to a phone's cookie."""
    if not device_cookie:
        return None
    return keyed_hash(secret_key, b"device:" + device_cookie.encode("utf-8", "surrogatepass"))


def network_hash(secret_key: str, remote_addr: str | None) -> str | None:
    """Keyed hash of the /24 (IPv4) or /48 (IPv6) network: bursts from one
    network show up, while no address is stored or recoverable."""
    if not remote_addr:
        return None
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return keyed_hash(secret_key, str(network).encode())


def submit_response(
    session: Session,
    channel: Channel,
    ticket: Ticket,
    raw_answers: dict[str, list[str]],
    *,
    device_id: str | None,
    network: str | None,
    now: datetime,
    locale: str,
    rules: IntegrityRules,
    ticket_lifetime: timedelta,
) -> SubmissionOutcome:
    """Validate and store one submission, exactly once per submission key.

    A ticket older than ``ticket_lifetime`` is ``expired``: the answers come
    back on a fresh form, so a form fetched long in advance cannot lend its
    age to an instant submission (the answer time is measured from serving).
    A repeat of a stored key is still recognised, however old.

    Flushes; the caller commits.

    :raises RoundNotOpen: the round is not open (unless the key was stored before).
    :raises AlreadyResponded: this device already answered a round that allows one response.
    """
    existing = find_response(session, ticket.submission_key)
    if existing is not None:
        return SubmissionOutcome("duplicate", existing)

    round_ = channel.round
    ensure_open(round_, now)
    if device_has_responded(session, round_, device_id):
        # The device's response may be this very submission, committed by a
        # concurrent request since the first look: then it is a repeat.
        existing = find_response(session, ticket.submission_key)
        if existing is not None:
            return SubmissionOutcome("duplicate", existing)
        raise AlreadyResponded(channel.token)
    # After the round and device checks: a fresh form is offered only to
    # someone who may still send it.
    if now - ticket.issued > ticket_lifetime:
        return SubmissionOutcome("expired")

    questionnaire = round_.questionnaire_version.parsed
    communities = community_options(session, channel)
    answer_set = evaluate_answers(questionnaire, raw_answers, community_options=communities)
    if answer_set.errors:
        return SubmissionOutcome("invalid", answer_set=answer_set)

    unit_id = channel.unit_id
    for question in questionnaire.questions:
        if question.kind.answers_unit and question.id in answer_set.answers:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == answer_set.answers[question.id]))

    started_at = min(ticket.started_at, now)
    checks = check_submission(questionnaire, answer_set.answers, (now - started_at).total_seconds(), rules)
    values = response_columns(
        round_, answer_set, checks, mode="self", unit_id=unit_id, submission_key=ticket.submission_key,
        started_at=started_at, submitted_at=now, locale=locale, channel_id=channel.id, device_id=device_id,
        device_lock=device_id if round_.one_response_per_device else None, network_hash=network,
    )
    response = insert_response(session, values)
    if response is None:
        # Lost a race: a concurrent request stored this key (or this device) first.
        winner = find_response(session, ticket.submission_key)
        if winner is not None:
            return SubmissionOutcome("duplicate", winner)
        raise AlreadyResponded(channel.token)
    return SubmissionOutcome("stored", response, answer_set)


def response_columns(round_: Round, answer_set: AnswerSet, checks: SubmissionChecks, *, mode: str, unit_id: int,
                     submission_key: str, started_at: datetime, submitted_at: datetime, locale: str = "zh",
                     **collection: object) -> dict:
    """The ``responses`` columns of one checked answer set, however it came
    (``collection``: the channel and device of a QR form, the interviewer of
    an interview, who typed a paper sheet in)."""
    return dict(
        round_id=round_.id, unit_id=unit_id, submission_key=submission_key, mode=mode,
        started_at=started_at, submitted_at=submitted_at, locale=locale,
        status=STATUS_SCREENED_OUT if answer_set.screened_out_by else STATUS_COMPLETE,
        screened_out_by=answer_set.screened_out_by,
        quality_flags=checks.flags, flag_reasons=checks.reasons, favourable_share=checks.favourable,
        answer_data=answer_set.answers,
        **{"channel_id": None, "device_id": None, "device_lock": None, "network_hash": None, **collection},
    )


def insert_response(session: Session, values: dict) -> Response | None:
    """Store one response with its answer rows, once: None when its
    submission key (or device lock) was stored before. Every way a response
    arrives (QR form, interviewer's phone, paper entry) stores through here.

    ``values`` are the ``responses`` columns; ``answer_data`` also gives the
    answer rows. Flushes; the caller commits."""
    response_id = insert_once(session, Response, values)
    if response_id is None:
        return None
    rows = [{"response_id": response_id, "question_id": question_id, "value": value}
            for question_id, value in values["answer_data"].items()]
    if rows:  # one multi-row INSERT, not one per answer
        session.execute(insert(Answer), rows)
    return session.get(Response, response_id)


def insert_responses(session: Session, rows: list[dict], chunk: int = 500) -> int:
    """Store many responses with their answer rows, each once (keys stored
    before are skipped): multi-row INSERTs, for imports. Returns how many
    were stored. Runs on the session's connection (no flush); the caller
    records the import through the session and commits."""
    dialect = session.get_bind().dialect.name
    insert_of = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    # One compiled statement, executed for many rows ("insertmanyvalues" batches them).
    statement = (insert_of(Response.__table__).on_conflict_do_nothing()
                 .returning(Response.id, Response.submission_key))
    connection = session.connection()
    stored = 0
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        ids = dict((key, rid) for rid, key in connection.execute(statement, part).all())
        answers = [{"response_id": ids[row["submission_key"]], "question_id": qid, "value": value}
                   for row in part if row["submission_key"] in ids
                   for qid, value in row["answer_data"].items()]
        if answers:
            connection.execute(insert(Answer.__table__), answers)
        stored += len(ids)
    return stored


def insert_once(session: Session, model, values: dict) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id; None when a unique key existed.

    Both SQLite (3.35+) and PostgreSQL support it; on PostgreSQL a concurrent
    insert of the same key waits for the first transaction and then does nothing.
    """
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = insert(model).values(**values).on_conflict_do_nothing()
    return session.execute(statement.returning(model.id)).scalar()

