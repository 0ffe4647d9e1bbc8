"""Coverage gaps, each with a reason and a severity, and stage tracking (population → DPS → DPT).

Reasons (``level`` in brackets) and how severe each is:

``rw_no_tps_nearby`` (rw), ``rt_no_tps_nearby`` (rt)
    The voters of the area have, for certain, no TPS of their kelurahan within the threshold (an RW
    when all its RTs with voters are such; otherwise its RTs one by one). *low* when a TPS of another
    kelurahan is within the threshold of all of them (a border question rather than a missing TPS);
    else *high* when the nearest TPS is at least twice the threshold away or the area has at least a
    TPS's worth of voters (the cap), else *medium*.
``kelurahan_without_tps`` (kelurahan)
    Voters but no TPS at all: *high*.
``too_few_tps`` (kelurahan)
    Voters ÷ cap exceeds the number of TPS: *high* when two or more TPS are missing or the load is at
    least 120 % of the capacity, else *medium*.
``overloaded_tps`` (tps)
    More voters than the cap: *high* from 120 % of the cap, else *medium*.
``tps_location_unreliable`` (tps)
    Placed at kelurahan level only, so distances to it are unknown: *medium* when this leaves the
    coverage of some RT of its kelurahan unknown, else *low*.
``tps_unplaced`` (tps)
    Not located at all: *medium* when voters are assigned to it, else *low*.

Gaps are ordered worst first: severity, then voters (descending), then the area key. The text in
``detail`` never holds a voter count (public outputs suppress small counts column by column).
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage_areas import scope_mask
from geo.crs import STORAGE_EPSG
from geo.errors import InputError, MissingColumnError

GAP_COLUMNS = ["kode", "level", "reason", "severity", "kode_kel", "rw", "rt", "kode_tps", "voters",
               "dist_nearest_m", "tps", "tps_needed", "detail"]
REASONS = {
    "rw_no_tps_nearby": ("RW tanpa TPS dalam jangkauan", "RW with no TPS within reach"),
    "rt_no_tps_nearby": ("RT tanpa TPS dalam jangkauan", "RT with no TPS within reach"),
    "kelurahan_without_tps": ("Kelurahan tanpa TPS", "Kelurahan without a TPS"),
    "too_few_tps": ("Kelurahan dengan TPS terlalu sedikit", "Kelurahan with too few TPS"),
    "overloaded_tps": ("TPS melebihi batas pemilih", "TPS over the voters-per-TPS cap"),
    "tps_location_unreliable": ("Lokasi TPS hanya setingkat kelurahan", "TPS placed at kelurahan level only"),
    "tps_unplaced": ("TPS belum berlokasi", "TPS without a location"),
}
SEVERITIES = ("high", "medium", "low")
STAGES = ("population", "dps", "dpt")


def find_gaps(tps: gpd.GeoDataFrame, rt: gpd.GeoDataFrame, rw: gpd.GeoDataFrame, kel: gpd.GeoDataFrame, params,
              service: gpd.GeoDataFrame, *, with_voters: bool = True) -> gpd.GeoDataFrame:
    """Every gap of the coverage tables, worst first (see the module docstring for the rules)."""
    located = _tps_gaps(tps, rt, params, service, with_voters)
    if not with_voters:
        located = _per_kelurahan(located, kel)
    parts = [_area_gaps(rw, rt, params), _kelurahan_gaps(kel, params), located]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame(_typed(pd.DataFrame(columns=GAP_COLUMNS)), geometry=gpd.GeoSeries([], crs=STORAGE_EPSG),
                                crs=STORAGE_EPSG)
    gaps = pd.concat(parts, ignore_index=True)
    rank = gaps["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.lexsort((gaps["kode"].to_numpy(dtype=str), -gaps["voters"].fillna(-1).to_numpy(dtype=float),
                        rank.to_numpy()))
    gaps = gaps.iloc[order].reset_index(drop=True)
    geom = gaps.pop("geometry").to_numpy()
    return gpd.GeoDataFrame(_typed(gaps), geometry=geom, crs=STORAGE_EPSG)


def _area_gaps(rw: gpd.GeoDataFrame, rt: gpd.GeoDataFrame, params) -> pd.DataFrame:
    thr, cap = params.threshold_m, params.cap
    rws = rw[rw["coverage"] == "gap"]
    rts = rt[(rt["coverage"] == "gap") & ~rt["kode"].str[:14].isin(rws["kode"])]
    located = rt[rt["coverage"].isin(["gap", "covered", "unknown"])]
    across = located.groupby(located["kode"].str[:14])["dist_nearest_any_m"].max()   # worst RT of each RW
    frames = []
    for level, frame, dist in (("rw", rws, "dist_nearest_min_m"), ("rt", rts, "dist_nearest_m")):
        if not len(frame):
            continue
        d = frame[dist].to_numpy(dtype=float)
        other = (across.reindex(frame["kode"]) if level == "rw" else frame["dist_nearest_any_m"]).to_numpy(float)
        severe = (d >= 2 * thr) | (frame["voters"].to_numpy() >= cap)
        severity = np.where(other <= thr, "low", np.where(severe, "high", "medium"))
        out = pd.DataFrame({"kode": frame["kode"], "level": level, "reason": f"{level}_no_tps_nearby",
                            "severity": severity, "kode_kel": frame["kode_kel"],
                            "rw": frame["rw"], "rt": frame["rt"] if level == "rt" else pd.NA,
                            "voters": frame["voters"], "dist_nearest_m": d,
                            "detail": _nearest_text(frame, d, other, thr, level),
                            "geometry": frame.geometry.to_numpy()})
        frames.append(out)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _nearest_text(frame: pd.DataFrame, d: np.ndarray, other: np.ndarray, thr: float, level: str) -> list[str]:
    near = frame["tps_nearest"] if "tps_nearest" in frame else pd.Series(pd.NA, index=frame.index)
    what = "every RT with voters" if level == "rw" else "the RT"
    across = " (a TPS of another kelurahan is within reach)"
    return [f"{what} beyond {thr:.0f} m; nearest TPS of the kelurahan at {x:.0f} m"
            + (f" ({t})" if isinstance(t, str) else "") + (across if o <= thr else "")
            for x, t, o in zip(d, near, other)]


def _kelurahan_gaps(kel: gpd.GeoDataFrame, params) -> pd.DataFrame:
    none = (kel["tps"] == 0) & (kel["voters"] > 0).fillna(False)
    few = kel["too_few_tps"] & ~none
    short = (kel["tps_needed"] - kel["tps"]).astype("Float64")
    severe = (short >= 2).fillna(False) | (kel["load_ratio"] >= 1.2).fillna(False)
    frames = []
    for mask, reason, severity in ((none, "kelurahan_without_tps", np.full(len(kel), "high")),
                                   (few, "too_few_tps", np.where(severe, "high", "medium"))):
        sub = kel[mask.to_numpy()]
        if not len(sub):
            continue
        text = [f"needs {n} TPS at {params.cap} voters each, has {t}"
                + ("" if s == "dpt_list" or s == "tps_dpt" else f" (voters from {s})")
                for n, t, s in zip(sub["tps_needed"], sub["tps"], sub["voters_source"])]
        frames.append(pd.DataFrame({"kode": sub["kode"], "level": "kelurahan", "reason": reason,
                                    "severity": severity[mask.to_numpy()], "kode_kel": sub["kode"],
                                    "voters": sub["voters"], "tps": sub["tps"], "tps_needed": sub["tps_needed"],
                                    "detail": text, "geometry": sub.geometry.to_numpy()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _tps_gaps(tps: gpd.GeoDataFrame, rt: gpd.GeoDataFrame, params, service: gpd.GeoDataFrame,
              with_list: bool) -> pd.DataFrame:
    cap = params.cap
    flags = tps["flags"].fillna("")
    unknown_kel = set(rt.loc[rt["coverage"] == "unknown", "kode_kel"]) if len(rt) else set()
    has_voters = (tps["voters_dpt"] > 0).fillna(False).to_numpy()
    kinds = [
        ("overloaded_tps", tps["over_cap"].to_numpy(),
         np.where((tps["voters_dpt"] >= 1.2 * cap).fillna(False), "high", "medium"),
         [f"{u:.0%} of the cap of {cap}" for u in tps["cap_use"]]),
        ("tps_location_unreliable", flags.str.contains("location_kelurahan_level").to_numpy(),
         np.where(tps["kode_kel"].isin(unknown_kel), "medium", "low"),
         [f"placed at kelurahan level (± {p:.0f} m): distances to it are unknown" for p in tps["precision_m"]]),
        ("tps_unplaced", flags.str.contains("unplaced").to_numpy(),
         np.where(has_voters & with_list, "medium", "low"), ["no location: not in any distance"] * len(tps)),
    ]
    cells = service.set_index("kode_tps").geometry if len(service) else pd.Series(dtype=object)
    frames = []
    for reason, mask, severity, text in kinds:
        sub = tps[mask]
        if not len(sub):
            continue
        frames.append(pd.DataFrame({"kode": sub["kode_tps"], "level": "tps", "reason": reason,
                                    "severity": severity[mask], "kode_kel": sub["kode_kel"], "rw": sub["rw"],
                                    "rt": sub["rt"], "kode_tps": sub["kode_tps"], "voters": sub["voters_dpt"],
                                    "detail": np.asarray(text, dtype=object)[mask],
                                    "geometry": cells.reindex(sub["kode_tps"]).to_numpy()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _per_kelurahan(gaps: pd.DataFrame, kel: gpd.GeoDataFrame) -> pd.DataFrame:
    """Without a voter list no distance depends on a TPS position: location gaps are summed per
    kelurahan (one row per kelurahan and reason, ``tps`` = how many TPS), overloaded TPS stay."""
    if not len(gaps):
        return gaps
    where = gaps["reason"].isin(["tps_location_unreliable", "tps_unplaced"])
    keep, sub = gaps[~where], gaps[where]
    if not len(sub):
        return keep
    grouped = sub.groupby(["kode_kel", "reason"], sort=True).agg(
        tps=("kode", "size"), voters=("voters", lambda v: v.sum(min_count=1))).reset_index()
    polygons = kel.set_index("kode").geometry
    text = {"tps_location_unreliable": "TPS placed at kelurahan level only",
            "tps_unplaced": "TPS without a location"}
    rows = pd.DataFrame({"kode": grouped["kode_kel"], "level": "kelurahan", "reason": grouped["reason"],
                         "severity": "low", "kode_kel": grouped["kode_kel"], "tps": grouped["tps"],
                         "voters": grouped["voters"],
                         "detail": [f"{n} {text[r]} (DPT voters counted where known)"
                                    for n, r in zip(grouped["tps"], grouped["reason"])],
                         "geometry": polygons.reindex(grouped["kode_kel"]).to_numpy()})
    return pd.concat([keep, rows], ignore_index=True)


def _typed(gaps: pd.DataFrame) -> pd.DataFrame:
    types = {"kode": "string", "level": "string", "reason": "string", "severity": "string", "kode_kel": "string",
             "rw": "Int16", "rt": "Int16", "kode_tps": "string", "voters": "Int64", "dist_nearest_m": "float64",
             "tps": "Int64", "tps_needed": "Int64", "detail": "string"}
    out = pd.DataFrame(index=gaps.index)
    for col, dtype in types.items():
        values = gaps[col] if col in gaps else pd.Series(None, index=gaps.index, dtype=object)
        out[col] = pd.to_numeric(values, errors="coerce") if dtype == "float64" else values.astype(dtype)
    return out


# --- stages ----------------------------------------------------------------------------------------

def stage_table(stages: pd.DataFrame | None, kel: pd.DataFrame, rw: pd.DataFrame, tps: pd.DataFrame,
                prefix: str = "", *, with_voters: bool = True) -> pd.DataFrame:
    """Counts per stage and the change between consecutive stages, per kelurahan or per RW.

    Parameters
    ----------
    stages : DataFrame or None
        ``kode_kel`` (or ``kode``), optionally ``rw``, and any of :data:`STAGES` (counts).
    kel, rw, tps : DataFrame
        The coverage tables. The last stage, ``loaded``, is what was analysed: the voter list's count
        per kelurahan or RW, or without a voter list the sum of the known TPS DPT counts (kelurahan only).

    Returns
    -------
    DataFrame
        ``level``, ``kode_kel``, ``rw``, the stage counts, ``loaded``, and for consecutive stages a and b
        ``change_<a>_<b>`` (b − a) and ``pct_<a>_<b>`` (percent of a, 0.1 %). Empty without stages.
    """
    if stages is None:
        return pd.DataFrame(columns=["level", "kode_kel", "rw", *STAGES, "loaded"])
    frame = stages.rename(columns={"kode": "kode_kel"}) if "kode_kel" not in stages else stages
    if "kode_kel" not in frame:
        raise MissingColumnError("stages need a kode_kel column (kelurahan code)", file="stages", field="kode_kel")
    present = [s for s in STAGES if s in frame]
    if not present:
        raise InputError(f"stages need at least one of {', '.join(STAGES)}", file="stages",
                         value=", ".join(map(str, frame.columns)))
    keys = ["kode_kel", "rw"] if "rw" in frame else ["kode_kel"]
    table = pd.DataFrame({"kode_kel": frame["kode_kel"].astype("string")})
    if "rw" in frame:
        table["rw"] = pd.to_numeric(frame["rw"], errors="coerce").astype("Int16")
    for s in present:
        table[s] = pd.to_numeric(frame[s], errors="coerce").astype("Int64")
    table = table[scope_mask(table["kode_kel"], prefix)]
    table = table.groupby(keys, sort=True).sum(min_count=1).reset_index()
    if with_voters:
        source = rw if "rw" in frame else kel.rename(columns={"kode": "kode_kel"})
        loaded = source.set_index(keys)["voters"] if len(source) else pd.Series(dtype="Int64")
    elif "rw" in frame:
        loaded = pd.Series(dtype="Int64")
    else:
        loaded = tps.groupby("kode_kel")["voters_dpt"].sum(min_count=1)
    table["loaded"] = pd.array(loaded.reindex(pd.MultiIndex.from_frame(table[keys]) if len(keys) > 1
                                              else table["kode_kel"]).to_numpy(), dtype="Int64")
    order = [*present, "loaded"]
    for a, b in itertools.pairwise(order):
        table[f"change_{a}_{b}"] = table[b] - table[a]
        table[f"pct_{a}_{b}"] = (100 * table[f"change_{a}_{b}"].astype("Float64") / table[a]).round(1).astype("float64")
    table.insert(0, "level", "rw" if "rw" in frame else "kelurahan")
    if "rw" not in table:
        table.insert(2, "rw", pd.array([pd.NA] * len(table), dtype="Int16"))
    return table


__all__ = ["GAP_COLUMNS", "REASONS", "SEVERITIES", "STAGES", "find_gaps", "stage_table"]
