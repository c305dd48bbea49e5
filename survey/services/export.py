"""Raw response export: one row per response, one column per question."""

from __future__ import annotations

import csv
import json
from typing import IO, Iterator

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from questions import codebook_rows, export_value

from ..models import Channel, Response, Round, Unit

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

    Reads each response's ``answer_data`` document (one row per response) with
    Core, so a 100,000-response round is exported without ORM objects."""
    questions = round_.questionnaire_version.parsed.questions
    yield FIXED_COLUMNS + [q.column for q in questions]
    units = {u.id: (u.code, neutralize(u.name)) for u in session.scalars(select(Unit))}
    sites = dict(session.execute(select(Channel.id, Channel.site).where(Channel.round_id == round_.id)).all())
    # Core execution on the connection: ORM result processing would double the time.
    responses = session.connection().execute(
        select(Response.id, Response.unit_id, Response.channel_id, Response.started_at, Response.submitted_at,
               Response.status, Response.screened_out_by, Response.quality_flags, cast(Response.answer_data, Text))
        .where(Response.round_id == round_.id)
        .order_by(Response.id)
        .execution_options(yield_per=2000)
    )
    cells: dict[tuple[str, object], str] = {}  # answers repeat a lot: format each once

    def cell(q, value) -> str:
        if q.type == "text" or isinstance(value, list):
            text = export_value(q, value)
            return neutralize(text) if q.type == "text" else text
        key = (q.id, value)
        found = cells.get(key)
        if found is None:
            found = cells[key] = export_value(q, value)
        return found

    for rid, unit_id, channel_id, started, submitted, status, screened_by, flags, data in responses:
        answers = json.loads(data) if data else {}
        code, name = units[unit_id]
        yield [
            str(rid), code, name, str(channel_id), neutralize(sites.get(channel_id, "")),
            started.isoformat(), submitted.isoformat(), f"{(submitted - started).total_seconds():.1f}",
            status, screened_by or "", ";".join(flags or []),
            *(cell(q, answers[q.id]) if q.id in answers else "" for q in questions),
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
