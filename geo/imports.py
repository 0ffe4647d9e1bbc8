"""Imports: a loader's output into the store, with the report kept beside it.

Each ``import_*`` function reads one file with its pure loader, loads the conforming rows into the
store in one atomic transaction, writes the rejected rows to ``<reports_dir>/<run>.rejected.csv`` and
the report to ``<run>.report.json``, records the report in the store and returns it. A fatal input
error raises before anything is written to the store (or rolls the load back), so a failed import
leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Iterable

import pandas as pd

from geo.report import Report
from geo.store.base import Store

log = logging.getLogger(__name__)

PARENT_LAYER = {"kecamatan": "kota", "kelurahan": "kecamatan", "rw": "kelurahan", "rt": "rw"}


def import_boundaries(store: Store, path: str | Path, level: str, *, reports_dir: Path,
                      merge_pieces: bool = False) -> Report:
    """Load admin areas of ``level`` (kota|kecamatan|kelurahan|rw|rt) from a GeoJSON/GPKG/Shapefile."""
    from geo.boundaries import read_boundaries

    parents = _codes(store, PARENT_LAYER.get(level), "kode")
    rejected = _run_path(reports_dir, f"boundaries-{level}", path, ".rejected.csv")
    with _discard_on_error(rejected):
        gdf, report = read_boundaries(path, level, rejected_path=rejected, parents=parents or None,
                                      merge_pieces=merge_pieces)
        return _finish(store, level, [gdf], report, rejected)


def import_tps(store: Store, path: str | Path, *, reports_dir: Path) -> Report:
    """Load a TPS list (CSV/XLSX as KPU publishes it)."""
    from geo.stations import read_tps

    rejected = _run_path(reports_dir, "tps", path, ".rejected.csv")
    with _discard_on_error(rejected):
        gdf, report = read_tps(path, rejected_path=rejected,
                               kelurahan_codes=_codes(store, "kelurahan", "kode") or None)
        return _finish(store, "tps", [gdf], report, rejected)


def import_dpt(store: Store, path: str | Path, *, key: bytes, reports_dir: Path,
               chunksize: int = 200_000) -> Report:
    """Stream a DPT voter list into the store (replaces the voters of the kelurahan it covers)."""
    from geo.voters import read_dpt

    rejected = _run_path(reports_dir, "dpt", path, ".rejected.csv")
    with _discard_on_error(rejected):
        reader = read_dpt(path, key=key, rejected_path=rejected, chunksize=chunksize,
                          kelurahan_codes=_codes(store, "kelurahan", "kode") or None,
                          tps_codes=_codes(store, "tps", "kode_tps") or None)
        return _finish(store, "voters", reader, reader.report, rejected)


def _finish(store: Store, layer: str, chunks: Iterable[pd.DataFrame], report: Report, rejected: Path) -> Report:
    loaded = store.load(layer, chunks)
    # Merged pieces count as loaded rows but become one stored feature ("features").
    expected = report.figures.get("features", report.rows_loaded)
    if loaded != expected:
        raise AssertionError(f"{layer}: loader produced {expected} rows, store inserted {loaded}")
    report.rejected_file = str(rejected) if rejected.exists() else None
    report.figures["data_version"] = store.data_version()
    report.finish()
    try:
        rejected.with_name(rejected.name.replace(".rejected.csv", ".report.json")).write_text(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:  # the rows are committed: a report file that cannot be written is not a failed load
        log.warning("could not write the report file: %s", exc)
        report.note(f"report file not written ({exc.strerror or exc}); the report is kept in the store")
    store.record_run(report.to_dict())
    log.info("%s: %d rows loaded, %d rejected", report.kind, report.rows_loaded, report.rows_rejected)
    return report


@contextlib.contextmanager
def _discard_on_error(rejected: Path):
    """A failed import leaves no half-written rejected file behind (the store is rolled back too)."""
    try:
        yield
    except BaseException:
        rejected.unlink(missing_ok=True)
        raise


def _codes(store: Store, layer: str | None, column: str) -> set[str]:
    if layer is None or store.counts().get(layer, 0) == 0:
        return set()
    return set(store.read(layer)[column].dropna().astype(str))


def _run_path(reports_dir: Path, kind: str, source: str | Path, suffix: str) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    path = reports_dir / f"{stamp}-{kind}-{Path(source).stem}{suffix}"
    if path.exists():
        path.unlink()
    return path
