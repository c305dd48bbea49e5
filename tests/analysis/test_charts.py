"""Charts of the rate report: Figures (no pyplot), PNG/SVG bytes, Chinese without boxes."""

from __future__ import annotations

import ast
import io
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from analysis import charts
from analysis.charts import (
    change_chart,
    figure_png,
    figure_svg,
    ranking_chart,
    rates_chart,
)
from analysis.fonts import PROBE_TEXT, chart_rc, cjk_font_family
from analysis.report import IndicatorSpec, ReportInput, build_report
from analysis.vocabulary import verdict_term

GLYPH_MISSING = "missing from font"


def _input(seed: int, shift: float = 0.0, units: int = 6, n: int = 900) -> ReportInput:
    rng = np.random.default_rng(seed)
    codes = [f"C{i}" for i in range(1, units + 1)]
    unit = rng.choice(codes, n)
    street = np.where(np.isin(unit, codes[: units // 2]), "S1", "S2")
    specs, values, dont_know = [], {}, {}
    for k, (name, p) in enumerate([("知晓率", 0.93), ("满意率", 0.78), ("参与率", 0.5)]):
        v = (rng.random(n) < p + shift).astype(float)
        dk = rng.random(n) < 0.05
        v[dk] = np.nan
        specs.append(IndicatorSpec(f"q{k}", name, 0.8))
        values[f"q{k}"], dont_know[f"q{k}"] = v, dk
    specs.append(IndicatorSpec("idx", "满意度指数", None, "index"))
    values["idx"] = rng.choice([100.0, 75.0, 50.0, 25.0, 0.0], n)
    dont_know["idx"] = np.zeros(n, bool)
    return ReportInput(
        indicators=specs, values=values, dont_know=dont_know, unit=unit, street=street,
        gender=rng.choice(["male", "female"], n), age_group=rng.choice(["18_44", "45_plus"], n),
        excluded=np.zeros(n, bool), exclusions={"screened_out": 0},
        unit_names={c: f"第{c[1:]}社区" for c in codes}, street_names={"S1": "甲街道", "S2": "乙街道"},
    )


@pytest.fixture(scope="module")
def report():
    return build_report(_input(1), previous=build_report(_input(2, shift=-0.08)))


def _all_charts(report):
    overall_changes = [c for c in report.changes if c.domain is None]
    return [
        rates_chart(report.overall, "全区各项指标"),
        ranking_chart(report.ranking, report.unit_names, "单位排名与名次区间"),
        change_chart(overall_changes, "与上轮比较"),
    ]


def test_the_fixture_has_passing_and_failing_indicators(report):
    # The colour test below proves little unless the rows differ in verdict.
    assert {"pass", "fail", None} <= {r.verdict for r in report.overall}


def test_charts_are_figures_and_png_bytes_decode(report):
    for fig in _all_charts(report):
        assert isinstance(fig, Figure)
        png = figure_png(fig, dpi=80)
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.format == "PNG"
        width, height = fig.get_size_inches()
        assert abs(image.size[0] - width * 80) <= 1 and abs(image.size[1] - height * 80) <= 1
        svg = figure_svg(fig)
        assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg


def test_no_glyph_is_missing_when_chinese_is_drawn(report):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in _all_charts(report):
            figure_png(fig, dpi=60)
            figure_svg(fig)
    missing = [str(w.message) for w in caught if GLYPH_MISSING in str(w.message)]
    assert not missing, missing


def test_the_glyph_check_would_catch_a_latin_only_font():
    # Without the CJK font, Matplotlib warns for every Hanzi: the test above can fail.
    fig = Figure()
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig.add_subplot().set_title("达标")
        with pytest.warns(UserWarning, match=GLYPH_MISSING):
            fig.savefig(io.BytesIO(), format="png")


def test_a_cjk_font_is_found_and_covers_the_labels():
    family = cjk_font_family()
    assert family is not None
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    charmap = FT2Font(path).get_charmap()
    assert all(ord(ch) in charmap for ch in PROBE_TEXT)
    assert chart_rc()["axes.unicode_minus"] is False


def test_charts_leave_global_rcparams_alone(report):
    before = (list(matplotlib.rcParams["font.family"]), matplotlib.rcParams["axes.unicode_minus"])
    figure_png(_all_charts(report)[0], dpi=50)
    assert (list(matplotlib.rcParams["font.family"]), matplotlib.rcParams["axes.unicode_minus"]) == before


def test_rate_bars_are_coloured_by_verdict_and_labelled_in_order(report):
    rows = report.overall
    fig = rates_chart(rows, "全区")
    ax = fig.axes[0]
    bars = ax.patches[: len(rows)]
    # Rows are drawn top to bottom: the first row has the highest y.
    by_y = sorted(bars, key=lambda b: -b.get_y())
    assert [to_hex(b.get_facecolor()) for b in by_y] == [verdict_term(r.verdict).colour for r in rows]
    scale = [100.0 if r.kind == "rate" else 1.0 for r in rows]
    assert [b.get_width() for b in by_y] == pytest.approx([r.rate * s for r, s in zip(rows, scale)])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [r.name for r in rows]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"达标", "未达标", "目标"} <= set(legend)


def test_ranking_chart_lists_units_best_first_with_rank_intervals(report):
    fig = ranking_chart(report.ranking, report.unit_names, "排名")
    left, right = fig.axes[:2]
    labels = [t.get_text() for t in left.get_yticklabels()]
    assert labels == [report.unit_names[r.unit] for r in report.ranking]
    spans = sorted(([tuple(line.get_xdata()) for line in right.get_lines()]), key=lambda s: s)
    assert sorted((r.rank_low, r.rank_high) for r in report.ranking) == [tuple(s) for s in spans]
    assert "无法区分先后" in fig.legends[0].get_title().get_text()


def test_a_few_units_drawn_keep_their_area_wide_ranks_on_the_axis(report):
    # A street's page draws its own communities, ranked among the whole area's.
    tail = report.ranking[-2:]
    fig = ranking_chart(tail, report.unit_names, "排名")
    right = fig.axes[1]
    assert right.get_xlim()[1] >= max(r.rank_high for r in tail) + 0.5
    assert all(point[0] <= right.get_xlim()[1] for line in right.get_lines() for point in line.get_xydata())


def test_change_chart_marks_significance(report):
    changes = [c for c in report.changes if c.domain is None]
    fig = change_chart(changes, "变化")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for c in changes:
        expected = f"{100 * c.difference.difference:+.1f}个百分点"
        assert any(t.startswith(expected) and (("不显著" in t) != c.significant) for t in texts), expected


def test_empty_inputs_still_give_a_figure():
    for fig in (rates_chart([], "空"), ranking_chart([], {}, "空"), change_chart([], "空")):
        assert Image.open(io.BytesIO(figure_png(fig, dpi=40))).format == "PNG"


def test_charts_module_never_uses_pyplot():
    source = Path(charts.__file__).read_text(encoding="utf-8")
    names = [n.module or "" for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names]
    assert not [n for n in names if "pyplot" in n]
