"""The downloadable rate report: PDF text read back with pdftotext, pages rendered
with pdftoppm, the workbook read back with openpyxl. No database: Reports are
built by ``analysis.report.build_report`` from synthetic arrays."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from analysis.report import IndicatorSpec, ReportInput, ReportMeta, build_report
from survey.queries.export import ResponseTable
from survey.renderers.report_pdf import report_pdf
from survey.renderers.report_xlsx import SHEET_NAMES, report_workbook

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
VERDICT = {"pass": "达标", "fail": "未达标", "undecided": "待定", "insufficient": "样本不足", None: "—"}
NAMES = ["知晓率", "满意率", "参与率", "支持率", "文明交通满意率", "环境卫生满意率", "公共秩序满意率",
         "志愿服务参与率", "社区服务满意率", "文明礼仪知晓率", "垃圾分类参与率", "诚信建设满意率",
         "公益广告知晓率", "餐桌文明参与率", "网络文明满意率"]

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
                                   reason="poppler-utils not installed")


def _input(seed: int, streets: int = 2, per_street: int = 3, indicators: int = 4, n: int = 1200,
           shift: float = 0.0, excluded_share: float = 0.04) -> ReportInput:
    rng = np.random.default_rng(seed)
    street_codes = [f"S{i}" for i in range(1, streets + 1)]
    units = [f"{s}C{j}" for s in street_codes for j in range(1, per_street + 1)]
    unit = rng.choice(units, n)
    street = np.array([u.split("C")[0] for u in unit])
    specs, values, dont_know = [], {}, {}
    for k in range(indicators):
        level = dict(zip(units, 0.55 + 0.42 * rng.random(len(units)) + shift))
        v = (rng.random(n) < np.array([level[u] for u in unit])).astype(float)
        dk = rng.random(n) < 0.06
        v[dk] = np.nan
        specs.append(IndicatorSpec(f"q{k + 1}", NAMES[k], 0.8))
        values[f"q{k + 1}"], dont_know[f"q{k + 1}"] = v, dk
    specs.append(IndicatorSpec("idx", "满意度指数", None, "index"))
    values["idx"] = rng.choice([100.0, 80.0, 60.0, 40.0, 0.0], n)
    dont_know["idx"] = np.zeros(n, bool)
    excluded = rng.random(n) < excluded_share
    gender, age = rng.choice(["male", "female"], n), rng.choice(["18_44", "45_plus"], n)
    population = [({"street": s, "gender": g, "age_group": a}, 1000.0 + 100 * i)
                  for i, s in enumerate(street_codes) for g in ("male", "female") for a in ("18_44", "45_plus")]
    too_fast = int(excluded.sum()) // 3
    return ReportInput(
        indicators=specs, values=values, dont_know=dont_know, unit=unit, street=street, gender=gender,
        age_group=age, excluded=excluded,
        exclusions={"screened_out": int(excluded.sum()) - too_fast, "too_fast": too_fast},
        unit_names={u: f"{u[:-2]}街{u[-1]}号社区" for u in units},
        street_names={s: f"{s}街道" for s in street_codes}, population=population,
    )


def _meta(report_units) -> ReportMeta:
    levels = {code: ("community" if "C" in code else "street") for code in report_units}
    return ReportMeta("2026年第四季度文明城市模拟测评", "drill", "示范区", datetime(2026, 11, 21, 9, 30),
                      "2026年第三季度测评", levels)


@pytest.fixture(scope="module")
def report():
    previous = build_report(_input(2, shift=-0.1))
    return build_report(_input(1), previous=previous)


@pytest.fixture(scope="module")
def meta(report):
    return _meta(report.unit_names)


@pytest.fixture(scope="module")
def round_pdf(report, meta):
    return report_pdf(report, meta)


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode("utf-8")


def value(v: float, kind: str) -> str:
    return f"{100 * v:.1f}%" if kind == "rate" else f"{v:.1f}"


def row_line_found(text: str, row) -> bool:
    """A line carrying the row's name, rate, interval and verdict word."""
    parts = [row.name, value(row.rate, row.kind),
             f"{value(row.ci_low, row.kind)}–{value(row.ci_high, row.kind)}", VERDICT[row.verdict]]
    return any(all(p in line for p in parts) for line in text.splitlines())


