"""Output of the national batch: atomic Parquet files, partition manifests, resume checks, merged figures.

Layout (see :mod:`geo.batch`)::

    <out>/kode_kab=<4 digits>/part-<part:03d>-<chunk:04d>.parquet          the task's table, a file per chunk
    <out>/<table>/kode_kab=<4 digits>/part-<part:03d>-<chunk:04d>.parquet  each further named table
    <out>/kode_kab=<4 digits>/_part-<part:03d>.json                        the partition's manifest, last

Every file is written under a hidden temporary name (``.<name>.<random>.tmp``) and renamed into
place, so a reader never sees half a file, and a manifest means its partition is complete. Readers
(pyarrow, pandas, DuckDB, Spark) skip names starting with ``_`` or ``.``.

A manifest keeps, per float ``*_m`` column, the count, sum, maximum and a ``HIST_BIN_M`` histogram,
so the batch report gives national distance figures without reading the outputs again.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HIST_BIN_M = 10.0                # distance histogram bins of the merged report (metres)
NON_ADDITIVE = frozenset({"tps_placed", "tps_unplaced", "margin_m", "seconds", "walk_limit_m"})


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet (GeoParquet for a GeoDataFrame) at ``path``, atomically."""
    tmp = _temporary(path)
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(tmp, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    tmp = _temporary(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def folder(out: Path, kab: str | None, table: str = "") -> Path:
    """Where a partition of ``kab`` (None: the single-process run) writes ``table`` ("": the task's table)."""
    base = out / table if table else out
    return base / f"kode_kab={kab}" if kab else base


def part_file(where: Path, part: int, chunk: int) -> Path:
    return where / f"part-{part:03d}-{chunk:04d}.parquet"


def manifest_file(out: Path, kab: str | None, part: int) -> Path:
    return folder(out, kab) / f"_part-{part:03d}.json"


def remove_part(out: Path, kab: str | None, part: int) -> None:
    """Delete what an earlier attempt at a partition left (files of every table, temporaries, manifest)."""
    pattern = re.compile(rf"\.?(part-{part:03d}-\d{{4}}\.parquet|_part-{part:03d}\.json)(\..*\.tmp)?")
    for where in [folder(out, kab)] + [folder(out, kab, t) for t in _tables(out)]:
        for path in where.glob(f"*part-{part:03d}*"):
            if pattern.fullmatch(path.name):
                path.unlink(missing_ok=True)


def _tables(out: Path) -> list[str]:
    """Named table folders under ``out``."""
    if not out.is_dir():
        return []
    return sorted(d.name for d in out.iterdir() if d.is_dir() and not d.name.startswith(("kode_kab=", ".", "_")))


def remove_unplanned(out: Path, planned: set[tuple[str, int]]) -> None:
    """Delete partition files of an earlier, different plan: ``planned`` holds (kode_kab, part) pairs."""
    for path in [*out.glob("kode_kab=*/*part-*"), *out.glob("*/kode_kab=*/*part-*")]:
        m = re.fullmatch(r"\.?_?part-(\d{3})[-.].*", path.name)
        if m and (path.parent.name.split("=", 1)[1], int(m.group(1))) not in planned:
            path.unlink(missing_ok=True)


def finished(out: Path, kab: str, part: int, kecamatan: list[str]) -> dict | None:
    """The manifest of a complete earlier run of a partition over ``kecamatan`` (every listed file there
    with its row count), else None."""
    try:
        manifest = json.loads(manifest_file(out, kab, part).read_text(encoding="utf-8"))
        ok = manifest["kecamatan"] == list(kecamatan) and all(
            pq.read_metadata(out / f["name"]).num_rows == f["rows"] for f in manifest["files"])
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None
    return manifest if ok else None


class ColumnStats:
    """Count, sum, max and a ``HIST_BIN_M`` histogram of each float ``*_m`` column of written frames."""

    def __init__(self) -> None:
        self.cols: dict[str, dict] = {}

    def add(self, frame: pd.DataFrame) -> None:
        for col in frame.columns:
            if not (str(col).endswith("_m") and pd.api.types.is_float_dtype(frame[col].dtype)):
                continue
            v = frame[col].to_numpy(np.float64, na_value=np.nan)
            v = v[np.isfinite(v)]
            s = self.cols.setdefault(str(col), {"n": 0, "sum": 0.0, "max": None, "hist": {}})
            if len(v):
                s["n"] += len(v)
                s["sum"] += float(v.sum())
                s["max"] = max(s["max"] or 0.0, float(v.max()))
                bins, counts = np.unique(np.floor(np.maximum(v, 0) / HIST_BIN_M).astype(np.int64),
                                         return_counts=True)
                for b, c in zip(bins.tolist(), counts.tolist()):
                    s["hist"][b] = s["hist"].get(b, 0) + c

    def as_dict(self) -> dict:
        return {k: {**s, "hist": sorted(s["hist"].items())} for k, s in self.cols.items()}


def merge_columns(stats: list[dict]) -> dict:
    """``{"n", "mean_m", "p95_m", "max_m"}`` per column over the partitions' :class:`ColumnStats`.

    The mean and maximum are exact; the 95th percentile is the centre of its ``HIST_BIN_M`` bin.
    """
    out = {}
    for col in sorted({c for s in stats for c in s}):
        parts = [s[col] for s in stats if col in s]
        n = sum(p["n"] for p in parts)
        if not n:
            out[col] = {"n": 0, "mean_m": None, "p95_m": None, "max_m": None}
            continue
        hist: dict[int, int] = {}
        for p in parts:
            for b, c in p["hist"]:
                hist[int(b)] = hist.get(int(b), 0) + int(c)
        bins = np.array(sorted(hist))
        cum = np.cumsum([hist[b] for b in bins])
        p95 = (bins[np.searchsorted(cum, 0.95 * n)] + 0.5) * HIST_BIN_M
        out[col] = {"n": n, "mean_m": round(sum(p["sum"] for p in parts) / n, 1), "p95_m": round(float(p95), 1),
                    "max_m": round(max(p["max"] for p in parts if p["max"] is not None), 1)}
    return out


def sum_figures(dicts: Iterable[dict]) -> dict:
    """Integer figures of the partitions' reports summed (recursively through nested dicts).

    Figures that do not add up over partitions (``NON_ADDITIVE``: e.g. ``tps_placed``, as a TPS near a
    border serves several partitions) and distance summaries (merged by :func:`merge_columns`) are left out.
    """
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            if k in NON_ADDITIVE or isinstance(v, bool) or (isinstance(v, dict) and "mean_m" in v):
                continue
            if isinstance(v, dict):
                sub = sum_figures([v])
                if sub:
                    out[k] = sum_figures([out[k], sub]) if isinstance(out.get(k), dict) else sub
            elif isinstance(v, int) and not isinstance(out.get(k, 0), dict):
                out[k] = out.get(k, 0) + v
    return out


def read_results(out_dir: str | Path, columns: list[str] | None = None, table: str = "") -> Iterator[pd.DataFrame]:
    """Stream a batch's output (``table``: a named table) file by file, in path order (e.g. to load it
    into a store). Each frame gets a ``kode_kab`` column from its folder name."""
    base = Path(out_dir) / table if table else Path(out_dir)
    for path in sorted(base.glob("kode_kab=*/part-*.parquet")):
        frame = pq.read_table(path, columns=columns).to_pandas()
        frame["kode_kab"] = pd.Series(path.parent.name.split("=", 1)[1], index=frame.index, dtype="string")
        yield frame


__all__ = ["HIST_BIN_M", "ColumnStats", "finished", "folder", "merge_columns", "read_results", "remove_part",
           "remove_unplanned", "sum_figures", "write_frame", "write_text"]
