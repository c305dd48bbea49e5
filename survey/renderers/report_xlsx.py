"""The rate report as an Excel workbook: summary, by unit, by question, raw data, codebook.

Formats an :class:`analysis.report.Report` (no statistic is computed here; no
Flask). Numbers are written as numbers -- rates as fractions with a
percentage format, so Excel can compute with them -- and every text cell is
neutralised against formula injection: text starting with ``= + - @``, a tab
or a carriage return gets a leading apostrophe and is stored as a plain
string, so what a resident typed can never run as a formula (OWASP "CSV
injection").

Speed: openpyxl's write-only mode without lxml needs about 28 s for
100,000 x 35 raw cells on the benchmark machine, so the 原始数据 sheet's rows
are serialised here directly as inline-string XML (one cached fragment per
distinct value) and spliced into the sheet openpyxl wrote with the header,
frozen pane and column widths; the rest of the workbook is plain openpyxl.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analysis.report import IndicatorResult, Report, ReportMeta
from analysis.targets import VerdictRule

from ..queries.export import ResponseTable, neutralize
from ..vocabulary import INDICATOR_KINDS, UNIT_LEVELS
from .report_words import (
    INTERVAL_CAP_WORDS,
    ci_note_words,
    exclusion_word,
    interval_method_words,
    more_needed_words,
    round_kind_word,
    verdict_reason_words,
    verdict_rule_words,
    verdict_word,
    weighting_words,
)

__all__ = ["SHEET_NAMES", "neutralise", "report_workbook"]

SHEET_NAMES = ("汇总", "分单位", "排名", "分题目", "原始数据", "编码表", "说明")
RAW_SHEET = "原始数据"

# Plain decimal numbers (no leading zeros, no "+", at most 15 digits: exact in a double)
# are written as numbers; anything else stays text.
_NUMBER_RE = re.compile(r"-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?\Z")
_MAX_CACHED = 200_000

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E3EAEF")
_WRAP = Alignment(wrap_text=True, vertical="top")
PERCENT = "0.0%"
ONE_DECIMAL = "0.0"
TWO_DECIMALS = "0.00"


def neutralise(text: str) -> str:
    """Text made safe for a spreadsheet cell: formula-like text gets a leading apostrophe.

    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    """
    return neutralize(ILLEGAL_CHARACTERS_RE.sub("", text))


def _text_width(value: object) -> int:
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


class _Sheet:
    """A write-only sheet with a styled, frozen header row and fitted column widths."""

    def __init__(self, wb: Workbook, title: str, header: Sequence[str], widths: Sequence[float]):
        self.ws = wb.create_sheet(title)
        self.ws.freeze_panes = "A2"
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        cells = []
        for name in header:
            cell = WriteOnlyCell(self.ws, value=neutralise(name))
            cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
            cells.append(cell)
        self.ws.append(cells)

    def row(self, values: Sequence[object], formats: Sequence[str | None] = ()) -> None:
        out = []
        for i, value in enumerate(values):
            if isinstance(value, str):
                value = neutralise(value)
            elif isinstance(value, float) and not math.isfinite(value):
                value = None
            fmt = formats[i] if i < len(formats) else None
            if fmt is None:
                out.append(value)
            else:
                cell = WriteOnlyCell(self.ws, value=value)
                cell.number_format = fmt
                out.append(cell)
        self.ws.append(out)


_INDICATOR_HEADER = ["比率/指数", "区间下限", "区间上限", "目标", "判定", "样本量", "有效样本量",
                     "设计效应", "标准误", "单侧p值", "再需样本", "判定说明", "区间说明"]
_INDICATOR_WIDTHS = [11, 11, 11, 8, 10, 9, 11, 9, 9, 9, 11, 30, 30]


def _indicator_cells(r: IndicatorResult, rule: VerdictRule) -> tuple[list, list]:
    fmt = PERCENT if r.kind == "rate" else ONE_DECIMAL
    e = r.estimate
    # A number when it is an estimate, words when it is only a bound ("1000 份以上").
    more = more_needed_words(r) if r.more_needed_exceeds else r.more_needed
    values = [r.rate, r.ci_low, r.ci_high, r.target, verdict_word(r.verdict), r.n, e.n_eff, e.deff,
              e.se, r.p_value, more, verdict_reason_words(r, rule) or "", ci_note_words(r.ci_note)]
    formats = [fmt, fmt, fmt, fmt, None, "0", ONE_DECIMAL, TWO_DECIMALS, "0.0000", "0.0000", "0", None, None]
    return values, formats


def _kind_word(kind: str) -> str:
    return INDICATOR_KINDS.zh(kind) + ("（0–100）" if kind == "index" else "")


def _raw_cell_fragment(text: str) -> bytes:
    """The XML of one raw-data cell (positions follow from order: no ``r`` attribute)."""
    if text is None or text == "":
        return b"<c/>"
    if _NUMBER_RE.match(text):
        return f"<c><v>{text}</v></c>".encode()
    text = neutralise(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'.encode()


class _FragmentCache(dict):
    """text -> cell XML for one column, each distinct text serialised once."""

    def __missing__(self, text):
        fragment = _raw_cell_fragment(text)
        if len(self) < _MAX_CACHED:
            self[text] = fragment
        return fragment


def _raw_rows_xml(columns: Sequence[Sequence[str]]) -> Iterator[bytes]:
    """The data rows as ``<row>`` elements, in chunks: each column is mapped to
    cell XML on its own (a lookup per cell), then the rows are joined."""
    cells = [list(map(_FragmentCache().__getitem__, column)) for column in columns]
    rows = zip(*cells)
    while chunk := list(islice(rows, 10_000)):
        yield b"<row>" + b"</row><row>".join(map(b"".join, chunk)) + b"</row>"


def _splice_raw_rows(book: bytes, sheet_path: str, rows_xml: Iterable[bytes], last_row: int, columns: int) -> bytes:
    """Stream the raw rows into the sheet openpyxl wrote (header only) and fix its dimension."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename != sheet_path:
                zout.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            if b"</sheetData>" not in data:
                data = data.replace(b"<sheetData/>", b"<sheetData></sheetData>", 1)
            ref = f"A1:{get_column_letter(max(columns, 1))}{max(last_row, 1)}".encode()
            data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="' + ref + b'"/>', data, count=1)
            end = data.rindex(b"</sheetData>")
            item.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(item, "w", force_zip64=True) as sheet:
                sheet.write(data[:end])
                for chunk in rows_xml:
                    sheet.write(chunk)
                sheet.write(data[end:])
    return out.getvalue()


