"""Import answers an office already has into a round: 问卷星 downloads (by
option text or by option number), Minyi's own export, or a filled-in sheet.

Two steps, as the console page and the command line both show them: a plan
(what each column holds, which community each row belongs to, every value
that fits no option, by row and column), then the import itself, all rows
or none. Each row is stored once: its key is the round, the file's header
(one questionnaire on the source side) and the source's own row id (问卷星's
序号, Minyi's response id), so importing the same file again, or a later
download that overlaps it, adds only the new rows. Imported responses go
through the same answer checks and quality rules as any other (问卷星's
所用时间 is the duration), and name their import.

The console page keeps the uploaded file in the database between the two
steps (``stash_upload``, ``pending_upload``), plans it again with the
user's column choices on every preview (``preview_upload``) and on the
confirmation (``confirm_upload``), which saves only the choices the user
made and deletes the upload once imported.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from analysis.tabular import MAX_TABLE_BYTES, Table, TableReadError, read_table
from questions import AnswerSet, evaluate_answers
from questions.imports import ColumnMatch, detect_source, match_columns, meta_of, row_answers

from ..exceptions import SetupError
from ..models import ImportMapping, PendingImport, Response, ResponseImport, Round, User
from ..templating import answer_error_message
from ..vocabulary import RESPONSE_MODES
from . import audit, round_setup
from .integrity import check_submission, current_rules, seconds_by_mode
from .submission import insert_responses, response_columns

BEIJING = ZoneInfo("Asia/Shanghai")
#: Problems listed in full; beyond this many the rest are counted.
MAX_LISTED_PROBLEMS = 200
IMPORT_ACTION = "responses.import"


class ImportRefused(SetupError):
    """A file that cannot be imported as it is; ``problems`` says why, by row and column."""

    def __init__(self, problems: list[str]):
        super().__init__("；".join(problems[:5]) + ("……" if len(problems) > 5 else ""))
        self.problems = problems


@dataclass(frozen=True)
class PlannedRow:
    number: int  # the row's number in the file (the header is row 1)
    key: str
    answers: AnswerSet
    unit_id: int
    submitted_at: datetime
    started_at: datetime
    #: None: no answering time known (a sheet typed in): the speed rule does not apply.
    duration: float | None
    mode: str
    voided: bool


@dataclass
class ImportPlan:
    round_id: int
    filename: str
    sha256: str
    source: str
    header: list[str]
    match: ColumnMatch
    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Rows whose key an earlier import (or this file, twice) already stored.
    duplicates: int = 0
    unit_column: int | None = None

    @property
    def importable(self) -> bool:
        return not self.problems

    def unmatched_columns(self) -> list[tuple[int, str]]:
        return [(i, self.header[i]) for i in self.match.unmatched_columns]


def _round_communities(round_: Round) -> dict[str, tuple[int, str]]:
    """Code -> (unit id, name) of the round's communities."""
    return {u.code: (u.id, u.name) for u in round_setup.round_communities(round_) if u.level == "community"}


def _community_of(text: str, communities: dict[str, tuple[int, str]]) -> str | None:
    """The community a cell names, by code or by name (exactly, or as the end of a longer name)."""
    text = (text or "").strip()
    if not text:
        return None
    if text in communities:
        return text
    by_name = [code for code, (_, name) in communities.items() if name == text]
    if not by_name:
        by_name = [code for code, (_, name) in communities.items() if text.endswith(name) or name.endswith(text)]
    return by_name[0] if len(by_name) == 1 else None


def saved_mapping(session: Session, round_: Round) -> dict[str, str]:
    """Header text -> question id ("" to ignore) confirmed earlier for the round's questionnaire."""
    rows = session.execute(select(ImportMapping.header, ImportMapping.question_id)
                           .where(ImportMapping.questionnaire_version_id == round_.questionnaire_version_id))
    return dict(rows.all())


def save_mapping(session: Session, round_: Round, mapping: dict[str, str], now: datetime) -> None:
    """Remember the user's choices (header -> question id, "" to ignore) for the next file. Flushes."""
    existing = {m.header: m for m in session.scalars(select(ImportMapping).where(
        ImportMapping.questionnaire_version_id == round_.questionnaire_version_id))}
    known = {q.id for q in round_.questionnaire_version.parsed.questions}
    for header, question_id in mapping.items():
        if question_id and question_id.partition(":")[0] not in known:  # "qid:code": a split 0/1 column
            continue
        row = existing.get(header)
        if row is None:
            session.add(ImportMapping(questionnaire_version_id=round_.questionnaire_version_id, header=header[:500],
                                      question_id=question_id, updated_at=now))
        else:
            row.question_id, row.updated_at = question_id, now
    session.flush()


