"""analysis.tabular: spreadsheets (CSV, .xlsx, .xls) as plain tables of text, within bounds."""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from analysis import tabular
from analysis.tabular import Table, TableReadError, read_table

DATA = Path(__file__).parent / "data"


def xlsx(*sheets: list[list]) -> bytes:
    book = Workbook()
    for number, rows in enumerate(sheets):
        sheet = book.active if number == 0 else book.create_sheet(f"Sheet{number + 1}")
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(filename: str, data: bytes) -> str:
    with pytest.raises(TableReadError) as caught:
        read_table(filename, data)
    assert isinstance(caught.value, ValueError)
    assert caught.value.message == str(caught.value)
    return caught.value.message


# -- CSV -----------------------------------------------------------------------------------------------------------


CSV = "序号,1、您的性别,2、您的年龄,备注\n1, 男 ,18-29岁,\n\n2,女,60岁及以上,\"两行\n备注\"\n3,女\n,,,\n\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_chinese_excel_saves(encoding):
    table = read_table("答卷.csv", CSV.encode(encoding))
    assert table == Table(
        header=["序号", "1、您的性别", "2、您的年龄", "备注"],
        rows=[
            ["1", "男", "18-29岁", ""],
            ["", "", "", ""],  # a blank row inside is kept, so rows keep their numbers
            ["2", "女", "60岁及以上", "两行\n备注"],
            ["3", "女", "", ""],  # short rows are padded; blank rows at the end dropped
        ],
    )
    assert table.row_number(0) == 2 and table.row_number(3) == 5


def test_csv_cells_are_text_as_written():
    table = read_table("a.CSV", b"a,b,c\n2.0,0012,=1+1\n")
    assert table.rows == [["2.0", "0012", "=1+1"]]


def test_blank_rows_before_the_header_and_columns_beyond_it():
    table = read_table("a.csv", b"\n,,\nname,score\nx,1,extra\n")
    assert table.header == ["name", "score", ""]
    assert table.rows == [["x", "1", "extra"]]
    assert table.header_row == 3 and table.row_number(0) == 4


def test_tab_separated_text():
    assert read_table("a.txt", "序号\t性别\n1\t男\n".encode()).rows == [["1", "男"]]


def test_control_characters_are_dropped():
    assert read_table("a.csv", b"a,b\nx\x00y,\x07z\n").rows == [["xy", "z"]]


def test_csv_that_is_not_text():
    assert "编码" in refused("a.csv", b"a,b\n\x80\n")


# -- .xlsx ---------------------------------------------------------------------------------------------------------


def test_xlsx_cells_as_the_office_sees_them():
    data = xlsx(
        [["序号", "提交答卷时间", "日期", "时刻", "数量", "比例", "是否", "文字", None, "大数"],
         [1, dt.datetime(2026, 5, 12, 10, 31, 5), dt.date(2026, 5, 12), dt.time(9, 5), 2.0, 2.5, True, "  满意 ",
          None, 12345678901234],
         [2, dt.datetime(2026, 5, 12, 10, 31, 4, 999_999), None, None, -3, 0.1, False, "其他〖扫雪〗"]],
        [["第二页"], ["不读"]],
    )
    table = read_table("答卷数据.xlsx", data)
    assert table.header == ["序号", "提交答卷时间", "日期", "时刻", "数量", "比例", "是否", "文字", "", "大数"]
    assert table.rows == [
        ["1", "2026-05-12 10:31:05", "2026-05-12 00:00:00", "09:05:00", "2", "2.5", "TRUE", "满意", "",
         "12345678901234"],
        ["2", "2026-05-12 10:31:05", "", "", "-3", "0.1", "FALSE", "其他〖扫雪〗", "", ""],
    ]


def test_xlsx_rows_and_columns_keep_their_places():
    book = Workbook()
    sheet = book.active
    sheet["B3"], sheet["C3"], sheet["B4"], sheet["B6"], sheet["D6"] = "序号", "性别", 1, 2, "远处"
    out = io.BytesIO()
    book.save(out)
    table = read_table("a.xlsx", out.getvalue())
    assert table == Table(header=["", "序号", "性别", ""],
                          rows=[["", "1", "", ""], ["", "", "", ""], ["", "2", "", "远处"]], header_row=3)
    assert [table.row_number(i) for i in range(3)] == [4, 5, 6]


