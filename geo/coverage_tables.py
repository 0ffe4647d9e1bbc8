"""The coverage tables: per TPS, per RT, per RW and per kelurahan (see :func:`geo.coverage.coverage`).

All figures come from the voter counts per (location, DPT TPS) and the per-location nearest TPS of
:func:`geo.coverage.locate`, grouped with ``np.bincount`` (no Python loop over rows). Distances are
metres (EPSG:32748); a ``share_*`` is a fraction of the voters whose distance is known; a weighted
mean weighs each location by its voters.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage_areas import Areas, grouped_union, service_areas, to_lonlat, to_metres
from geo.crs import STORAGE_EPSG

TPS_COLUMNS = ["kode_tps", "kode_kel", "no_tps", "nama", "alamat", "rw", "rt", "dpt", "voters_dpt",
               "voters_nearest", "cap_use", "over_cap", "under_use", "voters_beyond", "share_beyond",
               "dist_dpt_mean_m", "dist_dpt_max_m", "location_source", "precision_m", "flags", "geocode_flags"]
TPS_FLAGS = ("over_capacity", "under_use", "location_kelurahan_level", "unplaced", "no_voters", "dpt_unknown",
             "voters_beyond_threshold")
RT_COLUMNS = ["kode", "kode_kel", "rw", "rt", "loc_level", "voters", "tps_dpt_count", "dist_dpt_mean_m",
              "dist_dpt_max_m", "voters_beyond_dpt", "share_beyond_dpt", "tps_nearest", "dist_nearest_m",
              "dist_nearest_any_m", "voters_beyond_nearest", "share_beyond_nearest", "coverage", "lon", "lat"]
RW_COLUMNS = ["kode", "kode_kel", "rw", "voters", "rt_count", "rt_gap", "rt_unknown", "tps_dpt_count",
              "dist_dpt_mean_m", "dist_dpt_max_m", "voters_beyond_dpt", "share_beyond_dpt", "dist_nearest_mean_m",
              "dist_nearest_min_m", "dist_nearest_max_m", "voters_beyond_nearest", "share_beyond_nearest",
              "coverage"]
KEL_COLUMNS = ["kode", "nama", "kode_kec", "voters", "voters_source", "tps", "tps_placed", "tps_unplaced",
               "tps_location_kelurahan", "tps_dpt_known", "tps_over_cap", "tps_under_use", "tps_needed",
               "load_ratio", "too_few_tps", "voters_beyond_dpt", "share_beyond_dpt", "voters_beyond_nearest",
               "share_beyond_nearest", "rt_gap", "rw_gap"]
WALK_RT_COLUMNS = ["dist_nearest_walk_m", "dist_dpt_walk_mean_m"]
WALK_RW_COLUMNS = ["dist_nearest_walk_mean_m", "dist_dpt_walk_mean_m"]
STATUSES = ("covered", "gap", "unknown", "no_tps", "unlocated")   # coverage of an RT (see geo.coverage)


@dataclasses.dataclass(frozen=True)
class Params:
    threshold_m: float
    cap: int
    min_use: float


# --- per TPS ---------------------------------------------------------------------------------------

def tps_table(tps: gpd.GeoDataFrame, located, areas: Areas, params: Params
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Per-TPS statistics (one row per TPS, by ``kode_tps``), catchments and service areas."""
    n = len(tps)
    out = pd.DataFrame({c: tps[c] for c in ("kode_tps", "kode_kel", "no_tps", "nama", "alamat", "rw", "rt", "dpt")})
    if located is not None:
        c = located.counts
        known = c["tps_row"].to_numpy() >= 0
        voters_dpt = _sum(c["tps_row"][known], c["voters"][known], n)
        near_row = _tps_rows(located.locations["tps_nearest"], tps)
        has = near_row >= 0
        out["voters_dpt"] = pd.array(voters_dpt, dtype="Int64")
        out["voters_nearest"] = pd.array(_sum(near_row[has], located.locations["voters"][has], n), dtype="Int64")
        stats = _distance_stats(c["tps_row"].to_numpy(), c["voters"].to_numpy(), c["dist_dpt_m"].to_numpy(),
                                n, params.threshold_m)
        out["voters_beyond"], out["share_beyond"] = pd.array(stats["beyond"], dtype="Int64"), stats["share"]
        out["dist_dpt_mean_m"], out["dist_dpt_max_m"] = stats["mean"], stats["max"]
    else:
        out["voters_dpt"] = tps["dpt"].astype("Int64")
        out["voters_nearest"] = pd.array([pd.NA] * n, dtype="Int64")
        out["voters_beyond"] = pd.array([pd.NA] * n, dtype="Int64")
        out["share_beyond"] = out["dist_dpt_mean_m"] = out["dist_dpt_max_m"] = np.nan
    load = out["voters_dpt"].astype("Float64")
    out["cap_use"] = (load / params.cap).round(3).astype("float64")
    out["over_cap"] = (load > params.cap).fillna(False).astype(bool)
    out["under_use"] = (load < params.min_use * params.cap).fillna(False).astype(bool)
    out["location_source"] = tps["location_source"].astype("string")
    out["precision_m"] = tps["precision_m"].astype("float64")
    placed = ~(tps.geometry.isna() | tps.geometry.is_empty).to_numpy()
    out["flags"] = _flags(out, placed, located is not None)
    out["geocode_flags"] = tps["flags"].astype("string")
    table = gpd.GeoDataFrame(out[TPS_COLUMNS], geometry=tps.geometry.to_numpy(), crs=STORAGE_EPSG)
    return table, _catchments(table, located, areas), _service_areas(table, areas)


