"""Nearest placed TPS to a set of points, in metres, within a kelurahan or across all of them.

One KD-tree (``scipy.spatial.cKDTree``) answers every query. For the in-kelurahan variant the
points and TPS are lifted into 3-D with ``z = kelurahan index × GROUP_OFFSET_M``: two points of the
same kelurahan keep their planar distance, any pair from different kelurahan is at least
``GROUP_OFFSET_M`` apart, so the nearest neighbour in 3-D is the nearest in the own kelurahan.

Ties are broken by distance, then ``kode_tps``: TPS whose distance is within
``TIE_TOLERANCE_M`` of the minimum count as equidistant and the smallest code wins. The tree is
asked for the ``k`` nearest and ``k`` grows for the rare rows where all ``k`` are tied.

The module also holds the small Arrow helpers that map millions of codes to integer indices
(``pyarrow.compute.index_in`` is ~15× faster than pandas hashing on 8 M strings).
"""

from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from scipy.spatial import cKDTree

from geo.crs import METRIC_EPSG, STORAGE_EPSG, to_metric
from geo.errors import CRSError, InputError, MissingColumnError

log = logging.getLogger(__name__)

TIE_TOLERANCE_M = 0.001      # distances closer than 1 mm are ties (then the smaller kode_tps wins)
GROUP_OFFSET_M = 1.0e7       # larger than any distance inside Indonesia
_FIRST_K = 4


@dataclasses.dataclass(frozen=True)
class TpsPoints:
    """The placed TPS, sorted by ``kode_tps`` (so a smaller index means a smaller code).

    Attributes
    ----------
    codes, kode_kel : pyarrow.Array of string
        TPS codes and their kelurahan codes.
    x, y : ndarray of float64
        Position in EPSG:32748, metres.
    lon, lat : ndarray of float64
        Position in EPSG:4326, degrees.
    unplaced : int
        TPS rows skipped because they have no point (not yet geocoded).
    """

    codes: pa.Array
    kode_kel: pa.Array
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    unplaced: int = 0

    def __len__(self) -> int:
        return len(self.x)

    @property
    def xy(self) -> np.ndarray:
        return np.column_stack([self.x, self.y])


def tps_points(tps: gpd.GeoDataFrame) -> TpsPoints:
    """Placed TPS of a ``tps`` layer frame as metric arrays sorted by ``kode_tps``.

    Parameters
    ----------
    tps : GeoDataFrame
        Columns ``kode_tps``, ``kode_kel`` and Point geometry in any declared CRS
        (the store's is EPSG:4326). Rows without a point are skipped and counted.

    Raises
    ------
    MissingColumnError, CRSError, InputError
        Missing columns, no CRS, or a duplicated ``kode_tps`` among placed TPS.
    """
    require_columns(tps, ("kode_tps", "kode_kel"), "tps")
    if not isinstance(tps, gpd.GeoDataFrame) or tps.crs is None:
        raise CRSError("tps: expected a GeoDataFrame with a declared CRS (EPSG:4326 as stored)")
    geom = tps.geometry.values
    placed = ~(shapely.is_missing(geom) | shapely.is_empty(geom)) & tps["kode_tps"].notna().to_numpy()
    sub = tps.loc[placed, ["kode_tps", "kode_kel", tps.geometry.name]]
    sub = sub.sort_values("kode_tps", kind="stable")
    dup = sub["kode_tps"].duplicated()
    if dup.any():
        raise InputError("kode_tps must be unique among placed TPS", file="tps", field="kode_tps",
                         value=sub.loc[dup, "kode_tps"].iloc[0])
    metric = to_metric(sub.geometry)
    lonlat = sub.geometry if sub.crs.to_epsg() == STORAGE_EPSG else sub.geometry.to_crs(STORAGE_EPSG)
    return TpsPoints(codes=_strings(sub["kode_tps"]), kode_kel=_strings(sub["kode_kel"]),
                     x=metric.x.to_numpy(np.float64), y=metric.y.to_numpy(np.float64),
                     lon=lonlat.x.to_numpy(np.float64), lat=lonlat.y.to_numpy(np.float64),
                     unplaced=int((~placed).sum()))


