"""The demo city generator: determinism, nesting, magnitudes, TPS mapping, NIKs, dirty rows, gaps.

Every check reads the files as written (no generator internals), so it tests what loaders and
benchmarks will see. Cities are generated once per module (a kota, the whole of DKI) to keep the
module fast.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from scipy.spatial import cKDTree

from geo.codes import PROVINCE_CODES, kode_problems, nik_birth_sex, nik_problems
from geo.errors import CodeError, InputError, NotFoundError
from geo.generate import generate_city
from geo.generate_geometry import WILAYAH_CSV

from tests.conftest import ROOT

LEVELS = ("kota", "kecamatan", "kelurahan", "rw", "rt")
FILES = [f"{level}.geojson" for level in LEVELS] + ["tps.csv", "dpt.csv", "truth/tps_truth.csv",
                                                   "truth/dirty_rows.csv", "truth/gaps.csv", "truth/summary.json"]
TPS_COLUMNS = ["kode_tps", "kode_kel", "kode_kec", "kode_kab", "nama_kab", "nama_kec", "nama_kel", "no_tps", "dpt",
               "dpt_l", "dpt_p", "alamat", "rt", "rw", "lat", "lon"]
DPT_COLUMNS = ["nik", "nkk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "rt", "rw", "kode_kel", "tps"]
CAP = 300


@pytest.fixture(scope="module")
def kota(tmp_path_factory):
    """Jakarta Pusat (44 kelurahan) with 60,000 voters."""
    out = tmp_path_factory.mktemp("kota") / "city"
    report = generate_city(out, voters=60_000, seed=3, kode="3171")
    return out, report


@pytest.fixture(scope="module")
def dki(tmp_path_factory):
    """All of DKI with 200,000 voters, timed in CPU seconds (other jobs share the machine)."""
    out = tmp_path_factory.mktemp("dki") / "city"
    started = time.process_time()
    report = generate_city(out, voters=200_000, seed=1)
    return out, report, time.process_time() - started


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _dirty(city, file: str) -> pd.DataFrame:
    rows = pd.read_csv(city / "truth" / "dirty_rows.csv")
    return rows[rows["file"] == file]


def _lines(dirty: pd.DataFrame, *kinds: str) -> set[int]:
    return set(dirty.loc[dirty["kind"].isin(kinds), "line"])


def _metric(frame):
    return frame.to_crs(32748)


# --- determinism and arguments ---------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_city(tmp_path / name, voters=4_000, seed=seed, kode="317101")
    for f in FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    for f in ("rw.geojson", "rt.geojson", "tps.csv", "dpt.csv", "truth/tps_truth.csv"):
        assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes(), f
    # kelurahan and above come from the real centroids alone
    assert (tmp_path / "a" / "kelurahan.geojson").read_bytes() == (tmp_path / "c" / "kelurahan.geojson").read_bytes()


@pytest.mark.parametrize("kwargs, error", [
    ({"voters": -1}, InputError), ({"seed": -3}, InputError), ({"max_per_tps": 5}, InputError),
    ({"dirty_share": 0.5}, InputError), ({"kode": "3271"}, NotFoundError), ({"kode": "31.7x"}, CodeError),
])
def test_bad_arguments_raise_domain_errors(tmp_path, kwargs, error):
    with pytest.raises(error):
        generate_city(tmp_path / "x", **{"voters": 100, **kwargs})


def test_whole_city_without_voters_has_the_same_areas(tmp_path, dki):
    report = generate_city(tmp_path, voters=0, seed=1, dirty=False)
    assert _csv(tmp_path / "dpt.csv").columns.tolist() == DPT_COLUMNS
    assert len(_csv(tmp_path / "dpt.csv")) == 0 and len(_csv(tmp_path / "tps.csv")) == 0
    assert len(_csv(tmp_path / "truth" / "dirty_rows.csv")) == 0 and len(_csv(tmp_path / "truth" / "gaps.csv")) == 0
    assert {k: report.figures[k] for k in LEVELS} == {k: dki[1].figures[k] for k in LEVELS}
    assert sum("not planted" in n for n in report.notes) == 3


def test_clean_city_has_no_dirty_rows(tmp_path):
    generate_city(tmp_path, voters=5_000, seed=2, kode="317101", dirty=False)
    dpt = _csv(tmp_path / "dpt.csv")
    assert nik_problems(dpt["nik"]).isna().all() and not dpt["nik"].duplicated().any()
    assert kode_problems(dpt["kode_kel"], "kelurahan").isna().all() and (dpt["rt"] != "").all()
    assert len(_csv(tmp_path / "truth" / "dirty_rows.csv")) == 0
    tps = _csv(tmp_path / "tps.csv")
    assert not tps["kode_tps"].duplicated().any()


# --- geometry ------------------------------------------------------------------------------

def test_layers_are_native_multipolygons_in_4326(kota):
    city, _ = kota
    fields = {"kota": ["kode", "nama", "kode_prov"], "kecamatan": ["kode", "nama", "kode_kab"],
              "kelurahan": ["kode", "nama", "kode_kec", "kode_kab"], "rw": ["kode", "nama", "kode_kel", "rw"],
              "rt": ["kode", "nama", "kode_kel", "rw", "rt"]}
    for level in LEVELS:
        frame = pyogrio.read_dataframe(city / f"{level}.geojson")
        assert frame.columns.tolist() == fields[level] + ["geometry"], level
        assert frame.crs.to_epsg() == 4326 and frame["kode"].is_unique
        assert (frame.geom_type == "MultiPolygon").all() and frame.is_valid.all(), level
    rt = pyogrio.read_dataframe(city / "rt.geojson")
    assert rt["kode"].iloc[0] == f"{rt['kode_kel'].iloc[0]}-{rt['rw'].iloc[0]:03d}-{rt['rt'].iloc[0]:03d}"
    kel = pyogrio.read_dataframe(city / "kelurahan.geojson")
    bounds = kel.total_bounds
    assert 106.7 < bounds[0] < bounds[2] < 106.95 and -6.3 < bounds[1] < bounds[3] < -6.1  # Jakarta Pusat


def test_every_area_lies_in_its_parent_and_children_add_up(kota):
    city, _ = kota
    frames = {level: _metric(pyogrio.read_dataframe(city / f"{level}.geojson")) for level in LEVELS}
    parent_key = {"rt": lambda f: f["kode"].str[:14], "rw": lambda f: f["kode_kel"],
                  "kelurahan": lambda f: f["kode_kec"], "kecamatan": lambda f: f["kode_kab"]}
    for child, parent in (("rt", "rw"), ("rw", "kelurahan"), ("kelurahan", "kecamatan"), ("kecamatan", "kota")):
        c, p = frames[child], frames[parent].set_index("kode")
        key = parent_key[child](c)
        inside = shapely.area(shapely.intersection(c.geometry.values, p.geometry.reindex(key).values))
        assert (c.area.to_numpy() - inside < 5).all(), child  # m²: coordinates are rounded to ~1 cm
        total = c.area.groupby(key.to_numpy()).sum()
        np.testing.assert_allclose(total.sort_index(), p.area.sort_index(), rtol=1e-5, atol=20)


def test_whole_city_has_real_magnitudes_and_is_fast(dki):
    city, report, cpu_s = dki
    f = report.figures
    assert (f["kota"], f["kecamatan"], f["kelurahan"]) == (6, 44, 267)
    assert 2_600 <= f["rw"] <= 2_800 and 28_500 <= f["rt"] <= 31_500
    assert f["voters"] == 200_000 and f["dpt_rows"] == 200_000 + f["dirty_dpt"]["nik_duplicate"]
    for level in ("rw", "rt"):
        assert len(pyogrio.read_dataframe(city / f"{level}.geojson", read_geometry=False)) == f[level]
    assert cpu_s < 10, f"200,000 voters took {cpu_s:.1f} CPU seconds"
    kel = pyogrio.read_dataframe(city / "kelurahan.geojson")
    areas = _metric(kel).area / 1e6
    real = pd.read_csv(WILAYAH_CSV, dtype={"kode": str}).set_index("kode")["area_km2"]
    ratio = areas.to_numpy() / real.reindex(kel["kode"]).to_numpy()
    assert 0.9 < ratio.sum() / len(ratio) < 1.3 and 0.85 < areas.sum() / real.sum() < 1.2


# --- TPS mapping ---------------------------------------------------------------------------

def test_tps_respect_the_cap_and_keep_households_whole(kota):
    city, report = kota
    tps = _csv(city / "tps.csv")
    assert tps.columns.tolist() == TPS_COLUMNS
    tps = tps.drop_duplicates("kode_tps")
    dpt_count = tps["dpt"].astype(int)
    assert dpt_count.sum() == report.figures["voters"]
    assert (tps["dpt_l"].astype(int) + tps["dpt_p"].astype(int) == dpt_count).all()
    gaps = _csv(city / "truth" / "gaps.csv")
    planted = set(gaps.loc[gaps["gap"] == "overloaded_tps", "kode_tps"])
    over = set(tps.loc[dpt_count > CAP, "kode_tps"])
    assert over == planted and len(planted) >= 1
    assert (tps["kode_tps"] == tps["kode_kel"] + tps["no_tps"].str.zfill(3)).sum() >= len(tps) - 10
    dpt = _csv(city / "dpt.csv")
    spoilt = _lines(_dirty(city, "dpt.csv"), "nik_duplicate", "kode_kel_invalid", "rt_missing")
    clean = dpt[~pd.Series(np.arange(len(dpt)) + 2).isin(spoilt).to_numpy()]
    per_kk = clean.groupby("nkk")[["kode_kel", "tps", "rt", "rw", "alamat"]].nunique()
    assert (per_kk == 1).all().all(), "a household (KK) is split"
    assert clean.groupby("nkk").size().between(1, 6).all()
    assigned = clean["kode_kel"] + clean["tps"].str.zfill(3)
    assert assigned.isin(set(tps["kode_tps"])).all()
    counts = assigned.value_counts()
    assert (counts <= dpt_count.set_axis(tps["kode_tps"]).reindex(counts.index)).all()


def test_tps_rows_carry_addresses_coordinates_and_their_faults(kota):
    city, _ = kota
    tps = _csv(city / "tps.csv")
    truth = _csv(city / "truth" / "tps_truth.csv").set_index("kode_tps")
    dirty = _dirty(city, "tps.csv")
    line = pd.Series(np.arange(len(tps)) + 2)
    clean = tps[~line.isin(set(dirty["line"])).to_numpy()].set_index("kode_tps")
    given = truth["given"].reindex(clean.index)
    assert set(given) == {"coordinates", "address", "kelurahan"}
    assert 0.2 < (truth["given"] == "coordinates").mean() < 0.4
    only_kel = clean[given == "kelurahan"]
    assert (only_kel[["alamat", "rt", "rw", "lat", "lon"]] == "").all().all()
    with_address = clean[given != "kelurahan"]
    rt, rw = _rt_rw_from_address(with_address["alamat"])
    assert (rt == truth["rt"].reindex(with_address.index).astype(int)).all()
    assert (rw == truth["rw"].reindex(with_address.index).astype(int)).all()
    filled = with_address[with_address["rt"] != ""]
    assert (filled["rt"] == truth["rt"].reindex(filled.index)).all()
    kel = pyogrio.read_dataframe(city / "kelurahan.geojson").set_index("kode")
    gps = clean[given == "coordinates"]
    x, y = gps["lon"].astype(float).to_numpy(), gps["lat"].astype(float).to_numpy()
    assert shapely.contains_xy(kel.geometry.reindex(gps["kode_kel"]).values, x, y).all()
    tx, ty = truth.loc[gps.index, "lon"].astype(float), truth.loc[gps.index, "lat"].astype(float)
    assert (np.hypot((x - tx) * 110_000, (y - ty) * 110_000) < 60).all()
    faults = tps.set_index(line.to_numpy()).loc[sorted(_lines(dirty, *_COORD_KINDS))]
    kinds = dirty.set_index("line")["kind"].reindex(faults.index)
    assert (faults.loc[kinds == "coord_swapped", "lat"].astype(float) > 100).all()
    assert (faults.loc[kinds == "coord_sign", "lat"].astype(float) > 5).all()
    assert faults.loc[kinds == "coord_decimal_comma", "lat"].str.contains(",").all()
    wrong = faults[kinds == "coord_wrong_kelurahan"]
    in_own = shapely.contains_xy(kel.geometry.reindex(wrong["kode_kel"]).values, wrong["lon"].astype(float),
                                 wrong["lat"].astype(float))
    assert not in_own.any() and len(wrong) >= 1


_COORD_KINDS = ("coord_swapped", "coord_sign", "coord_decimal_comma", "coord_wrong_kelurahan")


def _rt_rw_from_address(alamat: pd.Series) -> tuple[pd.Series, pd.Series]:
    """RT and RW numbers from the five spellings the generator writes."""
    pair = alamat.str.extract(r"RT/RW (\d+)/(\d+)", flags=re.I)
    rt = pair[0].fillna(alamat.str.extract(r"\bRT\.?\s?(\d+)", flags=re.I)[0])
    rw = pair[1].fillna(alamat.str.extract(r"\bRW\.?\s?(\d+)", flags=re.I)[0])
    return rt.astype(int), rw.astype(int)


def test_true_tps_sites_lie_in_their_rt(kota):
    city, _ = kota
    truth = _csv(city / "truth" / "tps_truth.csv")
    rt = pyogrio.read_dataframe(city / "rt.geojson").set_index("kode")
    key = truth["kode_kel"] + "-" + truth["rw"].str.zfill(3) + "-" + truth["rt"].str.zfill(3)
    assert shapely.contains_xy(rt.geometry.reindex(key).values, truth["lon"].astype(float),
                               truth["lat"].astype(float)).all()
    same_rw = truth["rw"] == truth["rw_served"]
    assert same_rw.mean() > 0.97  # only planted TPS sit outside the RW they serve


# --- voters and NIKs -----------------------------------------------------------------------

def test_niks_are_valid_except_exactly_the_listed_dirty_rows(kota):
    city, _ = kota
    dpt = _csv(city / "dpt.csv")
    assert dpt.columns.tolist() == DPT_COLUMNS
    line = pd.Series(np.arange(len(dpt)) + 2, index=dpt.index)
    dirty = _dirty(city, "dpt.csv")
    problems = nik_problems(dpt["nik"])
    assert set(line[problems.notna()]) == _lines(dirty, "nik_length", "nik_excel", "nik_birth_date")
    assert set(line[problems.str.contains("scientific", na=False)]) == _lines(dirty, "nik_excel")
    valid = problems.isna()
    assert set(line[valid & dpt["nik"].where(valid).duplicated()]) == _lines(dirty, "nik_duplicate")
    assert set(line[kode_problems(dpt["kode_kel"], "kelurahan").notna()]) == _lines(dirty, "kode_kel_invalid")
    assert set(line[dpt["rt"] == ""]) == _lines(dirty, "rt_missing")
    assert set(dirty["line"]) == (_lines(dirty, *dirty["kind"].unique()))
    assert len(dirty) == dirty["line"].nunique()
    for kind, n in dirty["kind"].value_counts().items():
        assert n == round(0.005 * 60_000), kind


def test_voters_are_plausible_people(kota):
    city, _ = kota
    dpt = _csv(city / "dpt.csv")
    dirty = _dirty(city, "dpt.csv")
    clean = dpt[~pd.Series(np.arange(len(dpt)) + 2).isin(set(dirty["line"])).to_numpy()]
    born = pd.to_datetime(clean["tanggal_lahir"], format="%d-%m-%Y")
    ddmm, sex = nik_birth_sex(clean["nik"])
    assert (ddmm == born.dt.strftime("%d%m")).all() and (sex == clean["jenis_kelamin"]).all()
    assert (clean["nik"].str[10:12] == born.dt.strftime("%y")).all()
    assert born.min() >= pd.Timestamp("1933-02-15") and born.max() <= pd.Timestamp("2007-02-14")  # 17–90 years
    assert 35 < ((pd.Timestamp("2024-02-14") - born).dt.days / 365.25).mean() < 50
    local = clean["nik"].str[:6] == clean["kode_kel"].str[:6]
    assert 0.85 < local.mean() < 0.95
    assert clean.loc[~local, "nik"].str[:2].isin(PROVINCE_CODES - {"31"}).all()
    assert clean["nkk"].str.fullmatch(r"\d{16}").all() and (clean["nkk"].str[:6] == clean["kode_kel"].str[:6]).all()
    assert clean["nama"].str.fullmatch(r"[A-Z]+( [A-Z]+){0,2}").all()
    assert 0.45 < (clean["jenis_kelamin"] == "P").mean() < 0.55
    assert not (clean["alamat"].str.contains(",") | clean["nama"].str.contains(",")).any()  # written unquoted


# --- truth, gaps and the report ------------------------------------------------------------

def test_report_and_summary_match_the_files(kota):
    city, report = kota
    f = report.figures
    dirty = pd.read_csv(city / "truth" / "dirty_rows.csv")
    assert f["dpt_rows"] == len(_csv(city / "dpt.csv")) and f["tps_rows"] == len(_csv(city / "tps.csv"))
    assert f["tps"] == len(_csv(city / "truth" / "tps_truth.csv"))
    assert f["dirty_dpt"] == dirty[dirty["file"] == "dpt.csv"]["kind"].value_counts().to_dict()
    assert f["dirty_tps"] == dirty[dirty["file"] == "tps.csv"]["kind"].value_counts().to_dict()
    assert len(f["dirty_dpt"]) == 6 and len(f["dirty_tps"]) == 6
    summary = json.loads((city / "truth" / "summary.json").read_text())
    assert summary["parameters"] == {"voters": 60_000, "seed": 3, "kode": "3171", "dirty": True, "max_per_tps": 300,
                                     "dirty_share": 0.005}
    assert summary["counts"] == {k: v for k, v in f.items() if k != "seconds"}


@pytest.mark.parametrize("which", ["kota", "dki"])
def test_planted_gaps_are_there_and_alone(which, request):
    city = request.getfixturevalue(which)[0]
    gaps = _csv(city / "truth" / "gaps.csv")
    assert sorted(gaps["gap"].unique()) == ["overloaded_tps", "rw_no_tps_nearby", "too_few_tps"]
    assert set(gaps["cause"]) <= {"rw_no_tps_nearby", "too_few_tps", "overloaded_tps"}
    assert (gaps.loc[gaps["gap"] == "overloaded_tps", "cause"] == "overloaded_tps").sum() == 1
    tps = _csv(city / "tps.csv").drop_duplicates("kode_tps")
    few = gaps[gaps["gap"] == "too_few_tps"].iloc[0]
    mine = tps[tps["kode_tps"].str[:10] == few["kode_kel"]]
    assert len(mine) == int(few["n_tps"]) < mine["dpt"].astype(int).sum() / CAP
    deep = float(gaps.loc[gaps["gap"] == "rw_no_tps_nearby", "dist_nearest_m"].iloc[0])
    elsewhere = json.loads((city / "truth" / "summary.json").read_text())["gaps"][
        "max_dist_nearest_tps_m_outside_planted_rw"]
    assert deep > 500 > elsewhere, (deep, elsewhere)


def test_gap_distances_hold_when_measured_from_the_files(kota):
    """The generator's distance figures, recomputed independently from the written files."""
    city = kota[0]
    gaps = _csv(city / "truth" / "gaps.csv")
    nearest, in_gap = _nearest_tps_per_rt(city, gaps[gaps["gap"] == "rw_no_tps_nearby"].iloc[0])
    summary = json.loads((city / "truth" / "summary.json").read_text())["gaps"]
    assert summary["max_dist_nearest_tps_m_outside_planted_rw"] == pytest.approx(nearest[~in_gap].max(), abs=1)
    assert float(gaps.loc[gaps["gap"] == "rw_no_tps_nearby", "dist_nearest_m"].iloc[0]) == pytest.approx(
        nearest[in_gap].min(), abs=1)