def report_workbook(
    report: Report,
    meta: ReportMeta,
    raw: ResponseTable,
    codebook: list[dict],
    question_counts: list[dict],
) -> bytes:
    """Build the round's workbook and return the ``.xlsx`` bytes.

    ``raw``: the raw responses, as the CSV export writes them. ``codebook``: one dict per raw column with keys column,
    question, type, values, indicator, counts_as_yes, excluded.
    ``question_counts``: rows of :func:`survey.queries.reporting.question_counts`.
    """
    wb = Workbook(write_only=True)

    summary = _Sheet(wb, "汇总", ["指标代码", "指标", "类型", *_INDICATOR_HEADER],
                     [14, 26, 12, *_INDICATOR_WIDTHS])
    rule = report.methodology.verdict_rule
    for r in report.overall:
        values, formats = _indicator_cells(r, rule)
        summary.row([r.key, r.name, _kind_word(r.kind), *values], [None, None, None, *formats])

    units = _Sheet(wb, "分单位", ["层级", "单位代码", "单位", "指标代码", "指标", *_INDICATOR_HEADER],
                   [8, 12, 22, 14, 26, *_INDICATOR_WIDTHS])
    for level_default, rows in (("street", report.by_street), ("community", report.by_unit)):
        order: dict[str | None, int] = {}
        for r in rows:
            order.setdefault(r.domain, len(order))
        for r in sorted(rows, key=lambda r: order[r.domain]):
            level = meta.unit_levels.get(r.domain or "", level_default)
            values, formats = _indicator_cells(r, rule)
            units.row([UNIT_LEVELS.zh(level), r.domain or "",
                       r.domain_name or report.unit_names.get(r.domain or "", r.domain or ""),
                       r.key, r.name, *values], [None] * 5 + formats)

    ranking = _Sheet(wb, "排名", ["名次", "名次区间下限", "名次区间上限", "单位代码", "单位", "得分",
                                "标准误", "样本量", "说明"], [7, 12, 12, 12, 22, 10, 10, 9, 40])
    for u in report.ranking:
        ranking.row([u.rank, u.rank_low, u.rank_high, u.unit, report.unit_names.get(u.unit, u.unit),
                     u.score, u.se, u.n, u.note or ""],
                    ["0", "0", "0", None, None, PERCENT, "0.0000", "0", None])

    questions = _Sheet(wb, "分题目", ["题号", "题目", "选项代码", "选项", "人数", "占比"],
                       [10, 50, 10, 24, 9, 9])
    for q in question_counts:
        questions.row([str(q["question_id"]), str(q["question_text"]), str(q["option_code"]),
                       str(q["option_label"]), int(q["count"]), float(q["share"])],
                      [None, None, None, None, "0", PERCENT])

    # Column widths from the header and the first rows (the rest follow the same form).
    widths = [min(40, max([_text_width(name) + 2] + [_text_width(v) + 1 for v in column[:200] if v is not None]))
              for name, column in zip(raw.header, raw.columns)]
    _Sheet(wb, RAW_SHEET, raw.header, widths)
    raw_sheet_index = len(wb.worksheets)

    codes = _Sheet(wb, "编码表", ["列名", "题目", "类型", "取值", "指标", "计为“是”的答案", "不计入分母的答案"],
                   [16, 46, 10, 40, 16, 22, 22])
    for entry in codebook:
        codes.row([_plain(entry.get(k)) for k in
                   ("column", "question", "type", "values", "indicator", "counts_as_yes", "excluded")])

    _notes(wb, report, meta)

    buf = io.BytesIO()
    wb.save(buf)
    return _splice_raw_rows(buf.getvalue(), f"xl/worksheets/sheet{raw_sheet_index}.xml",
                            _raw_rows_xml(raw.columns), len(raw) + 1, len(raw.header))


