"""``python -m analysis rates FILE --questionnaire Q.yaml``: indicators from raw answers.

Hand-made files, counted by hand: Minyi's own export (the fixed columns of
``survey.queries.export`` and one column of codes per question) and 问卷星
downloads (.xlsx, by option text and by option number, with a matrix
question and skipped answers). A 不了解 answer leaves the denominator;
screened-out, voided and not-counted rows are left out and counted; the old
0/1 form still works. The agreement with the app's own report of a round is
checked in tests/survey/queries/test_cli_raw_report.py.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from openpyxl import Workbook

from questions import STANDARD_QUESTIONNAIRE_PATH, load_standard, standard_definition
from questions.imports import MINYI_FIXED_COLUMNS
from tests.analysis.test_cli import check_one_line, run, run_in_process, write_csv

STANDARD = load_standard()
Q = {q.id: q for q in STANDARD.questions}


def raw_rates(path, *args):
    """JSON rows keyed by (indicator, domain), and the note on stderr."""
    r = run("rates", path, "--questionnaire", "standard", *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return {(row["indicator"], row["domain"]): row for row in json.loads(r.stdout)}, r.stderr


# -- Minyi's export ------------------------------------------------------------------------


def minyi_row(number: int, unit: str, *, status="complete", voided="no", counted="yes", **answers) -> list[str]:
    """One exported response: favourable first options unless ``answers`` say otherwise."""
    fixed = {
        "response_id": str(number), "unit_code": unit, "unit_name": f"{unit}社区", "channel_id": "1",
        "channel_site": "", "started_at": "2026-05-12T02:28:00+00:00",
        "submitted_at": "2026-05-12T02:31:05+00:00", "duration_seconds": "185.0", "status": status,
        "screened_out_by": "", "quality_flags": "", "voided": voided, "mode": "self", "interviewer": "",
        "counted": counted, "imported_from": "",
    }
    values = {q.id: (q.codes[0] if q.codes else "") for q in STANDARD.questions}
    values.update(q_activities="volunteering;cleanup", q_improve="sanitation", q_suggestion="", q_community=unit)
    if status == "screened_out":
        fixed["screened_out_by"] = "q_adult"
        values = {qid: "" for qid in values} | {"q_adult": "no"}
    values.update(answers)
    return [fixed[c] for c in MINYI_FIXED_COLUMNS] + [values[q.id] for q in STANDARD.questions]


MINYI_ROWS = [
    minyi_row(1, "C01", q_aware="yes", q_sat_sanitation="very_satisfied"),
    minyi_row(2, "C01", q_aware="no", q_sat_sanitation="unknown", q_gender="female"),  # 不了解
    minyi_row(3, "C02", q_aware="yes", q_sat_sanitation="dissatisfied", q_gender="female"),
    minyi_row(4, "C02", q_aware="yes", q_sat_sanitation="satisfied"),
    minyi_row(5, "C02", status="screened_out", counted="no"),
    minyi_row(6, "C01", voided="yes", counted="no", q_aware="no", q_sat_sanitation="very_dissatisfied"),
    minyi_row(7, "C02", counted="no", q_aware="no"),  # a quality flag the round leaves out
    minyi_row(8, "C02", q_aware="no", q_sat_sanitation="neutral", q_participation="no", q_activities=""),
]


@pytest.fixture
def minyi(tmp_path):
    header = list(MINYI_FIXED_COLUMNS) + [q.column for q in STANDARD.questions]
    return write_csv(tmp_path / "responses.csv", header, MINYI_ROWS)


def test_minyi_export_gives_each_indicator_by_its_own_rules(minyi):
    rows, note = raw_rates(minyi)
    aware = rows[("awareness", None)]
    # Rows 1-4 and 8 count: aware in 1, 3 and 4.
    assert (aware["n"], aware["estimate"]) == (5, pytest.approx(3 / 5))
    assert aware["target"] == 0.8  # the questionnaire's own target
    sanitation = rows[("satisfaction_sanitation", None)]
    # 不了解 (row 2) leaves the denominator; 满意 and 比较满意 count as yes.
    assert (sanitation["n"], sanitation["estimate"]) == (4, pytest.approx(2 / 4))
    support = rows[("support", None)]
    assert (support["n"], support["estimate"], support["target"]) == (5, 1.0, 0.7)
    participation = rows[("participation", None)]
    assert (participation["n"], participation["estimate"]) == (5, pytest.approx(4 / 5))
    # Every counted question of the standard questionnaire, keyed as the report keys them.
    assert [k for k, d in rows if d is None] == [q.indicator for q in STANDARD.counted_questions]
    assert "8 rows read (minyi), 5 counted" in note
    assert "left out: 1 screened out, 1 voided, 1 not counted by the round" in note


@pytest.mark.parametrize("by", ["unit_code", "unit"])
def test_minyi_export_by_unit(minyi, by):
    rows, _ = raw_rates(minyi, "--by", by, "--indicator", "awareness", "--indicator", "satisfaction_sanitation")
    assert {k for k in rows} == {(i, d) for i in ("awareness", "satisfaction_sanitation")
                                 for d in (None, "C01", "C02")}
    assert (rows[("awareness", "C01")]["n"], rows[("awareness", "C01")]["estimate"]) == (2, 0.5)
    assert (rows[("awareness", "C02")]["n"], rows[("awareness", "C02")]["estimate"]) == (3, pytest.approx(2 / 3))
    assert (rows[("satisfaction_sanitation", "C01")]["n"], rows[("satisfaction_sanitation", "C01")]["estimate"]) \
        == (1, 1.0)


def test_minyi_export_with_target_weights_and_margins(minyi, tmp_path):
    rows, _ = raw_rates(minyi, "--indicator", "awareness", "--target", "0.5")
    assert rows[("awareness", None)]["target"] == 0.5
    # Raked to gender (a derived column: the answers' codes): counted are male 1, 4, 8 (aware 2 of 3)
    # and female 2, 3 (aware 1 of 2); equal populations weigh each half alike.
    margin = write_csv(tmp_path / "gender.csv", ["gender", "population"], [["male", 500], ["female", 500]])
    rows, note = raw_rates(minyi, "--indicator", "awareness", "--rake", margin)
    assert rows[("awareness", None)]["estimate"] == pytest.approx(0.5 * 2 / 3 + 0.5 * 1 / 2)
    assert rows[("awareness", None)]["n"] == 5


def test_table_output_names_the_indicators_and_what_was_left_out(minyi):
    r = run("rates", minyi, "--questionnaire", "standard", "--indicator", "awareness")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[2].split()[:4] == ["awareness", "(all)", "5", "60.0%"]
    assert "awareness: 创建工作知晓率" in r.stdout
    assert "left out: 1 screened out, 1 voided, 1 not counted by the round" in r.stdout


def test_a_questionnaire_file_works_as_the_standard_name(minyi):
    by_name, _ = raw_rates(minyi)
    r = run("rates", minyi, "--questionnaire", STANDARD_QUESTIONNAIRE_PATH, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {(x["indicator"], x["domain"]): x for x in json.loads(r.stdout)} == by_name


def test_the_old_form_on_minyi_export_points_at_questionnaire(minyi, capsys):
    status, out, err = run_in_process(["rates", minyi, "--indicator", "aware"], capsys)
    check_one_line(status, out, err, "no indicator column 'aware'")
    assert "--questionnaire" in err
    status, out, err = run_in_process(["rates", minyi, "--indicator", "q_aware"], capsys)
    check_one_line(status, out, err, "value 'yes'")
    assert "--questionnaire standard" in err


def test_the_old_zero_one_form_still_works(tmp_path):
    path = write_csv(tmp_path / "coded.csv", ["aware", "street"], [[1, "A"], [0, "A"], [1, "B"], ["", "B"]])
    r = run("rates", path, "--indicator", "aware", "--by", "street", "--target", "0.8", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {(x["indicator"], x["domain"]): x for x in json.loads(r.stdout)}
    assert (rows[("aware", None)]["n"], rows[("aware", None)]["estimate"]) == (3, pytest.approx(2 / 3))
    assert rows[("aware", "B")]["n"] == 1
    assert rows[("aware", None)]["target"] == 0.8
    assert r.stderr == ""


# -- 问卷星 downloads ------------------------------------------------------------------------

WJX_META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
#: The questions of the download, in its order; MATRIX: two satisfaction items as one matrix question.
WJX_ORDER = ["q_adult", "q_resident", "q_aware", "q_support", "MATRIX", "q_sat_overall", "q_gender",
             "q_age_group", "q_community"]
MATRIX = ["q_sat_sanitation", "q_sat_order"]
#: Four residents; the third is not 18 and 问卷星 skipped the rest.
PEOPLE = [
    {"q_adult": "yes", "q_resident": "yes", "q_aware": "yes", "q_support": "support",
     "q_sat_sanitation": "very_satisfied", "q_sat_order": "satisfied", "q_sat_overall": "very_satisfied",
     "q_gender": "male", "q_age_group": "18_29", "q_community": "花园社区"},
    {"q_adult": "yes", "q_resident": "yes", "q_aware": "no", "q_support": "indifferent",
     "q_sat_sanitation": "unknown", "q_sat_order": "neutral", "q_sat_overall": "satisfied",
     "q_gender": "female", "q_age_group": "60_plus", "q_community": "光明社区"},
    {"q_adult": "no"},
    {"q_adult": "yes", "q_resident": "yes", "q_aware": "yes", "q_support": "support",
     "q_sat_sanitation": "very_dissatisfied", "q_sat_order": "unknown", "q_sat_overall": "neutral",
     "q_gender": "male", "q_age_group": "30_44", "q_community": "花园社区"},
]


def wjx_table(form: str, people=PEOPLE) -> tuple[list[str], list[list[str]]]:
    """A 问卷星 download, 按选项文本 (``form`` "text") or 按选项序号 ("number")."""
    header = list(WJX_META)
    for number, qid in enumerate(WJX_ORDER, start=1):
        if qid == "MATRIX":
            header += [f"{number}({Q[m].text.zh})" for m in MATRIX]
        else:
            header.append(f"{number}、{Q[qid].text.zh}")

    def cell(qid, person):
        code = person.get(qid)
        if code is None:
            return "(跳过)" if form == "text" else "-3"
        if qid == "q_community" or not Q[qid].codes:
            return code
        if form == "text":
            return Q[qid].option(code).label.zh
        return str(Q[qid].codes.index(code) + 1)

    rows = []
    for i, person in enumerate(people, start=1):
        row = [str(i), f"2026/11/2{i} 10:0{i}:00", f"{200 + i}秒", "手机提交", "直接访问", "1.2.3.4(北京-北京)"]
        for qid in WJX_ORDER:
            row += [cell(m, person) for m in MATRIX] if qid == "MATRIX" else [cell(qid, person)]
        rows.append(row)
    return header, rows


def xlsx(path, header, rows):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([int(v) if v.isdigit() else v for v in row])
    book.save(path)
    return path


@pytest.mark.parametrize("form", ["text", "number"])
def test_wjx_download_gives_the_counts(tmp_path, form):
    path = xlsx(tmp_path / f"问卷星_{form}.xlsx", *wjx_table(form))
    rows, note = raw_rates(path)
    # Rows 1, 2 and 4 count (3 is screened out by q_adult).
    aware = rows[("awareness", None)]
    assert (aware["n"], aware["estimate"]) == (3, pytest.approx(2 / 3))
    sanitation = rows[("satisfaction_sanitation", None)]
    assert (sanitation["n"], sanitation["estimate"]) == (2, 0.5)  # 不了解 (row 2) left out
    order = rows[("satisfaction_order", None)]
    assert (order["n"], order["estimate"]) == (2, 0.5)  # 不了解 (row 4) left out
    overall = rows[("satisfaction", None)]
    assert (overall["n"], overall["estimate"]) == (3, pytest.approx(2 / 3))
    # The questions the download does not ask give no rows, and the note says so.
    assert ("safety", None) not in rows and ("integrity", None) not in rows
    assert "4 rows read (wjx), 3 counted (left out: 1 screened out)" in note
    assert "no column for participation, safety" in note

    by_unit, _ = raw_rates(path, "--by", "unit", "--indicator", "awareness")
    assert by_unit[("awareness", "花园社区")]["n"] == 2 and by_unit[("awareness", "花园社区")]["estimate"] == 1.0
    assert by_unit[("awareness", "光明社区")]["n"] == 1 and by_unit[("awareness", "光明社区")]["estimate"] == 0.0


def test_wjx_gb18030_csv_by_a_column_of_the_file(tmp_path):
    header, rows = wjx_table("text")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*header, "街道"])
    writer.writerows([*row, street] for row, street in zip(rows, ["东街", "西街", "东街", "西街"]))
    path = tmp_path / "问卷星.csv"
    path.write_bytes(out.getvalue().encode("gb18030"))
    result, _ = raw_rates(path, "--by", "街道", "--indicator", "awareness")
    assert (result[("awareness", "东街")]["n"], result[("awareness", "东街")]["estimate"]) == (1, 1.0)
    assert (result[("awareness", "西街")]["n"], result[("awareness", "西街")]["estimate"]) == (2, 0.5)


def test_a_value_that_fits_no_option_names_its_row(tmp_path, capsys):
    header, rows = wjx_table("text")
    rows[1][header.index(f"3、{Q['q_aware'].text.zh}")] = "也许"
    path = xlsx(tmp_path / "bad.xlsx", header, rows)
    status, out, err = run_in_process(["rates", path, "--questionnaire", "standard"], capsys)
    check_one_line(status, out, err, "bad.xlsx: row 3:")
    assert "也许" in err and "知道" in err


def test_a_bad_value_in_a_screened_out_row_or_a_free_question_does_not_matter(tmp_path):
    header, rows = wjx_table("text")
    rows[2][header.index(f"3、{Q['q_aware'].text.zh}")] = "也许"  # row 3 is screened out
    path = xlsx(tmp_path / "ok.xlsx", header, rows)
    result, _ = raw_rates(path, "--indicator", "awareness")
    assert result[("awareness", None)]["n"] == 3


RAW_BAD_CASES = {
    "unknown indicator": (["--indicator", "aware"], "--indicator 'aware' is not an indicator"),
    "indicator without a column": (["--indicator", "safety"], "no column answers question q_safety"),
    "missing questionnaire": (["--questionnaire", "nope.yaml"], "nope.yaml: file not found"),
    "missing by": (["--by", "street"], "no --by column 'street'"),
}


@pytest.mark.parametrize("case", sorted(RAW_BAD_CASES))
def test_bad_raw_input_is_one_line(tmp_path, case, capsys):
    args, message = RAW_BAD_CASES[case]
    path = xlsx(tmp_path / "wjx.xlsx", *wjx_table("text"))
    if "--questionnaire" not in args:
        args = ["--questionnaire", "standard", *args]
    status, out, err = run_in_process(["rates", path, *args], capsys)
    check_one_line(status, out, err, message)


def test_files_that_answer_nothing_or_are_not_tables(tmp_path, capsys):
    other = write_csv(tmp_path / "other.csv", ["a", "b"], [[1, 2]])
    status, out, err = run_in_process(["rates", other, "--questionnaire", "standard"], capsys)
    check_one_line(status, out, err, "no column answers a counted question")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    status, out, err = run_in_process(["rates", broken, "--questionnaire", "standard"], capsys)
    check_one_line(status, out, err, "broken.xlsx: 无法读取这个 Excel 文件")
    status, out, err = run_in_process(["rates", other], capsys)
    assert status == 2 and "required: --indicator" in err


def test_every_row_left_out(tmp_path, capsys):
    header, rows = wjx_table("text", [{"q_adult": "no"}, {"q_adult": "no"}])
    path = xlsx(tmp_path / "none.xlsx", header, rows)
    status, out, err = run_in_process(["rates", path, "--questionnaire", "standard"], capsys)
    check_one_line(status, out, err, "no row counts (2 screened out)")


def test_an_excel_file_without_questionnaire_points_at_it(tmp_path, capsys):
    path = xlsx(tmp_path / "问卷星.xlsx", *wjx_table("text"))
    status, out, err = run_in_process(["rates", path, "--indicator", "awareness"], capsys)
    check_one_line(status, out, err, "not UTF-8 or GB18030 text")
    assert "--questionnaire" in err


def test_two_questions_of_one_indicator_are_keyed_as_the_report_keys_them(tmp_path):
    definition = standard_definition()
    aware = next(q for q in definition["questions"] if q["id"] == "q_aware")
    definition["questions"].insert(definition["questions"].index(aware) + 1, {
        **aware, "id": "q_aware_again", "text": {"zh": "您听说过文明城市测评吗？", "en": "Heard of the assessment?"}})
    questionnaire = tmp_path / "two.yaml"
    questionnaire.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    # A plain table keyed by question id, codes or labels.
    path = write_csv(tmp_path / "table.csv", ["q_adult", "q_aware", "q_aware_again", "unit"],
                     [["yes", "yes", "no", "A"], ["是", "知道", "知道", "A"], ["yes", "no", "", "B"]])
    r = run("rates", path, "--questionnaire", questionnaire, "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {(x["indicator"], x["domain"]): x for x in json.loads(r.stdout)}
    assert (rows[("awareness", None)]["n"], rows[("awareness", None)]["estimate"]) == (3, pytest.approx(2 / 3))
    again = rows[("awareness.q_aware_again", None)]
    assert (again["n"], again["estimate"], again["target"]) == (2, 0.5, 0.8)
