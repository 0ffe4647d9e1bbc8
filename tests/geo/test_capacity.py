import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geo import schema
from geo.capacity import PLAN_COLUMNS, plan_capacity, weighted_kmeans
from geo.errors import ConfigError
from geo.locations import voter_locations

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "assign"

X0, Y0 = 700_000.0, 9_315_000.0
TO_LL = Transformer.from_crs(32748, 4326, always_xy=True)


def make_city(kelurahan):
    """kelurahan: list of (locations [(dx, dy)], tps [(dx, dy) or None], kks [(location, size)]),
    in metres; kelurahan i is shifted 5 km east per index. Returns voters, locations, tps frames."""
    locs, tps, voters = [], [], []
    for k, (points, stations, kks) in enumerate(kelurahan):
        kode = f"31710610{k + 1:02d}"
        for i, (dx, dy) in enumerate(points):
            locs.append((f"{kode}-001-{i + 1:03d}", kode, 1, i + 1, X0 + 5000 * k + dx, Y0 + dy))
        for j, p in enumerate(stations):
            tps.append((f"{kode}{j + 1:03d}", kode, None if p is None else (X0 + 5000 * k + p[0], Y0 + p[1])))
        for n, (loc, size) in enumerate(kks):
            for m in range(size):
                voters.append((f"{k:04d}{n:05d}{m:02d}".rjust(32, "0"), f"kk{k}-{n}", kode, 1, loc + 1,
                               f"{kode}{1 + (n % max(len(stations), 1)):03d}"))
    lf = pd.DataFrame(locs, columns=["loc_key", "kode_kel", "rw", "rt", "x", "y"])
    lf["lon"], lf["lat"] = TO_LL.transform(lf["x"].to_numpy(), lf["y"].to_numpy())
    lf = lf.astype({"loc_key": "string", "kode_kel": "string", "rw": "Int16", "rt": "Int16"})
    lf["loc_level"] = pd.array(["rt"] * len(lf), dtype="string")
    geoms = gpd.points_from_xy([t[2][0] if t[2] else np.nan for t in tps], [t[2][1] if t[2] else np.nan for t in tps])
    geoms = [g if t[2] else None for g, t in zip(geoms, tps)]
    tf = gpd.GeoDataFrame({"kode_tps": [t[0] for t in tps], "kode_kel": [t[1] for t in tps]},
                          geometry=gpd.GeoSeries(geoms, crs=32748)).to_crs(4326)
    vf = pd.DataFrame(voters, columns=["voter_key", "kk_key", "kode_kel", "rw", "rt", "kode_tps"]).astype(
        {"voter_key": "string", "kk_key": "string", "kode_kel": "string", "rw": "Int16", "rt": "Int16",
         "kode_tps": "string"})
    return vf, lf, tf.astype({"kode_tps": "string", "kode_kel": "string"})


def check_rules(voters, plan, report, cap):
    """The three KPU rules, and the row accounting."""
    assert list(plan.columns) == PLAN_COLUMNS and plan["voter_key"].tolist() == voters["voter_key"].tolist()
    planned = plan["tps_planned"].dropna()
    assert (planned.value_counts() <= cap).all()                                           # never above the cap
    per_kk = plan.assign(kk=voters["kk_key"].to_numpy()).groupby("kk")["tps_planned"].agg(
        lambda s: s.astype(object).where(s.notna(), None).nunique(dropna=False))
    assert (per_kk == 1).all()                                                             # never splits a KK
    assert (planned.str[:10] == voters.loc[planned.index, "kode_kel"]).all()               # never leaves the kelurahan
    f = report.figures
    assert f["voters_planned"] + f["voters_unplaced"] == len(voters)
    assert f["voters_unplaced"] == plan["tps_planned"].isna().sum()


def load_fixture_city():
    layers = {name: schema.conform(gpd.read_file(FIX / f"{name}.geojson"), name)
              for name in ("kelurahan", "rw", "rt", "tps")}
    layers["voters"] = schema.conform(pd.read_csv(FIX / "voters.csv", dtype=str), "voters")
    return layers


