"""Geocoding TPS: a forward chain that records where each pin came from and how far to trust it.

Sources, best first (``location_source``):

``coordinates``  coordinates given in the TPS list, parsed by :func:`parse_coordinates`, accepted
                 only within ``tolerance_m`` of the TPS's own kelurahan; ``precision_m`` ≥ 30 (GPS).
``address_rt``   an RT named in ``rt``/``rw`` or in the address → a point inside that RT polygon.
``address_rw``   an RW only (or an RT missing from the RT layer) → a point inside that RW polygon.
``place``        the address names a candidate site (school, hall, kantor lurah) of the kelurahan.
``kelurahan``    the kelurahan alone → a point inside it; lowest precision.

Polygon-level points lie strictly inside the polygon clipped to the TPS's own kelurahan, are spread
deterministically when several TPS share one polygon, and carry ``precision_m`` = the distance to the
farthest point of that polygon (metres, EPSG:32748). Then every point is reverse-geocoded and flagged
(see :data:`FLAGS`). The chain is deterministic and idempotent: run on its own output, nothing changes.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.geocode_coords import parse_coordinates
from geo.geocode_points import farthest_m, spread_points
from geo.geocode_reverse import join_flags, quality_flags, reverse_geocode
from geo.geocode_steps import Chain, prepare_layers, prepare_tps
from geo.report import Report
from geo.schema import conform

__all__ = ["geocode_tps", "kelurahan_level_list", "parse_coordinates", "reverse_geocode", "FLAGS",
           "LOCATION_SOURCES"]

log = logging.getLogger(__name__)

LOCATION_SOURCES = ("coordinates", "address_rt", "address_rw", "place", "kelurahan")
# Every flag, in the order they are written. Repairs keep the source; rejections fall through.
FLAGS = {
    "kelurahan_by_name": "kode_kel unknown; kelurahan found by fuzzy name (nama_kel)",
    "kelurahan_unknown": "kode_kel not in the kelurahan layer and no name match",
    "coords_swapped_lat_lon": "given lat/lon were swapped; repaired",
    "coords_lat_sign_fixed": "given latitude had the wrong sign; repaired",
    "coords_lon_sign_fixed": "given longitude had the wrong sign; repaired",
    "coords_near_edge": "given point outside its kelurahan by more than its precision, within the tolerance; kept",
    "coords_placeholder": "given coordinates are a placeholder (0, -, N/A); ignored",
    "coords_unparseable": "given coordinates cannot be read; ignored",
    "coords_only_one_coordinate": "only one of lat/lon given; ignored",
    "coords_truncated": "given coordinates too coarse (< 3 decimals); ignored",
    "coords_outside_dki": "given coordinates not in Jakarta even after swap/sign repairs; ignored",
    "coords_outside_kelurahan": "given point farther than the tolerance from its kelurahan; ignored",
    "address_rtrw_conflict": "RT/RW in the address differ from the rt/rw columns (columns used)",
    "rt_not_found": "declared RT (columns or address) not in the RT layer",
    "rw_not_found": "declared RW (columns or address) not in the RW layer",
    "rtrw_outside_kelurahan": "declared RT/RW polygon does not overlap the TPS's kelurahan",
    "kelurahan_mismatch": "point (coordinates/place) lies in another kelurahan, beyond its precision_m",
    "rw_mismatch": "point (coordinates/place) lies in another RW than declared, beyond its precision_m",
    "rt_mismatch": "point (coordinates/place) lies in another RT than declared, beyond its precision_m",
    "outside_dki": "point lies in no kelurahan polygon (sea, outside DKI)",
    "same_spot_other_kelurahan": "another kelurahan's TPS at the same spot",
    "stacked": "many TPS at one spot",
    "over_capacity": "DPT count above the voters-per-TPS capacity",
}
_POINT_EVIDENCE = ("coordinates", "place")


def geocode_tps(tps: pd.DataFrame, kelurahan: gpd.GeoDataFrame, rw: gpd.GeoDataFrame | None = None,
                rt: gpd.GeoDataFrame | None = None, candidates: gpd.GeoDataFrame | None = None, *,
                tolerance_m: float = 100.0, max_per_tps: int = 300, same_spot_m: float = 5.0,
                stack_limit: int = 5, source: str = "tps") -> tuple[gpd.GeoDataFrame, Report]:
    """Place every TPS, best source first, and report how.

    Parameters
    ----------
    tps : pandas.DataFrame
        TPS rows with the ``tps`` layer columns (see :mod:`geo.schema`); an extra ``nama_kel`` column,
        when present, resolves a ``kode_kel`` missing from the kelurahan layer by fuzzy name.
    kelurahan, rw, rt : geopandas.GeoDataFrame
        Conforming ``kelurahan`` (required), ``rw`` and ``rt`` layers (optional), any known CRS.
    candidates : geopandas.GeoDataFrame, optional
        Candidate sites: points with ``nama`` (and ``kode_kel``; else taken from the kelurahan holding them).
    tolerance_m : float
        How far (metres) given coordinates may lie outside the TPS's kelurahan and still be accepted.
    max_per_tps : int
        Voters-per-TPS capacity for the ``over_capacity`` flag.
    same_spot_m, stack_limit : float, int
        Points closer than ``same_spot_m`` metres share a spot; ``stack_limit`` TPS on one spot are stacked.
    source : str
        Name of the input, for the report.

    Returns
    -------
    (geopandas.GeoDataFrame, Report)
        The conforming ``tps`` layer (EPSG:4326 points, ``location_source``, ``precision_m``, ``flags``,
        ``rw``/``rt`` completed from the address), in input order; and the report (counts per source,
        per flag, per kecamatan; TPS that could not be placed are its rejections).
    """
    report = Report("geocode tps", source)
    layers = prepare_layers(kelurahan, rw, rt, candidates)
    frame, nama_kel = prepare_tps(tps)
    report.rows_read = len(frame)
    chain = Chain(frame, layers, report)
    chain.resolve_kelurahan(nama_kel)
    chain.complete_rt_rw()
    chain.check_declared()
    chain.from_coordinates(tolerance_m)
    chain.from_address()
    chain.from_places()
    chain.from_kelurahan()
    _place_polygon_levels(chain)
    out = _finish(chain, frame, max_per_tps=max_per_tps, same_spot_m=same_spot_m, stack_limit=stack_limit)
    _report(report, out, chain)
    log.info("geocoded %d TPS: %s", len(out), report.figures["location_source"])
    return out, report.finish()


def _place_polygon_levels(chain: Chain) -> None:
    """Spread the address/kelurahan-level TPS inside their (clipped) polygons and measure precision."""
    todo = np.flatnonzero(chain.polygon_key.notna().to_numpy())
    if len(todo) == 0:
        return
    keys = chain.polygon_key.iloc[todo]
    codes, uniques = pd.factorize(keys, sort=True)
    polygons = chain.polygons.reindex(uniques).to_numpy()
    order = np.lexsort((chain.frame["kode_tps"].iloc[todo].to_numpy(dtype=str), codes))
    slot = np.empty(len(todo), dtype=np.int64)
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    slot[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    points = spread_points(polygons, codes, slot)
    points = chain.keep_inside_own_kelurahan(todo, points)
    chain.geometry[todo] = points
    chain.precision[todo] = farthest_m(points, polygons, codes)


def _finish(chain: Chain, frame: pd.DataFrame, *, max_per_tps: int, same_spot_m: float,
            stack_limit: int) -> gpd.GeoDataFrame:
    points = gpd.GeoSeries(chain.geometry, index=frame.index, crs=4326)
    declared = pd.DataFrame({"kode_kel": chain.kode_kel, "rw": chain.rw, "rt": chain.rt})
    found = reverse_geocode(points, chain.layers.kelurahan, chain.layers.rw, chain.layers.rt, declared)
    chain.mismatch_flags(found["flags"], _POINT_EVIDENCE)
    chain.flag("outside_dki", found["flags"].str.contains("outside_dki", regex=False).fillna(False))
    quality = quality_flags(points, chain.kode_kel, frame["dpt"], max_per_tps=max_per_tps,
                            same_spot_m=same_spot_m, stack_limit=stack_limit)
    for flag in quality.columns:
        chain.flag(flag, quality[flag])
    out = frame.copy()
    out["kode_kel"] = chain.kode_kel
    out["rw"], out["rt"] = chain.rw, chain.rt
    out["location_source"] = pd.array(chain.source, dtype="string")
    out["precision_m"] = np.round(chain.precision, 1)
    flags = pd.DataFrame({f: chain.flags.get(f, False) for f in FLAGS}, index=frame.index)
    out["flags"] = join_flags(flags)
    return conform(gpd.GeoDataFrame(out, geometry=points.to_numpy(), crs=4326), "tps")


def _report(report: Report, out: gpd.GeoDataFrame, chain: Chain) -> None:
    placed = out.geometry.notna().to_numpy()
    report.rows_loaded = int(placed.sum())
    report.reject(chain.unplaced_problems(~placed))
    counts = out["location_source"].fillna("unplaced").value_counts()
    report.figures["location_source"] = {s: int(counts.get(s, 0)) for s in (*LOCATION_SOURCES, "unplaced")}
    flag_counts = out["flags"].str.split(";").explode().dropna().value_counts()
    report.figures["flags"] = {f: int(flag_counts[f]) for f in FLAGS if f in flag_counts}
    kec = out["kode_kel"].str[:6].fillna("?")
    per_kec = pd.crosstab(kec, out["location_source"].fillna("unplaced"))
    report.figures["per_kecamatan"] = {k: {s: int(n) for s, n in row.items() if n}
                                       for k, row in per_kec.iterrows()}
    inside = chain.inside_own_kelurahan(out.geometry.to_numpy())
    report.figures["inside_own_kelurahan"] = int(inside.sum())
    report.figures["outside_own_kelurahan"] = int((placed & ~inside).sum())
    median = out.groupby("location_source")["precision_m"].median()
    report.figures["median_precision_m"] = {s: round(float(median[s]), 1) for s in LOCATION_SOURCES if s in median}
    chain.warn_flags(out["flags"], out["kode_tps"])
    report.note(f"{report.rows_loaded:,} of {len(out):,} TPS placed; "
                f"{report.figures['inside_own_kelurahan']:,} inside their own kelurahan polygon")


def kelurahan_level_list(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The TPS placed at kelurahan level only, for a CSV/GeoPackage an officer can open in QGIS.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Output of :func:`geocode_tps`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``kode_tps, kode_kel, no_tps, nama, alamat, rw, rt, dpt, precision_m, flags, lon, lat``
        and the point geometry (EPSG:4326), sorted by ``kode_tps``.
    """
    cols = ["kode_tps", "kode_kel", "no_tps", "nama", "alamat", "rw", "rt", "dpt", "precision_m", "flags"]
    sub = gdf.loc[gdf["location_source"] == "kelurahan", cols + ["geometry"]]
    sub = sub.sort_values("kode_tps", kind="stable").reset_index(drop=True)
    sub.insert(len(cols), "lon", np.round(shapely.get_x(sub.geometry.to_numpy()), 6))
    sub.insert(len(cols) + 1, "lat", np.round(shapely.get_y(sub.geometry.to_numpy()), 6))
    return gpd.GeoDataFrame(sub, geometry="geometry", crs=gdf.crs)
