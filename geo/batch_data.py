"""Inputs of the national batch: a Parquet dataset on shared storage, read one partition at a time.

A batch never holds the voters of the country at once: the voters are written once, streamed, into
one folder per kecamatan, and every partition reads only its kecamatan. Layout (EPSG:4326)::

    <root>/tps.parquet        GeoParquet of the TPS layer (kode_tps, kode_kel, the stored attributes,
                              Point geometry; null: not placed), sorted by kode_tps
    <root>/kelurahan.parquet  GeoParquet of the kelurahan layer, sorted by kode
    <root>/rw.parquet         GeoParquet of the RW layer, sorted by kode_kel (optional)
    <root>/rt.parquet         GeoParquet of the RT layer, sorted by kode_kel (optional)
    <root>/voters/kode_kec=<6 digits>/part-<n:05d>.parquet   VOTER_COLUMNS, in input order

Personal data: voters carry only the keyed NIK/KK hashes (never a raw NIK or a name); the folder
needs the same protection as the store it came from.

:class:`PartitionInputs` is what a partition task receives: its voters (streamed), its areas, and
the TPS it needs: those of its own kelurahan, those its voters' DPT names, and those close enough
to be some location's nearest TPS across a border (a halo grown until it provably holds them).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import shapely

from geo.crs import STORAGE_EPSG
from geo.errors import InputError, NotFoundError
from geo.nearest import (
    TIE_TOLERANCE_M,
    TpsPoints,
    nearest_indices,
    require_columns,
    tps_points,
)
from geo.report import Problem, Report
from geo.store.base import Store

log = logging.getLogger(__name__)

VOTER_COLUMNS = {"voter_key": "string", "kk_key": "string", "kode_kel": "string", "rw": "Int16", "rt": "Int16",
                 "kode_tps": "string"}
AREA_KEYS = {"kelurahan": "kode", "rw": "kode_kel", "rt": "kode_kel"}
BATCH_ROWS = 500_000          # voters per chunk read back
HALO_START_M = 2_000.0        # first halo around a partition's locations (metres, EPSG:32748)
_ROW_GROUP = 50_000


# --- writing ----------------------------------------------------------------------------------

def write_dataset(root: str | Path, *, voters: Iterable[pd.DataFrame], tps: gpd.GeoDataFrame,
                  kelurahan: gpd.GeoDataFrame, rw: gpd.GeoDataFrame | None = None,
                  rt: gpd.GeoDataFrame | None = None) -> Report:
    """Write a batch dataset from layer frames and streamed voter chunks.

    Parameters
    ----------
    root : path
        Dataset folder. Built beside it under a temporary name and renamed into place, so a batch never
        sees half a dataset; an existing dataset there is replaced.
    voters : iterable of DataFrame
        Chunks of the ``voters`` layer (e.g. a :func:`geo.voters.read_dpt` reader); consumed once.
    tps, kelurahan, rw, rt : GeoDataFrame
        The layers as stored (EPSG:4326); ``rw``/``rt`` optional.

    Returns
    -------
    Report
        ``rows_read``/``rows_loaded`` voters; a chunk row without ``kode_kel`` is rejected (no partition).
    """
    root = Path(root)
    tmp = _fresh(root.with_name(f".{root.name}.tmp-{os.getpid()}"))
    report = Report("batch dataset", source=str(root))
    _write_layers(tmp, tps, {"kelurahan": kelurahan, "rw": rw, "rt": rt})
    for n, chunk in enumerate(voters):
        _write_voters(tmp, chunk, n, report)
    return _publish(tmp, root, report)


def export_store(store: Store, root: str | Path, *, chunksize: int = BATCH_ROWS) -> Report:
    """Write a batch dataset from a store, reading the voters one kecamatan at a time.

    Kecamatan are those of the stored kelurahan and TPS. Voters of any other kelurahan code are not
    exported: the report counts them against ``store.counts()`` and warns. The store's data version
    at the start is kept in ``_source.json`` (:meth:`Dataset.data_version`), to tell a stale dataset.
    """
    root = Path(root)
    tmp = _fresh(root.with_name(f".{root.name}.tmp-{os.getpid()}"))
    report = Report("batch dataset", source=store.describe())
    version = store.data_version()
    tps, kel = store.read("tps"), store.read("kelurahan")
    _write_layers(tmp, tps, {"kelurahan": kel, "rw": store.read("rw"), "rt": store.read("rt")})
    kecs = sorted(set(kel["kode"].dropna().str[:6]) | set(tps["kode_kel"].dropna().str[:6]))
    for kec in kecs:
        for n, chunk in enumerate(store.iter_read("voters", kode=kec, chunksize=chunksize)):
            _write_voters(tmp, chunk, n, report)
    missing = store.counts().get("voters", 0) - report.rows_read
    if missing:
        report.warn([Problem("voters", None, "kode_kel", None, f"{missing:,} stored voters are in kelurahan "
                             "outside the stored kelurahan and TPS kecamatan: not exported")])
    report.figures["data_version"] = version
    (tmp / "_source.json").write_text(json.dumps({"store": store.describe(), "data_version": version}))
    return _publish(tmp, root, report)


def _fresh(path: Path) -> Path:
    """An empty temporary dataset folder; also removes those left by writers that died (pid gone)."""
    for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*"):
        pid = old.name.rsplit("-", 1)[1]
        if old == path or (pid.isdigit() and not _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    (path / "voters").mkdir(parents=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _publish(tmp: Path, root: Path, report: Report) -> Report:
    if root.exists():
        shutil.rmtree(root)
    os.replace(tmp, root)
    report.figures["kecamatan"] = sum(1 for _ in (root / "voters").iterdir())
    log.info("batch dataset %s: %s voters in %s kecamatan", root, f"{report.rows_loaded:,}",
             report.figures["kecamatan"])
    return report.finish()


def _write_layers(root: Path, tps: gpd.GeoDataFrame, areas: dict) -> None:
    require_columns(tps, ("kode_tps", "kode_kel"), "tps")
    tps = tps.sort_values("kode_tps", kind="stable")     # every attribute: coverage needs them (flags, dpt)
    _geoparquet(tps, root / "tps.parquet")
    for level, frame in areas.items():
        if frame is not None and len(frame):
            require_columns(frame, (AREA_KEYS[level],), level)
            _geoparquet(frame.sort_values(AREA_KEYS[level], kind="stable"), root / f"{level}.parquet")


def _geoparquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    if frame.crs is None or frame.crs.to_epsg() != STORAGE_EPSG:
        raise InputError(f"expected EPSG:{STORAGE_EPSG} as stored, got {frame.crs}", file=path.stem)
    frame.reset_index(drop=True).to_parquet(path, index=False, row_group_size=_ROW_GROUP)


def _write_voters(root: Path, chunk: pd.DataFrame, n: int, report: Report) -> None:
    """Split one chunk by kecamatan into ``voters/kode_kec=K/part-<n>.parquet`` (input order kept)."""
    require_columns(chunk, tuple(VOTER_COLUMNS), "voters")
    frame = chunk[list(VOTER_COLUMNS)].astype(VOTER_COLUMNS).reset_index(drop=True)
    kec = frame["kode_kel"].str[:6]
    bad = (kec.isna() | (kec.str.len() < 6)).to_numpy()
    report.rows_read += len(frame)
    if bad.any():
        report.reject(Problem("voters", None, "kode_kel", None, "no kecamatan code: not in any partition")
                      for _ in range(int(bad.sum())))
    frame, kec = frame[~bad], kec[~bad]
    for code, rows in frame.groupby(kec.to_numpy(dtype=object), sort=True):
        folder = root / "voters" / f"kode_kec={code}"
        folder.mkdir(exist_ok=True)
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), folder / f"part-{n:05d}.parquet",
                       row_group_size=_ROW_GROUP)
        report.rows_loaded += len(rows)


# --- reading --------------------------------------------------------------------------------

class Dataset:
    """A batch dataset folder (see the module docstring); cheap to pickle: it holds only the path."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not (self.root / "tps.parquet").is_file() or not (self.root / "voters").is_dir():
            raise NotFoundError(f"{self.root}: not a batch dataset (no tps.parquet or voters/); write one with "
                                "geo.batch_data.write_dataset or export_store")

    def __reduce__(self):
        return (Dataset, (str(self.root),))

    def weights(self) -> pd.DataFrame:
        """Voters per kecamatan (``kode_kec``, ``voters``), from the Parquet footers only."""
        rows = [(d.name.split("=", 1)[1], sum(pq.read_metadata(f).num_rows for f in d.glob("part-*.parquet")))
                for d in sorted((self.root / "voters").glob("kode_kec=*"))]
        return pd.DataFrame(rows, columns=["kode_kec", "voters"]).astype({"kode_kec": "string", "voters": "int64"})

    def voters(self, kecamatan: Sequence[str] | None = None, columns: Sequence[str] | None = None,
               batch_rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
        """Voters of the given kecamatan (all when None) in chunks, kecamatan by kecamatan, file order."""
        cols = list(columns or VOTER_COLUMNS)
        folders = sorted((self.root / "voters").glob("kode_kec=*")) if kecamatan is None else \
            [self.root / "voters" / f"kode_kec={k}" for k in sorted(kecamatan)]
        for folder in folders:
            for path in sorted(folder.glob("part-*.parquet")):
                for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=cols):
                    yield batch.to_pandas().astype({c: VOTER_COLUMNS[c] for c in cols})

    def areas(self, kecamatan: Sequence[str] | None = None) -> dict[str, gpd.GeoDataFrame | None]:
        """``kelurahan``, ``rw``, ``rt`` frames of the given kecamatan (all when None); None when absent."""
        out = {}
        for level, key in AREA_KEYS.items():
            path = self.root / f"{level}.parquet"
            filt = None if kecamatan is None else _prefix_filter(key, kecamatan)
            out[level] = read_geoparquet(path, filt) if path.is_file() else None
        return out

    def data_version(self) -> str | None:
        """The store's data version the dataset was exported at (None: not exported from a store)."""
        path = self.root / "_source.json"
        return json.loads(path.read_text(encoding="utf-8"))["data_version"] if path.is_file() else None

    def tps(self, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        """Every TPS (``columns``, default all; always the geometry), sorted by ``kode_tps``."""
        return read_geoparquet(self.root / "tps.parquet", columns=columns)

    def tps_columns(self) -> list[str]:
        """The TPS layer's columns (from the file's schema only)."""
        return pq.read_schema(self.root / "tps.parquet").names

    def tps_points(self) -> TpsPoints:
        """The placed TPS as metric arrays, read once per process (and again when the file changes)."""
        st = (self.root / "tps.parquet").stat()
        return _cached_points(str(self.root), st.st_mtime_ns, st.st_size)


def read_geoparquet(path: Path, filters: ds.Expression | None = None,
                    columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """A GeoParquet file of this dataset (EPSG:4326, WKB ``geometry``), optionally filtered.

    Read with pyarrow and shapely: geopandas would parse the file's PROJJSON CRS (~0.1 s per file).
    """
    cols = None if columns is None else [*dict.fromkeys([*columns, "geometry"])]
    table = pq.read_table(path, filters=filters, columns=cols)
    crs = (json.loads(table.schema.metadata[b"geo"])["columns"]["geometry"].get("crs") or {}).get("id", {})
    if crs.get("code") != STORAGE_EPSG:
        raise InputError(f"expected GeoParquet in EPSG:{STORAGE_EPSG}, got {crs or 'another CRS'}", file=str(path))
    geom = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    attrs = table.drop_columns(["geometry"]).to_pandas()
    return gpd.GeoDataFrame(attrs, geometry=geom, crs=STORAGE_EPSG)


@functools.lru_cache(maxsize=2)
def _cached_points(root: str, mtime_ns: int, size: int) -> TpsPoints:
    return tps_points(Dataset(root).tps(["kode_tps", "kode_kel"]))


def _prefix_filter(column: str, prefixes: Sequence[str]) -> ds.Expression:
    """Rows whose ``column`` starts with one of ``prefixes`` (ranges: Parquet statistics prune groups)."""
    field = ds.field(column)
    expr = None
    for p in sorted(prefixes):
        term = (field >= p) & (field < p + ":")     # ':' sorts right after '9'
        expr = term if expr is None else expr | term
    return expr


class PartitionInputs:
    """What a partition task gets: voters, areas and TPS of ``kecamatan`` (None: the whole dataset).

    Tasks call :meth:`voters` once per pass (each call streams afresh), :meth:`areas` once, and
    :meth:`tps_frame` with their locations to get every TPS their answers can depend on.
    """

    def __init__(self, dataset: Dataset, kecamatan: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS):
        self.dataset = dataset
        self.kecamatan = tuple(sorted(kecamatan)) if kecamatan is not None else None
        self.batch_rows = batch_rows

    def voters(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        return self.dataset.voters(self.kecamatan, columns, self.batch_rows)

    def areas(self) -> dict[str, gpd.GeoDataFrame | None]:
        return self.dataset.areas(self.kecamatan)

    def tps_frame(self, locations: pd.DataFrame, dpt_codes: pa.Array | None = None) -> gpd.GeoDataFrame:
        """The TPS any answer for these locations can involve, as a ``tps`` frame (EPSG:4326).

        Parameters
        ----------
        locations : DataFrame
            ``x``, ``y`` (EPSG:32748 metres) of the partition's voter locations.
        dpt_codes : pyarrow.Array of string, optional
            The ``kode_tps`` the partition's voters are registered at (kept wherever they are).

        Returns
        -------
        GeoDataFrame
            The placed TPS of the partition's kecamatan, the TPS in ``dpt_codes``, and every TPS within
            a halo around the locations wide enough that each location's nearest TPS overall (and all
            TPS tied with it) is inside. For the whole dataset: every placed TPS.
        """
        pts = self.dataset.tps_points()
        if self.kecamatan is None:
            keep = np.ones(len(pts), dtype=bool)
        else:
            kec = pc.utf8_slice_codeunits(pts.kode_kel, 0, 6)
            keep = pc.is_in(kec, value_set=pa.array(self.kecamatan, pa.large_string())).to_numpy(zero_copy_only=False)
            if dpt_codes is not None and len(dpt_codes):
                keep |= pc.is_in(pts.codes, value_set=dpt_codes.cast(pa.large_string())).to_numpy(zero_copy_only=False)
            keep |= halo(pts, locations[["x", "y"]].to_numpy(np.float64))
        return points_frame(pts, keep)


def halo(pts: TpsPoints, xy: np.ndarray, start_m: float = HALO_START_M) -> np.ndarray:
    """Boolean per TPS: inside the box around ``xy`` grown by a margin ``r`` (metres), with ``r`` doubled
    until every point's nearest TPS in the box is closer than ``r`` less the tie tolerance.

    A TPS outside the grown box is farther than ``r`` from every point, so it can be neither the
    nearest nor tied with it: the nearest TPS overall is the same as with all TPS.
    """
    xy = xy[np.isfinite(xy).all(axis=1)]
    inside = np.zeros(len(pts), dtype=bool)
    if not len(xy) or not len(pts):
        return inside
    lo, hi, r = xy.min(axis=0), xy.max(axis=0), float(start_m)
    while True:
        inside = (pts.x >= lo[0] - r) & (pts.x <= hi[0] + r) & (pts.y >= lo[1] - r) & (pts.y <= hi[1] + r)
        if inside.all():
            return inside
        if inside.any():
            worst = float(np.nanmax(nearest_indices(xy, None, pts.xy[inside], None)[1]))
            if worst + TIE_TOLERANCE_M < r:
                return inside
            r = max(2 * r, worst + 1.0)
        else:
            r *= 2


def points_frame(pts: TpsPoints, keep: np.ndarray) -> gpd.GeoDataFrame:
    """A ``tps`` frame (``kode_tps``, ``kode_kel``, Point in EPSG:4326) of the selected placed TPS."""
    idx = pa.array(np.flatnonzero(keep))
    text = {name: pd.arrays.ArrowStringArray(arr.take(idx).cast(pa.large_string()))
            for name, arr in (("kode_tps", pts.codes), ("kode_kel", pts.kode_kel))}
    geom = shapely.points(pts.lon[keep], pts.lat[keep])
    return gpd.GeoDataFrame(pd.DataFrame(text).astype("string"), geometry=geom, crs=STORAGE_EPSG)


__all__ = ["VOTER_COLUMNS", "Dataset", "PartitionInputs", "export_store", "halo", "points_frame", "write_dataset"]
