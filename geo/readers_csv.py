"""CSV side of :mod:`geo.readers`: bounded chunks from the pandas C parser, with physical lines.

pandas numbers *records* (a quoted multi-line cell is one record) and skips rows with too many
fields, naming their record number in a ParserWarning. :class:`_LineCounter` turns that into the
physical line where each row starts, across chunks, and puts each skipped row back as a row whose
``issue`` says what is wrong, so the loader rejects it and the report balances.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.readers import ISSUE, LINE, Table

_BAD_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


def iter_csv(table: Table, chunksize: int) -> Iterator[pd.DataFrame]:
    """All columns of ``table`` as text chunks with ``line`` and ``issue``; see :func:`geo.readers.iter_table`."""
    reader = pd.read_csv(table.path, sep=table.delimiter, encoding=table.encoding,
                         encoding_errors=table.encoding_errors, dtype=str, keep_default_na=False,
                         skip_blank_lines=False, skiprows=table.header_line - 1, header=0,
                         on_bad_lines="warn", chunksize=chunksize, engine="c")
    lines = _LineCounter(table)
    with reader:
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    frame = next(reader)
                except StopIteration:
                    break
                except pd.errors.ParserError as exc:
                    raise _parser_error(table, exc) from None
            frame.columns = list(table.columns)
            lines.add_bad([str(w.message) for w in caught])
            yield lines.number(frame)
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
    """Turns pandas' running row order into physical line numbers, across chunks.

    pandas numbers records (a multi-line quoted cell is one record) and skips rows with too many
    fields, naming their record number in a ParserWarning. A delivered row's record number is its
    order plus the skipped records before it; its line adds the line breaks inside earlier cells.
    """

    def __init__(self, table: Table):
        self.table = table
        self.next_record = table.header_line + 1   # pandas counts the preamble lines as records
        self.extra = table.header_span - 1         # line breaks inside cells so far
        self.pending: list[tuple[int, str]] = []   # (record, issue) of skipped bad rows

    def add_bad(self, messages: list[str]) -> None:
        for text in messages:
            for rec, want, saw in _BAD_LINE.findall(text):
                issue = f"row has {saw} fields, expected {want} (a delimiter inside an unquoted cell?)"
                self.pending.append((int(rec), issue))
        self.pending.sort()

    def number(self, frame: pd.DataFrame) -> pd.DataFrame:
        n = len(frame)
        newlines = _cell_newlines(frame) if self.table.quoted_newlines else np.zeros(n, np.int64)
        cum = self.extra + np.concatenate([[0], np.cumsum(newlines)])
        recs = np.array([r for r, _ in self.pending], dtype=np.int64)
        slots = recs - self.next_record - np.arange(len(recs))
        take = slots <= n
        order = np.arange(n)
        record = self.next_record + order + np.searchsorted(slots[take], order, side="right")
        frame[LINE] = record + cum[:n]
        frame[ISSUE] = pd.Series(pd.NA, index=frame.index, dtype="string")
        bad = self._bad_rows(recs[take] + cum[slots[take]], [i for (_, i), t in zip(self.pending, take) if t])
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
        recs = np.array([r for r, _ in self.pending], dtype=np.int64)
        bad = self._bad_rows(recs + self.extra, [i for _, i in self.pending])
        self.pending = []
        return bad

    def _bad_rows(self, lines: np.ndarray, issues: list[str]) -> pd.DataFrame:
        bad = pd.DataFrame({c: pd.Series([""] * len(lines), dtype=str) for c in self.table.columns})
        bad[LINE] = lines.astype(np.int64)
        bad[ISSUE] = pd.Series(issues, dtype="string")
        return bad


def _cell_newlines(frame: pd.DataFrame) -> np.ndarray:
    """Line breaks inside the cells of each row (quoted multi-line cells)."""
    total = np.zeros(len(frame), np.int64)
    for col in frame.columns:
        total += frame[col].str.count("\n").fillna(0).to_numpy(np.int64)
    return total
