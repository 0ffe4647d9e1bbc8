"""Row checks shared by the tabular loaders (TPS, DPT): vectorized, first failure wins.

A loader runs its checks in priority order on a chunk; each check names a field and a reason
for the rows it fails. A row keeps only its *first* rejection reason (one Problem per rejected
row, so the report balances) but may carry several warnings. :meth:`RowChecks.record` adds them
to the Report: counted per reason *key* (``"duplicate NIK"``) while the listed Problem and the
rejected-rows file keep the detailed text (``"duplicate NIK (first on line 12)"``).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.fastcodes import arrow, plain_digits
from geo.readers import ISSUE, LINE
from geo.report import MAX_LISTED, Problem, Report, safe_cell

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as geo.report.safe_cell checks

# The longest cell a tabular loader accepts, in characters as given; a longer cell rejects its row
# ("longer than N characters"). An address (alamat) is a street, number, RT/RW and building: the
# longest real ones are a few hundred characters. Names of people, TPS and kota stay well under 200.
# Every other field is a code, a number, a date or a flag: 100 is far above any real value, and
# stops a runaway cell (a 10 MB line of a broken export) from reaching the store, the API or a tile.
MAX_CHARS = {"alamat": 1_000, "nama": 200, "nama_kota": 200}
MAX_CHARS_OTHER = 100
# A rejected-rows file cuts a longer cell (the most a spreadsheet cell holds, Excel's limit).
MAX_REJECTED_CELL = 32_767


class RowChecks:
    """Rejections and warnings of one chunk of rows (indexed like the chunk).

    Checks only mark positions (numpy); the per-row texts of the rejected rows are built once,
    when they are recorded or written.
    """

    def __init__(self, frame: pd.DataFrame, file: str):
        self.file = file
        self.lines = frame[LINE].to_numpy(np.int64)
        self.index = frame.index
        self._ok = np.ones(len(frame), bool)
        self._rejections: list[tuple[np.ndarray, str | None, str | pd.Series, str | pd.Series, pd.Series | None]] = []
        self._warnings: list[tuple[np.ndarray, str | None, str, pd.Series | None, str]] = []
        self._texts: tuple[np.ndarray, ...] | None = None
        if ISSUE in frame:
            self.reject(frame[ISSUE].notna(), None, frame[ISSUE], key="malformed row")

    @property
    def ok(self) -> pd.Series:
        """Rows not rejected so far."""
        return pd.Series(self._ok, index=self.index)

    def reject(self, mask: pd.Series, field: str | None, reason: str | pd.Series,
               value: pd.Series | None = None, *, key: str | None = None) -> None:
        """Reject the rows of ``mask`` not yet rejected.

        ``reason`` is a text or a per-row Series; ``key`` (default: ``reason``) is what the
        report counts; ``value`` is what is shown (mask personal data before passing it).
        """
        hit = np.flatnonzero(_mask(mask) & self._ok)
        if not len(hit):
            return
        self._ok[hit] = False
        self._rejections.append((hit, field, reason, key if key is not None else reason, value))
        self._texts = None

    def warn(self, mask: pd.Series, field: str | None, reason: str, value: pd.Series | None = None,
             *, key: str | None = None) -> None:
        """Warn on the rows of ``mask`` (only those finally kept are recorded)."""
        self._warnings.append((_mask(mask), field, reason, value, key or reason))

    def record(self, report: Report) -> None:
        """Add this chunk's rejections and warnings (kept rows only) to ``report``."""
        reason, key, field, value = self._rejected_texts()
        _account(report, self.file, self.lines[~self._ok], field, value, reason, key, reject=True)
        for mask, field, reason, value, key in self._warnings:
            hit = mask & self._ok
            if hit.any():
                shown = _at(value, self.index, np.flatnonzero(hit))
                n = int(hit.sum())
                _account(report, self.file, self.lines[hit], [field] * n, shown, [reason] * n, [key] * n,
                         reject=False)

    def rejected_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rejected rows of ``frame`` with ``line``, ``reason``, ``field``, ``value`` first."""
        bad = ~self._ok
        reason, _, field, value = self._rejected_texts()
        head = pd.DataFrame({"line": self.lines[bad], "reason": reason, "field": field, "value": value},
                            dtype=object).astype({"line": np.int64})
        rest = frame.loc[bad, [c for c in frame.columns if c not in (LINE, ISSUE)]].reset_index(drop=True)
        return pd.concat([head, rest], axis=1)

    def _rejected_texts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(reason, key, field, value) of each rejected row, in row order (object arrays, NA as ``pd.NA``)."""
        if self._texts is None:
            self._texts = self._build_texts()
        return self._texts

    def _build_texts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = len(self._ok)
        out = [np.full(n, pd.NA, dtype=object) for _ in range(4)]
        for hit, field, reason, key, value in self._rejections:
            out[0][hit] = _at(reason, self.index, hit)
            out[1][hit] = _at(key, self.index, hit)
            out[2][hit] = pd.NA if field is None else field
            if value is not None:
                out[3][hit] = _at(value, self.index, hit)
        bad = ~self._ok
        return out[0][bad], out[1][bad], out[2][bad], out[3][bad]


