"""Where to add TPS, and which TPS could be merged, from the coverage analysis.

**Distance gaps** (RT/RW with no TPS within the threshold): per kelurahan, the *location set covering
problem* (Toregas et al. 1971): the fewest new sites such that every gap voter location has one within
the threshold, solved exactly as a 0/1 programme by HiGHS (``scipy.optimize.milp``) with a time limit.
If HiGHS stops early, its best solution is kept and ``optimal`` is False with the proven lower bound in
``method``; if it finds none, the greedy set cover is used, whose size is at most H(k) = 1 + 1/2 + … +
1/k times the optimum (k: most gap locations one site covers). Candidate sites are the points given
(schools, halls, kantor lurah) and the representative points of the kelurahan's RTs (RWs without RT
polygons); a given site costs 1, an RT point 1.001, so real buildings win ties. The chosen sites are
listed in the order a maximal-covering greedy would add them, with the voters each newly covers.

**Too few TPS** (voters ÷ cap above the number of TPS): the missing TPS are placed by the p-median
model (least total voter distance with the existing TPS open) by greedy addition, which is exact for
one site; ``voters_served`` are the voters for whom the new site becomes the nearest TPS.

**Merges**: two TPS of one kelurahan whose voters together stay within the cap, where the kept one is
reliably placed and every voter of the merged one is within the threshold of it (checked on their
locations). Each TPS that could be merged is listed once, with its best partner; ``disjoint`` marks a
set of merges that can all be done together (greedy, fewest voters moved first).

Every coordinate here is metres in EPSG:32748; outputs carry EPSG:4326 geometries.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from geo.coverage_areas import to_lonlat
from geo.crs import METRIC_EPSG, STORAGE_EPSG, to_storage
from geo.report import Report

log = logging.getLogger(__name__)

SUGGESTION_COLUMNS = ["kode_kel", "rank", "reason", "site", "nama", "source", "voters_newly_covered",
                      "voters_covered_cumulative", "voters_served", "tps_needed", "gaps", "method", "optimal",
                      "lon", "lat"]
MERGE_COLUMNS = ["kode_kel", "kode_tps_keep", "kode_tps_merge", "voters_keep", "voters_merge", "voters_after",
                 "dist_between_m", "max_dist_after_m", "disjoint"]
RT_POINT_COST = 1.001
TIME_LIMIT_S = 10.0


def suggest(gaps: gpd.GeoDataFrame, located, tps: gpd.GeoDataFrame, areas, candidates: gpd.GeoDataFrame | None,
            params, report: Report) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Siting suggestions for the gaps and merge candidates (see the module docstring).

    Without voter locations (``located`` None) nothing can be placed: the report says so.
    """
    if located is None:
        report.note("siting and merges not computed: no voter list, so no voter locations "
                    "(loads come from the TPS DPT counts only)")
        return _frame([], SUGGESTION_COLUMNS, "Point"), _frame([], MERGE_COLUMNS, "LineString")
    sites = Sites(areas, located, candidates)
    rows = _cover_rows(gaps, located, sites, params) + _capacity_rows(gaps, located, sites, params)
    suggestions = _frame(rows, SUGGESTION_COLUMNS, "Point")
    merges = merge_candidates(located, tps, params.threshold_m, params.cap)
    report.figures["siting"] = {"new_sites": len(suggestions), "merge_pairs": len(merges),
                                "candidates_given": sites.given, "all_optimal": bool(suggestions["optimal"].all())
                                if len(suggestions) else True}
    return suggestions, merges


