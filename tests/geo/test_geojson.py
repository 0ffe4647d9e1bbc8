"""geo.geojson: allow-listed properties, 6-decimal coordinates, RFC 7946 rings, byte-stable output."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import geojson
from geo.errors import CRSError, MissingColumnError
from geo.schema import conform

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "maps"


def _read(layer: str) -> gpd.GeoDataFrame:
    # from_features keeps "07:00" as text (GDAL would read it as a time)
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


@pytest.fixture(scope="module")
def tps() -> gpd.GeoDataFrame:
    return _read("tps")


@pytest.fixture(scope="module")
def kelurahan() -> gpd.GeoDataFrame:
    return _read("kelurahan")


def test_tps_collection_has_every_row_in_key_order_with_string_ids(tps):
    doc = json.loads(geojson.feature_collection(tps.sample(frac=1, random_state=1), "tps"))
    assert doc["type"] == "FeatureCollection"
    ids = [f["id"] for f in doc["features"]]
    assert ids == sorted(tps["kode_tps"]) and len(ids) == 28
    first = doc["features"][0]
    assert set(first["properties"]) == set(geojson.PROPERTIES["tps"])
    assert first["properties"]["no_tps"] == 1 and first["properties"]["jam_buka"] == "07:00"


def test_unlocated_tps_get_null_geometry(tps):
    doc = json.loads(geojson.feature_collection(tps, "tps"))
    nulls = [f["id"] for f in doc["features"] if f["geometry"] is None]
    assert nulls == ["3171011003007", "3171011004001"]


def test_missing_values_are_null_and_floats_rounded(tps):
    doc = json.loads(geojson.feature_collection(tps, "tps"))
    props = {f["id"]: f["properties"] for f in doc["features"]}
    assert props["3171011002001"]["dpt"] is None
    assert props["3171011002002"]["akses_disabilitas"] is None
    assert props["3171011002002"]["precision_m"] == 150.0


def test_output_is_byte_identical_and_keys_sorted(tps):
    a = geojson.feature_collection(tps, "tps")
    b = geojson.feature_collection(tps.iloc[::-1].copy(), "tps")
    assert a == b
    assert a.startswith(b'{"features":[{"geometry":')
    feature = json.loads(a)["features"][0]
    assert list(feature["properties"]) == sorted(feature["properties"])


def test_no_column_outside_the_allow_list_is_written(tps):
    leaky = tps.assign(nik="3171014101900001", nama_lengkap="SITI RAHAYU", kk="3171010101010001")
    data = geojson.feature_collection(leaky, "tps")
    assert b"3171014101900001" not in data and b"RAHAYU" not in data and b"nik" not in data


@pytest.mark.parametrize("lon, lat, expected", [
    (106.81234567, -6.17654321, [106.812346, -6.176543]),
    (106.8000004, -6.1999996, [106.8, -6.2]),
])
def test_coordinates_rounded_to_6_decimals(lon, lat, expected):
    frame = conform(gpd.GeoDataFrame({"kode_tps": ["3171011001001"], "kode_kel": ["3171011001"]},
                                     geometry=[shapely.Point(lon, lat)], crs=4326), "tps")
    doc = json.loads(geojson.feature_collection(frame, "tps"))
    assert doc["features"][0]["geometry"]["coordinates"] == expected


def test_polygon_exterior_rings_are_counter_clockwise(kelurahan):
    clockwise = kelurahan.assign(geometry=shapely.orient_polygons(kelurahan.geometry.values, exterior_cw=True))
    doc = json.loads(geojson.feature_collection(clockwise, "kelurahan"))
    for f in doc["features"]:
        ring = shapely.LinearRing(f["geometry"]["coordinates"][0][0])
        assert ring.is_ccw


def test_kelurahan_stats_count_all_tps_and_known_dpt(kelurahan, tps):
    stats = geojson.kelurahan_stats(kelurahan, tps).set_index("kode")
    assert stats.loc["3171011001", "tps_count"] == 12
    assert stats.loc["3171011002", "tps_count"] == 8
    assert stats.loc["3171011002", "dpt_known"] == 7
    assert stats.loc["3171011002", "dpt_total"] == sum(200 + n for n in range(2, 9))
    assert stats.loc["3171011004", "tps_count"] == 1
    assert stats.loc["3171011003", "tps_count"] == 7


def test_kelurahan_stats_are_zero_without_tps(kelurahan, tps):
    stats = geojson.kelurahan_stats(kelurahan, tps.iloc[:0])
    assert stats["tps_count"].tolist() == [0, 0, 0, 0]
    doc = json.loads(geojson.feature_collection(stats, "kelurahan", extra=geojson.STAT_COLUMNS))
    assert doc["features"][0]["properties"]["tps_count"] == 0


def test_rw_keys_are_the_ids(tmp_path):
    rw = _read("rw")
    doc = json.loads(geojson.feature_collection(rw, "rw"))
    assert [f["id"] for f in doc["features"]] == [f"3171011001-{i:03d}" for i in range(1, 5)]
    assert doc["features"][0]["properties"]["rw"] == 1


def test_wrong_crs_is_refused(tps):
    with pytest.raises(CRSError, match="EPSG:4326"):
        geojson.feature_collection(tps.to_crs(3857), "tps")


def test_missing_key_or_unknown_layer_is_refused(tps):
    with pytest.raises(MissingColumnError, match="kode_tps"):
        geojson.feature_collection(tps.drop(columns="kode_tps"), "tps")
    with pytest.raises(ValueError, match="voters"):
        geojson.feature_collection(tps, "voters")


def test_empty_frame_gives_an_empty_collection():
    empty = conform(gpd.GeoDataFrame({"kode_tps": []}, geometry=[], crs=4326), "tps")
    assert geojson.feature_collection(empty, "tps") == b'{"features":[],"type":"FeatureCollection"}'


def test_geometry_json_handles_missing_and_empty():
    out = geojson.geometry_json(np.array([None, shapely.Point(), shapely.Point(1, 2)], dtype=object))
    assert out == [b"null", b"null", b'{"type":"Point","coordinates":[1.0,2.0]}']


def test_media_type():
    assert geojson.MEDIA_TYPE == "application/geo+json"
