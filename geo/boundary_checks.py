"""Row checks for boundary loads: geometry normalising, RW/RT labels, duplicate pieces.

All functions are vectorized over whole columns (shapely 2 arrays, pandas Series); the
boundary loader (:mod:`geo.boundaries`) strings them together and records one rejection
reason per row with :class:`Verdict` (the first reason found wins).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.errors import GeometryError

_POLYGON = shapely.GeometryType.POLYGON.value


class Verdict:
    """Per-row rejection reason, field and value; the first flag on a row wins.

    Parameters
    ----------
    index : pandas.Index
        The rows (feature order of the file).
    """

    def __init__(self, index: pd.Index):
        self.reason = pd.Series(pd.NA, index=index, dtype="string")
        self.field = pd.Series(pd.NA, index=index, dtype="string")
        self.value = pd.Series(pd.NA, index=index, dtype="string")

    @property
    def ok(self) -> pd.Series:
        """True for rows not (yet) rejected."""
        return self.reason.isna()

    def flag(self, mask, reason, field: str | None, value) -> None:
        """Reject rows where ``mask`` holds (and no earlier reason applies).

        ``reason`` and ``value`` may be scalars or Series aligned on the index.
        """
        m = pd.Series(mask, index=self.reason.index).astype("boolean").fillna(False).astype(bool)
        m &= self.ok
        if not m.any():
            return
        self.reason[m] = _at(reason, m)
        self.field[m] = field
        self.value[m] = _at(value, m)


def _at(value, mask: pd.Series):
    if isinstance(value, pd.Series):
        return value[mask].astype("string")
    return value


# --- geometry ------------------------------------------------------------------------------

@dataclasses.dataclass
class GeometryCheck:
    """Outcome of :func:`check_geometries`."""

    geometry: np.ndarray          # MultiPolygon per row, None where rejected
    reason: pd.Series             # rejection reason per row (<NA> when kept)
    value: pd.Series              # geometry type of rejected rows
    repaired: int                 # invalid polygons repaired with make_valid
    collections: int              # GeometryCollections reduced to their polygons
    had_z: int                    # rows whose Z coordinates were dropped


def polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """MultiPolygon of the non-empty polygons in each geometry (``None`` where there are none).

    Flattens two levels, so a GeometryCollection holding a MultiPolygon is covered.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    parts2, idx2 = shapely.get_parts(parts, return_index=True)
    idx = idx[idx2]
    keep = (shapely.get_type_id(parts2) == _POLYGON) & ~shapely.is_empty(parts2)
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        shapely.multipolygons(parts2[keep], indices=idx[keep], out=out)
    return out


def check_geometries(geoms: gpd.GeoSeries, source: str) -> GeometryCheck:
    """Turn every row into a valid MultiPolygon or a rejection reason.

    Empty or missing geometries are rejected; points or lines are rejected (or fatal when no
    row is polygonal); invalid polygons are repaired with ``shapely.make_valid`` keeping only
    their polygonal part.

    Raises
    ------
    GeometryError
        When no row has a geometry, or no row has a polygon.
    """
    index = geoms.index
    arr = np.asarray(geoms.array, dtype=object)
    had_z = int(shapely.has_z(arr).sum())
    arr = shapely.force_2d(arr)
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    poly = polygonal_parts(arr)
    has_poly = ~shapely.is_missing(poly)
    types = pd.Series(geoms.geom_type, index=index, dtype="string")
    if missing.all():
        raise GeometryError("no geometries: every feature has an empty or missing geometry", file=source)
    if not has_poly.any():
        found = ", ".join(sorted(set(types[~missing])))
        raise GeometryError(f"expected polygons, found {found}", file=source)
    collections = int((has_poly & (shapely.get_type_id(arr) == shapely.GeometryType.GEOMETRYCOLLECTION.value)).sum())
    invalid = has_poly & ~shapely.is_valid(poly)
    if invalid.any():
        poly[invalid] = polygonal_parts(shapely.make_valid(poly[invalid]))
    unrepaired = invalid & (shapely.is_missing(poly) | ~shapely.is_valid(poly))
    reason = pd.Series(pd.NA, index=index, dtype="string")
    reason[~missing & ~has_poly] = "expected polygons, found " + types[~missing & ~has_poly]
    reason[unrepaired] = "invalid geometry that make_valid could not repair"
    reason[missing] = "empty geometry"
    poly[reason.notna().to_numpy()] = None
    return GeometryCheck(poly, reason, types.where(reason.notna()), int((invalid & ~unrepaired).sum()),
                         collections, had_z)


def area_m2(geometry: np.ndarray) -> np.ndarray:
    """Area of each EPSG:4326 geometry in m², measured in EPSG:32748 (0 for None)."""
    metric = gpd.GeoSeries(geometry, crs=STORAGE_EPSG).to_crs(METRIC_EPSG)
    return metric.area.fillna(0.0).to_numpy()


# --- RW / RT numbers -----------------------------------------------------------------------

def parse_number(values: pd.Series, tag: str) -> pd.Series:
    """RW or RT number from labels: ``"RW 01"``, ``"RW 1"``, ``"RW13"``, ``"rw.5"``, ``"007"``, ``7.0``.

    ``tag`` is ``"RW"`` or ``"RT"``. Returns Int16; ``<NA>`` for blanks, other text
    (``"Kawasan Industri Pulogadung"``) and numbers outside 1..999.
    """
    text = values.astype("string").str.strip()
    pattern = rf"(?i)^(?:{tag}\.?)?\s*[:.\-]?\s*(\d{{1,4}})(?:\.0+)?$"
    number = pd.to_numeric(text.str.extract(pattern, expand=False), errors="coerce").astype("Int32")
    return number.where((number >= 1) & (number <= 999)).astype("Int16")


# --- duplicate keys ------------------------------------------------------------------------

def extra_pieces(keys: pd.Series, area: np.ndarray, ok: pd.Series) -> pd.Series:
    """True for rows (among ``ok``) whose key repeats and that are not the largest piece.

    Ties in area keep the earlier row, so the choice is deterministic.
    """
    frame = pd.DataFrame({"key": keys, "area": area, "pos": np.arange(len(keys))}, index=keys.index)[ok]
    frame = frame.sort_values(["key", "area", "pos"], ascending=[True, False, True])
    extra = frame.duplicated("key", keep="first")
    return extra.reindex(keys.index, fill_value=False)


def merge_pieces(frame: gpd.GeoDataFrame, key: str, area: np.ndarray) -> gpd.GeoDataFrame:
    """Dissolve rows sharing ``key`` into one MultiPolygon; attributes from the largest piece."""
    order = pd.DataFrame({"area": area, "pos": np.arange(len(frame))}, index=frame.index)
    order = order.sort_values(["area", "pos"], ascending=[False, True]).index
    ranked = frame.loc[order]
    dup = ranked[key].duplicated(keep=False)
    if not dup.any():
        return frame
    merged = ranked[dup].dissolve(by=key, aggfunc="first", sort=True).reset_index()
    merged["geometry"] = polygonal_parts(shapely.make_valid(np.asarray(merged.geometry.array, dtype=object)))
    merged = merged[frame.columns]
    return pd.concat([ranked[~dup], merged], ignore_index=True)