def plan_import(session: Session, round_: Round, filename: str, data: bytes, *,
                mapping: dict[str, str] | None = None, unit_column: str | None = None,
                fixed_unit: str | None = None, now: datetime) -> ImportPlan:
    """Read ``data`` and say what importing it into ``round_`` would store.

    ``mapping`` (header -> question id, "" to ignore) adds to the mappings
    saved for the round's questionnaire; ``unit_column`` names the column
    holding each row's community (code or name), ``fixed_unit`` the code
    of one community for the whole file (the questionnaire's own community
    question, when it was matched, comes first).

    :raises ImportRefused: the file cannot be read at all.
    """
    return _plan_table(session, round_, filename, data, _read(filename, data), mapping=mapping,
                       unit_column=unit_column, fixed_unit=fixed_unit, now=now)


def _read(filename: str, data: bytes) -> Table:
    try:
        table = read_table(filename, data)
    except TableReadError as exc:
        raise ImportRefused([str(exc)]) from exc
    if not table.header or not table.rows:
        raise ImportRefused([_("The file has no rows of answers.")])
    return table


def _plan_table(session: Session, round_: Round, filename: str, data: bytes, table: Table, *,
                mapping: dict[str, str] | None, unit_column: str | None, fixed_unit: str | None,
                now: datetime) -> ImportPlan:
    questionnaire = round_.questionnaire_version.parsed
    source = detect_source(table.header)
    saved = {**saved_mapping(session, round_), **(mapping or {})}
    match = match_columns(questionnaire, table.header, saved)
    plan = ImportPlan(round_.id, filename, hashlib.sha256(data).hexdigest(), source, table.header, match)
    communities = _round_communities(round_)
    options = {code: name for code, (_, name) in communities.items()}
    if unit_column:
        if unit_column not in table.header:
            raise ImportRefused([_("There is no column “%(name)s” in the file.", name=unit_column)])
        plan.unit_column = table.header.index(unit_column)
    if fixed_unit and fixed_unit not in communities:
        raise ImportRefused([_("%(code)s is not a community of this round.", code=fixed_unit)])
    unit_question = next((q for q in questionnaire.questions if q.kind.answers_unit), None)
    absent = {q.id for q in questionnaire.questions
              if not match.columns_of(q.id) and (unit_question is None or q.id != unit_question.id)}
    signature = hashlib.sha256("\t".join(table.header).encode()).hexdigest()[:12]
    seen: set[str] = set()
    prefix = f"import:{round_.id}:{signature}:"
    stored_keys = set(session.scalars(select(Response.submission_key).where(
        Response.round_id == round_.id, Response.submission_key.startswith(prefix, autoescape=True))))
    mode_default = {"wjx": "self", "minyi": "self"}.get(source, "paper")
    for index, row in enumerate(table.rows):
        number = table.row_number(index)
        raw, cell_problems = row_answers(questionnaire, match, row)
        for problem in cell_problems:
            plan.problems.append(_("Row %(row)s: %(message)s", row=number, message=problem.message))
        meta = meta_of(source, table.header, row)
        code = None
        if unit_question is not None and raw.get(unit_question.id):
            code = _community_of(raw[unit_question.id][0], communities)
        if code is None and unit_question is not None and unit_question.id in match.columns:
            # The questionnaire's own community question, as the file wrote it (a name or a code).
            column = match.columns[unit_question.id]
            code = _community_of(row[column] if column < len(row) else "", communities)
        if code is None and plan.unit_column is not None:
            code = _community_of(row[plan.unit_column] if plan.unit_column < len(row) else "", communities)
        if code is None and meta.unit_text:
            code = _community_of(meta.unit_text, communities)
        code = code or fixed_unit
        if code is None:
            plan.problems.append(_("Row %(row)s: which community it belongs to is not known; choose the column "
                                   "that names it, or one community for the whole file.", row=number))
            continue
        if unit_question is not None:
            raw[unit_question.id] = [code]
        answer_set = evaluate_answers(questionnaire, raw, community_options=options)
        # A question the file has no column for was not asked there: no answer, not a missing one.
        errors = {qid: error for qid, error in answer_set.errors.items()
                  if not (error.code == "required" and qid in absent)}
        answer_set.errors.clear()
        answer_set.errors.update(errors)
        for qid, error in answer_set.errors.items():
            plan.problems.append(_("Row %(row)s, question “%(question)s”: %(message)s", row=number,
                                   question=questionnaire.question(qid).text.zh, message=answer_error_message(error)))
        if answer_set.errors or cell_problems:
            continue
        row_id = meta.row_id or f"{plan.sha256[:12]}-{number}"
        key = f"import:{round_.id}:{signature}:{row_id}"[:64]
        if key in seen:
            plan.problems.append(_("Row %(row)s: the row id %(id)s appears twice in the file.", row=number,
                                   id=row_id))
            continue
        seen.add(key)
        if key in stored_keys:
            plan.duplicates += 1
            continue
        submitted = _moment(meta.submitted_at, source) or now
        duration = meta.duration_seconds
        # Minyi's own export says how each response was collected and whether it was voided.
        mode = _cell(table.header, row, "mode") if source == "minyi" else ""
        plan.rows.append(PlannedRow(
            number=number, key=key, answers=answer_set, unit_id=communities[code][0], submitted_at=submitted,
            started_at=submitted - timedelta(seconds=duration or 0), duration=duration,
            mode=mode if mode in RESPONSE_MODES else mode_default,
            voided=source == "minyi" and _cell(table.header, row, "voided") == "yes",
        ))
    if len(plan.problems) > MAX_LISTED_PROBLEMS:
        more = len(plan.problems) - MAX_LISTED_PROBLEMS
        plan.problems = plan.problems[:MAX_LISTED_PROBLEMS] + [_("… and %(n)s more problems.", n=more)]
    return plan


