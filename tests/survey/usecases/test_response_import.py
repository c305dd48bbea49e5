"""Importing answers into a round: Minyi's own export round-trips to the same
results, hand-made 问卷星 downloads (by option text and by option number,
.xlsx and GB18030 CSV, with a multiple-choice question, a matrix and skipped
answers) import with every count right, and a file is all or nothing and
never counted twice."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Response, ResponseImport
from survey.models.types import utcnow
from survey.queries.export import write_responses_csv
from survey.queries.reporting import round_report
from survey.usecases import response_import
from survey.usecases.demo import load_demo_population
from survey.usecases.round_setup import create_round_with_channels
from tests.factories import demo_round, submit_responses


def _empty_round_like(round_):
    now = utcnow()
    fresh = create_round_with_channels(
        db.session, None, name="导入测试轮次", kind="drill", questionnaire_version=round_.questionnaire_version,
        unit=round_.unit, opens_at=now - timedelta(days=30), closes_at=now + timedelta(days=7))
    db.session.commit()
    return fresh


def _numbers(round_) -> list[tuple]:
    """What the results page shows: every overall and per-unit row's figures."""
    db.session.expire_all()
    report, _ = round_report(db.session, round_)
    rows = [*report.overall, *report.by_street, *report.by_unit]
    def figure(x):
        return None if x != x else round(x, 10)  # NaN (no answers) compares equal as None

    return sorted(((r.domain or ""), r.key, r.estimate.n, figure(r.estimate.estimate), figure(r.ci_low),
                   figure(r.ci_high), r.verdict or "") for r in rows)


def test_a_rounds_export_imported_into_an_empty_round_gives_the_same_results(app, backend):
    source = demo_round()
    load_demo_population(db.session)
    submit_responses(source, 150, seed=5)
    out = io.StringIO()
    write_responses_csv(db.session, source, out)
    data = out.getvalue().encode("utf-8")
    target = _empty_round_like(source)
    plan = response_import.plan_import(db.session, target, "responses.csv", data, now=utcnow())
    assert plan.problems == [] and plan.source == "minyi" and len(plan.rows) == 150
    record = response_import.run_import(db.session, None, target, plan, utcnow())
    db.session.commit()
    assert record.stored == 150
    assert _numbers(target) == _numbers(source)
    # The same file again adds nothing.
    again = response_import.plan_import(db.session, target, "responses.csv", data, now=utcnow())
    assert (len(again.rows), again.duplicates) == (0, 150)
    assert db.session.scalar(select(func.count()).select_from(Response).where(Response.round_id == target.id)) == 150


# --- hand-made 问卷星 downloads ------------------------------------------------------------------

META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]


