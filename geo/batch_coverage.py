"""Coverage on the national batch: partitions by region code, then one combined set of officer files.

:func:`run_coverage` gives the same :class:`geo.coverage.CoverageResult` as :func:`geo.coverage.coverage`
over the whole dataset, in two partitioned passes of :func:`geo.batch.run_batch` (same plan, same
Dask client) and a combining step::

    <work>/count/counts/kode_kab=<kab>/part-<p>-0000.parquet      voters per (kelurahan, RW, RT, DPT TPS)
    <work>/count/foreign/kode_kab=<kab>/part-<p>-0000.parquet     those rows registered at a TPS of
                                                                  another partition (``kode_kec_tps``)
    <work>/coverage/<table>/kode_kab=<kab>/part-<p>-0000.parquet  the coverage tables of the partition's
                                                                  kelurahan (tps, rt, rw, kelurahan, gaps, ...)
    <work>/<pass>/kode_kab=<kab>/_part-<p>.json, _plan.json, _batch.json   manifests and reports
    <work>/<pass>/_task.json      what the parts were made from: a pass whose dataset or parameters
                                  changed starts afresh (new thresholds re-run the coverage pass only)

Why two passes: a TPS's load, distances and catchment count every voter the DPT registers at it,
and a few are registered at a TPS in another partition. The first pass (:func:`count_task`) streams
each partition's voters once into counts; the second (:func:`coverage_task`) runs
:func:`geo.coverage.coverage` on its own counts plus the counts registered at its TPS from elsewhere.

What crosses a kelurahan border, and how a partition sees it (partitions hold whole kelurahan):

- distance to the DPT's TPS: that TPS is added to the partition's TPS (wherever it is);
- distance to the nearest TPS of *any* kelurahan (``dist_nearest_any_m``: a gap's severity and
  "a TPS of another kelurahan is within reach"): each location's nearest TPS among all TPS is added
  (a halo of exactly the TPS needed; one KD-tree query);
- a TPS's voters from another partition: their counts (``foreign``), and their areas for the
  catchment and distances;
- nearest TPS *of the kelurahan*, Voronoi service areas, siting (candidate sites are per kelurahan)
  and merges (TPS of one kelurahan) stay inside a kelurahan.

Each partition keeps only the rows of its own kelurahan; the combining step sorts them the way
:func:`geo.coverage.coverage` orders its tables (gaps worst first, suggestions by kelurahan then by
gap order), recomputes the stage table and the report's figures, and returns the result for
:func:`geo.coverage_report.write_coverage`. Combining holds the tables (not the voters) in memory.

The partition files hold exact counts (no small-count suppression): protect ``<work>`` like the
dataset, and publish only the officer files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import shapely

from geo import batch
from geo import batch_output as output
from geo.batch_data import Dataset, PartitionInputs, _prefix_filter, read_geoparquet
from geo.coverage import COUNT_COLUMNS, CoverageResult, count_voters, coverage
from geo.coverage_gaps import REASONS, SEVERITIES, stage_table
from geo.coverage_report import LAYERS
from geo.coverage_tables import describe
from geo.locations import voter_locations
from geo.nearest import nearest_indices
from geo.report import Report

log = logging.getLogger(__name__)

COUNT_TYPES = {"kode_kel": "string", "rw": "Int16", "rt": "Int16", "kode_tps": "string", "voters": "int64"}
GAP_GROUPS = {reason: i for i, reason in enumerate(REASONS)}      # find_gaps concatenates them in this order
OWN_KEY = {"kelurahan": "kode"}                                   # else kode_kel
SORT_KEYS = {"tps": ["kode_tps"], "rt": ["kode"], "rw": ["kode"], "kelurahan": ["kode"],
             "merges": ["kode_kel", "kode_tps_keep", "kode_tps_merge"], "catchments": ["kode_tps"],
             "service_areas": ["kode_tps"]}
PARTS_PER_WORKER = 3                                              # coverage partitions per worker, at least


# --- the plan --------------------------------------------------------------------------------------

def coverage_plan(data: Dataset, max_voters: int = batch.DEFAULT_MAX_VOTERS) -> list[batch.Partition]:
    """:func:`geo.batch.plan_partitions` over every kecamatan with voters, TPS or kelurahan areas (those
    without voters still have TPS and kelurahan rows in the coverage tables)."""
    weights = data.weights()
    codes = pd.concat([data.tps(["kode_kel"])["kode_kel"].astype("string"),
                       pd.Series(pq.read_table(data.root / "kelurahan.parquet", columns=["kode"]).column("kode")
                                 .to_pylist(), dtype="string") if (data.root / "kelurahan.parquet").is_file()
                       else pd.Series([], dtype="string")]).dropna().str[:6]
    extra = sorted(set(codes[codes.str.len() == 6]) - set(weights["kode_kec"]))
    weights = pd.concat([weights, pd.DataFrame({"kode_kec": pd.array(extra, dtype="string"),
                                                "voters": np.zeros(len(extra), np.int64)})], ignore_index=True)
    return batch.plan_partitions(weights, max_voters=max_voters, keep_empty=True)


def pack_plan(parts: list[batch.Partition], max_voters: int, min_parts: int = 1) -> list[batch.Partition]:
    """The coverage pass's plan: whole kabupaten/kota packed into fewer, larger partitions.

    Each coverage partition pays a fixed cost (reading areas and TPS, setting up its tables) of about
    a second, so kabupaten/kota not cut by the plan are joined, in code order, up to
    ``min(max_voters, total / min_parts)`` voters (a worker's memory stays bounded by ``max_voters``;
    ``min_parts`` keeps enough partitions to share among the workers). Cut kabupaten/kota stay as they
    are. A pack is named by its first kabupaten/kota (part 0, as that one was not cut); the coverage
    tables are the same whatever the packing, as each partition keeps the rows of its own kecamatan.
    """
    cut = {p.kode_kab for p in parts if p.part > 0}
    whole = sorted((p for p in parts if p.kode_kab not in cut), key=lambda p: p.kode_kab)
    cap = min(max_voters, max(1, math.ceil(sum(p.voters for p in parts) / max(1, min_parts))))
    packed, run = [p for p in parts if p.kode_kab in cut], []
    for p in whole:
        if run and sum(q.voters for q in run) + p.voters > cap:
            packed.append(_join(run))
            run = []
        run.append(p)
    if run:
        packed.append(_join(run))
    return sorted(packed, key=lambda p: (-p.voters, p.kode_kab, p.part))


def _join(run: list[batch.Partition]) -> batch.Partition:
    return batch.Partition(run[0].kode_kab, 0, tuple(sorted(k for p in run for k in p.kecamatan)),
                           sum(p.voters for p in run))


# --- pass 1: counts --------------------------------------------------------------------------------

def count_task(inputs: PartitionInputs) -> tuple[dict[str, list[pd.DataFrame]], Report]:
    """Voters of the partition per (kelurahan, RW, RT, DPT TPS) (:func:`geo.coverage.count_voters`), and
    apart the rows whose DPT TPS lies in another partition, with that TPS's kecamatan (``kode_kec_tps``)."""
    report = Report("coverage counts", source=f"{inputs.dataset.root} {','.join(inputs.kecamatan or ['all'])}")
    counts = count_voters(inputs.voters(["kode_kel", "rw", "rt", "kode_tps"]), report=report)
    tps = pq.read_table(inputs.dataset.root / "tps.parquet", columns=["kode_tps", "kode_kel"]).to_pandas()
    tps = tps.astype("string").drop_duplicates("kode_tps")              # placed or not: loads count both
    kec = pd.Series(tps["kode_kel"].str[:6].to_numpy(), index=tps["kode_tps"])
    tps_kec = pd.Series(kec.reindex(counts["kode_tps"].fillna("")).to_numpy(), dtype="string")
    away = np.zeros(len(counts), dtype=bool)
    if inputs.kecamatan is not None:
        away = tps_kec.notna().to_numpy() & ~tps_kec.isin(inputs.kecamatan).fillna(False).to_numpy()
    foreign = counts[away].assign(kode_kec_tps=tps_kec[away].array)
    report.figures["counts_registered_elsewhere"] = int(away.sum())
    return {"counts": [counts], "foreign": [foreign.reset_index(drop=True)]}, report.finish()


