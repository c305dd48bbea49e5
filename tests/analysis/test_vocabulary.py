"""One vocabulary: every code the analysis produces has its words (and colours)
in analysis.vocabulary, and no other module defines them again."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex

from analysis import integrity, intervals, targets
from analysis.charts import rates_chart
from analysis.report import IndicatorSpec, ReportInput, build_report
from analysis.textfile import TEXT_ENCODINGS, decode_text, with_text_encoding
from analysis.vocabulary import (
    INDICATOR_KINDS,
    INTERVAL_METHODS,
    NO_TARGET,
    QUALITY_FLAGS,
    VERDICTS,
    Term,
    Terms,
    verdict_term,
)

ROOT = Path(__file__).resolve().parents[2]
HEX = re.compile(r"#[0-9a-f]{6}")


def _words(term: Term) -> None:
    assert term.zh and term.en, term
    assert not term.zh.isascii() or term.zh == term.en, f"{term.code}: the Chinese label is English"


def test_the_integrity_flags_are_the_vocabulary_s_in_its_order():
    assert integrity.FLAGS == QUALITY_FLAGS.codes
    for code in integrity.FLAGS:
        _words(QUALITY_FLAGS[code])


def test_every_flag_the_scorer_sets_has_words_and_every_flag_is_set_somewhere():
    # The scorer sets flags as string keys of ``found[...]`` in analysis/integrity.py.
    source = (ROOT / "analysis" / "integrity.py").read_text(encoding="utf-8")
    set_there = {a or b for a, b in re.findall(r'found\[[\w.]+(?:\[\w+\])?\](?:\["([a-z_]+)"\]|\.setdefault\("([a-z_]+)")', source)}
    assert set_there == set(QUALITY_FLAGS)


def test_every_verdict_has_words_and_colours():
    assert VERDICTS.codes == targets.VERDICTS
    assert set(VERDICTS) == set(typing.get_args(targets.Verdict))
    for term in (*VERDICTS.values(), NO_TARGET):
        _words(term)
        assert HEX.fullmatch(term.colour) and HEX.fullmatch(term.ink), term
    assert all(HEX.fullmatch(t.tint) for t in VERDICTS.values())
    assert len({t.colour for t in VERDICTS.values()} | {NO_TARGET.colour}) == len(VERDICTS) + 1
    assert verdict_term(None) is NO_TARGET and verdict_term("fail") is VERDICTS["fail"]


def test_every_interval_method_has_a_name_and_an_explanation():
    assert INTERVAL_METHODS.codes == intervals.CI_METHODS
    assert intervals.DEFAULT_CI_METHOD in INTERVAL_METHODS
    for term in INTERVAL_METHODS.values():
        assert term.zh and term.en and term.detail and not term.detail.isascii()


def test_indicator_kinds_cover_every_kind_the_analysis_compares_with():
    used = {kind for path in (ROOT / "analysis").glob("*.py")
            for kind in re.findall(r'\b(?:r|row|s|spec)\.kind [!=]= "([a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert used and used <= set(INDICATOR_KINDS), used
    assert INDICATOR_KINDS["index"].zh == "指数"


def test_terms_look_up_by_code_and_refuse_duplicates():
    assert list(VERDICTS) == ["pass", "fail", "undecided", "insufficient"]
    assert VERDICTS.zh("pass") == "达标" and VERDICTS.zh("unknown") == "unknown"
    with pytest.raises(ValueError):
        Terms(Term("a", "甲", "a"), Term("a", "乙", "b"))


def test_the_rates_chart_draws_each_verdict_in_its_colours_and_words():
    rng = np.random.default_rng(3)
    n = 400
    specs, values, dont_know = [], {}, {}
    # Targets that give a pass, a fail and no target.
    for key, p, target in (("a", 0.95, 0.8), ("b", 0.5, 0.9), ("c", 0.7, None)):
        specs.append(IndicatorSpec(key, f"指标{key}", target))
        values[key] = (rng.random(n) < p).astype(float)
        dont_know[key] = np.zeros(n, bool)
    report = build_report(ReportInput(
        indicators=specs, values=values, dont_know=dont_know, unit=np.array(["C1"] * n),
        street=np.array(["S1"] * n), gender=rng.choice(["male", "female"], n),
        age_group=rng.choice(["18_44", "45_plus"], n), excluded=np.zeros(n, bool), exclusions={},
        unit_names={"C1": "第1社区"}, street_names={"S1": "甲街道"}))
    rows = report.overall
    assert {r.verdict for r in rows} == {"pass", "fail", None}
    fig = rates_chart(rows, "全区")
    ax = fig.axes[0]
    value_texts = [t for t in ax.texts if t.get_text().endswith("%")]
    assert [to_hex(t.get_color()) for t in value_texts] == [verdict_term(r.verdict).ink for r in rows]
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {verdict_term(r.verdict).zh for r in rows} <= legend


# -- no second definition ----------------------------------------------------------------

def _sources():
    for folder, pattern in (("analysis", "*.py"), ("survey", "*.py"), ("templates", "*.html"), ("bench", "*.py")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            if path.name != "vocabulary.py" and "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("term", [*QUALITY_FLAGS.values()], ids=lambda t: t.code)
def test_flag_words_are_written_only_in_the_vocabulary(term):
    found = [str(p.relative_to(ROOT)) for p, text in _sources() if term.zh in text or f'"{term.en}"' in text]
    assert not found, f"{term.code}: words defined again in {found}"


def test_verdict_colours_are_written_only_in_the_vocabulary_and_the_stylesheet():
    # The greys of 样本不足 and 无目标 are also the rules and muted text of charts and PDF; the rest are the verdicts' own.
    colours = {c.lower() for t in VERDICTS.values() for c in (t.colour, t.ink, t.tint)
               if c not in (VERDICTS["insufficient"].colour, NO_TARGET.colour, NO_TARGET.ink)}
    found = [(str(p.relative_to(ROOT)), c) for p, text in _sources() for c in colours if c in text.lower()]
    assert not found, found


# -- text encodings of uploaded and command-line CSV --------------------------------------

def test_text_is_utf8_with_or_without_bom_else_gb18030():
    assert TEXT_ENCODINGS == ("utf-8-sig", "gb18030")
    assert decode_text("单位,人数".encode()) == "单位,人数"
    assert decode_text("\ufeff单位,人数".encode()) == "单位,人数"
    assert decode_text("单位,人数".encode("gb18030")) == "单位,人数"
    with pytest.raises(UnicodeDecodeError):
        decode_text(b"\xff")


def test_a_streamed_read_is_retried_in_the_next_encoding():
    tried = []

    def read(encoding):
        tried.append(encoding)
        return "中文".encode("gb18030").decode(encoding)

    assert with_text_encoding(read) == "中文"
    assert tried == ["utf-8-sig", "gb18030"]
