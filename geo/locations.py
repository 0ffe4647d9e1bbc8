"""Voter locations: one point per (kelurahan, RW, RT), and the lookup from voters to them.

Voters are never located one by one. All voters of an RT share one *location*: the representative
point (a point guaranteed inside, ``shapely.point_on_surface``) of the RT polygon; the RW polygon's
when the RT has no polygon (no public RT polygons exist for Jakarta); the kelurahan's as a last resort.
``loc_level`` records which one was used, like a TPS records where its location came from.
An unknown (missing or 0) RW or RT falls back the same way.
"""

from __future__ import annotations

import logging
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.errors import CRSError
from geo.nearest import index_in, require_columns, take_strings

log = logging.getLogger(__name__)

LOCATION_COLUMNS = ["loc_key", "kode_kel", "rw", "rt", "x", "y", "lon", "lat", "loc_level"]
LOC_LEVELS = ("rt", "rw", "kelurahan", "none")
MAX_TABLE = 50_000_000        # dense (kelurahan, rw, rt) tables up to this many cells, else sort/search

_TO_METRIC = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)


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
        enc = pc.dictionary_encode(arrow_str(chunk["kode_kel"])).combine_chunks()
        kel = pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
        rw, rt = int_codes(chunk["rw"]).astype(np.int64) & 0xFFFF, int_codes(chunk["rt"]).astype(np.int64) & 0xFFFF
        shape = (len(enc.dictionary), int(rw.max(initial=0)) + 1, int(rt.max(initial=0)) + 1)
        ok = kel >= 0
        if np.prod(shape, dtype=np.int64) <= MAX_TABLE:   # mark a dense table: no sort needed
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


class LocationIndex:
    """Maps (kode_kel, rw, rt) of voters to rows of a locations frame, with integer arithmetic only.

    A dense table indexed by (kelurahan, rw, rt) when RW/RT numbers are small (always, in real data),
    else a binary search on packed int64 keys. Locations without coordinates are not indexed.
    """

    def __init__(self, locations: pd.DataFrame):
        require_columns(locations, ("kode_kel", "rw", "rt", "x", "y"), "locations")
        self.kels = pc.unique(arrow_str(locations["kode_kel"]).combine_chunks())
        placed = np.isfinite(locations[["x", "y"]].to_numpy(np.float64)).all(axis=1)
        kel = np.where(placed, index_in(locations["kode_kel"], self.kels), -1)
        self._index_locations(kel, int_codes(locations["rw"]), int_codes(locations["rt"]))

    def _index_locations(self, kel: np.ndarray, rw: np.ndarray, rt: np.ndarray) -> None:
        rows = np.flatnonzero(kel >= 0)
        kel, rw, rt = kel[rows], rw[rows], rt[rows]
        self.shape = (len(self.kels), int(rw.max(initial=0)) + 1, int(rt.max(initial=0)) + 1)
        if np.prod(self.shape, dtype=np.int64) <= MAX_TABLE and (rw >= 0).all() and (rt >= 0).all():
            self.table = np.full(self.shape, -1, dtype=np.int32)
            self.table[kel, rw, rt] = rows
        else:                      # RW/RT numbers too large for a dense table: binary search on packed keys
            self.table = None
            keys = _packed_key(kel, rw, rt)
            self.order = rows[np.argsort(keys, kind="stable")]
            self.sorted_keys = np.sort(keys, kind="stable")

    def kelurahan(self, kode_kel: pd.Series) -> np.ndarray:
        """Index of each code among the locations' kelurahan (-1 when absent)."""
        return index_in(kode_kel, self.kels)

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

    def locate_voters(self, voters: pd.DataFrame) -> np.ndarray:
        """Location row of each voter (columns kode_kel, rw, rt), -1 where there is none."""
        return self.locate(self.kelurahan(voters["kode_kel"]), int_codes(voters["rw"]), int_codes(voters["rt"]))


def _packed_key(kel: np.ndarray, rw: np.ndarray, rt: np.ndarray) -> np.ndarray:
    """One int64 per (kelurahan index, rw, rt), for the binary-search fallback."""
    return (kel.astype(np.int64) << 32) | ((rw.astype(np.int64) & 0xFFFF) << 16) | (rt.astype(np.int64) & 0xFFFF)


def int_codes(values: pd.Series) -> np.ndarray:
    """RW/RT numbers as int32, unknown (missing) as 0."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        return values.to_numpy(dtype=np.int32, na_value=0)
    return np.nan_to_num(values.to_numpy(np.float64), nan=0).astype(np.int32)


def _small_int(values: pd.Series) -> pa.Array:
    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_integer(arr.type):
        arr = pc.cast(arr, pa.int64(), safe=False)
    return pc.fill_null(pc.cast(arr, pa.int64()), 0)


def arrow_str(values: pd.Series) -> pa.ChunkedArray:
    arr = pa.array(values, from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    arr = arr.cast(pa.large_string())
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])




__all__ = ["LOCATION_COLUMNS", "LOC_LEVELS", "LocationIndex", "voter_locations"]
