"""Robust reading of tabular inputs (CSV or XLSX) as text, keeping physical line numbers.

Every cell is read as text (``dtype=str``, ``keep_default_na=False``): nothing becomes NaN or a
float, so a NIK stays a 16-character string and an Excel-mangled ``3.17101E+15`` stays visible to
the validators. :func:`open_table` checks what the file really is (magic bytes), its encoding,
delimiter and header, and notes each finding in the Report; :func:`iter_table` then streams the
rows in bounded chunks (:mod:`geo.readers_csv`: pyarrow, or pandas for legacy encodings and quoted
line breaks; openpyxl for workbooks), each row carrying the 1-based physical ``line`` where it
starts (header = line 1, or the header's line when blank/``sep=`` lines precede it) and an
``issue`` (``<NA>``, or why the row is structurally broken; such rows are for the loader to reject).

Line numbers stay exact with quoted multi-line cells: a cheap byte scan finds whether any newline
sits inside quotes, and only then are the line breaks inside cells counted per chunk.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.errors import EmptyInputError, EncodingProblem, InputError
from geo.report import Report

log = logging.getLogger(__name__)

CHUNKSIZE = 200_000
DELIMITERS = (",", ";", "\t", "|")
LINE, ISSUE = "line", "issue"
TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_HEAD = 1 << 16
_BLOCK = 1 << 23
# Magic bytes of formats that users rename to .csv by mistake (or that a portal serves instead).
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (XLSX/ODS/zip)"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel .xls (OLE) file; save it as .xlsx or CSV"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "an SQLite/GeoPackage database"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[[*range(1, 9), 11, *range(14, 27), *range(28, 32), 127]] = True


@dataclasses.dataclass(frozen=True)
class Table:
    """What :func:`open_table` learned about a file; pass it to :func:`iter_table`."""

    path: Path
    kind: str                           # "csv" or "xlsx"
    columns: tuple[str, ...]            # header names, stripped and made unique
    header_line: int = 1                # physical line (CSV) or sheet row (XLSX) of the header
    header_span: int = 1                # physical lines the header takes (quoted line breaks)
    encoding: str | None = None
    encoding_errors: str = "strict"
    delimiter: str | None = None
    quoted_newlines: bool = False       # some quoted cell spans lines: count them per chunk
    short_last_line: int | None = None  # line of a last row cut short (no final line break)
    sheet: str | None = None
    longest_line: int = 0               # bytes of the longest physical line, line break included (CSV)


# --- opening ---------------------------------------------------------------------------------

def open_table(path: str | Path, report: Report | None = None) -> Table:
    """Check a CSV/XLSX file and read its header.

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.txt``/``.tsv`` text file or an ``.xlsx`` workbook (first sheet).
    report : Report, optional
        Receives notes on encoding, delimiter and anything repaired.

    Raises
    ------
    InputError
        The file is missing or is not what it claims (ZIP, PDF, GeoJSON... named ``.csv``).
    EncodingProblem
        Binary data (NUL/control bytes) instead of text.
    EmptyInputError
        No header or no data row.
    """
    path = Path(path)
    report = report if report is not None else Report("read")
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    if not head.strip():
        raise EmptyInputError("file is empty (expected a header line and data rows)", file=str(path))
    if _kind(path, head) == "xlsx":
        from geo.readers_xlsx import (
            open_xlsx,  # openpyxl is slow to import; only for workbooks
        )

        return open_xlsx(path, report)
    return _open_csv(path, head, report)


def _kind(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    found = _sniff_magic(head)
    if suffix in EXCEL_SUFFIXES:
        if head.startswith(b"PK\x03\x04"):
            return "xlsx"
        raise InputError(f"named {suffix} but is {found or 'text, not an XLSX workbook'}; "
                         "expected an .xlsx workbook", file=str(path))
    if found and not (head.startswith(b"PK") and suffix not in TEXT_SUFFIXES):
        raise InputError(f"not a CSV text file: it is {found}; expected CSV text or an .xlsx workbook",
                         file=str(path))
    return "xlsx" if found else "csv"


def _sniff_magic(head: bytes) -> str | None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "GeoJSON" if b"FeatureCollection" in head or b'"Feature"' in head else "JSON"
    if text[:1] == b"<":
        return "an HTML/XML document (a web page saved as .csv?)"
    return None


def _open_csv(path: Path, head: bytes, report: Report) -> Table:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        report.note("encoding UTF-16 with BOM (Excel 'Unicode text')")
        encoding, errors, scan = "utf-16", "strict", {"quoted_newlines": True}
    else:
        _check_binary(path, head)
        scan = _scan(path)
        encoding, errors = _choose_encoding(path, head, scan, report)
    lines = re.findall(r"[^\n]*\n|[^\n]+$", _decode_head(head, encoding))
    skip, delimiter = _preamble(lines)
    if skip:
        report.note(f"skipped {skip} line(s) before the header")
    if skip >= len(lines):
        raise EmptyInputError("no header line", file=str(path))
    delimiter = delimiter or _delimiter(lines[skip], lines[skip + 1] if skip + 1 < len(lines) else "")
    report.note(f"delimiter {delimiter!r}")
    header, span, has_data = _header(lines[skip:], delimiter)
    if not any(_clean_name(h) for h in header):
        raise EmptyInputError("header line is empty", file=str(path), line=skip + 1)
    if not has_data and len(head) < _HEAD:
        raise EmptyInputError("no data rows after the header", file=str(path), line=skip + 1)
    quoted = bool(scan["quoted_newlines"]) or span > 1
    if quoted:
        report.note("some quoted cells span several lines; line numbers account for them")
    short = _short_last_line(path, scan, encoding, delimiter, len(header))
    if short is not None:
        # A copy or download that stopped early: loading the rest would silently drop the lost rows
        # (a DPT replaces its kelurahan's voters), so the whole file is refused.
        raise InputError("file is cut short: the last row has too few fields and no final line break; "
                         "fetch the complete file again", file=str(path), line=short)
    return Table(path, "csv", unique_columns(header, report), skip + 1, span, encoding, errors, delimiter, quoted,
                 short, longest_line=scan.get("longest_line", 0))


def _header(lines: list[str], delimiter: str) -> tuple[list[str], int, bool]:
    """(header fields, physical lines it spans, whether a non-blank row follows in ``lines``)."""
    rows = csv.reader(io.StringIO("".join(lines)), delimiter=delimiter)
    header = next(rows)
    span = rows.line_num
    try:
        has_data = any(any(c.strip() for c in r) for r in rows)
    except csv.Error:  # the sample ends inside a quoted cell: there is data
        has_data = True
    return header, span, has_data


def _check_binary(path: Path, head: bytes) -> None:
    ctrl = float(_CONTROL[np.frombuffer(head, np.uint8)].mean())
    nul = b"\x00" in head
    if nul or ctrl > 0.01:
        what = "NUL bytes" if nul else f"{ctrl:.0%} control bytes"
        raise EncodingProblem(f"binary data, not text ({what}); expected CSV text", file=str(path))


def _choose_encoding(path: Path, head: bytes, scan: dict, report: Report) -> tuple[str, str]:
    utf8 = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    bad = scan["utf8_error"]
    if bad is None:
        report.note("encoding UTF-8 with BOM" if utf8 == "utf-8-sig" else "encoding UTF-8")
        return utf8, "strict"
    if bad[2]:
        report.note("encoding UTF-8, but the file ends inside a character (cut short?); replaced by U+FFFD")
        return utf8, "replace"
    fallback = "cp1252" if _decodes(path, "cp1252") else "latin-1"
    bom = " after a UTF-8 BOM" if utf8 == "utf-8-sig" else ""
    report.note(f"not valid UTF-8 (byte 0x{bad[1]:02X} on line {bad[0]}{bom}); read as {fallback}")
    return fallback, "strict"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as fh:
        try:
            while block := fh.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _scan(path: Path) -> dict:
    """One pass over the bytes: NUL bytes (fatal), UTF-8 validity, line count and longest line,
    newlines in quotes.

    Quote parity (a doubled ``""`` toggles twice) tells whether a newline is inside a quoted cell.
    """
    newlines, odd, quoted, last, utf8_error = 0, 0, False, b"", None
    offset, line_start, longest = 0, 0, 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            nul = block.find(b"\x00")
            if nul >= 0:
                raise EncodingProblem("binary data: NUL byte; expected CSV text", file=str(path),
                                      line=newlines + block.count(b"\n", 0, nul) + 1)
            if utf8_error is None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    utf8_error = (newlines + block.count(b"\n", 0, exc.start) + 1, block[exc.start], False)
            arr = np.frombuffer(block, np.uint8)
            q, nl = np.flatnonzero(arr == 34), np.flatnonzero(arr == 10)
            if len(q) or odd:
                quoted = quoted or bool(((np.searchsorted(q, nl) + odd) % 2).any())
                odd = (len(q) + odd) % 2
            newlines += len(nl)
            if len(nl):
                ends = nl + offset
                longest = max(longest, int(np.diff(ends, prepend=line_start - 1).max()))
                line_start = int(ends[-1]) + 1
            offset += len(block)
            last = block[-1:]
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = (newlines + 1, 0, True)
    return {"quoted_newlines": quoted, "newlines": newlines, "final_newline": last in (b"\n", b"\r"),
            "utf8_error": utf8_error, "longest_line": max(longest, offset - line_start)}


def _decode_head(head: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)


def _preamble(lines: list[str]) -> tuple[int, str | None]:
    """Lines to skip before the header (blank lines, Excel's ``sep=;`` hint) and that delimiter."""
    skip, delimiter = 0, None
    while skip < len(lines):
        text = lines[skip].strip("\r\n\ufeff")
        if text.lower().startswith("sep=") and len(text) == 5:
            delimiter = text[4]
        elif text.strip():
            break
        skip += 1
    return skip, delimiter


def _delimiter(header: str, second: str) -> str:
    """The delimiter splitting the header into most fields; ties go to the one the next line agrees with."""
    counts = {d: _fields(header, d) for d in DELIMITERS}
    best = max(counts.values())
    if best == 1:
        return ","
    tied = [d for d in DELIMITERS if counts[d] == best]
    agree = [d for d in tied if _fields(second, d) == best]
    return (agree or tied)[0]


def _fields(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), []))


