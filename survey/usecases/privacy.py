"""Privacy: technical data kept only as long as they are needed, and a
round's data exported and then deleted.

Technical data are what a response carries besides its answers to spot
ballot-stuffing: the keyed hashes of the device cookie and of the network.
They serve the integrity checks while a round is open and for a while after
(a late review); ``TECHNICAL_DATA_RETENTION_DAYS`` after a round closes they
are cleared, and the round remembers when. Answers, flags and their reasons
stay.

Deleting a round is the end of its life in the database: only a closed
round, only after its data were downloaded (the archive is recorded in the
audit log), only with its name typed to confirm; everything of the round
goes in one transaction, and the audit log keeps who deleted what.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ..exceptions import SetupError
from ..models import (
    Answer,
    AuditEvent,
    Channel,
    Interviewer,
    PendingImport,
    PracticeResponse,
    Response,
    ResponseImport,
    Round,
    RoundQuota,
    User,
)
from ..queries import export
from . import audit
from .submission import device_hash

#: Length of a stored device hash (``submission.device_hash``); a device id
#: of another length was stored raw, before device ids were hashed.
DEVICE_HASH_LENGTH = 32

EXPORT_ACTION = "round.export"
DELETE_ACTION = "round.delete"
PURGE_ACTION = "round.purge_technical_data"


class DeletionRefused(SetupError):
    """A round that may not be deleted (yet); the message says why, in the office's words."""


# --- retention of technical data ---------------------------------------------------

def _has_technical_data():
    return or_(Response.device_id.is_not(None), Response.device_lock.is_not(None),
               Response.network_hash.is_not(None))


def purge_due_at(round_: Round, retention: timedelta) -> datetime:
    """When the round's technical data are due to be cleared."""
    return round_.closes_at + retention


@dataclass(frozen=True)
class PurgedRound:
    round_id: int
    name: str
    closed_at: datetime
    #: Responses whose device or network hash were (or, in a dry run, would be) cleared.
    responses: int


def rounds_due_for_purge(session: Session, now: datetime, retention: timedelta) -> list[Round]:
    """Rounds closed at least ``retention`` ago that were never purged, or
    still hold technical data (none should; kept as a safety net)."""
    left = exists().where(Response.round_id == Round.id, _has_technical_data())
    query = (select(Round)
             .where(Round.closes_at <= now - retention, or_(Round.technical_data_purged_at.is_(None), left))
             .order_by(Round.closes_at, Round.id))
    return list(session.scalars(query))


def purge_technical_data(session: Session, now: datetime, retention: timedelta, *,
                         dry_run: bool = False, actor: User | None = None) -> list[PurgedRound]:
    """Clear the device and network hashes of every round closed at least
    ``retention`` before ``now``, and mark the round purged (audited).
    Flushes; the caller commits. ``dry_run`` changes nothing."""
    purged = []
    for round_ in rounds_due_for_purge(session, now, retention):
        count = session.scalar(select(func.count(Response.id))
                               .where(Response.round_id == round_.id, _has_technical_data())) or 0
        purged.append(PurgedRound(round_.id, round_.name, round_.closes_at, count))
        if dry_run:
            continue
        session.execute(update(Response)
                        .where(Response.round_id == round_.id, _has_technical_data())
                        .values(device_id=None, device_lock=None, network_hash=None)
                        .execution_options(synchronize_session=False))
        round_.technical_data_purged_at = now
        event = audit.record(session, actor, PURGE_ACTION, f"round:{round_.id}", name=round_.name,
                             responses=count, retention_days=retention.days)
        event.created_at = now
    session.flush()
    return purged


