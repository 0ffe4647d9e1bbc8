"""CSV side of :mod:`geo.readers`: bounded text chunks carrying the physical line of each row.

Two parsers give the same rows. The common file (UTF-8, no line break inside a quoted cell) is
read by pyarrow's streaming CSV reader, about five times faster than pandas: each record is one
physical line there, and pyarrow names the line of every row it cannot use (too many or too few
fields), so the line of every other row follows. Any other file (a legacy encoding, quoted cells
spanning lines, UTF-16) goes through the pandas C parser, which numbers *records* and skips rows
with too many fields, naming their record number in a ParserWarning.

Either way :class:`_LineCounter` turns record order into physical lines across chunks and puts each
skipped row back where it was: a row with too many fields as a row whose ``issue`` says so (so
the loader rejects it and the report balances), a row with too few fields padded with ``""`` as
pandas does.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import InputError
from geo.readers import ISSUE, LINE, Table

_BAD_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_ARROW_BLOCK = 1 << 20  # bytes pyarrow parses at a time (grown to hold the longest line)
_ARROW_ENCODINGS = frozenset({"utf-8", "utf-8-sig"})


def iter_csv(table: Table, chunksize: int) -> Iterator[pd.DataFrame]:
    """All columns of ``table`` as text chunks with ``line`` and ``issue``; see :func:`geo.readers.iter_table`."""
    if arrow_readable(table):
        return iter_arrow(table, chunksize)
    return iter_pandas(table, chunksize)


def arrow_readable(table: Table) -> bool:
    """Whether pyarrow reads ``table`` with exact lines: strict UTF-8, one physical line per record."""
    return (table.encoding in _ARROW_ENCODINGS and table.encoding_errors == "strict"
            and not table.quoted_newlines and table.header_span == 1)


def iter_arrow(table: Table, chunksize: int) -> Iterator[pd.DataFrame]:
    """:func:`iter_csv` by pyarrow (only for :func:`arrow_readable` tables)."""
    names = [f"f{i}" for i in range(len(table.columns))]
    lines, aside = _LineCounter(table), []

    def set_aside(row: pacsv.InvalidRow) -> str:
        aside.append((row.number, row.actual_columns, row.text))
        return "skip"

    reader = pacsv.open_csv(
        table.path,
        read_options=pacsv.ReadOptions(skip_rows=table.header_line, column_names=names, use_threads=False,
                                       block_size=max(_ARROW_BLOCK, 2 * table.longest_line + 2)),
        parse_options=pacsv.ParseOptions(delimiter=table.delimiter, ignore_empty_lines=False,
                                          newlines_in_values=False, invalid_row_handler=set_aside),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.large_string()),
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    held: list[pa.RecordBatch] = []
    for batch in reader:
        held.append(batch)
        while sum(b.num_rows for b in held) >= chunksize:
            rows = pa.Table.from_batches(held)
            held = rows.slice(chunksize).to_batches()
            yield _numbered(table, lines, rows.slice(0, chunksize), aside)
    rest = pa.Table.from_batches(held, schema=reader.schema)
    if rest.num_rows:
        yield _numbered(table, lines, rest, aside)
    lines.add_skipped(_set_aside_rows(table, aside))
    tail = lines.flush()
    if len(tail):
        yield tail


def _numbered(table: Table, lines: _LineCounter, rows: pa.Table, aside: list) -> pd.DataFrame:
    lines.add_skipped(_set_aside_rows(table, aside))
    frame = pd.DataFrame({col: pd.arrays.ArrowStringArray(rows.column(i).combine_chunks())
                          for i, col in enumerate(table.columns)})
    return lines.number(frame)


def _set_aside_rows(table: Table, aside: list) -> list[tuple[int, str | None, list[str] | None]]:
    """Rows pyarrow skipped, as (line, issue, cells); empties ``aside``."""
    width, out = len(table.columns), []
    for number, saw, text in aside:
        if saw > width:
            out.append((number, _too_many(saw, width), None))
        else:  # too few: padded, as pandas does
            cells = next(csv.reader([text], delimiter=table.delimiter), [])
            out.append((number, None, cells + [""] * (width - len(cells))))
    aside.clear()
    return out


def _too_many(saw: int | str, want: int | str) -> str:
    return f"row has {saw} fields, expected {want} (a delimiter inside an unquoted cell?)"


def iter_pandas(table: Table, chunksize: int) -> Iterator[pd.DataFrame]:
    """:func:`iter_csv` by the pandas C parser (any table).

    The header line is read as the first data row and dropped: pandas would otherwise take a first
    data row with one field too many as naming an index column and shift every row by one cell.
    """
    reader = pd.read_csv(table.path, sep=table.delimiter, encoding=table.encoding,
                         encoding_errors=table.encoding_errors, dtype=str, keep_default_na=False,
                         skip_blank_lines=False, skiprows=table.header_line - 1, header=None,
                         names=list(table.columns), on_bad_lines="warn", chunksize=chunksize, engine="c")
    lines, header = _LineCounter(table, with_header=True), 1
    with reader:
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    frame = next(reader, None)
                except pd.errors.ParserError as exc:
                    raise _parser_error(table, exc) from None
            lines.add_skipped([(int(rec), _too_many(saw, want), None) for w in caught
                               for rec, want, saw in _BAD_LINE.findall(str(w.message))])
            if frame is None:
                break
            frame = lines.number(frame.reset_index(drop=True))
            if header:
                frame, header = frame.iloc[1:], 0
            yield frame
    tail = lines.flush()
    if len(tail):
        yield tail


def _parser_error(table: Table, exc: Exception) -> InputError:
    found = re.search(r"EOF inside string starting at row (\d+)", str(exc))
    if found:
        return InputError("a quoted cell never closes (file cut short, or a stray '\"')",
                          file=str(table.path), line=int(found.group(1)) + table.header_line)
    return InputError(f"cannot parse as CSV: {exc}", file=str(table.path))


class _LineCounter:
    """Turns a parser's running row order into physical line numbers, across chunks.

    A parser delivers rows in order and sets some aside, naming their record number (a multi-line
    quoted cell is one record). A delivered row's record number is its order plus the records set
    aside before it; its line adds the line breaks inside earlier cells.
    """

    def __init__(self, table: Table, *, with_header: bool = False):
        self.table = table
        # Both parsers count the preamble lines as records; pandas delivers the header as a row.
        self.next_record = table.header_line + (0 if with_header else 1)
        self.extra = 0 if with_header else table.header_span - 1   # line breaks inside cells so far
        self.pending: list[tuple[int, str | None, list[str] | None]] = []  # (record, issue, cells)

    def add_skipped(self, rows: list[tuple[int, str | None, list[str] | None]]) -> None:
        """Rows set aside: (record, issue or None, cells or None for all ``""``)."""
        self.pending = sorted(self.pending + rows, key=lambda r: r[0])

    def number(self, frame: pd.DataFrame) -> pd.DataFrame:
        n = len(frame)
        newlines = _cell_newlines(frame) if self.table.quoted_newlines else np.zeros(n, np.int64)
        cum = self.extra + np.concatenate([[0], np.cumsum(newlines)])
        recs = np.array([r for r, _, _ in self.pending], dtype=np.int64)
        slots = recs - self.next_record - np.arange(len(recs))
        take = slots <= n
        order = np.arange(n)
        record = self.next_record + order + np.searchsorted(slots[take], order, side="right")
        frame[LINE] = record + cum[:n]
        frame[ISSUE] = pd.Series(pd.NA, index=frame.index, dtype="string")
        bad = self._rows(recs[take] + cum[slots[take]], [p for p, t in zip(self.pending, take) if t])
        self.pending = [p for p, t in zip(self.pending, take) if not t]
        self.next_record += n + int(take.sum())
        self.extra = int(cum[n])
        if self.table.short_last_line is not None:
            cut = frame[LINE].to_numpy() == self.table.short_last_line
            frame.loc[cut, ISSUE] = "row has too few fields and the file has no final line break (cut short?)"
        if len(bad):
            frame = pd.concat([frame, bad], ignore_index=True).sort_values(LINE, kind="stable")
        return frame

    def flush(self) -> pd.DataFrame:
        recs = np.array([r for r, _, _ in self.pending], dtype=np.int64)
        bad = self._rows(recs + self.extra, self.pending)
        self.pending = []
        return bad

    def _rows(self, lines: np.ndarray, rows: list[tuple[int, str | None, list[str] | None]]) -> pd.DataFrame:
        width = len(self.table.columns)
        cells = [r[2] if r[2] is not None else [""] * width for r in rows]
        out = pd.DataFrame({c: pd.Series([row[i] for row in cells], dtype=str)
                            for i, c in enumerate(self.table.columns)})
        out[LINE] = lines.astype(np.int64)
        out[ISSUE] = pd.Series([r[1] for r in rows], dtype="string")
        return out


def _cell_newlines(frame: pd.DataFrame) -> np.ndarray:
    """Line breaks inside the cells of each row (quoted multi-line cells)."""
    total = np.zeros(len(frame), np.int64)
    for col in frame.columns:
        total += frame[col].str.count("\n").fillna(0).to_numpy(np.int64)
    return total
