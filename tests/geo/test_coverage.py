"""Coverage: per-TPS / RT / RW / kelurahan figures and gaps, on a tiny planted city and a generated one.

The tiny city (tests/fixtures/coverage) is laid out on a 500 m grid so every distance is known;
figures are also checked against brute force over the individual voters. The generated city
(geo.generate, Jakarta Pusat, 60,000 voters) goes through the real pipeline (boundary, TPS and DPT
loaders, geocoding) and its truth/gaps.csv lists the planted gaps.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.coverage import COUNT_COLUMNS, count_voters, coverage
from geo.errors import CodeError, ConfigError, CRSError, InputError, MissingColumnError
from tests.fixtures.coverage import tiny_city

A, B, C = "3171011001", "3171011002", "3171011003"
PLANTED = {  # (reason, key): severity
    ("overloaded_tps", f"{B}001"): "high", ("kelurahan_without_tps", C): "high",
    ("too_few_tps", B): "medium", ("tps_location_unreliable", f"{B}001"): "medium",
    ("overloaded_tps", f"{A}001"): "medium", ("rw_no_tps_nearby", f"{A}-002"): "medium",
    ("rt_no_tps_nearby", f"{A}-003-003"): "medium", ("tps_unplaced", f"{B}002"): "low",
}


@pytest.fixture(scope="module")
def city():
    return tiny_city.load()


@pytest.fixture(scope="module")
def result(city):
    return coverage(city["voters"], city["tps"], city["rt"], city["rw"], city["kelurahan"],
                    candidates=city["candidates"], stages=city["stages"])


def _metric_points(frame: gpd.GeoDataFrame) -> np.ndarray:
    pts = gpd.GeoSeries(shapely.point_on_surface(frame.geometry.to_numpy()), crs=4326).to_crs(32748)
    return np.column_stack([pts.x, pts.y])


# --- the tiny city ---------------------------------------------------------------------------------

def test_gaps_are_exactly_the_planted_ones_worst_first(result):
    gaps = result.gaps
    assert dict(zip(zip(gaps["reason"], gaps["kode"]), gaps["severity"])) == PLANTED
    rank = gaps["severity"].map({"high": 0, "medium": 1, "low": 2}).to_numpy()
    assert (np.diff(rank) >= 0).all()
    assert gaps.crs.to_epsg() == 4326
    assert set(gaps.columns) >= {"kode_kel", "rw", "rt", "level", "voters", "dist_nearest_m", "reason", "severity"}


def test_distance_gaps_carry_area_voters_and_distance(result):
    g = result.gaps.set_index("kode")
    assert g.loc[f"{A}-002", ["level", "voters", "rw"]].tolist() == ["rw", 40, 2]
    assert pd.isna(g.loc[f"{A}-002", "rt"])
    assert g.loc[f"{A}-002", "dist_nearest_m"] == pytest.approx(np.hypot(550, 50), abs=0.5)
    assert g.loc[f"{A}-003-003", ["level", "voters", "rw", "rt"]].tolist() == ["rt", 3, 3, 3]
    assert g.loc[f"{A}-003-003", "dist_nearest_m"] == pytest.approx(np.hypot(450, 450), abs=0.5)
    assert g.loc[B, ["tps", "tps_needed", "voters"]].tolist() == [2, 3, 650]
    assert g.loc[f"{A}-002"].geometry.geom_type == "MultiPolygon"


def test_tps_loads_match_brute_force_over_voters(city, result):
    voters, tps = city["voters"], result.tps.set_index("kode_tps")
    assert tps["voters_dpt"].to_dict() == {**{k: 0 for k in tps.index},
                                           **voters["kode_tps"].value_counts().reindex(tps.index).dropna().to_dict()}
    rt = city["rt"].assign(key=lambda f: list(zip(f["kode_kel"], f["rw"], f["rt"])))
    xy = dict(zip(rt["key"], _metric_points(rt)))
    placed = result.tps[result.tps.geometry.notna()]
    txy = np.column_stack([placed.to_crs(32748).geometry.x, placed.to_crs(32748).geometry.y])
    nearest = []
    for kel, w, t in zip(voters["kode_kel"], voters["rw"], voters["rt"]):
        mine = (placed["kode_kel"] == kel).to_numpy()
        if pd.isna(w) or not mine.any():
            continue
        d = np.hypot(*(txy[mine] - xy[(kel, w, t)]).T)
        nearest.append(placed["kode_tps"].to_numpy()[mine][np.argmin(d)])
    expected = pd.Series(nearest).value_counts()
    assert tps["voters_nearest"][tps["voters_nearest"] > 0].to_dict() == expected.to_dict()
    assert tps.loc[f"{A}001", "cap_use"] == pytest.approx(320 / 300, abs=1e-3)
    assert tps.loc[f"{A}001", "flags"] == "over_capacity"
    assert tps.loc[f"{B}001", "flags"] == "over_capacity;location_kelurahan_level"
    assert tps.loc[f"{B}002", "flags"] == "under_use;unplaced;no_voters"


def test_rt_distances_match_brute_force(city, result):
    rt = result.rt[result.rt["loc_level"] == "rt"]
    polygons = city["rt"].set_index(["kode_kel", "rw", "rt"])
    pts = _metric_points(polygons.loc[list(zip(rt["kode_kel"], rt["rw"], rt["rt"]))].reset_index())
    placed = result.tps[result.tps.geometry.notna()].to_crs(32748)
    for (kel, d), p in zip(rt[["kode_kel", "dist_nearest_m"]].itertuples(index=False), pts):
        mine = placed[placed["kode_kel"] == kel]
        want = np.hypot(mine.geometry.x - p[0], mine.geometry.y - p[1]).min() if len(mine) else np.nan
        assert d == pytest.approx(want, abs=0.01, nan_ok=True)


def test_a_gap_another_kelurahan_could_serve_is_low(city):
    tps = city["tps"].copy()
    moved = tps["kode_tps"] == f"{A}003"                 # its point stays in A, but it now belongs to B
    tps.loc[moved, ["kode_tps", "kode_kel"]] = [f"{B}003", B]
    out = coverage(city["voters"], tps, city["rt"], city["rw"], city["kelurahan"], threshold_m=650)
    gap = out.gaps.set_index("kode").loc[f"{A}-003"]
    assert (gap["reason"], gap["severity"]) == ("rw_no_tps_nearby", "low")
    assert "another kelurahan is within reach" in gap["detail"]
    assert set(out.gaps.loc[out.gaps["level"] == "rt", "severity"]) == {"medium"}     # RW 2's RTs


def test_coverage_status_per_rt_and_rw(result):
    rw = result.rw.set_index("kode")["coverage"].to_dict()
    assert rw == {f"{A}-001": "covered", f"{A}-002": "gap", f"{A}-003": "partial", f"{B}-001": "unknown",
                  f"{C}-001": "no_tps"}
    rt = result.rt.set_index("kode")["coverage"]
    assert rt[f"{A}-000-000"] == "unlocated"          # 5 voters without RW/RT
    assert (rt[rt.index.str.startswith(B)] == "unknown").all()   # only a kelurahan-level TPS could reach them


def test_shares_beyond_the_threshold(result):
    rw = result.rw.set_index("kode")
    assert rw.loc[f"{A}-003", "share_beyond_nearest"] == pytest.approx(3 / 50)
    assert rw.loc[f"{A}-002", "share_beyond_dpt"] == 1.0
    rt = result.rt.set_index("kode")
    assert rt.loc[f"{A}-001-002", "dist_dpt_mean_m"] == pytest.approx(500.0, abs=0.1)
    assert rt.loc[f"{A}-001-002", "share_beyond_dpt"] == 0.0      # exactly at the threshold is within
    kel = result.kelurahan.set_index("kode")
    assert kel.loc[A, "voters_beyond_nearest"] == 43
    assert kel.loc[A, "share_beyond_nearest"] == pytest.approx(43 / 510, abs=1e-4)   # 5 unlocated voters out


def test_catchments_and_service_areas(city, result):
    catch = result.catchments.set_index("kode_tps")
    assert catch.loc[f"{A}003", "areas"] == 4            # RW 3, RT 1-4
    rw3 = city["rw"].set_index("kode").loc[f"{A}-003"].geometry
    assert catch.loc[f"{A}003"].geometry.symmetric_difference(rw3).area < 1e-4 * rw3.area
    cells = result.service_areas.to_crs(32748).set_index("kode_tps")
    kel_a = city["kelurahan"].to_crs(32748).set_index("kode").loc[A].geometry
    assert cells.loc[cells["kode_kel"] == A].geometry.area.sum() == pytest.approx(kel_a.area, rel=1e-6)
    assert cells.loc[f"{B}001"].geometry.area == pytest.approx(1e6, rel=1e-3)   # the only placed TPS of B
    assert f"{B}002" not in cells.index


def test_stages_show_each_count_and_the_change(result):
    st = result.stages.set_index("kode_kel")
    assert st.loc[A, ["population", "dps", "dpt", "loaded"]].tolist() == [700, 530, 520, 515]
    assert st.loc[A, "change_dpt_loaded"] == -5 and st.loc[C, "change_dps_dpt"] == -2
    assert st.loc[B, "pct_population_dps"] == pytest.approx(-26.7)


def test_report_figures(result):
    f = result.report.figures
    assert f["voters_by_coverage"] == {"covered": 467, "gap": 43, "unknown": 650, "no_tps": 10, "unlocated": 5}
    assert f["tps_over_cap"] == 2 and f["kelurahan_too_few_tps"] == 2 and f["voters_unknown_tps"] == 10
    assert result.report.rows_read == result.report.rows_loaded == 1175


def test_chunks_give_the_same_result_as_one_frame(city, result):
    v = city["voters"]
    chunks = (v.iloc[i:i + 100] for i in range(0, len(v), 100))
    again = coverage(chunks, city["tps"], city["rt"], city["rw"], city["kelurahan"],
                     candidates=city["candidates"], stages=city["stages"])
    for name in ("tps", "rt", "rw", "kelurahan", "gaps", "suggestions", "merges"):
        assert_geodataframe_equal(getattr(again, name), getattr(result, name), check_less_precise=False)


def test_kode_limits_the_analysis(city):
    out = coverage(city["voters"], city["tps"], city["rt"], city["rw"], city["kelurahan"], kode="31.71.01.1002")
    assert set(out.tps["kode_kel"]) == {B} and out.kelurahan["kode"].tolist() == [B]
    assert set(out.gaps["kode_kel"]) == {B} and out.report.figures["voters_outside_area"] == 525
    with pytest.raises(CodeError):
        coverage(city["voters"], city["tps"], kode="31x")


def test_any_declared_crs_works_and_an_undeclared_one_is_refused(city, result):
    utm = coverage(city["voters"], city["tps"].to_crs(32748), city["rt"].to_crs(32748), city["rw"],
                   city["kelurahan"].to_crs(32748))
    assert utm.tps["voters_nearest"].tolist() == result.tps["voters_nearest"].tolist()
    assert np.allclose(utm.rt["dist_nearest_m"], result.rt["dist_nearest_m"], atol=0.02, equal_nan=True)
    with pytest.raises(CRSError):
        coverage(city["voters"], city["tps"].set_crs(None, allow_override=True))


@pytest.mark.parametrize("kwargs", [{"threshold_m": 0}, {"max_per_tps": 0}, {"min_use": 1.5},
                                    {"max_per_tps": 2.5}])
def test_bad_parameters_are_config_errors(city, kwargs):
    with pytest.raises(ConfigError):
        coverage(city["voters"], city["tps"], **kwargs)


def test_bad_inputs_raise_domain_errors(city):
    twice = pd.concat([city["tps"], city["tps"].iloc[:1]])
    with pytest.raises(InputError, match="kode_tps"):
        coverage(city["voters"], twice)
    with pytest.raises(MissingColumnError):
        coverage(city["voters"].drop(columns="rt"), city["tps"])
    with pytest.raises(MissingColumnError):
        coverage(city["voters"], city["tps"], rw=city["rw"].drop(columns="rw"))


def test_without_a_voter_list_loads_come_from_tps_dpt(city):
    out = coverage(None, city["tps"], city["rt"], city["rw"], city["kelurahan"], stages=city["stages"])
    tps = out.tps.set_index("kode_tps")
    assert tps["voters_dpt"].to_dict() == tps["dpt"].to_dict()
    assert tps["voters_nearest"].isna().all() and not len(out.rt) and not len(out.rw)
    assert set(out.tps.loc[out.tps["over_cap"], "kode_tps"]) == {f"{A}001", f"{B}001"}
    kel = out.kelurahan.set_index("kode")
    assert kel.loc[A, ["voters", "voters_source"]].tolist() == [510, "tps_dpt"]
    assert kel.loc[B, ["voters", "voters_source", "too_few_tps"]].tolist() == [655, "stage_dpt", True]
    reasons = set(zip(out.gaps["reason"], out.gaps["level"], out.gaps["kode"]))
    assert ("tps_location_unreliable", "kelurahan", B) in reasons and ("tps_unplaced", "kelurahan", B) in reasons
    assert not len(out.suggestions) and not len(out.merges) and not len(out.catchments)
    assert any("no voter list" in n for n in out.report.notes)
    assert out.stages.set_index("kode_kel").loc[A, "loaded"] == 510


def test_an_empty_voter_list_is_not_an_error(city):
    out = coverage(city["voters"].iloc[:0], city["tps"], city["rt"], city["rw"], city["kelurahan"])
    assert (out.tps["voters_dpt"] == 0).all() and len(out.rt) == 0
    assert set(out.gaps["reason"]) <= {"tps_location_unreliable", "tps_unplaced"}


def test_walking_distances_follow_the_roads(city, result):
    from geo.network import build_graph

    # a road grid along every RT edge (x every 500 m, y at 0, 500, 1000) of the tiny city
    x0, y0 = 700_000.0, 9_313_000.0
    lines = [shapely.LineString([(x0 + x, y0), (x0 + x, y0 + 1000)]) for x in range(0, 5001, 500)]
    lines += [shapely.LineString([(x0, y0 + y), (x0 + 5000, y0 + y)]) for y in (0, 500, 1000)]
    graph = build_graph(gpd.GeoSeries(lines, crs=32748))
    out = coverage(city["voters"], city["tps"], city["rt"], city["rw"], city["kelurahan"], network=graph)
    rt = out.rt.set_index("kode")
    located = rt["dist_nearest_walk_m"].notna()
    assert located.sum() >= 12
    assert (rt.loc[located, "dist_nearest_walk_m"] >= rt.loc[located, "dist_nearest_m"] - 0.01).all()
    assert "dist_dpt_walk_mean_m" in rt and "dist_nearest_walk_m" not in result.rt
    rw = out.rw.set_index("kode")
    assert rw.loc[f"{A}-001", "dist_nearest_walk_mean_m"] >= rw.loc[f"{A}-001", "dist_nearest_mean_m"] - 0.1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["3171011001", "3171011002", None]), st.sampled_from([None, 0, 1, 2, 300]),
                          st.sampled_from([None, 1, 7]), st.sampled_from(["3171011001001", "3171011002002", None])),
                max_size=60))
def test_count_voters_equals_a_pandas_group_by(rows):
    voters = pd.DataFrame(rows, columns=["kode_kel", "rw", "rt", "kode_tps"]).astype(
        {"kode_kel": "string", "kode_tps": "string", "rw": "Int16", "rt": "Int16"})
    half = len(voters) // 2
    got = count_voters(iter([voters.iloc[:half], voters.iloc[half:]]))
    assert list(got.columns) == COUNT_COLUMNS
    want = voters[voters["kode_kel"].notna()].assign(rw=lambda f: f["rw"].mask(f["rw"] == 0))
    want = want.groupby(["kode_kel", "rw", "rt", "kode_tps"], dropna=False).size()
    assert got.set_index(COUNT_COLUMNS[:4])["voters"].to_dict() == want.to_dict()


# --- a generated city through the real pipeline ---------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Jakarta Pusat, 60,000 voters, loaded and geocoded as petatps loads real files."""
    from geo.boundaries import read_boundaries
    from geo.generate import generate_city
    from geo.geocode import geocode_tps
    from geo.stations import read_tps
    from geo.voters import read_dpt

    out = tmp_path_factory.mktemp("coverage") / "city"
    generate_city(out, voters=60_000, seed=3, kode="3171")
    layers = {lv: read_boundaries(out / f"{lv}.geojson", lv)[0] for lv in ("kelurahan", "rw", "rt")}
    tps, _ = read_tps(out / "tps.csv", kelurahan_codes=layers["kelurahan"]["kode"])
    placed, _ = geocode_tps(tps, layers["kelurahan"], layers["rw"], layers["rt"])
    voters = read_dpt(out / "dpt.csv", key=b"test-key")
    result = coverage(iter(voters), placed, layers["rt"], layers["rw"], layers["kelurahan"])
    return out, placed, result


