"""The printable rate report (测评报告) as a PDF: for a round, or for one unit.

Formats an :class:`analysis.report.Report`; it computes no statistic (every
number is read from the report) and imports no Flask. A4 portrait with
printing margins, page numbers "第 x 页 / 共 y 页" in the footer, long
tables split across pages with their header repeated, charts embedded as
200-dpi PNGs from :mod:`analysis.charts`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import paragraph as _rl_paragraph

from analysis.charts import change_chart, figure_png, ranking_chart, rates_chart
from analysis.fonts import register_reportlab_cjk_font
from analysis.report import ChangeRow, IndicatorResult, Report, ReportMeta

from ..vocabulary import UNIT_LEVELS, VERDICTS, verdict_term
from .report_words import (
    INTERVAL_CAP_WORDS,
    exclusion_word,
    interval_method_words,
    more_needed_words,
    round_kind_word,
    verdict_rule_words,
    verdict_word,
    weighting_words,
)

#: Verdict words in the report's sentences, from the one vocabulary.
_V = {code: term.zh for code, term in VERDICTS.items()}

# reportlab's CJK line breaking keeps "）" and "。" off the start of a line but not the
# full-width comma, semicolon and colon (reportlab.lib.textsplit.CANNOT_START_LINE lacks
# them), so a line could start with "，". Add them; this only ever improves Chinese text.
_NO_LINE_START = "，；：、！？。）」』》〉】”’"
_rl_paragraph.ALL_CANNOT_START += "".join(
    ch for ch in _NO_LINE_START if ch not in _rl_paragraph.ALL_CANNOT_START)

__all__ = [
    "format_interval",
    "format_target",
    "format_value",
    "report_pdf",
]

_DEFAULT_DESIGN = "strata: street; no clustering"
_NUMERALS = "一二三四五六七八九十"

_INK = colors.HexColor("#212121")
_MUTED = colors.HexColor("#616161")
_RISE, _FALL = colors.HexColor(VERDICTS["pass"].ink), colors.HexColor(VERDICTS["fail"].ink)
_RULE = colors.HexColor("#b0bec5")
_HEADER_BG = colors.HexColor("#e3eaef")
_STRIPE = colors.HexColor("#f6f8f9")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20 * mm, 18 * mm, 20 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
FRAME_HEIGHT = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
CHART_DPI = 200
#: The round report lists at most this many significant unit-level changes.
UNIT_CHANGES_LISTED = 40


# -- number formats (shared with the tests: rates as percentages, one decimal) ----------

def format_value(value: float, kind: str = "rate") -> str:
    """A rate as "83.9%", an index (0-100) as "57.5"."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:.1f}%" if kind == "rate" else f"{value:.1f}"


def format_interval(low: float, high: float, kind: str = "rate") -> str:
    """An interval as "80.8%–86.8%" (index: "54.6–60.3")."""
    return f"{format_value(low, kind)}–{format_value(high, kind)}"


def format_target(target: float | None, kind: str = "rate") -> str:
    if target is None:
        return "—"
    return f"{round(100 * target, 4):g}%" if kind == "rate" else f"{target:g}"


def _verdict_colour(verdict: str | None) -> colors.Color:
    """A verdict's text colour (``ink`` of its term in the vocabulary)."""
    return colors.HexColor(verdict_term(verdict).ink)


def _deff(value: float) -> str:
    return f"{value:.2f}" if value is not None and math.isfinite(value) else "—"


def _date(meta: ReportMeta) -> str:
    d = meta.generated_at
    return f"{d.year}年{d.month}月{d.day}日"


# -- styles ----------------------------------------------------------------------------