def read_counts(count_dir: str | Path, kecamatan: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The counts of ``kecamatan`` and, apart, the counts of other kecamatan registered at its TPS."""
    count_dir, kecamatan = Path(count_dir), sorted(kecamatan)
    files = [f for kab in sorted({k[:4] for k in kecamatan})
             for f in sorted((count_dir / "counts" / f"kode_kab={kab}").glob("part-*.parquet"))]
    own = _read(files, _prefix_filter("kode_kel", kecamatan))
    files = sorted(str(f) for f in (count_dir / "foreign").glob("kode_kab=*/part-*.parquet"))
    table = ds.dataset(files, format="parquet").to_table(columns=COUNT_COLUMNS,
                                                         filter=ds.field("kode_kec_tps").isin(kecamatan))
    foreign = table.to_pandas().astype(COUNT_TYPES) if files else _read([], None)
    inside = foreign["kode_kel"].str[:6].isin(kecamatan).fillna(False).to_numpy()   # a packed partition's own
    return own, foreign[~inside].reset_index(drop=True) if inside.any() else foreign


def _read(files: list[Path], filt: ds.Expression) -> pd.DataFrame:
    frames = [pq.read_table(f, filters=filt, columns=COUNT_COLUMNS).to_pandas() for f in files]
    frames = [f for f in frames if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in COUNT_COLUMNS})
    return frame.astype(COUNT_TYPES)


# --- pass 2: coverage of a partition ---------------------------------------------------------------

def coverage_task(inputs: PartitionInputs, *, count_dir: str, threshold_m: float = 500.0, max_per_tps: int = 300,
                  min_use: float = 0.25, candidates: gpd.GeoDataFrame | None = None
                  ) -> tuple[dict[str, list[gpd.GeoDataFrame]], Report]:
    """:func:`geo.coverage.coverage` of one partition; its tables limited to the partition's kelurahan.

    The TPS given to it: those of the partition's kecamatan, those its voters' DPT names, and each
    location's nearest TPS of any kelurahan; the counts: its own and those registered at
    its TPS from other partitions (with their areas), so every kept row equals the single-process one.
    """
    own = list(inputs.kecamatan)
    mine, foreign = read_counts(count_dir, own)
    counts = pd.concat([mine, foreign], ignore_index=True) if len(foreign) else mine
    areas = inputs.dataset.areas(sorted(set(own) | set(foreign["kode_kel"].dropna())))
    locs = voter_locations(counts[["kode_kel", "rw", "rt"]], areas["rt"], areas["rw"], areas["kelurahan"])
    named = sorted(set(counts["kode_tps"].dropna()) | set(_nearest_any(inputs.dataset, locs)))
    tps = read_geoparquet(inputs.dataset.root / "tps.parquet",             # only these rows are read
                          _prefix_filter("kode_kel", own) | ds.field("kode_tps").isin(named))
    result = coverage(None, tps, areas["rt"], areas["rw"], areas["kelurahan"], counts=counts,
                      threshold_m=threshold_m, max_per_tps=max_per_tps, min_use=min_use, candidates=candidates)
    report = result.report
    report.rows_read = report.rows_loaded = int(mine["voters"].sum())
    report.figures.update({"tps_given": len(tps), "counts_from_elsewhere": len(foreign)})
    tables = {}
    for name in LAYERS:
        frame = getattr(result, name)
        key = frame[OWN_KEY.get(name, "kode_kel")].astype("string").str[:6]
        tables[name] = [frame[key.isin(own).fillna(False).to_numpy()].reset_index(drop=True)]
    return tables, report.finish()


def _nearest_any(data: Dataset, locs: pd.DataFrame) -> list[str]:
    """Codes of each location's nearest placed TPS of any kelurahan (the one :func:`geo.nearest.nearest_indices`
    picks among all TPS): given with the partition's TPS, ``dist_nearest_any_m`` is the single-process one.

    Exact and smaller than a box halo (:func:`geo.batch_data.halo`), whose extra TPS every coverage
    table would carry; one KD-tree query over all placed TPS.
    """
    pts = data.tps_points()
    idx, _ = nearest_indices(locs[["x", "y"]].to_numpy(np.float64), None, pts.xy, None)
    return pts.codes.take(pa.array(np.unique(idx[idx >= 0]), pa.int64())).to_pylist()


# --- combining -------------------------------------------------------------------------------------

def combine(cover_dir: str | Path, count_reports: list[dict], *, threshold_m: float, max_per_tps: int,
            candidates: gpd.GeoDataFrame | None = None, stages: pd.DataFrame | None = None,
            voters_unknown_tps: int = 0) -> CoverageResult:
    """The partitions' tables as one :class:`CoverageResult`, ordered as :func:`geo.coverage.coverage`
    orders them, with the stage table and the report's figures recomputed over all partitions."""
    cover_dir = Path(cover_dir)
    t = {name: _table(cover_dir, name) for name in LAYERS}
    for name, keys in SORT_KEYS.items():
        t[name] = t[name].sort_values(keys, kind="stable").reset_index(drop=True)
    t["gaps"] = _gap_order(t["gaps"])
    t["suggestions"] = _suggestion_order(t["suggestions"], t["gaps"])
    report = Report("coverage", source="all areas")
    for key in ("rows_read", "rows_loaded"):
        setattr(report, key, sum(r[key] for r in count_reports))
    for key in ("voters_outside_area", "voters_without_kelurahan"):
        report.figures[key] = sum(r["figures"].get(key, 0) for r in count_reports)
    sugg = t["suggestions"]
    report.figures["siting"] = {"new_sites": len(sugg), "merge_pairs": len(t["merges"]),
                                "candidates_given": _candidates_given(candidates, t["kelurahan"]),
                                "all_optimal": bool(sugg["optimal"].astype(bool).all()) if len(sugg) else True}
    stage_frame = stage_table(stages, t["kelurahan"], t["rw"], t["tps"], "", with_voters=True)
    result = CoverageResult(t["tps"], t["rt"], t["rw"], t["kelurahan"], t["gaps"], t["suggestions"], t["merges"],
                            t["catchments"], t["service_areas"], stage_frame, report, float(threshold_m),
                            int(max_per_tps), "")
    located = types.SimpleNamespace(
        locations=pd.DataFrame({"status": t["rt"]["coverage"], "voters": t["rt"]["voters"]}),
        counts=pd.DataFrame({"tps_row": [-1], "voters": [int(voters_unknown_tps)]}))
    describe(result, located)
    return result


