"""Reading a spreadsheet the office hands over into a plain table of text.

``read_table(filename, data)`` reads CSV (UTF-8 or GB18030, as Chinese Excel
saves it), Excel .xlsx (the first sheet) and old Excel .xls (when ``xlrd`` is
installed) into a header and rows of stripped strings: every cell as the
office sees it, ``2`` rather than ``2.0``, dates as ``2026-05-12 10:31:05``.
What the columns mean is decided elsewhere (``questions.imports``).

Every read is bounded in bytes, rows, columns, cell length, expanded size and
time, so a file made to be large (a small .xlsx that expands to gigabytes, a
CSV with one huge cell) is refused with a message naming the limit, without
loading all of it. Messages are in Chinese: they are shown to the office as
they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .textfile import decode_text

__all__ = [
    "MAX_CELL_CHARACTERS",
    "MAX_COLUMNS",
    "MAX_READ_SECONDS",
    "MAX_ROWS",
    "MAX_TABLE_BYTES",
    "MAX_XLSX_EXPANDED_BYTES",
    "Table",
    "TableReadError",
    "read_table",
]

#: Bounds of one table: far above a district's drill (a few thousand answers
#: to a few dozen questions), far below what would stall a web worker.
MAX_TABLE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000  # rows below the header
MAX_COLUMNS = 500
MAX_CELL_CHARACTERS = 5_000
#: An .xlsx is a zip archive: what its parts may expand to, in all.
MAX_XLSX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_XLSX_MEMBERS = 10_000
#: Reading stops with an error after this long (checked every few hundred rows).
MAX_READ_SECONDS = 120.0

_MB = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and encrypted Office files)
#: Control characters no spreadsheet cell means (all C0 but tab and line
#: breaks, and DEL); PostgreSQL could not even store a NUL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAVE_AGAIN = "请在 Excel 或 WPS 中打开后另存为 .xlsx 或 CSV 再导入。"


class TableReadError(ValueError):
    """The file cannot be read as a table; ``message`` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Table:
    """A spreadsheet as text.

    Parameters
    ----------
    header : list of str
        The first non-blank row, one name per column (``""`` for a column
        without a name).
    rows : list of list of str
        The rows below it, each exactly as long as ``header``; cells are
        stripped strings, ``""`` when empty. Blank rows inside the table are
        kept (so ``rows[i]`` is spreadsheet row ``header_row + 1 + i``);
        blank rows after the last one with data are dropped.
    header_row : int
        Spreadsheet row number (1-based) of the header; 1 unless blank rows
        come before it.
    """

    header: list[str]
    rows: list[list[str]]
    header_row: int = 1

    def row_number(self, index: int) -> int:
        """The spreadsheet row number (1-based, as Excel shows it) of ``rows[index]``."""
        return self.header_row + 1 + index


def read_table(filename: str, data: bytes) -> Table:
    """The table in ``data``, a file called ``filename`` (the name tells CSV from Excel).

    The format is taken from the content where it can be (a zip archive is
    .xlsx, an OLE compound file is .xls, whatever the file is called), else
    from the name: ``.csv`` / ``.txt`` are read as text.

    :raises TableReadError: unknown format, unreadable or empty file, or a
        limit passed (the message names it).
    """
    if len(data) > MAX_TABLE_BYTES:
        raise TableReadError(f"文件超过 {MAX_TABLE_BYTES // _MB} MB，请拆分成较小的文件后再导入。")
    name = (filename or "").strip().lower()
    deadline = time.monotonic() + MAX_READ_SECONDS
    if data.startswith(_ZIP_MAGIC):
        grid = _xlsx_rows(data, deadline)
    elif data.startswith(_OLE_MAGIC):
        grid = _xls_rows(data, deadline)
    elif name.endswith((".csv", ".txt", ".tsv")):
        grid = _csv_rows(data, deadline)
    elif name.endswith((".xlsx", ".xlsm", ".xls")):
        raise TableReadError("无法读取这个 Excel 文件（文件已损坏，或并非真正的 Excel 文件）；" + _SAVE_AGAIN)
    else:
        raise TableReadError("不支持这种文件类型；请上传 Excel（.xlsx、.xls）或 CSV 文件。")
    return _table(grid)


