"""Reverse geocoding (which kelurahan/RW/RT holds each point) and point quality flags.

Both are vectorized: one ``STRtree`` query per layer, then pandas to pick one polygon per point.
Where polygons overlap (slivers between simplified kelurahan, RW pieces), the polygon the TPS
declares wins if it is among those containing the point, else the smallest code, so a point on a
sliver is not reported as a mismatch.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.codes import rt_key, rw_key
from geo.crs import METRIC_EPSG

REVERSE_FLAGS = ("kelurahan_mismatch", "rw_mismatch", "rt_mismatch", "outside_dki")
QUALITY_FLAGS = ("same_spot_other_kelurahan", "stacked", "over_capacity")


def reverse_geocode(points: gpd.GeoSeries, kelurahan: gpd.GeoDataFrame, rw: gpd.GeoDataFrame | None = None,
                    rt: gpd.GeoDataFrame | None = None, declared: pd.DataFrame | None = None) -> pd.DataFrame:
    """Kelurahan, RW and RT containing each point, and where they disagree with the declaration.

    Parameters
    ----------
    points : geopandas.GeoSeries
        Points (missing geometries allowed), in the CRS of the layers (EPSG:4326 in petatps).
    kelurahan, rw, rt : geopandas.GeoDataFrame
        Conforming ``kelurahan`` (``kode``), ``rw`` (``kode_kel``, ``rw``) and ``rt`` (``kode_kel``,
        ``rw``, ``rt``) layers; ``rw``/``rt`` optional.
    declared : pandas.DataFrame, optional
        ``kode_kel``, ``rw``, ``rt`` as declared per point (aligned on ``points``' index).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``kel_found`` (kelurahan code), ``rw_found`` (RW key
        ``<kode_kel>-<rw:03d>``), ``rt_found`` (RT key), ``<NA>`` when no polygon holds the point, and
        ``flags``: ``;``-joined :data:`REVERSE_FLAGS` (a mismatch only where both the declared and the
        found value are known; ``outside_dki`` for a point in no kelurahan).
    """
    declared = _declared(declared, points.index)
    decl_rw = rw_key(declared["kode_kel"], declared["rw"])
    decl_rt = rt_key(declared["kode_kel"], declared["rw"], declared["rt"])
    out = pd.DataFrame(index=points.index)
    out["kel_found"] = containing(points, kelurahan, kelurahan["kode"], declared["kode_kel"])
    out["rw_found"] = (containing(points, rw, rw_key(rw["kode_kel"], rw["rw"]), decl_rw)
                       if rw is not None else pd.Series(pd.NA, index=points.index, dtype="string"))
    out["rt_found"] = (containing(points, rt, rt_key(rt["kode_kel"], rt["rw"], rt["rt"]), decl_rt)
                       if rt is not None else pd.Series(pd.NA, index=points.index, dtype="string"))
    placed = points.notna() & ~points.is_empty
    flags = {
        "kelurahan_mismatch": _differs(declared["kode_kel"], out["kel_found"]),
        "rw_mismatch": _differs(decl_rw, out["rw_found"]),
        "rt_mismatch": _differs(decl_rt, out["rt_found"]),
        "outside_dki": placed & out["kel_found"].isna(),
    }
    out["flags"] = join_flags(pd.DataFrame(flags))
    return out


def quality_flags(points: gpd.GeoSeries, kode_kel: pd.Series, dpt: pd.Series, *, max_per_tps: int,
                  same_spot_m: float = 5.0, stack_limit: int = 5) -> pd.DataFrame:
    """Flags about the points as a set: shared spots, stacks, over-full TPS.

    Parameters
    ----------
    points : geopandas.GeoSeries
        TPS points (missing allowed), any CRS with a definition; measured in EPSG:32748.
    kode_kel, dpt : pandas.Series
        Kelurahan code and DPT count per TPS (aligned on ``points``).
    max_per_tps : int
        Voters-per-TPS capacity (300 for Pemilu 2024).
    same_spot_m : float
        Two points closer than this (metres) are at the same spot.
    stack_limit : int
        This many TPS or more at one spot are flagged as stacked.

    Returns
    -------
    pandas.DataFrame
        Boolean columns :data:`QUALITY_FLAGS`, indexed like ``points``.
    """
    pos = np.flatnonzero((points.notna() & ~points.is_empty).to_numpy())
    metric = points.iloc[pos].to_crs(METRIC_EPSG).to_numpy() if len(pos) else np.empty(0, dtype=object)
    i, j = shapely.STRtree(metric).query(metric, predicate="dwithin", distance=same_spot_m)
    other = i != j
    i, j = i[other], j[other]
    kel = kode_kel.astype("string").to_numpy(dtype=object)[pos]
    other_kel = np.zeros(len(points), dtype=bool)
    other_kel[pos[np.unique(i[kel[i] != kel[j]])]] = True
    stacked = np.zeros(len(points), dtype=bool)
    stacked[pos] = np.bincount(i, minlength=len(pos)) + 1 >= stack_limit
    over = (dpt.astype("Float64") > max_per_tps).fillna(False).to_numpy(dtype=bool)
    return pd.DataFrame({"same_spot_other_kelurahan": other_kel, "stacked": stacked, "over_capacity": over},
                        index=points.index)


def join_flags(flags: pd.DataFrame) -> pd.Series:
    """``;``-join the names of the True columns per row (column order kept); ``<NA>`` when none."""
    if flags.shape[1] == 0:
        return pd.Series(pd.NA, index=flags.index, dtype="string")
    values = flags.fillna(False).to_numpy(dtype=bool)
    names = np.array([c + ";" for c in flags.columns], dtype=object)
    text = pd.Series((values * names).sum(axis=1), index=flags.index, dtype="string").str.rstrip(";")
    return text.where(text.str.len() > 0)


def _declared(declared: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame:
    cols = {"kode_kel": "string", "rw": "Int16", "rt": "Int16"}
    out = pd.DataFrame(index=index)
    for col, dtype in cols.items():
        has = declared is not None and col in declared
        out[col] = declared[col].astype(dtype) if has else pd.Series(pd.NA, index=index, dtype=dtype)
    return out


def containing(points: gpd.GeoSeries, polygons: gpd.GeoDataFrame, keys: pd.Series,
                prefer: pd.Series) -> pd.Series:
    """Key of the polygon holding each point: the preferred key if among them, else the smallest."""
    pt, poly = shapely.STRtree(polygons.geometry.to_numpy()).query(points.to_numpy(), predicate="within")
    pairs = pd.DataFrame({"pt": pt, "key": keys.astype("string").to_numpy()[poly]})
    pairs["other"] = (pairs["key"] != prefer.astype("string").to_numpy()[pt]).fillna(True)
    pairs = pairs.sort_values(["pt", "other", "key"]).drop_duplicates("pt")
    found = pd.Series(pd.NA, index=range(len(points)), dtype="string")
    found.iloc[pairs["pt"].to_numpy()] = pairs["key"].to_numpy()
    return found.set_axis(points.index)


def _differs(declared: pd.Series, found: pd.Series) -> pd.Series:
    return (declared.notna() & found.notna() & (declared != found)).fillna(False).astype(bool)