class Sites:
    """Candidate sites per kelurahan: given points (``nama``, optional ``kode_kel``, else the kelurahan
    holding them; polygons become a point inside), then RT (else RW) representative points."""

    def __init__(self, areas, located, candidates: gpd.GeoDataFrame | None):
        parts = [self._given(candidates, areas)]
        self.given = len(parts[0])
        for level in ("rt", "rw"):
            layer = getattr(areas, level)
            if layer is not None and len(layer):
                pts = shapely.point_on_surface(layer.geometry.to_numpy())
                parts.append(self._points(layer["kode_kel"], layer["kode"], layer["kode"], pts, f"{level}_point"))
                break
        locs = located.locations[located.locations["loc_level"].isin(["rt", "rw"])]
        parts.append(pd.DataFrame({"kode_kel": locs["kode_kel"], "site": locs["loc_key"], "nama": locs["loc_key"],
                                   "source": "rt_point", "x": locs["x"], "y": locs["y"],
                                   "cost": RT_POINT_COST}))
        table = pd.concat(parts, ignore_index=True).drop_duplicates(["kode_kel", "site"])
        self.table = table.sort_values(["kode_kel", "cost", "site"], kind="stable").reset_index(drop=True)

    @staticmethod
    def _points(kode_kel, site, nama, points, source) -> pd.DataFrame:
        metric = gpd.GeoSeries(points, crs=STORAGE_EPSG).to_crs(METRIC_EPSG)
        return pd.DataFrame({"kode_kel": pd.Series(kode_kel, dtype="string").to_numpy(),
                             "site": pd.Series(site, dtype="string").to_numpy(),
                             "nama": pd.Series(nama, dtype="string").to_numpy(), "source": source,
                             "x": metric.x.to_numpy(), "y": metric.y.to_numpy(),
                             "cost": 1.0 if source == "candidate" else RT_POINT_COST})

    def _given(self, candidates: gpd.GeoDataFrame | None, areas) -> pd.DataFrame:
        if candidates is None or not len(candidates) or areas.kelurahan is None:
            return pd.DataFrame(columns=["kode_kel", "site", "nama", "source", "x", "y", "cost"])
        pts = to_storage(candidates, source="candidates")
        geom = pts.geometry.to_numpy()
        geom = np.where(shapely.get_type_id(geom) == 0, geom, shapely.point_on_surface(geom))  # a building: inside it
        kel = areas.kelurahan
        inside = shapely.STRtree(kel.geometry.to_numpy()).query(geom, predicate="within")
        found = pd.Series(kel["kode"].to_numpy()[inside[1]], index=inside[0])
        found = found[~found.index.duplicated()].reindex(range(len(pts))).astype("string")
        declared = pts["kode_kel"] if "kode_kel" in pts else pd.Series(pd.NA, index=pts.index)
        code = pd.Series(declared.astype("string").to_numpy(), dtype="string").fillna(found)
        name = pd.Series(pts["nama"].astype("string").to_numpy() if "nama" in pts else [pd.NA] * len(pts),
                         dtype="string")
        site = "site-" + pd.Series(np.arange(1, len(pts) + 1)).astype("string").str.zfill(4)
        keep = code.isin(kel["kode"]).to_numpy()
        return self._points(code[keep], site[keep], name.fillna(site)[keep], geom[keep], "candidate")

    def of(self, kode_kel: str) -> pd.DataFrame:
        return self.table[self.table["kode_kel"] == kode_kel]


# --- distance gaps: location set covering ----------------------------------------------------------

def _cover_rows(gaps, located, sites: Sites, params) -> list[dict]:
    locs = located.locations
    demand = locs[(locs["status"] == "gap") & (locs["voters"] > 0)]
    if not len(demand):
        return []
    gap_of = _gap_keys(gaps, demand)
    rows = []
    for kode_kel, d in demand.groupby("kode_kel", sort=True):
        s = sites.of(kode_kel)
        dist = _distances(d[["x", "y"]].to_numpy(np.float64), s[["x", "y"]].to_numpy(np.float64))
        chosen, optimal, method = set_cover(dist <= params.threshold_m, s["cost"].to_numpy())
        rows += _ordered(kode_kel, d, s, dist, chosen, optimal, method, gap_of, params)
    return rows


