"""Field drills: interviewers' sign-up codes, a phone's sign-in, and the
questionnaires an interviewer's phone sends, each stored exactly once.

The phone works offline: it fills questionnaires, keeps them in IndexedDB
and sends them in batches when it can. Each carries a key the phone made
(``crypto.randomUUID``); stored as ``iv<interviewer id>-<key>``, it is the
response's submission key, so a batch sent twice, or two batches racing,
store every questionnaire once (``INSERT ... ON CONFLICT DO NOTHING``). The
phone's clock may be wrong: each batch says what time the phone thinks it
is, and every time in it is shifted by the difference.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from analysis.integrity import IntegrityRules
from questions import AnswerError, evaluate_answers

from ..exceptions import SetupError
from ..infrastructure.hashing import keyed_hash
from ..input_guard import parse_id
from ..models import Interviewer, PracticeResponse, Response, Round, Unit, User
from . import audit
from .integrity import check_submission
from .submission import insert_once, insert_response, response_columns

#: Sign-up codes avoid look-alike characters (0/O, 1/I/L): volunteers may type them.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
MAX_CODES_PER_BATCH = 500
NAME_MAX_LENGTH = 50
#: Questionnaires per sync request; the phone sends more in several requests.
MAX_BATCH = 50
_KEY = re.compile(r"[A-Za-z0-9_-]{8,40}")
#: Clocks of a phone and the server may differ this much before times count as wrong.
CLOCK_TOLERANCE = timedelta(minutes=10)
#: The longest an interview is taken to have lasted (a phone left open overnight).
LONGEST_INTERVIEW = timedelta(hours=3)


logger = logging.getLogger(__name__)


class FieldworkRefused(SetupError):
    """A sign-up or office action on interviewers that cannot be done; the message says why."""


# --- the office: sign-up codes, revoking, practice answers ------------------------------

def new_signup_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def signup_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/i/join/{code}"


def _round_units(session: Session, round_: Round) -> dict[str, Unit]:
    return {u.code: u for u in [round_.unit, *round_.unit.descendants()]}


def create_signup_codes(session: Session, user: User | None, round_: Round, count: int,
                        unit_codes: list[str] | None, *, practice_only: bool, now: datetime) -> list[Interviewer]:
    """``count`` one-time sign-up codes for ``round_``, each for the units
    named (streets or communities of the round's area; none: the whole area).
    Flushes; the caller commits.

    :raises FieldworkRefused: a count out of range, an unknown unit, a closed round.
    """
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise FieldworkRefused(_("Make between 1 and %(n)s codes at a time.", n=MAX_CODES_PER_BATCH))
    if round_.state_at(now) == "closed":
        raise FieldworkRefused(_("The round has closed; interviewers can no longer join it."))
    area = _round_units(session, round_)
    codes = [c.strip() for c in (unit_codes or []) if c.strip()]
    unknown = [c for c in codes if c not in area]
    if unknown:
        raise FieldworkRefused(_("Not a unit of this round's area: %(codes)s", codes="、".join(unknown)))
    unit_ids = sorted({area[c].id for c in codes}) or [round_.unit_id]
    made = [Interviewer(round_id=round_.id, signup_code=new_signup_code(), unit_ids=unit_ids,
                        practice_only=practice_only, created_at=now) for _ in range(count)]
    session.add_all(made)
    session.flush()
    event = audit.record(session, user, "interviewer.codes", f"round:{round_.id}", count=count,
                         units=[u.code for u in area.values() if u.id in unit_ids], practice=practice_only)
    event.created_at = now
    return made


def revoke_interviewer(session: Session, user: User, interviewer: Interviewer, now: datetime) -> None:
    """The phone can send no more (what it sent stays counted); an unclaimed code stops working."""
    if interviewer.revoked_at is not None:
        raise FieldworkRefused(_("This interviewer has already been stopped."))
    interviewer.revoked_at = now
    interviewer.signup_code = None
    event = audit.record(session, user, "interviewer.revoke", f"interviewer:{interviewer.id}",
                         round=interviewer.round_id, name=interviewer.name)
    event.created_at = now
    session.flush()


def clear_practice(session: Session, user: User, round_: Round, now: datetime) -> int:
    """Delete the round's practice answers; returns how many there were."""
    deleted = session.execute(delete(PracticeResponse).where(PracticeResponse.round_id == round_.id)).rowcount
    event = audit.record(session, user, "practice.clear", f"round:{round_.id}", deleted=deleted)
    event.created_at = now
    session.flush()
    return deleted


# --- the phone: claiming a code, signing in ---------------------------------------------

def find_signup(session: Session, code: str, now: datetime) -> Interviewer | None:
    """The unclaimed interviewer slot of ``code``, if it still opens anything."""
    if not code or len(code) > 32:
        return None
    interviewer = session.scalar(select(Interviewer).where(Interviewer.signup_code == code.strip().upper()))
    if interviewer is None or interviewer.revoked_at is not None or interviewer.round.state_at(now) == "closed":
        return None
    return interviewer


def _secret_hash(secret_key: str, secret: str) -> str:
    return keyed_hash(secret_key, b"interviewer:" + secret.encode("utf-8", "surrogatepass"), 64)


def clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise FieldworkRefused(_("Enter your name."))
    if len(name) > NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise FieldworkRefused(_("Keep the name to %(n)s characters or fewer.", n=NAME_MAX_LENGTH))
    return name


def claim_signup(session: Session, interviewer: Interviewer, name: str, secret_key: str, now: datetime) -> str:
    """Bind the code's slot to this phone: returns the secret the phone
    keeps in its cookie (only its keyed hash is stored). The code is spent.

    :raises FieldworkRefused: no name, or the code was claimed meanwhile.
    """
    name = clean_name(name)
    secret = secrets.token_urlsafe(32)
    table = Interviewer.__table__
    # Only if still unclaimed: of two phones claiming at once, one gets it.
    claimed = session.execute(
        update(table).where(table.c.id == interviewer.id, table.c.signup_code.is_not(None),
                            table.c.secret_hash.is_(None))
        .values(signup_code=None, name=name, secret_hash=_secret_hash(secret_key, secret),
                claimed_at=now, last_seen_at=now)
    ).rowcount
    if not claimed:
        raise FieldworkRefused(_("This sign-up code has already been used."))
    event = audit.record(session, None, "interviewer.join", f"interviewer:{interviewer.id}",
                         round=interviewer.round_id, name=name)
    event.created_at = now
    session.flush()
    session.expire(interviewer)
    return f"{interviewer.id}.{secret}"


def interviewer_from_cookie(session: Session, secret_key: str, cookie: str | None) -> Interviewer | None:
    """The signed-in interviewer of a phone's cookie; None when missing,
    forged or revoked."""
    if not cookie or len(cookie) > 100 or "." not in cookie:
        return None
    ident, secret = cookie.split(".", 1)
    interviewer_id = parse_id(ident)
    if interviewer_id is None:
        return None
    interviewer = session.get(Interviewer, interviewer_id)
    if (interviewer is None or interviewer.secret_hash is None or interviewer.revoked_at is not None
            or not secrets.compare_digest(interviewer.secret_hash, _secret_hash(secret_key, secret))):
        return None
    return interviewer


def communities_of(session: Session, interviewer: Interviewer) -> dict[str, str]:
    """Communities the interviewer works in: those of their units, within
    the round's area, code -> name in code order."""
    area = {u.id: u for u in [interviewer.round.unit, *interviewer.round.unit.descendants()]}
    found: dict[str, str] = {}
    for unit_id in interviewer.unit_ids or []:
        unit = area.get(unit_id)
        if unit is None:
            continue
        for u in [unit, *unit.descendants()]:
            if u.level == "community":
                found[u.code] = u.name
    return dict(sorted(found.items()))


# --- the phone's batches ------------------------------------------------------------------

@dataclass
class ItemOutcome:
    """What became of one questionnaire of a batch: ``stored``,
    ``duplicate`` (stored before: nothing added) or ``invalid`` (nothing
    stored; ``problems`` say why, ``errors`` per question)."""

    key: str
    status: str
    practice: bool = False
    errors: dict[str, AnswerError] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: When the server has it (stored now, or first stored earlier).
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class SyncContext:
    now: datetime
    #: What the phone's clock said when it sent the batch (None: trust its times).
    phone_now: datetime | None
    rules: IntegrityRules
    #: Least seconds per answer of an interview.
    min_seconds: float
    grace: timedelta

    @property
    def skew(self) -> timedelta:
        """How far behind the phone's clock is (added to every phone time)."""
        return self.now - self.phone_now if self.phone_now is not None else timedelta(0)


def phone_time(value: object) -> datetime | None:
    """A phone's time as sent (milliseconds since 1970), or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not 1e12 <= value <= 1e13:  # 2001 .. 2286: anything else is not a clock reading
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def stored_key(interviewer: Interviewer, key: str) -> str:
    return f"iv{interviewer.id}-{key}"


def _already(session: Session, key: str) -> tuple[datetime | None, bool] | None:
    """(when it was stored, practice?) for a key stored before, else None."""
    found = session.execute(select(Response.submitted_at).where(Response.submission_key == key)).first()
    if found is not None:
        return found[0], False
    found = session.execute(select(PracticeResponse.received_at)
                            .where(PracticeResponse.submission_key == key)).first()
    return (found[0], True) if found is not None else None


def _raw_answers(value: object) -> dict[str, list[str]] | None:
    """The answers as the phone sent them, if they have the expected shape."""
    if not isinstance(value, dict) or len(value) > 500:
        return None
    raw: dict[str, list[str]] = {}
    for qid, given in value.items():
        if not isinstance(qid, str) or len(qid) > 64:
            return None
        given = given if isinstance(given, list) else [given]
        if len(given) > 100 or not all(isinstance(v, str) and len(v) <= 5000 for v in given):
            return None
        raw[qid] = given
    return raw


@dataclass(frozen=True)
class _Batch:
    """What every item of a batch shares, looked up once."""

    communities: dict[str, str]
    unit_ids: dict[str, int]


def _batch_facts(session: Session, interviewer: Interviewer) -> _Batch:
    communities = communities_of(session, interviewer)
    unit_ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(list(communities)))).all())
    return _Batch(communities, unit_ids)


def sync_item(session: Session, interviewer: Interviewer, item: object, context: SyncContext,
              batch: _Batch | None = None) -> ItemOutcome:
    """Store one questionnaire from the interviewer's phone, once. Flushes; the caller commits."""
    if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not _KEY.fullmatch(item["key"]):
        key = item.get("key") if isinstance(item, dict) and isinstance(item.get("key"), str) else ""
        return ItemOutcome(key[:40], "invalid", problems=[_("The questionnaire could not be read.")])
    key = stored_key(interviewer, item["key"])
    outcome = ItemOutcome(item["key"], "invalid", practice=bool(item.get("practice")) or interviewer.practice_only)
    earlier = _already(session, key)
    if earlier is not None:
        outcome.status, outcome.confirmed_at, outcome.practice = "duplicate", earlier[0], earlier[1]
        return outcome

    raw = _raw_answers(item.get("answers"))
    started, completed = phone_time(item.get("started_at")), phone_time(item.get("completed_at"))
    if raw is None or started is None or completed is None:
        outcome.problems.append(_("The questionnaire could not be read."))
        return outcome
    completed = min(completed + context.skew, context.now)
    started = max(min(started + context.skew, completed), completed - LONGEST_INTERVIEW)

    round_ = interviewer.round
    batch = batch or _batch_facts(session, interviewer)
    communities = batch.communities
    questionnaire = round_.questionnaire_version.parsed
    answer_set = evaluate_answers(questionnaire, raw, community_options=communities)
    unit_code = next((answer_set.answers.get(q.id) for q in questionnaire.questions if q.kind.answers_unit), None)
    if unit_code is None:  # no community question, or not reached: the phone's chosen community
        unit_code = item.get("unit") if isinstance(item.get("unit"), str) and item["unit"] in communities else None
        if unit_code is None:
            outcome.problems.append(_("Choose the community where the interview took place."))
    if answer_set.errors:
        outcome.errors = dict(answer_set.errors)
    if outcome.errors or outcome.problems:
        return outcome
    unit_id = batch.unit_ids[unit_code]

    if outcome.practice:
        practice_id = insert_once(session, PracticeResponse, dict(
            round_id=round_.id, interviewer_id=interviewer.id, unit_id=unit_id, submission_key=key,
            started_at=started, submitted_at=completed, received_at=context.now, answer_data=answer_set.answers))
        outcome.status = "stored" if practice_id is not None else "duplicate"
        outcome.confirmed_at = context.now if practice_id is not None else (_already(session, key) or (None,))[0]
        return outcome

    if completed < round_.opens_at - CLOCK_TOLERANCE or completed > round_.closes_at + CLOCK_TOLERANCE:
        outcome.problems.append(_("This questionnaire was completed outside the round's dates; "
                                  "it can only be kept as practice."))
        return outcome
    if context.now > round_.closes_at + context.grace:
        outcome.problems.append(_("The round closed too long ago to accept more questionnaires."))
        return outcome

    checks = check_submission(questionnaire, answer_set.answers, (completed - started).total_seconds(),
                              context.rules, min_seconds=context.min_seconds)
    response = insert_response(session, response_columns(
        round_, answer_set, checks, mode="interviewer", unit_id=unit_id, submission_key=key,
        started_at=started, submitted_at=completed, interviewer_id=interviewer.id))
    if response is None:  # a concurrent batch stored it first
        outcome.status, outcome.confirmed_at = "duplicate", (_already(session, key) or (None,))[0]
    else:
        outcome.status, outcome.confirmed_at = "stored", context.now
    return outcome


def _sync_item_safely(session: Session, interviewer: Interviewer, item: object, context: SyncContext,
                      batch: _Batch) -> ItemOutcome:
    """One item in a savepoint: a questionnaire the server cannot handle is
    answered ``invalid`` (and logged) instead of failing the whole batch,
    which the phone would then send again forever."""
    try:
        with session.begin_nested():
            return sync_item(session, interviewer, item, context, batch)
    except SQLAlchemyError:
        raise  # the database itself: the whole batch fails and the phone retries later
    except Exception:
        logger.exception("interviewer %s: a questionnaire could not be stored", interviewer.id)
        key = item.get("key") if isinstance(item, dict) and isinstance(item.get("key"), str) else ""
        return ItemOutcome(key[:40], "invalid", problems=[_("The server could not store this questionnaire; "
                                                             "the error was recorded. Contact the office.")])


def sync_batch(session: Session, interviewer: Interviewer, items: list, context: SyncContext) -> list[ItemOutcome]:
    """Store a batch from the phone, each item on its own: one invalid
    questionnaire does not hold back the others. Flushes; the caller commits.

    :raises FieldworkRefused: the batch is not a list of at most MAX_BATCH items.
    """
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        raise FieldworkRefused(_("Send between 1 and %(n)s questionnaires at a time.", n=MAX_BATCH))
    # A write first: on SQLite the transaction then holds the write lock
    # (waiting its turn under the busy timeout) before any item's savepoint,
    # instead of reading first and failing to upgrade a stale snapshot.
    interviewer.last_seen_at = context.now
    session.flush()
    batch = _batch_facts(session, interviewer)
    return [_sync_item_safely(session, interviewer, item, context, batch) for item in items]

