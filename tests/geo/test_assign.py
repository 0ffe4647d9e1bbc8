from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from geo import schema
from geo.assign import OUTPUT_COLUMNS, assign_voters, far_from_dpt, voter_locations
from geo.nearest import TIE_TOLERANCE_M

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "assign"
TO_LL = Transformer.from_crs(32748, 4326, always_xy=True)


def load_fixture_city():
    """The small city of tests/fixtures/assign as stored layers (conforming to geo.schema)."""
    layers = {name: schema.conform(gpd.read_file(FIX / f"{name}.geojson"), name) for name in ("kelurahan", "rw", "rt")}
    layers["tps"] = schema.conform(gpd.read_file(FIX / "tps.geojson"), "tps")
    layers["voters"] = schema.conform(pd.read_csv(FIX / "voters.csv", dtype=str), "voters")
    return layers


@pytest.fixture(scope="module")
def city():
    return load_fixture_city()


@pytest.fixture(scope="module")
def locs(city):
    return voter_locations(city["voters"], rt=city["rt"], rw=city["rw"], kelurahan=city["kelurahan"])


# --- voters ---------------------------------------------------------------------------------

def test_output_has_exactly_the_columns_in_voter_order_and_nothing_personal(city, locs):
    out, report = assign_voters(city["voters"], locs, city["tps"])
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out["voter_key"].tolist() == city["voters"]["voter_key"].tolist()
    assert report.rows_read == report.rows_loaded == len(city["voters"]) and report.balanced
    assert (out["lon"].dropna() == out["lon"].dropna().round(6)).all()
    for col in ("tps_dpt", "tps_nearest", "tps_nearest_any", "voter_key", "kode_kel"):
        assert out[col].dtype == "string"


def test_kelurahan_without_tps_is_reported_and_its_voters_kept(city, locs):
    out, report = assign_voters(city["voters"], locs, city["tps"])
    tiga = out[out["kode_kel"] == "3171061003"]
    assert len(tiga) > 0 and tiga["tps_nearest"].isna().all() and tiga["dist_nearest_m"].isna().all()
    assert tiga["tps_nearest_any"].notna().all()      # the nearest across the border still exists
    assert report.figures["kelurahan_without_tps"] == 1
    assert report.figures["voters_without_tps_in_kelurahan"] == len(tiga)
    assert report.warnings[0].value == "3171061003"
    lost = out[out["kode_kel"] == "3171069999"]
    assert len(lost) == 1 and lost[["lon", "dist_nearest_any_m"]].isna().all(axis=None)
    assert report.figures["voters_without_location"] == 1


def test_unknown_unplaced_and_missing_dpt_tps_have_no_distance(city, locs):
    out, report = assign_voters(city["voters"], locs, city["tps"])
    for code in ("3171061001099", "3171061002004"):           # unknown code; a TPS without a point
        assert out.loc[out["tps_dpt"] == code, "dist_dpt_m"].isna().all()
    assert out.loc[out["tps_dpt"].isna(), "dist_dpt_m"].isna().all()
    f = report.figures
    assert f["voters_without_dpt_tps"] == 1
    assert f["voters_dpt_tps_unplaced"] == (out["tps_dpt"].isin(["3171061001099", "3171061002004"])).sum()
    assert f["tps_unplaced"] == 1 and f["tps_placed"] == 7


def test_dpt_distance_is_the_distance_to_that_tps(city, locs):
    out, _ = assign_voters(city["voters"], locs, city["tps"])
    tps = city["tps"].set_index("kode_tps").to_crs(32748)
    ok = out["dist_dpt_m"].notna()
    t = tps.loc[out.loc[ok, "tps_dpt"]].geometry
    v = gpd.GeoSeries(gpd.points_from_xy(out.loc[ok, "lon"], out.loc[ok, "lat"]), crs=4326).to_crs(32748)
    np.testing.assert_allclose(out.loc[ok, "dist_dpt_m"], v.distance(t.reset_index(drop=True)), atol=0.2)


@pytest.mark.parametrize("margin", [0.0, 200.0, 500.0])
def test_far_flag_counts_follow_the_margin(city, locs, margin):
    out, report = assign_voters(city["voters"], locs, city["tps"], margin_m=margin)
    flagged = far_from_dpt(out, margin)
    assert report.figures["voters_far_from_dpt_tps"] == flagged.sum()
    assert report.figures["margin_m"] == margin
    assert (out.loc[flagged, "dist_dpt_m"] - out.loc[flagged, "dist_nearest_m"] > margin).all()