def set_cover(covers: np.ndarray, cost: np.ndarray, time_limit_s: float = TIME_LIMIT_S
              ) -> tuple[np.ndarray, bool, str]:
    """Cheapest set of columns of ``covers`` (demand × sites, bool) covering every coverable row.

    Returns the chosen site indices (sorted), whether optimality is proven, and the method text.
    """
    rows = covers[covers.any(axis=1)]
    if not len(rows):
        return np.zeros(0, np.int64), True, "nothing to cover"
    useful = np.flatnonzero(rows.any(axis=0))
    a = rows[:, useful].astype(np.float64)
    res = milp(cost[useful], constraints=LinearConstraint(a, lb=1, ub=np.inf), integrality=np.ones(len(useful)),
               bounds=Bounds(0, 1), options={"time_limit": time_limit_s})
    if res.x is not None:
        chosen = useful[np.flatnonzero(res.x > 0.5)]
        if res.status == 0:
            return chosen, True, "set cover, exact (HiGHS MILP)"
        bound = getattr(res, "mip_dual_bound", float("nan"))
        return chosen, False, f"set cover, HiGHS stopped at {time_limit_s:g} s; lower bound {bound:.2f} sites"
    chosen = _greedy_cover(rows, cost)
    k = int(rows.sum(axis=0).max())
    return chosen, False, f"set cover, greedy: at most {sum(1 / i for i in range(1, k + 1)):.2f} × optimal"


def _greedy_cover(rows: np.ndarray, cost: np.ndarray) -> np.ndarray:
    left, chosen = np.ones(len(rows), dtype=bool), []
    while left.any():
        gain = rows[left].sum(axis=0) / cost
        best = int(np.argmax(gain))
        chosen.append(best)
        left &= ~rows[:, best]
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _ordered(kode_kel, d, s, dist, chosen, optimal, method, gap_of, params) -> list[dict]:
    """The chosen sites in maximal-covering greedy order, with voters newly covered and served."""
    w = d["voters"].to_numpy(np.float64)
    cover = dist[:, chosen] <= params.threshold_m
    left, order = np.ones(len(d), dtype=bool), []
    todo = list(range(len(chosen)))
    while todo:
        gains = [w[left & cover[:, j]].sum() for j in todo]
        j = todo.pop(int(np.argmax(gains)))
        order.append(j)
        left &= ~cover[:, j]
    nearest = np.where(cover, dist[:, chosen], np.inf).argmin(axis=1) if len(chosen) else np.zeros(0, int)
    served_by = np.where(cover.any(axis=1), nearest, -1)
    rows, covered, done = [], 0.0, np.zeros(len(d), dtype=bool)
    for rank, j in enumerate(order, start=1):
        new = cover[:, j] & ~done
        done |= cover[:, j]
        covered += w[new].sum()
        served = served_by == j
        site = s.iloc[chosen[j]]
        rows.append(_row(kode_kel, rank, "no_tps_nearby", site, new_voters=int(w[new].sum()),
                         cumulative=int(covered), served=int(w[served].sum()), cap=params.cap,
                         gaps=";".join(sorted(set(gap_of[d["loc_key"].to_numpy()[served]]))),
                         method=method, optimal=optimal))
    return rows


def _gap_keys(gaps: gpd.GeoDataFrame, demand: pd.DataFrame) -> pd.Series:
    """The gap (RW key when its RW is a gap, else the RT key) of each demand location key."""
    rw_gaps = set(gaps.loc[gaps["level"] == "rw", "kode"])
    rw = demand["loc_key"].str[:14]
    return pd.Series(np.where(rw.isin(rw_gaps), rw, demand["loc_key"]), index=demand["loc_key"].to_numpy())


# --- too few TPS: p-median by greedy addition ------------------------------------------------------

def _capacity_rows(gaps, located, sites: Sites, params) -> list[dict]:
    want = gaps[gaps["reason"].isin(["too_few_tps", "kelurahan_without_tps"])]
    locs = located.locations
    pts = located.pts
    rows = []
    for kode_kel, needed, have, reason in zip(want["kode_kel"], want["tps_needed"], want["tps"], want["reason"]):
        d = locs[(locs["kode_kel"] == kode_kel) & (locs["voters"] > 0) & locs["loc_level"].isin(["rt", "rw"])]
        s = sites.of(kode_kel)
        extra = int(needed) - int(have)
        if not len(d) or not len(s) or extra < 1:
            continue
        mine = np.flatnonzero(pd.Series(pts.kode_kel.to_pylist()) == kode_kel)
        chosen, served = p_median_add(d[["x", "y"]].to_numpy(np.float64), d["voters"].to_numpy(np.float64), pts.xy[mine],
                                      s[["x", "y"]].to_numpy(np.float64), extra)
        method = "p-median, exact (one site)" if extra == 1 else "p-median, greedy addition"
        for rank, (j, v) in enumerate(zip(chosen, served), start=1):
            rows.append(_row(kode_kel, rank, reason, s.iloc[j], new_voters=None, cumulative=None, served=int(v),
                             cap=params.cap, gaps=kode_kel, method=method, optimal=extra == 1))
    return rows


