"""Results on screen and in the API agree with analysis/ called directly on
the exported responses (an independent path through the data)."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from sqlalchemy import select

from analysis import SurveyDesign, estimate_rates
from analysis.calibration import calibrate
from analysis.targets import VerdictRule, target_verdict
from questions import indicator_value
from survey.extensions import db
from survey.models import ApiToken, PopulationCell, Unit, User
from survey.queries.export import write_responses_csv
from survey.usecases import api_tokens
from survey.usecases.demo import load_demo_population
from tests.factories import demo_round, submit_responses

RESPONSES = 300


@pytest.fixture
def round_(app):
    r = demo_round()
    load_demo_population(db.session)
    db.session.commit()
    submit_responses(r, RESPONSES, seed=7)
    return r


def _user(username, role="admin", unit=None, password="correct-horse") -> User:
    user = User(username=username, role=role, unit=unit)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def _login(client, username, password="correct-horse"):
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/console/login", data={"csrf_token": token, "username": username,
                                                "password": password}).status_code == 302


def expected_by_unit(round_) -> dict[tuple[str, str | None], dict]:
    """Rates computed from the CSV export with analysis/ directly."""
    out = io.StringIO()
    write_responses_csv(db.session, round_, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    questionnaire = round_.questionnaire_version.parsed
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    street = np.array([units[r["unit_code"]].parent.code for r in rows])
    unit = np.array([r["unit_code"] for r in rows])
    excluded = np.array([r["status"] != "complete" or "too_fast" in r["quality_flags"] for r in rows])
    values = {}
    for q in questionnaire.counted_questions:
        col = [indicator_value(q, r[q.column]) if r[q.column] else None for r in rows]
        values[q.indicator] = np.array([np.nan if v is None else v for v in col], dtype=float)
    population: dict[tuple, float] = {}
    for cell in db.session.scalars(select(PopulationCell)):
        key = (cell.unit.parent.code, cell.gender, cell.age_group)
        population[key] = population.get(key, 0) + cell.population
    design = SurveyDesign(strata=street, excluded=excluded, lonely_psu="adjust")
    design, _ = calibrate(
        design,
        {"street": street, "gender": np.array([r["gender"] for r in rows]),
         "age_group": np.array([r["age_group"] for r in rows])},
        [({"street": s, "gender": g, "age_group": a}, n) for (s, g, a), n in sorted(population.items())],
        min_cell=round_.min_weighting_cell,
    )
    rule = VerdictRule(min_n=round_.min_verdict_respondents)
    targets = round_.effective_targets()
    expected = {}
    for est in estimate_rates(design, values) + estimate_rates(design, values, by=unit):
        interval = est.ci(level=0.95, method="korn-graubard")
        verdict = target_verdict(est, targets[est.indicator], level=0.95, method="korn-graubard",
                                 rule=rule).verdict
        expected[(est.indicator, est.domain)] = {
            "n": est.n, "estimate": est.estimate, "se": est.se, "ci_low": interval.low,
            "ci_high": interval.high, "verdict": verdict,
        }
    return expected


def test_api_results_agree_with_analysis(app, client, round_):
    admin = _user("admin")
    token = api_tokens.create_token(db.session, admin, "统计系统", admin)
    db.session.commit()
    reply = client.get(f"/api/v1/rounds/{round_.id}/results?by=unit", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body = reply.get_json()
    assert body["methodology"]["weighting"] == "poststratified"
    assert body["methodology"]["responses"] == RESPONSES
    expected = expected_by_unit(round_)
    rates = [r for r in body["results"] if r["kind"] == "rate"]
    assert {(r["indicator"], r["domain"]) for r in rates} == set(expected)
    for row in rates:
        want = expected[(row["indicator"], row["domain"])]
        assert row["n"] == want["n"]
        assert row["estimate"] == pytest.approx(want["estimate"], abs=1e-12)
        assert row["se"] == pytest.approx(want["se"], abs=1e-12)
        assert row["ci_low"] == pytest.approx(want["ci_low"], abs=1e-12)
        assert row["ci_high"] == pytest.approx(want["ci_high"], abs=1e-12)
        assert row["verdict"] == want["verdict"]
        assert set(row) >= {"indicator", "domain", "n", "estimate", "se", "ci_low", "ci_high", "method",
                            "level", "deff", "n_eff", "target", "verdict"}


def test_api_needs_a_valid_token(app, client, round_):
    url = f"/api/v1/rounds/{round_.id}/results"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    admin = _user("admin")
    token = api_tokens.create_token(db.session, admin, "x", admin)
    db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(url, headers=auth).status_code == 200
    assert client.get(url + "?by=planet", headers=auth).status_code == 400
    assert client.get("/api/v1/rounds/9999/results", headers=auth).status_code == 404
    api_tokens.revoke_token(db.session, db.session.scalars(select(ApiToken)).one().id, admin)
    db.session.commit()
    assert client.get(url, headers=auth).status_code == 401


def test_staff_token_sees_only_its_units(app, client, round_):
    street = round_.channels[0].unit.parent
    staff = _user("jiedao", role="staff", unit=street)
    token = api_tokens.create_token(db.session, staff, "street system", None)
    db.session.commit()
    body = client.get(f"/api/v1/rounds/{round_.id}/results?by=unit",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    mine = {street.code, *(u.code for u in street.descendants())}
    assert body["results"] and {r["domain"] for r in body["results"]} <= mine


def _page_cells(html: str) -> dict[tuple[str, str], list[str]]:
    cells = {}
    for key, domain, row in re.findall(r'<tr data-indicator="([^"]+)" data-domain="([^"]*)">(.*?)</tr>', html, re.S):
        cells[(key, domain or None)] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return cells


def test_results_page_shows_the_same_numbers(app, client, round_):
    _user("admin")
    _login(client, "admin")
    reply = client.get(f"/console/rounds/{round_.id}/results")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    cells = _page_cells(html)
    expected = expected_by_unit(round_)
    verdict_words = {"pass": "达标", "fail": "未达标", "undecided": "待定", "insufficient": "样本不足"}
    checked = 0
    for (key, domain), want in expected.items():
        row = cells[(key, domain)]
        offset = 0 if domain is None else 1
        assert row[offset + 1] == f"{100 * want['estimate']:.1f}%"
        assert row[offset + 2].startswith(f"{100 * want['ci_low']:.1f}% – {100 * want['ci_high']:.1f}%")
        assert row[offset + 4].startswith(verdict_words[want["verdict"]])
        assert row[offset + 5] == str(want["n"])
        checked += 1
    assert checked == len(expected) > 50
    assert "加权" in html  # the methodology says how it was weighted


def test_staff_sees_own_unit_results_only(app, client, round_):
    community = round_.channels[0].unit
    other = next(c.unit for c in round_.channels if c.unit.parent_id != community.parent_id)
    _user("shequ", role="staff", unit=community)
    _login(client, "shequ")
    page = client.get(f"/console/rounds/{round_.id}/results")
    assert page.status_code == 200
    cells = _page_cells(page.get_data(as_text=True))
    assert {d for _, d in cells} == {community.code}
    assert client.get(f"/console/rounds/{round_.id}/results?unit={other.code}").status_code == 404
    assert client.get(f"/console/rounds/{round_.id}/results.xlsx").status_code == 403
    assert client.get(f"/console/rounds/{round_.id}/responses.csv").status_code == 403


def test_bad_options_are_refused(app, client, round_):
    _user("admin")
    _login(client, "admin")
    assert client.get(f"/console/rounds/{round_.id}/results?ci=guess").status_code == 400
    assert client.get(f"/console/rounds/{round_.id}/results?compare={round_.id}").status_code == 400
    assert client.get(f"/console/rounds/{round_.id}/results?level=2").status_code == 400


def test_pdf_and_workbook_agree_with_analysis(app, client, round_, tmp_path):
    import subprocess

    from openpyxl import load_workbook

    _user("admin")
    _login(client, "admin")
    expected = expected_by_unit(round_)

    pdf = client.get(f"/console/rounds/{round_.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    (tmp_path / "report.pdf").write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    questionnaire = round_.questionnaire_version.parsed
    for indicator, spec in questionnaire.indicators.items():
        want = expected[(indicator, None)]
        rate = f"{100 * want['estimate']:.1f}%"
        interval = f"{100 * want['ci_low']:.1f}%–{100 * want['ci_high']:.1f}%"
        assert any(spec.name.zh in ln and rate in ln and interval in ln for ln in lines), (spec.name.zh, rate, interval)

    book = client.get(f"/console/rounds/{round_.id}/results.xlsx")
    assert book.status_code == 200
    workbook = load_workbook(io.BytesIO(book.data), read_only=True)
    summary = {row[0]: row for row in workbook["汇总"].iter_rows(min_row=2, values_only=True)}
    by_unit = {(row[3], row[1]): row for row in workbook["分单位"].iter_rows(min_row=2, values_only=True)}
    for (indicator, domain), want in expected.items():
        row = summary[indicator] if domain is None else by_unit[(indicator, domain)]
        offset = 3 if domain is None else 5
        assert row[offset] == pytest.approx(want["estimate"], abs=1e-12)
        assert row[offset + 1] == pytest.approx(want["ci_low"], abs=1e-12)
        assert row[offset + 2] == pytest.approx(want["ci_high"], abs=1e-12)
        assert row[offset + 5] == want["n"]
    raw = list(workbook["原始数据"].iter_rows(values_only=True))
    assert len(raw) == RESPONSES + 1
    workbook.close()


def test_unit_pdf_holds_only_that_units_numbers(app, client, round_, tmp_path):
    import subprocess

    _user("admin")
    _login(client, "admin")
    community = round_.channels[0].unit
    other = next(c.unit for c in round_.channels if c.unit_id != community.id)
    pdf = client.get(f"/console/rounds/{round_.id}/report.pdf?unit={community.code}")
    assert pdf.status_code == 200
    (tmp_path / "unit.pdf").write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "unit.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert community.name in text and other.name not in text
    want = expected_by_unit(round_)[("awareness", community.code)]
    assert f"{100 * want['estimate']:.1f}%" in text


def test_charts_render(app, client, round_):
    from PIL import Image

    _user("admin")
    _login(client, "admin")
    for chart in ("rates", "ranking"):
        reply = client.get(f"/console/rounds/{round_.id}/charts/{chart}.png")
        assert reply.status_code == 200 and reply.mimetype == "image/png"
        assert Image.open(io.BytesIO(reply.data)).size[0] > 300


def test_cached_arrays_grow_with_new_responses(app, round_):
    from survey.queries import reporting

    before, _ = reporting.round_report(db.session, round_)
    submit_responses(round_, 40, seed=8)
    grown, _ = reporting.round_report(db.session, round_)
    assert grown.methodology.n_rows == RESPONSES + 40 == before.methodology.n_rows + 40
    reporting._cache.clear()
    reporting._rows_cache.clear()
    fresh, _ = reporting.round_report(db.session, round_)
    assert [(r.key, r.domain, r.n, r.rate, r.estimate.se) for r in grown.overall + grown.by_unit] == \
           [(r.key, r.domain, r.n, r.rate, r.estimate.se) for r in fresh.overall + fresh.by_unit]


def test_option_counts_in_the_workbook_match_the_answers(app, client, round_):
    from openpyxl import load_workbook

    from survey.models import Answer, Response

    _user("admin")
    _login(client, "admin")
    book = load_workbook(io.BytesIO(client.get(f"/console/rounds/{round_.id}/results.xlsx").data), read_only=True)
    sheet = {(r[0], r[2]): r[4] for r in book["分题目"].iter_rows(min_row=2, values_only=True)}
    book.close()
    questionnaire = round_.questionnaire_version.parsed
    q = next(q for q in questionnaire.questions if q.type == "satisfaction5")
    for option in q.options:
        want = sum(1 for a in db.session.scalars(select(Answer).join(Response).where(
            Response.status == "complete", Answer.question_id == q.id)) if a.value == option.code)
        assert sheet[(q.id, option.code)] == want


def test_report_follows_population_and_unit_changes_with_the_same_totals(app, round_):
    """A cached report is not reused once the weighting figures or the units changed,
    even when the number of cells and the total population stay the same."""
    from survey.queries import reporting
    from survey.usecases.units import import_population, import_units

    before, _ = reporting.round_report(db.session, round_)
    community = db.session.scalar(select(Unit).where(Unit.level == "community").order_by(Unit.code))
    cells = {(c.gender, c.age_group): c.population for c in db.session.scalars(
        select(PopulationCell).where(PopulationCell.unit_id == community.id))}
    young, old = cells[("male", "18_29")], cells[("male", "60_plus")]
    assert young != old
    cells[("male", "18_29")], cells[("male", "60_plus")] = old, young  # same count, same total
    rows = ["单位编码,性别,年龄组,人口"] + [f"{community.code},{g},{a},{n}" for (g, a), n in cells.items()]
    import_population(db.session, "pop.csv", "\n".join(rows).encode())
    db.session.commit()
    after, _ = reporting.round_report(db.session, round_)
    assert after is not before
    assert [r.rate for r in after.overall] != [r.rate for r in before.overall]

    import_units(db.session, "units.csv", f"编码,名称,上级编码\n{community.code},改名社区,{community.parent.code}\n".encode())
    db.session.commit()
    renamed, _ = reporting.round_report(db.session, round_)
    assert renamed.unit_names[community.code] == "改名社区"
