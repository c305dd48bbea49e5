"""Interviewer quality (analysis.interviewer_quality): the figures, and the
flags checked by simulation -- honest interviewers drawn from one
distribution are rarely flagged, a fabricator is.

The honest world: 20 interviewers with 12 to 40 interviews each; an
interview takes about 7 minutes (log-normal, spread 0.35), the next starts
after a walk of a few minutes; 12 counted questions with two favourable
codes, one unfavourable and 不了解; respondents differ (each has their own
propensity to say 不了解 and to be satisfied, drawn from Beta
distributions), so answers cluster in respondents as they do in real
drills. The fabricator: 40-second "interviews" one after another, answers
copied from three made-up patterns, all favourable.

Measured (seed 20260501, 300 repetitions, 6,000 honest interviewer
assessments): 3 flagged, 0.05% (two for 不了解, one for the favourable
share; never for durations, patterns or bursts). Asserted: at most 0.5%
(``FALSE_FLAG_BOUND``). The fabricator is flagged in every repetition.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.interviewer_quality import (
    FLAGS,
    InterviewerFacts,
    QualityRules,
    assess_interviewers,
    reason_words,
    too_few_words,
)
from analysis.vocabulary import INTERVIEWER_FLAGS, INTERVIEWER_TOO_FEW

ITEMS = 12
# Codes: 0 very satisfied, 1 fairly satisfied (both favourable), 2 dissatisfied, 3 don't know.
FAVOURABLE = (0, 1)
DONT_KNOW = 3
CELLS = [f"{g}/{a}" for g in ("male", "female") for a in ("18_29", "30_44", "45_59", "60_plus")]


def _honest(rng: np.random.Generator, interviewer: int, n: int, start: float) -> list[dict]:
    """``n`` interviews of one honest interviewer, one after another from ``start``."""
    rows = []
    clock = start
    for _ in range(n):
        duration = float(rng.lognormal(np.log(420), 0.35))
        clock += duration
        dk = rng.beta(0.6, 7.0)  # mean 8%, a few respondents know little
        satisfied = rng.beta(6.0, 1.6)  # mean 79% favourable among those who answer
        answers = []
        for _ in range(ITEMS):
            if rng.random() < dk:
                answers.append(DONT_KNOW)
            elif rng.random() < satisfied:
                answers.append(0 if rng.random() < 0.6 else 1)
            else:
                answers.append(2)
        rows.append(_row(interviewer, duration, clock, answers, CELLS[rng.integers(len(CELLS))]))
        clock += float(rng.exponential(300)) + 60  # the walk to the next door
    return rows


def _fabricator(rng: np.random.Generator, interviewer: int, n: int, start: float) -> list[dict]:
    templates = [[0] * ITEMS, [0, 1] * (ITEMS // 2), [1] * 4 + [0] * (ITEMS - 4)]
    rows = []
    clock = start
    for i in range(n):
        duration = float(rng.normal(40, 5))
        clock += duration
        rows.append(_row(interviewer, duration, clock, templates[i % 3], CELLS[i % 2]))
        clock += float(rng.uniform(5, 30))
    return rows


def _row(interviewer: int, duration: float, completed: float, answers: list[int], cell: str) -> dict:
    return {"interviewer": interviewer, "duration": duration, "completed": completed, "pattern": tuple(answers),
            "answered": len(answers), "dont_know": sum(a == DONT_KNOW for a in answers),
            "favourable": sum(a in FAVOURABLE for a in answers), "cell": cell}


def _facts(rows: list[dict]) -> InterviewerFacts:
    return InterviewerFacts(**{name: [r[name] for r in rows] for name in (
        "interviewer", "duration", "completed", "pattern", "answered", "dont_know", "favourable", "cell")})


def _world(rng: np.random.Generator, honest: int = 20, fabricator_n: int | None = None) -> InterviewerFacts:
    rows = []
    for i in range(1, honest + 1):
        rows += _honest(rng, i, int(rng.integers(12, 41)), start=float(rng.uniform(0, 3600)))
    if fabricator_n is not None:
        rows += _fabricator(rng, 99, fabricator_n, start=1800.0)
    return _facts(rows)


# -- the figures -----------------------------------------------------------------------

def test_figures_of_one_interviewer():
    rows = [_row(1, 300.0, 1000.0, [0, 0, 3, 2], "male/18_29"),
            _row(1, 500.0, 1050.0, [0, 0, 3, 2], "male/18_29"),  # 50 s after the previous: a burst
            _row(1, 400.0, 2000.0, [1, 3, 3, 3], "female/60_plus"),
            _row(2, 350.0, 500.0, [0, 1, 2, 2], ""),
            _row(2, 360.0, 9000.0, [0, 1, 2, 2], None)]
    one, two = assess_interviewers(_facts(rows))
    assert (one.interviewer, one.count, one.median_duration) == (1, 3, 400.0)
    assert one.dont_know_share == pytest.approx(5 / 12)  # 5 of 12 answers
    assert one.favourable_share == pytest.approx(5 / 7)  # 5 favourable of the 7 that are not 不了解
    assert one.identical_share == pytest.approx(2 / 3)
    assert one.bursts == 1 and one.cells == 2
    assert one.too_few and not one.flags and one.note == INTERVIEWER_TOO_FEW.zh == "样本太少"
    assert two.cells == 0 and two.identical_share == 1.0 and two.bursts == 0
    # Interviewer 1's patterns have shares 2/3 and 1/3; for n = 2, q = sum p (1 - (1 - p)).
    assert two.identical_expected == pytest.approx(2 / 3 * 2 / 3 + 1 / 3 * 1 / 3)


def test_every_flag_has_words_in_the_vocabulary_and_a_reason():
    assert FLAGS == INTERVIEWER_FLAGS.codes
    figures = {"median": 40, "others": 420, "count": 5, "share": 0.5, "expected": 0.1, "seconds": 120}
    for flag in FLAGS:
        term = INTERVIEWER_FLAGS[flag]
        assert term.zh and term.en and not term.zh.isascii()
        words = reason_words(flag, figures)
        assert words != flag and not words.isascii()
    assert "样本太少" in too_few_words(4) and "4" in too_few_words(4)


def test_facts_must_have_one_entry_per_response():
    rows = [_row(1, 300.0, 1000.0, [0], "")]
    facts = _facts(rows)
    with pytest.raises(ValueError, match="duration"):
        InterviewerFacts(**{**facts.__dict__, "duration": [1.0, 2.0]})
    with pytest.raises(ValueError):
        QualityRules(alpha=0)
    with pytest.raises(ValueError):
        QualityRules(min_count=1)


# -- the simulation ----------------------------------------------------------------------

#: Repetitions of the 20-interviewer honest world.
REPETITIONS = 300
#: Stated bound on the per-interviewer false-flag rate (any flag).
FALSE_FLAG_BOUND = 0.005


def test_honest_interviewers_are_rarely_flagged(capsys):
    rng = np.random.default_rng(20260501)
    assessed = flagged = 0
    by_flag = dict.fromkeys(FLAGS, 0)
    for _ in range(REPETITIONS):
        for q in assess_interviewers(_world(rng)):
            assessed += 1
            flagged += bool(q.flags)
            for f in q.flags:
                by_flag[f] += 1
    rate = flagged / assessed
    with capsys.disabled():
        print(f"\nhonest interviewers flagged: {flagged} of {assessed} ({rate:.3%}); by flag {by_flag}")
    assert assessed == 20 * REPETITIONS
    assert rate <= FALSE_FLAG_BOUND


def test_a_fabricator_among_honest_interviewers_is_flagged():
    rng = np.random.default_rng(7)
    caught = 0
    for _ in range(20):
        results = {q.interviewer: q for q in assess_interviewers(_world(rng, fabricator_n=30))}
        fake = results[99]
        assert {"short_interviews", "identical_patterns", "bursts"} <= set(fake.flags), fake.flags
        caught += "favourable_share" in fake.flags
        assert fake.median_duration < 60 and fake.identical_share == 1.0 and fake.bursts >= 25
        assert fake.favourable_share == 1.0 and fake.cells == 2
        assert "秒" in fake.flags["short_interviews"] and "不可能这样问完问卷" in fake.flags["bursts"]
        honest_flagged = [i for i, q in results.items() if i != 99 and q.flags]
        assert len(honest_flagged) <= 1
    # All favourable against the others' ~79%: 21 points, beyond chance at this count nearly always.
    assert caught >= 18


def test_a_fabricator_with_few_interviews_is_not_judged():
    rng = np.random.default_rng(11)
    fake = {q.interviewer: q for q in assess_interviewers(_world(rng, fabricator_n=6))}[99]
    assert fake.too_few and fake.flags == {} and fake.bursts == 5


def test_a_don_t_know_heavy_interviewer_is_flagged():
    """An interviewer who writes 不了解 rather than ask: 45% against about 8%."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(1, 21):
        rows += _honest(rng, i, 25, start=0.0)
    lazy = _honest(rng, 50, 25, start=0.0)
    for r in lazy:
        answers = [DONT_KNOW if rng.random() < 0.4 else a for a in r["pattern"]]
        r.update(_row(50, r["duration"], r["completed"], answers, r["cell"]))
    results = {q.interviewer: q for q in assess_interviewers(_facts(rows + lazy))}
    assert "dont_know_share" in results[50].flags
    assert "“不了解”占回答的" in results[50].flags["dont_know_share"]


