import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from pyproj import Transformer

from geo.errors import CRSError, InputError, MissingColumnError
from geo.nearest import TIE_TOLERANCE_M, index_in, nearest_indices, nearest_tps, take_strings, tps_points

X0, Y0 = 700_000.0, 9_315_000.0
TO_LL = Transformer.from_crs(32748, 4326, always_xy=True)


def tps_frame(rows, crs=4326):
    """rows: (kode_tps, kode_kel, (dx, dy) metres from X0/Y0 or None)."""
    pts = [None if p is None else shapely.Point(X0 + p[0], Y0 + p[1]) for _, _, p in rows]
    gdf = gpd.GeoDataFrame({"kode_tps": [r[0] for r in rows], "kode_kel": [r[1] for r in rows]},
                           geometry=gpd.GeoSeries(pts, crs=32748))
    return gdf.to_crs(crs).astype({"kode_tps": "string", "kode_kel": "string"})


def locs_frame(rows):
    """rows: (loc_key, kode_kel, (dx, dy))."""
    return pd.DataFrame({"loc_key": [r[0] for r in rows], "kode_kel": pd.array([r[1] for r in rows], dtype="string"),
                         "x": [X0 + r[2][0] for r in rows], "y": [Y0 + r[2][1] for r in rows]})


def test_within_kelurahan_ignores_a_closer_tps_across_the_border():
    tps = tps_frame([("3171061001001", "3171061001", (0, 300)), ("3171061002001", "3171061002", (10, 0))])
    locs = locs_frame([("a", "3171061001", (0, 0))])
    own = nearest_tps(locs, tps)
    any_ = nearest_tps(locs, tps, within_kelurahan=False)
    assert own.loc[0, "tps_nearest"] == "3171061001001"
    assert own.loc[0, "dist_nearest_m"] == pytest.approx(300, abs=0.01)
    assert any_.loc[0, "tps_nearest"] == "3171061002001"
    assert any_.loc[0, "dist_nearest_m"] == pytest.approx(10, abs=0.01)


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_tie_is_broken_by_smaller_code_whatever_the_input_order(order):
    rows = [("3171061001007", "3171061001", (-100, 0)), ("3171061001002", "3171061001", (100, 0))]
    tps = tps_frame([rows[i] for i in order])
    got = nearest_tps(locs_frame([("a", "3171061001", (0, 0))]), tps)
    assert got.loc[0, "tps_nearest"] == "3171061001002"


def test_many_equidistant_tps_beyond_the_first_k_still_pick_the_smallest_code():
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]          # 8 TPS on a 200 m circle, codes in reverse angle order
    rows = [(f"3171061001{9 - i:03d}", "3171061001", (200 * np.cos(a), 200 * np.sin(a))) for i, a in enumerate(angles)]
    rows.append(("3171061001050", "3171061001", (0, 900)))
    got = nearest_tps(locs_frame([("a", "3171061001", (0, 0))]), tps_frame(rows))
    assert got.loc[0, "tps_nearest"] == "3171061001002"
    assert got.loc[0, "dist_nearest_m"] == pytest.approx(200, abs=0.01)


def test_distances_just_beyond_the_tolerance_are_not_ties():
    xy = np.array([[0.0, 0.0]])
    targets = np.array([[100.0 + 3 * TIE_TOLERANCE_M, 0.0], [100.0, 0.0]])   # index 0 has the smaller code
    idx, dist = nearest_indices(xy, None, targets, None)
    assert idx[0] == 1 and dist[0] == pytest.approx(100.0)


def test_kelurahan_without_placed_tps_gets_na_and_unplaced_tps_are_ignored():
    tps = tps_frame([("3171061001001", "3171061001", (0, 50)), ("3171061002001", "3171061002", None)])
    got = nearest_tps(locs_frame([("a", "3171061002", (0, 0)), ("b", "3171061001", (0, 0))]), tps)
    assert got["tps_nearest"].isna().tolist() == [True, False]
    assert np.isnan(got.loc[0, "dist_nearest_m"]) and got.loc[1, "dist_nearest_m"] == pytest.approx(50, abs=0.01)
    assert tps_points(tps).unplaced == 1


