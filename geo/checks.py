"""Row checks shared by the tabular loaders (TPS, DPT): vectorized, first failure wins.

A loader runs its checks in priority order on a chunk; each check names a field and a reason
for the rows it fails. A row keeps only its *first* rejection reason (one Problem per rejected
row, so the report balances) but may carry several warnings. :meth:`RowChecks.record` adds them
to the Report: counted per reason *key* (``"duplicate NIK"``) while the listed Problem and the
rejected-rows file keep the detailed text (``"duplicate NIK (first on line 12)"``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from geo.fastcodes import arrow, digits_to_int, plain_digits
from geo.readers import ISSUE, LINE
from geo.report import MAX_LISTED, Problem, Report


class RowChecks:
    """Rejections and warnings of one chunk of rows (indexed like the chunk)."""

    def __init__(self, frame: pd.DataFrame, file: str):
        self.file = file
        self.lines = frame[LINE].to_numpy(np.int64)
        self.index = frame.index
        self.reason = pd.Series(pd.NA, index=frame.index, dtype="string")
        self.key = pd.Series(pd.NA, index=frame.index, dtype="string")
        self.field = pd.Series(pd.NA, index=frame.index, dtype="string")
        self.value = pd.Series(pd.NA, index=frame.index, dtype="string")
        self._warnings: list[tuple[pd.Series, str, object, object, str]] = []
        if ISSUE in frame:
            self.reject(frame[ISSUE].notna(), None, frame[ISSUE], key="malformed row")

    @property
    def ok(self) -> pd.Series:
        """Rows not rejected so far."""
        return self.reason.isna()

    def reject(self, mask: pd.Series, field: str | None, reason: str | pd.Series,
               value: pd.Series | None = None, *, key: str | None = None) -> None:
        """Reject the rows of ``mask`` not yet rejected.

        ``reason`` is a text or a per-row Series; ``key`` (default: ``reason``) is what the
        report counts; ``value`` is what is shown (mask personal data before passing it).
        """
        hit = _mask(mask, self.index) & self.ok
        if not hit.any():
            return
        self.reason = self.reason.mask(hit, reason)
        self.key = self.key.mask(hit, key if key is not None else reason)
        self.field = self.field.mask(hit, field)
        if value is not None:
            self.value = self.value.mask(hit, value.astype("string"))

    def warn(self, mask: pd.Series, field: str | None, reason: str, value: pd.Series | None = None,
             *, key: str | None = None) -> None:
        """Warn on the rows of ``mask`` (only those finally kept are recorded)."""
        self._warnings.append((_mask(mask, self.index), field, reason, value, key or reason))

    def record(self, report: Report) -> None:
        """Add this chunk's rejections and warnings (kept rows only) to ``report``."""
        bad = ~self.ok.to_numpy()
        _account(report, self.file, self.lines[bad], self.field[bad], self.value[bad], self.reason[bad],
                 self.key[bad], reject=True)
        kept = self.ok
        for mask, field, reason, value, key in self._warnings:
            hit = (mask & kept).to_numpy()
            if hit.any():
                shown = value[hit] if value is not None else pd.Series(pd.NA, index=self.index[hit], dtype="string")
                n = int(hit.sum())
                _account(report, self.file, self.lines[hit], [field] * n, shown, [reason] * n, [key] * n,
                         reject=False)

    def rejected_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rejected rows of ``frame`` with ``line``, ``reason``, ``field``, ``value`` first."""
        bad = ~self.ok.to_numpy()
        head = pd.DataFrame({"line": self.lines[bad], "reason": self.reason[bad].to_numpy(),
                             "field": self.field[bad].to_numpy(), "value": self.value[bad].to_numpy()})
        rest = frame.loc[bad, [c for c in frame.columns if c not in (LINE, ISSUE)]].reset_index(drop=True)
        return pd.concat([head, rest], axis=1)


def _mask(mask: pd.Series, index: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(mask.fillna(False) if hasattr(mask, "fillna") else mask, dtype=bool), index=index)


def _account(report: Report, file: str, lines: np.ndarray, fields: Iterable, values: pd.Series,
             reasons: Iterable, keys: Iterable, *, reject: bool) -> None:
    # Report.reject/warn count by Problem.reason; here the count key may be shorter than the
    # listed reason (duplicates name their first line), and only MAX_LISTED objects are built.
    keys = pd.Series(list(keys), dtype="object")
    if not len(keys):
        return
    counter = report.reasons if reject else report.warning_counts
    for key, n in keys.value_counts(sort=False).items():
        counter[key] += int(n)
    listed = report.rejections if reject else report.warnings
    if reject:
        report.rows_rejected += len(keys)
    room = MAX_LISTED - len(listed)
    if room <= 0:
        return
    values = pd.Series(values).astype("object")
    for line, field, value, reason in itertools.islice(zip(lines, fields, values, reasons), room):
        listed.append(Problem(file, int(line), None if _blank(field) else str(field),
                              None if _blank(value) else str(value), str(reason)))


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def write_rejected(path, frame: pd.DataFrame) -> None:
    """Append rejected rows to ``path`` via :func:`geo.report.write_rejections` (CSV-injection safe)."""
    from geo.report import write_rejections

    text = frame.astype("object").where(frame.notna(), "")
    write_rejections(path, (dict(zip(text.columns, map(_cell, row))) for row in text.itertuples(index=False)),
                     list(text.columns))


def _cell(value: object) -> object:
    return value if isinstance(value, str) else str(value)


# --- parsing helpers -------------------------------------------------------------------------

def whole_numbers(values: pd.Series, prefix: str | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse whole numbers written as text.

    Accepts surrounding spaces, leading zeros, a spreadsheet ``.0`` and, with ``prefix`` (a word
    such as ``"rt"``), that word before the number (``"RT 003"``, ``"rt.3"``), in any case.

    Returns
    -------
    (numbers, blank, bad) : Int64 Series, bool Series, bool Series
        ``numbers`` is ``<NA>`` where blank or bad; ``bad`` marks non-blank unparseable text.
    """
    n = len(values)
    plain = plain_digits(values, 1, 9)  # the common case, without any regex
    numbers, valid, blank = np.zeros(n, np.int64), plain.copy(), np.zeros(n, bool)
    if plain.any():
        numbers[plain] = digits_to_int(arrow(values[plain]), 0, 9)
    if not plain.all():
        # Patterns stay within RE2 (no \s, \d, flags) so pandas runs them in pyarrow, not per row.
        text = values[~plain].astype("string").str.strip()
        if prefix:
            word = "".join(f"[{c.upper()}{c.lower()}]" for c in prefix)
            text = text.str.replace(f"^{word}[ .:]*", "", regex=True)
        ok = text.str.fullmatch(r"[0-9]{1,9}(?:[.]0+)?").fillna(False).to_numpy(bool)
        numbers[~plain] = to_int(text.where(ok)).fillna(0).to_numpy(np.int64)
        valid[~plain] = ok
        blank[~plain] = (text.isna() | (text == "")).fillna(True).to_numpy(bool)
    out = pd.Series(pd.arrays.IntegerArray(numbers, ~valid), index=values.index)
    return out, pd.Series(blank, index=values.index), pd.Series(~valid & ~blank, index=values.index)


def strip_text(values: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed and blanks as ``<NA>``."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def to_int(digits: pd.Series) -> pd.Series:
    """Int64 of text already checked to hold whole numbers (``"12"``, ``"12.0"``); ``<NA>`` stays."""
    floats = arrow(digits).cast(pa.float64()).to_numpy(zero_copy_only=False)
    return pd.Series(floats, index=digits.index).astype("Int64")
