"""Interviewer quality: per volunteer interviewer, what their responses look
like beside everyone else's, and flags for the patterns that suggest made-up
interviews.

Pure: takes per-response facts as plain arrays (one entry per response the
interviewers collected) and returns one :class:`InterviewerQuality` per
interviewer. Whether an interviewer's responses count is the office's
decision; a flag is a reason to look, not a verdict.

What is measured, per interviewer:

* ``count`` - responses; ``median_duration`` - median seconds from the start
  of the interview to its submission;
* ``dont_know_share`` - "don't know" (不了解, the codes a rate leaves out)
  among the counted answers; ``favourable_share`` - favourable answers among
  the counted answers that are not "don't know";
* ``identical_share`` - responses whose whole pattern of counted answers
  equals another response *of the same interviewer*;
* ``bursts`` - responses completed less than ``burst_seconds`` (a plausible
  interview) after the same interviewer's previous one, or begun before it
  ended: one person cannot have asked all the questions in between;
* ``cells`` - distinct gender x age group cells filled.

The flags, and why each is set so that honest interviewers are rarely flagged
(the false-flag rate is measured by simulation in
``tests/analysis/test_interviewer_quality.py``):

* ``short_interviews`` - durations below the other interviewers': a one-sided
  Mann-Whitney test at ``alpha`` *and* a median at most ``short_ratio`` of the
  others' median. Durations vary a lot between honest interviewers, so the
  ratio does most of the work; the test stops a few short interviews from
  counting.
* ``identical_patterns`` - more responses sharing their pattern with another
  of the interviewer's own than the other interviewers' answers lead one to
  expect at this interviewer's count. With the others' pattern frequencies
  ``p_k``, a response drawn like theirs shares its pattern with one of
  ``n - 1`` others with probability ``q = sum_k p_k (1 - (1 - p_k)^(n-1))``
  (satisfied residents do often give the same all-favourable pattern, which
  this allows for); flagged when the one-sided exact binomial test against
  ``q`` is below ``alpha`` and the share exceeds ``q`` by ``min_difference``.
* ``dont_know_share`` / ``favourable_share`` - the interviewer's share against
  the other interviewers' pooled share, Fisher's exact test on counts
  deflated by the design effect of answers clustered in respondents (the
  Rao-Scott adjustment: a respondent who knows nothing says 不了解 to every
  question, so answers are not independent), flagged when ``p < alpha`` *and*
  the shares differ by ``min_difference`` or more.
* ``bursts`` - at least ``min_bursts`` bursts making up ``burst_share`` of
  the interviewer's responses.

"The others" are the other interviewers less those a first pass flagged for
the same figure: one fabricator in a small drill must not shift the
reference enough to flag the honest interviewers beside them.

Below ``min_count`` responses no flag is given (``too_few``): the figures are
shown, but so few interviews cannot tell a careless or dishonest interviewer
from chance. The comparisons also need ``min_count`` responses among the
other interviewers; without them only ``bursts`` can fire.

References
----------
Rao, J. N. K. and Scott, A. J. (1992). A simple method for the analysis of
clustered binary data. *Biometrics* 48, 577-585.
Murphy, J., Baxter, R., Eyerman, J., Cunningham, D. and Kennet, J. (2004).
A system for detecting interviewer falsification. *Proceedings of the
Survey Research Methods Section, ASA*, 4968-4975 (duration, don't-know
rates and identical patterns as falsification indicators).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .vocabulary import INTERVIEWER_FLAGS, INTERVIEWER_TOO_FEW

#: The flags' codes, in the order they are shown (their words are in ``analysis.vocabulary``).
FLAGS = INTERVIEWER_FLAGS.codes


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of the interviewer checks (defaults checked by simulation)."""

    #: Fewer responses than this: figures only, no flag (样本太少).
    min_count: int = 10
    #: Significance every comparison must reach.
    alpha: float = 0.001
    #: Least difference (share points) a share must differ by to be flagged.
    min_difference: float = 0.15
    #: A median duration at most this share of the others' median is short.
    short_ratio: float = 0.5
    #: Less time than this between two completions of one interviewer is a burst.
    burst_seconds: float = 120.0
    min_bursts: int = 3
    burst_share: float = 0.2

    def __post_init__(self) -> None:
        if self.min_count < 2:
            raise ValueError("min_count must be at least 2")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be between 0 and 1")
        if not 0 <= self.min_difference < 1 or not 0 < self.short_ratio <= 1 or not 0 <= self.burst_share <= 1:
            raise ValueError("min_difference, short_ratio and burst_share must be shares")
        if self.burst_seconds <= 0 or self.min_bursts < 1:
            raise ValueError("burst_seconds and min_bursts must be positive")