def test_a_single_interviewer_gets_only_the_checks_that_need_no_comparison():
    rng = np.random.default_rng(5)
    (only,) = assess_interviewers(_facts(_fabricator(rng, 1, 30, 0.0)))
    assert set(only.flags) == {"bursts"}


def test_common_all_favourable_patterns_are_not_taken_for_copying():
    """Six questions in a satisfied district: most residents give the very same
    all-favourable pattern, and the busiest interviewers collect ten times the
    interviews of the quietest. The expected share allows for both."""
    rng = np.random.default_rng(8)
    assessed = copying = 0
    for _ in range(100):
        rows = []
        for i in range(1, 21):
            clock = 0.0
            for _ in range(int(rng.integers(10, 200))):
                duration = float(rng.lognormal(np.log(420), 0.35))
                clock += duration
                satisfied = rng.beta(20.0, 1.0)
                answers = [0 if rng.random() < satisfied else (DONT_KNOW if rng.random() < 0.5 else 2)
                           for _ in range(6)]
                rows.append(_row(i, duration, clock, answers, CELLS[0]))
                clock += float(rng.exponential(300)) + 60
        for q in assess_interviewers(_facts(rows)):
            assessed += 1
            copying += "identical_patterns" in q.flags
            assert q.identical_expected > 0.3  # the all-favourable pattern is everyone's commonest
    assert copying / assessed <= FALSE_FLAG_BOUND


