"""XLSX side of :mod:`geo.readers`: the first sheet of a workbook read as text, row by row.

openpyxl (read-only, streaming) gives typed cells; each becomes the text a person sees in the
sheet (:func:`cell_text`). A number with more than 15 significant digits (a NIK typed into a
number cell) has already lost digits inside Excel, so it is rendered in Excel's scientific form
and the NIK validator reports it as mangled instead of accepting a wrong NIK. ``line`` is the
sheet row number.
"""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from geo.errors import EmptyInputError, InputError
from geo.readers import ISSUE, LINE, Table, unique_columns
from geo.report import Report

log = logging.getLogger(__name__)


def open_xlsx(path: Path, report: Report) -> Table:
    """Read the header of the first sheet (the first non-empty row); see :func:`geo.readers.open_table`."""
    with _workbook(path) as wb:
        ws = wb.worksheets[0]
        if len(wb.worksheets) > 1:
            report.note(f"workbook has {len(wb.worksheets)} sheets; read the first, {ws.title!r}")
        else:
            report.note(f"XLSX sheet {ws.title!r}")
        ws.reset_dimensions()  # some writers store a wrong sheet size
        header, header_row, has_data = None, 0, False
        for row_no, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [cell_text(v) for v in values]
            if header is None and any(c.strip() for c in cells):
                header, header_row = cells, row_no
            elif header is not None and any(c.strip() for c in cells):
                has_data = True
                break
    if header is None:
        raise EmptyInputError("the first sheet is empty (expected a header row and data rows)", file=str(path))
    if not has_data:
        raise EmptyInputError("no data rows after the header", file=str(path), line=header_row)
    while header and not header[-1].strip():
        header.pop()
    return Table(path, "xlsx", unique_columns(header, report), header_row, sheet=ws.title)


def iter_xlsx(table: Table, chunksize: int) -> Iterator[pd.DataFrame]:
    """Rows after the header as text frames with ``line`` (sheet row) and ``issue``."""
    width = len(table.columns)
    rows: list[list[str]] = []
    lines: list[int] = []
    issues: list[str | None] = []
    with _workbook(table.path) as wb:
        ws = wb[table.sheet]
        ws.reset_dimensions()
        for row_no, values in enumerate(ws.iter_rows(min_row=table.header_line + 1, values_only=True),
                                        start=table.header_line + 1):
            cells = [cell_text(v) for v in values]
            extra = any(c.strip() for c in cells[width:])
            rows.append((cells + [""] * width)[:width])
            lines.append(row_no)
            issues.append("cells beyond the last header column" if extra else None)
            if len(rows) == chunksize:
                yield _frame(table.columns, rows, lines, issues)
                rows, lines, issues = [], [], []
    if rows:
        yield _frame(table.columns, rows, lines, issues)


def _frame(columns, rows, lines, issues) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns), dtype=str)
    frame[LINE] = pd.Series(lines, dtype="int64")
    frame[ISSUE] = pd.Series(issues, dtype="string")
    return frame


class _workbook:
    """Context manager opening a workbook read-only; a broken file becomes an InputError."""

    def __init__(self, path: Path):
        self.path = path
        self.wb = None
        self.fh = None

    def __enter__(self):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        # A file object: openpyxl would refuse a workbook whose name lacks an Excel suffix.
        self.fh = self.path.open("rb")
        try:
            self.wb = openpyxl.load_workbook(self.fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
            self.fh.close()
            raise InputError(f"not a readable XLSX workbook ({exc.__class__.__name__}: {exc})",
                             file=str(self.path)) from None
        return self.wb

    def __exit__(self, *exc) -> None:
        if self.wb is not None:
            self.wb.close()
        if self.fh is not None:
            self.fh.close()


def cell_text(value: object) -> str:
    """Text of a spreadsheet cell as a person sees it.

    ``None`` → ``""``; ``12.0`` → ``"12"``; a date → ``"YYYY-MM-DD"``; a number of 16 or more
    digits → Excel's ``3.17106120999E+15`` form (Excel has lost its last digits, so it must not
    pass as a valid NIK).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and abs(value) >= 1e15:
        # Excel keeps 15 significant digits: a 16-digit NIK/KK typed as a number has lost its
        # last digit(s), whatever the file stores. Show it as Excel does, so it is rejected.
        return f"{float(value):.15G}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)