class _Styles:
    def __init__(self, font: str) -> None:
        base = {"fontName": font, "wordWrap": "CJK", "textColor": _INK}
        self.font = font
        self.title = ParagraphStyle("title", fontSize=34, leading=44, alignment=TA_CENTER, **base)
        self.subtitle = ParagraphStyle("subtitle", fontSize=16, leading=24, alignment=TA_CENTER,
                                       **base)
        self.cover = ParagraphStyle("cover", fontSize=12.5, leading=22, alignment=TA_CENTER, **base)
        self.h1 = ParagraphStyle("h1", fontSize=15, leading=22, spaceBefore=10, spaceAfter=6,
                                 **base)
        self.h2 = ParagraphStyle("h2", fontSize=12, leading=18, spaceBefore=8, spaceAfter=4, **base)
        self.body = ParagraphStyle("body", fontSize=10, leading=16, spaceAfter=5, **base)
        self.note = ParagraphStyle("note", fontSize=8.5, leading=12.5, spaceAfter=4,
                                   **{**base, "textColor": _MUTED})
        self.cell = ParagraphStyle("cell", fontSize=8.5, leading=11, **base)
        self.cell_repeat = ParagraphStyle("cell_repeat", parent=self.cell, textColor=colors.HexColor("#9e9e9e"))


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(header: list[str], rows: list[list], widths: list[float], styles: _Styles,
           extra: list[tuple] = (), numeric_from: int = 1) -> Table:
    """A table whose header repeats on every page it spans."""
    data = [header, *rows]
    table = Table(data, colWidths=widths, repeatRows=1, splitByRow=1)
    commands = [
        ("FONT", (0, 0), (-1, -1), styles.font, 8.5, 11),
        ("TEXTCOLOR", (0, 0), (-1, -1), _INK),
        ("BACKGROUND", (0, 0), (-1, 0), _HEADER_BG),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, _INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, _INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, _INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if len(rows) > 3:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _STRIPE]))
    table.setStyle(TableStyle(commands + list(extra)))
    return table


def _chart(fig) -> Image:
    png = figure_png(fig, dpi=CHART_DPI)
    width_in, height_in = fig.get_size_inches()
    # The frame pads 6 pt on each side: a wider image would not fit and jump to the next page.
    scale = min((FRAME_WIDTH - 14) / (width_in * 72), (FRAME_HEIGHT - 30) / (height_in * 72))
    return Image(io.BytesIO(png), width=width_in * 72 * scale, height=height_in * 72 * scale)


# -- sections --------------------------------------------------------------------------

