"""Coverage for district officers: per-TPS load, per-RT/RW distance, gaps, siting and merges.

:func:`coverage` answers, for a kota, kecamatan or kelurahan (``kode``) or all of the data:

- per TPS: voters the DPT assigns to it (``voters_dpt``), voters for whom it is the nearest TPS of
  their kelurahan (``voters_nearest``), capacity use, over-capacity and under-use flags, its catchment
  (the RT/RW areas its voters live in) and its Voronoi service area clipped to its kelurahan;
- per RT and RW: voters, distance to the DPT's TPS and to the nearest TPS, share beyond the threshold;
- gaps (:mod:`geo.coverage_gaps`), siting suggestions and merge candidates (:mod:`geo.siting`), and
  the DPS/DPT stages when counts per kelurahan are given.

How it stays fast: voters are never handled one by one. One pass over the voter chunks counts them
per (kelurahan, RW, RT, DPT TPS) (:func:`count_voters`: 8.3 M voters → ~50 k counts); all voters of an
RT share one location (:func:`geo.locations.voter_locations`), so distances are computed per location
and per (location, TPS) count, with KD-trees (:mod:`geo.nearest`). Distances are straight lines in
EPSG:32748 (metres, rounded to 1 cm); walking distances are added per RT when a road graph is given.

Reliability: a TPS placed only at kelurahan level (``location_source == "kelurahan"``) could be
anywhere in its kelurahan. An RT counts as a gap only when *certain*: no reliably placed TPS of its
kelurahan within the threshold, and no kelurahan-level TPS that could be (distance minus its
``precision_m``); otherwise its coverage is ``unknown`` and the kelurahan-level TPS is itself a gap.

Real-data mode (``voters_or_chunks=None``, e.g. the Pemilu 2024 TPS list with DPT counts but no
voter list): per-TPS load comes from ``tps.dpt``; distances, RT/RW figures, catchments, coverage
siting and merges cannot be computed, and the report says so.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import coverage_tables as tables
from geo.codes import parse_wilayah
from geo.coverage_areas import Areas, scope_mask
from geo.coverage_gaps import find_gaps, stage_table
from geo.coverage_tables import STATUSES
from geo.crs import to_storage
from geo.errors import ConfigError, InputError
from geo.locations import arrow_str, int_codes, voter_locations
from geo.nearest import (
    index_in,
    nearest_indices,
    require_columns,
    take_strings,
    tps_points,
)
from geo.report import Report
from geo.schema import conform
from geo.siting import suggest

log = logging.getLogger(__name__)

COUNT_COLUMNS = ["kode_kel", "rw", "rt", "kode_tps", "voters"]
UNRELIABLE_SOURCE = "kelurahan"


@dataclasses.dataclass
class CoverageResult:
    """Everything :func:`coverage` found; frames hold exact counts (suppression happens on writing).

    Attributes
    ----------
    tps, rt, rw, kelurahan : GeoDataFrame
        Statistics per TPS (points), per RT, per RW and per kelurahan (polygons), EPSG:4326.
    gaps : GeoDataFrame
        One row per gap, worst first (``reason``, ``severity``; polygons of the area concerned).
    suggestions, merges : GeoDataFrame
        New TPS sites (points) and TPS pairs that could merge (lines from the merged to the kept TPS).
    catchments, service_areas : GeoDataFrame
        Per TPS (``kode_tps``): union of its voters' RT/RW areas; its Voronoi cell in its kelurahan.
    stages : DataFrame
        Population / DPS / DPT counts and the change between them (empty when none were given).
    report : Report
        Figures, notes on what could not be computed, timings.
    """

    tps: gpd.GeoDataFrame
    rt: gpd.GeoDataFrame
    rw: gpd.GeoDataFrame
    kelurahan: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    suggestions: gpd.GeoDataFrame
    merges: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    service_areas: gpd.GeoDataFrame
    stages: pd.DataFrame
    report: Report
    threshold_m: float = 500.0
    max_per_tps: int = 300
    kode: str = ""


def coverage(voters_or_chunks: pd.DataFrame | Iterable[pd.DataFrame] | None, tps: gpd.GeoDataFrame,
             rt: gpd.GeoDataFrame | None = None, rw: gpd.GeoDataFrame | None = None,
             kelurahan: gpd.GeoDataFrame | None = None, *, kode: str | None = None, threshold_m: float = 500.0,
             max_per_tps: int = 300, candidates: gpd.GeoDataFrame | None = None,
             stages: pd.DataFrame | None = None, min_use: float = 0.25, network=None,
             counts: pd.DataFrame | None = None) -> CoverageResult:
    """Coverage statistics, gaps, siting suggestions and merge candidates.

    Parameters
    ----------
    voters_or_chunks : DataFrame, iterable of DataFrames, or None
        The ``voters`` layer (``kode_kel``, ``rw``, ``rt``, ``kode_tps``), whole or in chunks (read once).
        None: real-data mode, loads from ``tps.dpt`` only.
    tps : GeoDataFrame
        The ``tps`` layer (geocoded: ``location_source``, ``precision_m``); TPS without a point are kept
        in the tables and flagged ``unplaced``.
    rt, rw, kelurahan : GeoDataFrame, optional
        Area layers as stored (any declared CRS). Voters are located at their RT's representative point,
        else their RW's, else their kelurahan's (see :mod:`geo.locations`).
    kode : str, optional
        Kota (4 digits), kecamatan (6) or kelurahan (10) code, dotted or plain: analyse only that area.
    threshold_m : float, default 500
        Walking reach (metres, straight line) a TPS should be within.
    max_per_tps : int, default 300
        Voters-per-TPS cap (Pemilu 2024: 300; Pilkada 2024: 600).
    candidates : GeoDataFrame, optional
        Candidate TPS sites (points; ``nama``, optional ``kode_kel``). RT representative points are used
        where none is within reach.
    stages : DataFrame, optional
        Counts per kelurahan (``kode_kel``) or RW (``kode_kel``, ``rw``): any of ``population``, ``dps``,
        ``dpt``.
    min_use : float, default 0.25
        A TPS whose voters are below this share of the cap is flagged ``under_use``.
    network : geo.network.RoadGraph, optional
        Road graph: adds walking distances per RT (``dist_nearest_walk_m``, ``dist_dpt_walk_mean_m``).
    counts : DataFrame, optional
        Voters already counted (:data:`COUNT_COLUMNS`, one row per key, as :func:`count_voters` returns),
        used instead of ``voters_or_chunks``, e.g. by a partition of the national batch
        (:mod:`geo.batch_coverage`); the report's voter figures are then the caller's to set.

    Returns
    -------
    CoverageResult

    Raises
    ------
    ConfigError
        A threshold, cap or share out of range.
    CodeError, MissingColumnError, CRSError, InputError
        A malformed ``kode``, missing columns, undeclared CRS, duplicated ``kode_tps``.
    """
    _check_parameters(threshold_m, max_per_tps, min_use)
    started = time.perf_counter()
    prefix = parse_wilayah(kode) if kode else ""
    report = Report("coverage", source=f"kode {prefix}" if prefix else "all areas")
    areas = Areas.of(kelurahan, rw, rt, prefix)
    tps = _scope_tps(tps, prefix)
    params = tables.Params(float(threshold_m), int(max_per_tps), float(min_use))
    timer = _Timer(report, started)
    if counts is not None:
        counts = _given_counts(counts, prefix)
    elif voters_or_chunks is not None:
        counts = count_voters(voters_or_chunks, kode=prefix, report=report)
    timer("count_s")
    located = locate(counts, tps, areas, params, network) if counts is not None else None
    timer("locations_s")
    tps_table, catchments, service = tables.tps_table(tps, located, areas, params)
    rt_table, rw_table = tables.rt_rw_tables(located, areas, params) if located is not None else (
        tables.empty_rt(), tables.empty_rw())
    kel_table = tables.kelurahan_table(areas, tps_table, rt_table, rw_table, located, params, stages=stages)
    timer("tables_s")
    gaps = find_gaps(tps_table, rt_table, rw_table, kel_table, params, service, with_voters=located is not None)
    suggestions, merges = suggest(gaps, located, tps_table, areas, candidates, params, report)
    timer("siting_s")
    stage_frame = stage_table(stages, kel_table, rw_table, tps_table, prefix, with_voters=located is not None)
    result = CoverageResult(tps_table, rt_table, rw_table, kel_table, gaps, suggestions, merges, catchments,
                            service, stage_frame, report, params.threshold_m, params.cap, prefix)
    tables.describe(result, located)
    report.figures["seconds"] = round(time.perf_counter() - started, 2)
    log.info("coverage %s: %d TPS, %d gaps", report.source, len(tps_table), len(gaps))
    report.finish()
    return result


def _check_parameters(threshold_m: float, max_per_tps: int, min_use: float) -> None:
    problems = [(not threshold_m > 0, "threshold_m", threshold_m, "a distance in metres > 0"),
                (not (isinstance(max_per_tps, (int, np.integer)) and max_per_tps >= 1), "max_per_tps", max_per_tps,
                 "an integer >= 1"),
                (not 0 <= min_use < 1, "min_use", min_use, "a share between 0 and 1")]
    for bad, field, value, expected in problems:
        if bad:
            raise ConfigError(f"coverage: {field} must be {expected}, got {value!r}")


def _scope_tps(tps: gpd.GeoDataFrame, prefix: str) -> gpd.GeoDataFrame:
    require_columns(tps, ("kode_tps", "kode_kel"), "tps")
    if not isinstance(tps, gpd.GeoDataFrame):
        tps = gpd.GeoDataFrame(tps, geometry=[None] * len(tps), crs=4326)
    elif tps.crs is None and tps.geometry.notna().any():
        tps = to_storage(tps, source="tps")          # raises: an undeclared CRS cannot be guessed
    elif tps.crs is None:
        tps = tps.set_crs(4326)
    tps = conform(to_storage(tps, source="tps"), "tps")
    tps = tps[scope_mask(tps["kode_kel"], prefix) & tps["kode_tps"].notna().to_numpy()]
    dup = tps["kode_tps"].duplicated()
    if dup.any():
        raise InputError("kode_tps must be unique", file="tps", field="kode_tps", value=tps.loc[dup, "kode_tps"].iloc[0])
    return tps.sort_values("kode_tps", kind="stable").reset_index(drop=True)


# --- counting voters -------------------------------------------------------------------------------

def count_voters(voters: pd.DataFrame | Iterable[pd.DataFrame], *, kode: str = "",
                 report: Report | None = None) -> pd.DataFrame:
    """Voters per (kode_kel, rw, rt, kode_tps), in one pass over the chunks.

    Parameters
    ----------
    voters : DataFrame or iterable of DataFrames
        Columns ``kode_kel``, ``rw``, ``rt``, ``kode_tps`` (others ignored). Unknown RW/RT (missing or 0)
        become ``<NA>``; voters without ``kode_kel`` are counted in the report and dropped.
    kode : str
        Keep only voters whose ``kode_kel`` starts with this code.

    Returns
    -------
    DataFrame
        :data:`COUNT_COLUMNS`, sorted by the keys; ``voters`` is int64.
    """
    parts, read, dropped = [], 0, 0
    for chunk in [voters] if isinstance(voters, pd.DataFrame) else voters:
        require_columns(chunk, ("kode_kel", "rw", "rt", "kode_tps"), "voters")
        read += len(chunk)
        if kode:
            chunk = chunk[scope_mask(chunk["kode_kel"], kode)]
        part, lost = _count_chunk(chunk)
        parts.append(part)
        dropped += lost
    out = pd.concat(parts, ignore_index=True) if parts else _count_frame([], [], [], [], [])
    if len(parts) > 1:
        out = out.groupby(COUNT_COLUMNS[:4], dropna=False, sort=False)["voters"].sum().reset_index()
    out = out.sort_values(COUNT_COLUMNS[:4], kind="stable", na_position="first").reset_index(drop=True)
    if report is not None:
        report.rows_read += read
        report.rows_loaded += int(out["voters"].sum())
        report.figures["voters_outside_area"] = read - int(out["voters"].sum()) - dropped
        report.figures["voters_without_kelurahan"] = dropped
    return out


def _given_counts(counts: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Counts from the caller, scoped and in :func:`count_voters`'s order (their keys must be distinct)."""
    require_columns(counts, tuple(COUNT_COLUMNS), "counts")
    counts = counts.loc[scope_mask(counts["kode_kel"], prefix), COUNT_COLUMNS]
    if counts.duplicated(COUNT_COLUMNS[:4]).any():
        raise InputError("voter counts must have one row per (kode_kel, rw, rt, kode_tps)", file="counts")
    return counts.sort_values(COUNT_COLUMNS[:4], kind="stable", na_position="first").reset_index(drop=True)


