"""Reading the office's spreadsheets: CSV (UTF-8 or GBK, as Chinese Excel
saves it) or Excel .xlsx, into rows keyed by canonical column names."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Mapping

from flask_babel import gettext as _

from ..exceptions import SetupError


class TableError(SetupError):
    """A file that cannot be imported; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    number: int  # as the office sees it in the spreadsheet (header = 1)
    values: dict[str, str]


def read_table(filename: str, data: bytes, columns: Mapping[str, tuple[str, ...]], required: tuple[str, ...]) -> list[Row]:
    """Rows of a CSV or .xlsx file; ``columns`` maps canonical names to accepted headers.

    :raises TableError: unreadable file, unknown format, missing columns.
    """
    lower = filename.lower()
    if lower.endswith(".csv"):
        grid = _csv_grid(data)
    elif lower.endswith((".xlsx", ".xlsm")):
        grid = _xlsx_grid(data)
    else:
        raise TableError([_("%(file)s: unsupported file type; use CSV or Excel (.xlsx).", file=filename)])
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


def _csv_grid(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise TableError([_("The file is not text.")])
    return list(csv.reader(io.StringIO(text)))


def _xlsx_grid(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise TableError([_("The Excel file cannot be read (%(reason)s).", reason=type(exc).__name__)]) from exc
    sheet = workbook.worksheets[0]
    grid = [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
            for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return grid
