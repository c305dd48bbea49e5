"""Raw response export: one row per response, one column per question."""

from __future__ import annotations

import csv
from typing import IO, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from questions import codebook_rows, export_value

from ..models import Response, Round

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
    """The header row, then one row per response in submission order."""
    questions = round_.questionnaire_version.parsed.questions
    yield FIXED_COLUMNS + [q.column for q in questions]
    query = (
        select(Response)
        .where(Response.round_id == round_.id)
        .options(selectinload(Response.answers), selectinload(Response.unit), selectinload(Response.channel))
        .order_by(Response.submitted_at, Response.id)
        .execution_options(yield_per=1000)
    )
    for response in session.scalars(query):
        answers = {a.question_id: a.value for a in response.answers}
        row = [
            str(response.id), response.unit.code, neutralize(response.unit.name),
            str(response.channel_id), neutralize(response.channel.site),
            response.started_at.isoformat(), response.submitted_at.isoformat(),
            f"{response.duration_seconds:.1f}", response.status, response.screened_out_by or "",
            ";".join(response.quality_flags or []),
        ]
        for q in questions:
            value = export_value(q, answers[q.id]) if q.id in answers else ""
            row.append(neutralize(value) if q.type == "text" else value)
        yield row


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
