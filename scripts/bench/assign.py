"""Benchmark of petatps assign: nearest TPS, DPT distance, capacity mapping, walking distance.

    .venv/bin/python scripts/bench/assign.py [--quick] [--voters N] [--no-postgis] [--no-network]

Generates a city (voters, RT polygons, TPS; 8.3 M voters by default, 300 k with --quick), times
``voter_locations`` + ``assign_voters`` on all of it, and, on a sample of voters, the same question
answered by ``geopandas.sjoin_nearest`` and by PostGIS (``CROSS JOIN LATERAL ... ORDER BY geom <-> geom
LIMIT 1`` on temporary tables in ``PETATPS_TEST_DB``; see scripts/pg-env), then prints petatps's speed-up
per voter. It also times ``plan_capacity`` on all kelurahan and the walking distances on the full
Jakarta road file. The last line printed is one JSON object with every figure.

The city is synthetic (no personal data): the real 267 kelurahan polygons of DKI when
../shared/data/real is present (else a grid), RT squares of 60 m at random points inside them,
~270 voters per RT in KK of 1-6, ~1 TPS per 270 voters at RT points, and a DPT assignment that fills
TPS in RW/RT order (as a KPU list does) rather than by distance.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.assign import assign_voters, voter_locations  # noqa: E402
from geo.crs import METRIC_EPSG, STORAGE_EPSG  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
KELURAHAN = REAL / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson"
ROADS = REAL / "inasafe-inasafe_data" / "jakarta_roads_osm_2012.gpkg"
VOTERS_PER_RT = 270
RT_PER_RW = 10
RT_SIDE_M = 60.0
DPT_FILL = 280                      # the generated DPT fills each TPS with about this many voters

log = logging.getLogger("bench.assign")


# --- synthetic city -------------------------------------------------------------------------

def kelurahan_polygons() -> gpd.GeoDataFrame:
    """The real DKI kelurahan (EPSG:4326) when available, else a 16 × 17 grid of 1.2 km squares."""
    if KELURAHAN.exists():
        gdf = gpd.read_file(KELURAHAN, columns=["kode_kemendagri"])
        gdf = gdf.rename(columns={"kode_kemendagri": "kode"})
        gdf = gdf[gdf["kode"].str.startswith("317")]  # mainland: Kepulauan Seribu islands are tiny
        return gdf.sort_values("kode").reset_index(drop=True)[["kode", "geometry"]]
    i = np.arange(267)
    x0, y0 = 690_000 + (i % 16) * 1200.0, 9_300_000 + (i // 16) * 1200.0
    boxes = shapely.box(x0, y0, x0 + 1200, y0 + 1200)
    codes = [f"3171{k // 100 + 1:02d}{1001 + k % 100}" for k in i]
    return gpd.GeoDataFrame({"kode": codes}, geometry=boxes, crs=METRIC_EPSG).to_crs(STORAGE_EPSG)


def synthetic_city(n_voters: int, seed: int = 0) -> dict:
    """Frames of a generated city: ``kelurahan``, ``rt`` (GeoDataFrames), ``tps`` and ``voters``."""
    rng = np.random.default_rng(seed)
    kel = kelurahan_polygons()
    kel_m = kel.to_crs(METRIC_EPSG)
    share = rng.uniform(0.5, 1.5, len(kel))
    n_rt = np.maximum(1, np.round(share / share.sum() * n_voters / VOTERS_PER_RT)).astype(int)
    rt_kel = np.repeat(np.arange(len(kel)), n_rt)
    x, y = _points_inside(kel_m.geometry.values, n_rt, rng)
    rank = np.arange(len(rt_kel)) - np.repeat(np.cumsum(n_rt) - n_rt, n_rt)
    rt_rw, rt_no = rank // RT_PER_RW + 1, rank % RT_PER_RW + 1
    to_ll = Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)
    squares = shapely.transform(shapely.box(x - RT_SIDE_M / 2, y - RT_SIDE_M / 2, x + RT_SIDE_M / 2,
                                            y + RT_SIDE_M / 2), lambda c: np.column_stack(to_ll.transform(*c.T)))
    kode_kel = kel["kode"].to_numpy()[rt_kel]
    rt = gpd.GeoDataFrame({"kode_kel": pd.array(kode_kel, dtype="string"), "rw": pd.array(rt_rw, dtype="Int16"),
                           "rt": pd.array(rt_no, dtype="Int16")}, geometry=squares, crs=STORAGE_EPSG)
    sizes = np.maximum(1, rng.poisson(VOTERS_PER_RT, len(rt_kel)))
    voters, tps = _voters_and_tps(rt, x, y, sizes, rng)
    return {"kelurahan": kel, "rt": rt, "tps": tps, "voters": voters}


def _points_inside(polys: np.ndarray, counts: np.ndarray, rng: np.random.Generator):
    """``counts[i]`` uniform random points inside ``polys[i]`` (metric), by rejection in the bbox."""
    owner = np.repeat(np.arange(len(polys)), counts)
    x, y = np.empty(len(owner)), np.empty(len(owner))
    todo = np.arange(len(owner))
    bounds = shapely.bounds(polys)
    while len(todo):
        b = bounds[owner[todo]]
        px, py = rng.uniform(b[:, 0], b[:, 2]), rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(polys[owner[todo]], px, py)
        x[todo[inside]], y[todo[inside]] = px[inside], py[inside]
        todo = todo[~inside]
    return x, y


def _voters_and_tps(rt: gpd.GeoDataFrame, x, y, sizes, rng):
    """Voters in KK of 1-6 per RT; TPS at RT points; the DPT fills TPS in RT order (~DPT_FILL each)."""
    n = int(sizes.sum())
    rt_of_voter = np.repeat(np.arange(len(rt)), sizes)
    kk_size = rng.integers(1, 7, n)          # more KK sizes than needed; cut at each RT boundary below
    kk_start = np.zeros(n, dtype=bool)
    pos = np.cumsum(kk_size)
    kk_start[pos[pos < n]] = True
    kk_start[np.cumsum(sizes)[:-1]] = True   # a KK never spans two RTs
    kk_start[0] = True
    kk_id = np.cumsum(kk_start) - 1
    kel_codes = rt["kode_kel"].to_numpy()
    kel_of_voter = rt_of_voter_kel = pd.factorize(kel_codes)[0][rt_of_voter]
    first_of_kel = np.r_[True, rt_of_voter_kel[1:] != rt_of_voter_kel[:-1]]
    rank_in_kel = np.arange(n) - np.maximum.accumulate(np.where(first_of_kel, np.arange(n), 0))
    dpt_no = rank_in_kel // DPT_FILL + 1
    # TPS of each kelurahan at the RT holding its middle voter (KPU places a TPS among its voters).
    tps_key = kel_of_voter.astype(np.int64) * 1000 + dpt_no
    uniq, first, count = np.unique(tps_key, return_index=True, return_counts=True)
    mid = first + count // 2
    tps_rt = rt_of_voter[mid]
    jitter = rng.normal(0, 40, (len(uniq), 2))
    to_ll = Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)
    lon, lat = to_ll.transform(x[tps_rt] + jitter[:, 0], y[tps_rt] + jitter[:, 1])
    tps_code = pd.Series(kel_codes[tps_rt], dtype="string") + pd.Series(uniq % 1000).astype("string").str.zfill(3)
    tps = gpd.GeoDataFrame({"kode_tps": tps_code.array, "kode_kel": pd.array(kel_codes[tps_rt], dtype="string")},
                           geometry=shapely.points(lon, lat), crs=STORAGE_EPSG)
    voter_tps = pa.array(tps_code.to_numpy(dtype=object)).take(pa.array(np.searchsorted(uniq, tps_key)))
    voters = pd.DataFrame({
        "voter_key": _hex_keys(n, rng), "kk_key": _hex_keys(int(kk_id[-1]) + 1, rng).take(kk_id).array,
        "kode_kel": pd.arrays.ArrowStringArray(pa.array(kel_codes.astype(object)).take(pa.array(rt_of_voter))
                                               .cast(pa.large_string())),
        "rw": pd.array(rt["rw"].to_numpy()[rt_of_voter], dtype="Int16"),
        "rt": pd.array(rt["rt"].to_numpy()[rt_of_voter], dtype="Int16"),
        "kode_tps": pd.arrays.ArrowStringArray(voter_tps.cast(pa.large_string())),
    })
    return voters, tps


def _hex_keys(n: int, rng: np.random.Generator) -> pd.Series:
    """``n`` random 32-character hex keys (stand-ins for the keyed NIK/KK hashes)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2], hexed[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    arr = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(hexed.tobytes())])
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.binary()).cast(pa.large_string())))


# --- timings --------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_petatps(city: dict) -> dict:
    t0 = time.perf_counter()
    locs = voter_locations(city["voters"], rt=city["rt"], kelurahan=city["kelurahan"])
    t1 = time.perf_counter()
    out, report = assign_voters(city["voters"], locs, city["tps"])
    t2 = time.perf_counter()
    n = len(out)
    return {"voters": n, "locations": len(locs), "tps": len(city["tps"]), "locations_s": round(t1 - t0, 2),
            "assign_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
            "per_voter_us": round((t2 - t0) / n * 1e6, 3), "report": report.figures,
            "_out": out, "_locs": locs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 k voters, smaller samples")
    ap.add_argument("--voters", type=int, default=None)
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--no-network", action="store_true")
    ap.add_argument("--no-capacity", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    n = args.voters or (300_000 if args.quick else 8_300_000)
    t = time.perf_counter()
    city = synthetic_city(n)
    figures = {"generate_s": round(time.perf_counter() - t, 1)}
    res = time_petatps(city)
    figures["petatps"] = {k: v for k, v in res.items() if not k.startswith("_")}
    figures["peak_rss_mb"] = round(peak_rss_mb())
    print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
