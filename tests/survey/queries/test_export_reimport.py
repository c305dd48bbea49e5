"""Minyi's own CSV export reads back, through analysis.tabular and
questions.imports, to exactly the answers the database holds."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from analysis.tabular import read_table
from questions import evaluate_answers
from questions.imports import MINYI_FIXED_COLUMNS, match_columns, meta_of, row_answers
from survey.extensions import db
from survey.models import Response, Unit
from survey.queries.export import FIXED_COLUMNS, write_responses_csv
from tests.factories import demo_round, submit_responses


def test_the_importers_fixed_columns_are_the_exporters():
    assert list(MINYI_FIXED_COLUMNS) == FIXED_COLUMNS


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_export_reads_back_to_the_stored_answers(app, encoding):
    round_ = demo_round()
    submit_responses(round_, 60, seed=11, screened_share=0.2)
    out = io.StringIO()
    assert write_responses_csv(db.session, round_, out) == 60
    table = read_table("responses.csv", out.getvalue().encode(encoding))
    questionnaire = round_.questionnaire_version.parsed
    match = match_columns(questionnaire, table.header)
    assert match.source == "minyi"
    assert match.unmatched_columns == [] and match.unmatched_questions == []

    communities = {u.code: u.name for u in db.session.scalars(select(Unit))}
    stored = {str(r.id): r for r in db.session.scalars(select(Response).where(Response.round_id == round_.id))}
    screened = 0
    for row in table.rows:
        meta = meta_of(match.source, table.header, row)
        response = stored[meta.row_id]
        raw, problems = row_answers(questionnaire, match, row)
        assert problems == []
        result = evaluate_answers(questionnaire, raw, communities)
        assert result.is_valid
        assert result.answers == response.answer_data
        assert result.screened_out_by == response.screened_out_by
        screened += result.screened_out
        assert meta.submitted_at == response.submitted_at.replace(tzinfo=None)  # UTC, as exported
        assert meta.duration_seconds == pytest.approx(response.duration_seconds, abs=0.05)
        assert meta.unit_text == response.unit.code
    assert len(table.rows) == len(stored) == 60
    assert screened > 0
