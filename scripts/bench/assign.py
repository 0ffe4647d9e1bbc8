"""Benchmark of petatps assign: nearest TPS, DPT distance, capacity mapping, walking distance.

    .venv/bin/python scripts/bench/assign.py [--quick] [--voters N] [--city generate|synthetic]
                                             [--no-postgis] [--no-network] [--no-capacity]

The city: ``geo.generate.generate_city`` (run once in a subprocess and kept in --workdir; TPS at their
true points from truth/tps_truth.csv, voters from dpt.csv with the NIK never read and the KK number
replaced by an integer id), or a synthetic city when geo.generate is absent (--city synthetic): the real
DKI kelurahan, 60 m RT squares, KK of 1-6 and a DPT that fills TPS in RT order. 8.3 M voters by
default, 300 k with --quick.

Timed in the same run: ``voter_locations`` + ``assign_voters`` on every voter (nearest in the own
kelurahan, nearest overall, DPT distance); on a sample of voters, the same answers from
``geopandas.sjoin_nearest`` (overall, and per kelurahan in a loop) and from PostGIS (``CROSS JOIN LATERAL
... ORDER BY geom <-> geom LIMIT 1`` on temporary tables in ``PETATPS_TEST_DB``, else the URL printed by
scripts/pg-env), with petatps's speed-up per voter; ``plan_capacity`` on all kelurahan (distance before /
after, voters moved); ``build_graph`` + walking distances on the full Jakarta road file. CPU seconds are
``time.process_time``; peak memory is ``ru_maxrss`` of this process. The last line is one JSON object.
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


# --- generated city (geo.generate) ------------------------------------------------------------

GENERATE = r"""
import json, sys
from geo.generate import generate_city
r = generate_city(sys.argv[1], voters=int(sys.argv[2]), seed=0, dirty=False)
print(json.dumps(r.figures, default=str))
"""


def generated_city(n_voters: int, workdir: Path) -> dict:
    """geo.generate's city of ``n_voters`` (generated once into ``workdir`` by a child process, so its
    memory is not this process's), read back as stored-layer frames."""
    import subprocess

    folder = workdir / f"city-{n_voters}"
    if not (folder / "truth" / "tps_truth.csv").exists():
        log.info("generating %s voters with geo.generate into %s", f"{n_voters:,}", folder)
        subprocess.run([sys.executable, "-c", GENERATE, str(folder), str(n_voters)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    layers = {lv: gpd.read_file(folder / f"{lv}.geojson") for lv in ("kelurahan", "rw", "rt")}
    truth = pd.read_csv(folder / "truth" / "tps_truth.csv", dtype={"kode_tps": str, "kode_kel": str})
    tps = gpd.GeoDataFrame(truth[["kode_tps", "kode_kel"]].astype("string"),
                           geometry=gpd.points_from_xy(truth["lon"], truth["lat"]), crs=STORAGE_EPSG)
    return {**layers, "tps": tps, "voters": read_generated_dpt(folder / "dpt.csv")}


def read_generated_dpt(path: Path) -> pd.DataFrame:
    """The voters layer columns assign needs, from a generated dpt.csv (NIK and names never read)."""
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    cols = ["nkk", "rt", "rw", "kode_kel", "tps"]
    tbl = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
        include_columns=cols, column_types={c: pa.string() for c in cols}))
    kk = pc.dictionary_encode(tbl["nkk"]).combine_chunks().indices            # an id, not the KK number
    tps = pc.binary_join_element_wise(tbl["kode_kel"], pc.utf8_lpad(tbl["tps"], 3, "0"), "")
    rng = np.random.default_rng(7)

    def text(a):
        return pd.arrays.ArrowStringArray(pa.chunked_array([a]).cast(pa.large_string()).combine_chunks())

    def small(a):
        return pd.array(pc.cast(a, pa.int16()).to_numpy(zero_copy_only=False), dtype="Int16")

    return pd.DataFrame({"voter_key": _hex_keys(tbl.num_rows, rng).array, "kk_key": text(pc.cast(kk, pa.string())),
                         "kode_kel": text(tbl["kode_kel"].combine_chunks()), "rw": small(tbl["rw"]),
                         "rt": small(tbl["rt"]), "kode_tps": text(tps.combine_chunks())})


# --- timings --------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def figures(self, n: int | None = None) -> dict:
        out = {"wall_s": round(self.wall, 2), "cpu_s": round(self.cpu, 2)}
        if n:
            out["per_voter_us"] = round(self.wall / n * 1e6, 3)
        return out


def time_petatps(city: dict) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    with Clock() as c_loc:
        locs = voter_locations(city["voters"], rt=city.get("rt"), rw=city.get("rw"), kelurahan=city["kelurahan"])
    with Clock() as c_all:
        out, report = assign_voters(city["voters"], locs, city["tps"])
    n = len(out)
    total = {"wall_s": round(c_loc.wall + c_all.wall, 2), "cpu_s": round(c_loc.cpu + c_all.cpu, 2),
             "per_voter_us": round((c_loc.wall + c_all.wall) / n * 1e6, 4)}
    figures = {"voters": n, "locations": len(locs), "tps": len(city["tps"]), "locations_time": c_loc.figures(),
               "assign_time": c_all.figures(), "total": total,
               "report": {k: v for k, v in report.figures.items() if k not in ("locations_by_level",)}}
    return figures, out, locs


