"""read_boundaries on small generated fixtures (tests/fixtures/boundaries) and on the real Jakarta files."""

from __future__ import annotations

import csv

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo.boundaries import read_boundaries
from geo.errors import CRSError, EmptyInputError, GeometryError, InputError, MissingColumnError
from geo.schema import LAYERS, conform

from tests.conftest import FIXTURES

FX = FIXTURES / "boundaries"
KEL = "cahyadsn-wilayah_boundaries/dki_kelurahan.geojson"
KEC = "cahyadsn-wilayah_boundaries/dki_kecamatan_dissolved_from_kelurahan.geojson"
KOTA = "cahyadsn-wilayah_boundaries/dki_kabkota_dissolved_from_kelurahan.geojson"
RW = "inasafe-inasafe_data/dki_rw_2012.geojson"
RW_DUPLICATE = "duplicate RW number within kelurahan (kept the largest piece)"


def _assert_conforms(frame: gpd.GeoDataFrame, level: str) -> None:
    assert list(frame.columns) == LAYERS[level].all_columns
    assert frame.crs.to_epsg() == 4326
    assert (frame.geom_type == "MultiPolygon").all() and frame.is_valid.all()
    assert frame["kode"].is_unique and frame["kode"].is_monotonic_increasing
    assert_geodataframe_equal(frame, conform(frame, level))


# --- small fixtures --------------------------------------------------------------------------

def test_native_kelurahan_one_broken_row_of_each_kind(tmp_path):
    rejected = tmp_path / "kel.rejected.csv"
    frame, report = read_boundaries(FX / "kelurahan_native.geojson", "kelurahan", rejected_path=rejected)
    _assert_conforms(frame, "kelurahan")
    assert frame["kode"].tolist() == ["3171011001", "3171011002", "3171011003", "3171011005",
                                      "3171061001", "3171061002"]
    assert frame["kode_kec"].tolist() == ["317101"] * 4 + ["317106"] * 2
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (13, 6, 7) and report.balanced
    assert dict(report.reasons) == {
        "missing code": 1,
        "not a Kemendagri kelurahan code (expected 10 digits, dotted or plain)": 1,
        "not a 10-digit kelurahan code": 1,
        "code disagrees with its kode_kec": 1,
        "duplicate kelurahan code (kept the largest piece)": 1,
        "empty geometry": 1,
        "expected polygons, found Point": 1,
    }
    assert [(p.line, p.field, p.value) for p in report.rejections] == [
        (7, "kode", ""), (8, "kode", "3171X61003"), (9, "kode", "317106"), (10, "kode_kec", "317101"),
        (11, "kode", "3171011001"), (12, "geometry", None), (13, "geometry", "Point")]
    assert "repaired 1 geometries with make_valid" in report.notes
    assert [(w.line, w.reason) for w in report.warnings] == [(6, "missing nama")]
    with rejected.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["line"]) for r in rows] == [7, 8, 9, 10, 11, 12, 13]
    assert rows[0]["wkt"].startswith("POLYGON ((") and rows[5]["wkt"] == "" and rows[6]["wkt"].startswith("POINT")
    assert report.rejected_file == str(rejected)


def test_kept_duplicate_is_the_largest_piece():
    frame, _ = read_boundaries(FX / "kelurahan_native.geojson", "kelurahan")
    gambir = frame.set_index("kode").geometry["3171011001"]
    assert shapely.equals(gambir, shapely.box(106.80, -6.20, 106.81, -6.19))


def test_bowtie_repaired_to_two_triangles():
    frame, _ = read_boundaries(FX / "kelurahan_native.geojson", "kelurahan")
    petojo = frame.set_index("kode").geometry["3171011003"]
    assert len(petojo.geoms) == 2 and petojo.is_valid
    assert petojo.area == pytest.approx(0.01 * 0.01 / 2)


def test_dotted_codes_normalised():
    frame, report = read_boundaries(FX / "kelurahan_dotted.geojson", "kelurahan")
    assert frame["kode"].tolist() == ["3171011001", "3171011002", "3171061001", "3171061002"]
    assert report.rows_rejected == 0
    assert any("kode<-kode_dotted" in n for n in report.notes)


