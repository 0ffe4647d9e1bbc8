"""Benchmark of the national batch (geo.batch): one process against a local Dask cluster of 2 workers.

    .venv/bin/python scripts/bench/scale.py [--quick] [--voters N] [--workers 2] [--max-voters N]
                                            [--workdir /tmp/petatps-bench-scale]

The input: ``geo.generate_national`` (20 M voters in 8 provinces × 6 kabupaten × 30 desa; --quick: 1 M in
4 × 4 × 16), turned into a batch dataset by ``geo.generate_national.batch_dataset`` (the DPT through the
real loader, TPS at their true sites). Both are generated once and kept in --workdir.

Timed in the same run, on the same dataset:

- *single process*: ``geo.batch.run_single`` in a child process (its own peak memory): one
  ``voter_locations`` + ``assign_voters`` over all voters, streamed, all TPS;
- *partitions in one process*: ``geo.batch.run_batch`` without Dask (the partitions one after the other),
  to separate the extra work of partitioning from the cost of distribution;
- *distributed*: ``geo.batch.run_batch`` on a ``LocalCluster`` of ``--workers`` single-threaded worker
  processes (started before the clock; its start-up time is reported apart). Peak memory per worker is
  ``ru_maxrss`` of each worker process after the run.

Coverage (``geo.batch_coverage``) is timed the same way on the same dataset and cluster: the single-process
``geo.coverage.coverage`` over all voters in a child process, against ``run_coverage`` on the cluster (two
partitioned passes, counts then coverage, and the combining step in this process); their nine tables are
written to GeoParquet and compared as Arrow tables (``coverage.identical``).

The outputs are compared row by row (both are in kecamatan order). Overhead: the distributed wall time
against the single-process time divided by the workers (``overhead_pct``); as wall time suffers from
other jobs on the same cores, also from CPU seconds: the extra work of partitioning
(``partition_work_pct``) and the busiest worker against a fair share (``dedicated_overhead_pct``). The
projection fits ``cpu_seconds = a + b × voters`` to the measured partitions and schedules a modelled national plan
(514 kabupaten/kota, 204.8 M voters, log-normal sizes with the largest ≈ 3.9 M like Kabupaten Bogor,
cut at ``--max-voters``) largest first on 16 and 64 workers. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.batch import DEFAULT_MAX_VOTERS, dask_settings, peak_rss_mb, run_batch
from geo.generate_national import batch_dataset, generate_national

log = logging.getLogger("bench.scale")
FULL = {"provinces": 8, "kab_per_province": 6, "kel_per_kab": 30, "voters": 20_000_000}
QUICK = {"provinces": 4, "kab_per_province": 4, "kel_per_kab": 16, "voters": 1_000_000}
NATIONAL_VOTERS, NATIONAL_KAB, LARGEST_KAB = 204_807_222, 514, 3_900_000
KEY = b"bench-scale-not-a-secret"


# --- inputs ---------------------------------------------------------------------------------

def prepare(workdir: Path, params: dict) -> tuple[Path, dict]:
    """The generated files and the batch dataset of ``params``, made once per parameter set."""
    name = "national-{provinces}x{kab_per_province}x{kel_per_kab}-{voters}".format(**params)
    files, dataset, done = workdir / name / "files", workdir / name / "dataset", workdir / name / "prepared.json"
    if done.exists():
        return dataset, json.loads(done.read_text())
    summary = files / "truth" / "summary.json"
    if summary.exists() and json.loads(summary.read_text())["parameters"] == {**params, "seed": 0, "dirty": True}:
        counts = {**json.loads(summary.read_text())["counts"], "seconds": None}
    else:
        counts = generate_national(files, seed=0, **params).figures
        log.info("generated %s voters in %.0f s", f"{params['voters']:,}", counts["seconds"])
    t = time.perf_counter()
    made = batch_dataset(files, dataset, key=KEY)
    figures = {"generate_s": counts["seconds"], "dataset_s": round(time.perf_counter() - t, 1),
               "kelurahan": counts["kelurahan"], "rt": counts["rt"], "tps": counts["tps"],
               "voters_in_dataset": made.rows_loaded, "dpt_rows_rejected": made.figures["dpt"]["rows_rejected"]}
    done.write_text(json.dumps(figures))
    return dataset, figures


# --- the two runs ---------------------------------------------------------------------------

SINGLE = r"""
import json, sys, time
from geo.batch import peak_rss_mb, run_single
t, c = time.perf_counter(), time.process_time()
r = run_single(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": round(time.perf_counter() - t, 2), "cpu_seconds": round(time.process_time() - c, 2),
                  "voters": r.rows_loaded, "peak_rss_mb": peak_rss_mb()}))