def _flags(out: pd.DataFrame, placed: np.ndarray, with_voters: bool) -> pd.Series:
    checks = {"over_capacity": out["over_cap"].to_numpy(), "under_use": out["under_use"].to_numpy(),
              "location_kelurahan_level": (out["location_source"] == "kelurahan").fillna(False).to_numpy(),
              "unplaced": ~placed,
              "no_voters": (out["voters_dpt"] == 0).fillna(False).to_numpy() & with_voters,
              "dpt_unknown": out["voters_dpt"].isna().to_numpy() & (not with_voters),
              "voters_beyond_threshold": (out["voters_beyond"] > 0).fillna(False).to_numpy()}
    text = pd.Series("", index=out.index, dtype="string")
    for name in TPS_FLAGS:
        text = text.where(~checks[name], text + ";" + name)
    return text.str.lstrip(";").replace("", pd.NA)


def _tps_rows(codes: pd.Series, tps: gpd.GeoDataFrame) -> np.ndarray:
    return pd.Index(tps["kode_tps"]).get_indexer(codes.astype("string").fillna(""))


def _catchments(table: gpd.GeoDataFrame, located, areas: Areas) -> gpd.GeoDataFrame:
    """Union of the RT areas (RW area where the RT has no polygon) its DPT voters live in, per TPS."""
    if located is None:
        return _empty_geo({"kode_tps": "string", "kode_kel": "string", "voters_dpt": "Int64", "areas": "Int64"})
    c, locs = located.counts, located.locations
    pairs = c.loc[(c["tps_row"] >= 0) & (c["loc"] >= 0), ["tps_row", "loc"]].drop_duplicates()
    loc = locs.iloc[pairs["loc"].to_numpy()]
    rt_geom = areas.polygons("rt", loc["loc_key"])
    rw_geom = areas.polygons("rw", loc["loc_key"].str[:14])
    geom = np.where(pd.isna(rt_geom), rw_geom, rt_geom)
    geom[~loc["loc_level"].isin(["rt", "rw"]).to_numpy()] = None
    rows = pairs["tps_row"].to_numpy()
    merged = grouped_union(rows, geom, len(table))
    n_areas = np.bincount(rows[~pd.isna(geom)], minlength=len(table))
    keep = ~pd.isna(merged)
    frame = pd.DataFrame({"kode_tps": table["kode_tps"], "kode_kel": table["kode_kel"],
                          "voters_dpt": table["voters_dpt"], "areas": pd.array(n_areas, dtype="Int64")})[keep]
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=merged[keep], crs=STORAGE_EPSG)


def _service_areas(table: gpd.GeoDataFrame, areas: Areas) -> gpd.GeoDataFrame:
    """Voronoi cell of each placed TPS among its kelurahan's TPS, clipped to that kelurahan."""
    columns = {"kode_tps": "string", "kode_kel": "string", "voters_nearest": "Int64", "location_source": "string"}
    placed = ~(table.geometry.isna() | table.geometry.is_empty).to_numpy()
    if areas.kelurahan is None or not placed.any():
        return _empty_geo(columns)
    sub = table[placed]
    kel = pd.Index(areas.kelurahan["kode"]).get_indexer(sub["kode_kel"].fillna(""))
    metric = sub.geometry.to_crs(32748)
    cells = service_areas(metric.x.to_numpy(), metric.y.to_numpy(), kel,
                          to_metres(areas.kelurahan.geometry.to_numpy()))
    keep = ~pd.isna(cells)
    frame = sub.loc[keep, list(columns)].reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=to_lonlat(cells[keep]), crs=STORAGE_EPSG)