def _nearest_tps_per_rt(city, gap) -> tuple[pd.Series, pd.Series]:
    """Straight-line distance (m) from each inhabited RT's representative point to the nearest
    true TPS site, and whether the RT is in the planted RW."""
    rt = pyogrio.read_dataframe(city / "rt.geojson")
    points = _metric(rt.set_geometry(shapely.point_on_surface(rt.geometry.values))).geometry
    truth = _csv(city / "truth" / "tps_truth.csv")
    sites = gpd.GeoSeries(gpd.points_from_xy(truth["lon"].astype(float), truth["lat"].astype(float)), crs=4326)
    sites = _metric(sites)
    dist = cKDTree(np.c_[sites.x, sites.y]).query(np.c_[points.x, points.y])[0]
    dpt = _csv(city / "dpt.csv")
    key = dpt["kode_kel"] + "-" + dpt["rw"].str.zfill(3) + "-" + dpt["rt"].str.zfill(3)
    inhabited = rt["kode"].isin(set(key)).to_numpy()
    in_gap = ((rt["kode_kel"] == gap["kode_kel"]) & (rt["rw"] == int(gap["rw"]))).to_numpy()
    return pd.Series(dist[inhabited]), pd.Series(in_gap[inhabited])


# --- the kelurahan table -------------------------------------------------------------------

@pytest.mark.real_data
def test_wilayah_table_is_what_the_script_derives(real_data):
    spec = importlib.util.spec_from_file_location("make_wilayah_table", ROOT / "scripts" / "make_wilayah_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    derived = module.build_table(real_data)
    committed = pd.read_csv(WILAYAH_CSV, dtype={"kode": str, "kode_kec": str, "kode_kab": str})
    assert len(committed) == 267 and committed["kode"].is_unique
    pd.testing.assert_frame_equal(committed, derived.astype(committed.dtypes.to_dict()), check_exact=False)