@dataclass
class InterviewerFacts:
    """One entry per response, in any order.

    ``duration`` seconds from start to submission; ``completed`` the
    submission time in seconds (any epoch); ``pattern`` a hashable of the
    response's counted answers; ``answered`` how many counted answers it
    gave, ``dont_know`` how many of them were "don't know" (codes the rates
    leave out) and ``favourable`` how many counted as favourable; ``cell``
    its gender x age group cell (None or "" when unknown)."""

    interviewer: Sequence[int]
    duration: Sequence[float]
    completed: Sequence[float]
    pattern: Sequence[Hashable]
    answered: Sequence[int]
    dont_know: Sequence[int]
    favourable: Sequence[int]
    cell: Sequence[str | None]

    def __post_init__(self) -> None:
        n = len(self.interviewer)
        lengths = {name: len(getattr(self, name)) for name in
                   ("duration", "completed", "pattern", "answered", "dont_know", "favourable", "cell")}
        wrong = [name for name, length in lengths.items() if length != n]
        if wrong:
            raise ValueError(f"every fact needs one entry per response ({n}): {', '.join(wrong)} differ")


@dataclass(frozen=True)
class InterviewerQuality:
    """One interviewer's figures, and the flags that fired (code -> Chinese
    reason, in :data:`FLAGS` order; ``figures`` holds the numbers behind each)."""

    interviewer: int
    count: int
    median_duration: float
    dont_know_share: float
    favourable_share: float
    identical_share: float
    #: The identical share the other interviewers' answers lead one to expect at this count.
    identical_expected: float
    bursts: int
    cells: int
    #: Fewer than ``min_count`` responses: no flag is given.
    too_few: bool
    flags: Mapping[str, str] = field(default_factory=dict)
    figures: Mapping[str, dict] = field(default_factory=dict)

    @property
    def note(self) -> str | None:
        """样本太少 when there were too few responses to judge."""
        return INTERVIEWER_TOO_FEW.zh if self.too_few else None


def reason_words(flag: str, figures: dict) -> str:
    """Why a flag fired, in a sentence an office worker can check."""
    if flag == "short_interviews":
        return (f"访问时长中位数 {figures['median']:.0f} 秒，"
                f"其他调查员为 {figures['others']:.0f} 秒")
    if flag == "identical_patterns":
        return (f"{figures['count']} 份答卷（{figures['share']:.0%}）的答案组合与本人另一份答卷完全相同，"
                f"按其他调查员的答案估计约为 {figures['expected']:.0%}")
    if flag == "dont_know_share":
        return f"“不了解”占回答的 {figures['share']:.0%}，其他调查员为 {figures['others']:.0%}"
    if flag == "favourable_share":
        return f"好评占回答的 {figures['share']:.0%}，其他调查员为 {figures['others']:.0%}"
    if flag == "bursts":
        return (f"{figures['count']} 份答卷与本人上一份相隔不到 {figures['seconds']:g} 秒完成"
                f"或在上一份结束前就已开始，一个人不可能这样问完问卷")
    return flag


def too_few_words(count: int, rules: QualityRules = QualityRules()) -> str:
    return f"{INTERVIEWER_TOO_FEW.zh}：仅 {count} 份答卷（少于 {rules.min_count} 份），不作判断"


