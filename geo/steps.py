"""Pipeline steps over a store: read the layers a step needs, run the pure ``geo`` function, write back.

Data flows one way: boundaries → stations → geocode → voters → assign → coverage → tiles/maps.
Each step returns a :class:`geo.report.Report` and records it in the store.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import schema
from geo.errors import InputError, NotFoundError, StoreError
from geo.report import Report
from geo.store.base import Store

log = logging.getLogger(__name__)

GEOCODE_COLUMNS = ["geometry", "rw", "rt", "location_source", "precision_m", "flags"]
_CANDIDATE_NAMES = ("nama", "NAMA", "name", "NAME", "NAMOBJ", "nama_tempat")


def geocode_step(store: Store, *, candidates: str | Path | None = None, tolerance_m: float = 100.0,
                 max_per_tps: int = 300, out: str | Path | None = None,
                 reports_dir: Path | None = None) -> tuple[gpd.GeoDataFrame, Report]:
    """Geocode every stored TPS and store the points, sources, precisions and flags.

    Parameters
    ----------
    candidates : path, optional
        Points file of candidate sites (schools, halls, kantor lurah) with a name column.
    tolerance_m : float
        How far (metres) given coordinates may lie outside their kelurahan and still be used.
    out : path, optional
        Also write every TPS to this file (``.geojson``, ``.gpkg``, ``.csv`` with lon/lat, ``.parquet``).
    reports_dir : path, optional
        Where to write the list of TPS placed at kelurahan level only (CSV and GeoPackage).
    """
    from geo.geocode import geocode_tps, kelurahan_level_list
    from geo.outputs import write_frame

    tps = store.read("tps")
    if tps.empty:
        raise NotFoundError("no TPS in the store: run `petatps load tps FILE` first")
    kelurahan = store.read("kelurahan")
    if kelurahan.empty:
        raise NotFoundError("no kelurahan boundaries in the store: run `petatps load boundaries FILE "
                            "--level kelurahan` first")
    rw, rt = (_or_none(store.read(level)) for level in ("rw", "rt"))
    cand = read_candidates(candidates) if candidates else None
    placed, report = geocode_tps(tps, kelurahan, rw, rt, cand, tolerance_m=tolerance_m,
                                 max_per_tps=max_per_tps, source=store.describe())
    store.update("tps", placed, GEOCODE_COLUMNS)
    report.rows_loaded = int(placed.geometry.notna().sum())
    report.rows_rejected = report.rows_read - report.rows_loaded
    if out:
        write_frame(placed, out, layer="tps")
        report.figures["out"] = str(out)
    if reports_dir is not None:
        coarse = kelurahan_level_list(placed)
        reports_dir.mkdir(parents=True, exist_ok=True)
        report.figures["kelurahan_level_tps"] = len(coarse)
        if len(coarse):
            paths = [write_frame(coarse, reports_dir / f"tps_kelurahan_level{ext}", layer="tps_kelurahan_level")
                     for ext in (".csv", ".gpkg")]
            report.figures["kelurahan_level_files"] = [str(p) for p in paths]
    report.figures["data_version"] = store.data_version()
    store.record_run(report.to_dict())
    return placed, report


def read_candidates(path: str | Path) -> gpd.GeoDataFrame:
    """Read a points file of candidate sites; its name column becomes ``nama``."""
    from geo.boundary_io import read_layer

    gdf, _notes = read_layer(path)
    name = next((c for c in _CANDIDATE_NAMES if c in gdf.columns), None)
    if name is None:
        raise InputError(f"no name column in candidate sites (looked for {', '.join(_CANDIDATE_NAMES)}; "
                         f"found {', '.join(map(str, gdf.columns))})", file=str(path))
    if not gdf.geom_type.eq("Point").all():
        raise InputError("candidate sites must be points", file=str(path))
    return gdf.rename(columns={name: "nama"})[["nama", "geometry"]]


def _or_none(frame):
    return None if frame is None or frame.empty else frame


EXPORT_KINDS = ("maps", "geojson", "tiles", "bundle")


def export_step(store: Store, kind: str, out_dir: str | Path, *, kode: str | None = None,
                zooms: tuple[int, int] | None = None, formats: tuple[str, ...] = ("geojson", "mvt"),
                basemap_url: str | None = None, basemap_attribution: str | None = None) -> Report:
    """Export maps, GeoJSON, tiles or the whole static bundle of the stored layers to ``out_dir``.

    Parameters
    ----------
    kind : {"maps", "geojson", "tiles", "bundle"}
    kode : str, optional
        Limit to a kota/kecamatan/kelurahan code.
    zooms : (int, int), optional
        Lowest and highest TPS tile zoom (default 10–17).
    """
    from geo import export, maps, tiles

    if kind not in EXPORT_KINDS:
        raise InputError(f"unknown export {kind!r}; expected one of {', '.join(EXPORT_KINDS)}")
    tps, kelurahan = store.read("tps", kode=kode), store.read("kelurahan", kode=kode)
    if kelurahan.empty:
        raise NotFoundError(f"no kelurahan in the store{' for ' + kode if kode else ''}: load boundaries first")
    rw, rt = (_or_none(store.read(level, kode=kode)) for level in ("rw", "rt"))
    version = store.data_version()
    base = maps.BaseMap(url=basemap_url or maps.OSM.url, attribution=basemap_attribution or maps.OSM.attribution)
    opts = {"tps": tiles.TileOptions(zooms=tuple(range(zooms[0], zooms[1] + 1)))} if zooms else None
    if kind == "maps":
        report = export.export_maps(out_dir, kelurahan=kelurahan, tps=tps, rw=rw, rt=rt, data_version=version,
                                    base_map=base)
    elif kind == "geojson":
        report = export.export_geojson(out_dir, tps=tps, kelurahan=kelurahan, rw=rw, data_version=version)
    elif kind == "tiles":  # PostGIS cuts them with ST_AsMVT; the GeoPackage store in Python (same ids)
        from geo import tile_source

        report = tile_source.pyramid(store, out_dir, kode=kode, data_version=version, options=opts,
                                     formats=formats, attribution=base.attribution)
    else:
        report = export.export_bundle(out_dir, tps=tps, kelurahan=kelurahan, rw=rw, rt=rt, data_version=version,
                                      base_map=base, tile_options=opts, formats=formats)
    report.figures.setdefault("data_version", version)
    if kode:
        report.figures["kode"] = kode
    store.record_run(report.to_dict())
    return report


ASSIGN_MODES = ("nearest", "capacity")


def assign_step(store: Store, *, mode: str = "nearest", max_per_tps: int = 300, margin_m: float = 500.0,
                network: str | Path | None = None, out: str | Path | None = None,
                kode: str | None = None) -> Report:
    """Each stored voter's DPT TPS, nearest TPS (own kelurahan and any) and distances; store and export them.

    Parameters
    ----------
    mode : {"nearest", "capacity"}
        ``capacity`` also plans a cap-respecting assignment (whole KK, own kelurahan, ``max_per_tps``).
    margin_m : float
        Flag voters whose DPT TPS is more than this many metres farther than their nearest TPS.
    network : path, optional
        Road lines file: adds walking distances (``*_walk*`` columns).
    out : path, optional
        ``.csv`` or ``.parquet`` with the result columns (no NIK, name or other personal field).
    kode : str, optional
        Limit to voters of a kota/kecamatan/kelurahan code (TPS of all kelurahan stay candidates).
    """
    from geo.assign import OUTPUT_COLUMNS, assign_voters
    from geo.locations import voter_locations

    if mode not in ASSIGN_MODES:
        raise InputError(f"unknown assign mode {mode!r}; expected one of {', '.join(ASSIGN_MODES)}")
    if store.counts()["voters"] == 0:
        raise NotFoundError("no voters in the store: run `petatps load dpt FILE` first")
    tps = store.read("tps")
    if tps.geometry.notna().sum() == 0:
        raise NotFoundError("no TPS has a location: run `petatps geocode` first")
    layers = {lvl: _or_none(store.read(lvl, kode=kode)) for lvl in ("rt", "rw", "kelurahan")}
    locations = voter_locations(store.iter_read("voters", kode=kode), **layers)
    graph = _road_graph(network) if network else None
    chunks, report = assign_voters(store.iter_read("voters", kode=kode), locations, tps, margin_m=margin_m,
                                   network=graph)
    if mode == "capacity":
        chunks = [_with_plan(store, pd.concat(list(chunks), ignore_index=True), locations, tps, kode,
                             max_per_tps, report)]
    columns = None
    writer = _ChunkWriter(out) if out else None
    try:
        def tee():
            nonlocal columns
            for chunk in chunks:
                columns = columns or [c for c in chunk.columns if c in schema.LAYERS["assignments"].columns]
                if writer:
                    writer.write(chunk[columns])
                yield schema.conform(chunk, "assignments")

        n = store.load("assignments", tee())
        if writer:
            writer.close()
    except BaseException:
        if writer:
            writer.abort()
        raise
    report.kind = f"assign {mode}"
    report.rows_read = report.rows_loaded = n
    report.figures["output_columns"] = columns or list(OUTPUT_COLUMNS)
    if out:
        report.figures["out"] = str(out)
    report.figures["data_version"] = store.data_version()
    store.record_run(report.to_dict())
    return report.finish()


def _with_plan(store, assigned, locations, tps, kode, max_per_tps, report):
    from geo.capacity import plan_capacity

    plan, plan_report = plan_capacity(store.iter_read("voters", kode=kode), locations, tps, max_per_tps=max_per_tps)
    if len(plan) != len(assigned) or not (plan["voter_key"].to_numpy() == assigned["voter_key"].to_numpy()).all():
        raise AssertionError("capacity plan and assignment rows are not aligned")
    assigned[["tps_planned", "dist_planned_m"]] = plan[["tps_planned", "dist_planned_m"]].to_numpy()
    report.figures["capacity"] = plan_report.figures
    report.notes.extend(plan_report.notes)
    return assigned


def _road_graph(path):
    from geo.boundary_io import read_layer
    from geo.network import build_graph

    roads, _notes = read_layer(path)
    return build_graph(roads, source=str(path))


class _ChunkWriter:
    """Stream result chunks to ``.csv`` or ``.parquet``, renamed into place when complete."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in (".csv", ".parquet"):
            raise InputError(f"unsupported output format {ext or '(none)'}; expected .csv or .parquet",
                             file=str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.partial")
        self.tmp.unlink(missing_ok=True)
        self._pq = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.path.suffix.lower() == ".csv":
            frame.to_csv(self.tmp, mode="a", header=not self.tmp.exists(), index=False, lineterminator="\n")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._pq is None:
            self._pq = pq.ParquetWriter(self.tmp, table.schema)
        self._pq.write_table(table.cast(self._pq.schema))

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if not self.tmp.exists():  # no voters: still write the header
            pd.DataFrame(columns=list(schema.LAYERS["assignments"].columns)).to_csv(self.tmp, index=False)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self._pq is not None:
            self._pq.close()
        self.tmp.unlink(missing_ok=True)


def coverage_step(store: Store, out_dir: str | Path, *, kode: str | None = None, threshold_m: float = 500.0,
                  max_per_tps: int = 300, candidates: str | Path | None = None,
                  stages: str | Path | None = None, network: str | Path | None = None,
                  basemap_url: str | None = None, basemap_attribution: str | None = None,
                  workers: int | None = None, scheduler: str | None = None,
                  dataset: str | Path | None = None, max_voters: int | None = None) -> Report:
    """Coverage for officers: per-TPS load, per-RT/RW distances, gaps, siting suggestions, report files.

    Without voters in the store (e.g. the public TPS list with DPT counts only) the TPS loads come from
    ``tps.dpt`` and the report says what could not be computed.

    Parameters
    ----------
    out_dir : path
        Folder for tps.csv, gaps.csv, coverage.gpkg, coverage_*.geojson and index.html.
    stages : path, optional
        CSV of counts per kelurahan (``kode_kel``) or RW (``kode_kel``, ``rw``): ``population``, ``dps``, ``dpt``.
    workers, scheduler, max_voters : optional
        Partition by region code (at most ``max_voters`` voters per partition) on a local Dask cluster of ``workers`` processes or on the
        ``dask.distributed`` scheduler at ``scheduler`` (:mod:`geo.batch_coverage`); the same files.
        The store is exported once per data version to ``dataset`` (default ``<out_dir>-dataset``),
        the partitions go to ``<out_dir>-partitions`` (exact counts: keep both private).
    """
    from geo import maps
    from geo.coverage import coverage
    from geo.coverage_report import write_coverage

    if workers or scheduler:
        if kode or network:
            raise InputError("coverage on Dask runs on the whole store: no kode or road network")
        base = maps.BaseMap(url=basemap_url or maps.OSM.url, attribution=basemap_attribution or maps.OSM.attribution)
        return _coverage_batch(store, Path(out_dir), dataset=dataset, scheduler=scheduler, workers=workers,
                               threshold_m=threshold_m, max_per_tps=max_per_tps, base=base, max_voters=max_voters,
                               candidates=read_candidates(candidates) if candidates else None,
                               stages=_read_stages(stages) if stages else None)
    tps = store.read("tps", kode=kode)
    if tps.empty:
        raise NotFoundError(f"no TPS in the store{' for ' + kode if kode else ''}: load and geocode TPS first")
    layers = {lvl: _or_none(store.read(lvl, kode=kode)) for lvl in ("rt", "rw", "kelurahan")}
    voters = store.iter_read("voters", kode=kode) if store.counts()["voters"] else None
    result = coverage(voters, tps, **layers, kode=kode, threshold_m=threshold_m, max_per_tps=max_per_tps,
                      candidates=read_candidates(candidates) if candidates else None,
                      stages=_read_stages(stages) if stages else None,
                      network=_road_graph(network) if network else None)
    base = maps.BaseMap(url=basemap_url or maps.OSM.url, attribution=basemap_attribution or maps.OSM.attribution)
    written = write_coverage(result, out_dir, data_version=store.data_version(), base_map=base)
    report = result.report
    report.figures["files"] = written.figures
    report.figures["out"] = str(out_dir)
    store.record_run(report.to_dict())
    return report.finish()


def _coverage_batch(store: Store, out_dir: Path, *, dataset, scheduler, workers, threshold_m, max_per_tps, base,
                    max_voters, candidates, stages) -> Report:
    """:func:`coverage_step` partitioned on Dask: export (once per data version), run, write the same files."""
    from geo.batch_coverage import run_coverage
    from geo.batch_data import Dataset, export_store
    from geo.coverage_report import write_coverage

    if not store.counts().get("voters"):
        raise NotFoundError("no voters in the store: --workers/--scheduler partition the voter list; "
                            "run coverage without them for loads from the TPS DPT counts")
    dataset = Path(dataset) if dataset else out_dir.with_name(out_dir.name + "-dataset")
    if not dataset.exists() or Dataset(dataset).data_version() != store.data_version() \
            or "location_source" not in Dataset(dataset).tps_columns():        # older datasets: TPS codes only
        export_store(store, dataset)
    result, report = run_coverage(dataset, out_dir.with_name(out_dir.name + "-partitions"), threshold_m=threshold_m,
                                  max_per_tps=max_per_tps, candidates=candidates, stages=stages,
                                  scheduler=scheduler, workers=workers,
                                  **({"max_voters": max_voters} if max_voters else {}))
    if result is None:
        raise StoreError(f"{report.figures['partitions_failed']} partition(s) failed after retries: "
                         f"{report.figures.get('failed')}; re-run to resume from the finished ones")
    written = write_coverage(result, out_dir, data_version=store.data_version(), base_map=base)
    report.figures.update({"coverage": result.report.figures, "files": written.figures, "out": str(out_dir)})
    report.notes.extend(result.report.notes)
    store.record_run(report.to_dict())
    return report.finish()


def _read_stages(path: str | Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, sep=None, engine="python", encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read stage counts: {exc}", file=str(path)) from None
    if "kode_kel" not in frame.columns:
        raise InputError(f"stage counts need a kode_kel column (found {', '.join(map(str, frame.columns))})",
                         file=str(path))
    for col in ("rw", "population", "dps", "dpt"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame


def assign_batch_step(store: Store, out_dir: str | Path, *, dataset: str | Path | None = None,
                      scheduler: str | None = None, workers: int | None = None, margin_m: float = 500.0,
                      max_voters: int | None = None, retries: int | None = None, resume: bool = True,
                      load: bool = True) -> Report:
    """``petatps assign`` partitioned by region code on Dask (``scheduler`` or ``workers`` local processes).

    The store is exported once (per data version) to a batch dataset of Parquet partitions, every
    partition runs the same ``geo.assign`` functions, results land in ``out_dir/kode_kab=.../part-*.parquet``
    and, with ``load``, in the store's ``assignments`` layer.
    """
    import functools

    from geo import batch
    from geo.batch_data import Dataset, export_store
    from geo.batch_output import read_results

    dataset = Path(dataset) if dataset else Path(out_dir).with_name(Path(out_dir).name + "-dataset")
    if not dataset.exists() or Dataset(dataset).data_version() != store.data_version():
        export_store(store, dataset)
    opts = {k: v for k, v in (("max_voters", max_voters), ("retries", retries)) if v is not None}
    report = batch.run_batch(dataset, out_dir, task=functools.partial(batch.assign_task, margin_m=margin_m),
                             scheduler=scheduler, workers=workers, resume=resume, **opts)
    if report.figures.get("partitions_failed"):
        failed = report.figures.get("failed", report.figures["partitions_failed"])
        raise StoreError(f"{report.figures['partitions_failed']} partition(s) failed after retries: {failed}; "
                         f"re-run to resume from the finished ones")
    if load:
        n = store.load("assignments", (schema.conform(f, "assignments") for f in read_results(out_dir)))
        report.figures["loaded_into_store"] = n
    store.record_run(report.to_dict())
    return report