def test_in_a_small_drill_a_fabricator_does_not_get_the_honest_ones_flagged():
    """Three honest interviewers with 15 interviews each and a fabricator with
    30: the fabricator is 40% of "the others" for each honest interviewer,
    enough to lift their favourable share by 8 points, unless the second pass
    leaves the fabricator out of the reference."""
    rng = np.random.default_rng(12)
    honest_flags = 0
    for _ in range(50):
        rows = []
        for i in range(1, 4):
            rows += _honest(rng, i, 15, start=0.0)
        rows += _fabricator(rng, 99, 30, start=0.0)
        results = {q.interviewer: q for q in assess_interviewers(_facts(rows))}
        assert {"short_interviews", "identical_patterns", "bursts"} <= set(results[99].flags)
        honest_flags += sum(bool(results[i].flags) for i in range(1, 4))
    assert honest_flags == 0


def test_interviews_begun_before_the_previous_one_ended_are_bursts():
    from analysis.interviewer_quality import _bursts

    # 10-minute interviews completed 130 s apart: each began 470 s before the previous ended.
    completed = np.arange(12) * 130.0
    assert _bursts(completed, np.full(12, 600.0), 120.0) == 11
    # The same completions with 100-second interviews: one after another, no burst.
    assert _bursts(completed, np.full(12, 100.0), 120.0) == 0
