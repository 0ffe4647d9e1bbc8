"""geo.dpt_fields: birth dates as written in DPT files, and the duplicate-NIK memory across chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.dpt_fields import SeenKeys, birth_dates


def test_seen_keys_find_duplicates_within_and_across_chunks():
    seen = SeenKeys()
    first = seen.add(np.array([5, 3, 5, 9], np.uint64), np.array([2, 3, 4, 5]))
    assert first.tolist() == [0, 0, 2, 0]
    first = seen.add(np.array([9, 1, 1, 3], np.uint64), np.array([6, 7, 8, 9]))
    assert first.tolist() == [5, 0, 7, 3]
    assert seen.keys.tolist() == [1, 3, 5, 9] and seen.lines.tolist() == [7, 3, 2, 5]


@pytest.mark.parametrize("text, year", [
    ("17-08-1980", 1980), ("17/08/1980", 1980), ("17.08.1980", 1980), ("1980-08-17", 1980), ("1-8-1980", 1980),
    (" 17-08-1980 ", 1980), ("29-02-2000", 2000), ("29-02-1900", None), ("31-04-1990", None), ("17-08-2999", None),
    ("1899-12-31", None), ("1980/08/17", None), ("8/17/1980", None), ("", None), ("17 Agustus 1980", None),
])
def test_birth_dates(text, year):
    years, ddmmyy = birth_dates(pd.Series([text], dtype=str))
    assert (None if pd.isna(years.iloc[0]) else years.iloc[0]) == year
    assert pd.isna(ddmmyy.iloc[0]) == (year is None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 20), max_size=30), max_size=5))
def test_seen_keys_name_the_first_line_of_each_key(chunks):
    seen, first_line, line = SeenKeys(), {}, 2
    for chunk in chunks:
        lines = np.arange(line, line + len(chunk))
        got = seen.add(np.array(chunk, np.uint64), lines)
        expected = []
        for key, at in zip(chunk, lines):
            expected.append(first_line.get(key, 0))
            first_line.setdefault(key, int(at))
        assert got.tolist() == expected
        line += len(chunk)
    assert seen.keys.tolist() == sorted(first_line)
    assert seen.lines.tolist() == [first_line[k] for k in sorted(first_line)]
