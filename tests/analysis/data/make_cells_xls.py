"""Writes cells.xls, the old-format Excel fixture of tests/analysis/test_tabular.py:
one cell of each kind an .xls holds. Committed (a few KB) because writing .xls
needs xlwt, which the project does not otherwise use. To rewrite it:

    pip install xlwt && python tests/analysis/data/make_cells_xls.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlwt

HERE = Path(__file__).resolve().parent


def main() -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("答卷")
    when = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    header = ["序号", "提交答卷时间", "日期", "数量", "比例", "是否", "文字", "空"]
    for c, value in enumerate(header):
        sheet.write(0, c, value)
    sheet.write(1, 0, 1)
    sheet.write(1, 1, dt.datetime(2026, 5, 12, 10, 31, 5), when)
    sheet.write(1, 2, dt.date(2026, 5, 12), day)
    sheet.write(1, 3, 2.0)
    sheet.write(1, 4, 2.5)
    sheet.write(1, 5, True)
    sheet.write(1, 6, "  满意 ")
    sheet.write(2, 0, 2)
    sheet.write(2, 6, "其他〖扫雪〗")
    other = book.add_sheet("第二页")
    other.write(0, 0, "不读这一页")
    book.save(str(HERE / "cells.xls"))


if __name__ == "__main__":
    main()
