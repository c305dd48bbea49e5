"""Raw response export: one row per response, one column per question."""

from __future__ import annotations

import csv
import json
from typing import IO, Iterator

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from questions import codebook_rows, export_value

from ..models import Answer, Channel, Response, Round, Unit

FIXED_COLUMNS = [
    "response_id", "unit_code", "unit_name", "channel_id", "channel_site",
    "started_at", "submitted_at", "duration_seconds", "status", "screened_out_by", "quality_flags",
]
# Spreadsheet programs run a cell starting with these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """Make typed text inert in spreadsheets (CSV/formula injection)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def response_rows(session: Session, round_: Round) -> Iterator[list[str]]:
    """The header row, then one row per response in submission (id) order.

    Streams two ordered queries (responses, answers) and merges them, so a
    100,000-response round is exported without loading ORM objects."""
    questions = round_.questionnaire_version.parsed.questions
    yield FIXED_COLUMNS + [q.column for q in questions]
    units = {u.id: (u.code, neutralize(u.name)) for u in session.scalars(select(Unit))}
    sites = dict(session.execute(select(Channel.id, Channel.site).where(Channel.round_id == round_.id)).all())
    # Core execution on the connection: ORM result processing would double the time.
    connection = session.connection()
    responses = connection.execute(
        select(Response.id, Response.unit_id, Response.channel_id, Response.started_at, Response.submitted_at,
               Response.status, Response.screened_out_by, Response.quality_flags)
        .where(Response.round_id == round_.id)
        .order_by(Response.id)
        .execution_options(yield_per=2000)
    )
    first, last = connection.execute(
        select(func.min(Response.id), func.max(Response.id)).where(Response.round_id == round_.id)).one()
    # An id range instead of a join (the answers index serves it); answers of
    # other rounds' responses in the range are passed over by the merge below.
    answers = iter(connection.execute(
        select(Answer.response_id, Answer.question_id, cast(Answer.value, Text))
        .where(Answer.response_id.between(first or 0, last or 0))
        .order_by(Answer.response_id)
        .execution_options(yield_per=20000)
    ))
    by_id = {q.id: q for q in questions}
    cells: dict[tuple[str, str], str] = {}  # (question, stored JSON) -> cell; answers repeat a lot

    def cell(question_id: str, raw: str) -> str:
        key = (question_id, raw)
        found = cells.get(key)
        if found is None:
            q = by_id[question_id]
            found = export_value(q, json.loads(raw))
            if q.type == "text":
                found = neutralize(found)
            elif len(cells) < 100_000:
                cells[key] = found
        return found

    pending = next(answers, None)
    for rid, unit_id, channel_id, started, submitted, status, screened_by, flags in responses:
        given: dict[str, str] = {}
        while pending is not None and pending[0] <= rid:
            if pending[0] == rid and pending[1] in by_id:
                given[pending[1]] = cell(pending[1], pending[2])
            pending = next(answers, None)
        code, name = units[unit_id]
        yield [
            str(rid), code, name, str(channel_id), neutralize(sites.get(channel_id, "")),
            started.isoformat(), submitted.isoformat(), f"{(submitted - started).total_seconds():.1f}",
            status, screened_by or "", ";".join(flags or []),
            *(given.get(q.id, "") for q in questions),
        ]


def write_responses_csv(session: Session, round_: Round, out: IO[str]) -> int:
    """Write the export; return the number of responses written."""
    writer = csv.writer(out)
    count = -1
    for count, row in enumerate(response_rows(session, round_)):
        writer.writerow(row)
    return count


def write_codebook_csv(round_: Round, out: IO[str]) -> None:
    rows = codebook_rows(round_.questionnaire_version.parsed)
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else ["column"])
    writer.writeheader()
    writer.writerows(rows)
