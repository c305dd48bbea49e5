"""Answers from 问卷星 downloads and Minyi's own export (questions.imports).

The 问卷星 tables below are written by hand for the standard questionnaire as
问卷星 lays out its downloads: the text form (按选项文本) and the number form
(按选项序号), the latter with multiple choice joined by ┋ or split into one
0/1 column per option, a matrix question whose rows are the satisfaction
items, and questions skipped by the respondent or by 跳题 logic. Each is read
from .xlsx, GB18030 CSV and UTF-8 CSV through analysis.tabular, and every
count is checked against numbers worked out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import Workbook

from analysis.tabular import read_table
from questions import evaluate_answers, export_value, load_standard
from questions.imports import (
    MINYI_FIXED_COLUMNS,
    CellProblem,
    ColumnMatch,
    RowMeta,
    detect_source,
    match_columns,
    meta_of,
    parse_duration,
    parse_timestamp,
    row_answers,
)

DATA = Path(__file__).parent / "data"
COMMUNITIES = {"c01": "幸福社区", "c02": "和平社区", "c03": "光明村"}
UNIT_BY_NAME = {name: code for code, name in COMMUNITIES.items()}


@pytest.fixture(scope="module")
def standard():
    return load_standard()


# -- the hand-made 问卷星 download ------------------------------------------------------------------------------------

META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
QUESTIONS = [
    "1、请问您是否年满18周岁？",
    "2、您在本地居住是否已满半年？",
    "3、您知道我市正在创建全国文明城市吗？",
    "4、您是否支持我市创建全国文明城市？",
    "5、您是否参加过创建文明城市的相关活动（如志愿服务、清洁家园、文明劝导等）？",
    "6、您参加过哪些活动？（可多选）",
]
MATRIX_ROWS = ["环境卫生", "社会治安", "交通秩序", "社区服务", "窗口服务", "政府诚信"]
LATER_QUESTIONS = [
    "8、您在本地生活、出行时，是否感到安全？",
    "9、总体来说，您对我市创建文明城市工作的成效是否满意？",
    "10、您能说出社会主义核心价值观的24个字吗？",
    "11、您认为我市最需要改进的是哪些方面？（可多选，最多选3项）",
    "12、您对我市创建文明城市工作还有哪些意见和建议？（选填）",
    "13、您的性别",
    "14、您的年龄",
    "15、您居住在哪个社区（村）？",
]
#: 问卷星's option lists of questions 6 and 11 (question 11's 其他 has a text box, as 问卷星 shows it).
ACTIVITY_LABELS = ["志愿服务", "环境卫生清洁", "文明交通劝导", "文明宣传活动", "其他"]
IMPROVE_LABELS = ["环境卫生", "交通秩序", "社会治安", "社区服务", "公共设施", "市民文明素质", "政务服务", "其他【请注明】"]

S = "(跳过)"
# One row per respondent, text form (按选项文本): meta, questions 1-6, matrix 7, questions 8-15.
TEXT_ROWS = [
    ["1", "2026/5/12 10:31:05", "123秒", "手机提交", "微信", "183.6.1.1(广东-广州)",
     "是", "是", "知道", "支持", "参加过", "志愿服务┋其他〖扫雪〗",
     "满意", "满意", "比较满意", "满意", "一般", "满意",
     "感到安全", "满意", "能完整说出", "环境卫生┋交通秩序", "多建停车场", "男", "18-29岁", "幸福社区"],
    ["2", "2026/5/12 10:35:40", "2分3秒", "手机提交", "直接访问", "183.6.1.2(广东-广州)",
     "是", "是", "知道", "支持", "没有参加过", S,
     "比较满意", "一般", "不太满意", "满意", "满意", "比较满意",
     "感到安全", "比较满意", "能说出一部分", "(空)", "(空)", "女", "30-44岁", "和平社区"],
    ["3", "2026/5/12 11:02:13", "8秒", "手机提交", "微信", "183.6.1.3(广东-广州)",
     "否", S, S, S, S, S,
     S, S, S, S, S, S,
     S, S, S, S, S, S, S, S],
    ["4", "2026/5/13 9:15:00", "95秒", "链接", "直接访问", "183.6.1.4(广东-广州)",
     "是", "是", "不知道", "无所谓", "没有参加过", S,
     "不了解", "一般", "不满意", "不了解", "比较满意", "一般",
     "说不清", "一般", "说不出来", "社会治安┋社区服务┋公共设施", "(空)", "女", "60岁及以上", "幸福社区"],
    ["5", "2026/5/13 9:20:31", "1分5秒", "手机提交", "微信", "183.6.1.5(广东-广州)",
     "是", "是", "知道", "支持", "参加过", "环境卫生清洁┋文明交通劝导┋文明宣传活动",
     "满意", "满意", "满意", "满意", "满意", "满意",
     "感到安全", "满意", "能完整说出", "市民文明素质", "建议增加垃圾分类宣传", "男", "45-59岁", "和平社区"],
    ["6", "2026/5/13 14:40:09", "12秒", "手机提交", "微信", "183.6.1.6(广东-广州)",
     "是", "否", S, S, S, S,
     S, S, S, S, S, S,
     S, S, S, S, S, S, S, S],
    ["7", "2026/5/14 8:05:55", "3分20秒", "手机提交", "微信", "183.6.1.7(广东-广州)",
     "是", "是", "知道", "不支持", "参加过", "其他〖社区巡逻〗",
     "不满意", "不太满意", "一般", "一般", "不满意", "不太满意",
     "感到不安全", "不满意", "能说出一部分", "政务服务┋其他〖路灯太暗〗┋环境卫生", "路灯太暗", "女", "18-29岁", "幸福社区"],
    ["8", "2026/5/14 20:12:00", "150秒", "手机提交", "微信", "183.6.1.8(广东-广州)",
     "是", "是", "知道", "支持", "没有参加过", "跳过",
     "比较满意", "比较满意", "比较满意", "比较满意", "比较满意", "比较满意",
     "感到安全", "比较满意", "能完整说出", "(空)", "（空）", "男", "30-44岁", "和平社区"],
]

N = -3  # 问卷星's number form: skipped
# The same respondents, number form (按选项序号) with multiple choice joined by ┋.
NUMBER_ROWS = [
    [1, 1, 1, 1, 1, "1┋5", 1, 1, 2, 1, 3, 1, 1, 1, 1, "1┋2", "多建停车场", 1, 1, "幸福社区"],
    [1, 1, 1, 1, 2, N, 2, 3, 4, 1, 1, 2, 1, 2, 2, -2, "(空)", 2, 2, "和平社区"],
    [2, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, S, N, N, S],
    [1, 1, 2, 2, 2, N, 6, 3, 5, 6, 2, 3, 3, 3, 3, "3┋4┋5", "(空)", 2, 4, "幸福社区"],
    [1, 1, 1, 1, 1, "2┋3┋4", 1, 1, 1, 1, 1, 1, 1, 1, 1, "6", "建议增加垃圾分类宣传", 1, 3, "和平社区"],
    [1, 2, N, N, N, N, N, N, N, N, N, N, N, N, N, N, S, N, N, S],
    [1, 1, 1, 3, 1, "5", 5, 4, 3, 3, 5, 4, 2, 5, 2, "1┋7┋8", "路灯太暗", 2, 1, "幸福社区"],
    [1, 1, 1, 1, 2, N, 2, 2, 2, 2, 2, 2, 1, 2, 1, -2, "(空)", 1, 2, "和平社区"],
]


def _split(cell, count):
    """问卷星's split form of one multiple-choice cell of the number form: one 0/1 per option."""
    if cell == N:
        return [N] * count
    if cell in (-2,):
        return [0] * count
    chosen = {int(n) for n in str(cell).split("┋")}
    return [1 if n in chosen else 0 for n in range(1, count + 1)]