def test_utm_fixture_reprojected_to_the_same_shapes():
    utm, report = read_boundaries(FX / "kelurahan_utm.geojson", "kelurahan")
    degrees, _ = read_boundaries(FX / "kelurahan_dotted.geojson", "kelurahan")
    assert "reprojected from EPSG:32748 to EPSG:4326" in report.notes
    assert utm.crs.to_epsg() == 4326
    # Round trip 4326 -> 32748 -> 4326 moves vertices by far less than a centimetre (1e-7 degrees).
    assert shapely.equals_exact(utm.geometry.array, degrees.geometry.array, tolerance=1e-7).all()
    assert report.figures["area_km2"] == pytest.approx(4.897, abs=0.001)


def test_shapefile_zip_with_dbf_spellings():
    frame, report = read_boundaries(FX / "kelurahan_shp_utm.zip", "kelurahan")
    _assert_conforms(frame, "kelurahan")
    assert len(frame) == 4 and frame["nama"].iloc[0] == "Gambir"
    assert any("kode<-KD_KEL" in n and "nama<-NAMA" in n for n in report.notes)


def test_rw_labels_duplicates_and_unknown_parent(tmp_path):
    frame, report = read_boundaries(FX / "rw_labels.geojson", "rw", parents={"3171011001", "3171011002"},
                                    rejected_path=tmp_path / "rw.csv")
    _assert_conforms(frame, "rw")
    assert frame["kode"].tolist() == ["3171011001-001", "3171011001-002", "3171011001-013", "3171011002-001"]
    assert frame["nama"].tolist() == ["RW 001", "RW 002", "RW 013", "RW 001"]
    assert frame["rw"].tolist() == [1, 2, 13, 1]
    assert dict(report.reasons) == {"no RW number": 2, RW_DUPLICATE: 1, "unknown kelurahan (not in the store)": 1}
    assert [p.line for p in report.rejections] == [3, 5, 6, 8]
    big = frame.set_index("kode").geometry["3171011001-002"]
    assert big.area == pytest.approx((0.01 * 0.5) ** 2)


def test_rw_merge_pieces_dissolves_and_keeps_accounting():
    frame, report = read_boundaries(FX / "rw_labels.geojson", "rw", merge_pieces=True)
    _assert_conforms(frame, "rw")
    assert report.balanced and (report.rows_loaded, report.rows_rejected) == (6, 2)
    assert report.figures["features"] == len(frame) == 5
    assert "merged 2 pieces into 1 features (merge_pieces)" in report.notes
    rw2 = frame.set_index("kode").geometry["3171011001-002"]
    assert len(rw2.geoms) == 2 and rw2.area == pytest.approx((0.005 ** 2) + (0.002 ** 2))


def test_rt_keys_checked_against_parts():
    frame, report = read_boundaries(FX / "rt_native.geojson", "rt", parents={"3171011001-001"})
    _assert_conforms(frame, "rt")
    assert frame["kode"].tolist() == ["3171011001-001-001", "3171011001-001-002"]
    assert frame["nama"].tolist() == ["RT 001", "RT 002"]
    assert dict(report.reasons) == {
        "unknown RW (not in the store)": 2,
        "kode disagrees with its kode_kel/rw/rt": 1,
        "no RT number": 1,
    }
    _, report = read_boundaries(FX / "rt_native.geojson", "rt")
    assert report.reasons["duplicate RT number within RW (kept the largest piece)"] == 1


