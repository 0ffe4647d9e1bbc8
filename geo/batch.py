"""The national batch: partitions by region code, run in this process or on a Dask cluster.

A TPS serves one kelurahan, so the work splits cleanly by region code. :func:`plan_partitions`
makes one partition per kabupaten/kota, split into groups of whole kecamatan when it has more than
``max_voters`` voters. Each partition runs a *task*, a plain function of
:class:`geo.batch_data.PartitionInputs` returning ``(frames, report)``: frames is an iterable of
DataFrames (one table), or a mapping of table names to such iterables (e.g. a coverage task's TPS,
RT and gap tables). :func:`assign_task` calls the same ``voter_locations`` and ``assign_voters`` as
the single-machine path. Results are written as Parquet (GeoParquet for GeoDataFrames) by
:mod:`geo.batch_output`::

    <out>/kode_kab=<4 digits>/part-<part:03d>-<chunk:04d>.parquet          the task's table
    <out>/<table>/kode_kab=<4 digits>/part-<part:03d>-<chunk:04d>.parquet  its named tables, if any
    <out>/kode_kab=<4 digits>/_part-<part:03d>.json     manifest: files, rows, figures; written last
    <out>/_plan.json, <out>/_batch.json                  the plan and the merged report

Each file is written under a hidden temporary name and renamed, and the manifest comes last, so a
partition with a manifest is complete: a re-run skips it (resume). A failing partition is retried
(Dask ``retries=``), then reported by region code; the others' results are kept.

:func:`run_batch` imports Dask only when given ``scheduler`` or ``workers``; without them the
partitions run one after the other in this process (the same code, no Dask).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import math
import os
import resource
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import batch_output as output
from geo.assign import assign_voters
from geo.batch_data import Dataset, PartitionInputs
from geo.errors import InputError
from geo.locations import voter_locations
from geo.report import Problem, Report

log = logging.getLogger(__name__)

DEFAULT_MAX_VOTERS = 1_000_000   # per partition: bounds a worker's memory (~1 GB per million voters)
DEFAULT_RETRIES = 2
Frames = Iterable[pd.DataFrame] | Mapping[str, Iterable[pd.DataFrame]]
Task = Callable[[PartitionInputs], "tuple[Frames, Report]"]


@dataclasses.dataclass(frozen=True)
class Partition:
    """One unit of work: whole kecamatan of one kabupaten/kota.

    Attributes
    ----------
    kode_kab : str
        Kabupaten/kota code (4 digits): the output folder ``kode_kab=<code>``.
    part : int
        Number of the partition within its kabupaten/kota (0 when it is not split).
    kecamatan : tuple of str
        Kecamatan codes (6 digits), sorted.
    voters : int
        Voters in these kecamatan (the balancing weight).
    """

    kode_kab: str
    part: int
    kecamatan: tuple[str, ...]
    voters: int

    @property
    def name(self) -> str:
        return f"kode_kab={self.kode_kab}/part-{self.part:03d}"


def plan_partitions(weights: pd.DataFrame, *, max_voters: int = DEFAULT_MAX_VOTERS,
                    keep_empty: bool = False) -> list[Partition]:
    """Partitions balanced by voter count, largest first (so the longest start first).

    Parameters
    ----------
    weights : DataFrame
        ``kode_kec`` (6 digits) and ``voters`` per kecamatan (:meth:`geo.batch_data.Dataset.weights`).
    max_voters : int
        A kabupaten/kota with more voters is cut into ``ceil(voters / max_voters)`` runs of consecutive
        kecamatan of about equal voters (a single kecamatan is never cut).
    keep_empty : bool
        Keep kecamatan without voters (coverage reports their TPS and kelurahan too); else dropped.
    """
    if max_voters < 1:
        raise InputError("expected a positive number of voters per partition", field="max_voters", value=max_voters)
    w = weights[(weights["voters"] >= 0) if keep_empty else (weights["voters"] > 0)]
    w = w.sort_values("kode_kec", kind="stable")
    parts = []
    for kab, group in w.groupby(w["kode_kec"].str[:4].to_numpy(dtype=object), sort=True):
        kec, n = group["kode_kec"].astype(str).to_numpy(), group["voters"].to_numpy(np.int64)
        for i, (a, b) in enumerate(_runs(n, math.ceil(n.sum() / max_voters))):
            parts.append(Partition(str(kab), i, tuple(kec[a:b]), int(n[a:b].sum())))
    return sorted(parts, key=lambda p: (-p.voters, p.kode_kab, p.part))


def _runs(n: np.ndarray, k: int) -> list[tuple[int, int]]:
    """``k`` (or fewer) runs of consecutive items, cut where the running total is nearest i/k of the total."""
    cum = np.cumsum(n)
    cuts = [int(np.argmin(np.abs(cum - cum[-1] * i / k))) + 1 for i in range(1, k)]
    bounds = sorted({0, len(n), *cuts})
    return list(itertools.pairwise(bounds))


# --- tasks ----------------------------------------------------------------------------------

def assign_task(inputs: PartitionInputs, *, margin_m: float = 500.0) -> tuple[Iterator[pd.DataFrame], Report]:
    """Nearest TPS and DPT distances of one partition's voters (:func:`geo.assign.assign_voters`).

    Two streamed passes over the voters: the first finds their locations (and the TPS codes their DPT
    names), the second assigns. TPS are those :meth:`PartitionInputs.tps_frame` proves sufficient, so
    every output row equals the single-machine one.
    """
    codes: list[pa.Array] = []

    def keys() -> Iterator[pd.DataFrame]:
        for chunk in inputs.voters(["kode_kel", "rw", "rt", "kode_tps"]):
            codes.append(pc.unique(pa.array(chunk["kode_tps"].dropna().to_numpy(dtype=object), pa.large_string())))
            yield chunk

    locations = voter_locations(keys(), **inputs.areas())
    dpt = pc.unique(pa.chunked_array(codes, pa.large_string()).combine_chunks()) if codes else None
    return assign_voters(inputs.voters(), locations, inputs.tps_frame(locations, dpt), margin_m=margin_m)


# --- one partition --------------------------------------------------------------------------

def run_partition(dataset: str | Path, partition: Partition | None, out_dir: str | Path,
                  task: Task = assign_task) -> dict[str, Any]:
    """Run ``task`` on one partition (None: the whole dataset, the single-process path) and write its output.

    Returns the manifest written last as ``_part-<part>.json``: files, rows, wall and CPU seconds, peak
    memory of this process so far (MB), the task's report and distance histograms of ``*_m`` columns.
    """
    started, cpu = time.perf_counter(), time.process_time()
    out, kab, number = Path(out_dir), partition.kode_kab if partition else None, partition.part if partition else 0
    output.remove_part(out, kab, number)
    inputs = PartitionInputs(Dataset(dataset), partition.kecamatan if partition else None)
    frames, report = task(inputs)
    files, stats = [], output.ColumnStats()
    for table, stream in (frames.items() if isinstance(frames, Mapping) else [("", frames)]):
        where = output.folder(out, kab, table)
        where.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(stream):
            if len(frame) or i == 0:
                path = output.part_file(where, number, i)
                output.write_frame(frame, path)
                files.append({"name": path.relative_to(out).as_posix(), "table": table, "rows": len(frame)})
                if not table:                     # distance figures of the task's own table only
                    stats.add(frame)
    output.folder(out, kab).mkdir(parents=True, exist_ok=True)
    manifest = {"partition": partition.name if partition else "all", "kecamatan": list(inputs.kecamatan or []),
                "files": files, "rows": sum(f["rows"] for f in files),
                "seconds": round(time.perf_counter() - started, 3),
                "cpu_seconds": round(time.process_time() - cpu, 3), "peak_rss_mb": peak_rss_mb(),
                "pid": os.getpid(), "report": report.to_dict(), "columns": stats.as_dict()}
    output.write_text(output.manifest_file(out, kab, number), json.dumps(manifest, sort_keys=True))
    return manifest


def run_single(dataset: str | Path, out_dir: str | Path, task: Task = assign_task) -> Report:
    """The single-process path over the whole dataset: one task, all TPS, output ``<out>/part-000-*.parquet``."""
    manifest = run_partition(dataset, None, out_dir, task)
    return _merged(str(dataset), [manifest], [], [], {"partitions": 1, "seconds": manifest["seconds"]})


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): Linux ``VmHWM``, which, unlike ``ru_maxrss``, does not
    carry over the peak of a parent process across ``exec``; else ``ru_maxrss``."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- the batch ------------------------------------------------------------------------------

def run_batch(dataset: str | Path, out_dir: str | Path, *, task: Task = assign_task, scheduler: str | None = None,
              workers: int | None = None, max_voters: int = DEFAULT_MAX_VOTERS, retries: int = DEFAULT_RETRIES,
              resume: bool = True, client: Any = None, parts: list[Partition] | None = None) -> Report:
    """Run ``task`` on every partition of ``dataset`` and write partitioned Parquet to ``out_dir``.

    Parameters
    ----------
    dataset : path
        A batch dataset (:mod:`geo.batch_data`) on storage every worker can read.
    out_dir : path
        Output folder on storage every worker can write (see the module docstring for the layout).
    task : callable
        ``task(inputs) -> (frames, report)``; must be picklable (a module function or a ``partial``).
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler (``tcp://host:8786``) or a scheduler JSON file.
    workers : int, optional
        Start a local Dask cluster of this many single-threaded worker processes.
    client : distributed.Client, optional
        An existing client (takes precedence over ``scheduler``/``workers``).
    max_voters : int
        Largest partition (voters); bounds the memory of a worker.
    retries : int
        Extra attempts of a failing partition before it is reported.
    resume : bool
        Skip partitions whose output is complete (manifest present and matching).
    parts : list of Partition, optional
        The plan to run (default: :func:`plan_partitions` of the dataset's voters per kecamatan).

    Returns
    -------
    Report
        ``rows_read`` voters in the plan, ``rows_loaded`` voters processed, ``rows_rejected`` voters of
        failed partitions; the task reports' counts summed; merged distance figures (p95 to 10 m);
        one warning per failed partition naming its ``kode_kab`` and kecamatan. Also written to
        ``<out>/_batch.json``.
    """
    data, out, started = Dataset(dataset), Path(out_dir), time.perf_counter()
    parts = plan_partitions(data.weights(), max_voters=max_voters) if parts is None else parts
    out.mkdir(parents=True, exist_ok=True)
    output.remove_unplanned(out, {(p.kode_kab, p.part) for p in parts})
    output.write_text(out / "_plan.json", json.dumps([dataclasses.asdict(p) for p in parts], indent=1))
    resumed = [m for m in (_finished(out, p) for p in parts) if m] if resume else []
    done_names = {m["partition"] for m in resumed}
    todo = [p for p in parts if p.name not in done_names]
    log.info("batch %s: %d partitions (%s voters), %d already complete, %d to run", data.root, len(parts),
             f"{sum(p.voters for p in parts):,}", len(resumed), len(todo))
    progress = _Progress(todo)
    if client is not None or scheduler or workers:
        with _dask_client(client, scheduler, workers) as c:
            manifests, failed = _run_dask(c, str(data.root), todo, str(out), task, retries, progress)
            n_workers = len(c.scheduler_info().get("workers", {}))
    else:
        manifests, failed = _run_local(str(data.root), todo, str(out), task, retries, progress)
        n_workers = 1
    figures = {"partitions": len(parts), "partitions_run": len(manifests), "partitions_resumed": len(resumed),
               "partitions_failed": len(failed), "workers": n_workers, "max_voters": max_voters,
               "seconds": round(time.perf_counter() - started, 2)}
    report = _merged(str(data.root), resumed + manifests, failed, parts, figures)
    output.write_text(out / "_batch.json", report.to_json())
    return report


def _run_local(root: str, todo: list[Partition], out: str, task: Task, retries: int,
               progress: _Progress) -> tuple[list[dict], list[tuple[Partition, str]]]:
    manifests, failed = [], []
    for p in todo:
        for attempt in range(retries + 1):
            try:
                manifests.append(progress.done(p, run_partition(root, p, out, task)))
                break
            except Exception as exc:  # noqa: BLE001 - any task error is reported by region code
                log.warning("partition %s failed (attempt %d of %d): %s", p.name, attempt + 1, retries + 1, exc)
                if attempt == retries:
                    failed.append(progress.failed(p, exc))
    return manifests, failed


def _run_dask(client: Any, root: str, todo: list[Partition], out: str, task: Task, retries: int,
              progress: _Progress) -> tuple[list[dict], list[tuple[Partition, str]]]:
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {client.submit(run_partition, root, p, out, task, key=f"petatps-{p.kode_kab}-{p.part:03d}-{run}",
                             retries=retries, priority=p.voters, pure=False): p for p in todo}
    manifests, failed = [], []
    for fut in as_completed(futures):
        p = futures[fut]
        if fut.status == "finished":
            manifests.append(progress.done(p, fut.result()))
        else:
            failed.append(progress.failed(p, fut.exception()))
        fut.release()
    return manifests, failed


@contextlib.contextmanager
def _dask_client(client: Any, scheduler: str | None, workers: int | None):
    """A ``distributed.Client``: the given one, one connected to ``scheduler``, or a local cluster."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler:
        kwargs = {"scheduler_file": scheduler} if scheduler.endswith(".json") else {"address": scheduler}
        with Client(**kwargs) as c:
            _log_cluster(c)
            yield c
        return
    with dask_settings(), LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0" if _has_bokeh() else None
                                       ) as cluster, Client(cluster) as c:
        _log_cluster(c)
        yield c


DASK_SETTINGS = {
    # The worker's sampling profiler (a thread taking the GIL every 10 ms) cost up to ~30 % more CPU
    # per partition in scripts/bench/scale.py --quick; on workers started by hand set
    # DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False.
    "distributed.worker.profile.enabled": False,
}


def dask_settings():
    """Dask configuration for the batch's local clusters (a context manager)."""
    import dask

    return dask.config.set(DASK_SETTINGS)


def _log_cluster(client: Any) -> None:
    n = len(client.scheduler_info().get("workers", {}))
    log.info("dask scheduler %s, %d workers, dashboard %s", client.scheduler.address, n,
             client.dashboard_link if _has_bokeh() else "(install bokeh for the dashboard)")


def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


class _Progress:
    """One log line per finished partition: count, voters, rate and an estimate of the time left."""

    def __init__(self, todo: list[Partition]):
        self.total, self.voters = len(todo), sum(p.voters for p in todo)
        self.n, self.seen, self.started = 0, 0, time.perf_counter()

    def done(self, p: Partition, manifest: dict) -> dict:
        self._step(p, f"done in {manifest['seconds']:.1f} s")
        return manifest

    def failed(self, p: Partition, exc: BaseException) -> tuple[Partition, str]:
        self._step(p, f"FAILED: {exc}")
        return p, f"{type(exc).__name__}: {exc}"

    def _step(self, p: Partition, what: str) -> None:
        self.n, self.seen = self.n + 1, self.seen + p.voters
        rate = self.seen / max(time.perf_counter() - self.started, 1e-9)
        left = (self.voters - self.seen) / rate if rate else float("nan")
        log.info("partition %s (%s voters) %s [%d/%d, %s voters/s, ~%.0f s left]", p.name, f"{p.voters:,}", what,
                 self.n, self.total, f"{rate:,.0f}", left)


def _merged(source: str, manifests: list[dict], failed: list[tuple[Partition, str]], parts: list[Partition],
            figures: dict) -> Report:
    """One report of the batch from the partition manifests (counts summed, distances from histograms)."""
    first = manifests[0]["report"]["kind"] if manifests else "task"
    report = Report(f"batch {first}", source=source)
    reports = [m["report"] for m in manifests]
    report.rows_loaded = sum(r["rows_read"] for r in reports)
    report.rows_rejected = sum(p.voters for p, _ in failed)
    report.rows_read = sum(p.voters for p in parts) if parts else report.rows_loaded
    report.figures.update(figures)
    report.figures["rows_written"] = sum(m["rows"] for m in manifests)
    secs = report.figures["seconds"]
    report.figures["voters_per_s"] = round(report.rows_loaded / secs) if secs else None
    report.figures["partition_seconds"] = round(sum(m["seconds"] for m in manifests), 2)
    report.figures["partition_cpu_seconds"] = round(sum(m.get("cpu_seconds", 0.0) for m in manifests), 2)
    report.figures["peak_rss_mb_max"] = max((m["peak_rss_mb"] for m in manifests), default=None)
    report.figures["totals"] = output.sum_figures(r["figures"] for r in reports)
    report.figures["distances"] = output.merge_columns([m["columns"] for m in manifests])
    report.note(f"distance p95 from {output.HIST_BIN_M:g} m bins over all partitions")
    for r in reports:
        report.warn(Problem(**w) for w in r["warnings"])
    report.warn(Problem(p.name, None, "kode_kab", p.kode_kab, f"partition failed (kecamatan "
                        f"{', '.join(p.kecamatan)}; {p.voters:,} voters): {err}") for p, err in failed)
    report.figures["failed"] = [{"kode_kab": p.kode_kab, "part": p.part, "kecamatan": list(p.kecamatan),
                                 "voters": p.voters, "error": err} for p, err in failed]
    return report.finish()


def _finished(out: Path, p: Partition) -> dict | None:
    return output.finished(out, p.kode_kab, p.part, list(p.kecamatan))


read_results = output.read_results

__all__ = ["DEFAULT_MAX_VOTERS", "Partition", "assign_task", "plan_partitions", "read_results", "run_batch",
           "run_partition", "run_single"]