def test_generated_city_every_planted_gap_is_found_and_no_spurious_one(generated):
    out, placed, result = generated
    truth = pd.read_csv(out / "truth" / "gaps.csv", dtype={"kode_kel": str, "kode_tps": str})
    key = {"rw_no_tps_nearby": lambda r: f"{r.kode_kel}-{int(r.rw):03d}", "too_few_tps": lambda r: r.kode_kel,
           "overloaded_tps": lambda r: r.kode_tps}
    planted = {(r.gap, key[r.gap](r)): r for r in truth.itertuples()}
    assert {g for g, _ in planted} == {"rw_no_tps_nearby", "too_few_tps", "overloaded_tps"}
    gaps = result.gaps
    found = gaps[~gaps["reason"].isin(["tps_location_unreliable", "tps_unplaced"])]
    assert set(zip(found["reason"], found["kode"])) == set(planted)
    for row in found.itertuples():
        assert row.voters == planted[(row.reason, row.kode)].voters
    rw = found[found["reason"] == "rw_no_tps_nearby"].iloc[0]
    assert rw.dist_nearest_m > result.threshold_m
    assert rw.dist_nearest_m == pytest.approx(planted[("rw_no_tps_nearby", rw.kode)].dist_nearest_m, abs=50)
    vague = set(placed.loc[placed["location_source"] == "kelurahan", "kode_tps"])
    assert set(gaps.loc[gaps["reason"] == "tps_location_unreliable", "kode_tps"]) == vague
    assert not (gaps["reason"] == "tps_unplaced").any()


def test_generated_city_suggests_a_site_for_each_planted_shortfall(generated):
    _, _, result = generated
    s = result.suggestions
    rw_gap = result.gaps.loc[result.gaps["reason"] == "rw_no_tps_nearby", "kode"].iloc[0]
    assert s.loc[s["reason"] == "no_tps_nearby", "gaps"].str.contains(rw_gap).any()
    assert s.loc[s["reason"] == "no_tps_nearby", "voters_newly_covered"].sum() == \
        result.gaps.loc[result.gaps["reason"] == "rw_no_tps_nearby", "voters"].sum()
    too_few = result.gaps.loc[result.gaps["reason"] == "too_few_tps", "kode"]
    assert set(s.loc[s["reason"] == "too_few_tps", "kode_kel"]) == set(too_few)
    assert s["optimal"].all()
