"""The words the PDF report and the workbook share: verdicts, round kinds,
unit levels, exclusion reasons and interval methods in plain Chinese (the
coded values' words are those of ``survey.vocabulary``).

A module of its own so the workbook does not load ReportLab and Matplotlib.
The methodology in words (weighting, verdict rule, "more interviews") is
written here once, so the PDF, the workbook and the API say the same thing.
"""

from __future__ import annotations

from analysis.report import IndicatorResult, Methodology
from analysis.targets import VerdictRule

from ..vocabulary import EXCLUSION_REASONS, INTERVAL_METHODS, ROUND_KINDS, VERDICTS

#: Cell variable of the weighting -> its name.
VARIABLE_WORDS = {"street": "街道", "gender": "性别", "age_group": "年龄组"}


def verdict_word(verdict: str | None) -> str:
    """The verdict printed in a table; a dash without a target."""
    return "—" if verdict is None else VERDICTS[verdict].zh


def round_kind_word(kind: str) -> str:
    """The round's kind as printed on the cover."""
    return ROUND_KINDS.zh(kind)


def exclusion_word(reason: str) -> str:
    """Why responses were left out, in plain words (an unknown reason is printed as it comes)."""
    return EXCLUSION_REASONS.zh(reason)


def interval_method_words(method: str) -> str:
    """What the interval method does and why, in a few sentences."""
    term = INTERVAL_METHODS.get(method)
    return term.detail if term is not None and term.detail else method


def _names(variables) -> str:
    return "、".join(VARIABLE_WORDS.get(v, v) for v in variables)


def weighting_words(m: Methodology) -> str:
    """What the weighting did, in one paragraph of plain Chinese."""
    c = m.calibration
    if c is None or c.method == "unweighted":
        note = m.weighting_note or ""
        if c is not None:
            reason = f"答卷太少，按街道、性别、年龄组的任何一种分组都有类别不足 {c.min_cell} 份"
        elif note.startswith("no population"):
            reason = "没有导入人口数据"
        elif note.startswith("population"):
            reason = "人口数据无法使用（部分答卷的人群不在人口表中，或数据不完整）"
        else:
            reason = "没有可用的答卷"
        return (f"加权：未加权（{reason}），每份有效答卷的权重相同，比率反映的是受访者本身的构成。")
    if c.fallback is None:
        text = (f"加权：按{_names(c.variables).replace('、', '×')}的人口数做事后分层加权，"
                "使样本的构成与人口一致，某一人群答卷偏多或偏少不会左右结果。")
        if c.merges:
            text += (f"为使每个加权格都有足够的答卷，少于 {c.min_cell} 份答卷的格先与同街道、同性别的相邻年龄组合并，"
                     f"仍不足再与同街道的另一性别合并（共合并 {c.n_merged} 次），最终 {c.groups} 个加权格。")
        else:
            text += f"共 {c.groups} 个加权格，每格至少 {c.min_cell} 份答卷。"
    else:
        text = (f"加权：有的街道全部答卷不足 {c.min_cell} 份，无法按{_names(c.variables).replace('、', '×')}"
                "交叉分格加权，")
        if c.method == "raked":
            text += f"改为按{_names(c.used)}的人口分布分别校准（迭代比例加权）。"
        else:
            text += f"改为只按{_names(c.used)}的人口分布加权。"
        if c.merges:
            text += f"答卷不足 {c.min_cell} 份的类别与相邻类别合并（共 {c.n_merged} 次）。"
        if c.dropped:
            text += f"{_names(c.dropped)}的类别答卷太少，未用于加权。"
    if c.trimmed:
        text += (f"有 {c.trimmed} 份答卷的权重超过平均权重的 {c.trim_ratio:g} 倍，已截到该上限"
                 "（截去部分平均分给其他答卷），以免个别答卷左右结果。")
    text += (f"权重最大值约为最小值的 {m.weight_ratio:.1f} 倍；加权带来的设计效应为 {m.kish_deff:.2f}，"
             "设计效应越大，同样的答卷数得到的区间越宽。")
    return text


INTERVAL_CAP_WORDS = (
    "区间按有效样本量计算，且有效样本量不超过实际回答人数：即使加权后的设计效应小于 1，"
    "区间也不会比不加权时更窄，数据没有的把握不会被算出来。"
)


def verdict_rule_words(rule: VerdictRule) -> str:
    """How verdicts are read, including when there is too little data for one."""
    passed, failed, undecided, insufficient = (VERDICTS[v].zh for v in ("pass", "fail", "undecided", "insufficient"))
    return (
        f"判定：区间下限不低于目标为“{passed}”；区间上限低于目标为“{failed}”；区间包含目标为“{undecided}”，"
        "表示还要增加答卷才能判断，“再需样本”是按目前的比率估计还需增加的答卷数"
        "（超过 1000 份时只写“1000 份以上”）。"
        f"有效回答少于 {rule.min_n} 份的单位不作判定，标为“{insufficient}”；区间包含目标、且有效样本量不足 "
        f"{rule.reliable_n_eff:g} 或区间宽达 {100 * rule.max_width:g} 个百分点的，也标为“{insufficient}”，"
        "这时数据还不足以得出任何结论（参照美国国家卫生统计中心发布调查比率的标准）。"
    )


def more_needed_words(row: IndicatorResult) -> str:
    """"About N more" or "more than N"; a dash when nothing more is needed."""
    if not row.more_needed:
        return "—"
    if row.more_needed_exceeds:
        return f"{row.more_needed} 份以上"
    return f"约 {row.more_needed} 份"


def verdict_reason_words(row: IndicatorResult, rule: VerdictRule) -> str | None:
    """Why a row is 样本不足, in words; None for other verdicts."""
    if row.verdict != "insufficient":
        return None
    if row.verdict_reason == "few_respondents":
        return f"有效回答仅 {row.n} 份，少于 {rule.min_n} 份，不作判定"
    width = (row.ci_high - row.ci_low) * (1 if row.kind == "index" else 100)
    return f"区间宽 {width:.0f} 个百分点，有效样本量约 {row.estimate.n_eff:.0f}，还不足以判断"


#: Why an interval fell back (``Interval.note`` of analysis.intervals), in words.
CI_NOTE_WORDS = {
    "variance 0: Clopper-Pearson on counts": "全部回答相同，按回答人数用精确二项方法计算区间",
    "variance 0: Clopper-Pearson on counts scaled to the design's PSUs":
        "全部回答相同且答卷成群（同一楼栋等），按群数而非人数用精确二项方法计算区间",
    "no design degrees of freedom: normal quantile used": "设计自由度为 0，改用正态分位数",
    "no design degrees of freedom: no interval narrower than 0-100% (NCHS)":
        "设计自由度为 0，数据无法估计误差，区间为 0–100%",
    "no respondents": "没有回答",
    "index: t interval on the mean score": "指数：按平均得分用 t 分布计算区间",
    "variance 0 (one score, or one PSU): zero width": "全部得分相同，区间宽度为 0（答卷太少，仅供参考）",
}


def ci_note_words(note: str | None) -> str:
    """An interval's note in Chinese ("" when there is none)."""
    if not note:
        return ""
    return CI_NOTE_WORDS.get(note, note)
