"""The words the PDF report and the workbook share: verdicts, round kinds,
unit levels, exclusion reasons and interval methods in plain Chinese.

A module of its own so the workbook does not load ReportLab and Matplotlib.
"""

from __future__ import annotations

#: Verdict -> the word printed.
VERDICT_WORDS = {"pass": "达标", "fail": "未达标", "undecided": "待定", None: "—"}
#: Round kind -> its name on the cover.
KIND_LABELS = {"drill": "模拟测评", "official": "正式测评"}
LEVEL_LABELS = {"district": "区县", "street": "街道", "town": "乡镇", "community": "社区", "village": "村"}
#: Exclusion reason -> plain words (unknown reasons are printed as they come).
EXCLUSION_LABELS = {
    "screened_out": "不属于调查对象（甄别题未通过）",
    "too_fast": "答题过快",
    "straight_lined": "量表题全部选同一答案",
    "duplicate": "重复提交",
    "burst": "同一设备或网络短时间内集中提交",
}
CI_METHOD_TEXT = {
    "korn-graubard": (
        "Korn–Graubard 区间：把样本量按设计效应折算为有效样本量，再用精确的二项"
        "（Clopper–Pearson）方法计算，并按设计自由度修正。测评关心的比率多在 80%–95%，"
        "接近 100% 时简单的正态区间会偏窄、过于乐观；这一方法在比率接近边界、社区样本较少时"
        "仍能保证应有的把握，因此作为默认方法（美国国家卫生统计中心对调查比率采用同一方法）。"
    ),
    "clopper-pearson": (
        "Clopper–Pearson（精确）区间：按有效样本量计算的二项精确区间。它偏保守，"
        "实际把握不低于名义水平，适合样本较少的单位。"
    ),
    "wilson": (
        "Wilson 区间：按有效样本量计算的得分区间。比率接近 0 或 100% 时比简单的正态区间可靠，"
        "又不像精确区间那样保守。"
    ),
    "logit": "Logit 区间：在对数几率尺度上构造区间再换算回来，区间始终落在 0 到 100% 之间。",
    "normal": (
        "正态（Wald）区间：比率加减约 2 倍标准误。只在样本较大、比率不接近 0 或 100% 时适用。"
    ),
}