# -- shaping -------------------------------------------------------------------------


def _table(grid: Iterable[list[str]]) -> Table:
    """Header and rows from the bounded rows: blank rows before the header and
    after the last data row dropped, every row padded to one width."""
    header: list[str] | None = None
    header_row = 0
    rows: list[list[str]] = []
    blank_run: list[list[str]] = []
    width = 0
    for number, row in enumerate(grid, start=1):
        filled = _filled_width(row)
        if header is None:
            if filled:
                header, header_row, width = row[:filled], number, filled
            continue
        if not filled:
            blank_run.append([])
            continue
        rows.extend(blank_run)
        blank_run = []
        rows.append(row[:filled])
        width = max(width, filled)
    if header is None:
        raise TableReadError("文件是空的：没有找到表头和数据。")
    pad = [""] * width
    return Table(
        header=(header + pad)[:width],
        rows=[(row + pad)[:width] for row in rows],
        header_row=header_row,
    )


def _filled_width(row: list[str]) -> int:
    """How many leading cells of ``row`` reach its last non-empty one."""
    for index in range(len(row) - 1, -1, -1):
        if row[index]:
            return index + 1
    return 0


def _bounded(rows: Iterable[list[str]], deadline: float) -> Iterator[list[str]]:
    """Rows with their cells cleaned and checked; stops at the row, column,
    length and time limits. Blank rows past the row limit are let through
    unstored (Excel often carries formatted empty rows); data there is refused."""
    for number, row in enumerate(rows, start=1):
        if number % 256 == 0 and time.monotonic() > deadline:
            raise TableReadError(f"读取文件用时超过 {int(MAX_READ_SECONDS)} 秒，请拆分成较小的文件后再导入。")
        if len(row) > MAX_COLUMNS:
            if any(row[MAX_COLUMNS:]):
                raise TableReadError(f"第 {number} 行超过 {MAX_COLUMNS} 列，请删去多余的列后再导入。")
            row = row[:MAX_COLUMNS]
        if number > MAX_ROWS + 1:  # the header is not counted
            if any(row):
                raise TableReadError(f"文件超过 {MAX_ROWS} 行，请拆分成较小的文件后再导入。")
            continue
        for column, cell in enumerate(row, start=1):
            if len(cell) > MAX_CELL_CHARACTERS:
                raise TableReadError(
                    f"第 {number} 行第 {column} 列的内容超过 {MAX_CELL_CHARACTERS} 个字符，无法导入。"
                )
        yield row


def _clean(text: str) -> str:
    return _CONTROL.sub("", text).strip()


# -- CSV -----------------------------------------------------------------------------


