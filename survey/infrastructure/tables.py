"""Reading the office's spreadsheets: CSV (UTF-8 or GBK, as Chinese Excel
saves it) or Excel .xlsx, into rows keyed by canonical column names.

Every read is bounded in bytes, rows, columns, cell length and time, so a
file made to be large (a 90 KB .xlsx that expands to 200,000 rows, a CSV
with a 128 KiB cell) is refused with a message naming the limit, in a
fraction of a second, without loading it.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from analysis.textfile import decode_text

from ..exceptions import SetupError
from ..input_guard import text_problem

#: Bounds of one imported table: far above a district's units or its
#: population cells (communities x genders x age groups).
MAX_TABLE_BYTES = 2 * 1024 * 1024
MAX_TABLE_ROWS = 20_000
MAX_TABLE_COLUMNS = 50
MAX_CELL_CHARACTERS = 500
MAX_READ_SECONDS = 15.0
#: An .xlsx is a zip archive: what its parts may expand to, in all.
MAX_XLSX_EXPANDED_BYTES = 10 * 1024 * 1024


class TableError(SetupError):
    """A file that cannot be imported; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    number: int  # as the office sees it in the spreadsheet (header = 1)
    values: dict[str, str]


def read_table(filename: str, data: bytes, columns: Mapping[str, tuple[str, ...]],
               required: tuple[str, ...]) -> list[Row]:
    """Rows of a CSV or .xlsx file; ``columns`` maps canonical names to accepted headers.

    :raises TableError: unreadable file, unknown format, missing columns.
    """
    lower = filename.lower()
    if not lower.endswith((".csv", ".xlsx", ".xlsm")):
        raise TableError([_("%(file)s: unsupported file type; use CSV or Excel (.xlsx).", file=filename)])
    if len(data) > MAX_TABLE_BYTES:
        raise TableError([_("%(file)s: the file is larger than %(size)s MB; split it into smaller files.",
                            file=filename, size=MAX_TABLE_BYTES // (1024 * 1024))])
    deadline = time.monotonic() + MAX_READ_SECONDS
    grid = _csv_grid(data, deadline) if lower.endswith(".csv") else _xlsx_grid(data, deadline)
    grid = [row for row in grid if any(cell.strip() for cell in row)] if grid else []
    if not grid:
        raise TableError([_("%(file)s: the file is empty.", file=filename)])
    header = [cell.strip().lower() for cell in grid[0]]
    positions: dict[str, int] = {}
    for name, aliases in columns.items():
        for index, title in enumerate(header):
            if title in {a.lower() for a in (name, *aliases)}:
                positions[name] = index
                break
    missing = [name for name in required if name not in positions]
    if missing:
        raise TableError([
            _("%(file)s: missing column(s): %(columns)s.", file=filename,
              columns="、".join(f"{m}（{columns[m][0]}）" if columns[m] else m for m in missing))
        ])
    return [
        Row(number, {name: (cells[i].strip() if i < len(cells) else "") for name, i in positions.items()})
        for number, cells in enumerate(grid[1:], start=2)
    ]


def _too_many_rows() -> TableError:
    return TableError([_("The file has more than %(max)s rows; split it into smaller files.", max=MAX_TABLE_ROWS)])


def _too_slow() -> TableError:
    return TableError([_("Reading the file took too long (more than %(seconds)s seconds); "
                         "split it into smaller files.", seconds=int(MAX_READ_SECONDS))])


def _bounded(rows: Iterable[list[str]], deadline: float) -> Iterator[list[str]]:
    """Rows with their cells checked; stops at the row, column, length and time limits."""
    for number, row in enumerate(rows, start=1):
        if number > MAX_TABLE_ROWS + 1:  # the header is not counted
            raise _too_many_rows()
        if number % 500 == 0 and time.monotonic() > deadline:
            raise _too_slow()
        if len(row) > MAX_TABLE_COLUMNS:
            if any(cell.strip() for cell in row[MAX_TABLE_COLUMNS:]):
                raise TableError([_("Row %(row)s has more than %(max)s columns.", row=number, max=MAX_TABLE_COLUMNS)])
            row = row[:MAX_TABLE_COLUMNS]
        for cell in row:
            if len(cell) > MAX_CELL_CHARACTERS:
                raise TableError([_("Row %(row)s: a cell is longer than %(max)s characters.",
                                    row=number, max=MAX_CELL_CHARACTERS)])
            if text_problem(cell):
                raise TableError([_("Row %(row)s: a cell contains control characters or garbled text.", row=number)])
        yield row


def _csv_grid(data: bytes, deadline: float) -> list[list[str]]:
    try:
        text = decode_text(data)
    except UnicodeDecodeError:  # not even GB18030 (a stray 0x80 or 0xFF, a file cut mid-character)
        raise TableError([_("The file is not text.")]) from None
    # newline="": a bare CR ends a row, as in old Mac files, instead of breaking the parser.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(_bounded(reader, deadline))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise TableError([_("Line %(line)s: a cell is longer than %(max)s characters.",
                                line=reader.line_num, max=MAX_CELL_CHARACTERS)]) from None
        raise TableError([_("Line %(line)s is not valid CSV (check the quotation marks).",
                            line=reader.line_num)]) from None


def _check_xlsx_archive(data: bytes) -> None:
    """Refuse a zip that would expand beyond the limit, by its declared sizes, before openpyxl opens it.

    The declared sizes are what the zip module trusts when it extracts
    (it stops at them), so checking them bounds what openpyxl can read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise TableError([_("The Excel file cannot be read (it is damaged or not an .xlsx file).")]) from None
    expanded = sum(m.file_size for m in members)
    if len(members) > 10_000 or expanded > MAX_XLSX_EXPANDED_BYTES:
        raise TableError([_("The Excel file expands to more than %(size)s MB; split it into smaller files.",
                            size=MAX_XLSX_EXPANDED_BYTES // (1024 * 1024))])


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_grid(data: bytes, deadline: float) -> list[list[str]]:
    from openpyxl import load_workbook

    _check_xlsx_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise TableError([_("The Excel file cannot be read (it is damaged or not an .xlsx file).")]) from None
    try:
        if not workbook.worksheets:
            raise TableError([_("The Excel file has no worksheet.")])
        sheet = workbook.worksheets[0]
        # The declared size (the <dimension> element) refuses an oversized sheet
        # before a row is read; rows beyond it are still counted while reading.
        declared = sheet.max_row if isinstance(sheet.max_row, int) else 0
        if declared > MAX_TABLE_ROWS + 1:
            raise _too_many_rows()
        rows = sheet.iter_rows(max_row=MAX_TABLE_ROWS + 2, max_col=MAX_TABLE_COLUMNS + 1, values_only=True)
        return list(_bounded(([_cell_text(v) for v in row] for row in rows), deadline))
    except TableError:
        raise
    except Exception:  # a damaged sheet fails only while it is read
        raise TableError([_("The Excel file cannot be read (it is damaged or not an .xlsx file).")]) from None
    finally:
        workbook.close()
