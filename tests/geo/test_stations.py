"""geo.stations.read_tps: TPS lists into the tps layer, with a balanced data-quality report."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from geo.errors import EmptyInputError, EncodingProblem, InputError, MissingColumnError
from geo.schema import LAYERS
from geo.stations import read_tps
from tests.conftest import FIXTURES

FX = FIXTURES / "tps"
MENTENG = ["3171061001", "3171061002", "3171061003", "3171061004"]
REJECTED = [  # (line, field, reason) of tps_menteng.csv, with the Menteng kelurahan codes given
    (18, "kode_kel", "bad kode_kel: not a Kemendagri kelurahan code (expected 10 digits, dotted or plain)"),
    (19, "kode_kel", "bad kode_kel: missing code"),
    (20, "no_tps", "bad no_tps (expected a whole number 1-999)"),
    (21, "kode_tps", "kode_tps disagrees with kode_kel + no_tps (expected 3171061001009)"),
    (22, "kode_tps", "duplicate kode_tps (first on line 3)"),
    (23, "kode_kel", "kode_kel is not a known kelurahan"),
    (24, "dpt", "dpt is not a whole number >= 0"),
    (25, "dpt", "dpt is not a whole number >= 0"),
    (26, None, "row has 18 fields, expected 17 (a delimiter inside an unquoted cell?)"),
]


@pytest.fixture(scope="module")
def menteng(tmp_path_factory):
    rejected = tmp_path_factory.mktemp("tps") / "tps.rejected.csv"
    gdf, report = read_tps(FX / "tps_menteng.csv", rejected_path=rejected, kelurahan_codes=MENTENG)
    return gdf, report, rejected


def test_rejections_name_line_field_and_reason(menteng):
    _, report, _ = menteng
    assert [(p.line, p.field, p.reason) for p in report.rejections] == REJECTED
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (25, 16, 9)
    assert report.balanced
    assert report.reasons["duplicate kode_tps"] == 1 and report.reasons["bad dpt"] == 2


def test_warnings_keep_the_row(menteng):
    gdf, report, _ = menteng
    warned = {(p.line, p.reason) for p in report.warnings}
    assert warned == {
        (5, "dpt differs from dpt_l + dpt_p"), (6, "dpt blank (stored as unknown)"),
        (7, "dpt 0 treated as blank (stored as unknown)"), (8, "special TPS (no_tps >= 900)"),
        (9, "rt unparseable (stored as unknown)"), (9, "rw unparseable (stored as unknown)")}
    assert next(p.value for p in report.warnings if p.line == 5) == "265 != 140 + 129"
    kept = gdf.set_index("kode_tps")
    assert kept.loc["3171061001005", ["dpt", "dpt_l", "dpt_p"]].isna().all()     # 0 means blank
    assert kept.loc["3171061001003", "flags"] == "dpt_mismatch"
    assert kept.loc["3171061001004", "flags"] == "dpt_unknown"
    assert kept.loc["3171061001901", "flags"] == "special_tps"
    assert kept.loc["3171061001006", ["rt", "rw"]].isna().all()


def test_output_conforms_to_the_tps_layer_in_file_order(menteng):
    gdf, _, _ = menteng
    layer = LAYERS["tps"]
    assert list(gdf.columns) == layer.all_columns
    assert {c: str(gdf[c].dtype) for c in layer.columns} == layer.columns
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.isna().all()
    assert gdf["kode_tps"].tolist()[:3] == ["3171061001001", "3171061001002", "3171061001003"]
    assert gdf["kode_tps"].is_unique


def test_codes_are_normalised_derived_and_defaults_filled(menteng):
    kept = menteng[0].set_index("kode_tps")
    derived = kept.loc["3171061002003"]                       # dotted kode_kel, kode_tps blank
    assert (derived["kode_kel"], derived["no_tps"], derived["nama"]) == ("3171061002", 3, "TPS 003")
    assert kept.loc["3171061002002", "no_tps"] == 2           # "TPS 002"
    first = kept.loc["3171061001001"]
    assert (first["jam_buka"], first["jam_tutup"], first["kpps"]) == ("07:00", "13:00", 7)
    assert (first["rt"], first["rw"], first["akses_disabilitas"]) == (3, 5, True)
    assert kept.loc["3171061001002", "akses_disabilitas"] == False
    assert kept.loc["3171061001002", "alamat"] == "Jl. Besuki No. 3\nRT.4 RW.5 (halaman masjid)"


def test_coordinates_are_kept_exactly_as_given(menteng):
    kept = menteng[0].set_index("kode_tps")
    assert kept.loc["3171061001001", ["lat_src", "lon_src"]].tolist() == ["-6.1975", "106.8321"]
    assert kept.loc["3171061002001", ["lat_src", "lon_src"]].tolist() == ["-6,2001", "106,8450"]
    assert kept.loc["3171061003001", ["lat_src", "lon_src"]].tolist() == ["106.8400", "-6.1890"]  # swapped: geocoder's job


def test_figures_per_kota(menteng):
    figures = menteng[1].figures
    assert figures["tps_per_kota"] == {"3171": 16}
    assert figures["kota_names"] == {"3171": "jakarta pusat"}
    assert figures["special_tps"] == 1 and figures["kelurahan"] == 4


def test_rejected_file_has_line_reason_and_the_row_as_given(menteng):
    _, report, path = menteng
    assert report.rejected_file == str(path)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["line"]) for r in rows] == [line for line, _, _ in REJECTED]
    assert rows[2]["no_tps"] == "tiga" and rows[2]["reason"].startswith("bad no_tps")
    assert rows[0]["kode_kel"] == "317106100"


def test_without_kelurahan_codes_the_unknown_kelurahan_is_kept(tmp_path):
    gdf, report = read_tps(FX / "tps_menteng.csv", kelurahan_codes=set())
    assert "3171061009001" in set(gdf["kode_tps"])
    assert report.rows_rejected == 8 and report.balanced


def test_rejected_file_is_replaced_and_not_written_when_nothing_is_rejected(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("old content\n")
    _, report = read_tps(FX / "tps_kpu_bom_cp1252_semicolon.csv", rejected_path=path)
    assert not path.exists() and report.rejected_file is None


def test_gigit_layout():
    gdf, report = read_tps(FX / "tps_gigit_layout.csv")
    assert report.notes[2].startswith("recognised as gigit-pemilu")
    assert (report.rows_read, report.rows_loaded) == (6, 6)
    assert report.warning_counts == {"dpt blank (stored as unknown)": 1, "dpt 0 treated as blank (stored as unknown)": 1,
                                     "dpt differs from dpt_l + dpt_p": 1, "special TPS (no_tps >= 900)": 1}
    assert report.figures["tps_per_kota"] == {"3171": 5, "3172": 1}
    assert gdf["alamat"].isna().all() and gdf["lat_src"].isna().all()


def test_kpu_export_in_cp1252_with_semicolons():
    gdf, report = read_tps(FX / "tps_kpu_bom_cp1252_semicolon.csv")
    assert any("read as cp1252" in n for n in report.notes)
    assert gdf["nama"].tolist() == ["TPS 001 – Cikini", "TPS 002 – Cikini", "TPS 003"]
    assert gdf["akses_disabilitas"].tolist() == [True, False, pd.NA]
    assert gdf[["rt", "rw"]].iloc[0].tolist() == [3, 1]
    assert gdf["dpt_l"].tolist() == [150, 144, 145]


def test_xlsx():
    gdf, report = read_tps(FX / "tps_menteng.xlsx")
    assert gdf["kode_tps"].tolist() == ["3171061001001", "3171061001002", "3171061002001"]
    assert [(p.line, p.field) for p in report.rejections] == [(6, "no_tps")]
    assert gdf["lat_src"].iloc[0] == "-6.1975"


def test_truncated_file_is_fatal():
    with pytest.raises(InputError, match=r"tps_truncated.csv, line 5: file is cut short"):
        read_tps(FX / "tps_truncated.csv")


@pytest.mark.parametrize("name, error, text", [
    ("tps_wrong_columns.csv", MissingColumnError, "missing column(s) kode_kel"),
    ("tps_zip_named_csv.csv", InputError, "ZIP archive"),
    ("tps_geojson_named_csv.csv", InputError, "GeoJSON"),
    ("tps_pdf_named_csv.csv", InputError, "PDF"),
    ("tps_csv_named_xlsx.xlsx", InputError, "not an XLSX workbook"),
    ("../dpt/dpt_binary_garbage.csv", EncodingProblem, "binary data"),
    ("../dpt/dpt_header_only.csv", EmptyInputError, "no data rows"),
])
def test_fatal_inputs_raise_one_line_errors_naming_the_file(name, error, text):
    with pytest.raises(error) as err:
        read_tps(FX / name)
    message = str(err.value)
    assert text in message and name.split("/")[-1] in message and "\n" not in message


@pytest.mark.real_data
def test_all_real_gigit_rows_load_with_the_known_quirks(real_data):
    path = real_data / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"
    gdf, report = read_tps(path)
    assert report.rows_read == 30_766 and report.balanced
    assert report.rows_loaded == 30_766 and report.rows_rejected == 0
    w = report.warning_counts
    assert w["dpt 0 treated as blank (stored as unknown)"] == 338
    assert 430 <= w["dpt differs from dpt_l + dpt_p"] <= 450
    assert w["special TPS (no_tps >= 900)"] == 80
    assert w["dpt blank (stored as unknown)"] == 30_766 - 13_848
    assert report.figures["kelurahan"] == 267
    assert sum(report.figures["tps_per_kota"].values()) == 30_766
    assert set(report.figures["tps_per_kota"]) == {"3101", "3171", "3172", "3173", "3174", "3175"}
    assert gdf["dpt"].notna().sum() == 13_848 - 338
    assert gdf["kode_tps"].is_unique


def test_rejects_exactly_the_dirty_rows_the_generator_planted(tmp_path):
    generate = pytest.importorskip("geo.generate")
    generate.generate_city(tmp_path, voters=3_000, seed=5, kode="317106")
    truth = pd.read_csv(tmp_path / "truth" / "dirty_rows.csv")
    planted = truth[(truth["file"] == "tps.csv") & ~truth["kind"].str.startswith("coord_")]   # coordinates: geocoder
    gdf, report = read_tps(tmp_path / "tps.csv")
    assert report.balanced and len(planted) > 0
    assert sorted(p.line for p in report.rejections) == sorted(planted["line"])
    assert gdf["lat_src"].notna().any()


def test_a_list_with_only_kode_tps_derives_kelurahan_and_number(tmp_path):
    path = tmp_path / "tps.csv"
    path.write_text("Kode TPS,Jumlah DPT\n3171061001001,200\n31.71.06.1001.002,\n31710610010,5\n", encoding="utf-8")
    gdf, report = read_tps(path)
    assert gdf[["kode_tps", "kode_kel", "no_tps"]].values.tolist() == [
        ["3171061001001", "3171061001", 1], ["3171061001002", "3171061001", 2]]
    assert [(p.line, p.field, p.reason) for p in report.rejections] == [
        (4, "kode_tps", "bad kode_tps (expected 13 digits)")]


def test_a_cell_longer_than_its_bound_rejects_the_row_and_is_not_echoed(tmp_path):
    path, rejected = tmp_path / "tps.csv", tmp_path / "tps.rejected.csv"
    rows = [("3171061001001", "TPS 1", "é" * 1_000),             # 1,000 characters (2,000 bytes): kept
            ("3171061001002", "TPS 2", "Jl. " + "x" * 997),       # 1,001 characters
            ("3171061001003", "T" * 201, "Jl. Besuki"),
            ("3171061001004" + "0" * 88, "TPS 4", "Jl. Besuki")]  # a code of 101 characters
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("kode_tps", "nama", "alamat"), *rows])
    gdf, report = read_tps(path, rejected_path=rejected)
    assert gdf["kode_tps"].tolist() == ["3171061001001"] and gdf["alamat"].iloc[0] == "é" * 1_000
    assert [(p.line, p.field, p.value, p.reason) for p in report.rejections] == [
        (3, "alamat", "1,001 characters", "longer than 1,000 characters"),
        (4, "nama", "201 characters", "longer than 200 characters"),
        (5, "kode_tps", "101 characters", "longer than 100 characters")]
    assert report.balanced
    with rejected.open(encoding="utf-8") as fh:
        assert [r["alamat"] for r in csv.DictReader(fh)] == ["Jl. " + "x" * 997, "Jl. Besuki", "Jl. Besuki"]