def _csv_rows(data: bytes, deadline: float) -> list[list[str]]:
    try:
        text = decode_text(data)
    except UnicodeDecodeError:
        raise TableReadError(
            "无法识别文件的文字编码；请用 UTF-8 或 GB18030（Excel 中文版的 CSV）保存后再导入。"
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    # newline="": a bare CR ends a row (old Mac files) instead of breaking the parser.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    cleaned = ([_clean(cell) for cell in row] for row in reader)
    try:
        return list(_bounded(cleaned, deadline))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise TableReadError(
                f"第 {reader.line_num} 行有内容超过 {MAX_CELL_CHARACTERS} 个字符，无法导入。"
            ) from None
        raise TableReadError(f"第 {reader.line_num} 行不是有效的 CSV（请检查引号是否成对）。") from None


# -- Excel cells ---------------------------------------------------------------------


def _number_text(value: float | int) -> str:
    """A number as the office typed it: ``2`` for 2.0, ``2.5``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _datetime_text(value: dt.datetime) -> str:
    # Excel keeps times as fractions of a day: 10:31:05 can come back as 10:31:04.999999.
    if value.microsecond >= 500_000:
        value += dt.timedelta(microseconds=1_000_000 - value.microsecond)
    return value.replace(microsecond=0, tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return _datetime_text(dt.datetime.combine(value, dt.time()))
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        return _number_text(round(value.total_seconds(), 3))
    return _clean(str(value))


# -- .xlsx ---------------------------------------------------------------------------

_XLSX_UNREADABLE = "无法读取这个 Excel 文件（文件已损坏或不是 .xlsx 文件）；" + _SAVE_AGAIN


def _check_xlsx_archive(data: bytes) -> None:
    """Refuse a zip that would expand beyond the limit, by its declared sizes,
    before openpyxl opens it. The zip module stops extracting at the declared
    size, so checking it bounds what openpyxl can read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise TableReadError(_XLSX_UNREADABLE) from None
    expanded = sum(member.file_size for member in members)
    if len(members) > MAX_XLSX_MEMBERS or expanded > MAX_XLSX_EXPANDED_BYTES:
        raise TableReadError(
            f"这个 Excel 文件解压后超过 {MAX_XLSX_EXPANDED_BYTES // _MB} MB，请拆分成较小的文件后再导入。"
        )


def _xlsx_rows(data: bytes, deadline: float) -> list[list[str]]:
    from openpyxl import load_workbook

    _check_xlsx_archive(data)
    with warnings.catch_warnings():
        # Files saved by WPS or 问卷星 make openpyxl warn (no default style, unknown extensions).
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file
            raise TableReadError(_XLSX_UNREADABLE) from None
        try:
            if not workbook.worksheets:
                raise TableReadError("这个 Excel 文件里没有工作表。")
            sheet = workbook.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            return list(_bounded(([_cell_text(v) for v in row] for row in rows), deadline))
        except TableReadError:
            raise
        except Exception:  # a damaged sheet fails only while it is read
            raise TableReadError(_XLSX_UNREADABLE) from None
        finally:
            workbook.close()


# -- .xls ----------------------------------------------------------------------------


def _xls_rows(data: bytes, deadline: float) -> list[list[str]]:
    try:
        import xlrd
    except ImportError:
        raise TableReadError("本系统无法读取旧版 Excel（.xls）文件；" + _SAVE_AGAIN) from None
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception:  # xlrd raises XLRDError, struct.error, IndexError ... for damaged or encrypted files
        raise TableReadError("无法读取这个 .xls 文件（文件已损坏、加密，或不是 Excel 文件）；" + _SAVE_AGAIN) from None
    try:
        if book.nsheets < 1:
            raise TableReadError("这个 Excel 文件里没有工作表。")
        sheet = book.sheet_by_index(0)
        datemode = book.datemode

        def cell(kind: int, value: object) -> str:
            if kind == xlrd.XL_CELL_DATE:
                try:
                    return _datetime_text(xlrd.xldate_as_datetime(value, datemode))
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    return _number_text(value)  # type: ignore[arg-type]
            if kind == xlrd.XL_CELL_BOOLEAN:
                return "TRUE" if value else "FALSE"
            if kind == xlrd.XL_CELL_ERROR:
                return xlrd.error_text_from_code.get(value, "")  # type: ignore[call-overload]
            return _cell_text(value)

        def rows() -> Iterator[list[str]]:
            for index in range(sheet.nrows):
                kinds, values = sheet.row_types(index), sheet.row_values(index)
                yield [cell(k, v) for k, v in zip(kinds, values)]

        return list(_bounded(rows(), deadline))
    except TableReadError:
        raise
    except Exception:
        raise TableReadError("无法读取这个 .xls 文件（文件已损坏）；" + _SAVE_AGAIN) from None
    finally:
        book.release_resources()
