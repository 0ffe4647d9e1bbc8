"""geo.readers: what a file really is, its encoding, delimiter, header and physical line numbers."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import EmptyInputError, EncodingProblem, InputError
from geo.readers import ISSUE, LINE, iter_table, open_table, read_table
from geo.readers_csv import arrow_readable, iter_arrow, iter_pandas
from geo.report import Report
from tests.conftest import FIXTURES

ABC = {"a": "a", "b": "b", "c": "c"}


def _write(tmp_path, name: str, data: bytes | str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def _rows(path, columns=ABC, chunksize=100) -> pd.DataFrame:
    report = Report("t")
    frames = list(iter_table(open_table(path, report), columns, report=report, chunksize=chunksize))
    return pd.concat(frames, ignore_index=True)


# --- encodings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data, encoding, note, cell", [
    ("a,b,c\n1,Cikini,3\n", "utf-8", "encoding UTF-8", "Cikini"),
    ("\ufeffa,b,c\n1,Cikini,3\n", "utf-8", "encoding UTF-8 with BOM", "Cikini"),
    ("a,b,c\n1,Café – Menteng,3\n", "cp1252", "read as cp1252", "Café – Menteng"),
    ("a,b,c\n1,Caf\x81,3\n", "latin-1", "read as latin-1", "Caf\x81"),     # 0x81 is undefined in cp1252
    ("\ufeffa\tb\tc\n1\tCikini\t3\n", "utf-16-le", "UTF-16", "Cikini"),  # Excel "Unicode text"
])
def test_encodings_are_detected_and_noted(tmp_path, data, encoding, note, cell):
    report = Report("t")
    table = open_table(_write(tmp_path, "x.csv", data.encode(encoding)), report)
    rows = read_table(table, ABC)
    assert any(note in n for n in report.notes), report.notes
    assert table.columns == ("a", "b", "c")
    assert rows[["b", LINE]].values.tolist() == [[cell, 2]]


def test_cp1252_note_names_the_line_of_the_first_bad_byte(tmp_path):
    report = Report("t")
    open_table(_write(tmp_path, "x.csv", "a,b,c\n1,2,3\n4,Café,6\n", "cp1252"), report)
    assert "not valid UTF-8 (byte 0xE9 on line 3); read as cp1252" in report.notes


def test_utf8_cut_inside_a_character_is_replaced_not_mistaken_for_cp1252(tmp_path):
    report = Report("t")
    path = _write(tmp_path, "x.csv", "a,b,c\n1,2,Café\n".encode()[:-2])
    rows = read_table(open_table(path, report), ABC)
    assert rows["c"].iloc[0] == "Caf\ufffd"
    assert any("ends inside a character" in n for n in report.notes)


@pytest.mark.parametrize("data", [
    b"a,b,c\n1,2,3\n4,\x00\x00,6\n",                 # NUL inside the text
    bytes(range(256)) * 8,                             # binary garbage
    b"a,b,c\n" + b"\x01\x02\x03\x04\x05\x06" * 40,   # control bytes
])
def test_binary_data_is_an_encoding_problem(tmp_path, data):
    with pytest.raises(EncodingProblem, match="binary data"):
        open_table(_write(tmp_path, "x.csv", data))


def test_nul_byte_after_the_first_block_names_its_line(tmp_path):
    body = "a,b,c\n" + "1,2,3\n" * 20_000 + "4,\x00,6\n"
    with pytest.raises(EncodingProblem, match="line 20002"):
        open_table(_write(tmp_path, "x.csv", body))


# --- what the file really is ---------------------------------------------------------------------

@pytest.mark.parametrize("name, data, what", [
    ("x.csv", b"%PDF-1.4\n1 0 obj\n", "PDF"),
    ("x.csv", b'{"type": "FeatureCollection", "features": []}', "GeoJSON"),
    ("x.csv", b"[1, 2, 3]", "JSON"),
    ("x.csv", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "HTML"),
    ("x.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "legacy Excel .xls"),
    ("x.csv", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "gzip"),
    ("x.txt", b"SQLite format 3\x00" + b"\x00" * 100, "SQLite"),
    ("x.xlsx", b"a,b,c\n1,2,3\n", "not an XLSX workbook"),
])
def test_a_file_that_is_not_what_it_claims_is_an_input_error(tmp_path, name, data, what):
    with pytest.raises(InputError, match=what) as err:
        open_table(_write(tmp_path, name, data))
    assert name in str(err.value)


def test_a_zip_named_csv_is_refused_but_a_workbook_without_suffix_is_read(tmp_path):
    with zipfile.ZipFile(tmp_path / "x.csv", "w") as z:
        z.writestr("a.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="ZIP archive"):
        open_table(tmp_path / "x.csv")
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["a", "b", "c"])
    wb.active.append([1, 2, 3])
    wb.save(tmp_path / "export")
    assert open_table(tmp_path / "export").kind == "xlsx"


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        open_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("data, problem", [
    (b"", "file is empty"),
    (b"  \n\n", "file is empty"),
    (b"a,b,c\n", "no data rows"),
    (b"a,b,c\n\n\n,,\n", "no data rows"),
    (b",,\n1,2,3\n", "header line is empty"),
])
def test_empty_inputs(tmp_path, data, problem):
    with pytest.raises(EmptyInputError, match=problem):
        path = _write(tmp_path, "x.csv", data)
        list(iter_table(open_table(path), ABC))


# --- delimiter and header ------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected_from_the_header(tmp_path, delimiter):
    text = delimiter.join("abc") + "\n" + delimiter.join(["1", "Jl. Kenari, No. 2" if delimiter != "," else "x", "3"])
    report = Report("t")
    table = open_table(_write(tmp_path, "x.txt", text + "\n"), report)
    assert table.delimiter == delimiter
    assert f"delimiter {delimiter!r}" in report.notes
    assert read_table(table, ABC)["c"].tolist() == ["3"]


def test_excel_sep_line_and_leading_blank_lines_are_skipped_and_lines_stay_physical(tmp_path):
    report = Report("t")
    table = open_table(_write(tmp_path, "x.csv", "sep=;\n\na;b;c\n1;2,5;3\n"), report)
    assert (table.delimiter, table.header_line) == (";", 3)
    rows = read_table(table, ABC)
    assert rows[["b", LINE]].values.tolist() == [["2,5", 4]]
    assert "skipped 2 line(s) before the header" in report.notes


def test_header_names_are_cleaned_and_duplicates_kept_apart(tmp_path):
    report = Report("t")
    table = open_table(_write(tmp_path, "x.csv", "\ufeff Kode  TPS ,nik,nik,\n1,2,3,4\n"), report)
    assert table.columns == ("Kode TPS", "nik", "nik (3)", "column_4")
    assert any("appears more than once" in n for n in report.notes)


# --- text only -----------------------------------------------------------------------------------

def test_every_cell_stays_text_exactly_as_written(tmp_path):
    path = _write(tmp_path, "x.csv", "a,b,c\n3171011708800001,3.17101E+15,NA\n007,,null\n")
    rows = read_table(open_table(path), ABC)
    assert rows[["a", "b", "c"]].values.tolist() == [["3171011708800001", "3.17101E+15", "NA"], ["007", "", "null"]]
    assert all(pd.api.types.is_string_dtype(rows[c]) for c in "abc")


def test_only_the_requested_columns_are_returned_renamed(tmp_path):
    rows = read_table(open_table(_write(tmp_path, "x.csv", "A,B,C\n1,2,3\n")), {"C": "z", "A": "y"})
    assert list(rows.columns) == ["z", "y", LINE, ISSUE]


# --- line numbers --------------------------------------------------------------------------------

MESSY = ('a,b,c\n'
         '1,2,3\n'                 # line 2
         '\n'                      # 3: blank, skipped
         '4,"x\ny",6\n'            # 4-5: a cell over two lines
         '7,8\n'                   # 6: one field short (pandas fills "")
         '9,10,11,12\n'            # 7: one field too many
         '13,14,15\n'              # 8
         '16,"p\nq\nr",17\n'       # 9-11
         '1,2,3,4\n'               # 12: too many again
         '18,19,20')               # 13: no final line break, complete


@pytest.mark.parametrize("chunksize", [1, 2, 3, 100])
def test_physical_line_numbers_survive_multiline_cells_bad_rows_and_chunks(tmp_path, chunksize):
    rows = _rows(_write(tmp_path, "x.csv", MESSY), chunksize=chunksize)
    assert rows[LINE].tolist() == [2, 4, 6, 7, 8, 9, 12, 13]
    assert rows["a"].tolist() == ["1", "4", "7", "", "13", "16", "", "18"]
    bad = rows[rows[ISSUE].notna()]
    assert bad[LINE].tolist() == [7, 12]
    assert bad[ISSUE].str.contains("row has 4 fields, expected 3").all()


def test_blank_lines_are_skipped_and_noted(tmp_path):
    report = Report("t")
    path = _write(tmp_path, "x.csv", MESSY)
    list(iter_table(open_table(path, report), ABC, report=report))
    assert "skipped 1 blank line(s)" in report.notes
    assert any("span several lines" in n for n in report.notes)


def test_lines_after_a_multiline_header(tmp_path):
    rows = _rows(_write(tmp_path, "x.csv", 'a,"b\n(kolom 2)",c\n1,2,3\n4,5,6\n'), {"a": "a", "c": "c"})
    assert rows[LINE].tolist() == [3, 4]


def test_crlf_lines_and_a_quoted_crlf(tmp_path):
    rows = _rows(_write(tmp_path, "x.csv", 'a,b,c\r\n1,"x\r\ny",3\r\n4,5,6\r\n'))
    assert rows[LINE].tolist() == [2, 4]


def test_many_rows_in_chunks_keep_counting(tmp_path):
    cells = ["x" if i % 7 else "x\ny" for i in range(1, 1001)]
    body = "a,b,c\n" + "".join(f'{i},"{cell}",{i}\n' for i, cell in enumerate(cells, start=1))
    rows = _rows(_write(tmp_path, "x.csv", body), chunksize=64)
    expected, line = [], 2
    for i in range(1, 1001):
        expected.append(line)
        line += 1 if i % 7 else 2
    assert rows[LINE].tolist() == expected
    assert rows["c"].tolist() == [str(i) for i in range(1, 1001)]


def test_a_last_row_cut_short_is_fatal(tmp_path):
    # Loading the rest of a cut file would drop the lost rows silently (a DPT replaces its kelurahan).
    with pytest.raises(InputError, match=r"x.csv, line 3: file is cut short"):
        _rows(_write(tmp_path, "x.csv", "a,b,c\n1,2,3\n4,5"))
    assert _rows(_write(tmp_path, "y.csv", "a,b,c\n1,2,3\n4,5,6"))[LINE].tolist() == [2, 3]


def test_an_unclosed_quote_is_fatal_and_names_the_line(tmp_path):
    path = _write(tmp_path, "x.csv", 'a,b,c\n1,2,3\n4,"Jl. Kenari,6\n7,8,9\n')
    with pytest.raises(InputError, match=r"x.csv, line 3: a quoted cell never closes"):
        list(iter_table(open_table(path), ABC))


def test_chunks_are_bounded(tmp_path):
    path = _write(tmp_path, "x.csv", "a,b,c\n" + "1,2,3\n" * 1000)
    sizes = [len(f) for f in iter_table(open_table(path), ABC, chunksize=300)]
    assert sizes == [300, 300, 300, 100]


def test_a_first_row_with_one_field_too_many_is_a_bad_row_not_an_index(tmp_path):
    # pandas alone would take the extra field as naming an index column and shift every row.
    for text in ("a,b,c\n1,2,3,4\n5,6,7\n", 'a,b,c\n1,2,3,4\n5,"x\ny",7\n'):
        rows = _rows(_write(tmp_path, "x.csv", text))
        assert rows[["a", "b", "c", LINE]].values.tolist() == [["", "", "", 2], ["5", "6" if "x" not in text else "x\ny", "7", 3]]
        assert rows[ISSUE].notna().tolist() == [True, False]


@pytest.mark.parametrize("chunksize", [1, 2, 100])
def test_rows_with_too_few_or_too_many_fields_keep_their_lines_in_the_fast_reader(tmp_path, chunksize):
    text = "a,b,c\n1,2,3\n\n7,8\n9,10,11,12\n\"x\",\"y,z\",\"w\"\"v\"\n13\n"
    table = open_table(_write(tmp_path, "x.csv", text))
    assert arrow_readable(table)
    rows = pd.concat(iter_table(table, ABC, chunksize=chunksize), ignore_index=True)
    assert rows[["a", "b", "c", LINE]].values.tolist() == [
        ["1", "2", "3", 2], ["7", "8", "", 4], ["", "", "", 5], ["x", "y,z", 'w"v', 6], ["13", "", "", 7]]
    assert rows[ISSUE].notna().tolist() == [False, False, True, False, False]


def test_a_line_longer_than_the_fast_readers_block_is_read(tmp_path):
    text = "a,b,c\n1,2,3\n" + "x" * (5 << 20) + ",2,3\n4,5,6\n"
    table = open_table(_write(tmp_path, "x.csv", text))
    assert table.longest_line == (5 << 20) + 5   # with its line break
    assert read_table(table, {"c": "c"})["c"].tolist() == ["3", "3", "6"]


_CELL = st.tuples(st.text(alphabet=["x", ",", '"', " ", "é", ";", "\t"], max_size=4), st.booleans()).map(
    lambda t: '"' + t[0].replace('"', '""') + '"' if t[1] or any(c in t[0] for c in ',"') else t[0])
_LINE = st.one_of(st.lists(_CELL, max_size=5).map(",".join), st.just(""), st.just(",,,"))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_LINE, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans(),
       st.integers(1, 4), st.sampled_from(["", "\ufeff", "sep=,\n", "\n\n"]))
def test_the_fast_reader_gives_the_rows_and_lines_of_the_pandas_reader(tmp_path_factory, rows, newline, final,
                                                                      chunksize, preamble):
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_text(preamble + "a,b,c" + newline + newline.join(rows) + (newline if final else ""), encoding="utf-8")
    try:
        table = open_table(path)
    except (InputError, EmptyInputError):
        return
    assert arrow_readable(table)
    assert _outcome(iter_arrow, table, chunksize) == _outcome(iter_pandas, table, chunksize)


def _outcome(reader, table, chunksize) -> object:
    try:
        frames = list(reader(table, chunksize))
    except InputError as exc:
        return str(exc)
    if not frames:
        return []
    rows = pd.concat(frames, ignore_index=True)[[*table.columns, LINE, ISSUE]]
    return rows.astype(object).where(rows.notna(), None).values.tolist()


# --- fixtures ------------------------------------------------------------------------------------

def test_bom_then_cp1252_semicolon_fixture():
    report = Report("t")
    table = open_table(FIXTURES / "tps" / "tps_kpu_bom_cp1252_semicolon.csv", report)
    assert table.columns[:3] == ("No", "KODE TPS", "Kode Kel")
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    assert any("after a UTF-8 BOM" in n for n in report.notes)
    rows = read_table(table, {"Nama TPS": "nama", "Lintang": "lat"})
    assert rows["nama"].tolist()[:2] == ["TPS 001 – Cikini", "TPS 002 – Cikini"]
    assert rows["lat"].iloc[0] == "-6,1890"
