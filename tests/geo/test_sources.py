"""geo.sources: column spellings, known sources and the missing-column error."""

from __future__ import annotations

import pytest

from geo import sources
from geo.errors import MissingColumnError
from geo.readers import open_table
from tests.conftest import FIXTURES

GIGIT_HEADER = ["kode_tps", "kode_kel", "kode_kec", "kode_kab", "nama_kab", "nama_kec", "nama_kel", "no_tps", "dpt", "dpt_l", "dpt_p", "phl_dpt", "phl_dptb", "phl_dpk", "phl_total", "suara_sah", "suara_tidak_sah", "suara_total", "paslon_01", "paslon_02", "paslon_03", "sirekap_timestamp"]


@pytest.mark.parametrize("name, normalised", [
    ("Kode TPS", "kodetps"), ("KODE_TPS", "kodetps"), ("kode-tps", "kodetps"), ("No. TPS", "notps"),
    ("L/P", "lp"), ("tgl_lahir", "tgllahir"), (" Jenis  Kelamin ", "jeniskelamin"),
])
def test_norm(name, normalised):
    assert sources.norm(name) == normalised


@pytest.mark.parametrize("column, field", [
    ("Kode TPS", "kode_tps"), ("KODE_TPS", "kode_tps"), ("no tps", "no_tps"), ("NOMOR TPS", "no_tps"),
    ("Kode Kelurahan", "kode_kel"), ("kelurahan", "kode_kel"), ("desa", "kode_kel"), ("KODE DESA", "kode_kel"),
    ("latitude", "lat"), ("lat", "lat"), ("y", "lat"), ("Lintang", "lat"),
    ("longitude", "lon"), ("lon", "lon"), ("lng", "lon"), ("x", "lon"), ("Bujur", "lon"),
    ("Jumlah DPT", "dpt"), ("DPT L", "dpt_l"), ("P", "dpt_p"), ("Ramah Disabilitas", "akses_disabilitas"),
])
def test_tps_spellings(column, field):
    header = ["kode_kel", "no_tps", column] if field not in ("kode_kel", "no_tps") else ["kode_tps", column]
    assert sources.match_columns(header, "tps")[column] == field


@pytest.mark.parametrize("column, field", [
    ("NIK", "nik"), ("No KK", "nkk"), ("NKK", "nkk"), ("Nama Pemilih", "nama"),
    ("jenis kelamin", "jenis_kelamin"), ("JK", "jenis_kelamin"), ("L/P", "jenis_kelamin"),
    ("tgl_lahir", "tanggal_lahir"), ("Tanggal Lahir", "tanggal_lahir"), ("TGL LAHIR", "tanggal_lahir"),
    ("kelurahan", "kode_kel"), ("desa", "kode_kel"), ("No TPS", "tps"), ("TPS", "tps"),
])
def test_dpt_spellings(column, field):
    base = {"nik": "NIK", "nkk": "NKK", "nama": "NAMA", "tanggal_lahir": "TGL LAHIR", "rt": "RT", "rw": "RW",
            "kode_kel": "KODE KEL", "tps": "TPS"}
    base[field] = column
    mapping = sources.match_columns(list(base.values()), "dpt")
    assert mapping[column] == field


def test_an_exact_field_name_wins_over_an_alias_and_a_column_feeds_one_field():
    mapping = sources.match_columns(["tps", "no_tps", "kode_kel"], "tps")
    assert mapping == {"no_tps": "no_tps", "kode_kel": "kode_kel"}   # "tps" (an alias) is not used twice
    mapping = sources.match_columns(["kode_kel", "no_tps", "Nomor TPS"], "tps")
    assert mapping["no_tps"] == "no_tps" and "Nomor TPS" not in mapping


def test_a_running_number_column_is_not_taken_for_the_tps_number():
    with pytest.raises(MissingColumnError):
        sources.match_columns(["No", "kode_kel", "alamat"], "tps")


def test_kode_tps_alone_is_enough_for_a_tps_list():
    assert sources.match_columns(["kode_tps", "dpt"], "tps") == {"kode_tps": "kode_tps", "dpt": "dpt"}


def test_missing_columns_error_names_missing_spellings_and_found_columns():
    with pytest.raises(MissingColumnError) as err:
        sources.match_columns(["NIK", "NAMA", "RT"], "dpt", file="dpt.csv")
    text = str(err.value)
    assert text.startswith("dpt.csv: missing column(s) nkk")
    for missing in ("nkk", "tanggal_lahir", "rw", "kode_kel", "tps"):
        assert missing in text
    assert "columns found: NIK, NAMA, RT" in text


def test_identify_known_sources():
    assert sources.identify(GIGIT_HEADER, "tps") is sources.GIGIT_TPS
    generated = open_table(FIXTURES / "tps" / "tps_menteng.csv").columns
    assert sources.identify(generated, "tps") is sources.PETATPS_TPS
    dpt = open_table(FIXTURES / "dpt" / "dpt_menteng.csv").columns
    assert sources.identify(dpt, "dpt") is sources.PETATPS_DPT
    kpu = open_table(FIXTURES / "dpt" / "dpt_kpu_bom_cp1252_semicolon.csv").columns
    assert sources.identify(kpu, "dpt") is sources.GENERIC["dpt"]


def test_gigit_columns_map_as_is_and_ignore_votes():
    mapping = sources.match_columns(GIGIT_HEADER, "tps")
    assert mapping == {"kode_tps": "kode_tps", "kode_kel": "kode_kel", "no_tps": "no_tps", "dpt": "dpt",
                       "dpt_l": "dpt_l", "dpt_p": "dpt_p", "nama_kab": "nama_kota"}
    assert all(quirk for quirk in sources.GIGIT_TPS.quirks)


def test_real_gigit_header_is_recognised(real_data):
    path = real_data / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"
    assert tuple(open_table(path).columns) == tuple(GIGIT_HEADER)