def _table(cover_dir: Path, name: str) -> gpd.GeoDataFrame:
    files = sorted((cover_dir / name).glob("kode_kab=*/part-*.parquet"))
    frames = [read_geoparquet(f) for f in files]        # not gpd.read_parquet: ~80 ms per file parsing its CRS
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0] if frames else gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    return pd.concat(full, ignore_index=True) if len(full) > 1 else full[0]


def _gap_order(gaps: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Worst first as :func:`geo.coverage_gaps.find_gaps` (severity, voters descending, key); ties of one
    key keep its order of reasons."""
    rank = gaps["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).to_numpy()
    group = gaps["reason"].map(GAP_GROUPS).to_numpy()
    order = np.lexsort((group, gaps["kode"].to_numpy(dtype=str), -gaps["voters"].fillna(-1).to_numpy(dtype=float),
                        rank))
    return gaps.iloc[order].reset_index(drop=True)


def _suggestion_order(sugg: gpd.GeoDataFrame, gaps: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Distance-gap sites by kelurahan, then capacity sites in the order of their kelurahan's gap
    (as :func:`geo.siting.suggest` lists them); each kelurahan's sites keep their rank order."""
    if not len(sugg):
        return sugg
    cover = (sugg["reason"] == "no_tps_nearby").to_numpy()
    want = gaps[gaps["reason"].isin(["too_few_tps", "kelurahan_without_tps"])]
    at = pd.Series(np.arange(len(want)), index=want["kode_kel"].to_numpy())
    gap_pos = np.where(cover, -1, at.reindex(sugg["kode_kel"].to_numpy()).fillna(len(want)).to_numpy())
    kel = sugg["kode_kel"].astype("string").fillna("").to_numpy(dtype=str)
    order = np.lexsort((np.where(cover, kel, ""), gap_pos, ~cover))
    return sugg.iloc[order].reset_index(drop=True)


def _candidates_given(candidates: gpd.GeoDataFrame | None, kelurahan: gpd.GeoDataFrame) -> int:
    """How many candidate sites lie in (or declare) a kelurahan with a polygon, as
    :class:`geo.siting.Sites` counts them over all kelurahan."""
    from geo.siting import Sites

    layer = kelurahan[~(kelurahan.geometry.isna() | kelurahan.geometry.is_empty)].reset_index(drop=True)
    if candidates is None or not len(candidates) or not len(layer):
        return 0
    sites = Sites.__new__(Sites)
    return len(sites._given(candidates, types.SimpleNamespace(kelurahan=layer)))


# --- the run ---------------------------------------------------------------------------------------

def run_coverage(dataset: str | Path, work_dir: str | Path, *, threshold_m: float = 500.0, max_per_tps: int = 300,
                 min_use: float = 0.25, candidates: gpd.GeoDataFrame | None = None,
                 stages: pd.DataFrame | None = None, scheduler: str | None = None, workers: int | None = None,
                 client: Any = None, max_voters: int = batch.DEFAULT_MAX_VOTERS,
                 retries: int = batch.DEFAULT_RETRIES, resume: bool = True) -> tuple[CoverageResult | None, Report]:
    """Coverage of a batch dataset, partitioned by region code, in this process or on a Dask cluster.

    Parameters
    ----------
    dataset : path
        A batch dataset (:mod:`geo.batch_data`) on storage every worker can read.
    work_dir : path
        Folder for the partitioned Parquet (see the module docstring) on storage every worker can write.
    threshold_m, max_per_tps, min_use, candidates, stages
        As for :func:`geo.coverage.coverage` (metres; voters per TPS; share; EPSG-declared points; counts).
    scheduler, workers, client, max_voters, retries, resume
        As for :func:`geo.batch.run_batch`; both passes share one client. Without ``scheduler``,
        ``workers`` or ``client`` the partitions run in this process and Dask is not imported.

    Returns
    -------
    (CoverageResult or None, Report)
        The result (None when a partition failed after its retries) and the batch report: the second
        pass's :func:`geo.batch.run_batch` report with the first pass's figures under ``counts`` and
        failed partitions named by ``kode_kab`` and kecamatan. A re-run resumes from finished partitions.
    """
    data, work = Dataset(dataset), Path(work_dir)
    plan = coverage_plan(data, max_voters)
    count_dir, cover_dir = work / "count", work / "coverage"
    _fresh(count_dir, _fingerprint(data, max_voters), resume)          # counts depend on the voters only
    _fresh(cover_dir, _fingerprint(data, max_voters, threshold_m=float(threshold_m), max_per_tps=int(max_per_tps),
                                   min_use=float(min_use), candidates=candidates), resume)
    opts = {"max_voters": max_voters, "retries": retries, "resume": resume, "parts": plan}
    with (batch._dask_client(client, scheduler, workers) if client is not None or scheduler or workers
          else _no_client()) as c:
        counted = batch.run_batch(data.root, count_dir, task=count_task, client=c, **opts)
        if counted.figures["partitions_failed"]:
            counted.kind = "batch coverage"
            return None, counted
        n_workers = len(c.scheduler_info().get("workers", {})) if c is not None else 1
        opts["parts"] = pack_plan(plan, max_voters, PARTS_PER_WORKER * n_workers if c is not None else 1)
        task = _partial(coverage_task, count_dir=str(count_dir), threshold_m=threshold_m, max_per_tps=max_per_tps,
                        min_use=min_use, candidates=candidates)
        report = batch.run_batch(data.root, cover_dir, task=task, client=c, **opts)
    report.figures["counts"] = {k: counted.figures[k] for k in ("partitions_run", "partitions_resumed", "seconds",
                                                              "partition_cpu_seconds", "peak_rss_mb_max")}
    if report.figures["partitions_failed"]:
        return None, report
    manifests = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(count_dir.glob("kode_kab=*/_part-*.json"))]
    covered = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(cover_dir.glob("kode_kab=*/_part-*.json"))]
    unknown = sum(m["report"]["figures"].get("voters_unknown_tps", 0) for m in covered)
    result = combine(cover_dir, [m["report"] for m in manifests], threshold_m=threshold_m, max_per_tps=max_per_tps,
                     candidates=candidates, stages=stages, voters_unknown_tps=unknown)
    return result, report


