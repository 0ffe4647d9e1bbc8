"""Each voter's nearest TPS, and the distance to the TPS the DPT assigns ("your TPS").

Voters are never located one by one. All voters of an RT share one *location*: the representative
point of the RT polygon (the RW's when RT polygons are missing, the kelurahan's as a last resort).
Nearest TPS are computed per location (~30 k for DKI Jakarta) with a KD-tree
(:mod:`geo.nearest`), then mapped onto millions of voters with integer codes and ``np.take``.

Two questions are answered per voter:

- *your TPS* (``tps_dpt``): the TPS the DPT lists for the voter, and its distance ``dist_dpt_m``;
- *nearest TPS* (``tps_nearest``): the closest placed TPS of the voter's own kelurahan, which is the
  KPU rule; ``tps_nearest_any`` ignores kelurahan borders, to expose borders that force long walks.

Distances are planar in EPSG:32748 (UTM 48S, < 0.1 % scale error in Jakarta), in metres rounded to 1 cm.
"""

from __future__ import annotations

import logging
from typing import Iterable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.distances import DistanceSummary
from geo.errors import CRSError
from geo.nearest import (TpsPoints, require_columns, index_in, nearest_indices, nearest_tps, take_strings,
                         tps_points)
from geo.report import Problem, Report

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = ["voter_key", "kode_kel", "rw", "rt", "lon", "lat", "tps_dpt", "dist_dpt_m", "tps_nearest",
                  "dist_nearest_m", "tps_nearest_any", "dist_nearest_any_m"]
LOCATION_COLUMNS = ["loc_key", "kode_kel", "rw", "rt", "x", "y", "lon", "lat", "loc_level"]
LOC_LEVELS = ("rt", "rw", "kelurahan", "none")

_TO_METRIC = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)


# --- locations ------------------------------------------------------------------------------

def voter_locations(voters: pd.DataFrame | Iterable[pd.DataFrame], rt: gpd.GeoDataFrame | None = None,
                    rw: gpd.GeoDataFrame | None = None, kelurahan: gpd.GeoDataFrame | None = None
                    ) -> pd.DataFrame:
    """One location per (kode_kel, rw, rt) found among the voters.

    Parameters
    ----------
    voters : DataFrame or iterable of DataFrames
        Columns ``kode_kel``, ``rw``, ``rt`` (other columns are ignored); chunks (e.g.
        ``store.iter_read("voters")``) are consumed once. A missing or zero RW/RT means unknown.
    rt, rw, kelurahan : GeoDataFrame, optional
        Polygon layers as stored (``rt``: kode_kel, rw, rt; ``rw``: kode_kel, rw; ``kelurahan``: kode),
        in any declared CRS. A key split into several pieces uses its largest piece.

    Returns
    -------
    DataFrame
        ``loc_key`` (``<kode_kel>-<rw:03d>-<rt:03d>``, ``000`` for unknown), ``kode_kel``, ``rw``, ``rt``
        (Int16, ``<NA>`` for unknown), ``x``, ``y`` (EPSG:32748, metres), ``lon``, ``lat`` (EPSG:4326),
        ``loc_level``: ``rt`` | ``rw`` | ``kelurahan`` for the polygon whose representative point was
        used, ``none`` when no polygon matched (coordinates NaN). Sorted by ``loc_key``.
    """
    locs = _distinct_keys(voters)
    locs["loc_level"] = "none"
    lon, lat = np.full(len(locs), np.nan), np.full(len(locs), np.nan)
    for level, layer, keys in (("rt", rt, ["kode_kel", "rw", "rt"]), ("rw", rw, ["kode_kel", "rw"]),
                               ("kelurahan", kelurahan, ["kode_kel"])):
        todo = np.isnan(lon) & (locs[keys[1:]] > 0).all(axis=1).to_numpy()
        if layer is None or not todo.any():
            continue
        pts = _representative_points(layer, keys, level)
        hit = locs.loc[todo, keys].merge(pts, on=keys, how="left").set_index(locs.index[todo])
        found = hit["lon"].notna().to_numpy()
        rows = locs.index[todo][found]
        lon[rows], lat[rows] = hit["lon"].to_numpy()[found], hit["lat"].to_numpy()[found]
        locs.loc[rows, "loc_level"] = level
    x, y = _TO_METRIC.transform(lon, lat)
    locs["x"], locs["y"], locs["lon"], locs["lat"] = x, y, lon, lat
    locs["loc_key"] = (locs["kode_kel"] + "-" + locs["rw"].astype("string").str.zfill(3) + "-"
                       + locs["rt"].astype("string").str.zfill(3))
    for col in ("rw", "rt"):
        locs[col] = locs[col].astype("Int16").mask(locs[col] == 0)
    locs["loc_level"] = locs["loc_level"].astype("string")
    return locs[LOCATION_COLUMNS].sort_values("loc_key", kind="stable").reset_index(drop=True)


