"""geo.voters.read_dpt: streamed DPT validation, hashing, duplicates across chunks, privacy, speed."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from geo import codes
from geo.errors import EmptyInputError, EncodingProblem, InputError, MissingColumnError
from geo.schema import LAYERS
from geo.voters import read_dpt
from tests.conftest import FIXTURES, ROOT

FX = FIXTURES / "dpt"
KEY = b"test-key"
REJECTED = [  # (line, field, reason) of dpt_menteng.csv
    (19, "nik", "NIK is not 16 digits"),
    (20, "nik", "NIK mangled into scientific notation (e.g. by Excel)"),
    (21, "nik", "NIK birth date (DDMMYY, women +40) is not a valid date"),
    (22, "nik", "NIK is not 16 digits"),
    (23, "nik", "missing NIK"),
    (24, "nik", "NIK region prefix is not a known province"),
    (25, "nik", "duplicate NIK (first on line 2)"),
    (26, "nkk", "NKK is not 16 digits"),
    (27, "nama", "missing nama"),
    (28, "kode_kel", "bad kode_kel: not a Kemendagri kelurahan code (expected 10 digits, dotted or plain)"),
    (29, "rt", "missing rt"),
    (30, "rw", "rw is not a positive whole number"),
    (31, "tps", "bad tps (expected a TPS number 1-999)"),
    (32, "tanggal_lahir", "tanggal_lahir not a date (expected DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD)"),
    (33, None, "row has 11 fields, expected 10 (a delimiter inside an unquoted cell?)"),
]
TPS_CODES = ["3171061001001", "3171061001002", "3171061002002", "3171061003001"]


def _load(path, **kw):
    reader = read_dpt(path, key=KEY, **kw)
    chunks = list(reader)
    frame = pd.concat(chunks, ignore_index=True) if chunks else None
    return frame, reader.report


@pytest.fixture(scope="module")
def menteng(tmp_path_factory):
    rejected = tmp_path_factory.mktemp("dpt") / "dpt.rejected.csv"
    frame, report = _load(FX / "dpt_menteng.csv", rejected_path=rejected, tps_codes=TPS_CODES)
    return frame, report, rejected


def test_rejections_name_line_field_and_reason(menteng):
    _, report, _ = menteng
    assert [(p.line, p.field, p.reason) for p in report.rejections] == REJECTED
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (32, 17, 15)
    assert report.balanced and report.reasons["duplicate NIK"] == 1


def test_warnings_keep_the_row(menteng):
    _, report, _ = menteng
    assert {(p.line, p.reason) for p in report.warnings} == {
        (12, "NIK region differs from the voter's kecamatan (issued elsewhere)"),
        (13, "NIK birth date (DDMMYY) differs from tanggal_lahir"),
        (14, "NIK sex (day + 40 for women) differs from jenis_kelamin"),
        (15, "jenis_kelamin missing or not L/P: taken from the NIK"),
        (16, "kode_tps not in the TPS list")}


def test_kept_rows_hold_hashes_masks_and_normalised_fields(menteng):
    frame, _, _ = menteng
    layer = LAYERS["voters"]
    assert list(frame.columns) == list(layer.columns)
    assert {c: str(frame[c].dtype) for c in layer.columns} == layer.columns
    assert frame["voter_key"].iloc[0] == codes.nik_hash("3171061708800001", KEY)
    assert frame["kk_key"].iloc[0] == codes.nik_hash("3171060101080001", KEY)
    assert frame["voter_key"].is_unique
    assert frame["nama_masked"].tolist()[:3] == ["B*** S******", "S*** R*****", "D*** L******"]
    assert frame["jenis_kelamin"].tolist()[:4] == ["L", "P", "P", "L"]          # "Perempuan", "LAKI-LAKI"
    assert frame["tahun_lahir"].tolist()[:4] == [1980, 1982, 2005, 1975]
    assert frame.loc[3, ["rt", "rw"]].tolist() == [3, 5]                         # "003", "RW 05"
    assert frame["kode_tps"].tolist()[5:9] == ["3171061001002", "3171061002002", "3171061002002", "3171061002002"]
    assert frame["jenis_kelamin"].iloc[12] == "P"                                # blank: from the NIK
    assert frame["voter_key"].iloc[14] == codes.nik_hash("3171060707770012", KEY)  # leading ' removed
    assert frame["voter_key"].iloc[15] == codes.nik_hash("3171064808880013", KEY)  # spaces removed
    assert frame["nama_masked"].iloc[15] == "S** M******"


def test_no_raw_nik_nkk_or_name_leaves_the_module(menteng):
    frame, report, rejected = menteng
    raw = pd.read_csv(FX / "dpt_menteng.csv", dtype=str, keep_default_na=False, on_bad_lines="skip")
    secrets = {codes.clean_nik(pd.Series([v])).iloc[0] for v in pd.concat([raw["nik"], raw["nkk"]])}
    secrets = {s for s in secrets if len(s) >= 12} | {n for n in raw["nama"] if len(n) > 3}
    published = [report.to_json(), rejected.read_text(encoding="utf-8"), frame.to_csv()]
    for text in published:
        leaked = [s for s in secrets if s in text]
        assert not leaked, leaked


def test_rejected_file_is_masked_and_injection_safe(menteng):
    _, _, rejected = menteng
    with rejected.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["line"]) for r in rows] == [line for line, _, _ in REJECTED]
    assert list(rows[0])[:5] == ["line", "reason", "field", "value", "nik"]
    assert rows[0]["nik"] == "317106**********" and rows[6]["nik"] == "317106********01"
    assert rows[6]["nama"] == "B*** S****** D**"
    formula = rows[13]
    assert formula["nama"].startswith("'=") and formula["alamat"] == "'=1+2"


def test_known_kelurahan_and_tps_codes(tmp_path):
    _, report = _load(FX / "dpt_menteng.csv", kelurahan_codes=["3171061001", "3171061002"])
    assert report.reasons["kode_kel is not a known kelurahan"] == 7          # the 3171061003 voters
    assert "kode_tps not in the TPS list" not in report.warning_counts      # no tps_codes given
    assert report.balanced


@pytest.mark.parametrize("chunksize", [1, 7])
def test_results_do_not_depend_on_the_chunk_size(menteng, chunksize):
    frame, report, _ = menteng
    small, small_report = _load(FX / "dpt_menteng.csv", chunksize=chunksize, tps_codes=TPS_CODES)
    pd.testing.assert_frame_equal(small, frame)
    assert [(p.line, p.reason) for p in small_report.rejections] == [(p.line, p.reason) for p in report.rejections]
    assert small_report.warning_counts == report.warning_counts


def test_kpu_export_in_cp1252_with_other_headers():
    frame, report = _load(FX / "dpt_kpu_bom_cp1252_semicolon.csv")
    assert (report.rows_loaded, report.rows_rejected) == (3, 0)
    assert any("read as cp1252" in n for n in report.notes)
    assert frame["nama_masked"].tolist() == ["B*** S******", "S*** R*****", "J*** M****"]
    assert frame["kode_tps"].tolist() == ["3171061001001", "3171061001001", "3171061001002"]


def test_xlsx_rejects_nik_and_nkk_typed_as_numbers():
    frame, report = _load(FX / "dpt_menteng.xlsx")
    assert [(p.line, p.field) for p in report.rejections] == [(4, "nik"), (6, "nkk")]
    assert report.reasons == {"NIK mangled into scientific notation (e.g. by Excel)": 1,
                              "NKK mangled into scientific notation (e.g. by Excel)": 1}
    assert frame["tahun_lahir"].tolist() == [1980, 1982]


def test_all_rows_rejected_is_fatal():
    reader = read_dpt(FX / "dpt_nik_not_numeric.csv", key=KEY)
    with pytest.raises(InputError, match=r"dpt_nik_not_numeric.csv: no valid voter row: all 5 rows rejected "
                                         r"\(most often: NIK is not 16 digits, 4 rows\)"):
        list(reader)
    assert reader.report.reasons == {"NIK is not 16 digits": 4, "missing NIK": 1}


@pytest.mark.parametrize("name, error, text", [
    ("../tps/tps_wrong_columns.csv", MissingColumnError, "missing column(s) nik"),
    ("dpt_binary_garbage.csv", EncodingProblem, "binary data"),
    ("dpt_empty.csv", EmptyInputError, "file is empty"),
    ("dpt_header_only.csv", EmptyInputError, "no data rows"),
    ("../tps/tps_pdf_named_csv.csv", InputError, "PDF"),
])
def test_fatal_inputs_raise_before_any_row_is_read(name, error, text):
    with pytest.raises(error) as err:
        read_dpt(FX / name, key=KEY)
    assert text in str(err.value) and name.split("/")[-1] in str(err.value)


def test_a_file_cut_inside_a_quote_is_fatal():
    with pytest.raises(InputError, match="line 3: (a quoted cell never closes|file is cut short)"):
        list(read_dpt(FX / "dpt_truncated_quote.csv", key=KEY))


def test_a_reader_is_iterated_once_and_needs_a_key():
    reader = read_dpt(FX / "dpt_kpu_bom_cp1252_semicolon.csv", key=KEY)
    list(reader)
    with pytest.raises(RuntimeError, match="only once"):
        list(reader)
    with pytest.raises(ValueError):
        read_dpt(FX / "dpt_kpu_bom_cp1252_semicolon.csv", key=b"")


# --- a generated DPT: duplicates far apart, across chunks; speed -------------------------------------

def make_dpt(path, n: int, *, seed: int = 0, duplicates: int = 0) -> list[tuple[int, int]]:
    """Write a DPT CSV of ``n`` valid voters in families sharing a KK (vectorized).

    The last ``duplicates`` rows repeat the NIK of earlier rows; returns their (line, first line).
    """
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    family = i // 3
    kel = np.array(["3171061001", "3171061002", "3171061003", "3172011001"])[family % 4]
    born = np.datetime64("1950-01-01") + (i % 20_000).astype("timedelta64[D]")
    day = (born - born.astype("datetime64[M]")).astype(int) + 1
    month = born.astype("datetime64[M]").astype(int) % 12 + 1
    year = born.astype("datetime64[Y]").astype(int) + 1970
    female = rng.random(n) < 0.5
    region = pd.Series(kel).str[:6]
    nik = (region + pd.Series(day + 40 * female).astype(str).str.zfill(2) + pd.Series(month).astype(str).str.zfill(2)
           + pd.Series(year % 100).astype(str).str.zfill(2) + pd.Series(i // 20_000 + 1).astype(str).str.zfill(4))
    dup_rows = np.arange(n - duplicates, n)
    dup_of = rng.integers(0, max(n - duplicates, 1), duplicates)
    nik.iloc[dup_rows] = nik.iloc[dup_of].to_numpy()
    first = np.array(["SITI", "AHMAD", "DEWI", "BUDI", "RINA", "AGUS", "NUR", "EKO"])
    last = np.array(["RAHAYU", "SANTOSO", "LESTARI", "HIDAYAT", "PURNAMA", "WIJAYA"])
    pd.DataFrame({
        "nik": nik, "nkk": region + "01" + pd.Series(family).astype(str).str.zfill(8),
        "nama": pd.Series(first[rng.integers(0, 8, n)]) + " " + last[rng.integers(0, 6, n)],
        "jenis_kelamin": np.where(female, "P", "L"),
        "tanggal_lahir": (pd.Series(day).astype(str).str.zfill(2) + "-" + pd.Series(month).astype(str).str.zfill(2)
                          + "-" + pd.Series(year).astype(str)),
        "alamat": "Jl. Kenari II No. " + pd.Series(family % 200 + 1).astype(str),
        "rt": family % 15 + 1, "rw": family % 10 + 1, "kode_kel": kel, "tps": family % 40 + 1,
    }).to_csv(path, index=False)
    return sorted((int(r) + 2, int(d) + 2) for r, d in zip(dup_rows, dup_of))


def test_generated_file_duplicates_across_chunks(tmp_path):
    path = tmp_path / "dpt.csv"
    expected = make_dpt(path, 30_000, seed=3, duplicates=40)
    frame, report = _load(path, chunksize=4_096)
    assert report.balanced and report.rows_read == 30_000
    assert report.rows_rejected == report.reasons["duplicate NIK"] == 40
    found = sorted((p.line, int(p.reason.split("line ")[1].rstrip(")"))) for p in report.rejections)
    assert found == expected
    assert frame["voter_key"].is_unique and len(frame) == 29_960
    assert report.warning_counts == {}


@pytest.mark.slow
def test_one_million_rows_stream_in_bounded_memory(tmp_path):
    """A 1 M-row DPT streams with bounded memory and exact duplicate accounting. Speed is measured by
    scripts/bench/load.py, not asserted here (timed unit tests are noise on a shared machine)."""
    path = tmp_path / "dpt_1m.csv"
    make_dpt(path, 1_000_000, seed=1, duplicates=1_000)
    script = textwrap.dedent(f"""
        import json, resource, time
        from geo.voters import read_dpt
        def cpu_s():  # this process and its hashing helper
            return time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        wall, cpu = time.perf_counter(), cpu_s()
        reader = read_dpt({str(path)!r}, key=b"k")
        rows = sum(len(c) for c in reader)
        print(json.dumps({{"rows": rows, "cpu": cpu_s() - cpu, "wall": time.perf_counter() - wall,
                          "rejected": reader.report.rows_rejected,
                          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    m = json.loads(out.stdout)
    print(m)
    assert m["rows"] == 999_000 and m["rejected"] == 1_000
    assert m["rss_mb"] < 1_500, m  # issue 2: peak memory under 1.5 GB


def test_rejects_exactly_the_dirty_rows_the_generator_planted(tmp_path):
    generate = pytest.importorskip("geo.generate")
    generate.generate_city(tmp_path, voters=3_000, seed=5, kode="317106")
    truth = pd.read_csv(tmp_path / "truth" / "dirty_rows.csv")
    _, report = _load(tmp_path / "dpt.csv", chunksize=1_000)
    assert report.balanced and report.rows_rejected == len(report.rejections) > 0
    assert sorted(p.line for p in report.rejections) == sorted(truth.loc[truth["file"] == "dpt.csv", "line"])


def test_without_a_sex_column_sex_comes_from_the_nik_with_one_note(tmp_path):
    path = tmp_path / "dpt.csv"
    path.write_text("NIK,NKK,NAMA,TGL LAHIR,RT,RW,KELURAHAN,TPS\n"
                    "3171061708800001,3171060101080001,BUDI,17-08-1980,1,2,3171061001,1\n"
                    "3171064503820001,3171060101080001,SITI,05-03-1982,1,2,3171061001,1\n", encoding="utf-8")
    frame, report = _load(path)
    assert frame["jenis_kelamin"].tolist() == ["L", "P"]
    assert "no jenis_kelamin column: sex taken from the NIK (day + 40 for women)" in report.notes
    assert not report.warning_counts and frame["alamat"].isna().all()


def test_digits_other_than_ascii_are_rejected_not_hashed(tmp_path):
    # Python's \d takes "３" (full-width) as a digit; a NIK or code written so is not the voter's key.
    path = tmp_path / "dpt.csv"
    path.write_text("nik,nkk,nama,jenis_kelamin,tanggal_lahir,alamat,rt,rw,kode_kel,tps\n"
                    "3171061708800001,3171060101080001,BUDI,L,17-08-1980,JL,1,2,3171061001,1\n"
                    "317106170880０００２,3171060101080001,SITI,P,17-08-1980,JL,1,2,3171061001,1\n"
                    "3171061708800003,3171060101080001,ANI,P,17-08-1980,JL,1,2,31710610０1,1\n", encoding="utf-8")
    frame, report = _load(path)
    assert len(frame) == 1
    assert [(p.line, p.field, p.reason) for p in report.rejections] == [
        (3, "nik", "NIK is not 16 digits"),
        (4, "kode_kel", "bad kode_kel: not a Kemendagri kelurahan code (expected 10 digits, dotted or plain)")]


@pytest.mark.parametrize("chunksize", [2, 100])
def test_a_cell_longer_than_its_bound_rejects_the_row_and_is_not_echoed(tmp_path, chunksize):
    path, rejected = tmp_path / "dpt.csv", tmp_path / "dpt.rejected.csv"
    row = ["3171061708800001", "3171060101080001", "BUDI", "L", "17-08-1980", "JL. KENARI", "1", "2",
           "3171061001", "1"]
    rows = [row[:5] + ["É" * 1_000] + row[6:],                             # 1,000 characters: kept
            row[:1] + ["3171060101080002", "BUDI"] + row[3:5] + ["JL. " + "X" * 997] + row[6:],
            ["3171061708800003", row[1], "SITI " + "A" * 196] + row[3:],   # a name of 201 characters
            ["3171061708800004" * 7] + row[1:]]                            # a NIK of 112 characters
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("nik", "nkk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "rt", "rw",
                                   "kode_kel", "tps"), *rows])
    frame, report = _load(path, rejected_path=rejected, chunksize=chunksize)
    assert frame["alamat"].tolist() == ["É" * 1_000]
    assert [(p.line, p.field, p.value, p.reason) for p in report.rejections] == [
        (3, "alamat", "1,001 characters", "longer than 1,000 characters"),
        (4, "nama", "201 characters", "longer than 200 characters"),
        (5, "nik", "112 characters", "longer than 100 characters")]
    assert report.balanced
    text = rejected.read_text(encoding="utf-8")
    assert "SITI AAAA" not in text and "3171061708800004" not in text     # masked as every rejected row