def wjx_table(form: str) -> tuple[list[str], list[list]]:
    """问卷星's download of the eight respondents in ``form``: "text", "number" (┋) or "split"."""
    if form == "text":
        header = META + QUESTIONS + [f"7({row})" for row in MATRIX_ROWS] + LATER_QUESTIONS
        return header, [list(row) for row in TEXT_ROWS]
    matrix = [f"第7题({row})" for row in MATRIX_ROWS]
    if form == "number":
        header = META + QUESTIONS + matrix + LATER_QUESTIONS
        rows = [[int(t[0]), *t[1:6], *n] for t, n in zip(TEXT_ROWS, NUMBER_ROWS)]
        return header, rows
    assert form == "split"
    header = (META + QUESTIONS[:5] + [f"第6题({label})" for label in ACTIVITY_LABELS] + matrix
              + LATER_QUESTIONS[:3] + [f"第11题({label})" for label in IMPROVE_LABELS] + LATER_QUESTIONS[4:])
    rows = []
    for t, n in zip(TEXT_ROWS, NUMBER_ROWS):
        rows.append([int(t[0]), *t[1:6], *n[:5], *_split(n[5], 5), *n[6:15],
                     *_split(n[15], 8), *n[16:]])
    return header, rows


def as_xlsx(header, rows, dates: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        row = list(row)
        if dates:  # an Excel date cell, as after the office opened and saved the file
            row[1] = dt.datetime.strptime(row[1], "%Y/%m/%d %H:%M:%S")
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(header, rows, encoding: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def read_wjx(form: str, fmt: str):
    header, rows = wjx_table(form)
    if fmt == "xlsx":
        return read_table("答卷数据.xlsx", as_xlsx(header, rows))
    if fmt == "xlsx-dates":
        return read_table("答卷数据.xlsx", as_xlsx(header, rows, dates=True))
    if fmt == "csv-gb18030":
        return read_table("答卷数据.csv", as_csv(header, rows, "gb18030"))
    assert fmt == "csv-utf8"
    return read_table("答卷数据.csv", as_csv(header, rows, "utf-8-sig"))


def evaluate_table(questionnaire, table, saved=None):
    """What an import does: match, read each row, let the caller place it, evaluate."""
    match = match_columns(questionnaire, table.header, saved)
    unit = next(q for q in questionnaire.questions if q.kind.answers_unit)
    results, problems, metas = [], [], []
    for row in table.rows:
        raw, cell_problems = row_answers(questionnaire, match, row)
        assert unit.id not in raw  # the caller supplies the community
        name = row[match.columns[unit.id]] if unit.id in match.columns else ""
        raw[unit.id] = [UNIT_BY_NAME.get(name, "c03")]  # a fixed unit where the column is skipped
        results.append(evaluate_answers(questionnaire, raw, COMMUNITIES))
        problems += cell_problems
        metas.append(meta_of(match.source, table.header, row))
    return match, results, problems, metas


def tally(results, qid):
    counts: Counter = Counter()
    for result in results:
        value = result.answers.get(qid)
        for code in value if isinstance(value, list) else [value] if value is not None else []:
            counts[code] += 1
    return dict(counts)


# Worked out by hand from TEXT_ROWS.
EXPECTED_TALLIES = {
    "q_adult": {"yes": 7, "no": 1},
    "q_resident": {"yes": 6, "no": 1},
    "q_aware": {"yes": 5, "no": 1},
    "q_support": {"support": 4, "indifferent": 1, "oppose": 1},
    "q_participation": {"yes": 3, "no": 3},
    "q_activities": {"volunteering": 1, "cleanup": 1, "traffic_persuasion": 1, "publicity": 1, "other": 2},
    "q_sat_sanitation": {"very_satisfied": 2, "satisfied": 2, "unknown": 1, "very_dissatisfied": 1},
    "q_sat_order": {"very_satisfied": 2, "neutral": 2, "dissatisfied": 1, "satisfied": 1},
    "q_sat_traffic": {"satisfied": 2, "dissatisfied": 1, "very_dissatisfied": 1, "very_satisfied": 1, "neutral": 1},
    "q_sat_community": {"very_satisfied": 3, "unknown": 1, "neutral": 1, "satisfied": 1},
    "q_sat_window": {"neutral": 1, "very_satisfied": 2, "satisfied": 2, "very_dissatisfied": 1},
    "q_integrity": {"very_satisfied": 2, "satisfied": 2, "neutral": 1, "dissatisfied": 1},
    "q_safety": {"yes": 4, "dont_know": 1, "no": 1},
    "q_sat_overall": {"very_satisfied": 2, "satisfied": 2, "neutral": 1, "very_dissatisfied": 1},
    "q_core_values": {"full": 3, "partial": 2, "none": 1},
    "q_improve": {"sanitation": 2, "traffic": 1, "public_order": 1, "community_services": 1,
                  "public_facilities": 1, "civility": 1, "government_services": 1, "other": 1},
    "q_suggestion": {"多建停车场": 1, "建议增加垃圾分类宣传": 1, "路灯太暗": 1},
    "q_gender": {"male": 3, "female": 3},
    "q_age_group": {"18_29": 2, "30_44": 2, "45_59": 1, "60_plus": 1},
    "q_community": {"c01": 3, "c02": 3},  # the two screened out stop before it
}
EXPECTED_DURATIONS = [123.0, 123.0, 8.0, 95.0, 65.0, 12.0, 200.0, 150.0]


def check_drill(standard, match, results, problems, metas):
    assert problems == []
    assert match.source == "wjx"
    assert match.unmatched_questions == []
    assert match.unmatched_columns == []
    assert [match.header[i] for i in match.meta_columns] == META
    assert all(result.is_valid for result in results), [r.errors for r in results]
    assert [r.screened_out_by for r in results] == [None, None, "q_adult", None, None, "q_resident", None, None]
    for qid, expected in EXPECTED_TALLIES.items():
        assert tally(results, qid) == expected, qid
    assert sum(1 for r in results if "q_activities" in r.answers) == 3
    assert sum(1 for r in results if "q_improve" in r.answers) == 4
    assert results[0].answers["q_activities"] == ["volunteering", "other"]
    assert results[6].answers["q_improve"] == ["sanitation", "government_services", "other"]
    assert [m.row_id for m in metas] == [str(n) for n in range(1, 9)]
    assert [m.duration_seconds for m in metas] == EXPECTED_DURATIONS
    assert metas[0].submitted_at == dt.datetime(2026, 5, 12, 10, 31, 5)
    assert metas[3].submitted_at == dt.datetime(2026, 5, 13, 9, 15)
    assert all(m.unit_text is None for m in metas)


@pytest.mark.parametrize("form", ["text", "number", "split"])
@pytest.mark.parametrize("fmt", ["xlsx", "xlsx-dates", "csv-gb18030", "csv-utf8"])
def test_wjx_download_gives_every_count(standard, form, fmt):
    table = read_wjx(form, fmt)
    assert len(table.rows) == 8
    check_drill(standard, *evaluate_table(standard, table))


def test_the_three_forms_give_the_same_answers(standard):
    answers = {form: [r.answers for r in evaluate_table(standard, read_wjx(form, "xlsx"))[1]]
               for form in ("text", "number", "split")}
    assert answers["text"] == answers["number"] == answers["split"]


def test_wjx_xls_file(standard):
    """An old-format .xls, as 问卷星 long gave them (number form, split columns);
    tests/questions/data/make_wjx_xls.py wrote it from wjx_table("split")."""
    table = read_table("123456_2_文明城市_0.xls", (DATA / "wjx_split.xls").read_bytes())
    header, rows = wjx_table("split")
    assert table.header == header
    assert table.rows == [[str(cell) for cell in row] for row in rows]
    check_drill(standard, *evaluate_table(standard, table))


def test_how_wjx_columns_are_matched(standard):
    header, _ = wjx_table("split")
    match = match_columns(standard, header)
    index = header.index
    assert match.columns["q_sat_sanitation"] == index("第7题(环境卫生)")  # matrix rows: question text
    assert match.columns["q_sat_community"] == index("第7题(社区服务)")  # ... or its indicator's name
    assert match.columns["q_integrity"] == index("第7题(政府诚信)")
    assert match.option_columns["q_activities"] == {
        "volunteering": index("第6题(志愿服务)"), "cleanup": index("第6题(环境卫生清洁)"),
        "traffic_persuasion": index("第6题(文明交通劝导)"), "publicity": index("第6题(文明宣传活动)"),
        "other": index("第6题(其他)")}
    assert match.option_columns["q_improve"]["other"] == index("第11题(其他【请注明】)")
    assert match.columns["q_community"] == index("15、您居住在哪个社区（村）？")
    assert "q_activities" not in match.columns
    assert match.columns_of("q_activities") == sorted(match.option_columns["q_activities"].values())
    assert match.question_of(index("第6题(其他)")) == "q_activities"
    assert match.question_of(0) is None


# -- headers, sources and saved mappings -------------------------------------------------------------------------------


def test_detect_source():
    assert detect_source(["response_id", "unit_code", "submitted_at", "q_aware"]) == "minyi"
    assert detect_source(["序号", "提交答卷时间", "1、您的性别"]) == "wjx"
    assert detect_source(["编号", "1、您的性别"]) == "wjx"
    assert detect_source(["姓名", "您的性别"]) == "table"


@pytest.mark.parametrize("title", [
    "13、您的性别", "13：您的性别", "13.您的性别", "13. 您的性别", "第13题 您的性别", "第13题、您的性别",
    "Q13. 您的性别", "q13：您的性别", "13、您的性别 ", "13、您的性别[单选题]", "13、您的性别*", "您的性别",
    "１３、您的性别。", "13、您 的 性别？",
])
def test_question_numbering_and_punctuation_are_ignored(standard, title):
    match = match_columns(standard, ["序号", title])
    assert match.columns == {"q_gender": 1}


def test_similar_text_matches_and_unrelated_text_does_not(standard):
    header = ["序号", "1、请问您是否已年满18周岁？", "2、您的手机号码", "3、您的性别"]
    match = match_columns(standard, header)
    assert match.columns == {"q_adult": 1, "q_gender": 3}
    assert match.unmatched_columns == [2]
    assert "q_aware" in match.unmatched_questions


def test_a_table_keyed_by_question_ids_or_columns(standard):
    match = match_columns(standard, ["q_aware", "gender", "age_group", "unit", "备注"])
    assert match.source == "table"
    assert match.columns == {"q_aware": 0, "q_gender": 1, "q_age_group": 2, "q_community": 3}
    assert match.unmatched_columns == [4]
    raw, problems = row_answers(standard, match, ["知道", "女", "18—29岁", "幸福社区", "x"])
    assert raw == {"q_aware": ["yes"], "q_gender": ["female"], "q_age_group": ["18_29"]}
    assert problems == []


def test_a_saved_mapping_overrides_and_is_reused(standard):
    header = ["序号", "提交答卷时间", "1、是否成年", "6、参加过的活动(志愿服务)", "6、参加过的活动(其他)",
              "7、满意吗", "备注"]
    auto = match_columns(standard, header)
    assert auto.columns == {} and auto.option_columns == {}
    assert auto.unmatched_columns == [2, 3, 4, 5, 6]
    saved = {"1、是否成年": "q_adult", "6、参加过的活动(志愿服务)": "q_activities:volunteering",
             "6、参加过的活动(其他)": "q_activities:other", "7、满意吗": "q_sat_overall", "备注": "",
             "不在表里": "q_aware", "1、别的": "no_such_question"}
    match = match_columns(standard, header, saved)
    assert match.columns == {"q_adult": 2, "q_sat_overall": 5}
    assert match.option_columns == {"q_activities": {"volunteering": 3, "other": 4}}
    assert match.ignored_columns == [6]
    assert match.unmatched_columns == []
    assert match.mapping() == {k: v for k, v in saved.items() if k in header}
    assert match_columns(standard, header, match.mapping()) == match
    raw, problems = row_answers(standard, match, ["1", "", "是", "1", "0", "很满意", "随便写"])
    assert raw["q_adult"] == ["yes"] and raw["q_activities"] == ["volunteering"]
    assert problems == [CellProblem(
        5, "7、满意吗", "很满意",
        "第 6 列「7、满意吗」的值「很满意」不是本题的选项（可选：满意、比较满意、一般、不太满意、不满意、不了解）")]


def test_a_saved_mapping_to_a_question_picks_the_option_of_a_split_column(standard):
    header = ["序号", "第9题(志愿服务)", "第9题(文明宣传活动)", "第9题(打篮球)"]
    match = match_columns(standard, header, {h: "q_activities" for h in header[1:]})
    assert match.option_columns == {"q_activities": {"volunteering": 1, "publicity": 2}}
    assert match.unmatched_columns == [3]


def test_a_saved_mapping_beats_the_automatic_match(standard):
    header = ["序号", "13、您的性别", "14、您的年龄"]
    match = match_columns(standard, header, {"13、您的性别": "", "14、您的年龄": "q_gender"})
    assert match.columns == {"q_gender": 2}
    assert match.ignored_columns == [1]
    assert "q_age_group" in match.unmatched_questions


# -- cells ---------------------------------------------------------------------------------------------------------------


def wjx_match(standard):
    header, _ = wjx_table("text")
    return header, match_columns(standard, header)


def row_with(header, **cells):
    row = [""] * len(header)
    for title, value in cells.items():
        row[next(i for i, h in enumerate(header) if h.startswith(title))] = value
    return row


def test_labels_numbers_and_skips(standard):
    header, match = wjx_match(standard)
    raw, problems = row_answers(standard, match, row_with(
        header, **{"1、": "是", "3、": "2", "4、": " 无所谓 ", "6、": "（跳过）", "7(环境卫生)": "-3",
                   "7(社会治安)": "不了解", "11、": "２┋其它", "12、": "(跳过)", "14、": "18~29岁", "8、": "-2"}))
    assert problems == []
    assert raw == {"q_adult": ["yes"], "q_aware": ["no"], "q_support": ["indifferent"], "q_sat_order": ["unknown"],
                   "q_improve": ["traffic", "other"], "q_age_group": ["18_29"]}


def test_cells_that_fit_no_option(standard):
    header, match = wjx_match(standard)
    row = row_with(header, **{"1、": "是┋否", "3、": "7", "6、": "志愿服务┋打篮球", "7(环境卫生)": "很好"})
    raw, problems = row_answers(standard, match, row)
    assert raw == {}
    column = header.index("7(环境卫生)")
    assert problems == [
        CellProblem(6, header[6], "是┋否", f"第 7 列「{header[6]}」的值「是┋否」选了多项，本题只能选一项"),
        CellProblem(8, header[8], "7", f"第 9 列「{header[8]}」的值「7」不是本题的选项（可选：1=知道、2=不知道）"),
        CellProblem(11, header[11], "志愿服务┋打篮球",
                    f"第 12 列「{header[11]}」的值「志愿服务┋打篮球」中的「打篮球」不是本题的选项"
                    "（可选：志愿服务、环境卫生清洁、文明交通劝导、文明宣传活动、其他）"),
        CellProblem(column, "7(环境卫生)", "很好",
                    f"第 {column + 1} 列「7(环境卫生)」的值「很好」不是本题的选项"
                    "（可选：满意、比较满意、一般、不太满意、不满意、不了解）"),
    ]


def test_split_columns_accept_only_zero_and_one(standard):
    header, rows = wjx_table("split")
    match = match_columns(standard, header)
    row = [str(c) for c in rows[0]]
    column = header.index("第6题(环境卫生清洁)")
    row[column] = "2"
    raw, problems = row_answers(standard, match, row)
    assert "q_activities" not in raw
    assert [(p.column, p.value) for p in problems] == [(column, "2")]
    assert problems[0].message == f"第 {column + 1} 列「第6题(环境卫生清洁)」的值「2」应为 1（选中）或 0（未选）"


def test_numbers_and_text_pass_through(standard):
    questionnaire = standard.__class__(
        code="t", version=1, title=standard.title,
        questions=[q for q in standard.questions if q.id in ("q_suggestion",)])
    match = match_columns(questionnaire, ["序号", "12、您对我市创建文明城市工作还有哪些意见和建议？（选填）"])
    assert row_answers(questionnaire, match, ["1", "=1+1 多种树"]) == ({"q_suggestion": ["=1+1 多种树"]}, [])
    assert row_answers(questionnaire, match, ["1", "(空)"]) == ({}, [])


# -- row metadata ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("123秒", 123.0), ("2分3秒", 123.0), ("2分钟3秒", 123.0), ("1小时2分3秒", 3723.0), ("1时0分5秒", 3605.0),
    ("5分", 300.0), ("123", 123.0), ("12.5", 12.5), ("0:02:03", 123.0), ("１２３秒", 123.0),
    ("", None), ("--", None), ("NULL", None), ("-5", None), ("秒", None),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "expected"), [
    ("2026/5/12 10:31:05", dt.datetime(2026, 5, 12, 10, 31, 5)),
    ("2026-05-12 10:31:05", dt.datetime(2026, 5, 12, 10, 31, 5)),
    ("2026/5/12 10:31", dt.datetime(2026, 5, 12, 10, 31)),
    ("2026/5/12", dt.datetime(2026, 5, 12)),
    ("2026年5月12日 10:31:05", dt.datetime(2026, 5, 12, 10, 31, 5)),
    ("2026-05-12T02:31:05.250000+00:00", dt.datetime(2026, 5, 12, 2, 31, 5, 250000)),
    ("2026-05-12T10:31:05+08:00", dt.datetime(2026, 5, 12, 2, 31, 5)),
    ("2026-05-12T02:31:05Z", dt.datetime(2026, 5, 12, 2, 31, 5)),
    ("2026/2/30 10:00:00", None), ("NULL", None), ("", None), ("昨天", None),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


def test_meta_of_each_source():
    wjx = meta_of("wjx", ["序号", "提交答卷时间", "所用时间", "来源"], ["17", "2026/5/12 10:31:05", "2分3秒", "微信"])
    assert wjx == RowMeta("17", dt.datetime(2026, 5, 12, 10, 31, 5), 123.0, None)
    assert meta_of("wjx", ["序号", "提交答卷时间", "所用时间"], ["", "NULL", "NULL"]) == RowMeta()
    minyi = meta_of("minyi", list(MINYI_FIXED_COLUMNS),
                    ["42", "c01", "幸福社区", "3", "", "2026-05-12T02:29:00+00:00", "2026-05-12T02:31:05+00:00",
                     "125.0", "complete", "", "", "no", "self", "", "yes", ""])
    assert minyi == RowMeta("42", dt.datetime(2026, 5, 12, 2, 31, 5), 125.0, "c01")
    assert meta_of("table", ["序号", "姓名"], ["5"]) == RowMeta(row_id="5")


# -- Minyi's own export ------------------------------------------------------------------------------------------------


def minyi_export(questionnaire, answer_sets) -> bytes:
    """A CSV as survey.queries.export writes it, built by hand from clean answers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(MINYI_FIXED_COLUMNS) + [q.column for q in questionnaire.questions])
    for number, answers in enumerate(answer_sets, start=1):
        unit = answers.get("q_community", "c03")
        fixed = [str(number), unit, COMMUNITIES[unit], "1", "社区门口", "2026-05-12T02:29:00+00:00",
                 "2026-05-12T02:31:05+00:00", "125.0", "complete", "", "", "no", "self", "", "yes", ""]
        writer.writerow(fixed + [export_value(q, answers.get(q.id)) for q in questionnaire.questions])
    return out.getvalue().encode("utf-8")


def test_minyi_export_reads_back_to_the_same_answers(standard):
    _, drill, _, _ = evaluate_table(standard, read_wjx("text", "xlsx"))
    originals = [r.answers for r in drill]
    originals[4] = dict(originals[4], q_suggestion="=SUM(A1) 要多'种树'")  # formula-like text is neutralised
    table = read_table("responses.csv", minyi_export(standard, originals))
    match = match_columns(standard, table.header)
    assert match.source == "minyi"
    assert match.unmatched_columns == [] and match.unmatched_questions == []
    assert len(match.meta_columns) == len(MINYI_FIXED_COLUMNS)
    back = []
    for row in table.rows:
        raw, problems = row_answers(standard, match, row)
        assert problems == []
        back.append(evaluate_answers(standard, raw, COMMUNITIES).answers)
    assert back == originals
    assert meta_of("minyi", table.header, table.rows[0]).unit_text == originals[0]["q_community"]


def test_minyi_export_without_the_community_column_uses_unit_code(standard):
    header = list(MINYI_FIXED_COLUMNS) + ["q_adult", "q_aware"]
    match = match_columns(standard, header)
    assert match.columns["q_community"] == header.index("unit_code")
    row = ["1", "c02", "和平社区", "", "", "", "", "", "complete", "", "", "no", "self", "", "yes", "", "yes", "no"]
    assert row_answers(standard, match, row) == ({"q_adult": ["yes"], "q_aware": ["no"], "q_community": ["c02"]}, [])


def test_minyi_export_with_labels_typed_over_codes(standard):
    header = list(MINYI_FIXED_COLUMNS) + ["q_aware", "q_activities", "q_sat_overall"]
    match = match_columns(standard, header)
    fixed = ["1", "c01"] + [""] * (len(MINYI_FIXED_COLUMNS) - 2)
    raw, problems = row_answers(standard, match, fixed + ["知道", "volunteering;其他", "巨好"])
    assert raw == {"q_community": ["c01"], "q_aware": ["yes"], "q_activities": ["volunteering", "other"]}
    assert [p.value for p in problems] == ["巨好"]


def test_column_match_is_a_plain_record():
    match = ColumnMatch(source="table", header=["a"])
    assert match.columns == {} and match.option_columns == {} and match.mapping() == {}