"""


LOCAL = r"""
import json, sys, time
from geo.batch import peak_rss_mb, run_batch
t, c = time.perf_counter(), time.process_time()
r = run_batch(sys.argv[1], sys.argv[2], max_voters=int(sys.argv[3]), resume=False)
print(json.dumps({"seconds": round(time.perf_counter() - t, 2), "cpu_seconds": round(time.process_time() - c, 2),
                  "voters": r.rows_loaded, "peak_rss_mb": peak_rss_mb(), "partitions": r.figures["partitions"]}))
"""


COVERAGE_SINGLE = r"""
import json, sys, time
from pathlib import Path
from geo.batch import peak_rss_mb
from geo.batch_data import Dataset
from geo.coverage import coverage
from geo.coverage_report import LAYERS
t, c = time.perf_counter(), time.process_time()
data = Dataset(sys.argv[1])
areas = data.areas()
r = coverage(data.voters(), data.tps(), areas["rt"], areas["rw"], areas["kelurahan"])
seconds, cpu = round(time.perf_counter() - t, 2), round(time.process_time() - c, 2)
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for name in LAYERS:
    getattr(r, name).to_parquet(out / f"{name}.parquet")
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "voters": r.report.rows_loaded,
                  "peak_rss_mb": peak_rss_mb(), "rows": {n: len(getattr(r, n)) for n in LAYERS}}))
