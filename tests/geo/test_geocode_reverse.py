"""Reverse geocoding and point quality flags (geo/geocode_reverse.py)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.geocode_reverse import join_flags, quality_flags, reverse_geocode

KEL = gpd.GeoDataFrame({"kode": ["3171011001", "3171011002"]},
                       geometry=[shapely.box(106.80, -6.20, 106.81, -6.19),
                                 shapely.box(106.8095, -6.20, 106.82, -6.19)],
                       crs=4326)      # the two overlap on a 55 m sliver, as simplified boundaries do
RW = gpd.GeoDataFrame({"kode_kel": ["3171011001", "3171011001", "3171011002"], "rw": pd.array([1, 2, 1], "Int16")},
                      geometry=[shapely.box(106.80, -6.20, 106.805, -6.19), shapely.box(106.805, -6.20, 106.81, -6.19),
                                shapely.box(106.81, -6.20, 106.82, -6.19)], crs=4326)
RT = gpd.GeoDataFrame({"kode_kel": ["3171011001"], "rw": pd.array([1], "Int16"), "rt": pd.array([3], "Int16")},
                      geometry=[shapely.box(106.80, -6.20, 106.805, -6.195)], crs=4326)


def test_containing_polygons_and_mismatches():
    pts = gpd.GeoSeries([shapely.Point(106.801, -6.198), shapely.Point(106.807, -6.191), shapely.Point(106.815, -6.195),
                         shapely.Point(106.70, -6.10), None], crs=4326)
    declared = pd.DataFrame({"kode_kel": ["3171011001", "3171011001", "3171011001", "3171011001", "3171011001"],
                             "rw": pd.array([1, 1, None, None, 1], "Int16"),
                             "rt": pd.array([3, None, None, None, None], "Int16")})
    out = reverse_geocode(pts, KEL, RW, RT, declared)
    assert out["kel_found"].tolist() == ["3171011001", "3171011001", "3171011002", pd.NA, pd.NA]
    assert out["rw_found"].tolist() == ["3171011001-001", "3171011001-002", "3171011002-001", pd.NA, pd.NA]
    assert out["rt_found"].tolist() == ["3171011001-001-003", pd.NA, pd.NA, pd.NA, pd.NA]
    assert out["flags"].tolist() == [pd.NA, "rw_mismatch", "kelurahan_mismatch", "outside_dki", pd.NA]


def test_overlap_prefers_the_declared_polygon():
    on_sliver = gpd.GeoSeries([shapely.Point(106.8097, -6.195)] * 2, crs=4326)
    declared = pd.DataFrame({"kode_kel": ["3171011002", "3171011001"]})
    out = reverse_geocode(on_sliver, KEL, declared=declared)
    assert out["kel_found"].tolist() == ["3171011002", "3171011001"]
    assert out["flags"].isna().all()
    undeclared = reverse_geocode(on_sliver, KEL)
    assert undeclared["kel_found"].tolist() == ["3171011001", "3171011001"]     # smallest code


def test_quality_flags():
    base = shapely.Point(106.80, -6.20)
    pts = gpd.GeoSeries([base] * 5 + [shapely.Point(106.80002, -6.20), shapely.Point(106.81, -6.19), None],
                        crs=4326)
    kel = pd.Series(["A"] * 5 + ["B", "A", "A"])
    dpt = pd.Series([100, 301, None, 300, 250, 10, 500, 20], dtype="Int32")
    out = quality_flags(pts, kel, dpt, max_per_tps=300, same_spot_m=5.0, stack_limit=5)
    assert out["stacked"].tolist() == [True] * 6 + [False, False]       # 6 within 5 m (2.2 m apart)
    assert out["same_spot_other_kelurahan"].tolist() == [True] * 6 + [False, False]
    assert out["over_capacity"].tolist() == [False, True, False, False, False, False, True, False]


def test_join_flags():
    flags = pd.DataFrame({"a": [True, False, True], "b": [True, False, False]})
    assert join_flags(flags).tolist() == ["a;b", pd.NA, "a"]
    assert join_flags(pd.DataFrame(index=[0, 1])).isna().all()
