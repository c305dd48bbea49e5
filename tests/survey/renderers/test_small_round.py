"""One truth on a drill-sized round: the results page, the PDF, the workbook,
the JSON API and ``python -m analysis`` (run on the CSV export, as an analyst
would) show the same numbers and verdicts, and twenty interviews read as
honestly uncertain everywhere."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from analysis.cli import main as analysis_main
from questions import indicator_value
from survey.extensions import db
from survey.models import PopulationCell, Round, Unit, User
from survey.models.types import utcnow
from survey.queries import reporting
from survey.queries.export import write_responses_csv
from survey.usecases import api_tokens
from survey.usecases.demo import load_demo_population
from survey.usecases.round_setup import add_channels, create_round
from tests.factories import demo_round, submit_responses

VERDICT_WORDS = {"pass": "达标", "fail": "未达标", "undecided": "待定", "insufficient": "样本不足"}


@pytest.fixture
def rounds(app):
    """The demo round with 300 responses, and a second drill with 20."""
    big = demo_round()
    load_demo_population(db.session)
    db.session.commit()
    submit_responses(big, 300, seed=7)
    small = create_round(db.session, name="第二次模拟测评", kind="drill", questionnaire_version=big.questionnaire_version,
                         unit=big.unit, opens_at=utcnow() - timedelta(minutes=5), closes_at=utcnow() + timedelta(days=3))
    add_channels(db.session, small, [c.unit for c in big.channels])
    db.session.commit()
    submit_responses(small, 20, seed=11)
    return big, small


def _login(client):
    user = User(username="admin", role="admin")
    user.set_password("correct-horse")
    db.session.add(user)
    db.session.commit()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/console/login", data={"csrf_token": token, "username": "admin",
                                                "password": "correct-horse"}).status_code == 302
    return user


def _api_rows(client, user, round_id):
    token = api_tokens.create_token(db.session, user, "统计系统", user)
    db.session.commit()
    reply = client.get(f"/api/v1/rounds/{round_id}/results?by=unit", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    body = reply.get_json()
    return body, {(r["indicator"], r["domain"]): r for r in body["results"] if r["kind"] == "rate"}


def _cli_rows(round_: Round, tmp_path) -> dict:
    """``python -m analysis rates`` on the CSV export, coded 0/1 with the questionnaire."""
    out = io.StringIO()
    write_responses_csv(db.session, round_, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    questionnaire = round_.questionnaire_version.parsed
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    used = [r for r in rows if r["status"] == "complete" and "too_fast" not in r["quality_flags"]]
    indicators = {q.indicator: q for q in questionnaire.counted_questions}
    data = tmp_path / "responses.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["street", "unit", "gender", "age_group", *indicators])
        for r in used:
            coded = [indicator_value(q, r[q.column]) if r[q.column] else None for q in indicators.values()]
            w.writerow([units[r["unit_code"]].parent.code, r["unit_code"], r["gender"], r["age_group"],
                        *["" if v is None else int(v) for v in coded]])
    population: dict[tuple, float] = {}
    for cell in db.session.scalars(select(PopulationCell)):
        key = (cell.unit.parent.code, cell.gender, cell.age_group)
        population[key] = population.get(key, 0) + cell.population
    cells = tmp_path / "cells.csv"
    with cells.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["street", "gender", "age_group", "population"])
        w.writerows([*key, count] for key, count in sorted(population.items()))
    targets = round_.effective_targets()
    found = {}
    for key in indicators:
        args = ["rates", str(data), "--indicator", key, "--by", "unit", "--strata", "street",
                "--lonely-psu", "adjust", "--poststratify", str(cells), "--target", str(targets[key]),
                "--min-cell", str(round_.min_weighting_cell), "--min-n", str(round_.min_verdict_respondents),
                "--format", "json"]
        buffer = io.StringIO()
        from contextlib import redirect_stdout

        with redirect_stdout(buffer):
            assert analysis_main(args) == 0
        for row in json.loads(buffer.getvalue()):
            found[(row["indicator"], row["domain"])] = row
    return found


def _page_rows(html: str) -> dict:
    rows = {}
    for key, domain, row in re.findall(r'<tr data-indicator="([^"]+)" data-domain="([^"]*)">(.*?)</tr>', html, re.S):
        rows[(key, domain or None)] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return rows


def test_twenty_interviews_say_the_same_thing_everywhere(app, client, rounds, tmp_path):
    big, small = rounds
    user = _login(client)
    body, api = _api_rows(client, user, small.id)
    used = body["methodology"]["used"]
    assert 12 <= used <= 20

    # python -m analysis, on the export: the same numbers and verdicts
    cli = _cli_rows(small, tmp_path)
    assert set(cli) == set(api)
    for key, row in api.items():
        other = cli[key]
        assert other["n"] == row["n"], key
        for field in ("estimate", "se", "ci_low", "ci_high"):
            assert other[field] == pytest.approx(row[field], abs=1e-12), (key, field)
        assert other["verdict"] == row["verdict"], key
        more = row["more_needed"]
        assert other["more_needed"] == (f">{more}" if row["more_needed_exceeds"] else more), key

    # honest at this size: no unit of a few answers gets a verdict, nothing claims more than its answers
    for (_indicator, domain), row in api.items():
        assert row["n_eff"] is None or row["n_eff"] <= row["n"] + 1e-9
        if domain is not None:
            assert row["verdict"] == "insufficient" and row["verdict_reason"] == "few_respondents"
        if row["more_needed"] is not None:
            assert row["more_needed"] <= 1000
    overall = [row for (_, domain), row in api.items() if domain is None]
    assert all(row["verdict"] != "undecided" or row["n_eff"] >= 30 for row in overall)

    # the results page
    html = client.get(f"/console/rounds/{small.id}/results").get_data(as_text=True)
    page = _page_rows(html)
    for (key, domain), row in api.items():
        cells = page[(key, domain)]
        offset = 0 if domain is None else 1
        assert cells[offset + 1] == f"{100 * row['estimate']:.1f}%"
        assert cells[offset + 2].startswith(f"{100 * row['ci_low']:.1f}% – {100 * row['ci_high']:.1f}%")
        assert cells[offset + 4].startswith(VERDICT_WORDS[row["verdict"]])
    assert "100501" not in html and "样本不足" in html
    assert "未加权" in html or "分别校准" in html  # twenty answers cannot carry street x gender x age cells

    # the PDF: each overall row's rate, interval and verdict on one line
    pdf = client.get(f"/console/rounds/{small.id}/report.pdf")
    assert pdf.status_code == 200
    (tmp_path / "r.pdf").write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    for row in overall:
        rate, interval = f"{100 * row['estimate']:.1f}%", f"{100 * row['ci_low']:.1f}%–{100 * row['ci_high']:.1f}%"
        assert any(row["name"] in ln and rate in ln and interval in ln and VERDICT_WORDS[row["verdict"]] in ln
                   for ln in text.splitlines()), row["name"]
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", body["methodology"]["weighting_text"])[:40] in flat
    assert "样本不足" in flat

    # the workbook
    book = load_workbook(io.BytesIO(client.get(f"/console/rounds/{small.id}/results.xlsx").data), read_only=True)
    summary = {r[0]: r for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    units = {(r[3], r[1]): r for r in book["分单位"].iter_rows(min_row=2, values_only=True)}
    for (key, domain), row in api.items():
        cells, offset = (summary[key], 3) if domain is None else (units[(key, domain)], 5)
        assert cells[offset] == pytest.approx(row["estimate"], abs=1e-12)
        assert (cells[offset + 1], cells[offset + 2]) == pytest.approx((row["ci_low"], row["ci_high"]), abs=1e-12)
        assert cells[offset + 4] == VERDICT_WORDS[row["verdict"]]
        assert not re.search(r"[A-Za-z]{3,}", cells[-1] or ""), cells[-1]  # 区间说明 in words, not codes
    book.close()


def test_units_of_a_few_answers_are_unjudged_not_weak(app, client, rounds):
    big, small = rounds
    report, _ = reporting.round_report(db.session, small)
    assert all(w.domain is None for w in report.weak_items)  # no community is shown weak on 1-3 answers
    assert {r.verdict for r in report.by_unit if r.target is not None} == {"insufficient"}
    _login(client)
    html = client.get(f"/console/rounds/{small.id}/results").get_data(as_text=True)
    weak = html[html.index('id="weak-items"'):html.index('id="methodology"')]
    assert "各项指标均已达标" not in weak and "Every indicator reaches" not in weak


def test_change_since_the_big_round_never_leaves_its_range(app, rounds):
    big, small = rounds
    report, _ = reporting.round_report(db.session, small, reporting.ReportOptions(compare_to=big.id))
    assert report.changes
    units = {r.domain: r.n for r in report.by_unit}
    assert all(change.domain is None or units[change.domain] >= 12 for change in report.changes)
    for change in report.changes:
        d = change.difference
        assert -1.0 <= d.low <= d.difference <= d.high <= 1.0
        assert change.significant == (d.p_value < 0.05)


def test_verdict_minimum_is_set_per_round(app, client, rounds):
    big, small = rounds
    _login(client)
    page = client.get(f"/console/rounds/{small.id}/setup").get_data(as_text=True)
    assert page.count('id="statistics"') == 1
    assert "<form" not in page[page.index("<title>"):page.index("</title>")]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    url = f"/console/rounds/{small.id}/statistics"
    bad = client.post(url, data={"csrf_token": token, "min_verdict_respondents": "0", "min_weighting_cell": "x"})
    assert bad.status_code == 422 and "1 到 1000" in bad.get_data(as_text=True)
    db.session.refresh(small)
    assert (small.min_verdict_respondents, small.min_weighting_cell) == (12, 20)
    ok = client.post(url, data={"csrf_token": token, "min_verdict_respondents": "3", "min_weighting_cell": "5"})
    assert ok.status_code == 302
    db.session.refresh(small)
    assert (small.min_verdict_respondents, small.min_weighting_cell) == (3, 5)
    report, _ = reporting.round_report(db.session, small)
    assert report.methodology.verdict_rule.min_n == 3
    assert not any(r.verdict_reason == "few_respondents" and r.n >= 3 for r in report.by_unit)


def test_every_interval_note_has_chinese_words():
    from analysis import intervals
    from survey.renderers.report_words import CI_NOTE_WORDS, ci_note_words

    notes = [v for k, v in vars(intervals).items() if k.endswith("_NOTE") and isinstance(v, str)]
    notes += ["no respondents", "index: t interval on the mean score",
              "variance 0 (one score, or one PSU): zero width"]
    assert len(notes) >= 6
    for note in notes:
        assert note in CI_NOTE_WORDS, note
        assert not re.search(r"[A-Za-z]{3,}", ci_note_words(note)), note


def test_a_staff_members_pdf_counts_only_their_units(app, rounds):
    """The cover and the methods of a street's PDF count the street's responses,
    never the whole round's (as the results page does)."""
    from pypdf import PdfReader

    from survey.models import Response
    from tests.survey.consolekit import login, make_user, new_client

    big, _ = rounds
    street = db.session.scalar(select(Unit).where(Unit.code == "D01-S01"))
    subtree = {street.id, *(u.id for u in street.descendants())}
    statuses = [s for s, u in db.session.execute(select(Response.status, Response.unit_id)
                                                 .where(Response.round_id == big.id)) if u in subtree]
    make_user("street_staff", "staff", street)
    client = new_client(app)
    login(client, "street_staff")
    reply = client.get(f"/console/rounds/{big.id}/report.pdf")
    assert reply.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(reply.data)).pages)
    text = re.sub(r"\s+", "", text)
    used = statuses.count("complete")  # no quality flag is left out in this round
    assert f"本单位有效答卷：{used}份（共收到{len(statuses)}份）" in text
    assert "共收到300份" not in text and len(statuses) < 300