def test_deterministic_frame_and_rejected_file(tmp_path):
    a, _ = read_boundaries(FX / "kelurahan_native.geojson", "kelurahan", rejected_path=tmp_path / "a.csv")
    b, _ = read_boundaries(FX / "kelurahan_native.geojson", "kelurahan", rejected_path=tmp_path / "b.csv")
    assert_geodataframe_equal(a, b)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    # A rerun replaces the rejected file instead of appending to it.
    read_boundaries(FX / "kelurahan_native.geojson", "kelurahan", rejected_path=tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_no_rejected_file_when_nothing_is_rejected(tmp_path):
    _, report = read_boundaries(FX / "kelurahan_dotted.geojson", "kelurahan", rejected_path=tmp_path / "r.csv")
    assert not (tmp_path / "r.csv").exists() and report.rejected_file is None


def test_kelurahan_file_read_as_rw_rejects_every_row():
    frame, report = read_boundaries(FX / "kelurahan_native.geojson", "rw")
    assert frame.empty and report.balanced and report.rows_loaded == 0
    assert report.reasons["malformed RW key (expected <kode_kel>-<rw:03d>)"] == 11


# --- fatal inputs ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, level, error, message", [
    ("missing.geojson", "kelurahan", InputError, "file not found"),
    ("truncated.geojson", "kelurahan", InputError, "not a readable geodata file"),
    ("garbage.geojson", "kelurahan", InputError, "not a GeoJSON file"),
    ("empty.geojson", "kelurahan", EmptyInputError, "empty file"),
    ("no_features.geojson", "kelurahan", EmptyInputError, "no features"),
    ("no_code.geojson", "kelurahan", MissingColumnError, "found fields: id_area, name"),
    ("no_code.geojson", "rw", MissingColumnError, "no kelurahan code field for level rw"),
    ("no_code.geojson", "rt", MissingColumnError, "no kelurahan code field for level rt"),
    ("points.geojson", "kelurahan", GeometryError, "expected polygons, found Point"),
    ("utm_as_degrees.geojson", "kelurahan", CRSError, "not degrees"),
    ("traversal.zip", "kelurahan", InputError, "unsafe file name"),
    ("kelurahan_native.geojson", "desa", InputError, "unknown level 'desa'"),
])
def test_fatal_inputs_name_the_file(name, level, error, message):
    with pytest.raises(error, match=message) as info:
        read_boundaries(FX / name, level)
    text = str(info.value)
    assert name in text and "\n" not in text


# --- real data -----------------------------------------------------------------------------------

def test_real_kelurahan(real_data, tmp_path):
    frame, report = read_boundaries(real_data / KEL, "kelurahan", rejected_path=tmp_path / "r.csv")
    _assert_conforms(frame, "kelurahan")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (267, 267, 0)
    assert report.figures["features_per_kota"] == {"3101": 6, "3171": 44, "3172": 31, "3173": 56,
                                                   "3174": 65, "3175": 65}
    assert report.figures["area_km2"] == pytest.approx(661, abs=1)
    assert frame.set_index("kode").loc["3171011001", "nama"] == "Gambir"


@pytest.mark.parametrize("name, level, count", [(KEC, "kecamatan", 44), (KOTA, "kota", 6)])
def test_real_dissolved_levels(real_data, name, level, count):
    frame, report = read_boundaries(real_data / name, level)
    _assert_conforms(frame, level)
    assert len(frame) == report.rows_loaded == count and report.rows_rejected == 0
    parent = "kode_kab" if level == "kecamatan" else "kode_prov"
    assert (frame[parent] == frame["kode"].str[: len(frame[parent].iloc[0])]).all()


def test_real_rw_unlabelled_and_duplicates(real_data, tmp_path):
    rejected = tmp_path / "rw.rejected.csv"
    kelurahan, _ = read_boundaries(real_data / KEL, "kelurahan")
    frame, report = read_boundaries(real_data / RW, "rw", rejected_path=rejected, parents=set(kelurahan["kode"]))
    _assert_conforms(frame, "rw")
    assert report.rows_read == 2685 == report.rows_loaded + report.rows_rejected
    assert dict(report.reasons) == {"no RW number": 36, RW_DUPLICATE: 59}   # 35 unlabelled + Pulogadung
    assert "kept the polygons of 1 GeometryCollections" in report.notes
    assert len(frame) == 2590 and frame["kode_kel"].str.startswith("31").all()
    lines = pd.read_csv(rejected, dtype=str)
    assert len(lines) == 95 and set(lines["reason"]) == {"no RW number", RW_DUPLICATE}
    assert "Kawasan Industri Pulogadung" in set(lines["value"].dropna())


def test_real_rw_merge_pieces(real_data):
    frame, report = read_boundaries(real_data / RW, "rw", merge_pieces=True)
    assert dict(report.reasons) == {"no RW number": 36}
    assert report.rows_loaded == 2649 and report.figures["merged_pieces"] == 59
    assert len(frame) == 2590 and frame["kode"].is_unique and frame.is_valid.all()
    assert "merged 113 pieces into 54 features (merge_pieces)" in report.notes


def test_rw_file_without_rw_number_field_is_fatal(tmp_path):
    path = tmp_path / "rw.geojson"
    gpd.GeoDataFrame({"kode_kel": ["3171011001"]}, geometry=[shapely.box(106.8, -6.2, 106.81, -6.19)],
                     crs=4326).to_file(path)
    with pytest.raises(MissingColumnError, match=r"no RW number field.*found fields: kode_kel"):
        read_boundaries(path, "rw")