def test_the_content_decides_the_format_not_the_name():
    data = xlsx([["a"], [1]])
    assert read_table("download.xls", data).rows == [["1"]]
    assert read_table("download.csv", data).rows == [["1"]]
    assert read_table("cells.xlsx", (DATA / "cells.xls").read_bytes()).header[0] == "序号"


def test_damaged_or_unknown_files():
    assert "Excel" in refused("a.xlsx", b"PK\x03\x04 not really a zip")
    assert "Excel" in refused("a.xlsx", b"just text")
    assert ".xls" in refused("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert "不支持" in refused("a.pdf", b"%PDF-1.4")
    assert "空" in refused("a.csv", b"")
    assert "空" in refused("a.csv", b",,\n\n")
    assert "空" in refused("a.xlsx", xlsx([]))


# -- .xls ----------------------------------------------------------------------------------------------------------


def test_xls_cells_as_the_office_sees_them():
    """cells.xls was written by tests/analysis/data/make_cells_xls.py (xlwt)."""
    table = read_table("cells.xls", (DATA / "cells.xls").read_bytes())
    assert table == Table(
        header=["序号", "提交答卷时间", "日期", "数量", "比例", "是否", "文字", "空"],
        rows=[["1", "2026-05-12 10:31:05", "2026-05-12 00:00:00", "2", "2.5", "TRUE", "满意", ""],
              ["2", "", "", "", "", "", "其他〖扫雪〗", ""]],
    )


def test_xls_without_xlrd_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "xlrd", None)
    assert "另存为 .xlsx 或 CSV" in refused("cells.xls", (DATA / "cells.xls").read_bytes())


# -- limits --------------------------------------------------------------------------------------------------------


def test_file_size_limit():
    assert "20 MB" in refused("a.csv", b"a\n" + b"x" * (20 * 1024 * 1024))


def test_row_limit():
    ok = b"a\n" + b"1\n" * 200_000
    assert len(read_table("a.csv", ok).rows) == 200_000
    assert "200000 行" in refused("a.csv", ok + b"1\n")
    assert len(read_table("a.csv", ok + b",\n" * 10).rows) == 200_000  # blank rows beyond do not count


def test_column_limit():
    assert len(read_table("a.csv", (",".join(["h"] * 500) + "\n").encode()).header) == 500
    assert "500 列" in refused("a.csv", (",".join(["h"] * 501) + "\n").encode())
    assert len(read_table("a.csv", (",".join(["h"] * 500) + ",,,\n").encode()).header) == 500
    assert "500 列" in refused("a.xlsx", xlsx([["h"] * 501]))


def test_cell_length_limit():
    assert read_table("a.csv", ("a\n" + "长" * 5000).encode()).rows == [["长" * 5000]]
    message = refused("a.csv", ("a\n" + "长" * 5001).encode())
    assert "5000 个字符" in message and "第 2 行第 1 列" in message
    assert "5000 个字符" in refused("a.csv", ("a\n" + "x" * 200_000).encode())  # beyond the csv module's own limit
    assert "5000 个字符" in refused("a.xlsx", xlsx([["a"], ["长" * 5001]]))


def test_xlsx_expanded_size_limit(monkeypatch):
    data = xlsx([["a"], [1]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        expanded = sum(m.file_size for m in archive.infolist())
    monkeypatch.setattr(tabular, "MAX_XLSX_EXPANDED_BYTES", expanded - 1)
    assert "解压后超过" in refused("a.xlsx", data)


def test_a_zip_bomb_is_refused_before_it_is_read():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(201):
                member.write(chunk)
    assert len(out.getvalue()) < 1024 * 1024
    assert "200 MB" in refused("a.xlsx", out.getvalue())


def test_time_limit(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_READ_SECONDS", -1.0)
    assert "秒" in refused("a.csv", b"a\n" + b"1\n" * 1000)