def _cell(header: list[str], row: list[str], name: str) -> str:
    index = header.index(name) if name in header else None
    return row[index] if index is not None and index < len(row) else ""


def _moment(value: datetime | None, source: str) -> datetime | None:
    """A time from the file as UTC: Minyi writes UTC with its offset; 问卷星
    and people write Beijing time without one."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return value.replace(tzinfo=UTC if source == "minyi" else BEIJING).astimezone(UTC)


def run_import(session: Session, user: User | None, round_: Round, plan: ImportPlan, now: datetime) -> ResponseImport:
    """Store every planned row, or none: a plan with problems is refused.
    Audited. Flushes; the caller commits.

    :raises ImportRefused: the plan has problems.
    """
    if plan.problems:
        raise ImportRefused(plan.problems)
    record = ResponseImport(round_id=round_.id, source=plan.source, filename=plan.filename[:200],
                            sha256=plan.sha256, stored=0, duplicates=plan.duplicates,
                            user_id=user.id if user else None, created_at=now)
    session.add(record)
    session.flush()
    questionnaire = round_.questionnaire_version.parsed
    rules, least = current_rules(), seconds_by_mode()
    rows = []
    for row in plan.rows:
        seconds = row.duration if row.duration is not None else 0.0
        checks = check_submission(questionnaire, row.answers.answers, seconds, rules,
                                  min_seconds=least.get(row.mode) if row.duration is not None else 0.0)
        values = response_columns(round_, row.answers, checks, mode=row.mode, unit_id=row.unit_id,
                                  submission_key=row.key, started_at=row.started_at,
                                  submitted_at=row.submitted_at, import_id=record.id,
                                  voided_at=None, void_reason=None, voided_by_id=None)
        if row.voided:
            values.update(voided_at=now, void_reason=_("Voided in the file it was imported from."),
                          voided_by_id=user.id if user else None)
        rows.append(values)
    # A concurrent import of an overlapping file may have stored some keys since the plan.
    stored = insert_responses(session, rows)
    record.duplicates += len(rows) - stored
    record.stored = stored
    event = audit.record(session, user, IMPORT_ACTION, f"round:{round_.id}", file=plan.filename[:200],
                         source=plan.source, stored=stored, duplicates=record.duplicates, sha256=plan.sha256)
    event.created_at = now
    if stored:
        from .review import bump_revision

        bump_revision(session, round_.id)
    session.flush()
    return record


# --- the console's import page: an upload waits for its confirmation ---------------------------

#: The largest file the import page takes (the bound ``analysis.tabular`` reads within).
MAX_UPLOAD_BYTES = MAX_TABLE_BYTES
#: Uploads not confirmed are deleted this long after, when a later upload is made.
PENDING_LIFETIME = timedelta(days=1)
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def stash_upload(session: Session, user: User, round_: Round, filename: str, data: bytes,
                 now: datetime) -> PendingImport:
    """Keep an uploaded file until its preview is confirmed: in the database,
    as the preview and the confirmation may reach other workers on other
    machines. Uploads older than ``PENDING_LIFETIME`` (anyone's) are deleted.
    Flushes.

    :raises ImportRefused: the file is too large, empty or cannot be read as a table.
    """
    _read(filename, data)  # refused now, not on the preview
    session.execute(delete(PendingImport).where(PendingImport.created_at < now - PENDING_LIFETIME))
    name = (filename or "").strip()
    pending = PendingImport(token=secrets.token_urlsafe(32), round_id=round_.id, user_id=user.id,
                            filename=name[-200:], data=data, created_at=now)  # the end keeps the extension
    session.add(pending)
    session.flush()
    return pending


def pending_upload(session: Session, user: User, round_: Round, token: str) -> PendingImport | None:
    """The upload ``token`` names, if ``user`` made it for ``round_``; else None."""
    if not token or len(token) > TOKEN_LENGTH:
        return None
    return session.scalar(select(PendingImport).where(
        PendingImport.token == token, PendingImport.round_id == round_.id, PendingImport.user_id == user.id))


@dataclass(frozen=True)
class ColumnChoice:
    """One column of the file as the preview shows it, beside the question it answers."""

    index: int
    header: str
    #: ``qid``, ``qid:code`` (one option's 0/1 column of a multiple choice) or "" (not imported).
    value: str
    #: Neither the saved mappings nor the matching by text placed it.
    unmatched: bool


@dataclass
class ImportPreview:
    plan: ImportPlan
    #: Every column but the source's own (序号, 提交答卷时间 ...) and those without a header.
    columns: list[ColumnChoice]
    #: The user's choices that differ from the saved and automatic match (header -> value):
    #: what confirming saves for the next file.
    choices: dict[str, str]
    #: The column naming each row's community ("" none), and the community of the rest ("" none).
    unit_column: str
    fixed_unit: str


def _column_value(match: ColumnMatch, index: int) -> str:
    qid = match.question_of(index)
    if qid is None:
        return ""
    code = next((c for c, i in match.option_columns.get(qid, {}).items() if i == index), None)
    return f"{qid}:{code}" if code is not None else qid


def round_communities(round_: Round) -> list[tuple[str, str]]:
    """(code, name) of the round's communities: one of them may take every row of a file."""
    return [(code, name) for code, (_id, name) in _round_communities(round_).items()]


def preview_upload(session: Session, round_: Round, pending: PendingImport, *, choices: dict[int, str],
                   unit_column: str = "", fixed_unit: str = "", now: datetime) -> ImportPreview:
    """Plan the import of an upload with the user's choices: ``choices`` maps
    a column's index to a question id, ``qid:code`` or "" (not imported);
    those equal to the saved or automatic match change nothing, values that
    name no question are left out. A question given to another column leaves
    the column that held it. ``unit_column`` is a header, ``fixed_unit`` a
    community's code; either is dropped when the file or the round has none
    such.

    :raises ImportRefused: the file cannot be read.
    """
    table = _read(pending.filename, pending.data)
    questionnaire = round_.questionnaire_version.parsed
    base = match_columns(questionnaire, table.header, saved_mapping(session, round_))
    header = base.header
    allowed = {"", *(q.id for q in questionnaire.questions),
               *(f"{q.id}:{code}" for q in questionnaire.questions if q.kind.multiple for code in q.codes)}
    shown = [i for i, text in enumerate(header) if text and i not in base.meta_columns]
    before = {i: _column_value(base, i) for i in shown}
    explicit = {i: choices[i] for i in shown if choices.get(i, before[i]) != before[i] and choices[i] in allowed}
    moved = {value for value in explicit.values() if value}
    explicit.update({i: "" for i in shown if i not in explicit and before[i] in moved})
    mapping = {header[i]: value for i, value in sorted(explicit.items())}
    unit_column = unit_column if unit_column and unit_column in header else ""
    fixed_unit = fixed_unit if fixed_unit in _round_communities(round_) else ""
    plan = _plan_table(session, round_, pending.filename, pending.data, table, mapping=mapping,
                       unit_column=unit_column or None, fixed_unit=fixed_unit or None, now=now)
    columns = [ColumnChoice(i, header[i], _column_value(plan.match, i), i in plan.match.unmatched_columns)
               for i in shown]
    return ImportPreview(plan, columns, mapping, unit_column, fixed_unit)


def confirm_upload(session: Session, user: User, round_: Round, pending: PendingImport, preview: ImportPreview,
                   now: datetime) -> ResponseImport:
    """Import a previewed upload: every row or none (``run_import``), the
    user's column choices kept for the next file of the questionnaire, the
    upload deleted. Flushes; the caller commits.

    :raises ImportRefused: the plan has problems.
    """
    if preview.plan.problems:
        raise ImportRefused(preview.plan.problems)
    save_mapping(session, round_, preview.choices, now)
    record = run_import(session, user, round_, preview.plan, now)
    # A bulk delete: a second confirmation racing this one deletes nothing, quietly.
    session.execute(delete(PendingImport).where(PendingImport.id == pending.id))
    session.flush()
    return record