def _distinct_keys(voters: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Distinct (kode_kel, rw, rt) of the voters, unknown RW/RT as 0, sorted."""
    chunks = [voters] if isinstance(voters, pd.DataFrame) else voters
    parts = [pd.DataFrame({"kode_kel": pd.Series(dtype="string"), "rw": pd.Series(dtype="int64"),
                           "rt": pd.Series(dtype="int64")})]
    for chunk in chunks:
        require_columns(chunk, ("kode_kel", "rw", "rt"), "voters")
        enc = pc.dictionary_encode(_arrow_str(chunk["kode_kel"])).combine_chunks()
        kel = pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
        rw, rt = _ints(chunk["rw"]).astype(np.int64) & 0xFFFF, _ints(chunk["rt"]).astype(np.int64) & 0xFFFF
        shape = (len(enc.dictionary), int(rw.max(initial=0)) + 1, int(rt.max(initial=0)) + 1)
        ok = kel >= 0
        if np.prod(shape, dtype=np.int64) <= _Assigner.MAX_TABLE:   # mark a dense table: no sort needed
            seen = np.zeros(shape, dtype=bool)
            seen[kel[ok], rw[ok], rt[ok]] = True
            k, w, t = np.nonzero(seen)
        else:
            packed = np.unique((kel[ok] << 32) | (rw[ok] << 16) | rt[ok])
            k, w, t = packed >> 32, (packed >> 16) & 0xFFFF, packed & 0xFFFF
        parts.append(pd.DataFrame({"kode_kel": take_strings(enc.dictionary, k), "rw": w, "rt": t}))
    out = pd.concat(parts, ignore_index=True).drop_duplicates()
    return out.sort_values(["kode_kel", "rw", "rt"], kind="stable").reset_index(drop=True)


def _representative_points(layer: gpd.GeoDataFrame, keys: list[str], level: str) -> pd.DataFrame:
    """Representative point (inside the polygon, EPSG:4326) per key, from the key's largest piece."""
    src = [{"kode_kel": "kode"}.get(k, k) if level == "kelurahan" else k for k in keys]
    require_columns(layer, tuple(src), level)
    if layer.crs is None:
        raise CRSError(f"{level}: polygons have no CRS; expected EPSG:{STORAGE_EPSG} as stored")
    gdf = layer if layer.crs.to_epsg() == STORAGE_EPSG else layer.to_crs(STORAGE_EPSG)
    geom = gdf.geometry.values
    ok = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    frame = pd.DataFrame({"kode_kel": gdf[src[0]][ok].astype("string").to_numpy()})
    for k, col in zip(keys[1:], src[1:]):
        frame[k] = _small_int(gdf[col][ok]).to_numpy(zero_copy_only=False)
    frame["area"] = shapely.area(geom[ok])
    frame["geom"] = geom[ok]
    frame = frame.sort_values("area", ascending=False, kind="stable").drop_duplicates(keys)
    pts = shapely.point_on_surface(frame["geom"].to_numpy())
    return pd.DataFrame({**{k: frame[k].to_numpy() for k in keys}, "lon": shapely.get_x(pts),
                         "lat": shapely.get_y(pts)}).astype({"kode_kel": "string"})


# --- voters ---------------------------------------------------------------------------------

def assign_voters(voters: pd.DataFrame | Iterable[pd.DataFrame], locations: pd.DataFrame,
                  tps: gpd.GeoDataFrame, *, margin_m: float = 500.0
                  ) -> tuple[pd.DataFrame | Iterator[pd.DataFrame], Report]:
    """Nearest TPS (own kelurahan, and any), and the distance to the DPT's TPS, for every voter.

    Parameters
    ----------
    voters : DataFrame or iterable of DataFrames
        The ``voters`` layer (``voter_key``, ``kode_kel``, ``rw``, ``rt``, ``kode_tps``), whole or
        in chunks as streamed from the store.
    locations : DataFrame
        From :func:`voter_locations`; voters whose (kode_kel, rw, rt) has no location are kept with
        NA coordinates and distances.
    tps : GeoDataFrame
        The ``tps`` layer; TPS without a point are ignored (and counted).
    margin_m : float, default 500
        A voter is flagged when ``dist_dpt_m - dist_nearest_m > margin_m`` (metres).

    Returns
    -------
    result : DataFrame or iterator of DataFrames
        Exactly :data:`OUTPUT_COLUMNS`, one row per voter in input order: ``lon``/``lat`` of the voter's
        location (EPSG:4326, 6 decimals), TPS codes and distances in metres (EPSG:32748, 1 cm).
        A DataFrame for a DataFrame input; for chunks, a lazy iterator of one output per chunk.
    report : Report
        Counts (voters without location / without TPS in their kelurahan / flagged beyond the margin)
        and distance figures (mean, p95). For chunked input it is complete once the iterator is exhausted.
    """
    assigner = _Assigner(locations, tps)
    report = Report("assign nearest", source="voters")
    stats = AssignStats(margin_m)
    assigner.describe(report)
    if isinstance(voters, pd.DataFrame):
        out = assigner.assign(voters, stats)
        stats.finish(report)
        return out, report

    def chunks() -> Iterator[pd.DataFrame]:
        for chunk in voters:
            yield assigner.assign(chunk, stats)
        stats.finish(report)

    return chunks(), report


def far_from_dpt(assigned: pd.DataFrame, margin_m: float = 500.0) -> pd.Series:
    """Boolean per voter: the DPT's TPS is more than ``margin_m`` metres farther than the nearest one."""
    return (assigned["dist_dpt_m"] - assigned["dist_nearest_m"] > margin_m).fillna(False).astype(bool)


class _Assigner:
    """Per-location answers computed once; :meth:`assign` maps them onto voter chunks.

    Per-location and per-TPS arrays carry one extra *sentinel* element at the end (NaN / -1), so the
    index -1 ("no location", "no TPS") gathers the sentinel and needs no masking per voter.
    """

    MAX_TABLE = 50_000_000        # dense (kelurahan, rw, rt) lookup table up to this size, else search

    def __init__(self, locations: pd.DataFrame, tps: gpd.GeoDataFrame):
        require_columns(locations, ("loc_key", "kode_kel", "rw", "rt", "x", "y", "lon", "lat"), "locations")
        self.pts: TpsPoints = tps_points(tps)
        self.locations = locations
        self.kels = pc.unique(_arrow_str(locations["kode_kel"]).combine_chunks())
        xy = locations[["x", "y"]].to_numpy(np.float64)
        kel = np.where(np.isfinite(xy).all(axis=1), index_in(locations["kode_kel"], self.kels), -1)
        self._index_locations(kel, _ints(locations["rw"]), _ints(locations["rt"]))   # placed ones only
        tps_kels = pc.unique(self.pts.kode_kel)
        self.loc_group = index_in(locations["kode_kel"], tps_kels)
        self.tps_group = np.append(index_in(self.pts.kode_kel, tps_kels), -3)
        near, near_d = nearest_indices(xy, self.loc_group, self.pts.xy, self.tps_group[:-1])
        near_any, any_d = nearest_indices(xy, None, self.pts.xy, None)
        self.near, self.near_any = np.append(near, -1), np.append(near_any, -1)
        self.near_d, self.any_d = _sentinel(np.round(near_d, 2)), _sentinel(np.round(any_d, 2))
        self.x, self.y = _sentinel(xy[:, 0]), _sentinel(xy[:, 1])
        self.lon = _sentinel(np.round(locations["lon"].to_numpy(np.float64), 6))
        self.lat = _sentinel(np.round(locations["lat"].to_numpy(np.float64), 6))
        self.kel_group = np.append(index_in(self.kels, tps_kels), -2)   # voter's kelurahan → TPS group
        self.tx, self.ty = _sentinel(self.pts.x), _sentinel(self.pts.y)

    def _index_locations(self, kel: np.ndarray, rw: np.ndarray, rt: np.ndarray) -> None:
        rows = np.flatnonzero(kel >= 0)
        kel, rw, rt = kel[rows], rw[rows], rt[rows]
        self.shape = (len(self.kels), int(rw.max(initial=0)) + 1, int(rt.max(initial=0)) + 1)
        if np.prod(self.shape, dtype=np.int64) <= self.MAX_TABLE and (rw >= 0).all() and (rt >= 0).all():
            self.table = np.full(self.shape, -1, dtype=np.int32)
            self.table[kel, rw, rt] = rows
        else:                      # RW/RT numbers too large for a dense table: binary search on packed keys
            self.table = None
            keys = _packed_key(kel, rw, rt)
            self.order = rows[np.argsort(keys, kind="stable")]
            self.sorted_keys = np.sort(keys, kind="stable")

    def describe(self, report: Report) -> None:
        levels = self.locations["loc_level"].value_counts() if "loc_level" in self.locations else {}
        report.figures.update({"tps_placed": len(self.pts), "tps_unplaced": self.pts.unplaced,
                               "locations": len(self.locations),
                               "locations_by_level": {lv: int(levels.get(lv, 0)) for lv in LOC_LEVELS}})
        placed = np.isfinite(self.x[:-1])
        no_tps = sorted(set(self.locations.loc[placed & (self.loc_group < 0), "kode_kel"].dropna()))
        report.figures["kelurahan_without_tps"] = len(no_tps)
        report.warn(Problem("tps", None, "kode_kel", k, "no placed TPS in this kelurahan: its voters get "
                            "no nearest TPS (reported, not dropped)") for k in no_tps)

    def locate(self, kel: np.ndarray, rw: np.ndarray, rt: np.ndarray) -> np.ndarray:
        """Location row of each voter, -1 where their (kelurahan index, rw, rt) has none."""
        if self.table is not None:
            ok = (kel >= 0) & (rw >= 0) & (rw < self.shape[1]) & (rt >= 0) & (rt < self.shape[2])
            if ok.all():
                return self.table[kel, rw, rt]
            return np.where(ok, self.table[kel * ok, rw * ok, rt * ok], -1)
        if len(self.sorted_keys) == 0:
            return np.full(len(kel), -1, dtype=np.int64)
        keys = _packed_key(kel, rw, rt)
        pos = np.searchsorted(self.sorted_keys, keys).clip(max=len(self.sorted_keys) - 1)
        return np.where((self.sorted_keys[pos] == keys) & (kel >= 0), self.order[pos], -1)

    def assign(self, chunk: pd.DataFrame, stats: "AssignStats") -> pd.DataFrame:
        """The output rows of one chunk of voters (and their figures added to ``stats``)."""
        require_columns(chunk, ("voter_key", "kode_kel", "rw", "rt", "kode_tps"), "voters")
        kel = index_in(chunk["kode_kel"], self.kels)
        loc = self.locate(kel, _ints(chunk["rw"]), _ints(chunk["rt"]))   # -1 → the sentinel: NaN / no TPS
        dpt = index_in(chunk["kode_tps"], self.pts.codes)
        dist_dpt = np.round(np.hypot(self.tx[dpt] - self.x[loc], self.ty[dpt] - self.y[loc]), 2)
        near, near_any = self.near[loc], self.near_any[loc]
        cols = {
            "voter_key": chunk["voter_key"].astype("string"), "kode_kel": chunk["kode_kel"].astype("string"),
            "rw": chunk["rw"].astype("Int16"), "rt": chunk["rt"].astype("Int16"),
            "lon": self.lon[loc], "lat": self.lat[loc],
            "tps_dpt": chunk["kode_tps"].astype("string"), "dist_dpt_m": dist_dpt,
            "tps_nearest": take_strings(self.pts.codes, near), "dist_nearest_m": self.near_d[loc],
            "tps_nearest_any": take_strings(self.pts.codes, near_any), "dist_nearest_any_m": self.any_d[loc],
        }
        out = pd.concat([_column(v, k) for k, v in cols.items()], axis=1)
        stats.add(out, has=loc >= 0, near=near, near_any=near_any, dpt=dpt,
                  dpt_other_kel=(dpt >= 0) & (self.tps_group[dpt] != self.kel_group[kel]))
        return out


class AssignStats:
    """Figures of an assignment, accumulated chunk by chunk (see :func:`assign_voters`)."""

    COUNTS = ("voters", "voters_without_location", "voters_without_tps_in_kelurahan", "voters_without_dpt_tps",
              "voters_dpt_tps_unplaced", "voters_dpt_tps_other_kelurahan", "voters_far_from_dpt_tps",
              "voters_nearest_any_other_kelurahan")

    def __init__(self, margin_m: float):
        self.margin_m = float(margin_m)
        self.counts = dict.fromkeys(self.COUNTS, 0)
        self.dist = {k: DistanceSummary() for k in ("dist_dpt_m", "dist_nearest_m", "dist_nearest_any_m",
                                                    "excess_dpt_over_nearest_m")}

    def add(self, out: pd.DataFrame, *, has: np.ndarray, near: np.ndarray, near_any: np.ndarray,
            dpt: np.ndarray, dpt_other_kel: np.ndarray) -> None:
        excess = out["dist_dpt_m"].to_numpy() - out["dist_nearest_m"].to_numpy()
        known = out["tps_dpt"].notna().to_numpy()
        c = self.counts
        c["voters"] += len(out)
        c["voters_without_location"] += int((~has).sum())
        c["voters_without_tps_in_kelurahan"] += int((has & (near < 0)).sum())
        c["voters_without_dpt_tps"] += int((~known).sum())
        c["voters_dpt_tps_unplaced"] += int((known & (dpt < 0)).sum())
        c["voters_dpt_tps_other_kelurahan"] += int(dpt_other_kel.sum())
        c["voters_far_from_dpt_tps"] += int((excess > self.margin_m).sum())
        c["voters_nearest_any_other_kelurahan"] += int(((near_any >= 0) & (near_any != near)).sum())
        for k in ("dist_dpt_m", "dist_nearest_m", "dist_nearest_any_m"):
            self.dist[k].add(out[k].to_numpy())
        self.dist["excess_dpt_over_nearest_m"].add(excess)

    def finish(self, report: Report) -> None:
        report.rows_read = report.rows_loaded = self.counts["voters"]
        report.figures.update(self.counts)
        report.figures["margin_m"] = self.margin_m
        report.figures.update({k: v.as_dict() for k, v in self.dist.items()})
        report.finish()


def _packed_key(kel: np.ndarray, rw: np.ndarray, rt: np.ndarray) -> np.ndarray:
    """One int64 per (kelurahan index, rw, rt), for the binary-search fallback."""
    return (kel.astype(np.int64) << 32) | ((rw.astype(np.int64) & 0xFFFF) << 16) | (rt.astype(np.int64) & 0xFFFF)


def _ints(values: pd.Series) -> np.ndarray:
    """RW/RT numbers as int32, unknown (missing) as 0."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        return values.to_numpy(dtype=np.int32, na_value=0)
    return np.nan_to_num(values.to_numpy(np.float64), nan=0).astype(np.int32)


def _column(values: pd.Series | np.ndarray, name: str) -> pd.Series:
    """A column for the output frame, without copying (pd.concat keeps one block per column)."""
    if isinstance(values, pd.Series):
        return values.rename(name).reset_index(drop=True)
    return pd.Series(values, name=name, copy=False)


def _sentinel(values: np.ndarray) -> np.ndarray:
    return np.append(np.asarray(values, dtype=np.float64), np.nan)


def _small_int(values: pd.Series) -> pa.Array:
    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_integer(arr.type):
        arr = pc.cast(arr, pa.int64(), safe=False)
    return pc.fill_null(pc.cast(arr, pa.int64()), 0)


def _arrow_str(values: pd.Series) -> pa.ChunkedArray:
    arr = pa.array(values, from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    arr = arr.cast(pa.large_string())
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


__all__ = ["OUTPUT_COLUMNS", "LOCATION_COLUMNS", "voter_locations", "nearest_tps", "assign_voters", "far_from_dpt"]