def _wjx(questionnaire, form: str, multi_split: bool = False) -> tuple[list[str], list[list[str]], dict]:
    """A 问卷星 download of three residents for the standard questionnaire, and
    what each question's answers should count (code -> how many)."""
    q = {x.id: x for x in questionnaire.questions}
    # Matrix: the satisfaction items asked as one 问卷星 matrix question.
    matrix = ["q_sat_sanitation", "q_sat_order", "q_sat_traffic"]
    singles = ["q_adult", "q_resident", "q_aware", "q_support", "q_participation", "q_sat_overall",
               "q_gender", "q_age_group", "q_community"]
    people = [
        {"q_adult": "yes", "q_resident": "yes", "q_aware": "yes", "q_support": q["q_support"].codes[0],
         "q_participation": "yes", "q_activities": [q["q_activities"].codes[0], q["q_activities"].codes[2]],
         "q_sat_sanitation": q["q_sat_sanitation"].codes[0], "q_sat_order": q["q_sat_order"].codes[1],
         "q_sat_traffic": q["q_sat_traffic"].codes[5], "q_sat_overall": q["q_sat_overall"].codes[0],
         "q_gender": "male", "q_age_group": "18_29", "q_community": "花园社区"},
        {"q_adult": "yes", "q_resident": "yes", "q_aware": "no", "q_support": q["q_support"].codes[1],
         "q_participation": "no", "q_activities": None,  # skipped: the follow-up did not apply
         "q_sat_sanitation": q["q_sat_sanitation"].codes[2], "q_sat_order": q["q_sat_order"].codes[0],
         "q_sat_traffic": q["q_sat_traffic"].codes[0], "q_sat_overall": q["q_sat_overall"].codes[1],
         "q_gender": "female", "q_age_group": "60_plus", "q_community": "光明社区"},
        {"q_adult": "yes", "q_resident": "yes", "q_aware": "yes", "q_support": q["q_support"].codes[0],
         "q_participation": "yes", "q_activities": [q["q_activities"].codes[1]],
         "q_sat_sanitation": q["q_sat_sanitation"].codes[5], "q_sat_order": q["q_sat_order"].codes[0],
         "q_sat_traffic": q["q_sat_traffic"].codes[1], "q_sat_overall": q["q_sat_overall"].codes[0],
         "q_gender": "female", "q_age_group": "30_44", "q_community": "花园社区"},
    ]
    order = ["q_adult", "q_resident", "q_aware", "q_support", "q_participation", "q_activities", "MATRIX",
             "q_sat_overall", "q_gender", "q_age_group", "q_community"]
    header = list(META)
    number = 0
    for qid in order:
        number += 1
        if qid == "MATRIX":
            header += [f"{number}({q[m].text.zh})" for m in matrix]
        elif qid == "q_activities" and multi_split:
            header += [f"第{number}题({o.label.zh})" for o in q[qid].options]
        else:
            header.append(f"{number}、{q[qid].text.zh}")

    def cell(qid, value):
        question = q[qid]
        if value is None:
            return "(跳过)"
        if qid == "q_community":
            return value  # a community's name either way
        codes = value if isinstance(value, list) else [value]
        if form == "text":
            return "┋".join(question.option(c).label.zh for c in codes)
        return "┋".join(str(question.codes.index(c) + 1) for c in codes)

    rows = []
    for i, person in enumerate(people, start=1):
        row = [str(i), f"2026/11/2{i} 10:0{i}:00", f"{200 + i}秒", "手机提交", "直接访问", "1.2.3.4(北京-北京)"]
        for qid in order:
            if qid == "MATRIX":
                row += [cell(m, person[m]) for m in matrix]
            elif qid == "q_activities" and multi_split:
                chosen = person[qid] or []
                row += ["(跳过)" if person[qid] is None else ("1" if o.code in chosen else "0")
                        for o in q[qid].options]
            else:
                row.append(cell(qid, person[qid]))
        rows.append(row)
    expected = {}
    for qid in [*singles, "q_activities", *matrix]:
        counted = {}
        for person in people:
            value = person[qid]
            for code in (value if isinstance(value, list) else [value] if value is not None else []):
                counted[code] = counted.get(code, 0) + 1
        expected[qid] = counted
    return header, rows, expected