def sample_points(out: pd.DataFrame, n: int) -> pd.DataFrame:
    """A reproducible sample of voters with a location, their metric x/y and kelurahan."""
    has = out[out["lon"].notna()]
    pick = has.sample(n=min(n, len(has)), random_state=0)
    x, y = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True).transform(pick["lon"], pick["lat"])
    return pd.DataFrame({"id": np.arange(len(pick)), "kode_kel": pick["kode_kel"].astype(str).to_numpy(), "x": x,
                         "y": y, "tps_nearest": pick["tps_nearest"].to_numpy(),
                         "tps_nearest_any": pick["tps_nearest_any"].to_numpy()})


def time_sjoin(sample: pd.DataFrame, tps: gpd.GeoDataFrame) -> dict:
    """geopandas.sjoin_nearest per voter: overall, and per kelurahan (a loop of sjoin_nearest)."""
    pts = gpd.GeoDataFrame(sample[["id", "kode_kel"]], geometry=gpd.points_from_xy(sample["x"], sample["y"]),
                           crs=METRIC_EPSG)
    placed = tps[tps.geometry.notna()].to_crs(METRIC_EPSG)[["kode_tps", "kode_kel", "geometry"]]
    with Clock() as c_any:
        gpd.sjoin_nearest(pts, placed[["kode_tps", "geometry"]], how="left", distance_col="d")
    by_kel = dict(tuple(placed.groupby("kode_kel")))
    with Clock() as c_kel:
        for kel, part in pts.groupby("kode_kel"):
            if kel in by_kel:
                gpd.sjoin_nearest(part, by_kel[kel][["kode_tps", "geometry"]], how="left", distance_col="d")
    n = len(sample)
    return {"sample": n, "overall": c_any.figures(n), "per_kelurahan": c_kel.figures(n),
            "per_voter_us": round((c_any.wall + c_kel.wall) / n * 1e6, 3)}


def postgis_url() -> str | None:
    import os
    import subprocess

    url = os.environ.get("PETATPS_TEST_DB")
    if url:
        return url
    try:
        line = subprocess.run([str(ROOT / "scripts" / "pg-env")], capture_output=True, text=True, check=True,
                              timeout=300).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    return line.split("=", 1)[1].strip("'\"") if "=" in line else None


def time_postgis(url: str, sample: pd.DataFrame, tps: gpd.GeoDataFrame) -> dict:
    """The nearest TPS in the kelurahan and overall by KNN (``<->``) on a GiST index, per voter."""
    import os

    import sqlalchemy as sa

    schema = f"bench_assign_{os.getpid()}"
    placed = tps[tps.geometry.notna()].to_crs(METRIC_EPSG)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(sa.text(f'CREATE TABLE "{schema}".tps (kode_tps text, kode_kel text, '
                                 'geom geometry(Point, 32748))'))
            conn.execute(sa.text(f'CREATE TABLE "{schema}".voters (id int, kode_kel text, '
                                 'geom geometry(Point, 32748))'))
            conn.execute(sa.text(f'INSERT INTO "{schema}".tps SELECT k, kel, ST_SetSRID(ST_MakePoint(x, y), 32748) '
                                 'FROM unnest(CAST(:k AS text[]), CAST(:kel AS text[]), CAST(:x AS float8[]), '
                                 'CAST(:y AS float8[])) AS u(k, kel, x, y)'),
                         {"k": placed["kode_tps"].astype(str).tolist(), "kel": placed["kode_kel"].astype(str).tolist(),
                          "x": placed.geometry.x.tolist(), "y": placed.geometry.y.tolist()})
            conn.execute(sa.text(f'INSERT INTO "{schema}".voters SELECT i, kel, ST_SetSRID(ST_MakePoint(x, y), 32748) '
                                 'FROM unnest(CAST(:i AS int[]), CAST(:kel AS text[]), CAST(:x AS float8[]), '
                                 'CAST(:y AS float8[])) AS u(i, kel, x, y)'),
                         {"i": sample["id"].tolist(), "kel": sample["kode_kel"].tolist(),
                          "x": sample["x"].tolist(), "y": sample["y"].tolist()})
            conn.execute(sa.text(f'CREATE INDEX ON "{schema}".tps USING gist (geom)'))
            conn.execute(sa.text(f'CREATE INDEX ON "{schema}".tps (kode_kel)'))
            conn.execute(sa.text(f'ANALYZE "{schema}".tps'))
            conn.execute(sa.text(f'ANALYZE "{schema}".voters'))
        # the canonical KNN form: an extra ORDER BY key (e.g. kode_tps for ties) would defeat the index scan
        lateral = ('SELECT v.id, n.kode_tps FROM "{s}".voters v CROSS JOIN LATERAL (SELECT t.kode_tps FROM "{s}".tps t '
                   '{where} ORDER BY t.geom <-> v.geom LIMIT 1) n ORDER BY v.id')
        result = {"sample": len(sample)}
        for name, where, column in (("per_kelurahan", "WHERE t.kode_kel = v.kode_kel", "tps_nearest"),
                                    ("overall", "", "tps_nearest_any")):
            with engine.connect() as conn, Clock() as clock:
                rows = conn.execute(sa.text(lateral.format(s=schema, where=where))).fetchall()
            got = pd.Series([r[1] for r in rows], index=[r[0] for r in rows]).reindex(sample["id"])
            agree = (got.to_numpy() == sample[column].astype(object).to_numpy()).mean()
            result[name] = {**clock.figures(len(sample)), "agrees_with_petatps": round(float(agree), 4)}
        result["per_voter_us"] = round(result["per_kelurahan"]["per_voter_us"] + result["overall"]["per_voter_us"], 3)
        return result
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def time_capacity(city: dict, locs: pd.DataFrame, cap: int) -> dict:
    from geo.capacity import plan_capacity

    with Clock() as clock:
        plan, report = plan_capacity(city["voters"], locs, city["tps"], max_per_tps=cap)
    f = report.figures
    keep = ("voters", "voters_planned", "voters_unplaced", "voters_moved", "tps_over_cap_in_dpt", "dist_dpt_m",
            "dist_planned_m", "mean_change_m", "lp_rounds", "kk_placed_after_rounding", "extra_tps_needed")
    lp_mean = f["lp_voter_m"] / max(f["voters_planned"], 1)
    return {"time": clock.figures(len(plan)), **{k: f[k] for k in keep},
            "kelurahan_short_of_tps": len(f["extra_tps"]), "lp_mean_m": round(lp_mean, 1)}