# -- PDF ------------------------------------------------------------------------------

@needs_poppler
def test_round_pdf_shows_every_overall_number_as_computed(report, round_pdf):
    text = pdf_text(round_pdf)
    assert "测评报告" in text and "2026年第四季度文明城市模拟测评" in text and "模拟测评" in text
    assert "示范区" in text and "2026年11月21日" in text
    for row in report.overall:
        assert row_line_found(text, row), row.name
        assert f"{row.n}" in text


@needs_poppler
def test_round_pdf_shows_street_and_community_rows(report, round_pdf):
    text = pdf_text(round_pdf)
    for row in (*report.by_street, *report.by_unit):
        line = [value(row.rate, row.kind), f"{value(row.ci_low, row.kind)}–{value(row.ci_high, row.kind)}",
                VERDICT[row.verdict], row.name]
        assert any(all(p in ln for p in line) for ln in text.splitlines()), (row.domain, row.name)


@needs_poppler
def test_round_pdf_shows_ranking_with_intervals_and_the_overlap_warning(report, round_pdf):
    text = pdf_text(round_pdf)
    assert "单位排名" in text
    assert "名次区间相互重叠的单位无法区分先后" in text
    lines = text.splitlines()
    for r in report.ranking:
        name = report.unit_names[r.unit]
        expected = [f"{r.rank_low}–{r.rank_high}", name, f"{100 * r.score:.1f}%", str(r.n)]
        assert any(all(p in ln for p in expected) and ln.split()[0] == str(r.rank) for ln in lines), name


@needs_poppler
def test_round_pdf_has_weak_items_changes_and_methodology(report, round_pdf):
    text = pdf_text(round_pdf)
    assert "问题清单" in text
    for w in report.weak_items:
        assert any(w.name in ln and f"{100 * w.rate:.1f}%" in ln for ln in text.splitlines()), w.name
    assert report.changes and "与上轮比较" in text and "2026年第三季度测评" in text
    for c in (c for c in report.changes if c.domain is None):
        d = c.difference
        assert any(c.name in ln and f"{100 * d.difference:+.1f}" in ln
                   and ("显著" in ln) for ln in text.splitlines()), c.name
    m = report.methodology
    assert "计算方法" in text and "Korn–Graubard" in text and "事后分层加权" in text
    squeezed = "".join(text.split())
    assert f"共收到答卷{m.n_rows}份" in squeezed and f"有效答卷{m.n_used}份" in squeezed
    lines = text.splitlines()
    assert any("答题过快" in ln and ln.split()[-1] == str(m.exclusions["too_fast"]) for ln in lines)
    assert any("不属于调查对象" in ln and ln.split()[-1] == str(m.exclusions["screened_out"]) for ln in lines)


