"""Geocoding benchmark: accuracy on TPS with known positions, speed next to a plain sjoin, real data.

Usage::

    .venv/bin/python scripts/bench/geocode.py [--quick] [--seed 0]

1. Accuracy. The real kelurahan polygons are split into synthetic RW (Voronoi cells of seeded
   points, ~11.4 TPS per RW as in DKI) and RT (~11 per RW). Every real Pemilu 2024 TPS code gets a true
   point inside a random RT, then realistic noise in what the geocoder sees: coordinates for ~30 %
   (GPS jitter, decimal commas, DMS, both numbers in one field, swapped, sign slips, a point in another
   kelurahan, truncated, garbage), RT/RW in the address in the KPU forms (with typos) or in the rt/rw
   columns, misspelled kelurahan names and blank codes, missing fields. Printed per location_source:
   the share placed in the right RT, RW and kelurahan, and the median and 95th-percentile error (m).
   When ``geo.generate`` (the demo city generator) is installed, its city with ``truth/`` is scored too.
2. Speed: ``geocode_tps`` on all 30,766 TPS against ~2,700 RW and ~30,000 RT, next to a plain
   ``geopandas.sjoin`` of the true points with the RT layer, in the same run.
3. Real data: real kelurahan + real RW 2012 + the real TPS list (no addresses or coordinates) →
   every TPS at kelurahan level inside its own kelurahan.

Ends with one JSON line of the figures. ``--quick`` uses Jakarta Pusat only (~3,000 TPS).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.address import parse_rt_rw  # noqa: E402
from geo.crs import METRIC_EPSG  # noqa: E402
from geo.geocode import LOCATION_SOURCES, geocode_tps  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
KELURAHAN = REAL / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson"
RW_2012 = REAL / "inasafe-inasafe_data" / "dki_rw_2012.geojson"
TPS_CSV = REAL / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"
TPS_PER_RW = 11.4
RT_PER_RW = 11
COORD_FAULTS = {  # share of the TPS with coordinates
    "clean": 0.68, "decimal_comma": 0.08, "dms": 0.04, "one_field": 0.04, "swapped": 0.05,
    "sign": 0.04, "wrong_kelurahan": 0.04, "truncated": 0.02, "garbage": 0.01,
}
RTRW_FORMS = ["RT {rt:03d}/RW {rw:02d}", "RT.{rt} RW.{rw}", "Rt {rt:02d} Rw {rw:03d}", "RT/RW {rt:03d}/{rw:03d}",
              "rt{rt} rw{rw}", "RT {rt} / RW {rw}", "RT.{rt:02d}/RW.{rw:03d}"]


# --- inputs ---------------------------------------------------------------------------------------
def read_kelurahan() -> gpd.GeoDataFrame:
    kel = gpd.read_file(KELURAHAN).rename(columns={"kode_kemendagri": "kode"})
    return kel[["kode", "nama", "kode_kec", "kode_kab", "geometry"]]


def read_real_tps() -> pd.DataFrame:
    tps = pd.read_csv(TPS_CSV, dtype=str, keep_default_na=False)
    out = tps[["kode_tps", "kode_kel", "nama_kel"]].copy()
    out["no_tps"] = pd.to_numeric(tps["no_tps"]).astype("Int16")
    out["dpt"] = pd.to_numeric(tps["dpt"].replace("", None)).astype("Int32")
    return out


def read_real_rw() -> gpd.GeoDataFrame:
    rw = gpd.read_file(RW_2012).rename(columns={"kode_kel_2025": "kode_kel", "rw_no": "rw"})
    rw["rw"] = rw["rw"].astype("Int16")
    return rw[["kode_kel", "rw", "geometry"]]


# --- a synthetic RW/RT subdivision of the real kelurahan -----------------------------------------
def random_points(polygons: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n[i]`` uniform random points inside ``polygons[i]`` (via triangles); returns (points, owner)."""
    tris, owner = shapely.get_parts(shapely.constrained_delaunay_triangles(polygons), return_index=True)
    area = shapely.area(tris)
    poly = np.repeat(np.arange(len(polygons)), n)
    # Pick a triangle per point by area within its polygon: cumulative share offset by the owner index.
    cum = pd.Series(area).groupby(owner).cumsum().to_numpy() / np.bincount(owner, weights=area)[owner]
    t = np.searchsorted(owner + np.minimum(cum, 1.0), poly + rng.random(len(poly)))
    t = np.minimum(t, len(tris) - 1)
    corners = shapely.get_coordinates(shapely.get_exterior_ring(tris)).reshape(-1, 4, 2)[t]
    r1, r2 = rng.random(len(poly)), rng.random(len(poly))
    fold = r1 + r2 > 1
    r1, r2 = np.where(fold, 1 - r1, r1), np.where(fold, 1 - r2, r2)
    p = corners[:, 0] + r1[:, None] * (corners[:, 1] - corners[:, 0]) + r2[:, None] * (corners[:, 2] - corners[:, 0])
    return shapely.points(p), poly


