"""Field parsers and the cross-chunk duplicate memory of the DPT loader (:mod:`geo.voters`).

Duplicate NIKs are found across the whole file with bounded memory: the first 64 bits of each
NIK hash are kept in one sorted numpy array (8.3 M voters → ~100 MB with their line numbers);
a 64-bit collision between two different NIKs has a probability of ~2e-6 at that size.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.checks import RowChecks
from geo.fastcodes import arrow, char_matrix, mask_nik

_MDAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def birth_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse DD-MM-YYYY, DD/MM/YYYY (also DD.MM.YYYY) or YYYY-MM-DD dates.

    Returns
    -------
    (year, ddmmyy) : Int64 Series, Int64 Series
        The year and the date as the integer DDMMYY (as in a NIK, 17-08-1980 → 170880);
        ``<NA>`` where the text is no valid date between 1900 and today.
    """
    d, m, y = _fixed_width_dates(values)
    rest = (y == 0) & values.notna().to_numpy()
    if rest.any():  # other widths ("1-8-1980"), spaces: a regex on those rows only
        arr = arrow(values[rest].astype("string").str.strip())
        parts = pc.extract_regex(arr, r"^(?:(?P<d>[0-9]{1,2})[-/.](?P<m>[0-9]{1,2})[-/.](?P<y>[0-9]{4})"
                                      r"|(?P<y2>[0-9]{4})-(?P<m2>[0-9]{1,2})-(?P<d2>[0-9]{1,2}))$")
        d[rest], m[rest], y[rest] = (_part(parts, f) + _part(parts, f + "2") for f in "dmy")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    limit = np.where((m == 2) & ~leap, 28, _MDAYS[np.clip(m, 0, 12)])
    today = dt.date.today()
    valid = ((m >= 1) & (m <= 12) & (d >= 1) & (d <= limit) & (y >= 1900)
             & (y * 10000 + m * 100 + d <= today.year * 10000 + today.month * 100 + today.day))
    year = pd.Series(pd.arrays.IntegerArray(y, ~valid), index=values.index)
    ddmmyy = pd.Series(pd.arrays.IntegerArray(d * 10000 + m * 100 + y % 100, ~valid), index=values.index)
    return year, ddmmyy


def _fixed_width_dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day, month, year) of ``DD-MM-YYYY``/``DD/MM/YYYY``/``DD.MM.YYYY``/``YYYY-MM-DD`` texts; 0 elsewhere."""
    n = len(values)
    day, month, year = (np.zeros(n, np.int64) for _ in range(3))
    ten = (pc.binary_length(arrow(values)).fill_null(0).to_numpy(zero_copy_only=False) == 10)
    if not ten.any():
        return day, month, year
    c = char_matrix(values if ten.all() else values[ten], 10)
    d = c.astype(np.int16) - 48
    digit = (d >= 0) & (d <= 9)
    sep = (c == 45) | (c == 47) | (c == 46)                  # - / .
    dmy = sep[:, 2] & sep[:, 5] & digit[:, [0, 1, 3, 4, 6, 7, 8, 9]].all(axis=1)
    ymd = (c[:, 4] == 45) & (c[:, 7] == 45) & digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    two = lambda i: d[:, i] * 10 + d[:, i + 1]
    day[ten] = np.where(dmy, two(0), np.where(ymd, two(8), 0))
    month[ten] = np.where(dmy, two(3), np.where(ymd, two(5), 0))
    year[ten] = np.where(dmy, two(6).astype(np.int64) * 100 + two(8), np.where(ymd, two(0).astype(np.int64) * 100 + two(2), 0))
    return day, month, year


def _part(parsed: pa.StructArray, field: str) -> np.ndarray:
    # RE2 gives "" for the group of the alternative that did not match.
    text = pc.struct_field(parsed, field)
    text = pc.if_else(pc.equal(text, ""), pa.scalar("0", text.type), text)
    return text.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)


def check_duplicates(frame: pd.DataFrame, digests: np.ndarray, lines: np.ndarray, checks: RowChecks,
                      seen: SeenKeys) -> None:
    """Reject later rows of a NIK seen before (in this chunk or an earlier one); ``digests`` are
    the NIK hashes of the rows still ok, in order."""
    ok = checks.ok.to_numpy()
    first = np.zeros(len(frame), np.int64)
    first[ok] = seen.add(digests[:, :8].copy().view(">u8").ravel().astype(np.uint64), lines[ok])
    dup = first > 0
    if not dup.any():
        return
    shown = pd.Series(first, index=frame.index).astype("string")
    checks.reject(pd.Series(dup, index=frame.index), "nik", "duplicate NIK (first on line " + shown + ")",
                  mask_nik(frame.loc[dup, "nik"]), key="duplicate NIK")


class SeenKeys:
    """Sorted 64-bit keys seen so far with the line of their first row (bounded: 16 bytes/key)."""

    def __init__(self) -> None:
        self.keys = np.empty(0, np.uint64)
        self.lines = np.empty(0, np.int64)

    def add(self, keys: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """Register ``keys`` (in file order); return per key the line of an earlier equal key, else 0."""
        n = len(keys)
        order = np.argsort(keys, kind="stable")           # equal keys stay in file order
        sk, sl = keys[order], lines[order]
        pos = np.searchsorted(self.keys, sk)              # sorted queries: one pass over the memory
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == sk[found]
        starts = np.ones(n, bool)
        starts[1:] = sk[1:] != sk[:-1]
        leader = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
        first = np.where(starts, 0, sl[leader])           # an earlier row of this chunk
        first[found] = self.lines[pos[found]]              # a row of an earlier chunk comes first
        new = starts & ~found
        self.keys = np.insert(self.keys, pos[new], sk[new])
        self.lines = np.insert(self.lines, pos[new], sl[new])
        out = np.empty(n, np.int64)
        out[order] = first
        return out