def test_chunked_voters_give_chunked_output_equal_to_the_whole(city, locs):
    whole, rep_whole = assign_voters(city["voters"], locs, city["tps"])
    chunks = (city["voters"].iloc[i:i + 7] for i in range(0, len(city["voters"]), 7))
    parts, rep = assign_voters(chunks, locs, city["tps"])
    assert rep.finished is None                         # complete only once consumed
    got = list(parts)
    assert len(got) == -(-len(whole) // 7) and rep.finished is not None
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), whole)
    assert rep.figures == rep_whole.figures


def test_no_voters(city, locs):
    out, report = assign_voters(schema.empty("voters"), locs, city["tps"])
    assert list(out.columns) == OUTPUT_COLUMNS and len(out) == 0 and report.figures["voters"] == 0


# --- independent brute force ----------------------------------------------------------------

def brute_city(seed=11, n_voters=3000):
    """4 kelurahan of 1.5 km (the last without TPS), 3 RW × 5 RT each, 10 % of RT polygons missing,
    6 TPS per kelurahan plus pairs of TPS placed equidistant from RT points (ties)."""
    rng = np.random.default_rng(seed)
    kel_codes = [f"317106100{i + 1}" for i in range(4)]
    x0, y0 = 700_000 + np.array([0, 1500, 0, 1500]), 9_315_000 + np.array([0, 0, 1500, 1500])
    kel = gpd.GeoDataFrame({"kode": kel_codes}, geometry=shapely.box(x0, y0, x0 + 1500, y0 + 1500), crs=32748)
    rw_rows, rt_rows = [], []
    for k, code in enumerate(kel_codes):
        for rw in (1, 2, 3):
            rw_rows.append((code, rw, shapely.box(x0[k], y0[k] + (rw - 1) * 500, x0[k] + 1500, y0[k] + rw * 500)))
            for rt in range(1, 6):
                cx, cy = x0[k] + rng.uniform(60, 1440), y0[k] + (rw - 1) * 500 + rng.uniform(60, 440)
                if rng.random() > 0.1:
                    rt_rows.append((code, rw, rt, shapely.box(cx - 50, cy - 40, cx + 50, cy + 40)))
    rw = gpd.GeoDataFrame(rw_rows, columns=["kode_kel", "rw", "geometry"], crs=32748)
    rt = gpd.GeoDataFrame(rt_rows, columns=["kode_kel", "rw", "rt", "geometry"], crs=32748)
    rt, rw, kel = rt.to_crs(4326), rw.to_crs(4326), kel.to_crs(4326)
    tps_rows = []
    for k, code in enumerate(kel_codes[:3]):
        for i in range(6):
            tps_rows.append((f"{code}{i + 1:03d}", code, x0[k] + rng.uniform(0, 1500), y0[k] + rng.uniform(0, 1500)))
    rep = rt.representative_point().to_crs(32748)
    for j, i in enumerate(rng.choice(len(rt), 12, replace=False)):   # ties: larger code first in the file
        code = rt.loc[i, "kode_kel"]
        if code == kel_codes[3]:
            continue
        tps_rows.append((f"{code}{900 - j:03d}", code, rep.x[i] + 12.5, rep.y[i]))
        tps_rows.append((f"{code}{800 - j:03d}", code, rep.x[i] - 12.5, rep.y[i]))
    tps = gpd.GeoDataFrame(tps_rows, columns=["kode_tps", "kode_kel", "x", "y"])
    tps = gpd.GeoDataFrame(tps[["kode_tps", "kode_kel"]], geometry=gpd.points_from_xy(tps.x, tps.y), crs=32748)
    tps = tps.to_crs(4326)
    kk = rng.integers(0, 4, n_voters)
    voters = pd.DataFrame({"voter_key": [f"{i:032x}" for i in range(n_voters)],
                           "kode_kel": np.array(kel_codes)[kk], "rw": rng.integers(1, 4, n_voters),
                           "rt": rng.integers(1, 6, n_voters)})
    voters["kode_tps"] = tps["kode_tps"].to_numpy()[rng.integers(0, len(tps), n_voters)]
    layers = {"kelurahan": kel, "rw": rw, "rt": rt}
    return ({k: schema.conform(v, k) for k, v in layers.items()}, schema.conform(tps, "tps"),
            schema.conform(voters, "voters"))