def test_fixture_city_respects_the_rules_and_beats_the_random_dpt():
    city = load_fixture_city()
    locs = voter_locations(city["voters"], rt=city["rt"], rw=city["rw"], kelurahan=city["kelurahan"])
    for cap in (300, 8, 3):
        plan, report = plan_capacity(city["voters"], locs, city["tps"], max_per_tps=cap)
        check_rules(city["voters"], plan, report, cap)
    plan, report = plan_capacity(city["voters"], locs, city["tps"], max_per_tps=300)
    f = report.figures
    assert f["dist_planned_m"]["mean_m"] < f["dist_dpt_m"]["mean_m"] and f["mean_change_m"] < 0
    # kelurahan 3171061003 has no placed TPS: its voters wait for an extra TPS, which is located
    extra = {e["kode_kel"]: e for e in f["extra_tps"]}
    assert extra["3171061003"]["tps_needed"] == 1 and len(extra["3171061003"]["sites"]) == 1
    assert f["voters_without_location"] == 1
    # the KK living in two RTs stays together
    kk = plan[city["voters"]["kk_key"].str.endswith("6b6b783037").to_numpy()]
    assert kk["tps_planned"].nunique() == 1 and len(kk) == 2


def test_ample_capacity_sends_everyone_to_the_nearest_tps():
    vf, lf, tf = make_city([([(0, 0), (900, 0), (450, 800)], [(50, 0), (880, 30), (450, 700), (2000, 0)],
                             [(0, 3), (1, 2), (2, 4), (0, 1)])])
    plan, report = plan_capacity(vf, lf, tf, max_per_tps=1000, stay_bonus_m=0)
    assert plan["tps_planned"].tolist() == ["3171061001001"] * 3 + ["3171061001002"] * 2 + \
        ["3171061001003"] * 4 + ["3171061001001"]
    assert report.figures["lp_voter_m"] == pytest.approx((plan["dist_planned_m"]).sum(), abs=0.1)


def test_voters_keep_their_dpt_tps_unless_moving_saves_more_than_the_bonus():
    # location 0 is 20 m from TPS 1 and 28 m from TPS 2; location 1 is 100 m from TPS 1 and 400 m from TPS 2
    vf, lf, tf = make_city([([(0, 0), (100, 20)], [(0, 20), (0, -28)], [(0, 2), (0, 1), (1, 2), (1, 1)])])
    # make_city gives KK n the DPT TPS 1 + n % 2: KK 0 → TPS 1, KK 1 → TPS 2, KK 2 → TPS 1, KK 3 → TPS 2
    stay, _ = plan_capacity(vf, lf, tf, max_per_tps=100, stay_bonus_m=10)
    assert stay["tps_planned"].tolist() == ["3171061001001"] * 2 + ["3171061001002"] + ["3171061001001"] * 3
    short, rep = plan_capacity(vf, lf, tf, max_per_tps=100, stay_bonus_m=0)
    assert (short["tps_planned"] == "3171061001001").all() and rep.figures["voters_moved"] == 2


def test_too_few_tps_leaves_kks_out_and_says_how_many_tps_are_needed_and_where():
    kks = [(0, 4)] * 5 + [(1, 3)] * 4                       # 32 voters, 2 TPS × 10
    vf, lf, tf = make_city([([(0, 0), (3000, 0)], [(10, 0), (20, 0)], kks)])
    plan, report = plan_capacity(vf, lf, tf, max_per_tps=10)
    check_rules(vf, plan, report, 10)
    f = report.figures
    left = f["voters_unplaced"]
    assert left >= 12 and f["extra_tps_needed"] == math.ceil(left / 10)
    sites = f["extra_tps"][0]["sites"]
    assert sum(s[2] for s in sites) == left
    far = TO_LL.transform(X0 + 3000, Y0)
    assert any(abs(s[0] - far[0]) < 1e-4 and abs(s[1] - far[1]) < 1e-4 for s in sites)   # the far RT needs one


def test_a_kk_larger_than_the_cap_is_never_split_but_reported():
    vf, lf, tf = make_city([([(0, 0)], [(10, 0), (20, 0)], [(0, 7), (0, 2)])])
    plan, report = plan_capacity(vf, lf, tf, max_per_tps=5)
    check_rules(vf, plan, report, 5)
    assert plan["tps_planned"].isna().sum() == 7 and report.figures["extra_tps_needed"] == 2


