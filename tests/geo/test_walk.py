import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.nearest import tps_points
from geo.network import build_graph
from geo.walk import WalkTable

X0, Y0 = 700_000.0, 9_315_000.0


@pytest.fixture(scope="module")
def grid():
    """A 100 m street grid over 1 km × 1 km."""
    lines = [shapely.LineString([(X0 + i, Y0), (X0 + i, Y0 + 1000)]) for i in range(0, 1001, 100)]
    lines += [shapely.LineString([(X0, Y0 + i), (X0 + 1000, Y0 + i)]) for i in range(0, 1001, 100)]
    return build_graph(gpd.GeoDataFrame(geometry=lines, crs=32748))


def frames(locs, tps):
    lf = pd.DataFrame({"kode_kel": pd.array([k for k, _, _ in locs], dtype="string"),
                       "x": [X0 + x for _, x, _ in locs], "y": [Y0 + y for _, _, y in locs]})
    tf = gpd.GeoDataFrame({"kode_tps": [c for c, _, _ in tps], "kode_kel": [c[:10] for c, _, _ in tps]},
                          geometry=[shapely.Point(X0 + x, Y0 + y) for _, x, y in tps], crs=32748)
    return lf, tps_points(tf.astype({"kode_tps": "string", "kode_kel": "string"}))


def test_walks_follow_the_grid_and_stay_in_the_kelurahan(grid):
    lf, pts = frames([("3171061001", 0, 0), ("3171061002", 300, 300)],
                     [("3171061001001", 300, 400), ("3171061001002", 1000, 0), ("3171061002001", 0, 0)])
    table = WalkTable(lf, pts, grid, limit_m=5000)
    assert table.nearest[:2].tolist() == [0, 2]                       # 700 m (grid) beats 1000 m; own kelurahan
    assert table.nearest_m[:2] == pytest.approx([700.0, 600.0], abs=0.01)
    walk = table.dpt_walk(np.array([0, 0, 1, -1]), np.array([1, 2, 0, 0]))
    assert walk[0] == pytest.approx(1000.0, abs=0.01)
    assert np.isnan(walk[1:]).all()                                   # other kelurahan; no location


def test_limit_and_a_kelurahan_without_tps(grid):
    lf, pts = frames([("3171061001", 0, 0), ("3171061003", 500, 500)], [("3171061001001", 1000, 1000)])
    table = WalkTable(lf, pts, grid, limit_m=1500)
    assert table.nearest[:2].tolist() == [-1, -1] and np.isnan(table.nearest_m[:2]).all()
    assert WalkTable(lf, pts, grid, limit_m=2500).nearest_m[0] == pytest.approx(2000.0, abs=0.01)