def subdivide(polygons: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split ``polygons[i]`` into ``n[i]`` Voronoi cells of random inner points; returns (cells, owner)."""
    seeds, owner = random_points(polygons, n, rng)
    multi = shapely.multipoints(seeds, indices=owner)
    cells, cell_owner = shapely.get_parts(
        shapely.voronoi_polygons(multi, extend_to=polygons, ordered=True), return_index=True)
    cut = shapely.intersection(cells, polygons[cell_owner])
    parts, idx = shapely.get_parts(cut, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    out = np.empty(len(cut), dtype=object)
    shapely.multipolygons(parts[keep], indices=idx[keep], out=out)
    return out, cell_owner


def synthetic_city(kel: gpd.GeoDataFrame, tps: pd.DataFrame, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """RW and RT layers (conforming columns) over the real kelurahan."""
    rng = np.random.default_rng(seed)
    metric = kel.to_crs(METRIC_EPSG)
    n_tps = tps["kode_kel"].value_counts().reindex(kel["kode"]).fillna(0).to_numpy()
    n_rw = np.maximum(1, np.round(n_tps / TPS_PER_RW)).astype(int)
    rw_geom, rw_owner = subdivide(metric.geometry.to_numpy(), n_rw, rng)
    rw = gpd.GeoDataFrame({"kode_kel": kel["kode"].to_numpy()[rw_owner]}, geometry=rw_geom, crs=METRIC_EPSG)
    rw["rw"] = (rw.groupby("kode_kel").cumcount() + 1).astype("Int16")
    rt_geom, rt_owner = subdivide(rw_geom, np.full(len(rw), RT_PER_RW), rng)
    rt = gpd.GeoDataFrame({"kode_kel": rw["kode_kel"].to_numpy()[rt_owner], "rw": rw["rw"].to_numpy()[rt_owner]},
                          geometry=rt_geom, crs=METRIC_EPSG)
    rt["rt"] = (rt.groupby(["kode_kel", "rw"]).cumcount() + 1).astype("Int16")
    rw, rt = rw[rw.geometry.notna()], rt[rt.geometry.notna()]
    return rw.to_crs(4326).reset_index(drop=True), rt.to_crs(4326).reset_index(drop=True)


def synthetic_tps(tps: pd.DataFrame, kel: gpd.GeoDataFrame, rt: gpd.GeoDataFrame, seed: int) -> pd.DataFrame:
    """Truth (``true_*`` columns) and the noisy fields the geocoder sees, one row per real TPS code."""
    rng = np.random.default_rng(seed + 1)
    order = np.argsort(rt["kode_kel"].to_numpy(dtype=str), kind="stable")
    kel_of_rt = rt["kode_kel"].to_numpy(dtype=str)[order]
    codes = tps["kode_kel"].to_numpy(dtype=str)
    start = np.searchsorted(kel_of_rt, codes, side="left")
    count = np.searchsorted(kel_of_rt, codes, side="right") - start
    pick = order[start + np.floor(rng.random(len(codes)) * count).astype(int)]
    metric_rt = rt.geometry.to_crs(METRIC_EPSG).to_numpy()
    pts, _ = random_points(metric_rt[pick], np.ones(len(pick), dtype=int), rng)
    true = gpd.GeoSeries(pts, crs=METRIC_EPSG).to_crs(4326)
    out = tps.reset_index(drop=True).copy()
    out["true_rw"], out["true_rt"] = rt["rw"].to_numpy()[pick], rt["rt"].to_numpy()[pick]
    out["true_lon"], out["true_lat"] = true.x.to_numpy(), true.y.to_numpy()
    out["true_kel"] = out["kode_kel"]
    return add_noise(out, kel, rng)


def add_noise(t: pd.DataFrame, kel: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(t)
    t["lat_src"], t["lon_src"], t["alamat"] = pd.NA, pd.NA, pd.NA
    t["rw"], t["rt"] = pd.array([pd.NA] * n, dtype="Int16"), pd.array([pd.NA] * n, dtype="Int16")
    has_coords = rng.random(n) < 0.30
    kinds = np.array(list(COORD_FAULTS))
    t["coord_fault"] = pd.Series(np.where(has_coords, rng.choice(kinds, n, p=list(COORD_FAULTS.values())), ""))
    _coordinates(t, kel, rng)
    form = rng.integers(0, len(RTRW_FORMS), n)
    use_address = rng.random(n) < 0.65
    typo = rng.random(n) < 0.04
    street = "Jl. Melati Raya No. " + pd.Series(rng.integers(1, 120, n)).astype(str)
    rtrw = [RTRW_FORMS[f].format(rt=int(a), rw=int(b)) for f, a, b in zip(form, t["true_rt"], t["true_rw"])]
    rtrw = pd.Series(rtrw).where(~typo, pd.Series(rtrw).str.replace("0", "O", n=1).str.replace("RT", "R T", n=1))
    t["alamat"] = (street + ", " + rtrw).where(use_address, street.where(rng.random(n) < 0.3))
    columns = rng.random(n) < 0.20
    t.loc[columns, "rw"] = t.loc[columns, "true_rw"]
    t.loc[columns, "rt"] = t.loc[columns, "true_rt"]
    t["rtrw_given"] = use_address | columns
    misspell = rng.random(n) < 0.03
    t["nama_kel"] = t["nama_kel"].where(~misspell, t["nama_kel"].str.replace(r"([aeiou])", r"\1\1", n=1, regex=True))
    blank = rng.random(n) < 0.01
    t.loc[blank, "kode_kel"] = pd.NA
    return t


def _coordinates(t: pd.DataFrame, kel: gpd.GeoDataFrame, rng: np.random.Generator) -> None:
    n = len(t)
    jitter = gpd.GeoSeries(shapely.points(t["true_lon"], t["true_lat"]), crs=4326).to_crs(METRIC_EPSG)
    jitter = gpd.GeoSeries(shapely.points(jitter.x + rng.normal(0, 10, n), jitter.y + rng.normal(0, 10, n)),
                           crs=METRIC_EPSG).to_crs(4326)
    lat, lon = jitter.y.to_numpy().copy(), jitter.x.to_numpy().copy()
    wrong = (t["coord_fault"] == "wrong_kelurahan").to_numpy()
    if wrong.any():  # the centre of a kelurahan 3+ km away (a KPPS copying another TPS's pin)
        far = _far_kelurahan_points(t.loc[wrong, "kode_kel"], kel, rng)
        lat[wrong], lon[wrong] = far.y, far.x
    f = t["coord_fault"]
    fmt = lambda v, d=6: pd.Series(v).map(lambda x: f"{x:.{d}f}")  # noqa: E731
    la, lo = fmt(lat), fmt(lon)
    t["lat_src"] = la.where(f != "", pd.NA)
    t["lon_src"] = lo.where(f != "", pd.NA)
    faults = {
        "decimal_comma": (la.str.replace(".", ","), lo.str.replace(".", ",")),
        "dms": (_dms(lat, "LS", "LU"), _dms(lon, "BB", "BT")),
        "one_field": (la + ", " + lo, pd.Series([pd.NA] * n)),
        "swapped": (lo, la),
        "sign": (fmt(-lat), lo),
        "truncated": (fmt(lat, 2), fmt(lon, 2)),
        "garbage": (pd.Series(["-6.17.54.11"] * n), lo),
    }
    for kind, (a, b) in faults.items():
        t["lat_src"] = t["lat_src"].mask(f == kind, a)
        t["lon_src"] = t["lon_src"].mask(f == kind, b)


def _dms(v: np.ndarray, neg: str, pos: str) -> pd.Series:
    a = np.abs(v)
    d, m = np.floor(a), np.floor((a % 1) * 60)
    s = ((a * 3600) % 60).round(1)
    hemi = np.where(v < 0, neg, pos)
    return pd.Series([f"{int(x)}°{int(y)}'{z:.1f}\" {h}" for x, y, z, h in zip(d, m, s, hemi)])


def _far_kelurahan_points(kode: pd.Series, kel: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoSeries:
    centre = kel.geometry.to_crs(METRIC_EPSG).representative_point()
    own = pd.Index(kel["kode"]).get_indexer(kode)
    other = (own + rng.integers(20, len(kel) - 20, len(own))) % len(kel)
    dist = centre.iloc[own].distance(centre.iloc[other], align=False).to_numpy()
    other = np.where(dist < 3000, (other + len(kel) // 2) % len(kel), other)
    return kel.geometry.representative_point().iloc[other]


# --- scoring --------------------------------------------------------------------------------------
def score(out: gpd.GeoDataFrame, t: pd.DataFrame, kel: gpd.GeoDataFrame, rw: gpd.GeoDataFrame,
          rt: gpd.GeoDataFrame) -> dict:
    """Per location_source: share in the right RT / RW / kelurahan, median and p95 error (m)."""
    placed = out.geometry.notna().to_numpy()
    x, y = np.where(placed, out.geometry.x, np.nan), np.where(placed, out.geometry.y, np.nan)
    in_rt = _inside(rt, ["kode_kel", "rw", "rt"], t[["true_kel", "true_rw", "true_rt"]], x, y)
    in_rw = _inside(rw, ["kode_kel", "rw"], t[["true_kel", "true_rw"]], x, y)
    in_kel = _inside(kel.rename(columns={"kode": "kode_kel"}), ["kode_kel"], t[["true_kel"]], x, y)
    true_m = gpd.GeoSeries(shapely.points(t["true_lon"], t["true_lat"]), crs=4326).to_crs(METRIC_EPSG)
    got_m = gpd.GeoSeries(out.geometry.to_numpy(), crs=4326).to_crs(METRIC_EPSG)
    err = true_m.distance(got_m, align=False).to_numpy()
    src = out["location_source"].fillna("unplaced").to_numpy()
    levels = {}
    for level in (*LOCATION_SOURCES, "unplaced"):
        m = src == level
        if m.any():
            e = err[m & placed]
            levels[level] = {"n": int(m.sum()), "right_rt": _share(in_rt[m]), "right_rw": _share(in_rw[m]),
                             "right_kelurahan": _share(in_kel[m]),
                             "median_error_m": round(float(np.median(e)), 1) if len(e) else None,
                             "p95_error_m": round(float(np.percentile(e, 95)), 1) if len(e) else None}
    return {"levels": levels, "targets": _targets(out, t, in_rw, in_kel, err)}


def _targets(out, t, in_rw, in_kel, err) -> dict:
    src = out["location_source"].to_numpy()
    flags = out["flags"].fillna("")
    rtrw = t["rtrw_given"].to_numpy(dtype=bool)
    address = np.isin(src, ["address_rt", "address_rw"])
    fault = t["coord_fault"].to_numpy()
    swapped = fault == "swapped"
    wrong = fault == "wrong_kelurahan"
    kept_right = (src == "coordinates") & (err < 100)
    caught_swap = swapped & flags.str.contains("coords_swapped_lat_lon").to_numpy() & kept_right
    rejected_wrong = wrong & flags.str.contains("coords_outside_kelurahan").to_numpy() & (src != "coordinates")
    # within the tolerance of its own kelurahan a wrong point is kept, but flagged
    flagged_wrong = wrong & flags.str.contains("kelurahan_mismatch|coords_near_edge|outside_dki").to_numpy()
    caught_wrong = rejected_wrong | flagged_wrong
    sign = fault == "sign"
    caught_sign = sign & flags.str.contains("coords_lat_sign_fixed").to_numpy() & kept_right
    own = pd.Index(out["kode_kel"]).notna()
    return {
        "rtrw_parseable_right_rw_share": _share(in_rw[rtrw]),
        "rtrw_parseable_address_level_right_rw_share": _share(in_rw[rtrw & address]),
        "rtrw_parseable_placed_by_address_share": _share(address[rtrw]),
        "outside_own_kelurahan_non_coordinates": int((~in_kel & own & (src != "coordinates")).sum()),
        "outside_own_kelurahan_all": int((~in_kel & own).sum()),
        "swapped_injected": int(swapped.sum()), "swapped_caught": int(caught_swap.sum()),
        "sign_injected": int(sign.sum()), "sign_caught": int(caught_sign.sum()),
        "wrong_kelurahan_injected": int(wrong.sum()), "wrong_kelurahan_caught": int(caught_wrong.sum()),
        "wrong_kelurahan_rejected": int(rejected_wrong.sum()),
        "wrong_kelurahan_kept_flagged": int((flagged_wrong & ~rejected_wrong).sum()),
    }


def _inside(layer: gpd.GeoDataFrame, keys: list[str], truth: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    lk = pd.MultiIndex.from_frame(layer[keys].astype("string"))
    tk = pd.MultiIndex.from_frame(truth.astype("string").set_axis(keys, axis=1))
    pos = lk.get_indexer(tk)
    ok = (pos >= 0) & ~np.isnan(x)
    inside = np.zeros(len(x), dtype=bool)
    inside[ok] = shapely.intersects_xy(layer.geometry.to_numpy()[pos[ok]], x[ok], y[ok])
    return inside


def _share(mask: np.ndarray) -> float | None:
    return round(float(mask.mean()), 4) if len(mask) else None


# --- runs -----------------------------------------------------------------------------------------
def run_synthetic(kel, tps, seed: int) -> dict:
    t0 = time.perf_counter()
    rw, rt = synthetic_city(kel, tps, seed)
    noisy = synthetic_tps(tps, kel, rt, seed)
    setup = time.perf_counter() - t0
    inputs = noisy.drop(columns=[c for c in noisy.columns if c.startswith("true_")])
    t0, c0 = time.perf_counter(), time.process_time()
    out, report = geocode_tps(inputs, kel, rw, rt)
    geocode_s, geocode_cpu = time.perf_counter() - t0, time.process_time() - c0
    points = gpd.GeoDataFrame(geometry=shapely.points(noisy["true_lon"], noisy["true_lat"]), crs=4326)
    t0, c0 = time.perf_counter(), time.process_time()
    gpd.sjoin(points, rt, predicate="within", how="left")
    sjoin_s, sjoin_cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    out2, _ = geocode_tps(out, kel, rw, rt)
    rerun_s = time.perf_counter() - t1
    result = score(out, noisy, kel, rw, rt)
    result["speed"] = {"tps": len(out), "rw": len(rw), "rt": len(rt), "kelurahan": len(kel),
                       "geocode_s": round(geocode_s, 2), "plain_sjoin_rt_s": round(sjoin_s, 2),
                       "geocode_cpu_s": round(geocode_cpu, 2), "plain_sjoin_rt_cpu_s": round(sjoin_cpu, 2),
                       "rerun_s": round(rerun_s, 2), "setup_s": round(setup, 1)}
    result["idempotent"] = bool(out.equals(out2) and out.geometry.geom_equals_exact(out2.geometry, 0).all())
    result["flags"] = report.figures["flags"]
    return result


def run_generated(seed: int, voters: int) -> dict | None:
    """Score the demo city of ``geo.generate`` (loaded with the real loaders) when it exists."""
    try:
        from geo.boundaries import read_boundaries
        from geo.generate import generate_city
        from geo.stations import read_tps
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        try:
            generate_city(d, voters=voters, seed=seed)
            kel, _ = read_boundaries(d / "kelurahan.geojson", "kelurahan")
            rw, _ = read_boundaries(d / "rw.geojson", "rw")
            rt, _ = read_boundaries(d / "rt.geojson", "rt")
            tps, _ = read_tps(d / "tps.csv")
            raw = pd.read_csv(d / "tps.csv", dtype=str, keep_default_na=False)
            truth = pd.read_csv(d / "truth" / "tps_truth.csv", dtype={"kode_tps": str, "kode_kel": str})
            dirty = pd.read_csv(d / "truth" / "dirty_rows.csv")
        except Exception as exc:  # another module's work in progress: report, do not fail the bench
            return {"error": f"{type(exc).__name__}: {exc}"}
    dirty = dirty[(dirty["file"] == "tps.csv") & dirty["kind"].str.startswith("coord_")]
    fault = pd.Series(dirty["kind"].str.removeprefix("coord_").to_numpy(),
                      index=raw["kode_tps"].to_numpy()[dirty["line"].to_numpy() - 2])
    t = tps[["kode_tps", "alamat", "rw", "rt"]].merge(
        truth.rename(columns={"lon": "true_lon", "lat": "true_lat", "kode_kel": "true_kel", "rw": "true_rw",
                              "rt": "true_rt"}), on="kode_tps", how="left")
    parsed = parse_rt_rw(t["alamat"])
    t["rtrw_given"] = (t["rw"].notna() | parsed["rw"].notna()).to_numpy()
    t["coord_fault"] = fault.reindex(t["kode_tps"]).fillna("").to_numpy()
    t0 = time.perf_counter()
    out, report = geocode_tps(tps, kel, rw, rt)
    seconds = time.perf_counter() - t0
    result = score(out, t, kel, rw, rt)
    result.update(tps=int(len(out)), rw=int(len(rw)), rt=int(len(rt)), geocode_s=round(seconds, 2),
                  flags=report.figures["flags"])
    return result


def run_real() -> dict:
    kel, rw, tps = read_kelurahan(), read_real_rw(), read_real_tps()
    t0 = time.perf_counter()
    out, report = geocode_tps(tps, kel, rw)
    seconds = time.perf_counter() - t0
    f = report.figures
    return {"tps": len(out), "rw": len(rw), "seconds": round(seconds, 2),
            "kelurahan_level": f["location_source"]["kelurahan"], "unplaced": f["location_source"]["unplaced"],
            "inside_own_kelurahan": f["inside_own_kelurahan"], "outside_own_kelurahan": f["outside_own_kelurahan"],
            "flags": f["flags"], "all_inside_at_kelurahan_level": bool(
                f["inside_own_kelurahan"] == len(out) == f["location_source"]["kelurahan"])}


def _print_levels(title: str, result: dict) -> None:
    print(f"\n{title}")
    print(f"  {'source':<12} {'n':>7} {'right RT':>9} {'right RW':>9} {'right kel':>10} {'median m':>9} {'p95 m':>8}")
    for level, r in result["levels"].items():
        cells = [_pct(r["right_rt"]), _pct(r["right_rw"]), _pct(r["right_kelurahan"])]
        print(f"  {level:<12} {r['n']:>7,} {cells[0]:>9} {cells[1]:>9} {cells[2]:>10} "
              f"{r['median_error_m'] or '-':>9} {r['p95_error_m'] or '-':>8}")
    for k, v in result["targets"].items():
        print(f"  {k}: {v}")


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Jakarta Pusat only (~3,000 TPS)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    kel, tps = read_kelurahan(), read_real_tps()
    if args.quick:
        tps = tps[tps["kode_kel"].str.startswith("3171")]
    synthetic = run_synthetic(kel, tps, args.seed)
    _print_levels(f"accuracy, synthetic RW/RT over the real kelurahan ({len(tps):,} TPS, seed {args.seed})", synthetic)
    s = synthetic["speed"]
    print(f"\nspeed: geocode_tps {s['tps']:,} TPS vs {s['rw']:,} RW / {s['rt']:,} RT: {s['geocode_s']:.2f} s "
          f"(CPU {s['geocode_cpu_s']:.2f} s); plain geopandas.sjoin(points, RT): {s['plain_sjoin_rt_s']:.2f} s "
          f"(CPU {s['plain_sjoin_rt_cpu_s']:.2f} s); re-run {s['rerun_s']:.2f} s; idempotent: {synthetic['idempotent']}")
    print(f"flags: {synthetic['flags']}")
    generated = run_generated(args.seed, 100_000 if args.quick else 300_000)
    if generated and "levels" in generated:
        _print_levels(f"accuracy, geo.generate demo city ({generated['tps']:,} TPS)", generated)
    elif generated:
        print(f"\ngeo.generate city not scored: {generated['error']}")
    real = run_real()
    print(f"\nreal data: {real['tps']:,} TPS, {real['rw']:,} RW 2012: kelurahan level {real['kelurahan_level']:,}, "
          f"inside own kelurahan {real['inside_own_kelurahan']:,}, unplaced {real['unplaced']}, "
          f"{real['seconds']:.2f} s -> all inside at kelurahan level: {real['all_inside_at_kelurahan_level']}")
    print(json.dumps({"bench": "geocode", "quick": args.quick, "seed": args.seed, "synthetic": synthetic,
                      "generated": generated, "real": real}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