# --- per RT and RW ---------------------------------------------------------------------------------

def rt_rw_tables(located, areas: Areas, params: Params) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """One row per voter location (RT) and per RW with voters."""
    locs, c = located.locations, located.counts
    thr, n = params.threshold_m, len(locs)
    ok = c["loc"].to_numpy() >= 0
    loc, w = c["loc"].to_numpy()[ok], c["voters"].to_numpy()[ok]
    dpt = _distance_stats(loc, w, c["dist_dpt_m"].to_numpy()[ok], n, thr)
    rt = pd.DataFrame({"kode": locs["loc_key"], "kode_kel": locs["kode_kel"], "rw": locs["rw"], "rt": locs["rt"],
                       "loc_level": locs["loc_level"], "voters": locs["voters"],
                       "tps_dpt_count": _distinct(loc, c["tps_row"].to_numpy()[ok], n),
                       "dist_dpt_mean_m": dpt["mean"], "dist_dpt_max_m": dpt["max"],
                       "voters_beyond_dpt": dpt["beyond"], "share_beyond_dpt": dpt["share"],
                       "tps_nearest": locs["tps_nearest"], "dist_nearest_m": locs["dist_nearest_m"],
                       "dist_nearest_any_m": locs["dist_nearest_any_m"]})
    far = (rt["dist_nearest_m"] > thr).to_numpy()
    known = rt["dist_nearest_m"].notna().to_numpy()
    rt["voters_beyond_nearest"] = np.where(known, np.where(far, rt["voters"], 0), 0)
    rt["share_beyond_nearest"] = np.where(known & (rt["voters"] > 0), far.astype(float), np.nan)
    rt["coverage"] = locs["status"]
    rt["lon"], rt["lat"] = locs["lon"].round(6), locs["lat"].round(6)
    cols = list(RT_COLUMNS)
    if "dist_nearest_walk_m" in locs:
        walk = _distance_stats(loc, w, c["dist_dpt_walk_m"].to_numpy()[ok], n, thr)
        rt["dist_nearest_walk_m"], rt["dist_dpt_walk_mean_m"] = locs["dist_nearest_walk_m"], walk["mean"]
        cols += WALK_RT_COLUMNS
    geom = areas.polygons("rt", rt["kode"])
    rt_frame = gpd.GeoDataFrame(rt[cols], geometry=geom, crs=STORAGE_EPSG)
    return rt_frame, _rw_table(rt_frame, c[ok], loc, w, areas, thr)