@needs_poppler
def test_pdf_is_a4_with_page_numbers_and_an_embedded_chinese_font(round_pdf, tmp_path):
    reader = PdfReader(io.BytesIO(round_pdf))
    pages = len(reader.pages)
    assert pages >= 3
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(595.28, abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(841.89, abs=0.5)
    text = pdf_text(round_pdf)
    squeezed = "".join(text.split())  # pdftotext may drop the spaces next to Hanzi
    for number in range(1, pages + 1):
        assert f"第{number}页/共{pages}页" in squeezed
    (tmp_path / "round.pdf").write_bytes(round_pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "round.pdf")], capture_output=True, check=True,
                           text=True).stdout.splitlines()[2:]
    # Every font that draws text is embedded (reportlab's unused default Helvetica is listed too).
    cjk = [line for line in fonts if "WenQuanYi" in line or "MinyiCJK" in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts
    assert "\ufffd" not in text


@needs_poppler
def test_community_report_has_its_numbers_and_no_other_units(report, meta):
    unit = "S1C2"
    text = pdf_text(report_pdf(report, meta, unit))
    own = report.rows_for(unit)
    assert own
    for row in own:
        assert row_line_found(text, row), row.name
    assert report.unit_names[unit] in text
    own_intervals = {f"{value(r.ci_low, r.kind)}–{value(r.ci_high, r.kind)}" for r in own}
    for other in (*report.by_unit, *report.by_street):
        if other.domain == unit:
            continue
        assert (other.domain_name or "") not in text, other.domain
        interval = f"{value(other.ci_low, other.kind)}–{value(other.ci_high, other.kind)}"
        assert interval in own_intervals or interval not in text, (other.domain, other.name)
    mine = next(r for r in report.ranking if r.unit == unit)
    assert any(ln.split()[:2] == [str(mine.rank), f"{mine.rank_low}–{mine.rank_high}"]
               for ln in text.splitlines())


@needs_poppler
def test_street_report_has_its_communities_and_not_the_other_street(report, meta, tmp_path):
    pdf = report_pdf(report, meta, "S1", sub_units=["S1C1", "S1C2", "S1C3"])
    text = pdf_text(pdf)
    assert "S1街道" in text and "S2街道" not in text
    for row in report.rows_for("S1"):
        assert row_line_found(text, row), row.name
    for code in ("S1C1", "S1C2", "S1C3"):
        assert report.unit_names[code] in text
    for code in ("S2C1", "S2C2", "S2C3"):
        assert report.unit_names[code] not in text
    # The street's first results page, for a person to look at (tests/artifacts is gitignored).
    (tmp_path / "street.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "2", "-l", "2", str(tmp_path / "street.pdf"),
                    str(tmp_path / "street")], check=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(next(tmp_path.glob("street*.png")), ARTIFACTS / "report-street.png")


@needs_poppler
def test_large_report_splits_tables_with_repeated_headers_and_renders(tmp_path):
    report = build_report(_input(5, streets=10, per_street=5, indicators=15, n=30_000))
    meta = _meta(report.unit_names)
    pdf = report_pdf(report, meta)  # speed: bench/bench_reports.py
    pages = pdf_text(pdf).split("\f")
    community_pages = [p for p in pages if "S10街5号社区" in p or "S5街3号社区" in p or "S2街1号社区" in p]
    assert len(pages) > 10
    table_pages = [p for p in pages if any("S" in ln and "号社区" in ln and "%–" in ln for ln in p.splitlines())]
    assert len(table_pages) >= 5 and community_pages
    for page in table_pages:
        assert any("指标" in ln and "比率" in ln and "判定" in ln for ln in page.splitlines()), page[:200]

    # Rendered pages for a person to look at (tests/artifacts is gitignored).
    ARTIFACTS.mkdir(exist_ok=True)
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(tmp_path / "report.pdf"), str(tmp_path / "page")],
                   check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == len(PdfReader(io.BytesIO(pdf)).pages)
    ranking_page = next(i for i, p in enumerate(pages) if "单位排名" in p and "名次区间" in p)
    for index, name in ((1, "report-summary"), (ranking_page, "report-ranking"), (len(pages) - 2, "report-end")):
        if 0 <= index < len(rendered):
            shutil.copy(rendered[index], ARTIFACTS / f"{name}.png")


# -- workbook -------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "+1", "@x", "-2+3", "\t=1+1", "=cmd|' /C calc'!A0"]


