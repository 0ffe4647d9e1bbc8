"""geo.readers_xlsx: workbooks read as the text a person sees, with sheet row numbers."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from geo.errors import EmptyInputError, InputError
from geo.readers import ISSUE, LINE, open_table, read_table
from geo.readers_xlsx import cell_text
from geo.report import Report
from tests.conftest import FIXTURES


@pytest.mark.parametrize("value, text", [
    (None, ""),
    ("3171061708800001", "3171061708800001"),
    (3171061001, "3171061001"),
    (1.0, "1"),
    (-6.1975, "-6.1975"),
    (True, "true"),
    (dt.datetime(1980, 8, 17), "1980-08-17"),
    (dt.datetime(2024, 2, 14, 7, 30), "2024-02-14 07:30:00"),
    (dt.date(1980, 8, 17), "1980-08-17"),
    (dt.time(7, 0), "07:00:00"),
    # Excel keeps 15 significant digits: a NIK typed as a number is shown mangled, never "valid".
    (3171061209990004.0, "3.17106120999E+15"),
    (3171061209990004, "3.17106120999E+15"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


def _book(tmp_path, rows, name="x.xlsx", extra_sheet=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for row in rows:
        ws.append(row)
    if extra_sheet:
        wb.create_sheet("Catatan").append(["lain"])
    wb.save(tmp_path / name)
    return tmp_path / name


def test_header_is_the_first_non_empty_row_and_lines_are_sheet_rows(tmp_path):
    path = _book(tmp_path, [[None], ["a", "b", None], [1, "x", None], [None, None], [2, "y", "beyond"]],
                 extra_sheet=True)
    report = Report("t")
    table = open_table(path, report)
    assert (table.kind, table.columns, table.header_line, table.sheet) == ("xlsx", ("a", "b"), 2, "Data")
    rows = read_table(table, {"a": "a", "b": "b"}, report=report)
    assert rows[["a", "b", LINE]].values.tolist() == [["1", "x", 3], ["2", "y", 5]]
    assert rows[ISSUE].isna().tolist() == [True, False]      # a value right of the last header column
    assert "workbook has 2 sheets; read the first, 'Data'" in report.notes
    assert "skipped 1 blank line(s)" in report.notes


@pytest.mark.parametrize("rows, problem", [([], "first sheet is empty"), ([["a", "b"]], "no data rows")])
def test_empty_workbooks(tmp_path, rows, problem):
    with pytest.raises(EmptyInputError, match=problem):
        open_table(_book(tmp_path, rows))


def test_a_broken_workbook_is_an_input_error(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(InputError, match="not a readable XLSX workbook"):
        open_table(path)


def test_dpt_fixture_numbers_and_dates_become_text():
    table = open_table(FIXTURES / "dpt" / "dpt_menteng.xlsx")
    rows = read_table(table, {"NIK": "nik", "Tanggal Lahir": "tgl", "Kode Kel": "kel", "TPS": "tps"})
    assert rows["nik"].tolist() == ["3171061708800001", "3171064503820001", "3.17106120999E+15", "3171060101700005"]
    assert rows["tgl"].tolist() == ["1980-08-17", "05-03-1982", "1999-09-12", "1970-01-01"]
    assert rows["kel"].tolist() == ["3171061001"] * 4
    assert rows["tps"].tolist() == ["1", "001", "2", "2"]
    assert rows[LINE].tolist() == [2, 3, 4, 6]
