"""Benchmark of petatps coverage: all of DKI against a naive per-voter baseline, in the same run.

    .venv/bin/python scripts/bench/coverage.py [--quick] [--voters N] [--city generate|synthetic]
                                               [--sample N] [--workdir DIR] [--no-report]

The city comes from scripts/bench/assign.py: ``geo.generate`` (8.3 M voters by default, 300 k with
--quick; generated once into --workdir by a child process; TPS at their true points) or its synthetic
city (--city synthetic: the real DKI kelurahan, 60 m RT squares).

Timed: :func:`geo.coverage.coverage` on every voter (counting per location, nearest TPS, per-TPS/RT/RW/
kelurahan tables, catchments, Voronoi service areas, gaps, siting, merges), then
:func:`geo.coverage_report.write_coverage` (CSV, GeoPackage, GeoJSON, index.html). The naive baseline
is the straightforward per-voter GeoPandas pipeline (a point per voter, ``sjoin_nearest`` to the TPS,
the DPT distance per voter, ``groupby`` per TPS and per RT), measured on a --sample of voters and
extrapolated linearly, next to petatps on the same sample (whose fixed costs, the geometry of ~30 k RT
and TPS, dominate at that size: compare per voter at full size, ``speedup_per_voter``). Wall and CPU
seconds; the last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import resource
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

from geo.coverage import coverage
from geo.coverage_report import write_coverage

log = logging.getLogger("bench.coverage")
THRESHOLD_M = 500.0


def _assign_bench():
    """scripts/bench/assign.py as a module: its city builders are shared, not copied."""
    spec = importlib.util.spec_from_file_location("bench_assign", Path(__file__).with_name("assign.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def time_coverage(city: dict) -> tuple[dict, object]:
    n = len(city["voters"])
    with Clock() as c:
        result = coverage(city["voters"], city["tps"], city.get("rt"), city.get("rw"), city["kelurahan"],
                          threshold_m=THRESHOLD_M)
    f = result.report.figures
    return {"voters": n, "tps": len(result.tps), "rt_locations": len(result.rt), "rw": len(result.rw),
            **c.figures(n), "steps_s": f.get("timings"), "gaps_by_reason": f["gaps_by_reason"],
            "tps_over_cap": f["tps_over_cap"], "suggestions": len(result.suggestions),
            "merge_pairs": len(result.merges)}, result


def time_report(result, out: Path) -> dict:
    with Clock() as c:
        report = write_coverage(result, out, data_version="bench")
    return {**c.figures(), "megabytes": round(sum(report.figures["files"].values()) / 1e6, 1), "folder": str(out)}


def naive(voters: pd.DataFrame, tps: gpd.GeoDataFrame, rt: gpd.GeoDataFrame) -> dict:
    """Per voter: a point, the nearest TPS (sjoin_nearest), the DPT distance; then groupby per TPS and RT."""
    pts = shapely.point_on_surface(rt.geometry.to_numpy())
    where = pd.DataFrame({"kode_kel": rt["kode_kel"].astype("string"), "rw": rt["rw"].astype("Int16"),
                          "rt": rt["rt"].astype("Int16"), "lon": shapely.get_x(pts), "lat": shapely.get_y(pts)})
    where = where.drop_duplicates(["kode_kel", "rw", "rt"])
    v = voters[["kode_kel", "rw", "rt", "kode_tps"]].merge(where, on=["kode_kel", "rw", "rt"], how="left")
    v = gpd.GeoDataFrame(v, geometry=gpd.points_from_xy(v["lon"], v["lat"]), crs=4326).to_crs(32748)
    t = tps[["kode_tps", "geometry"]].to_crs(32748)
    near = gpd.sjoin_nearest(v, t.rename(columns={"kode_tps": "tps_nearest"}), distance_col="dist_nearest_m")
    near = near[~near.index.duplicated()]
    own = t.set_index("kode_tps").geometry
    dist_dpt = v.geometry.distance(gpd.GeoSeries(own.reindex(v["kode_tps"]).to_numpy(), crs=32748, index=v.index))
    v = v.assign(dist_dpt_m=dist_dpt, dist_nearest_m=near["dist_nearest_m"], tps_nearest=near["tps_nearest"])
    per_tps = v.groupby("kode_tps").agg(voters_dpt=("kode_tps", "size"), dist_mean=("dist_dpt_m", "mean"))
    per_tps["voters_nearest"] = v.groupby("tps_nearest").size().reindex(per_tps.index)
    per_rt = v.groupby(["kode_kel", "rw", "rt"]).agg(voters=("kode_tps", "size"),
                                                     beyond=("dist_nearest_m", lambda d: (d > THRESHOLD_M).mean()))
    return {"tps": len(per_tps), "rt": len(per_rt)}


def time_naive(city: dict, n_sample: int) -> dict:
    voters = city["voters"]
    rng = np.random.default_rng(11)
    sample = voters.iloc[np.sort(rng.choice(len(voters), size=min(n_sample, len(voters)), replace=False))]
    with Clock() as c_naive:
        naive(sample, city["tps"], city["rt"])
    with Clock() as c_ours:
        coverage(sample, city["tps"], city.get("rt"), city.get("rw"), city["kelurahan"], threshold_m=THRESHOLD_M)
    n, total = len(sample), len(voters)
    return {"sample": n, "naive": c_naive.figures(n), "petatps_same_sample": c_ours.figures(n),
            "naive_extrapolated_all_s": round(c_naive.wall / n * total, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 k voters, 50 k naive sample")
    ap.add_argument("--voters", type=int, default=None)
    ap.add_argument("--city", choices=("generate", "synthetic"), default="generate")
    ap.add_argument("--sample", type=int, default=None, help="voters in the naive baseline's sample")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "petatps-bench")
    ap.add_argument("--no-report", action="store_true", help="skip writing the output folder")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    n = args.voters or (300_000 if args.quick else 8_300_000)
    bench = _assign_bench()
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    city = bench.generated_city(n, args.workdir) if args.city == "generate" else bench.synthetic_city(n)
    figures = {"city": args.city, "city_s": round(time.perf_counter() - started, 1)}
    figures["petatps"], result = time_coverage(city)
    log.info("coverage of %s voters: %.1f s", f"{n:,}", figures["petatps"]["wall_s"])
    if not args.no_report:
        figures["report"] = time_report(result, args.workdir / f"coverage-{args.city}-{n}")
    del result
    figures["baseline"] = time_naive(city, args.sample or (50_000 if args.quick else 200_000))
    figures["speedup_per_voter"] = round(figures["baseline"]["naive"]["per_voter_us"]
                                         / max(figures["petatps"]["per_voter_us"], 1e-9), 1)
    figures["under_60_s"] = figures["petatps"]["wall_s"] < 60
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