def hash_raw_device_ids(session: Session, secret_key: str, *, dry_run: bool = False) -> int:
    """Replace device ids stored raw (before they were hashed) by their
    keyed hash, so that no database row can be joined to a phone's cookie.
    Returns how many responses had one. Flushes; the caller commits."""
    raw = or_(func.length(Response.device_id) != DEVICE_HASH_LENGTH,
              func.length(Response.device_lock) != DEVICE_HASH_LENGTH)
    rows = session.execute(select(Response.id, Response.device_id, Response.device_lock).where(raw)).all()
    if rows and not dry_run:
        def hashed(value: str | None) -> str | None:
            return value if value is None or len(value) == DEVICE_HASH_LENGTH else device_hash(secret_key, value)

        table = Response.__table__
        session.connection().execute(
            update(table).where(table.c.id == bindparam("rid"))
            .values(device_id=bindparam("device"), device_lock=bindparam("lock")),
            [{"rid": rid, "device": hashed(device), "lock": hashed(lock)} for rid, device, lock in rows],
        )
        session.expire_all()
    return len(rows)


# --- export, then delete ---------------------------------------------------------

ARCHIVE_NOTE = """本压缩包是一个测评轮次删除前导出的全部数据。

responses.csv      全部答卷，每份一行（与控制台“原始数据”下载相同；voided 列为经审核作废与否）
codebook.csv       答卷各列的含义与选项编码
round.json         轮次设置：名称、时间、目标值、配额、二维码渠道、剔除的标记、作废记录
questionnaire.json 本轮使用的问卷版本（完整定义）

时间均为协调世界时（UTC，北京时间减 8 小时）。设备与网络标识不在导出之列。
"""


@dataclass(frozen=True)
class Archive:
    data: bytes
    filename: str
    responses: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def round_settings(session: Session, round_: Round, now: datetime) -> dict:
    """The round's settings, quotas, channels and voids as plain data."""
    per_channel = dict(session.execute(select(Response.channel_id, func.count(Response.id))
                                       .where(Response.round_id == round_.id)
                                       .group_by(Response.channel_id)).all())
    voids = session.execute(
        select(Response.id, Response.voided_at, Response.void_reason, User.username)
        .outerjoin(User, User.id == Response.voided_by_id)
        .where(Response.round_id == round_.id, Response.voided_at.is_not(None))
        .order_by(Response.id)
    ).all()
    version = round_.questionnaire_version
    return {
        "exported_at": _iso(now),
        "round": {
            "id": round_.id,
            "name": round_.name,
            "kind": round_.kind,
            "unit_code": round_.unit.code,
            "unit_name": round_.unit.name,
            "opens_at": _iso(round_.opens_at),
            "closes_at": _iso(round_.closes_at),
            "created_at": _iso(round_.created_at),
            "questionnaire": {"code": version.questionnaire.code, "version": version.version,
                              "checksum": version.checksum},
            "targets": dict(round_.targets or {}),
            "effective_targets": round_.effective_targets(),
            "one_response_per_device": round_.one_response_per_device,
            "excluded_flags": list(round_.excluded_flags or []),
            "min_verdict_respondents": round_.min_verdict_respondents,
            "min_weighting_cell": round_.min_weighting_cell,
            "technical_data_purged_at": _iso(round_.technical_data_purged_at),
        },
        "quotas": [{"unit_code": q.unit.code, "unit_name": q.unit.name, "quota": q.quota}
                   for q in sorted(round_.quotas, key=lambda q: q.unit.code)],
        "channels": [{"id": c.id, "unit_code": c.unit.code, "unit_name": c.unit.name, "site": c.site,
                      "created_at": _iso(c.created_at), "responses": per_channel.get(c.id, 0)}
                     for c in round_.channels],
        "voided_responses": [{"response_id": rid, "voided_at": _iso(at), "reason": reason, "by": username}
                             for rid, at, reason, username in voids],
    }


def build_archive(session: Session, round_: Round, now: datetime) -> Archive:
    """Everything the round holds, as one zip file (see ``ARCHIVE_NOTE``)."""
    responses = io.StringIO()
    responses.write("\ufeff")  # Excel and WPS read UTF-8 with a BOM
    count = export.write_responses_csv(session, round_, responses)
    codebook = io.StringIO()
    codebook.write("\ufeff")
    export.write_codebook_csv(round_, codebook)
    settings = round_settings(session, round_, now)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", ARCHIVE_NOTE)
        archive.writestr("responses.csv", responses.getvalue())
        archive.writestr("codebook.csv", codebook.getvalue())
        archive.writestr("round.json", json.dumps(settings, ensure_ascii=False, indent=2))
        archive.writestr("questionnaire.json",
                         json.dumps(round_.questionnaire_version.definition, ensure_ascii=False, indent=2))
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return Archive(buffer.getvalue(), f"round-{round_.id}-archive-{stamp}.zip", count)