def _short_last_line(path: Path, scan: dict, encoding: str, delimiter: str, width: int) -> int | None:
    """Line of a last row with too few fields and no final line break (a cut-short file)."""
    if scan.get("final_newline", True) or "newlines" not in scan:
        return None
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - _HEAD))
        tail = fh.read().rsplit(b"\n", 1)[-1]
    fields = _fields(_decode_head(tail, encoding), delimiter)
    return scan["newlines"] + 1 if fields < width else None


def _clean_name(name: object) -> str:
    text = re.sub(r"\s+", " ", str(name if name is not None else "")).strip()
    # A UTF-8 BOM before cp1252/latin-1 text decodes as "ï»¿".
    return text.removeprefix("\ufeff").removeprefix("ï»¿").strip()


def unique_columns(header: list, report: Report) -> tuple[str, ...]:
    """Header names stripped of spaces/BOM; blanks named ``column_<i>``, repeats suffixed `` (<i>)``."""
    names: list[str] = []
    for i, raw in enumerate(header, start=1):
        name = _clean_name(raw) or f"column_{i}"
        if name in names:
            report.note(f"column {name!r} appears more than once; the later one is named {name!r} ({i})")
            name = f"{name} ({i})"
        names.append(name)
    return tuple(names)


# --- iterating -------------------------------------------------------------------------------

