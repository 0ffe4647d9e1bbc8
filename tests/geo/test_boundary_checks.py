"""Row checks of boundary loads: geometry normalising, RW/RT labels, duplicate pieces, verdicts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from geo import boundary_checks as checks
from geo.errors import GeometryError

SQUARE = box(106.80, -6.20, 106.81, -6.19)
BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])


@pytest.mark.parametrize("label, expected", [
    ("RW 01", 1), ("RW 1", 1), ("RW13", 13), ("rw.5", 5), ("RW: 07", 7), ("007", 7), ("12", 12), ("3.0", 3),
    (" RW 010 ", 10), ("Kawasan Industri Pulogadung", None), ("", None), (None, None), ("RW 0", None),
    ("RT 01", None), ("RW 1000", None), ("RW 1A", None),
])
def test_parse_rw_labels(label, expected):
    out = checks.parse_number(pd.Series([label], dtype="string"), "RW").iloc[0]
    assert (None if pd.isna(out) else int(out)) == expected


def test_parse_numbers_from_numeric_columns():
    out = checks.parse_number(pd.Series([1.0, 12.0, np.nan]), "RT")
    assert out.dtype == "Int16" and out.tolist() == [1, 12, pd.NA]
    assert checks.parse_number(pd.Series(["RT 003"]), "RT").tolist() == [3]


def test_polygonal_parts():
    geoms = np.array([SQUARE, MultiPolygon([SQUARE]), GeometryCollection([Point(0, 0), SQUARE]),
                      LineString([(0, 0), (1, 1)]), None, Polygon(),
                      GeometryCollection([MultiPolygon([SQUARE]), LineString([(0, 0), (1, 1)])])], dtype=object)
    out = checks.polygonal_parts(geoms)
    assert [None if g is None else g.geom_type for g in out] == ["MultiPolygon"] * 3 + [None, None, None,
                                                                                         "MultiPolygon"]
    assert all(shapely.equals(g, SQUARE) for g in out[[0, 1, 2, 6]])


def test_check_geometries_reasons_and_repairs():
    geoms = gpd.GeoSeries([SQUARE, BOWTIE, Point(1, 1), None, Polygon(), GeometryCollection([SQUARE, Point(0, 0)]),
                           shapely.force_3d(SQUARE)])
    out = checks.check_geometries(geoms, "x.geojson")
    assert out.reason.tolist()[:6] == [pd.NA, pd.NA, "expected polygons, found Point", "empty geometry",
                                       "empty geometry", pd.NA]
    assert out.value.tolist()[2] == "Point"
    assert (out.repaired, out.collections, out.had_z) == (1, 1, 1)
    kept = out.geometry[[0, 1, 5, 6]]
    assert all(g.geom_type == "MultiPolygon" and g.is_valid and not g.has_z for g in kept)
    assert out.geometry[2] is None and out.geometry[3] is None


@pytest.mark.parametrize("geoms, message", [
    ([Point(0, 0), LineString([(0, 0), (1, 1)]), None], "expected polygons, found LineString, Point"),
    ([None, Polygon()], "no geometries"),
])
def test_check_geometries_fatal(geoms, message):
    with pytest.raises(GeometryError, match=message) as info:
        checks.check_geometries(gpd.GeoSeries(geoms), "x.geojson")
    assert "x.geojson" in str(info.value)


def test_area_m2_measured_in_utm():
    area = checks.area_m2(np.array([SQUARE, None], dtype=object))
    # 0.01° × 0.01° at 6.2° S: 1,105.7 m (lat) × 1,105.5 m (lon) ≈ 1.223 km²
    assert area[0] == pytest.approx(1.2226e6, rel=2e-3) and area[1] == 0.0


def test_extra_pieces_keep_the_largest_and_ties_by_position():
    keys = pd.Series(["a", "a", "b", "b", "c", "a"])
    area = np.array([1.0, 5.0, 2.0, 2.0, 1.0, 9.0])
    ok = pd.Series([True, True, True, True, True, False])
    assert checks.extra_pieces(keys, area, ok).tolist() == [True, False, False, True, False, False]


def test_merge_pieces_dissolves_and_takes_attributes_of_the_largest():
    small, big = box(0, 0, 1, 1), box(5, 5, 7, 7)
    frame = gpd.GeoDataFrame({"kode": ["k", "k", "m"], "nama": ["small", "big", "m"]},
                             geometry=[small, big, SQUARE], crs=4326)
    out = checks.merge_pieces(frame, "kode", np.array([1.0, 4.0, 1.0]))
    merged = out.set_index("kode").loc["k"]
    assert len(out) == 2 and merged["nama"] == "big"
    assert merged.geometry.geom_type == "MultiPolygon" and merged.geometry.area == pytest.approx(5.0)


def test_verdict_first_reason_wins():
    v = checks.Verdict(pd.RangeIndex(3))
    v.flag([True, False, False], "first", "a", pd.Series(["x", "y", "z"]))
    v.flag([True, True, False], pd.Series(["second"] * 3), "b", "v")
    assert v.reason.tolist() == ["first", "second", pd.NA]
    assert v.field.tolist() == ["a", "b", pd.NA] and v.value.tolist() == ["x", "v", pd.NA]
    assert v.ok.tolist() == [False, False, True]