"""


def time_child(code: str, *args: object) -> dict:
    """Run ``code`` in a fresh Python (its own memory peak); its last stdout line is a JSON object."""
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["voters_per_s"] = round(figures["voters"] / figures["seconds"])
    return figures


def time_distributed(dataset: Path, out: Path, workers: int, max_voters: int) -> tuple[dict, list[dict]]:
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    t = time.perf_counter()
    with dask_settings(), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        startup = time.perf_counter() - t
        t = time.perf_counter()
        report = run_batch(dataset, out, client=client, max_voters=max_voters, resume=False)
        wall = time.perf_counter() - t
        rss = client.run(peak_rss_mb)
        coverage = time_coverage(dataset, out.with_name(out.name + "-coverage"), client, max_voters)
    manifests = [json.loads(p.read_text()) for p in sorted(out.glob("kode_kab=*/_part-*.json"))]
    f = report.figures
    figures = {"workers": workers, "cluster_startup_s": round(startup, 1), "seconds": round(wall, 2),
               "voters": report.rows_loaded, "voters_per_s": round(report.rows_loaded / wall),
               "partitions": f["partitions"], "partitions_failed": f["partitions_failed"], "max_voters": max_voters,
               "largest_partition_voters": max(m["rows"] for m in manifests),
               "partition_seconds_sum": f["partition_seconds"],
               "partition_cpu_seconds_sum": f["partition_cpu_seconds"],
               "peak_rss_mb_per_worker": sorted(rss.values())}
    return figures, manifests, coverage


def time_coverage(dataset: Path, work: Path, client, max_voters: int) -> dict:
    """``run_coverage`` on the cluster (both passes and the combining step); its tables written for the check."""
    from geo.batch_coverage import run_coverage
    from geo.coverage_report import LAYERS

    t, c = time.perf_counter(), time.process_time()
    result, report = run_coverage(dataset, work, client=client, max_voters=max_voters, resume=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    f, counted = report.figures, report.figures["counts"]
    tables = work / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    for name in LAYERS:
        getattr(result, name).to_parquet(tables / f"{name}.parquet")
    return {"seconds": round(wall, 2), "voters": result.report.rows_loaded,
            "voters_per_s": round(result.report.rows_loaded / wall), "partitions": f["partitions"],
            "partitions_failed": f["partitions_failed"], "count_pass_s": counted["seconds"],
            "coverage_pass_s": f["seconds"], "combine_s": round(wall - counted["seconds"] - f["seconds"], 2),
            "combine_cpu_s": round(cpu, 2),
            "partition_cpu_seconds_sum": round(counted["partition_cpu_seconds"] + f["partition_cpu_seconds"], 2),
            "peak_rss_mb_max": max(counted["peak_rss_mb_max"] or 0, f["peak_rss_mb_max"] or 0),
            "rows": {n: len(getattr(result, n)) for n in LAYERS}}


def coverage_figures(single: dict, dist: dict, single_dir: Path, dist_dir: Path, workers: int) -> dict:
    """Single against distributed coverage: identical tables, speed-up and overheads (as for assignment;
    the distributed CPU includes the combining step in this process)."""
    from geo.coverage_report import LAYERS

    identical = all(pq.read_table(single_dir / f"{n}.parquet").equals(pq.read_table(dist_dir / f"{n}.parquet"))
                    for n in LAYERS)
    work = dist["partition_cpu_seconds_sum"] + dist["combine_cpu_s"]
    return {"single": single, "distributed": dist, "identical": identical,
            "speedup": round(single["seconds"] / dist["seconds"], 2),
            "overhead_pct": round((dist["seconds"] / (single["seconds"] / workers) - 1) * 100, 1),
            "partition_work_pct": round((work / single["cpu_seconds"] - 1) * 100, 1)}


# --- checks and projection ------------------------------------------------------------------

def _rows(files: list[Path]):
    for path in files:
        yield from pq.ParquetFile(path).iter_batches(batch_size=200_000)


def same_rows(a: list[Path], b: list[Path]) -> bool:
    """Both file sequences hold the same rows in the same order (compared in blocks, never all at once)."""
    left, right = _rows(a), _rows(b)
    buf_a = buf_b = None
    while True:
        buf_a = _fill(buf_a, left)
        buf_b = _fill(buf_b, right)
        if buf_a is None or buf_b is None:
            return buf_a is None and buf_b is None
        n = min(buf_a.num_rows, buf_b.num_rows)
        if not buf_a.slice(0, n).equals(buf_b.slice(0, n)):
            return False
        buf_a, buf_b = _rest(buf_a, n), _rest(buf_b, n)


def _fill(buf, source):
    if buf is not None and buf.num_rows:
        return buf
    for batch in source:
        if batch.num_rows:
            return pa.Table.from_batches([batch])
    return None


def _rest(table, n):
    return table.slice(n) if table.num_rows > n else None


def overheads(single: dict, dist: dict, manifests: list[dict], workers: int) -> dict:
    """Wall-clock speed-up and overhead, and the same from CPU seconds (immune to other jobs on the cores).

    ``overhead_pct``: distributed wall time against the single-process wall time / workers.
    ``partition_work_pct``: CPU of all partitions against the single process (the extra work of partitioning).
    ``dedicated_overhead_pct``: the busiest worker's CPU against the single-process CPU / workers, i.e. the
    overhead on dedicated cores (partition work + imbalance, without scheduling latency or shared cores).
    """
    per_worker: dict[int, float] = {}
    for m in manifests:
        per_worker[m["pid"]] = per_worker.get(m["pid"], 0.0) + m["cpu_seconds"]
    busiest = max(per_worker.values())
    return {"speedup": round(single["seconds"] / dist["seconds"], 2),
            "overhead_pct": round((dist["seconds"] / (single["seconds"] / workers) - 1) * 100, 1),
            "partition_work_pct": round((dist["partition_cpu_seconds_sum"] / single["cpu_seconds"] - 1) * 100, 1),
            "dedicated_overhead_pct": round((busiest / (single["cpu_seconds"] / workers) - 1) * 100, 1),
            "worker_cpu_s": sorted(round(v, 2) for v in per_worker.values()),
            "dask_overhead_s": round(max(dist["seconds"] - dist["partition_seconds_sum"] / workers, 0.0), 2)}


def fit(manifests: list[dict]) -> tuple[float, float]:
    """Least squares ``cpu_seconds = a + b × voters`` over the partitions (a ≥ 0)."""
    v = np.array([m["rows"] for m in manifests], float)
    s = np.array([m["cpu_seconds"] for m in manifests], float)
    if len(v) < 2 or np.ptp(v) == 0:
        return 0.0, float(s.sum() / max(v.sum(), 1))
    b, a = np.polyfit(v, s, 1)
    if a < 0:
        a, b = 0.0, float(s.sum() / v.sum())
    return float(a), float(b)


def national_plan(max_voters: int, seed: int = 0) -> np.ndarray:
    """Voters per partition of a modelled national plan (see the module docstring)."""
    rng = np.random.default_rng(seed)
    size = np.sort(rng.lognormal(0.0, 0.9, NATIONAL_KAB))
    size = size / size.sum() * NATIONAL_VOTERS
    size[-1] = min(size[-1], LARGEST_KAB)
    size = size / size.sum() * NATIONAL_VOTERS
    parts = [np.full(math.ceil(v / max_voters), v / math.ceil(v / max_voters)) for v in size]
    return np.concatenate(parts)


def makespan(seconds: np.ndarray, workers: int) -> float:
    """Wall time of the tasks run largest first on ``workers`` (each task to the first free worker)."""
    free = [0.0] * workers
    for s in np.sort(seconds)[::-1]:
        heapq.heappush(free, heapq.heappop(free) + float(s))
    return max(free)


def projection(manifests: list[dict], max_voters: int, overhead_s: float) -> dict:
    """Wall time of the modelled national plan from the partitions' CPU seconds (one dedicated core per
    worker), plus the measured Dask overhead of this run."""
    a, b = fit(manifests)
    plan = national_plan(max_voters)
    seconds = a + b * plan
    out = {"model": {"fixed_s_per_partition": round(a, 3), "us_per_voter": round(b * 1e6, 3),
                     "partitions": len(plan), "largest_partition_voters": int(plan.max()),
                     "voters": NATIONAL_VOTERS}}
    for w in (16, 64):
        wall = makespan(seconds, w) + overhead_s
        out[f"workers_{w}"] = {"wall_s": round(wall), "wall_min": round(wall / 60, 1),
                               "ideal_s": round(seconds.sum() / w), "largest_task_s": round(float(seconds.max()))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 M voters instead of 20 M")
    ap.add_argument("--voters", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-voters", type=int, default=DEFAULT_MAX_VOTERS)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/petatps-bench-scale"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    params = dict(QUICK if args.quick else FULL)
    if args.voters:
        params["voters"] = args.voters
    dataset, prepared = prepare(args.workdir, params)
    runs = args.workdir / "runs"
    single = time_child(SINGLE, dataset, runs / "single")
    log.info("single process: %s voters/s, %s MB", f"{single['voters_per_s']:,}", single["peak_rss_mb"])
    local = time_child(LOCAL, dataset, runs / "local", args.max_voters)
    log.info("partitions in one process: %s voters/s, %s MB", f"{local['voters_per_s']:,}", local["peak_rss_mb"])
    cov_single = time_child(COVERAGE_SINGLE, dataset, runs / "coverage-single")
    log.info("coverage, single process: %s voters/s, %s MB", f"{cov_single['voters_per_s']:,}",
             cov_single["peak_rss_mb"])
    dist, manifests, cov_dist = time_distributed(dataset, runs / "distributed", args.workers, args.max_voters)
    log.info("distributed: %s voters/s on %d workers", f"{dist['voters_per_s']:,}", args.workers)
    log.info("coverage, distributed: %s voters/s on %d workers", f"{cov_dist['voters_per_s']:,}", args.workers)
    identical = same_rows(sorted((runs / "single").glob("part-*.parquet")),
                          sorted((runs / "distributed").glob("kode_kab=*/part-*.parquet")))
    figures = {"params": params, "prepared": prepared, "single": single, "partitions_in_one_process": local,
               "distributed": dist, "identical": identical,
               **overheads(single, dist, manifests, args.workers), "cpus": len(os.sched_getaffinity(0)),
               "load_average": [round(x, 2) for x in os.getloadavg()]}
    figures["projection_204m"] = projection(manifests, args.max_voters, figures["dask_overhead_s"])
    figures["coverage"] = cov = coverage_figures(cov_single, cov_dist, runs / "coverage-single",
                                                 runs / "distributed-coverage" / "tables", args.workers)
    print(json.dumps(figures))
    ok = identical and cov["identical"] and dist["partitions_failed"] == 0 and cov_dist["partitions_failed"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