def iter_table(table: Table, columns: Mapping[str, str], *, report: Report | None = None,
               chunksize: int = CHUNKSIZE) -> Iterator[pd.DataFrame]:
    """Stream the rows of ``table`` as text frames of at most ``chunksize`` rows.

    Parameters
    ----------
    table : Table
        From :func:`open_table`.
    columns : mapping
        Source column name → output name; only these columns are returned (plus ``line``, ``issue``).
    report : Report, optional
        Receives a note on skipped blank lines.
    chunksize : int
        Rows per chunk (bounds memory).

    Yields
    ------
    DataFrame
        Text columns named by ``columns`` values, ``line`` (int64, physical line of the row) and
        ``issue`` (``<NA>``, or why the row is broken: too many fields, cut short).

    Raises
    ------
    EmptyInputError
        The file held no data row (only blank lines).
    InputError
        A quoted cell never closes (truncated file or stray quote).
    """
    if table.kind == "xlsx":
        from geo.readers_xlsx import iter_xlsx

        chunks = iter_xlsx(table, chunksize)
    else:
        from geo.readers_csv import iter_csv

        chunks = iter_csv(table, chunksize)
    rows = blank = 0
    for frame in chunks:
        empty = _blank_rows(frame, table.columns)
        blank += int(empty.sum())
        frame = frame.loc[~empty, [*columns, LINE, ISSUE]] if empty.any() else frame[[*columns, LINE, ISSUE]]
        frame = _single_chunk(frame.rename(columns=dict(columns)), list(columns.values()))
        rows += len(frame)
        if len(frame):
            yield frame.reset_index(drop=True)
    if blank and report is not None:
        report.note(f"skipped {blank:,} blank line(s)")
    if rows == 0:
        raise EmptyInputError("no data rows (only a header and blank lines)", file=str(table.path))


def _blank_rows(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Rows whose every cell is ``""`` and that have no structural issue (blank lines)."""
    blank = np.array(frame[ISSUE].isna(), dtype=bool)
    for col in columns:
        text = frame[col].array
        arr = text._pa_array if isinstance(text, pd.arrays.ArrowStringArray) else pa.array(text, pa.large_string())
        blank &= pc.equal(arr, "").fill_null(False).to_numpy(zero_copy_only=False)
        if not blank.any():
            break
    return blank


def _single_chunk(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Text columns as one contiguous Arrow array each, so later kernels never re-combine chunks."""
    for col in columns:
        arr = pa.array(frame[col].astype("string[pyarrow]").array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        frame[col] = pd.Series(pd.arrays.ArrowStringArray(arr), index=frame.index)
    return frame


def read_table(table: Table, columns: Mapping[str, str], *, report: Report | None = None) -> pd.DataFrame:
    """All rows of ``table`` in one frame (for small inputs such as TPS lists); see :func:`iter_table`."""
    return pd.concat(list(iter_table(table, columns, report=report)), ignore_index=True)