def _xlsx(header, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([int(v) if v.isdigit() else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _gb18030_csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


@pytest.mark.parametrize("form, container, split", [
    ("text", "xlsx", False), ("number", "xlsx", True), ("text", "csv", True), ("number", "csv", False),
])
def test_a_wjx_download_imports_with_every_count_right(app, runner, tmp_path, form, container, split):
    round_ = demo_round()
    questionnaire = round_.questionnaire_version.parsed
    header, rows, expected = _wjx(questionnaire, form, multi_split=split)
    data = _xlsx(header, rows) if container == "xlsx" else _gb18030_csv(header, rows)
    path = tmp_path / f"问卷星.{container}"
    path.write_bytes(data)
    dry = runner.invoke(args=["import-responses", str(round_.id), str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 new rows" in dry.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    result = runner.invoke(args=["import-responses", str(round_.id), str(path)])
    assert result.exit_code == 0, result.output
    stored = db.session.scalars(select(Response).where(Response.round_id == round_.id).order_by(Response.id)).all()
    assert len(stored) == 3
    for qid, counted in expected.items():
        got = {}
        for response in stored:
            value = response.answer_data.get(qid)
            if qid == "q_community":
                value = {"D01-S01-C01": "花园社区", "D01-S01-C02": "光明社区"}.get(value)
            for code in (value if isinstance(value, list) else [value] if value is not None else []):
                got[code] = got.get(code, 0) + 1
        assert got == counted, qid
    assert [round(r.duration_seconds) for r in stored] == [201, 202, 203]  # 所用时间
    assert stored[0].submitted_at.hour == 2  # 10:01 Beijing time is 02:01 UTC
    assert {r.mode for r in stored} == {"self"} and len({r.import_id for r in stored}) == 1
    record = db.session.get(ResponseImport, stored[0].import_id)
    assert (record.source, record.filename, record.stored) == ("wjx", path.name, 3)
    assert db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "responses.import"))["stored"] == 3
    again = runner.invoke(args=["import-responses", str(round_.id), str(path)])
    assert "0 new rows, 3 already imported" in again.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == 3


def test_one_bad_value_imports_nothing_and_names_its_row_and_column(app, runner, tmp_path):
    round_ = demo_round()
    header, rows, _ = _wjx(round_.questionnaire_version.parsed, "text")
    rows[1][header.index(next(h for h in header if h.startswith("3、")))] = "很好"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(_xlsx(header, rows))
    result = runner.invoke(args=["import-responses", str(round_.id), str(path)])
    assert result.exit_code != 0
    assert "第 3 行" in result.output or "Row 3" in result.output or "3" in result.output
    assert "很好" in result.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_rows_without_a_known_community_need_a_column_or_a_unit(app, runner, tmp_path):
    round_ = demo_round()
    header, rows, _ = _wjx(round_.questionnaire_version.parsed, "text")
    last = len(header) - 1
    header, rows = header[:last], [r[:last] for r in rows]  # no community question in the file
    path = tmp_path / "no-community.csv"
    path.write_bytes(_gb18030_csv(header, rows))
    refused = runner.invoke(args=["import-responses", str(round_.id), str(path)])
    assert refused.exit_code != 0
    done = runner.invoke(args=["import-responses", str(round_.id), str(path), "--unit", "D01-S02-C01"])
    assert done.exit_code == 0, done.output
    assert {r.unit.code for r in db.session.scalars(select(Response))} == {"D01-S02-C01"}


def test_the_paper_entry_sheet_filled_in_imports_as_paper(app, runner, tmp_path):
    from openpyxl import load_workbook

    from tests.survey.consolekit import login, make_user, new_client

    round_ = demo_round()
    make_user("office", "admin")
    office = new_client(app)
    login(office, "office")
    reply = office.get(f"/console/rounds/{round_.id}/paper/template.xlsx")
    assert reply.status_code == 200 and reply.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(reply.data))
    sheet = book["录入表"]
    header = [c.value for c in sheet[1]]
    questionnaire = round_.questionnaire_version.parsed
    column = {q.id: header.index(f"{n}. {q.text.zh}") for n, q in enumerate(questionnaire.questions, start=1)}
    assert header[0] == "问卷编号" and sheet.data_validations.dataValidation  # drop-downs for single choices

    def sheet_row(number: str, *, by_label: bool, activities: str, community: str) -> list:
        row = [None] * len(header)
        row[0] = number
        for q in questionnaire.questions:
            if q.kind.answers_unit:
                row[column[q.id]] = community
            elif q.kind.multiple:
                row[column[q.id]] = activities if q.id == "q_activities" else "2"
            elif q.screening is not None:
                code = sorted(q.screening.eligible)[0]
                row[column[q.id]] = q.option(code).label.zh if by_label else q.codes.index(code) + 1
            elif q.options:
                row[column[q.id]] = q.options[0].label.zh if by_label else 1
        return row

    sheet.append(sheet_row("A-001", by_label=True, activities="1 3", community="花园社区"))
    sheet.append(sheet_row("A-002", by_label=False, activities="2、4", community="光明社区"))
    filled = tmp_path / "录入表.xlsx"
    book.save(filled)
    result = runner.invoke(args=["import-responses", str(round_.id), str(filled)])
    assert result.exit_code == 0, result.output
    stored = db.session.scalars(select(Response).order_by(Response.submission_key)).all()
    assert [r.mode for r in stored] == ["paper", "paper"]
    activities = questionnaire.question("q_activities").codes
    assert stored[0].answer_data["q_activities"] == [activities[0], activities[2]]
    assert stored[1].answer_data["q_activities"] == [activities[1], activities[3]]
    assert [r.unit.name for r in stored] == ["花园社区", "光明社区"]
    assert stored[0].answer_data["q_aware"] == stored[1].answer_data["q_aware"] == "yes"
    assert "0 new rows, 2 already imported" in runner.invoke(
        args=["import-responses", str(round_.id), str(filled)]).output