def nearest_tps(locations: pd.DataFrame, tps: gpd.GeoDataFrame, *, within_kelurahan: bool = True
                ) -> pd.DataFrame:
    """Nearest placed TPS of each location, in metres (EPSG:32748).

    Parameters
    ----------
    locations : DataFrame
        Columns ``loc_key``, ``kode_kel``, ``x``, ``y`` (EPSG:32748 metres), as returned by
        :func:`geo.assign.voter_locations`. Rows with NaN coordinates get no TPS.
    tps : GeoDataFrame
        The ``tps`` layer (rows without a point are ignored).
    within_kelurahan : bool, default True
        True: only TPS of the location's own kelurahan (the KPU rule). False: any TPS.

    Returns
    -------
    DataFrame
        ``loc_key``, ``tps_nearest`` (string, ``<NA>`` when the kelurahan has no placed TPS) and
        ``dist_nearest_m`` (float, metres rounded to 1 cm; NaN when there is no TPS), in the
        order of ``locations``. Ties: distance within 1 mm, then the smaller ``kode_tps``.

    Examples
    --------
    >>> nearest_tps(locs, tps).head(1)  # doctest: +SKIP
              loc_key      tps_nearest  dist_nearest_m
    0  3171011001-001-001  3171011001004          183.27
    """
    require_columns(locations, ("loc_key", "kode_kel", "x", "y"), "locations")
    pts = tps_points(tps)
    xy = locations[["x", "y"]].to_numpy(np.float64)
    if within_kelurahan:
        kels = pc.unique(pts.kode_kel)
        idx, dist = nearest_indices(xy, index_in(locations["kode_kel"], kels), pts.xy,
                                    index_in(pts.kode_kel, kels))
    else:
        idx, dist = nearest_indices(xy, None, pts.xy, None)
    return pd.DataFrame({"loc_key": locations["loc_key"].astype("string").array,
                         "tps_nearest": take_strings(pts.codes, idx).array,
                         "dist_nearest_m": np.round(dist, 2)}, index=locations.index)


def nearest_indices(xy: np.ndarray, group: np.ndarray | None, target_xy: np.ndarray,
                    target_group: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest target of each point (same group only when groups are given).

    Parameters
    ----------
    xy, target_xy : ndarray (n, 2), (m, 2)
        Metric coordinates (metres). Targets must be sorted by their tie-break key (code).
    group, target_group : ndarray of int or None
        Group index per point / target (-1 = no group: no answer). None: ignore groups.

    Returns
    -------
    idx : ndarray of int64
        Target index, -1 where there is none (no target in the group, NaN point).
    dist : ndarray of float64
        Planar distance in metres, NaN where ``idx`` is -1.
    """
    n = len(xy)
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    ok = np.isfinite(xy).all(axis=1)
    if group is not None:
        ok &= group >= 0
    if not ok.any() or len(target_xy) == 0:
        return idx, dist
    origin = target_xy.min(axis=0)         # small numbers keep the 3-D lift exact
    pts, tgt = xy[ok] - origin, target_xy - origin
    if group is not None:
        pts = np.column_stack([pts, group[ok] * GROUP_OFFSET_M])
        tgt = np.column_stack([tgt, target_group * GROUP_OFFSET_M])
    found = _query_with_ties(cKDTree(tgt), pts, tgt)
    found_dist = np.hypot(*(target_xy[np.maximum(found, 0)] - xy[ok]).T)
    if group is not None:                  # the nearest sat in another kelurahan: none in its own
        found = np.where(target_group[np.maximum(found, 0)] == group[ok], found, -1)
    idx[ok] = found
    dist[ok] = np.where(found >= 0, found_dist, np.nan)
    return idx, dist


def _query_with_ties(tree: cKDTree, pts: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Nearest target per point; among targets within TIE_TOLERANCE_M of the best, the lowest index."""
    m = len(tgt)
    out = np.empty(len(pts), dtype=np.int64)
    todo = np.arange(len(pts))
    k = min(_FIRST_K, m)
    while len(todo):
        _, cand = tree.query(pts[todo], k=k)
        cand = cand.reshape(len(todo), k)
        d = np.sqrt(((tgt[cand] - pts[todo, None, :]) ** 2).sum(axis=2))   # exact, not the tree's
        tied = d <= d.min(axis=1, keepdims=True) + TIE_TOLERANCE_M
        out[todo] = np.where(tied, cand, m).min(axis=1)
        unresolved = tied[:, -1] & (k < m)  # every candidate tied: there may be more beyond k
        todo, k = todo[unresolved], min(k * 4, m)
    return out


# --- Arrow helpers: millions of codes → integer indices, and back ---------------------------

def index_in(values: pd.Series | pa.Array, table: pa.Array) -> np.ndarray:
    """Position of each value in ``table`` as int64, -1 where absent or missing."""
    arr = _arrow(values)
    pos = pc.index_in(arr, value_set=table)
    return pc.fill_null(pos, -1).to_numpy().astype(np.int64, copy=False)


def take_strings(table: pa.Array, idx: np.ndarray) -> pd.Series:
    """String Series of ``table[idx]``, ``<NA>`` where ``idx`` is negative."""
    taken = table.take(pa.array(idx, mask=idx < 0, type=pa.int64()))
    if isinstance(taken, pa.ChunkedArray):
        taken = taken.combine_chunks()
    return pd.Series(pd.arrays.ArrowStringArray(taken.cast(pa.large_string())), copy=False)


def _strings(values: pd.Series) -> pa.Array:
    arr = _arrow(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _arrow(values: pd.Series | pa.Array) -> pa.Array | pa.ChunkedArray:
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{what} needs columns {list(columns)}; missing {missing}",
                                 file=what, field=missing[0])


__all__ = ["TIE_TOLERANCE_M", "TpsPoints", "tps_points", "nearest_tps", "nearest_indices", "index_in",
           "require_columns", "take_strings", "METRIC_EPSG"]