def p_median_add(demand_xy: np.ndarray, weight: np.ndarray, open_xy: np.ndarray, site_xy: np.ndarray, k: int
                 ) -> tuple[list[int], list[float]]:
    """Add ``k`` sites to the open ones, each time the one that most lowers Σ weight × distance.

    Returns the chosen site indices and, per chosen site, the weight for which it ends up nearest.
    """
    dist = _distances(demand_xy, site_xy)
    current = np.full(len(demand_xy), np.inf)
    if len(open_xy):
        current = cKDTree(open_xy).query(demand_xy)[0]
    chosen: list[int] = []
    for _ in range(min(k, len(site_xy))):
        total = (weight[:, None] * np.minimum(current[:, None], dist)).sum(axis=0)
        total[chosen] = np.inf
        best = int(np.argmin(total))
        chosen.append(best)
        current = np.minimum(current, dist[:, best])
    mine = dist[:, chosen]
    winner = np.where(mine.min(axis=1) <= current, mine.argmin(axis=1), -1) if chosen else np.zeros(0, int)
    return chosen, [float(weight[winner == i].sum()) for i in range(len(chosen))]


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix of distances (metres) between the rows of ``a`` and ``b``."""
    return np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])


def _row(kode_kel, rank, reason, site, *, new_voters, cumulative, served, cap, gaps, method, optimal) -> dict:
    return {"kode_kel": kode_kel, "rank": rank, "reason": reason, "site": site["site"], "nama": site["nama"],
            "source": site["source"], "voters_newly_covered": new_voters, "voters_covered_cumulative": cumulative,
            "voters_served": served, "tps_needed": max(1, math.ceil(served / cap)) if served else 1,
            "gaps": gaps, "method": method, "optimal": bool(optimal), "x": site["x"], "y": site["y"]}


# --- merges ----------------------------------------------------------------------------------------

def merge_candidates(located, tps: gpd.GeoDataFrame, threshold_m: float, cap: int) -> gpd.GeoDataFrame:
    """Pairs of TPS of one kelurahan that could merge without breaking the cap or the threshold.

    Keeping TPS *k* and merging *m* into it is allowed when both serve at most ``cap`` voters together,
    *k* is reliably placed (not at kelurahan level), and every voter of *m* has a known location within
    ``threshold_m`` metres of *k*. The voters of *k* do not move. One row per TPS that could be merged,
    with its best partner (the farthest of its voters nearest; then the smaller code), so the list is
    never longer than the TPS list.
    """
    pts, locs = located.pts, located.locations
    n = len(pts)
    if n < 2:
        return _frame([], MERGE_COLUMNS, "LineString")
    load = tps["voters_dpt"].to_numpy(dtype=float, na_value=0)[located.pt_row]
    reliable = (tps["location_source"].fillna("") != "kelurahan").to_numpy()[located.pt_row]
    served = _served(located)
    whole = np.bincount(served["pt"], weights=served["w"], minlength=n) >= load - 0.5   # every voter located
    pairs = cKDTree(pts.xy).query_pairs(r=2 * threshold_m, output_type="ndarray")
    kel = np.asarray(pts.kode_kel.to_pylist(), dtype=object)
    a, b = pairs[:, 0], pairs[:, 1]
    same = (kel[a] == kel[b]) & (load[a] + load[b] <= cap)
    a, b = a[same], b[same]
    lxy = locs[["x", "y"]].to_numpy(np.float64)
    keep, drop = np.concatenate([a, b]), np.concatenate([b, a])          # both directions of each pair
    reach = _max_reach(served, lxy, pts.xy, drop=drop, keep=keep)
    ok = reliable[keep] & whole[drop] & (reach <= threshold_m)
    keep, drop, reach = keep[ok], drop[ok], reach[ok]
    best = np.lexsort((keep, reach, drop))                                 # per merged TPS: the nearest reach
    first = best[np.r_[True, drop[best][1:] != drop[best][:-1]]] if len(best) else best
    return _merge_table(pts, kel, load, keep[first], drop[first], reach[first])


def _served(located) -> pd.DataFrame:
    """Voters per (placed DPT TPS, located voter location), sorted by TPS."""
    c, locs = located.counts, located.locations
    ok = (c["pt"] >= 0).to_numpy() & (c["loc"] >= 0).to_numpy()
    served = pd.DataFrame({"pt": c["pt"][ok], "loc": c["loc"][ok], "w": c["voters"][ok]})
    placed = locs["loc_level"].isin(["rt", "rw"]).to_numpy()
    return served[placed[served["loc"]]].groupby(["pt", "loc"], sort=True)["w"].sum().reset_index()


def _merge_table(pts, kel, load, kept, merged, reach) -> gpd.GeoDataFrame:
    codes = np.asarray(pts.codes.to_pylist(), dtype=object)
    table = pd.DataFrame({"kode_kel": kel[kept], "kode_tps_keep": codes[kept], "kode_tps_merge": codes[merged],
                          "voters_keep": load[kept].astype(np.int64), "voters_merge": load[merged].astype(np.int64),
                          "dist_between_m": np.round(np.hypot(*(pts.xy[kept] - pts.xy[merged]).T), 1),
                          "max_dist_after_m": np.round(reach, 1), "_k": kept, "_m": merged})
    table["voters_after"] = table["voters_keep"] + table["voters_merge"]
    table = table.sort_values(["voters_merge", "dist_between_m", "kode_tps_keep", "kode_tps_merge"], kind="stable")
    table["disjoint"] = _disjoint(table["_k"].to_numpy(), table["_m"].to_numpy())
    table = table.sort_values(["kode_kel", "kode_tps_keep", "kode_tps_merge"], kind="stable").reset_index(drop=True)
    lines = shapely.linestrings(np.stack([pts.xy[table["_m"]], pts.xy[table["_k"]]], axis=1)) if len(table) else []
    return gpd.GeoDataFrame(table[MERGE_COLUMNS], geometry=to_lonlat(np.asarray(lines, dtype=object)),
                            crs=STORAGE_EPSG)


def _max_reach(served: pd.DataFrame, lxy: np.ndarray, txy: np.ndarray, *, drop: np.ndarray, keep: np.ndarray
               ) -> np.ndarray:
    """Per pair, the farthest location of ``drop``'s voters from ``keep`` (0 when it has none)."""
    out = np.zeros(len(drop))
    if not len(drop) or not len(served):
        return out
    pt = served["pt"].to_numpy()
    start = np.searchsorted(pt, drop)
    size = np.searchsorted(pt, drop, side="right") - start
    pair = np.repeat(np.arange(len(drop)), size)
    row = np.repeat(start - np.cumsum(size) + size, size) + np.arange(size.sum())
    d = np.hypot(*(lxy[served["loc"].to_numpy()[row]] - txy[keep[pair]]).T)
    np.maximum.at(out, pair, d)
    return out