def record_export(session: Session, actor: User | None, round_: Round, archive: Archive, now: datetime) -> None:
    """Note the download in the audit log: a round is deleted only after one."""
    event = audit.record(session, actor, EXPORT_ACTION, f"round:{round_.id}", name=round_.name,
                         responses=archive.responses, file=archive.filename)
    event.created_at = now
    session.flush()


def last_export_since_closing(session: Session, round_: Round) -> AuditEvent | None:
    """The latest download of the round's archive made after it closed (an
    earlier one may lack responses that came later)."""
    return session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == EXPORT_ACTION, AuditEvent.target == f"round:{round_.id}",
               AuditEvent.created_at >= round_.closes_at)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class RoundContents:
    responses: int
    answers: int
    channels: int
    quotas: int


def round_contents(session: Session, round_: Round) -> RoundContents:
    response_ids = select(Response.id).where(Response.round_id == round_.id)
    return RoundContents(
        responses=session.scalar(select(func.count()).select_from(response_ids.subquery())) or 0,
        answers=session.scalar(select(func.count(Answer.id)).where(Answer.response_id.in_(response_ids))) or 0,
        channels=session.scalar(select(func.count(Channel.id)).where(Channel.round_id == round_.id)) or 0,
        quotas=session.scalar(select(func.count(RoundQuota.id)).where(RoundQuota.round_id == round_.id)) or 0,
    )


def deletion_problem(session: Session, round_: Round, now: datetime) -> str | None:
    """Why the round may not be deleted now (None: it may, with its name typed)."""
    if round_.state_at(now) != "closed":
        return _("Only a closed round can be deleted: close it first.")
    if last_export_since_closing(session, round_) is None:
        return _("Download the round's data first (after it closed); then it can be deleted.")
    return None


def delete_round(session: Session, actor: User | None, round_: Round, *, confirm_name: str,
                 now: datetime) -> RoundContents:
    """Delete the round and everything of it (answers, responses, channels,
    quotas), audited with who, which round and how many responses. Flushes;
    the caller commits, so it all goes in one transaction or not at all.

    :raises DeletionRefused: the round is not closed, its data were not
        downloaded since it closed, or ``confirm_name`` is not its name.
    """
    problem = deletion_problem(session, round_, now)
    if problem is not None:
        raise DeletionRefused(problem)
    if (confirm_name or "").strip() != round_.name.strip():
        raise DeletionRefused(_("The name typed is not the round's name; nothing was deleted."))
    contents = round_contents(session, round_)
    round_id, name = round_.id, round_.name
    response_ids = select(Response.id).where(Response.round_id == round_id)
    # Answers and responses are many and never loaded as objects here: deleted
    # without syncing the session; the few channels, quotas and the round are
    # taken out of the session as they go.
    session.execute(delete(Answer).where(Answer.response_id.in_(response_ids))
                    .execution_options(synchronize_session=False))
    session.execute(delete(Response).where(Response.round_id == round_id)
                    .execution_options(synchronize_session=False))
    session.execute(delete(PracticeResponse).where(PracticeResponse.round_id == round_id))
    session.execute(delete(ResponseImport).where(ResponseImport.round_id == round_id))
    session.execute(delete(PendingImport).where(PendingImport.round_id == round_id))
    session.execute(delete(Interviewer).where(Interviewer.round_id == round_id))
    session.execute(delete(Channel).where(Channel.round_id == round_id))
    session.execute(delete(RoundQuota).where(RoundQuota.round_id == round_id))
    session.execute(delete(Round).where(Round.id == round_id))
    event = audit.record(session, actor, DELETE_ACTION, f"round:{round_id}", name=name,
                         responses=contents.responses, answers=contents.answers,
                         channels=contents.channels, quotas=contents.quotas)
    event.created_at = now
    session.flush()
    return contents