def assess_interviewers(facts: InterviewerFacts, rules: QualityRules = QualityRules()) -> list[InterviewerQuality]:
    """Each interviewer's figures and flags, by interviewer id.

    Parameters
    ----------
    facts : InterviewerFacts
        The responses the interviewers collected (all of them: each is
        compared with the other interviewers').
    rules : QualityRules

    Returns
    -------
    list of InterviewerQuality
        One per interviewer in ``facts``, ordered by id.

    Notes
    -----
    The comparisons run twice. The first compares each interviewer with all
    the others; the second leaves out of "the others" anyone the first pass
    flagged for the same figure. In a small drill one fabricator can make
    up a third of the interviews, and their all-favourable answers would
    otherwise lift "the others' share" far enough to flag the honest
    interviewers beside them.
    """
    data = _Data.of(facts)
    interviewers = np.unique(data.who).tolist()
    mine = {i: data.who == i for i in interviewers}
    judged = {i: int(np.count_nonzero(mine[i])) >= rules.min_count for i in interviewers}

    first = {i: _compare(data, mine[i], ~mine[i], rules) if judged[i] else {} for i in interviewers}
    suspects = {f: {i for i in interviewers if f in first[i]} for f in RELATIVE_FLAGS}
    results = []
    for i in interviewers:
        n = int(np.count_nonzero(mine[i]))
        figures: dict[str, dict] = {}
        expected = None
        for flag in RELATIVE_FLAGS:
            left_out = sorted(suspects[flag] - {i})
            reference = ~mine[i] & ~np.isin(data.who, left_out) if left_out else ~mine[i]
            if left_out and judged[i]:
                figures.update(_compare(data, mine[i], reference, rules, only=flag))
            elif flag in first[i]:
                figures[flag] = first[i][flag]
            if flag == "identical_patterns":
                expected = _identical(data.pattern[mine[i]], data.pattern[reference])[1]
        bursts = _bursts(data.completed[mine[i]], data.duration[mine[i]], rules.burst_seconds)
        if judged[i] and bursts >= max(rules.min_bursts, rules.burst_share * n):
            figures["bursts"] = {"count": bursts, "seconds": rules.burst_seconds}
        flags = {f: reason_words(f, figures[f]) for f in FLAGS if f in figures}
        identical, _ = _identical(data.pattern[mine[i]], data.pattern[:0])
        results.append(InterviewerQuality(
            interviewer=int(i), count=n, median_duration=float(np.median(data.duration[mine[i]])),
            dont_know_share=_ratio(data.dont_know[mine[i]], data.answered[mine[i]]),
            favourable_share=_ratio(data.favourable[mine[i]], data.known[mine[i]]),
            identical_share=identical / n, identical_expected=expected or 0.0, bursts=bursts,
            cells=len({c for c in data.cell[mine[i]].tolist() if c}), too_few=not judged[i], flags=flags,
            figures={f: figures[f] for f in flags},
        ))
    return results


#: The flags that compare an interviewer with the others (``bursts`` needs no comparison).
RELATIVE_FLAGS = ("short_interviews", "identical_patterns", "dont_know_share", "favourable_share")


@dataclass(frozen=True)
class _Data:
    """The facts as arrays; patterns as small integers (-1: no counted answers)."""

    who: np.ndarray
    duration: np.ndarray
    completed: np.ndarray
    answered: np.ndarray
    dont_know: np.ndarray
    favourable: np.ndarray
    known: np.ndarray
    pattern: np.ndarray
    cell: np.ndarray

    @classmethod
    def of(cls, facts: InterviewerFacts) -> _Data:
        answered = np.asarray(facts.answered, dtype=float)
        dont_know = np.asarray(facts.dont_know, dtype=float)
        numbers: dict = {}
        pattern = np.array([numbers.setdefault(p, len(numbers)) if a > 0 else -1
                            for p, a in zip(facts.pattern, answered, strict=True)], dtype=np.int64)
        return cls(
            who=np.asarray(facts.interviewer, dtype=np.int64), duration=np.asarray(facts.duration, dtype=float),
            completed=np.asarray(facts.completed, dtype=float), answered=answered, dont_know=dont_know,
            favourable=np.asarray(facts.favourable, dtype=float), known=answered - dont_know, pattern=pattern,
            cell=np.asarray([c or "" for c in facts.cell], dtype=object),
        )


