"""The paper-entry workbook: an Excel sheet made for a round's questionnaire
that an office fills in from paper questionnaires (in Excel or WPS) and
imports back (``survey.usecases.response_import``).

One row per paper questionnaire: its number (问卷编号, so the same sheet is
never counted twice), then one column per question headed "N. question" as
the questionnaire numbers them, with a drop-down of the options (a number or
the option's words both import; several numbers for a multiple choice:
"1 3"). A second sheet lists every question's options by number.

Pure: a questionnaire and community names in, .xlsx bytes out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from questions import Questionnaire
from questions.imports import SHEET_NUMBER

ENTRY_ROWS = 1000
_HEADER_FILL = PatternFill("solid", fgColor="FBE9E7")


def entry_template(questionnaire: Questionnaire, round_name: str, communities: Sequence[str]) -> bytes:
    """The workbook for ``questionnaire``; ``communities`` are the names the
    community question offers (the round's communities)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "录入表"
    lists = book.create_sheet("选项")
    guide = book.create_sheet("说明")
    header = [SHEET_NUMBER] + [f"{n}. {q.text.zh}" for n, q in enumerate(questionnaire.questions, start=1)]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[1].height = 60
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 12

    lists.append(["题号", "题目", "编号", "选项"])
    list_row = 2
    for column, (n, question) in enumerate(enumerate(questionnaire.questions, start=1), start=2):
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = 16
        labels = list(communities) if question.kind.answers_unit else [o.label.zh for o in question.options]
        if not labels:
            continue
        first = list_row
        for number, label in enumerate(labels, start=1):
            lists.append([n, question.text.zh, number, label])
            list_row += 1
        if question.kind.multiple:
            continue  # several answers in one cell: no drop-down (Excel lists hold one value)
        rule = DataValidation(type="list", formula1=f"=选项!$D${first}:$D${list_row - 1}", allow_blank=True,
                              showErrorMessage=False)
        rule.add(f"{letter}2:{letter}{ENTRY_ROWS + 1}")
        sheet.add_data_validation(rule)
    lists.column_dimensions["B"].width = 40
    lists.column_dimensions["D"].width = 24

    for line in (
        f"{round_name}：纸质问卷录入表（{questionnaire.title.zh}）",
        "",
        "1. 每份纸质问卷填一行。“问卷编号”填纸质问卷上的编号：同一编号只计一次，重复导入不会重复计数。",
        "2. 每题可从下拉列表选择选项，也可以填选项编号（见“选项”表）。",
        "3. 多选题填多个编号，用空格或顿号分开，例如“1 3”或“1、3”。",
        "4. 未回答或不适用的题目留空。",
        "5. 填好后在民意工作台本轮调查页面选择“导入答卷”，上传本文件。",
    ):
        guide.append([line])
    guide.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