@pytest.fixture(scope="module")
def workbook(report, meta, tmp_path_factory):
    header = ["response_id", "unit", "q1", "q2", "comment", "duration_s"]
    raw = [header]
    for i in range(60):
        comment = HOSTILE[i] if i < len(HOSTILE) else f"意见{i} <b>&"
        raw.append([str(1000 + i), "S1C1", "1", "2", comment, str(30 + i)])
    codebook = [{"column": "q1", "question": "=您知道创文吗？", "type": "single", "values": ["1", "2", "9"],
                 "indicator": "q1", "counts_as_yes": ["1"], "excluded": ["9"]}]
    counts = [{"question_id": "q1", "question_text": "您知道创文吗？", "option_code": "1",
               "option_label": "知道", "count": 40, "share": 0.8},
              {"question_id": "q1", "question_text": "您知道创文吗？", "option_code": "2",
               "option_label": "-不知道", "count": 10, "share": 0.2}]
    data = report_workbook(report, meta, ResponseTable.from_rows(raw), codebook, counts)
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    path.write_bytes(data)
    return load_workbook(path)


def test_workbook_has_the_sheets_with_frozen_headers(workbook):
    for name in ("汇总", "分单位", "分题目", "原始数据", "编码表"):
        assert name in workbook.sheetnames
    assert tuple(workbook.sheetnames) == SHEET_NAMES
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.bold


def test_summary_numbers_equal_the_report(report, workbook):
    ws = workbook["汇总"]
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == len(report.overall)
    col = {name: header.index(name) for name in header}
    for cells, r in zip(rows, report.overall):
        assert cells[col["指标代码"]].value == r.key and cells[col["指标"]].value == r.name
        rate = cells[col["比率/指数"]]
        assert rate.value == pytest.approx(r.rate, rel=1e-12) and rate.data_type == "n"
        assert rate.number_format == ("0.0%" if r.kind == "rate" else "0.0")
        assert cells[col["区间下限"]].value == pytest.approx(r.ci_low, rel=1e-12)
        assert cells[col["区间上限"]].value == pytest.approx(r.ci_high, rel=1e-12)
        assert cells[col["样本量"]].value == r.n
        assert cells[col["判定"]].value == VERDICT[r.verdict]


def test_by_unit_numbers_equal_the_report(report, workbook):
    ws = workbook["分单位"]
    header = [c.value for c in ws[1]]
    found = {(row[1], row[3]): row for row in ws.iter_rows(min_row=2, values_only=True)}
    expected = [*report.by_street, *report.by_unit]
    assert len(found) == len(expected)
    for r in expected:
        row = found[(r.domain, r.key)]
        assert row[header.index("比率/指数")] == pytest.approx(r.rate, rel=1e-12)
        assert row[header.index("区间下限")] == pytest.approx(r.ci_low, rel=1e-12)
        assert row[header.index("样本量")] == r.n
        assert row[header.index("单位")] == r.domain_name
    levels = {row[1]: row[header.index("层级")] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert {levels[r.domain] for r in report.by_street} == {"街道"}
    assert {levels[r.domain] for r in report.by_unit} == {"社区"}


def test_resident_text_is_inert_in_the_workbook(workbook):
    ws = workbook["原始数据"]
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == 60
    for cells, text in zip(rows, HOSTILE):
        comment = cells[4]
        assert comment.data_type == "s"
        assert comment.value == "'" + text
    assert rows[10][4].value == "意见10 <b>&"
    assert rows[0][0].value == 1000 and rows[0][5].value == 30  # numbers stay numbers
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    assert workbook["编码表"]["B2"].value == "'=您知道创文吗？"
    assert workbook["分题目"]["D3"].value == "'-不知道"


def test_question_counts_are_numbers(workbook):
    ws = workbook["分题目"]
    assert [c.value for c in ws[2]] == ["q1", "您知道创文吗？", "1", "知道", 40, 0.8]
    assert ws["F2"].number_format == "0.0%"


def test_ranking_sheet_matches(report, workbook):
    rows = list(workbook["排名"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == \
        [(u.rank, u.rank_low, u.rank_high, u.unit) for u in report.ranking]