def _count_chunk(chunk: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Counts of one chunk by packing (kelurahan, rw, rt, tps) codes into one int64 and np.unique."""
    kel = pc.dictionary_encode(arrow_str(chunk["kode_kel"])).combine_chunks()
    tps = pc.dictionary_encode(arrow_str(chunk["kode_tps"])).combine_chunks()
    k = pc.fill_null(kel.indices, -1).to_numpy().astype(np.int64)
    t = pc.fill_null(tps.indices, -1).to_numpy().astype(np.int64) + 1       # 0 = no TPS
    rw = np.maximum(int_codes(chunk["rw"]), 0).astype(np.int64)
    rt = np.maximum(int_codes(chunk["rt"]), 0).astype(np.int64)
    ok = k >= 0
    k, t, rw, rt = k[ok], t[ok], rw[ok], rt[ok]
    widths = [int(v.max(initial=0)).bit_length() for v in (rw, rt, t)]
    if int(k.max(initial=0)).bit_length() + sum(widths) > 62:      # absurd RW/RT numbers: let pandas group
        frame = pd.DataFrame({"k": k, "w": rw, "r": rt, "t": t})
        g = frame.groupby(["k", "w", "r", "t"], sort=True).size().reset_index()
        uk, uw, ur, ut, n = (g[c].to_numpy() for c in ("k", "w", "r", "t", 0))
    else:
        shift_r, shift_w = widths[2], widths[2] + widths[1]       # the TPS code takes the lowest bits
        shift_k = shift_w + widths[0]
        packed = (k << shift_k) | (rw << shift_w) | (rt << shift_r) | t
        uniq, n = np.unique(packed, return_counts=True)
        uk, uw = uniq >> shift_k, (uniq >> shift_w) & ((1 << widths[0]) - 1)
        ur, ut = (uniq >> shift_r) & ((1 << widths[1]) - 1), uniq & ((1 << widths[2]) - 1)
    tps_codes = take_strings(tps.dictionary, ut - 1)
    return _count_frame(take_strings(kel.dictionary, uk), uw, ur, tps_codes, n), int((~ok).sum())


def _count_frame(kel, rw, rt, tps, n) -> pd.DataFrame:
    rw, rt = (pd.Series(np.asarray(v, dtype=np.int64)).astype("Int16") for v in (rw, rt))
    return pd.DataFrame({"kode_kel": pd.Series(kel, dtype="string").array, "rw": rw.mask(rw == 0).array,
                         "rt": rt.mask(rt == 0).array, "kode_tps": pd.Series(tps, dtype="string").array,
                         "voters": np.asarray(n, dtype=np.int64)})


# --- locating the counts ---------------------------------------------------------------------------

@dataclasses.dataclass
class Located:
    """Voter counts at their locations, and each location's nearest TPS and coverage status.

    ``counts`` gains ``loc`` (row in ``locations``), ``tps_row`` (row in the TPS table, -1 unknown),
    ``pt`` (row in ``pts``, -1 unplaced) and ``dist_dpt_m``. ``locations`` gains ``voters``,
    ``tps_nearest``, ``dist_nearest_m``, ``dist_nearest_any_m``, ``status`` (:data:`STATUSES`) and,
    with a road graph, ``dist_nearest_walk_m`` and the walk of each count row (``dist_dpt_walk_m``).
    """

    counts: pd.DataFrame
    locations: pd.DataFrame
    pts: object
    pt_row: np.ndarray          # row in the TPS table of each placed TPS


def locate(counts: pd.DataFrame, tps: gpd.GeoDataFrame, areas: Areas, params, network=None) -> Located:
    """Locations of the counted voters, distances to TPS and the coverage status of each location."""
    raw = areas.raw
    locs = voter_locations(counts[["kode_kel", "rw", "rt"]], raw["rt"], raw["rw"], raw["kelurahan"])
    pts = tps_points(tps)
    codes = pa.array(tps["kode_tps"].astype("string").to_numpy(dtype=object), type=pa.large_string())
    pt_row = index_in(pts.codes, codes)
    counts = counts.copy()
    counts["loc"] = index_in(_loc_keys(counts), pa.array(locs["loc_key"].to_numpy(dtype=object),
                                                         type=pa.large_string()))
    counts["tps_row"] = index_in(counts["kode_tps"], codes)
    counts["pt"] = index_in(counts["kode_tps"], pts.codes)
    good = locs["loc_level"].isin(["rt", "rw"]).to_numpy()
    xy = np.where(good[:, None], locs[["x", "y"]].to_numpy(np.float64), np.nan)
    lxy, txy = np.vstack([xy, [np.nan, np.nan]]), np.vstack([pts.xy, [np.nan, np.nan]])
    counts["dist_dpt_m"] = np.round(np.hypot(*(txy[counts["pt"]] - lxy[counts["loc"]]).T), 2)
    locs["voters"] = np.bincount(counts["loc"][counts["loc"] >= 0], weights=counts["voters"][counts["loc"] >= 0],
                                 minlength=len(locs)).astype(np.int64)
    _nearest(locs, xy, pts, tps, params.threshold_m)
    if network is not None:
        _walks(locs, counts, xy, pts, network)
    return Located(counts, locs, pts, pt_row)


def _loc_keys(counts: pd.DataFrame) -> pd.Series:
    rw = counts["rw"].astype("Int64").fillna(0).astype("string").str.zfill(3)
    rt = counts["rt"].astype("Int64").fillna(0).astype("string").str.zfill(3)
    return counts["kode_kel"].astype("string") + "-" + rw + "-" + rt


def _nearest(locs: pd.DataFrame, xy: np.ndarray, pts, tps: gpd.GeoDataFrame, threshold_m: float) -> None:
    """Nearest TPS of the own kelurahan (all, and reliably placed only) and any; coverage status."""
    kels = pc.unique(pts.kode_kel)
    group, tgroup = index_in(locs["kode_kel"], kels), index_in(pts.kode_kel, kels)
    source = tps.set_index("kode_tps").loc[pts.codes.to_pylist()]
    reliable = (source["location_source"].fillna("") != UNRELIABLE_SOURCE).to_numpy()
    precision = source["precision_m"].fillna(0).to_numpy(np.float64)
    near, dist = nearest_indices(xy, group, pts.xy, tgroup)
    _, dist_any = nearest_indices(xy, None, pts.xy, None)
    rel = np.flatnonzero(reliable)
    _, dist_rel = nearest_indices(xy, group, pts.xy[rel], tgroup[rel])
    lower = _unreliable_lower_bound(xy, group, pts.xy, tgroup, ~reliable, precision,
                                    todo=~(dist_rel <= threshold_m) & np.isfinite(xy).all(axis=1))
    status = np.full(len(locs), "gap", dtype=object)
    status[lower <= threshold_m] = "unknown"
    status[dist_rel <= threshold_m] = "covered"
    status[np.isnan(dist) & (group < 0)] = "no_tps"
    status[~np.isfinite(xy).all(axis=1)] = "unlocated"
    locs["tps_nearest"] = take_strings(pts.codes, near).array
    locs["dist_nearest_m"] = np.round(dist, 2)
    locs["dist_nearest_any_m"] = np.round(dist_any, 2)
    locs["status"] = pd.array(status, dtype="string")


def _unreliable_lower_bound(xy, group, txy, tgroup, unreliable, precision, todo) -> np.ndarray:
    """Per location, the least distance a kelurahan-level TPS of its kelurahan could be at:
    min(distance − precision_m), ≥ 0; +inf where there is none (or not asked)."""
    out = np.full(len(xy), np.inf)
    loc, tp = np.flatnonzero(todo), np.flatnonzero(unreliable)
    if not len(loc) or not len(tp):
        return out
    pairs = pd.DataFrame({"loc": loc, "g": group[loc]}).merge(pd.DataFrame({"t": tp, "g": tgroup[tp]}), on="g")
    if not len(pairs):
        return out
    li, ti = pairs["loc"].to_numpy(), pairs["t"].to_numpy()
    bound = np.maximum(np.hypot(*(xy[li] - txy[ti]).T) - precision[ti], 0.0)
    np.minimum.at(out, li, bound)
    return out


def _walks(locs: pd.DataFrame, counts: pd.DataFrame, xy: np.ndarray, pts, network) -> None:
    from geo.walk import WalkTable

    frame = locs.assign(x=xy[:, 0], y=xy[:, 1])
    walk = WalkTable(frame, pts, network)
    locs["dist_nearest_walk_m"] = np.round(walk.nearest_m[:-1], 2)
    # index -1 (no location / unplaced TPS) gathers the table's sentinel: NaN
    counts["dist_dpt_walk_m"] = np.round(walk.dpt_walk(counts["loc"].to_numpy(), counts["pt"].to_numpy()), 2)


class _Timer:
    def __init__(self, report: Report, started: float):
        self.report, self.last = report, started

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.report.figures.setdefault("timings", {})[name] = round(now - self.last, 2)
        self.last = now


__all__ = ["COUNT_COLUMNS", "STATUSES", "CoverageResult", "count_voters", "coverage", "locate"]
