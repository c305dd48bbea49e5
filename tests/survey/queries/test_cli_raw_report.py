"""``python -m analysis rates`` on a round's own export gives the results
page's numbers: the same n and rate, overall and per community, of every
indicator (a round without population figures, so both are unweighted)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Response
from survey.models.types import utcnow
from survey.queries.export import write_responses_csv
from survey.queries.reporting import round_report
from survey.usecases import review
from tests.analysis.test_cli import run  # the CLI in this process
from tests.factories import demo_round, submit_responses
from tests.survey.consolekit import make_user


def test_the_cli_on_a_rounds_export_gives_the_reports_rates(app, tmp_path):
    round_ = demo_round()
    submit_responses(round_, 90, seed=7, screened_share=0.15)
    # Two responses voided on review: the export says so, and neither count.
    reviewer = make_user("reviewer")
    for response in db.session.scalars(select(Response).where(Response.round_id == round_.id,
                                                               Response.status == "complete")
                                       .order_by(Response.id).limit(2)):
        review.void_response(db.session, response, reviewer, "代填", utcnow())
    db.session.commit()

    path = tmp_path / "responses.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        write_responses_csv(db.session, round_, fh)
    r = run("rates", path, "--questionnaire", "standard", "--by", "unit_code", "--format", "json")
    assert r.returncode == 0, r.stderr
    cli = {(row["indicator"], row["domain"]): row for row in json.loads(r.stdout)}
    assert "2 voided" in r.stderr and "screened out" in r.stderr

    report, _ = round_report(db.session, round_)
    assert report.methodology.weighting == "unweighted"
    rates = [x for x in (*report.overall, *report.by_unit) if x.kind == "rate"]
    assert {x.key for x in rates} >= {"awareness", "satisfaction_sanitation"}
    for x in rates:
        mine = cli[(x.key, x.domain)]
        assert (mine["n"], mine["estimate"]) == (x.n, pytest.approx(x.rate)), (x.key, x.domain)
    aware = cli[("awareness", None)]
    assert aware["n"] == next(x.n for x in report.overall if x.key == "awareness") > 50
    # Every (indicator, community) the CLI gives, the report gives too.
    assert set(cli) == {(x.key, x.domain) for x in rates}

    # The README's example, word for word, on this export.
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    line = next(line.strip() for line in readme.splitlines() if "--questionnaire standard" in line)
    words = shlex.split(line)
    assert words[:4] == ["python", "-m", "analysis", "rates"] and words[4] == "responses.csv"
    r = run(*words[3:4], path, *words[5:])
    assert r.returncode == 0, r.stderr
    overall = next(line.split() for line in r.stdout.splitlines() if line.split()[:2] == ["awareness", "(all)"])
    assert overall[2:4] == [str(aware["n"]), f"{aware['estimate']:.1%}"]