def _disjoint(kept: np.ndarray, merged: np.ndarray) -> np.ndarray:
    used, out = set(), np.zeros(len(kept), dtype=bool)
    for i, (k, m) in enumerate(zip(kept, merged)):     # pairs in a kelurahan are few; greedy in order
        if k not in used and m not in used:
            out[i] = True
            used.update((k, m))
    return out


def _frame(rows: list[dict], columns: list[str], kind: str) -> gpd.GeoDataFrame:
    table = pd.DataFrame(rows)
    if not len(table):
        table = pd.DataFrame(columns=columns + ["x", "y"])
    geom = None
    if kind == "Point":
        geom = to_lonlat(shapely.points(table["x"].to_numpy(float), table["y"].to_numpy(float))) if len(table) \
            else np.zeros(0, dtype=object)
        table["lon"] = np.round(shapely.get_x(geom), 6) if len(table) else []
        table["lat"] = np.round(shapely.get_y(geom), 6) if len(table) else []
    return gpd.GeoDataFrame(table.reindex(columns=columns), geometry=gpd.GeoSeries(geom if geom is not None else
                            [None] * len(table), crs=STORAGE_EPSG), crs=STORAGE_EPSG)


__all__ = ["MERGE_COLUMNS", "SUGGESTION_COLUMNS", "merge_candidates", "p_median_add", "set_cover", "suggest"]