def _compare(data: _Data, mine: np.ndarray, reference: np.ndarray, rules: QualityRules,
             only: str | None = None) -> dict[str, dict]:
    """The relative flags (or ``only`` one) of the responses ``mine`` against ``reference``."""
    found: dict[str, dict] = {}
    if np.count_nonzero(reference) < rules.min_count:
        return found
    wanted = RELATIVE_FLAGS if only is None else (only,)
    if "short_interviews" in wanted:
        figures = _short(data.duration[mine], data.duration[reference], rules)
        if figures:
            found["short_interviews"] = figures
    if "identical_patterns" in wanted:
        n = int(np.count_nonzero(mine))
        identical, expected = _identical(data.pattern[mine], data.pattern[reference])
        if identical:
            share = identical / n
            p = float(stats.binomtest(identical, n, min(expected, 1.0), alternative="greater").pvalue)
            if p < rules.alpha and share - expected >= rules.min_difference:
                found["identical_patterns"] = {"count": identical, "share": share, "expected": expected, "p": p}
    for flag, y, m in (("dont_know_share", data.dont_know, data.answered),
                       ("favourable_share", data.favourable, data.known)):
        if flag in wanted:
            figures = _share_test(y[mine], m[mine], y[reference], m[reference], rules)
            if figures:
                found[flag] = figures
    return found


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    total = float(denominator.sum())
    return float(numerator.sum()) / total if total > 0 else float("nan")


def _short(mine: np.ndarray, others: np.ndarray, rules: QualityRules) -> dict | None:
    median, others_median = float(np.median(mine)), float(np.median(others))
    if not median <= rules.short_ratio * others_median:
        return None
    p = float(stats.mannwhitneyu(mine, others, alternative="less").pvalue)
    if p >= rules.alpha:
        return None
    return {"median": median, "others": others_median, "p": p}


def _identical(mine: np.ndarray, others: np.ndarray) -> tuple[int, float]:
    """Responses sharing their pattern with another of the same interviewer,
    and the share expected if they were drawn like the others' responses."""
    mine = mine[mine >= 0]
    _, counts = np.unique(mine, return_counts=True)
    identical = int(counts[counts >= 2].sum())
    others = others[others >= 0]
    if len(others) == 0 or len(mine) < 2:
        return identical, 0.0
    _, other_counts = np.unique(others, return_counts=True)
    p = other_counts / len(others)
    expected = float(np.sum(p * (1.0 - (1.0 - p) ** (len(mine) - 1))))
    return identical, expected


def _design_effect(y: np.ndarray, m: np.ndarray) -> float:
    """How much answers clustered in respondents widen a pooled share's
    variance over independent answers (at least 1): the ratio estimator's
    between-respondent variance over the binomial one (Rao and Scott 1992)."""
    keep = m > 0
    y, m = y[keep], m[keep]
    k = len(m)
    total = float(m.sum())
    if k < 2 or total == 0:
        return 1.0
    p = float(y.sum()) / total
    if p <= 0 or p >= 1:
        return 1.0
    between = k / (k - 1) * float(np.sum((y - p * m) ** 2)) / total ** 2
    return max(1.0, between / (p * (1 - p) / total))


def _share_test(y_mine: np.ndarray, m_mine: np.ndarray, y_others: np.ndarray, m_others: np.ndarray,
                rules: QualityRules) -> dict | None:
    total_mine, total_others = float(m_mine.sum()), float(m_others.sum())
    if total_mine == 0 or total_others == 0:
        return None
    share, others = float(y_mine.sum()) / total_mine, float(y_others.sum()) / total_others
    if abs(share - others) < rules.min_difference:
        return None
    # Both groups' counts deflated by the design effect (Rao-Scott), then Fisher's exact test. The
    # others' effect serves both: it rests on many respondents, and honest interviewers share it.
    deff = _design_effect(y_others, m_others)
    n1, n2 = max(1, round(total_mine / deff)), max(1, round(total_others / deff))
    x1, x2 = min(n1, round(share * n1)), min(n2, round(others * n2))
    p = float(stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)
    if p >= rules.alpha:
        return None
    return {"share": share, "others": others, "p": p, "deff": deff}


def _bursts(completed: np.ndarray, duration: np.ndarray, seconds: float) -> int:
    """Interviews completed less than ``seconds`` after the previous one, or
    begun before the previous one ended (two at once: the phone reports both times)."""
    if len(completed) < 2:
        return 0
    order = np.argsort(completed, kind="stable")
    completed, started = completed[order], (completed - duration)[order]
    return int(np.count_nonzero((np.diff(completed) < seconds) | (started[1:] < completed[:-1])))