def _plain(value: object) -> str:
    """A codebook value as text: lists joined with "；", booleans as 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return "；".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return "；".join(_plain(v) for v in value)
    return str(value)


def _notes(wb: Workbook, report: Report, meta: ReportMeta) -> None:
    m = report.methodology
    notes = _Sheet(wb, "说明", ["项目", "内容"], [22, 100])
    lines: list[tuple[str, object]] = [
        ("报告", "测评报告"),
        ("测评轮次", meta.round_name),
        ("类型", round_kind_word(meta.round_kind)),
        ("测评范围", meta.area_name),
        ("生成时间", meta.generated_at.strftime("%Y-%m-%d %H:%M")),
        ("对比轮次", meta.compared_round_name or "—"),
        ("收到答卷", m.n_rows),
        ("有效答卷", m.n_used),
    ]
    lines += [(f"剔除：{exclusion_word(k)}", v) for k, v in m.exclusions.items()]
    lines += [
        ("加权", weighting_words(m)),
        ("加权格数", m.cells),
        ("合并次数（格或类别答卷过少）", m.collapsed_cells),
        ("权重最大/最小之比", m.weight_ratio),
        ("加权设计效应（Kish）", m.kish_deff),
        ("置信水平", m.level),
        ("区间方法", interval_method_words(m.ci_method) + INTERVAL_CAP_WORDS),
        ("排名依据", "全部比率指标的等权综合得分" if report.ranking_basis == "composite"
         else report.ranking_basis),
        ("判定规则", verdict_rule_words(m.verdict_rule)),
    ]
    for label, value in lines:
        fmt = PERCENT if label == "置信水平" else TWO_DECIMALS if isinstance(value, float) else None
        notes.row([label, value], [None, fmt])