def brute_force(layers, tps, voters):
    """Per voter: its point (RT, else RW, else kelurahan representative point), then all pairs."""
    key = ["kode_kel", "rw", "rt"]
    rt = layers["rt"].assign(p=layers["rt"].representative_point())[key + ["p"]]
    rw = layers["rw"].assign(p=layers["rw"].representative_point())[["kode_kel", "rw", "p"]]
    kel = layers["kelurahan"].assign(kode_kel=layers["kelurahan"]["kode"],
                                     p=layers["kelurahan"].representative_point())[["kode_kel", "p"]]
    v = voters[["voter_key"] + key].merge(rt, on=key, how="left")
    v = v.merge(rw.rename(columns={"p": "p_rw"}), on=["kode_kel", "rw"], how="left")
    v = v.merge(kel.rename(columns={"p": "p_kel"}), on="kode_kel", how="left")
    p = gpd.GeoSeries(v["p"].fillna(v["p_rw"]).fillna(v["p_kel"]), crs=4326)
    vp = np.asarray(p.to_crs(32748).values, dtype=object)
    tp = np.asarray(tps.to_crs(32748).geometry.values, dtype=object)
    d = shapely.distance(vp[:, None], tp[None, :])
    own = voters["kode_kel"].to_numpy()[:, None] == tps["kode_kel"].to_numpy()[None, :]
    codes = tps["kode_tps"].to_numpy()

    def pick(dist):
        best = dist.min(axis=1)
        return [min(codes[r <= b + TIE_TOLERANCE_M]) if np.isfinite(b) else None for r, b in zip(dist, best)], best

    near, near_d = pick(np.where(own, d, np.inf))
    near_any, any_d = pick(d)
    return p, near, near_d, near_any, any_d


def test_brute_force_agrees_with_every_nearest_tps_and_distance_including_ties():
    layers, tps, voters = brute_city()
    locs = voter_locations(voters, **layers)
    out, report = assign_voters(voters, locs, tps)
    p, near, near_d, near_any, any_d = brute_force(layers, tps, voters)
    assert out["tps_nearest"].astype(object).where(out["tps_nearest"].notna(), None).tolist() == near
    assert out["tps_nearest_any"].tolist() == near_any
    has = np.isfinite(near_d)
    np.testing.assert_allclose(out["dist_nearest_m"].to_numpy()[has], near_d[has], atol=0.01)
    np.testing.assert_allclose(out["dist_nearest_any_m"], any_d, atol=0.01)
    assert out["dist_nearest_m"].isna().sum() == (~has).sum() == (voters["kode_kel"] == "3171061004").sum()
    np.testing.assert_allclose(out["lon"], p.x, atol=1e-6)
    tied = out["tps_nearest"].str[-3:].isin([f"{800 - j:03d}" for j in range(12)])
    assert tied.sum() > 50                                  # ties were really exercised
    # and the metric distances agree with geodesic ones (pyproj.Geod) within 1 m
    t = tps.set_index("kode_tps").loc[out.loc[has, "tps_nearest"]]
    _, _, geodesic = Geod(ellps="WGS84").inv(out.loc[has, "lon"], out.loc[has, "lat"], t.geometry.x, t.geometry.y)
    assert np.abs(geodesic - out.loc[has, "dist_nearest_m"].to_numpy()).max() < 1.0
    assert report.figures["voters"] == len(voters)


# --- walking --------------------------------------------------------------------------------

def test_walk_columns_with_a_road_network(city, locs):
    from geo.network import build_graph
    from geo.walk import WALK_COLUMNS

    graph = build_graph(gpd.read_file(FIX / "roads.geojson"))
    out, report = assign_voters(city["voters"], locs, city["tps"], network=graph)
    assert list(out.columns) == OUTPUT_COLUMNS + WALK_COLUMNS
    ok = out["dist_nearest_walk_m"].notna()
    assert ok.sum() > 40
    # walking is never shorter than the straight line, and the walking-nearest TPS is in the own kelurahan
    assert (out.loc[ok, "dist_nearest_walk_m"] >= out.loc[ok, "dist_nearest_m"] - 0.01).all()
    assert (out.loc[ok, "tps_nearest_walk"].str[:10] == out.loc[ok, "kode_kel"]).all()
    dpt = out["dist_dpt_walk_m"].notna()
    assert (out.loc[dpt, "dist_dpt_walk_m"] >= out.loc[dpt, "dist_nearest_walk_m"] - 0.01).all()
    assert (out.loc[dpt, "dist_dpt_walk_m"] >= out.loc[dpt, "dist_dpt_m"] - 0.01).all()
    other = out["tps_dpt"].str[:10] != out["kode_kel"]
    assert out.loc[other.fillna(False), "dist_dpt_walk_m"].isna().all()   # only inside the kelurahan
    assert report.figures["network"]["pieces"] == len(graph.pieces)
    assert report.figures["dist_nearest_walk_m"]["n"] == ok.sum()
    chunks = (city["voters"].iloc[i:i + 9] for i in range(0, len(city["voters"]), 9))
    parts, _ = assign_voters(chunks, locs, city["tps"], network=graph)
    pd.testing.assert_frame_equal(pd.concat(list(parts), ignore_index=True), out)