def test_cap_must_be_positive():
    vf, lf, tf = make_city([([(0, 0)], [(10, 0)], [(0, 1)])])
    with pytest.raises(ConfigError):
        plan_capacity(vf, lf, tf, max_per_tps=0)


def test_chunks_give_the_same_plan_as_one_frame():
    vf, lf, tf = make_city([([(0, 0), (500, 0)], [(10, 0), (490, 0)], [(0, 3), (1, 2), (0, 2), (1, 1)] * 3)])
    whole, rep = plan_capacity(vf, lf, tf, max_per_tps=9)
    parts, rep2 = plan_capacity([vf.iloc[:7], vf.iloc[7:]], lf, tf, max_per_tps=9)
    pd.testing.assert_frame_equal(whole, parts)
    assert rep.figures == rep2.figures


def brute_force_cost(units, tps_xy, loc_xy, cap):
    """Minimum Σ voters × distance over every KK → TPS assignment within the cap (tiny instances)."""
    best = math.inf
    d = np.hypot(*(loc_xy[:, None] - tps_xy[None]).transpose(2, 0, 1))
    for choice in itertools.product(range(len(tps_xy)), repeat=len(units)):
        load = np.zeros(len(tps_xy))
        np.add.at(load, np.array(choice), [s for _, s in units])
        if (load <= cap).all():
            best = min(best, sum(s * d[loc, t] for (loc, s), t in zip(units, choice)))
    return best


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.just(1)), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 900), st.integers(0, 900)), min_size=1, max_size=3),
       st.integers(2, 6))
def test_single_voter_kks_are_planned_optimally(units, stations, cap):
    points = [(0, 0), (600, 100), (200, 800)]
    vf, lf, tf = make_city([(points, stations, units)])
    if len(units) > cap * len(stations):
        return
    plan, _ = plan_capacity(vf, lf, tf, max_per_tps=cap, stay_bonus_m=0)
    assert plan["tps_planned"].notna().all()
    expect = brute_force_cost(units, np.array(stations, float), np.array(points, float), cap)
    assert plan["dist_planned_m"].sum() == pytest.approx(expect, abs=0.05)


kelurahan_strategy = st.tuples(
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 2000)), min_size=1, max_size=6, unique=True),
    st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 2000), st.integers(0, 2000))), min_size=0, max_size=5),
    st.lists(st.tuples(st.integers(0, 5), st.integers(1, 7)), min_size=1, max_size=25),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(kelurahan_strategy, min_size=1, max_size=3), st.integers(1, 40))
def test_rules_hold_for_any_city(kelurahan, cap):
    kelurahan = [(pts, tps, [(loc % len(pts), size) for loc, size in kks]) for pts, tps, kks in kelurahan]
    vf, lf, tf = make_city(kelurahan)
    plan, report = plan_capacity(vf, lf, tf, max_per_tps=cap)
    check_rules(vf, plan, report, cap)
    f = report.figures
    for k, (pts, tps, kks) in enumerate(kelurahan):
        placed_tps = sum(t is not None for t in tps)
        total = sum(s for _, s in kks)
        big = max(s for _, s in kks)
        kode = f"31710610{k + 1:02d}"
        left = plan.loc[(vf["kode_kel"] == kode).to_numpy(), "tps_planned"].isna().sum()
        if placed_tps and big * 2 <= cap and total * 2 <= placed_tps * cap:
            assert left == 0                          # ample room: everybody gets a TPS
        extra = [e for e in f["extra_tps"] if e["kode_kel"] == kode]
        assert (left > 0) == bool(extra)
        if extra:
            assert extra[0]["tps_needed"] == math.ceil(left / cap)


def test_weighted_kmeans_is_deterministic_and_weighted():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [1000.0, 0.0], [1010.0, 0.0]])
    centres, label = weighted_kmeans(xy, np.array([1.0, 3.0, 1.0, 1.0]), 2)
    assert centres[0] == pytest.approx([7.5, 0.0]) and centres[1] == pytest.approx([1005.0, 0.0])
    assert label.tolist() == [0, 0, 1, 1]
    c1, _ = weighted_kmeans(xy, np.ones(4), 9)
    assert len(c1) == 4