def check_lengths(raw: pd.DataFrame, checks: RowChecks) -> None:
    """Reject the rows with a cell longer than its bound (:data:`MAX_CHARS`, else :data:`MAX_CHARS_OTHER`).

    The reported value is the cell's length (``"10,485,764 characters"``), never its text: it may be
    personal data and is too long to show. Cost: one byte-length maximum per column (characters
    never outnumber UTF-8 bytes), and a character count only for a column that has a long cell.
    """
    for col in raw.columns:
        if col in (LINE, ISSUE):
            continue
        limit = MAX_CHARS.get(col, MAX_CHARS_OTHER)
        arr = arrow(raw[col])
        if (pc.max(pc.binary_length(arr)).as_py() or 0) <= limit:
            continue
        chars = pc.utf8_length(arr).fill_null(0).to_numpy(zero_copy_only=False)
        long = chars > limit
        shown = pd.Series(chars[long], index=raw.index[long]).map("{:,} characters".format)
        checks.reject(long, col, f"longer than {limit:,} characters", shown)


def _mask(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    return np.asarray(mask.fillna(False) if hasattr(mask, "fillna") else mask, dtype=bool)


def _at(values: str | pd.Series | None, index: pd.Index, positions: np.ndarray) -> object:
    """``values`` at the rows ``positions`` of ``index`` (a Series aligned by label, as text)."""
    if values is None:
        return np.full(len(positions), pd.NA, dtype=object)
    if isinstance(values, str):
        return values
    text = values.astype("string")
    text = text.iloc[positions] if text.index.equals(index) else text.reindex(index[positions])
    return text.to_numpy(dtype=object, na_value=pd.NA)


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
    """Append rejected rows to ``path`` as :func:`geo.report.write_rejections` writes them (header once,
    spreadsheet formulas neutralised by :func:`geo.report.safe_cell`), a column at a time."""
    path = Path(path)
    cells = [_cells(frame[col]) for col in frame.columns]
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(list(frame.columns))
        writer.writerows(zip(*cells))


def _cells(values: pd.Series) -> np.ndarray:
    """Text of each value (missing → ``""``), formula-like cells passed through ``safe_cell``."""
    text = values.astype("string").fillna("")
    long = (text.str.len() > MAX_REJECTED_CELL).to_numpy(bool)
    if long.any():   # over-long cells were rejected for their length (check_lengths): keep a readable start
        text[long] = text[long].str[:MAX_REJECTED_CELL - 40] + " … (cut: " + \
            text[long].str.len().map("{:,}".format) + " characters)"
    out = text.to_numpy(dtype=object)
    risky = text.str[:1].isin(_FORMULA_START).to_numpy(bool)
    if risky.any():
        out[risky] = [safe_cell(v) for v in out[risky]]
    return out


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
        numbers[plain] = arrow(values if plain.all() else values[plain]).cast(pa.int64()).to_numpy(zero_copy_only=False)
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
