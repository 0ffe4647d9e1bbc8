"""Point queries: kelurahan at a point, nearest placed TPS (within a kelurahan or anywhere), ties."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InputError
from geo.nearby import PointIndex, check_lonlat
from geo.nearest import nearest_indices, tps_points
from geo.schema import conform
from tests.web import city


@pytest.fixture(scope="module")
def index():
    f = city.frames()
    return PointIndex(f["tps"], f["kelurahan"])


def test_kelurahan_at(index):
    assert index.kelurahan_at(106.805, -6.245) == "3171011001"
    assert index.kelurahan_at(106.825, -6.245) == "3171021001"
    assert index.kelurahan_at(106.81, -6.245) == "3171011001"          # shared border: smaller code
    assert index.kelurahan_at(106.70, -6.245) is None


def test_nearest_within_kelurahan(index):
    # a point of 3171011001 whose closest TPS overall is TPS 001 of 3171011002, across the border
    near = index.nearest(106.8099, -6.2468, kode_kel="3171011001")
    assert near.kode_tps == "3171011001002" and near.kode_kel == "3171011001"
    anywhere = index.nearest(106.8099, -6.2468)
    assert anywhere.kode_tps == "3171011002001"
    assert index.nearest(106.8, -6.2, kode_kel="3171099999") is None


def test_distance_matches_metric_crs(index):
    near = index.nearest(106.8025, -6.2470)
    assert near.kode_tps == "3171011001001" and near.distance_m == 0.0
    near = index.nearest(106.8025, -6.2480)                 # 0.001° south: about 110.6 m
    assert 110 < near.distance_m < 111.5


def test_ties_go_to_smaller_code():
    pts = [shapely.Point(106.80, -6.25), shapely.Point(106.802, -6.25)]
    tps = conform(gpd.GeoDataFrame({"kode_tps": ["3171011001002", "3171011001001"], "kode_kel": ["3171011001"] * 2},
                                   geometry=pts, crs=4326), "tps")
    kel = city.frames()["kelurahan"]
    index = PointIndex(tps, kel)
    mid = index.nearest(106.801, -6.25)
    assert mid.kode_tps == "3171011001001"
    assert index.nearest(106.801, -6.25, kode_kel="3171011001").kode_tps == "3171011001001"


def test_agrees_with_batch_nearest():
    rng = np.random.default_rng(1)
    f = city.frames()
    index = PointIndex(f["tps"], f["kelurahan"])
    lon = rng.uniform(106.80, 106.83, 200)
    lat = rng.uniform(-6.25, -6.24, 200)
    pts = tps_points(f["tps"])
    xy = np.column_stack([index.metric(a, b) for a, b in zip(lon, lat)])
    idx, dist = nearest_indices(xy.T, None, pts.xy, None)
    got = [index.nearest(a, b) for a, b in zip(lon, lat)]
    assert [g.kode_tps for g in got] == [pts.codes[i].as_py() for i in idx]
    assert np.allclose([g.distance_m for g in got], dist, atol=0.06)


@pytest.mark.parametrize("lon, lat", [(float("nan"), -6.2), (106.8, float("inf")), (-6.2, 106.8), (0, 0)])
def test_bad_points(lon, lat):
    with pytest.raises(InputError):
        check_lonlat(lon, lat)


def test_empty_tps():
    f = city.frames()
    index = PointIndex(f["tps"].iloc[0:0], f["kelurahan"])
    assert len(index) == 0 and index.nearest(106.8, -6.25) is None