def _rw_table(rt: gpd.GeoDataFrame, counts: pd.DataFrame, loc: np.ndarray, w: np.ndarray, areas: Areas,
              thr: float) -> gpd.GeoDataFrame:
    has_rw = rt["rw"].notna().to_numpy()
    key = rt["kode"].str[:14].where(has_rw)
    group, keys = pd.factorize(key, sort=True)
    n = len(keys)
    lg = group[loc]
    dpt = _distance_stats(lg, w, counts["dist_dpt_m"].to_numpy(), n, thr)
    near = _distance_stats(group, rt["voters"].to_numpy(), rt["dist_nearest_m"].to_numpy(), n, thr)
    status = rt["coverage"].to_numpy(dtype=object)
    count = {s: np.bincount(group[(group >= 0) & (status == s)], minlength=n) for s in
             ("covered", "gap", "unknown", "no_tps")}
    rw = pd.DataFrame({"kode": pd.array(keys, dtype="string"), "kode_kel": pd.array(keys.str[:10], dtype="string"),
                       "rw": pd.array(keys.str[11:].astype(int) if n else [], dtype="Int16"),
                       "voters": _sum(group[group >= 0], rt["voters"].to_numpy()[group >= 0], n),
                       "rt_count": np.bincount(group[group >= 0], minlength=n),
                       "rt_gap": count["gap"], "rt_unknown": count["unknown"],
                       "tps_dpt_count": _distinct(lg, counts["tps_row"].to_numpy(), n),
                       "dist_dpt_mean_m": dpt["mean"], "dist_dpt_max_m": dpt["max"],
                       "voters_beyond_dpt": dpt["beyond"], "share_beyond_dpt": dpt["share"],
                       "dist_nearest_mean_m": near["mean"], "dist_nearest_min_m": near["min"],
                       "dist_nearest_max_m": near["max"], "voters_beyond_nearest": near["beyond"],
                       "share_beyond_nearest": near["share"]})
    rw["coverage"] = pd.array(_rw_status(count), dtype="string")
    cols = list(RW_COLUMNS)
    if "dist_nearest_walk_m" in rt:                      # walking, voter-weighted
        walk = _distance_stats(group, rt["voters"].to_numpy(), rt["dist_nearest_walk_m"].to_numpy(), n, thr)
        walk_dpt = _distance_stats(lg, w, counts["dist_dpt_walk_m"].to_numpy(), n, thr)
        rw["dist_nearest_walk_mean_m"], rw["dist_dpt_walk_mean_m"] = walk["mean"], walk_dpt["mean"]
        cols += WALK_RW_COLUMNS
    geom = areas.polygons("rw", rw["kode"])
    missing = pd.isna(geom)
    if missing.any() and areas.rt is not None:          # no RW polygon: the union of its RT polygons
        rt_geom = rt.geometry.to_numpy()
        united = grouped_union(group, rt_geom, n)
        geom[missing] = united[missing]
    return gpd.GeoDataFrame(rw[cols], geometry=geom, crs=STORAGE_EPSG)


def _rw_status(count: dict[str, np.ndarray]) -> np.ndarray:
    located = count["covered"] + count["gap"] + count["unknown"]
    return np.select([(count["gap"] == located) & (located > 0), count["gap"] > 0, count["unknown"] > 0,
                      count["covered"] > 0, count["no_tps"] > 0],
                     ["gap", "partial", "unknown", "covered", "no_tps"], default="unlocated")


# --- per kelurahan ---------------------------------------------------------------------------------

