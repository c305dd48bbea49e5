"""The words and colours of what the analysis produces: verdicts, interval
methods, quality flags (of responses and of interviewers), indicator kinds. Each is defined here once, as a code
with its Chinese and English label (and colours where it is drawn), and read
by the charts, the PDF report, the workbook and the web pages.

Pure: no Flask. ``survey.vocabulary`` adds the app's own groups (roles,
response statuses, round kinds and states) and picks the label for the
interface language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "INDICATOR_KINDS",
    "INTERVAL_METHODS",
    "INTERVIEWER_FLAGS",
    "INTERVIEWER_TOO_FEW",
    "NO_TARGET",
    "QUALITY_FLAGS",
    "VERDICTS",
    "Term",
    "Terms",
    "verdict_term",
]


@dataclass(frozen=True)
class Term:
    """One coded value and how it is shown.

    ``colour`` fills a bar or a mark; ``ink`` writes the term as text on
    white (or on ``tint``, the background of its badge on the pages); both
    are hex colours. ``detail`` is a longer Chinese explanation (interval
    methods).
    """

    code: str
    zh: str
    en: str
    colour: str | None = None
    ink: str | None = None
    tint: str | None = None
    detail: str | None = None


class Terms(Mapping[str, Term]):
    """An ordered group of terms, looked up by code: ``VERDICTS["pass"].zh``."""

    def __init__(self, *terms: Term) -> None:
        self._by_code = {t.code: t for t in terms}
        if len(self._by_code) != len(terms):
            raise ValueError("duplicate codes in a vocabulary group")

    def __getitem__(self, code: str) -> Term:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __repr__(self) -> str:
        return f"Terms({', '.join(self._by_code)})"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def zh(self, code: str) -> str:
        """The Chinese label of ``code``; an unknown code is printed as it comes."""
        term = self._by_code.get(code)
        return term.zh if term is not None else code


#: Verdicts of ``analysis.targets`` (same order as ``analysis.targets.VERDICTS``).
#: Bars: green / amber / red / pale grey; text in darker shades that read on white.
VERDICTS = Terms(
    Term("pass", "达标", "pass", colour="#2e7d32", ink="#1b5e20", tint="#dafbe1"),
    Term("fail", "未达标", "fail", colour="#c62828", ink="#b71c1c", tint="#ffebe9"),
    Term("undecided", "待定", "undecided", colour="#f2a900", ink="#8a5a00", tint="#fff8c5"),
    Term("insufficient", "样本不足", "too few data", colour="#b0bec5", ink="#455a64", tint="#eceff1"),
)
#: An indicator without a target has no verdict (``verdict`` is None).
NO_TARGET = Term("none", "无目标", "no target", colour="#9e9e9e", ink="#616161")


def verdict_term(verdict: str | None) -> Term:
    """The term of a verdict, :data:`NO_TARGET` for None."""
    return NO_TARGET if verdict is None else VERDICTS[verdict]


#: Interval methods of ``analysis.intervals`` (same order as ``CI_METHODS``).
INTERVAL_METHODS = Terms(
    Term("wilson", "Wilson", "Wilson", detail=(
        "Wilson 区间：按有效样本量计算的得分区间。比率接近 0 或 100% 时比简单的正态区间可靠，"
        "又不像精确区间那样保守。"
    )),
    Term("clopper-pearson", "Clopper–Pearson", "Clopper–Pearson", detail=(
        "Clopper–Pearson（精确）区间：按有效样本量计算的二项精确区间。它偏保守，"
        "实际把握不低于名义水平，适合样本较少的单位。"
    )),
    Term("korn-graubard", "Korn–Graubard", "Korn–Graubard", detail=(
        "Korn–Graubard 区间：把样本量按设计效应折算为有效样本量，再用精确的二项"
        "（Clopper–Pearson）方法计算，并按设计自由度修正。测评关心的比率多在 80%–95%，"
        "接近 100% 时简单的正态区间会偏窄、过于乐观；这一方法在比率接近边界、社区样本较少时"
        "仍能保证应有的把握，因此作为默认方法（美国国家卫生统计中心对调查比率采用同一方法）。"
    )),
    Term("logit", "Logit", "Logit", detail=(
        "Logit 区间：在对数几率尺度上构造区间再换算回来，区间始终落在 0 到 100% 之间。"
    )),
    Term("normal", "正态（Wald）", "Normal (Wald)", detail=(
        "正态（Wald）区间：比率加减约 2 倍标准误。只在样本较大、比率不接近 0 或 100% 时适用。"
    )),
)

#: Quality flags of ``analysis.integrity`` (its ``FLAGS`` are these codes, in this order).
QUALITY_FLAGS = Terms(
    Term("too_fast", "答题过快", "Too fast"),
    Term("straight_lined", "量表题全选同一答案", "Straight-lined"),
    Term("burst", "短时间集中提交", "Burst of submissions"),
    Term("device_churn", "同一网络频繁更换设备", "Many new devices on one network"),
    Term("duplicate_answers", "答案完全雷同", "Identical answer sets"),
    Term("anomalous_answers", "集中提交且答案分布异常", "Burst with unusual answers"),
    Term("channel_anomaly", "整个二维码答案分布异常", "QR code with unusual answers"),
)

#: What ``analysis.interviewer_quality`` flags about an interviewer's
#: responses as a whole (its ``FLAGS`` are these codes, in this order).
INTERVIEWER_FLAGS = Terms(
    Term("short_interviews", "访问时长明显偏短", "Much shorter interviews"),
    Term("identical_patterns", "答案组合重复过多", "Repeated answer patterns"),
    Term("dont_know_share", "“不了解”比例异常", "Unusual don't-know share"),
    Term("favourable_share", "好评比例异常", "Unusual favourable share"),
    Term("bursts", "相邻答卷间隔过短", "Interviews too close together"),
)
#: An interviewer with too few responses to judge: no flag is given.
INTERVIEWER_TOO_FEW = Term("too_few", "样本太少", "Too few to judge")

#: Kinds of indicator (``IndicatorResult.kind``): a share of favourable answers, or a 0-100 score.
INDICATOR_KINDS = Terms(
    Term("rate", "比率", "rate"),
    Term("index", "指数", "index"),
)
