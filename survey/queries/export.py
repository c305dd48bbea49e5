"""Raw response export: one row per response, one column per question.

The export is built column by column: the database takes each answer out of
the response's ``answer_data`` document (SQLite ``json_extract``, PostgreSQL
``->>``), and each column maps its values to text through a table filled once
per distinct value. Answers repeat a lot (a few codes per question), so a
100,000-response round costs one dictionary lookup per cell, in C.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from questions import Question, codebook_rows, export_value
from questions.codebook import neutralize

from ..infrastructure.bulkread import collector_paused
from ..models import Channel, Interviewer, Response, ResponseImport, Round, Unit
from ..usecases import integrity
from ..vocabulary import STATUS_COMPLETE
from .fieldwork import excluded_interviewers

FIXED_COLUMNS = [
    "response_id", "unit_code", "unit_name", "channel_id", "channel_site",
    "started_at", "submitted_at", "duration_seconds", "status", "screened_out_by", "quality_flags",
    "voided", "mode", "interviewer", "counted", "imported_from",
]


@dataclass(frozen=True)
class ResponseTable:
    """The raw export held by column: ``columns[i][r]`` is the text of column
    ``header[i]`` for the r-th response (in submission order)."""

    header: list[str]
    columns: list[list[str]]

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[str]]) -> ResponseTable:
        """A table from rows, the first one the header."""
        header, *body = [list(row) for row in rows]
        return cls(header, [list(column) for column in zip(*body)] if body else [[] for _ in header])

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def rows(self) -> Iterator[tuple[str, ...]]:
        return zip(*self.columns)

    def column(self, name: str) -> list[str]:
        return self.columns[self.header.index(name)]


class _Memo(dict):
    """value -> fn(value), each distinct value computed once."""

    def __init__(self, fn: Callable[[Hashable], str]):
        super().__init__()
        self.fn = fn

    def __missing__(self, value):
        found = self[value] = self.fn(value)
        return found


def _mapped(values: Sequence, fn: Callable[[Hashable], str]) -> list[str]:
    return list(map(_Memo(fn).__getitem__, values))


def _answer_text(question: Question, raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):  # a list, or a number on PostgreSQL, arrives as JSON text
        raw = question.kind.from_json_text(question, raw)
    return export_value(question, raw)  # neutralises typed text itself


def _flags_text(raw: str | None) -> str:
    return ";".join(json.loads(raw) or []) if raw else ""


def _yes_no(value: object) -> str:
    return "yes" if value else "no"


@collector_paused()
def response_table(session: Session, round_: Round) -> ResponseTable:
    """The round's responses in submission (id) order."""
    integrity.ensure_current(session, round_)
    questions = round_.questionnaire_version.parsed.questions
    units = {u.id: (u.code, neutralize(u.name)) for u in session.scalars(select(Unit))}
    sites = dict(session.execute(select(Channel.id, Channel.site).where(Channel.round_id == round_.id)).all())
    interviewers = {i.id: neutralize(i.label) for i in session.scalars(
        select(Interviewer).where(Interviewer.round_id == round_.id))}
    left_out_interviewers = set(excluded_interviewers(session, round_))
    imports = {i.id: neutralize(i.filename) for i in session.scalars(
        select(ResponseImport).where(ResponseImport.round_id == round_.id))}
    left_out_flags = set(round_.excluded_flags or [])
    read = [Response.id, Response.unit_id, Response.channel_id, Response.started_at, Response.submitted_at,
            Response.status, Response.screened_out_by, cast(Response.quality_flags, Text),
            Response.voided_at.is_not(None), Response.mode, Response.interviewer_id, Response.import_id,
            *(Response.answer_data[q.id].as_string() for q in questions)]
    # Core execution on the connection: ORM result processing would double the time.
    result = session.connection().execute(
        select(*read).where(Response.round_id == round_.id).order_by(Response.id)).all()
    raw = list(zip(*result)) if result else [()] * len(read)
    ids, unit_ids, channel_ids, started, submitted, status, screened_by, flags, voided, modes, by, imported, \
        *answers = raw
    columns = [
        [str(i) for i in ids],
        _mapped(unit_ids, lambda u: units[u][0]),
        _mapped(unit_ids, lambda u: units[u][1]),
        _mapped(channel_ids, lambda c: "" if c is None else str(c)),
        _mapped(channel_ids, lambda c: neutralize(sites.get(c) or "")),
        [t.isoformat() for t in started],
        [t.isoformat() for t in submitted],
        [f"{(end - start).total_seconds():.1f}" for start, end in zip(started, submitted)],
        _mapped(status, str),
        _mapped(screened_by, lambda s: s or ""),
        _mapped(flags, _flags_text),
        _mapped(voided, _yes_no),  # voided on review: no rate counts it
        _mapped(modes, str),  # self, interviewer or paper
        _mapped(by, lambda i: "" if i is None else interviewers.get(i, str(i))),
        # Whether the round's results count it: complete, not voided, no flag the
        # round leaves out, its interviewer not left out.
        [_yes_no(s == STATUS_COMPLETE and not v and i not in left_out_interviewers
                 and not (left_out_flags and left_out_flags & set(json.loads(f) if f else [])))
         for s, v, i, f in zip(status, voided, by, flags)],
        _mapped(imported, lambda i: "" if i is None else imports.get(i, "")),  # the file it came from
        *(_mapped(values, partial(_answer_text, q)) for q, values in zip(questions, answers)),
    ]
    return ResponseTable(FIXED_COLUMNS + [q.column for q in questions], columns)


def write_responses_csv(session: Session, round_: Round, out: IO[str]) -> int:
    """Write the export; return the number of responses written."""
    table = response_table(session, round_)
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows(table.rows())
    return len(table)


def write_codebook_csv(round_: Round, out: IO[str]) -> None:
    rows = codebook_rows(round_.questionnaire_version.parsed)
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else ["column"])
    writer.writeheader()
    writer.writerows(rows)