def time_network(city: dict, locs: pd.DataFrame) -> dict:
    from geo.network import build_graph

    with Clock() as c_read:
        roads = gpd.read_file(ROADS, layer="roads")
    with Clock() as c_graph:
        graph = build_graph(roads, source=str(ROADS))
    with Clock() as c_walk:
        out, report = assign_voters(city["voters"], locs, city["tps"], network=graph)
    f = report.figures
    return {"read": c_read.figures(), "graph": c_graph.figures(), "assign_with_walk": c_walk.figures(len(out)),
            "total_s": round(c_read.wall + c_graph.wall + c_walk.wall, 2), "graph_figures": graph.report.figures,
            "dist_nearest_walk_m": f["dist_nearest_walk_m"], "dist_dpt_walk_m": f["dist_dpt_walk_m"],
            "voters_no_walk_to_nearest": f["voters_no_walk_to_nearest"]}


def speedups(petatps: dict, baselines: dict) -> dict:
    """Baseline wall seconds per voter ÷ petatps wall seconds per voter, per baseline query and for the
    pair (nearest in the kelurahan + overall: what petatps answers, plus the DPT distance)."""
    ours = petatps["total"]["per_voter_us"]
    out = {}
    for name, b in baselines.items():
        out[name] = round(b["per_voter_us"] / ours, 1)
        for part in ("per_kelurahan", "overall"):
            out[f"{name}.{part}"] = round(b[part]["per_voter_us"] / ours, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 k voters, smaller samples")
    ap.add_argument("--voters", type=int, default=None)
    ap.add_argument("--city", choices=["generate", "synthetic"], default=None)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/petatps-bench-assign"))
    ap.add_argument("--cap", type=int, default=300)
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--no-network", action="store_true")
    ap.add_argument("--no-capacity", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    n = args.voters or (300_000 if args.quick else 8_300_000)
    kind = args.city or ("generate" if (ROOT / "geo" / "generate.py").exists() else "synthetic")
    with Clock() as c_gen:
        city = generated_city(n, args.workdir) if kind == "generate" else synthetic_city(n)
    figures = {"city": kind, "voters_requested": n, "prepare_city_s": round(c_gen.wall, 1)}
    petatps, out, locs = time_petatps(city)
    figures["petatps"] = petatps
    figures["peak_rss_mb_after_assign"] = round(peak_rss_mb())
    log.info("petatps: %s voters in %.2f s wall, %.2f s CPU", f"{len(out):,}", petatps["total"]["wall_s"],
             petatps["total"]["cpu_s"])
    sample = sample_points(out, 20_000 if args.quick else 100_000)
    baselines = {"geopandas_sjoin_nearest": time_sjoin(sample, city["tps"])}
    url = None if args.no_postgis else postgis_url()
    if url:
        baselines["postgis_lateral_knn"] = time_postgis(url, sample.head(2_000 if args.quick else 10_000), city["tps"])
    figures["baselines"] = baselines
    figures["speedup_per_voter"] = speedups(petatps, baselines)
    log.info("speed-up per voter: %s", figures["speedup_per_voter"])
    del sample
    if not args.no_capacity:
        figures["capacity"] = time_capacity(city, locs, args.cap)
        log.info("capacity: %s", figures["capacity"]["time"])
    if not args.no_network and ROADS.exists():
        figures["network"] = time_network(city, locs)
        log.info("network: %s s", figures["network"]["total_s"])
    figures["peak_rss_mb"] = round(peak_rss_mb())
    print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
