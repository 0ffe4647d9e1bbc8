"""Kelurahan name normalising and fuzzy matching (geo/names.py)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from geo.names import match_kelurahan, normalize_name

KEL = pd.DataFrame({
    "kode": ["3172011001", "3172011002", "3172031001", "3172031002", "3174051001", "3174051002", "3175031001"],
    "nama": ["Papanggo", "Tanjung Priok", "Semper Barat", "Semper Timur", "Kebon Baru", "Kebon Baru Utara",
             "Palmeriam"],
})


def test_normalize_prefixes_case_punctuation_spaces():
    s = pd.Series(["Kel. Tanjung  Priuk", "KELURAHAN PAPANGO", "kelurahan kebon-baru", "Desa Sukapura",
                   " Ds. Kalibaru ", "tg. priok", "KB. Jeruk", "Cipete Ut.", "Pegangsaan II", None, "  ", "Kel."])
    assert normalize_name(s).tolist() == [
        "TANJUNG PRIUK", "PAPANGO", "KEBON BARU", "SUKAPURA", "KALIBARU", "TANJUNG PRIOK", "KEBON JERUK",
        "CIPETE UTARA", "PEGANGSAAN DUA", pd.NA, pd.NA, pd.NA]


def test_normalize_keeps_index_and_known_renames():
    s = pd.Series(["Kampung Tengah", "BARU"], index=[7, 3])
    out = normalize_name(s)
    assert list(out.index) == [7, 3]
    assert out.tolist() == ["TENGAH", "BARU"]   # a renamed kelurahan; "Baru" is a real name, not a prefix


@pytest.mark.parametrize("old, kode", [
    ("PAPANGO", "3172011001"), ("TANJUNG PRIUK", "3172011002"), ("Kel. Tanjung Priok", "3172011002"),
    ("PAL MERIEM", "3175031001"), ("semper barat", "3172031001"), ("SEMPER BRT", "3172031001"),
])
def test_old_spellings(old, kode):
    out = match_kelurahan(pd.Series([old]), KEL)
    assert out.loc[0, "kode"] == kode
    assert out.loc[0, "score"] >= 85


def test_compass_word_decides_between_neighbours():
    out = match_kelurahan(pd.Series(["SEMPER TIMOR", "KEBON BARU UTRA", "KEBON BARUU"]), KEL)
    assert out["kode"].tolist() == ["3172031002", "3174051002", "3174051001"]


def test_below_cutoff_and_ties_give_na():
    out = match_kelurahan(pd.Series(["MONAS", "SEMPER", None]), KEL)
    assert out["kode"].isna().all()
    assert out.loc[0, "score"] < 85
    assert out.loc[2, "score"] == 0.0


def test_within_kode_restricts_candidates():
    names = pd.Series(["PAPANGO", "PAPANGO", "TANJUNG PRIOK"], index=["a", "b", "c"])
    scalar = match_kelurahan(names, KEL, within_kode="3174")
    assert scalar["kode"].isna().all()
    per_row = match_kelurahan(names, KEL, within_kode=pd.Series(["317201", "317405", ""], index=["a", "b", "c"]))
    assert per_row["kode"].tolist() == ["3172011001", pd.NA, "3172011002"]
    assert list(per_row.columns) == ["kode", "nama", "score"]


def test_empty_input():
    out = match_kelurahan(pd.Series([], dtype="string"), KEL)
    assert out.empty and list(out.columns) == ["kode", "nama", "score"]


@pytest.fixture(scope="module")
def kelurahan_2025(real_data):
    kel = gpd.read_file(real_data / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson")
    return kel.rename(columns={"kode_kemendagri": "kode"})


@pytest.mark.real_data
def test_real_rw_2012_names(real_data, kelurahan_2025):
    """KEL_NAME of the 2012 OSM RW layer against the 2025 kelurahan.

    ``kode_kel_2025`` is the kelurahan of largest overlap; where it names a different kelurahan
    (``name_match`` false and not a spelling variant) the RW lies across a boundary that moved,
    and the name must still go to the kelurahan of that name.
    """
    rw = gpd.read_file(real_data / "inasafe-inasafe_data" / "dki_rw_2012.geojson",
                       columns=["KEL_NAME", "kode_kel_2025"])
    names = rw.drop_duplicates(["KEL_NAME", "kode_kel_2025"]).reset_index(drop=True)
    out = match_kelurahan(names["KEL_NAME"], kelurahan_2025)
    spelled = {"PAPANGO": "Papanggo", "TANJUNG PRIUK": "Tanjung Priok", "KREDANG": "Krendang",
               "PAL MERIEM": "Palmeriam", "HARAPAN MULYA": "Harapan Mulia", "WIJAYA KESUMA": "Wijaya Kusuma",
               "TANAH SERAL": "Tanah Sereal", "SUKA PURA": "Sukapura", "KALI BARU": "Kalibaru",
               "KAMPUNG TENGAH": "Tengah"}
    for old, new in spelled.items():
        assert set(out.loc[names["KEL_NAME"] == old, "nama"]) == {new}, old
    same = out["kode"] == names["kode_kel_2025"]
    tight = lambda s: normalize_name(s).str.replace(" ", "")  # noqa: E731
    same_name = tight(out["nama"]) == tight(names["KEL_NAME"])
    assert (same | same_name).sum() == len(names) - 1            # all but "TMII" (Taman Mini, not a kelurahan)
    assert out.loc[names["KEL_NAME"] == "TMII", "kode"].isna().all()
    assert same.sum() >= 260


@pytest.mark.real_data
def test_real_kelurahan_2012_layer_matches_by_area(real_data, kelurahan_2025):
    """Every 2012 kelurahan name (``KELURAHAN X`` upper case) matches the 2025 kelurahan it overlaps most."""
    old = gpd.read_file(real_data / "inasafe-inasafe_data" / "dki_kelurahan_2012.geojson")
    out = match_kelurahan(old["KEL_NAME_1"], kelurahan_2025)
    assert out["kode"].notna().all()
    pieces = gpd.overlay(old[["ID", "geometry"]].assign(matched=out["kode"]).to_crs(32748),
                         kelurahan_2025[["kode", "geometry"]].to_crs(32748), keep_geom_type=True)
    pieces["area"] = pieces.area
    largest = pieces.sort_values("area").drop_duplicates("ID", keep="last")
    assert (largest["matched"] == largest["kode"]).all()
    assert len(largest) == len(old) == 261
