"""Writes wjx_split.xls, the old-format Excel fixture of tests/questions/test_imports.py.

The .xls is committed (a few KB) because writing .xls needs xlwt, which the
project does not otherwise use. To rewrite it after changing wjx_table():

    pip install xlwt && python tests/questions/data/make_wjx_xls.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import xlwt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[2]))

from test_imports import wjx_table  # noqa: E402


def main() -> None:
    header, rows = wjx_table("split")
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate([header, *rows]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(HERE / "wjx_split.xls"))


if __name__ == "__main__":
    main()