def test_location_without_coordinates_gets_na():
    locs = locs_frame([("a", "3171061001", (0, 0))])
    locs.loc[0, ["x", "y"]] = np.nan
    got = nearest_tps(locs, tps_frame([("3171061001001", "3171061001", (0, 50))]))
    assert got["tps_nearest"].isna().all() and got["dist_nearest_m"].isna().all()


@pytest.mark.parametrize("crs", [4326, 32748])
def test_tps_in_any_declared_crs_give_the_same_answer(crs):
    rows = [("3171061001001", "3171061001", (30, 40)), ("3171061001002", "3171061001", (300, 400))]
    got = nearest_tps(locs_frame([("a", "3171061001", (0, 0))]), tps_frame(rows, crs=crs))
    assert got.loc[0, "dist_nearest_m"] == pytest.approx(50, abs=0.01)


def test_tps_without_crs_is_refused():
    tps = tps_frame([("3171061001001", "3171061001", (0, 0))]).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="CRS"):
        nearest_tps(locs_frame([("a", "3171061001", (0, 0))]), tps)


def test_duplicate_placed_tps_code_is_refused():
    tps = tps_frame([("3171061001001", "3171061001", (0, 0)), ("3171061001001", "3171061001", (5, 0))])
    with pytest.raises(InputError, match="3171061001001"):
        tps_points(tps)


def test_missing_column_is_named():
    with pytest.raises(MissingColumnError, match="kode_kel"):
        nearest_tps(pd.DataFrame({"loc_key": ["a"], "x": [0.0], "y": [0.0]}),
                    tps_frame([("3171061001001", "3171061001", (0, 0))]))


def test_empty_inputs():
    empty_locs = locs_frame([])
    got = nearest_tps(empty_locs, tps_frame([("3171061001001", "3171061001", (0, 0))]))
    assert len(got) == 0 and list(got.columns) == ["loc_key", "tps_nearest", "dist_nearest_m"]
    no_tps = tps_frame([("3171061001001", "3171061001", None)])
    got = nearest_tps(locs_frame([("a", "3171061001", (0, 0))]), no_tps)
    assert got["tps_nearest"].isna().all()


def test_brute_force_agreement_on_random_points_with_shared_positions():
    rng = np.random.default_rng(7)
    n_tps, n_pts = 120, 2000
    tp = rng.integers(0, 40, (n_tps, 2)) * 50.0      # on a 50 m grid: many exact ties
    kel = rng.integers(0, 3, n_tps)
    codes = [f"317106100{k + 1}{i:03d}" for i, k in enumerate(kel)]
    rows = [(c, f"317106100{k + 1}", tuple(p)) for c, k, p in zip(codes, kel, tp)]
    pts = rng.integers(0, 80, (n_pts, 2)) * 25.0
    pk = rng.integers(0, 3, n_pts)
    locs = locs_frame([(str(i), f"317106100{k + 1}", tuple(p)) for i, (k, p) in enumerate(zip(pk, pts))])
    got = nearest_tps(locs, tps_frame(rows, crs=32748))
    d = np.hypot(*(pts[:, None, :] - tp[None, :, :]).transpose(2, 0, 1))
    d = np.where(pk[:, None] == kel[None, :], d, np.inf)
    best = d.min(axis=1)
    code_arr = np.array(codes)
    expect = [min(code_arr[row <= b + TIE_TOLERANCE_M]) for row, b in zip(d, best)]
    assert got["tps_nearest"].tolist() == expect
    np.testing.assert_allclose(got["dist_nearest_m"], best, atol=0.01)


def test_index_in_and_take_strings_round_trip():
    table = pa.array(["b", "a", "c"], type=pa.large_string())
    idx = index_in(pd.Series(["a", None, "z", "c"], dtype="string"), table)
    assert idx.tolist() == [1, -1, -1, 2]
    back = take_strings(table, idx)
    assert back.dtype == "string" and back.tolist()[0] == "a" and back.isna().tolist() == [False, True, True, False]
    assert index_in(pd.Series(["a", "b"]).astype("category"), table).tolist() == [1, 0]
