"""Area geometry for coverage: the layers limited to one area, TPS catchments and service areas.

Three kinds of polygon describe where a TPS serves (all EPSG:4326 in the outputs):

- the *areas* themselves (kelurahan, RW, RT), one polygon per key: pieces sharing a key are united;
- a TPS's *catchment*: the union of the RT areas (the RW area for voters whose RT has no polygon)
  its DPT voters live in, i.e. where its voters come from;
- a TPS's *service area*: its Voronoi cell among the TPS of its own kelurahan (the KPU rule: a voter
  votes in their kelurahan), clipped to that kelurahan, i.e. the part of the kelurahan for which it is
  the nearest TPS. Cells are built in EPSG:32748; TPS sharing one spot share one cell.

Unions are vectorized: parts are gathered into one GeometryCollection per group
(``shapely.geometrycollections(..., indices=...)``) and united element-wise in GEOS.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import shapely

from geo.codes import rt_key, rw_key
from geo.crs import METRIC_EPSG, STORAGE_EPSG, to_storage
from geo.nearest import require_columns

__all__ = ["Areas", "grouped_union", "scope_mask", "service_areas", "to_lonlat", "to_metres"]


def scope_mask(codes: pd.Series, prefix: str) -> np.ndarray:
    """Boolean per code: it starts with ``prefix`` (a kota, kecamatan or kelurahan code; ``""`` = all)."""
    if not prefix:
        return np.ones(len(codes), dtype=bool)
    arr = pc.starts_with(pc.cast(_arrow(codes), "large_string"), prefix)
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool)


@dataclasses.dataclass
class Areas:
    """The area layers within the analysed area, as given (``raw``) and one polygon per key.

    Attributes
    ----------
    raw : dict
        ``kelurahan``, ``rw``, ``rt`` GeoDataFrames (EPSG:4326) limited to the area, or None.
    kelurahan : GeoDataFrame or None
        ``kode``, ``nama``, ``kode_kec`` and one (Multi)Polygon per kelurahan code.
    rw, rt : GeoDataFrame or None
        ``kode`` (``<kode_kel>-<rw:03d>[-<rt:03d>]``), ``kode_kel``, ``rw`` [, ``rt``] and one polygon per key.
    """

    raw: dict
    kelurahan: gpd.GeoDataFrame | None
    rw: gpd.GeoDataFrame | None
    rt: gpd.GeoDataFrame | None

    @classmethod
    def of(cls, kelurahan: gpd.GeoDataFrame | None, rw: gpd.GeoDataFrame | None, rt: gpd.GeoDataFrame | None,
           prefix: str = "") -> Areas:
        """Check, reproject to EPSG:4326 and limit each layer to codes starting with ``prefix``."""
        raw = {}
        for level, frame, cols in (("kelurahan", kelurahan, ("kode",)), ("rw", rw, ("kode_kel", "rw")),
                                   ("rt", rt, ("kode_kel", "rw", "rt"))):
            if frame is None:
                raw[level] = None
                continue
            require_columns(frame, cols, level)
            gdf = to_storage(frame, source=level)
            gdf = gdf[scope_mask(gdf[cols[0]].astype("string"), prefix)]
            raw[level] = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].reset_index(drop=True)
        return cls(raw, _kelurahan(raw["kelurahan"]), _keyed(raw["rw"], ["kode_kel", "rw"]),
                   _keyed(raw["rt"], ["kode_kel", "rw", "rt"]))

    def polygons(self, level: str, keys: pd.Series) -> np.ndarray:
        """The polygon (EPSG:4326) of each key of ``level`` (``kelurahan``: codes; ``rw``/``rt``: keys),
        None where the layer has no such area."""
        layer = getattr(self, level)
        out = np.full(len(keys), None, dtype=object)
        if layer is None or not len(layer):
            return out
        at = pd.Index(layer["kode"]).get_indexer(keys.astype("string").fillna(""))
        out[at >= 0] = layer.geometry.to_numpy()[at[at >= 0]]
        return out


def _kelurahan(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if frame is None:
        return None
    cols = {"kode": frame["kode"].astype("string")}
    for col in ("nama", "kode_kec"):
        cols[col] = frame[col].astype("string") if col in frame else pd.Series(pd.NA, index=frame.index,
                                                                               dtype="string")
    if "kode_kec" not in frame:
        cols["kode_kec"] = cols["kode"].str[:6]
    table = pd.DataFrame(cols)
    return _dissolve(table, frame.geometry.to_numpy(), ["kode"])


def _keyed(frame: gpd.GeoDataFrame | None, keys: list[str]) -> gpd.GeoDataFrame | None:
    if frame is None:
        return None
    table = pd.DataFrame({"kode_kel": frame["kode_kel"].astype("string"),
                          **{k: pd.to_numeric(frame[k], errors="coerce").astype("Int16") for k in keys[1:]}})
    ok = table.notna().all(axis=1).to_numpy()
    table = table[ok]
    key = rw_key(table["kode_kel"], table["rw"])
    if "rt" in keys:
        key = rt_key(table["kode_kel"], table["rw"], table["rt"])
    table.insert(0, "kode", key)
    return _dissolve(table, frame.geometry.to_numpy()[ok], ["kode"])


def _dissolve(table: pd.DataFrame, geoms: np.ndarray, by: list[str]) -> gpd.GeoDataFrame:
    """One row per ``by`` key (attributes of the first row), pieces united; sorted by key."""
    table = table.reset_index(drop=True)
    codes, uniques = pd.factorize(table[by[0]], sort=True)
    first = pd.Series(np.arange(len(table))).groupby(codes).min().to_numpy()
    merged = grouped_union(codes, geoms, len(uniques))
    out = table.iloc[first].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=merged, crs=STORAGE_EPSG)


def grouped_union(group: np.ndarray, geoms: np.ndarray, n: int) -> np.ndarray:
    """Union of ``geoms`` per group index (0..n-1), vectorized; None for a group without parts.

    A group with a single part keeps it as is (no GEOS union needed).
    """
    group = np.asarray(group, dtype=np.int64)
    ok = (group >= 0) & ~shapely.is_missing(geoms)
    group, geoms = group[ok], np.asarray(geoms, dtype=object)[ok]
    out = np.full(n, None, dtype=object)
    if not len(group):
        return out
    order = np.argsort(group, kind="stable")
    group, geoms = group[order], geoms[order]
    size = np.bincount(group, minlength=n)
    single = size[group] == 1
    out[group[single]] = geoms[single]
    multi = ~single
    if multi.any():
        targets = np.unique(group[multi])
        dense = np.searchsorted(targets, group[multi])
        collections = shapely.geometrycollections(geoms[multi], indices=dense)
        out[targets] = shapely.union_all(collections[:, None], axis=1)
    return out


def service_areas(x: np.ndarray, y: np.ndarray, group: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Voronoi cell of each point among the points of its group, clipped to the group's polygon.

    Parameters
    ----------
    x, y : ndarray
        Points in metres (EPSG:32748).
    group : ndarray of int
        Group (kelurahan) index of each point; -1 = none (no cell).
    polygons : ndarray of geometry
        The polygon of each group, in EPSG:32748 (None: no cells for that group).

    Returns
    -------
    ndarray of geometry
        One cell per point (EPSG:32748), None where there is none. Points sharing a spot share a cell.
    """
    out = np.full(len(x), None, dtype=object)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(polygons) + 1))
    for g, poly in enumerate(polygons):       # one Voronoi diagram per kelurahan (~270 in DKI)
        idx = order[bounds[g]:bounds[g + 1]]
        if poly is None or not len(idx):
            continue
        spots, inv = np.unique(np.round(np.column_stack([x[idx], y[idx]]), 3), axis=0, return_inverse=True)
        if len(spots) == 1:
            cells = np.array([poly], dtype=object)
        else:
            diagram = shapely.voronoi_polygons(shapely.multipoints(spots), extend_to=poly, ordered=True)
            cells = shapely.intersection(shapely.get_parts(diagram), poly)
        out[idx] = cells[inv.ravel()]
    return out


def to_lonlat(geoms: np.ndarray) -> np.ndarray:
    """Geometries from EPSG:32748 to EPSG:4326 (None stays None)."""
    return gpd.GeoSeries(geoms, crs=METRIC_EPSG).to_crs(STORAGE_EPSG).to_numpy()


def to_metres(geoms: np.ndarray) -> np.ndarray:
    """Geometries from EPSG:4326 to EPSG:32748 (None stays None)."""
    return gpd.GeoSeries(geoms, crs=STORAGE_EPSG).to_crs(METRIC_EPSG).to_numpy()


def _arrow(values: pd.Series):
    import pyarrow as pa

    arr = pa.array(values, from_pandas=True)
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr
