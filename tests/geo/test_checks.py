"""geo.checks: first rejection per row, warnings on kept rows, accounting, number parsing."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from geo.checks import RowChecks, strip_text, to_int, whole_numbers, write_rejected
from geo.readers import ISSUE, LINE
from geo.report import MAX_LISTED, Report


def _frame(n: int, issues=None) -> pd.DataFrame:
    return pd.DataFrame({"v": [str(i) for i in range(n)], LINE: range(2, n + 2),
                         ISSUE: pd.Series(issues or [pd.NA] * n, dtype="string")})


def test_first_rejection_wins_and_warnings_count_only_kept_rows():
    frame = _frame(4, [pd.NA, pd.NA, "row has 3 fields, expected 2", pd.NA])
    checks = RowChecks(frame, "f.csv")
    checks.reject(pd.Series([True, True, False, False]), "a", "bad a", frame["v"])
    checks.reject(pd.Series([False, True, True, True]), "b", "bad b")
    checks.warn(pd.Series([True, True, True, True]), "c", "odd c")
    report = Report("t", rows_read=4)
    checks.record(report)
    assert checks.ok.tolist() == [False, False, False, False]
    assert report.rows_rejected == 4
    assert report.reasons == {"bad a": 2, "malformed row": 1, "bad b": 1}
    assert report.warning_counts == {}
    assert [(p.line, p.field, p.value, p.reason) for p in report.rejections] == [
        (2, "a", "0", "bad a"), (3, "a", "1", "bad a"), (4, None, None, "row has 3 fields, expected 2"),
        (5, "b", None, "bad b")]


def test_a_per_row_reason_is_listed_but_counted_by_key():
    frame = _frame(3)
    checks = RowChecks(frame, "f.csv")
    reason = "duplicate x (first on line " + pd.Series(["9", "9", "8"], dtype="string") + ")"
    checks.reject(pd.Series([False, True, True]), "x", reason, key="duplicate x")
    checks.warn(pd.Series([True, True, False]), "y", "odd y", frame["v"])
    report = Report("t")
    checks.record(report)
    assert report.reasons == {"duplicate x": 2}
    assert [p.reason for p in report.rejections] == ["duplicate x (first on line 9)", "duplicate x (first on line 8)"]
    assert report.warning_counts == {"odd y": 1}
    assert report.warnings[0].line == 2 and report.warnings[0].value == "0"


def test_listing_is_bounded_but_counting_is_not():
    frame = _frame(MAX_LISTED + 50)
    checks = RowChecks(frame, "f.csv")
    checks.reject(pd.Series([True] * len(frame)), "v", "bad")
    report = Report("t")
    checks.record(report)
    checks.record(report)
    assert report.rows_rejected == 2 * len(frame)
    assert len(report.rejections) == MAX_LISTED


def test_rejected_frame_and_file_are_injection_safe(tmp_path):
    frame = pd.DataFrame({"nama": ["=HYPERLINK(\"x\")", "ok", "@SUM(A1)"], "n": ["-12", "1", "+62"],
                          LINE: [2, 3, 4], ISSUE: pd.Series([pd.NA] * 3, dtype="string")})
    checks = RowChecks(frame, "f.csv")
    checks.reject(pd.Series([True, False, True]), "nama", "bad nama")
    rejected = checks.rejected_frame(frame)
    assert list(rejected.columns) == ["line", "reason", "field", "value", "nama", "n"]
    path = tmp_path / "r.csv"
    write_rejected(path, rejected)
    write_rejected(path, rejected.iloc[:1])   # appends without a second header
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["line"] for r in rows] == ["2", "4", "2"]
    assert rows[0]["nama"] == "'=HYPERLINK(\"x\")" and rows[1]["nama"] == "'@SUM(A1)"
    assert (rows[0]["n"], rows[1]["n"]) == ("-12", "+62")   # numbers stay numbers
    assert rows[0]["value"] == ""


@pytest.mark.parametrize("text, prefix, number, blank, bad", [
    ("12", None, 12, False, False),
    ("007", None, 7, False, False),
    (" 5 ", None, 5, False, False),
    ("12.0", None, 12, False, False),
    ("", None, None, True, False),
    ("   ", None, None, True, False),
    (None, None, None, True, False),
    ("-3", None, None, False, True),
    ("3A", None, None, False, True),
    ("1.5", None, None, False, True),
    ("dua", None, None, False, True),
    ("RT 003", "rt", 3, False, False),
    ("rt.3", "rt", 3, False, False),
    ("Rw:05", "rw", 5, False, False),
    ("TPS 012", "tps", 12, False, False),
    ("RT 003", None, None, False, True),
    ("1234567890", None, None, False, True),   # > 9 digits: not a count
])
def test_whole_numbers(text, prefix, number, blank, bad):
    numbers, blanks, bads = whole_numbers(pd.Series([text, "1"], dtype="string"), prefix=prefix)
    assert (None if pd.isna(numbers.iloc[0]) else int(numbers.iloc[0])) == number
    assert (bool(blanks.iloc[0]), bool(bads.iloc[0])) == (blank, bad)
    assert numbers.iloc[1] == 1 and str(numbers.dtype) == "Int64"


def test_strip_text_and_to_int():
    assert strip_text(pd.Series([" a ", "", None], dtype=str)).tolist() == ["a", pd.NA, pd.NA]
    assert to_int(pd.Series(["12", "3.0", None], dtype="string")).tolist() == [12, 3, pd.NA]