class _Builder:
    def __init__(self, report: Report, meta: ReportMeta, styles: _Styles) -> None:
        self.report, self.meta, self.s = report, meta, styles
        self.story: list = []
        self.sections = 0
        #: A unit report's own and sub-unit rows (for its weak items).
        self.unit_rows: list[IndicatorResult] = []
        m = report.methodology
        self.level_text = f"{100 * m.level:g}%"

    def heading(self, text: str) -> None:
        numeral = _NUMERALS[self.sections] if self.sections < len(_NUMERALS) else str(self.sections + 1)
        self.sections += 1
        self.story.append(CondPageBreak(60 * mm))
        self.story.append(_p(f"{numeral}、{text}", self.s.h1))

    def name(self, code: str | None) -> str:
        if code is None:
            return self.meta.area_name
        return self.report.unit_names.get(code) or code

    # cover ------------------------------------------------------------------------
    def cover(self, scope: str, scope_line: str, own: Sequence[IndicatorResult] | None = None) -> None:
        s, meta, m = self.s, self.meta, self.report.methodology
        self.story += [
            Spacer(1, 55 * mm),
            _p("测评报告", s.title),
            Spacer(1, 8 * mm),
            _p(meta.round_name, s.subtitle),
            _p(round_kind_word(meta.round_kind), s.subtitle),
            Spacer(1, 22 * mm),
            _p(scope_line, s.cover),
        ]
        if scope != meta.area_name:
            self.story.append(_p(f"测评范围：{meta.area_name}", s.cover))
        if meta.compared_round_name:
            self.story.append(_p(f"对比轮次：{meta.compared_round_name}", s.cover))
        if own is not None:
            # The report counts respondents per indicator; the largest count is the unit's sample.
            counted = max((r.n for r in own), default=0)
            self.story.append(_p(f"本单位样本量：{counted} 份", s.cover))
        # A unit's report carries the unit's own counts (console/results.py cuts them).
        label = "有效答卷" if own is None else "本单位有效答卷"
        self.story += [
            _p(f"{label}：{m.n_used} 份（共收到 {m.n_rows} 份）", s.cover),
            _p(f"生成日期：{_date(meta)}", s.cover),
            PageBreak(),
        ]

    # indicator tables --------------------------------------------------------------
    def summary_table(self, rows: Sequence[IndicatorResult]) -> Table:
        s = self.s
        header = ["指标", "比率", f"{self.level_text}置信区间", "目标", "判定", "样本量 n", "设计效应"]
        body, extra = [], []
        for i, r in enumerate(rows, start=1):
            body.append([
                Paragraph(escape(r.name), s.cell),
                format_value(r.rate, r.kind),
                format_interval(r.ci_low, r.ci_high, r.kind),
                format_target(r.target, r.kind),
                verdict_word(r.verdict),
                str(r.n),
                _deff(r.estimate.deff),
            ])
            extra.append(("TEXTCOLOR", (4, i), (4, i), _verdict_colour(r.verdict)))
        extra.append(("ALIGN", (4, 0), (4, -1), "CENTER"))
        widths = [w * mm for w in (52, 19, 33, 15, 15, 19, 17)]
        return _table(header, body, widths, s, extra)

    def unit_table(self, rows: Sequence[IndicatorResult], unit_header: str) -> Table:
        """Rows of many units: the unit's name on its first row only."""
        s = self.s
        # Group by unit (the report lists them indicator by indicator), units in order of appearance.
        order: dict[str | None, int] = {}
        for r in rows:
            order.setdefault(r.domain, len(order))
        rows = sorted(rows, key=lambda r: order[r.domain])
        header = [unit_header, "指标", "比率", f"{self.level_text}区间", "目标", "判定", "n", "设计效应"]
        body, extra, previous = [], [], object()
        for i, r in enumerate(rows, start=1):
            first = r.domain != previous
            previous = r.domain
            # The name on every row (a unit's rows may continue on the next page), grey when repeated.
            body.append([
                Paragraph(escape(r.domain_name or self.name(r.domain)), s.cell if first else s.cell_repeat),
                Paragraph(escape(r.name), s.cell),
                format_value(r.rate, r.kind),
                format_interval(r.ci_low, r.ci_high, r.kind),
                format_target(r.target, r.kind),
                verdict_word(r.verdict),
                str(r.n),
                _deff(r.estimate.deff),
            ])
            extra.append(("TEXTCOLOR", (5, i), (5, i), _verdict_colour(r.verdict)))
            if first and i > 1:
                extra.append(("LINEABOVE", (0, i), (-1, i), 0.4, _RULE))
        extra.append(("ALIGN", (5, 0), (5, -1), "CENTER"))
        widths = [w * mm for w in (30, 38, 16, 31, 13, 14, 13, 15)]
        return _table(header, body, widths, s, extra, numeric_from=2)

    def verdict_sentence(self, rows: Sequence[IndicatorResult]) -> str:
        with_target = [r for r in rows if r.verdict is not None]
        counts = {v: sum(r.verdict == v for r in with_target) for v in VERDICTS}
        text = (f"共 {len(rows)} 项指标，其中 {len(with_target)} 项设有目标："
                + "，".join(f"{VERDICTS[v].zh} {counts[v]} 项" for v in ("pass", "undecided", "fail")))
        if counts["insufficient"]:
            text += f"，{VERDICTS['insufficient'].zh}、暂不判定 {counts['insufficient']} 项"
        return text + "。"

    def indicators(self, title: str, rows: Sequence[IndicatorResult], chart_title: str) -> None:
        s = self.s
        self.heading(title)
        if not rows:
            self.story.append(_p("本单位尚无有效答卷，无法计算指标。", s.body))
            return
        self.story.append(_p(self.verdict_sentence(rows), s.body))
        self.story.append(_p(
            f"比率后为{self.level_text}置信区间。判定看区间而不看单个数字：区间下限不低于目标为“{_V['pass']}”，"
            f"区间上限低于目标为“{_V['fail']}”，区间包含目标为“{_V['undecided']}”（还需增加答卷）；"
            f"有效回答少于 {self.report.methodology.verdict_rule.min_n} 份或区间过宽的，"
            f"标为“{_V['insufficient']}”，不作判定。",
            s.note))
        self.story.append(self.summary_table(rows))
        self.story.append(Spacer(1, 4 * mm))
        self.story.append(_chart(rates_chart(rows, chart_title, level=self.report.methodology.level)))

    def many_units(self, title: str, rows: Sequence[IndicatorResult], unit_header: str) -> None:
        if not rows:
            return
        self.heading(title)
        self.story.append(self.unit_table(rows, unit_header))

    # ranking ----------------------------------------------------------------------
    def basis_text(self) -> str:
        basis = self.report.ranking_basis
        if basis == "composite":
            return "全部比率指标的等权综合得分（各指标比率的平均）"
        names = {r.key: r.name for r in self.report.overall}
        return f"“{names.get(basis, basis)}”的比率"

    def ranking(self, codes: set[str] | None) -> None:
        """The league table (all units, or only ``codes``: a unit's own rows)."""
        s, ranking = self.s, self.report.ranking
        if not ranking:
            return
        shown = [r for r in ranking if codes is None or r.unit in codes]
        if not shown:
            return
        self.heading("单位排名")
        total = len(ranking)
        self.story.append(_p(
            f"按{self.basis_text()}对全部 {total} 个单位排名。名次区间是考虑抽样误差后该单位可能的名次范围"
            f"（{self.level_text}）。名次区间相互重叠的单位无法区分先后，不能据此说一个单位好于另一个。"
            "只有区间不重叠时，先后才有统计依据。", s.body))
        if codes is None:
            leaders = sum(r.rank_low == 1 for r in ranking)
            laggards = sum(r.rank_high == total for r in ranking)
            self.story.append(_p(
                f"本次共有 {leaders} 个单位的名次区间包含第 1 名，{laggards} 个单位的名次区间包含末位"
                f"（第 {total} 名）。", s.body))
        header = ["名次", "名次区间", "单位", "得分", "样本量"]
        body = [[str(r.rank), f"{r.rank_low}–{r.rank_high}", Paragraph(escape(self.name(r.unit)), s.cell),
                 format_value(r.score, "rate"), str(r.n)] for r in shown]
        widths = [w * mm for w in (16, 24, 70, 26, 24)]
        table = _table(header, body, widths, s, [("ALIGN", (0, 0), (1, -1), "CENTER"),
                                                 ("ALIGN", (2, 0), (2, -1), "LEFT")])
        self.story.append(table)
        if codes is None or len(shown) > 1:
            self.story.append(Spacer(1, 4 * mm))
            self.story.append(_chart(ranking_chart(shown, self.report.unit_names, "单位排名与名次区间")))

    # weak items -------------------------------------------------------------------
    def weak_items(self, codes: set[str | None] | None) -> None:
        """问题清单: the report's weak items, or a unit's rows that did not pass."""
        s, report = self.s, self.report
        more = {(r.key, r.domain): more_needed_words(r) for r in (*report.overall, *report.by_street, *report.by_unit)}
        if codes is None:
            items = [(w.key, w.name, w.domain, w.domain_name, w.rate, w.ci_low, w.ci_high, w.target,
                      w.verdict, w.dont_know_share) for w in report.weak_items]
        else:
            listed = {(w.key, w.domain): w for w in report.weak_items if w.domain in codes}
            items = [(w.key, w.name, w.domain, w.domain_name, w.rate, w.ci_low, w.ci_high, w.target,
                      w.verdict, w.dont_know_share) for w in listed.values()]
            for r in self.unit_rows:
                if r.kind == "rate" and r.verdict in ("fail", "undecided", "insufficient") \
                        and (r.key, r.domain) not in listed:
                    items.append((r.key, r.name, r.domain, r.domain_name, r.rate, r.ci_low, r.ci_high,
                                  r.target, r.verdict, None))
            items.sort(key=lambda t: t[4] - (t[7] or 0.0))
        self.heading("问题清单")
        if not items:
            rows = self.unit_rows if codes is not None else (*report.overall, *report.by_street, *report.by_unit)
            unjudged = sum(r.verdict == "insufficient" for r in rows)
            self.story.append(_p(
                f"没有经数据证实{_V['fail']}或{_V['undecided']}的指标；另有 {unjudged} 项结果{_V['insufficient']}、"
                "暂不判定，见上文各表。"
                if unjudged else f"没有{_V['fail']}、{_V['undecided']}或{_V['insufficient']}的指标。", s.body))
            return
        self.story.append(_p(
            "比率最低（与目标差距最大）的指标，以及回答“不了解”较多的指标，按与目标的差距排列。"
            f"“{_V['undecided']}”“{_V['insufficient']}”的指标按目前的比率估计，再调查所示份数即可下结论。", s.body))
        header = ["单位", "指标", "比率", f"{self.level_text}区间", "目标", "判定", "不了解", "再需样本"]
        body, extra = [], []
        for i, (key, name, domain, domain_name, rate, low, high, target, verdict, dk) in enumerate(items, 1):
            needed = more.get((key, domain))
            body.append([
                Paragraph(escape(domain_name or self.name(domain)), s.cell),
                Paragraph(escape(name), s.cell),
                format_value(rate), format_interval(low, high), format_target(target),
                verdict_word(verdict),
                format_value(dk) if dk is not None else "—",
                needed or "—",
            ])
            extra.append(("TEXTCOLOR", (5, i), (5, i), _verdict_colour(verdict)))
        widths = [w * mm for w in (28, 33, 15, 31, 12, 15, 13, 21)]
        self.story.append(_table(header, body, widths, s, extra, numeric_from=2))

    # change -----------------------------------------------------------------------
    def changes(self, codes: set[str | None] | None) -> None:
        s, report = self.s, self.report
        rows = [c for c in report.changes if codes is None or c.domain in codes]
        if not rows:
            return
        before_name = self.meta.compared_round_name or "上轮"
        self.heading("与上轮比较")
        self.story.append(_p(
            f"与“{before_name}”相比。变化以百分点计，后附其{self.level_text}置信区间；区间不包含 0 时"
            "变化显著（不是抽样误差造成的），否则只能说“无显著变化”。", s.body))
        headline = [c for c in rows if c.domain is None] if codes is None else rows
        self.story.append(self.change_table(headline, with_unit=codes is not None and len(codes) > 1))
        self.story.append(Spacer(1, 4 * mm))
        self.story.append(_chart(change_chart(headline[:40], f"与“{before_name}”比较")))
        if codes is None:
            units = [c for c in rows if c.domain is not None and c.significant]
            if units:
                self.story.append(_p("各单位中变化显著的指标", s.h2))
                shown = sorted(units, key=lambda c: -abs(c.difference.difference))[:UNIT_CHANGES_LISTED]
                if len(units) > len(shown):
                    self.story.append(_p(
                        f"共 {len(units)} 项单位指标变化显著，下表列出变化最大的 {len(shown)} 项；"
                        "各单位的全部变化见该单位的报告。", s.body))
                self.story.append(self.change_table(shown, with_unit=True))

    def change_table(self, rows: Sequence[ChangeRow], with_unit: bool) -> Table:
        s = self.s
        header = (["单位"] if with_unit else []) + ["指标", "上轮", "本轮", "变化（百分点）",
                                                   f"{self.level_text}区间", "判断"]
        body, extra = [], []
        for i, c in enumerate(rows, start=1):
            d = c.difference
            verdict = ("显著上升" if d.difference > 0 else "显著下降") if d.significant else "无显著变化"
            colour = (_RISE if d.difference > 0 else _FALL) if d.significant else _MUTED
            body.append(([Paragraph(escape(c.domain_name or self.name(c.domain)), s.cell)] if with_unit else [])
                        + [Paragraph(escape(c.name), s.cell), format_value(d.before), format_value(d.after),
                           f"{100 * d.difference:+.1f}", f"{100 * d.low:+.1f} 至 {100 * d.high:+.1f}", verdict])
            extra.append(("TEXTCOLOR", (-1, i), (-1, i), colour))
        widths = [44, 18, 18, 24, 34, 22]
        if with_unit:
            widths = [28, 34, 15, 15, 22, 34, 22]
        return _table(header, body, [w * mm for w in widths], s, extra,
                      numeric_from=2 if with_unit else 1)

    # methodology ------------------------------------------------------------------
    def methodology(self) -> None:
        s, m = self.s, self.report.methodology
        self.heading("计算方法")
        dropped = m.n_rows - m.n_used
        self.story.append(_p(
            f"样本：共收到答卷 {m.n_rows} 份，剔除 {dropped} 份，用于计算的有效答卷 {m.n_used} 份。"
            "各指标的样本量 n 不含回答“不了解”“说不清”等不计入分母的答案，因此可能小于有效答卷数。", s.body))
        reasons = [(k, v) for k, v in m.exclusions.items()]
        if reasons:
            body = [[exclusion_word(k), str(v)] for k, v in reasons]
            table = _table(["剔除原因", "份数"], body, [90 * mm, 25 * mm], s)
            table.hAlign = "LEFT"
            self.story.append(KeepTogether([
                _p("剔除的答卷（一份答卷可能同时符合多项原因）：", s.body), table, Spacer(1, 3 * mm)]))
        self.story.append(_p(weighting_words(m), s.body))
        method = interval_method_words(m.ci_method)
        self.story.append(_p(f"置信区间（{self.level_text}）：{method}{INTERVAL_CAP_WORDS}", s.body))
        design = ("抽样设计：按街道分层（每个街道都有调查），不分群；受访者通过扫码或访员逐一调查。"
                  "标准误按分层设计用泰勒线性化方法计算（与 R 语言 survey 包一致）。"
                  if m.design == _DEFAULT_DESIGN else f"抽样设计：{m.design}")
        self.story.append(_p(design, s.body))
        self.story.append(_p(verdict_rule_words(m.verdict_rule), s.body))
        if any(r.kind == "index" for r in self.report.overall):
            self.story.append(_p(
                "满意度指数：各受访者满意程度得分（0–100 分）的加权平均，区间按设计自由度用 t 分布计算。", s.body))
        if self.report.ranking:
            self.story.append(_p(
                f"排名：按{self.basis_text()}排名。名次区间用参数自助法模拟 10,000 次得到"
                "（Goldstein 与 Spiegelhalter，1996）；综合得分的标准误取各指标标准误的加权和，"
                "这是指标相关时的上界，因此名次区间偏宽、结论偏稳妥。", s.body))
        self.story.append(_p("设计效应：实际方差与同样本量简单随机抽样方差之比；"
                             "大于 1 表示加权或分层使精度下降。", s.note))