def _partial(func, **kwargs):
    import functools

    return functools.partial(func, **kwargs)


class _no_client:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _fingerprint(data: Dataset, max_voters: int, **params: Any) -> dict:
    """What partition files depend on: the dataset's state, the plan and the analysis parameters."""
    st = (data.root / "tps.parquet").stat()
    out = {"dataset": str(data.root.resolve()), "data_version": data.data_version(),
           "tps_file": [st.st_mtime_ns, st.st_size], "max_voters": int(max_voters)}
    for key, value in sorted(params.items()):
        out[key] = _digest(value) if isinstance(value, gpd.GeoDataFrame) else value
    return out


def _digest(frame: gpd.GeoDataFrame) -> str:
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
    attrs["_wkb"] = shapely.to_wkb(frame.geometry.to_numpy())
    return hashlib.sha256(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes()
                          + str(frame.crs).encode()).hexdigest()


def _fresh(folder: Path, fingerprint: dict, resume: bool) -> None:
    """Empty ``folder`` unless it holds parts made from the same inputs and parameters (then: resume)."""
    path = folder / "_task.json"
    try:
        same = resume and json.loads(path.read_text(encoding="utf-8")) == fingerprint
    except (OSError, ValueError):
        same = False
    if not same and folder.exists():
        log.info("coverage batch %s: inputs or parameters changed, starting afresh", folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    output.write_text(path, json.dumps(fingerprint, sort_keys=True))


__all__ = ["combine", "count_task", "coverage_plan", "coverage_task", "read_counts", "run_coverage"]
