"""Charts of a rate report: rates against targets, units ranked, change between rounds.

Every function takes result objects from :mod:`analysis.report` and returns a
:class:`matplotlib.figure.Figure` (never ``pyplot``: no global state, safe in
a web server's threads); :func:`figure_png` and :func:`figure_svg` turn it
into bytes. Labels are Chinese: the figures are built and saved under
:func:`analysis.fonts.chart_rc`, so Hanzi never render as boxes.

Rates (in [0, 1]) are drawn as percentages; a satisfaction index is already on
0-100, so both share one 0-100 axis.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from scipy import stats

from .fonts import chart_rc
from .ranking import RankedUnit
from .report import ChangeRow, IndicatorResult
from .vocabulary import INDICATOR_KINDS, VERDICTS, verdict_term

__all__ = [
    "change_chart",
    "figure_png",
    "figure_svg",
    "ranking_chart",
    "rates_chart",
]

# Verdicts are drawn in their colours (analysis.vocabulary), a rise and a fall in those of pass and fail.
_UP, _DOWN, _FLAT = VERDICTS["pass"].colour, VERDICTS["fail"].colour, "#757575"
#: The legend lists verdicts in this order (the scale from good to bad, then no target).
_LEGEND_ORDER = ("pass", "undecided", "fail", "insufficient", None)
_INK = "#212121"


def _rc() -> dict[str, object]:
    """rcParams for building and saving a chart: the CJK fonts, and no mathtext.

    Names come from the office (rounds, units, indicators): a ``$`` in one
    must print as a dollar sign, not start a formula (``$\\x$`` would stop
    the chart from rendering at all). Texts created under these settings
    keep ``parse_math`` off; :func:`_literal_text` makes sure of it.
    """
    return {**chart_rc(), "text.parse_math": False}


def _literal_text(fig: Figure) -> None:
    """Every text of ``fig`` -- titles, tick labels, annotations, legends --
    without mathtext and in the CJK font.

    ``rc_context`` alone is not enough in a threaded server: rcParams are
    global, and another thread leaving its context restores ``parse_math``
    (and the default font) while this figure is being built. Done right
    before drawing, so every text that will be drawn is covered.
    """
    families = chart_rc()["font.family"]
    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_fontfamily(families)


def _scale(row_kind: str) -> float:
    return 100.0 if row_kind == "rate" else 1.0


def _value_text(value: float, kind: str) -> str:
    return f"{100 * value:.1f}%" if kind == "rate" else f"{value:.1f}"


def _row_label(name: str, domain_name: str | None, with_domain: bool) -> str:
    return f"{domain_name or ''} · {name}" if with_domain and domain_name else name


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _empty(fig: Figure, title: str, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=_FLAT)
    return fig


def rates_chart(rows: Sequence[IndicatorResult], title: str, level: float = 0.95) -> Figure:
    """Horizontal bars of rates with their intervals and targets.

    Parameters
    ----------
    rows : sequence of IndicatorResult
        Indicators to draw, top to bottom. Rows of several domains are
        labelled "unit · indicator".
    title : str
    level : float, default 0.95
        Level of the rows' intervals (``Methodology.level``), for the legend.

    Returns
    -------
    Figure
        Bars coloured by verdict (达标 green, 待定 amber, 未达标 red, 样本不足 pale grey, no target
        grey), the interval as an error bar, the target as a black tick.
    """
    with matplotlib.rc_context(_rc()):
        fig = _new_figure(7.5, 1.3 + 0.28 * max(len(rows), 1))
        if not rows:
            return _empty(fig, title, "没有可显示的指标")
        ax = fig.add_subplot()
        with_domain = len({r.domain for r in rows}) > 1
        ys = list(range(len(rows)))[::-1]
        values = [r.rate * _scale(r.kind) for r in rows]
        lows = [max(0.0, v - r.ci_low * _scale(r.kind)) for v, r in zip(values, rows)]
        highs = [max(0.0, r.ci_high * _scale(r.kind) - v) for v, r in zip(values, rows)]
        ax.barh(ys, values, height=0.62, color=[verdict_term(r.verdict).colour for r in rows],
                xerr=[lows, highs], error_kw={"ecolor": _INK, "elinewidth": 1.0, "capsize": 3})
        targets = [(y, r.target * _scale(r.kind)) for y, r in zip(ys, rows) if r.target is not None]
        if targets:
            ax.scatter([t for _, t in targets], [y for y, _ in targets], marker="|", s=420,
                       linewidths=2.2, color=_INK, zorder=4)
        # Values in a column right of 100, clear of the bars, intervals and targets.
        for y, r in zip(ys, rows):
            ax.text(113, y, _value_text(r.rate, r.kind), va="center", ha="right", fontsize=8,
                    color=verdict_term(r.verdict).ink)
        ax.set_yticks(ys, [_row_label(r.name, r.domain_name, with_domain) for r in rows])
        ax.set_xlim(0, 114)
        ax.set_xticks(range(0, 101, 20))
        kinds = {r.kind for r in rows}
        rate, index = INDICATOR_KINDS["rate"].zh, INDICATOR_KINDS["index"].zh
        ax.set_xlabel(f"{rate}（%）" if kinds == {"rate"} else f"{rate}（%）／{index}（分）")
        ax.set_title(title)
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        used = [v for v in _LEGEND_ORDER if any(r.verdict == v for r in rows)]
        handles = [Patch(color=verdict_term(v).colour, label=verdict_term(v).zh) for v in used]
        handles.append(Line2D([], [], color=_INK, linewidth=1.0, label=f"{100 * level:g}%置信区间"))
        if targets:
            handles.append(Line2D([], [], color=_INK, marker="|", markersize=12, linestyle="none",
                                  markeredgewidth=2.2, label="目标"))
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False,
                   fontsize=8)
    return fig


def ranking_chart(ranking: Sequence[RankedUnit], unit_names: Mapping[str, str], title: str) -> Figure:
    """Units in rank order: score with its interval (left), rank interval (right).

    Parameters
    ----------
    ranking : sequence of RankedUnit
        The league table, best first.
    unit_names : mapping of unit code -> display name
    title : str

    Returns
    -------
    Figure
        Right panel: a bar from each unit's best to worst plausible rank with
        the point rank as a dot. Units whose rank intervals overlap cannot be
        told apart; the shaded band shows which units could be first.
    """
    with matplotlib.rc_context(_rc()):
        n = len(ranking)
        fig = _new_figure(7.5, 1.6 + 0.2 * max(n, 1))
        if not ranking:
            return _empty(fig, title, "单位不足两个，无法排名")
        left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.25])
        ys = list(range(n))[::-1]
        level = ranking[0].level
        z = _normal_quantile(level)
        scores = [100 * r.score for r in ranking]
        half = [100 * z * r.se for r in ranking]
        could_lead = [r.rank_low == 1 for r in ranking]
        colours = ["#1565c0" if lead else "#78909c" for lead in could_lead]
        left.errorbar(scores, ys, xerr=half, fmt="none", ecolor="#b0bec5", elinewidth=2.0)
        left.scatter(scores, ys, color=colours, s=14, zorder=3)
        left.set_xlabel(f"综合得分（%），{100 * level:g}%区间")
        left.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        left.set_yticks(ys, [unit_names.get(r.unit, r.unit) for r in ranking],
                        fontsize=7 if n > 30 else 8)
        for y, r, c in zip(ys, ranking, colours):
            right.plot([r.rank_low, r.rank_high], [y, y], color=c, linewidth=3.0, alpha=0.45,
                       solid_capstyle="butt")
            right.scatter([r.rank], [y], color=c, s=14, zorder=3)
        # Ranks are among all the area's units even when only some are drawn
        # (a street's own communities): the axis reaches the worst rank shown.
        last = max(n, *(r.rank_high for r in ranking))
        right.set_xlim(0.5, last + 0.5)
        right.set_xlabel(f"名次及其{100 * level:g}%区间（1 = 最好）")
        right.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        step = max(1, math.ceil(last / 10))
        right.set_xticks(sorted({1, *range(step, last + 1, step)}))
        for ax in (left, right):
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_ylim(-0.8, n - 0.2)
        fig.suptitle(title)
        leaders = sum(could_lead)
        handles = [
            Line2D([], [], color="#1565c0", linewidth=3, alpha=0.6, label=f"可能排第1（{leaders}个）"),
            Line2D([], [], color="#78909c", linewidth=3, alpha=0.6, label="其他单位"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=8,
                   title="名次区间重叠的单位无法区分先后", title_fontsize=8)
    return fig


def _normal_quantile(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def change_chart(changes: Sequence[ChangeRow], title: str) -> Figure:
    """Before -> after per indicator, coloured by whether the change is significant.

    Parameters
    ----------
    changes : sequence of ChangeRow
        Rate indicators compared with an earlier round.
    title : str

    Returns
    -------
    Figure
        A grey dot for the earlier round, an arrow to this round's rate: green
        for a significant rise, red for a significant fall, grey when the
        interval of the change includes 0. The change in percentage points is
        printed at the arrow's head.
    """
    with matplotlib.rc_context(_rc()):
        fig = _new_figure(7.5, 1.3 + 0.28 * max(len(changes), 1))
        if not changes:
            return _empty(fig, title, "没有可比较的指标")
        ax = fig.add_subplot()
        with_domain = len({c.domain for c in changes}) > 1
        ys = list(range(len(changes)))[::-1]
        for y, c in zip(ys, changes):
            d = c.difference
            before, after = 100 * d.before, 100 * d.after
            colour = (_UP if d.difference > 0 else _DOWN) if d.significant else _FLAT
            ax.scatter([before], [y], color="#bdbdbd", s=30, zorder=3)
            if abs(after - before) > 1e-9:
                ax.annotate("", xy=(after, y), xytext=(before, y),
                            arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.6,
                                        "shrinkA": 3, "shrinkB": 0})
            ax.scatter([after], [y], color=colour, s=30, zorder=4)
            text = f"{100 * d.difference:+.1f}个百分点" + ("" if d.significant else "（不显著）")
            ax.text(max(before, after) + 1.5, y, text, va="center", fontsize=8, color=colour)
        ax.set_yticks(ys, [_row_label(c.name, c.domain_name, with_domain) for c in changes])
        lo = min(min(c.difference.before, c.difference.after) for c in changes) * 100
        ax.set_xlim(max(0.0, lo - 8), 128)
        ax.set_xticks([t for t in range(0, 101, 10) if t >= max(0.0, lo - 8)])
        ax.set_xlabel(f"{INDICATOR_KINDS['rate'].zh}（%）")
        ax.set_title(title)
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        handles = [
            Line2D([], [], color="#bdbdbd", marker="o", linestyle="none", label="上轮"),
            Line2D([], [], color=_UP, marker="o", label="显著上升"),
            Line2D([], [], color=_DOWN, marker="o", label="显著下降"),
            Line2D([], [], color=_FLAT, marker="o", label="变化不显著"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=8)
    return fig


def figure_png(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes at ``dpi`` (the fonts of :func:`chart_rc` applied)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_rc()):
        _literal_text(fig)
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def figure_svg(fig: Figure) -> bytes:
    """The figure as SVG bytes, text drawn as paths (no font needed to view it)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_rc()):
        _literal_text(fig)
        fig.savefig(buf, format="svg", facecolor="white")
    return buf.getvalue()