def kelurahan_table(areas: Areas, tps: gpd.GeoDataFrame, rt: gpd.GeoDataFrame, rw: gpd.GeoDataFrame, located,
                    params: Params, *, stages: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """One row per kelurahan seen in the areas, the TPS or the voters: load against capacity."""
    codes = set(tps["kode_kel"].dropna())
    if areas.kelurahan is not None:
        codes |= set(areas.kelurahan["kode"])
    counts = located.counts if located is not None else None
    if counts is not None:
        codes |= set(counts["kode_kel"].dropna())
    kel = pd.DataFrame({"kode": pd.array(sorted(codes), dtype="string")})
    at = pd.Index(kel["kode"])
    layer = areas.kelurahan
    for col in ("nama", "kode_kec"):
        values = layer.set_index("kode")[col].reindex(at).to_numpy() if layer is not None else [pd.NA] * len(kel)
        kel[col] = pd.array(values, dtype="string")
    kel["kode_kec"] = kel["kode_kec"].fillna(kel["kode"].str[:6])
    by_tps = tps.groupby("kode_kel")
    kel["tps"] = by_tps.size().reindex(at, fill_value=0).to_numpy()
    placed = ~(tps.geometry.isna() | tps.geometry.is_empty)
    kel["tps_placed"] = placed.groupby(tps["kode_kel"]).sum().reindex(at, fill_value=0).to_numpy()
    kel["tps_unplaced"] = kel["tps"] - kel["tps_placed"]
    for col, flag in (("tps_location_kelurahan", tps["location_source"] == "kelurahan"),
                      ("tps_dpt_known", tps["voters_dpt"].notna()), ("tps_over_cap", tps["over_cap"]),
                      ("tps_under_use", tps["under_use"])):
        kel[col] = flag.fillna(False).astype(int).groupby(tps["kode_kel"]).sum().reindex(at, fill_value=0).to_numpy()
    _voters(kel, tps, counts, stages)
    needed = np.ceil(kel["voters"].astype("Float64") / params.cap)
    kel["tps_needed"] = needed.astype("Int64")
    capacity = (kel["tps"] * params.cap).where(kel["tps"] > 0)          # no TPS: no ratio (not infinity)
    kel["load_ratio"] = (kel["voters"].astype("Float64") / capacity).round(3).astype("float64")
    kel["too_few_tps"] = (kel["tps_needed"] > kel["tps"]).fillna(False).astype(bool)
    _beyond(kel, located, params.threshold_m)
    for level, frame in (("rt", rt), ("rw", rw)):
        gap = (frame["coverage"] == "gap") if len(frame) else pd.Series(dtype=bool)
        kel[f"{level}_gap"] = gap.groupby(frame["kode_kel"]).sum().reindex(at, fill_value=0).to_numpy(np.int64)
    geom = areas.polygons("kelurahan", kel["kode"])
    return gpd.GeoDataFrame(kel[KEL_COLUMNS], geometry=geom, crs=STORAGE_EPSG)


def _voters(kel: pd.DataFrame, tps: gpd.GeoDataFrame, counts, stages) -> None:
    """Voters per kelurahan: the voter list; else the TPS DPT counts when all are known, else the
    DPT stage count when given, else the known TPS counts (a lower bound)."""
    at = pd.Index(kel["kode"])
    if counts is not None:
        kel["voters"] = pd.array(counts.groupby("kode_kel")["voters"].sum().reindex(at, fill_value=0).to_numpy(),
                                 dtype="Int64")
        kel["voters_source"] = pd.array(["dpt_list"] * len(kel), dtype="string")
        return
    known = tps.groupby("kode_kel")["voters_dpt"].sum().reindex(at, fill_value=0).astype("Int64")
    complete = (kel["tps_dpt_known"] == kel["tps"]).to_numpy() & (kel["tps"] > 0).to_numpy()
    stage = _stage_dpt(stages, at)
    voters = np.where(complete, known.to_numpy(dtype=float, na_value=np.nan), stage)
    source = np.where(complete, "tps_dpt", np.where(np.isnan(stage), "tps_dpt_partial", "stage_dpt"))
    voters = np.where(np.isnan(voters), known.to_numpy(dtype=float, na_value=np.nan), voters)
    kel["voters"] = pd.array(pd.Series(voters).round().astype("Int64"), dtype="Int64")
    kel["voters_source"] = pd.array(np.where(kel["tps"] > 0, source, "none"), dtype="string")


def _stage_dpt(stages: pd.DataFrame | None, at: pd.Index) -> np.ndarray:
    if stages is None or "dpt" not in stages or "kode_kel" not in stages or "rw" in stages:
        return np.full(len(at), np.nan)
    per = pd.to_numeric(stages["dpt"], errors="coerce").groupby(stages["kode_kel"].astype("string")).sum(min_count=1)
    return per.reindex(at).to_numpy(dtype=float)


def _beyond(kel: pd.DataFrame, located, thr: float) -> None:
    """Voters beyond the threshold (from the DPT's TPS, from the nearest) and their share, per kelurahan."""
    n = len(kel)
    for name in ("dpt", "nearest"):
        if located is None:
            kel[f"voters_beyond_{name}"] = pd.array([pd.NA] * n, dtype="Int64")
            kel[f"share_beyond_{name}"] = np.nan
            continue
        frame = located.counts if name == "dpt" else located.locations
        group = pd.Index(kel["kode"]).get_indexer(frame["kode_kel"].astype("string").fillna(""))
        stats = _distance_stats(group, frame["voters"].to_numpy(), frame[f"dist_{name}_m"].to_numpy(), n, thr)
        kel[f"voters_beyond_{name}"] = pd.array(stats["beyond"], dtype="Int64")
        kel[f"share_beyond_{name}"] = stats["share"]


# --- figures ----------------------------------------------------------------------------------------

def describe(result, located) -> None:
    """Figures of the result, and notes on what could not be computed."""
    r, tps, gaps = result.report, result.tps, result.gaps
    flags = tps["flags"].fillna("")
    r.figures.update({
        "threshold_m": result.threshold_m, "max_per_tps": result.max_per_tps, "kode": result.kode or None,
        "tps": len(tps), "tps_placed": int((~flags.str.contains("unplaced")).sum()),
        "tps_location_kelurahan": int(flags.str.contains("location_kelurahan_level").sum()),
        "tps_over_cap": int(tps["over_cap"].sum()), "tps_under_use": int(tps["under_use"].sum()),
        "kelurahan": len(result.kelurahan), "kelurahan_too_few_tps": int(result.kelurahan["too_few_tps"].sum()),
        "gaps_by_reason": {k: int(v) for k, v in gaps["reason"].value_counts().sort_index().items()},
        "gaps_by_severity": {k: int(v) for k, v in gaps["severity"].value_counts().sort_index().items()},
    })
    if located is None:
        r.figures["voters_source"] = "tps.dpt"
        r.note("no voter list: per-TPS load from tps.dpt; voters_nearest, distances, RT/RW tables, RT/RW "
               "gaps and catchments not computed")
        unknown = int(tps["voters_dpt"].isna().sum())
        if unknown:
            r.note(f"{unknown:,} of {len(tps):,} TPS have no DPT count: their load is unknown "
                   "(kelurahan totals use the DPT stage when given, else the known counts as a lower bound)")
        return
    status = located.locations["status"]
    per_status = located.locations.groupby(status)["voters"].sum()
    r.figures["voters_source"] = "voter list"
    r.figures["locations"] = len(located.locations)
    r.figures["voters_by_coverage"] = {s: int(per_status.get(s, 0)) for s in STATUSES}
    r.figures["voters_unknown_tps"] = int(located.counts.loc[located.counts["tps_row"] < 0, "voters"].sum())
    if per_status.get("unlocated", 0):
        r.note(f"{int(per_status['unlocated']):,} voters have no location (no RT/RW known, or no polygon for "
               "their area): they count in the loads, not in any distance")
    if per_status.get("unknown", 0):
        r.note("some RT coverage is unknown: the only TPS that could be within reach are placed at kelurahan "
               "level (see tps_location_unreliable gaps)")


# --- grouped arithmetic ----------------------------------------------------------------------------

def _sum(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    group = np.asarray(group, dtype=np.int64)
    ok = group >= 0
    return np.bincount(group[ok], weights=np.asarray(values, dtype=np.float64)[ok], minlength=n).round().astype(
        np.int64)


def _distinct(group: np.ndarray, item: np.ndarray, n: int) -> np.ndarray:
    """Distinct non-negative ``item`` values per group."""
    ok = (group >= 0) & (item >= 0)
    pairs = np.unique(np.column_stack([group[ok], item[ok]]), axis=0) if ok.any() else np.zeros((0, 2), np.int64)
    return np.bincount(pairs[:, 0], minlength=n)


def _distance_stats(group: np.ndarray, weight: np.ndarray, dist: np.ndarray, n: int, thr: float) -> dict:
    """Per group: voter-weighted mean, min and max distance (metres, 0.1 m), voters beyond ``thr`` and
    their share among voters with a known distance (NaN where none)."""
    group = np.asarray(group, dtype=np.int64)
    ok = (group >= 0) & np.isfinite(dist) & (weight > 0)
    g, w, d = group[ok], np.asarray(weight, dtype=np.float64)[ok], dist[ok]
    total = np.bincount(g, weights=w, minlength=n)
    beyond = np.bincount(g, weights=w * (d > thr), minlength=n)
    mx, mn = np.full(n, -np.inf), np.full(n, np.inf)
    np.maximum.at(mx, g, d)
    np.minimum.at(mn, g, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=w * d, minlength=n) / total
        share = beyond / total
    has = total > 0
    return {"mean": np.where(has, np.round(mean, 1), np.nan), "max": np.where(has, np.round(mx, 1), np.nan),
            "min": np.where(has, np.round(mn, 1), np.nan), "beyond": np.round(beyond).astype(np.int64),
            "share": np.where(has, np.round(share, 4), np.nan), "known": total}


def _empty_geo(columns: dict[str, str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=STORAGE_EPSG), crs=STORAGE_EPSG)


def _dtype(column: str) -> str:
    if column in ("kode", "kode_kel", "loc_level", "tps_nearest", "coverage"):
        return "string"
    if column in ("rw", "rt"):
        return "Int16"
    return "int64" if column.startswith(("voters", "rt_", "tps_")) else "float64"


def empty_rt() -> gpd.GeoDataFrame:
    """The RT table without rows (no voter list)."""
    return _empty_geo({c: _dtype(c) for c in RT_COLUMNS})


def empty_rw() -> gpd.GeoDataFrame:
    """The RW table without rows (no voter list)."""
    return _empty_geo({c: _dtype(c) for c in RW_COLUMNS})


__all__ = [
    "KEL_COLUMNS",
    "RT_COLUMNS",
    "RW_COLUMNS",
    "TPS_COLUMNS",
    "TPS_FLAGS",
    "Params",
    "kelurahan_table",
    "rt_rw_tables",
    "tps_table",
]