def _numbered_canvas(font: str, left_text: str):
    class NumberedCanvas(pdfcanvas.Canvas):
        """Defers pages so that the footer can say "第 x 页 / 共 y 页"."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(font, 8.5)
                self.setFillColor(_MUTED)
                self.setStrokeColor(_RULE)
                self.setLineWidth(0.5)
                y = MARGIN_BOTTOM - 8 * mm
                self.line(MARGIN_X, y + 4 * mm, PAGE_WIDTH - MARGIN_X, y + 4 * mm)
                self.drawString(MARGIN_X, y, left_text)
                self.drawRightString(PAGE_WIDTH - MARGIN_X, y, f"第 {self._pageNumber} 页 / 共 {total} 页")
                super().showPage()
            super().save()

    return NumberedCanvas


def _own_rows(report: Report, unit: str) -> list[IndicatorResult]:
    # A street's rows are in by_street; prefer them over by_unit rows with the same
    # code (responses collected at street level), so no indicator appears twice.
    street = [r for r in report.by_street if r.domain == unit]
    return street or [r for r in report.by_unit if r.domain == unit]


def report_pdf(
    report: Report,
    meta: ReportMeta,
    unit: str | None = None,
    *,
    sub_units: Sequence[str] = (),
) -> bytes:
    """Render the round's rate report (``unit`` None) or one unit's report as PDF bytes.

    A unit's report holds its own rows and, for a street, the rows of
    ``sub_units`` (the codes of its communities, in display order; the report
    itself does not know which community belongs to which street), their
    ranking rows, weak items and changes -- no other unit's numbers. The
    methodology is the round's.
    """
    font = register_reportlab_cjk_font()
    styles = _Styles(font)
    b = _Builder(report, meta, styles)
    kind = round_kind_word(meta.round_kind)
    if unit is None:
        b.cover(meta.area_name, f"测评范围：{meta.area_name}")
        b.indicators("总体结果", report.overall, f"{meta.area_name}各项指标")
        b.many_units("各街道结果", report.by_street, "街道")
        b.many_units("各社区结果", report.by_unit, "社区")
        b.ranking(None)
        b.weak_items(None)
        b.changes(None)
        scope = meta.area_name
    else:
        name = b.name(unit)
        level_code = meta.unit_levels.get(unit, "")
        level = UNIT_LEVELS[level_code].zh if level_code in UNIT_LEVELS else "单位"
        own = _own_rows(report, unit)
        children = [r for code in sub_units if code != unit for r in report.by_unit if r.domain == code]
        b.unit_rows = [*own, *children]
        b.cover(name, f"{level}：{name}", own)
        b.indicators(f"{name}结果", own, f"{name}各项指标")
        b.many_units("下属社区结果", children, "社区")
        codes = {unit, *sub_units}
        b.ranking(codes)
        b.weak_items(codes)
        b.changes(codes)
        scope = name
    b.methodology()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM, title=f"测评报告 {meta.round_name} {scope}", author="Minyi",
        subject=f"{meta.round_name}（{kind}）",
    )
    doc.build(b.story, canvasmaker=_numbered_canvas(font, f"{meta.round_name} · {scope} · 测评报告"))
    return buf.getvalue()
