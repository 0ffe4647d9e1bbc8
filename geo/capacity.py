"""Capacity-aware TPS mapping (pemetaan TPS): whole families to TPS, no TPS over the cap, short walks.

KPU's rules: a family (KK) votes at one TPS, a TPS serves voters of one kelurahan only, and no TPS
exceeds the voters-per-TPS cap (300 in Pemilu 2024, 600 in Pilkada 2024). Within those rules we
minimise the total straight-line distance walked.

Per kelurahan: (1) the transportation problem from voter locations to TPS is solved exactly as a linear
programme (:func:`geo.transport.transport`: HiGHS, integral because the problem is totally unimodular,
arcs added by reduced cost); (2) whole KKs are cut out of the resulting voter quotas
(:func:`geo.transport.split_units`), the few KKs straddling two quotas going to the nearest TPS with
room. The LP cost is a lower bound, so the report states how far the plan is from optimal.

Fallback when it is infeasible (more voters than TPS × cap, a kelurahan without placed TPS, or a KK
larger than the cap): the KKs that fit nowhere are left without a TPS (``tps_planned`` NA), never
squeezed in; the report gives per kelurahan the extra TPS needed (⌈voters left / cap⌉) and where to
put them: weighted k-means centres of the locations of the voters left.
"""

from __future__ import annotations

import logging
import math
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc
from pyproj import Transformer

from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.distances import DistanceSummary
from geo.errors import ConfigError
from geo.locations import LocationIndex, arrow_str
from geo.nearest import index_in, require_columns, take_strings, tps_points
from geo.report import Problem, Report
from geo.transport import K_NEAREST, split_units, transport

STAY_BONUS_M = 10.0        # metres per voter: do not move a voter for less (see plan_capacity)

log = logging.getLogger(__name__)

PLAN_COLUMNS = ["voter_key", "tps_planned", "dist_planned_m"]
_TO_LONLAT = Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)


def plan_capacity(voters: pd.DataFrame | Iterable[pd.DataFrame], locations: pd.DataFrame, tps: gpd.GeoDataFrame,
                  *, max_per_tps: int = 300, stay_bonus_m: float = STAY_BONUS_M, k_nearest: int = K_NEAREST
                  ) -> tuple[pd.DataFrame, Report]:
    """Assign whole KKs to TPS of their kelurahan, at most ``max_per_tps`` voters each, minimising distance.

    Parameters
    ----------
    voters : DataFrame or iterable of DataFrames
        ``voter_key``, ``kk_key``, ``kode_kel``, ``rw``, ``rt``, ``kode_tps`` (the DPT's TPS). A voter
        without ``kk_key`` is a KK of one. Chunks are gathered (a kelurahan is planned as a whole).
    locations : DataFrame
        From :func:`geo.locations.voter_locations`. A KK living at several locations is placed from the
        location of most of its members (ties: the first location).
    tps : GeoDataFrame
        The ``tps`` layer; only placed TPS take voters.
    max_per_tps : int, default 300
        The cap (Pemilu 2024: 300; Pilkada 2024: 600).
    stay_bonus_m : float, default 10
        Metres subtracted from the cost of a voter staying at their DPT TPS: among plans within
        ``stay_bonus_m`` per voter of the shortest, the one moving fewest voters wins (0: shortest only).
    k_nearest : int, default 16
        TPS considered per location in the first LP (all of the kelurahan's when that is not enough).

    Returns
    -------
    plan : DataFrame
        :data:`PLAN_COLUMNS`, one row per voter in input order: ``tps_planned`` (``<NA>`` when the KK
        fits nowhere or has no location) and ``dist_planned_m`` (metres, EPSG:32748, 1 cm).
    report : Report
        Counts, distance before (DPT) and after (plan) for the same voters, voters moved, TPS over the
        cap in the DPT, and ``extra_tps``: per kelurahan short of room, the TPS needed and where.
    """
    if max_per_tps < 1:
        raise ConfigError(f"max voters per TPS must be positive, got {max_per_tps}")
    v = _gather(voters)
    pts = tps_points(tps)
    loc = LocationIndex(locations).locate_voters(v)
    lxy = np.vstack([locations[["x", "y"]].to_numpy(np.float64), [np.nan, np.nan]])   # sentinel row for -1
    txy = np.vstack([pts.xy, [np.nan, np.nan]])
    kels = pc.unique(arrow_str(v["kode_kel"]).combine_chunks()).sort()
    kel = index_in(v["kode_kel"], kels)
    unit, u_size, u_loc, mixed = _kk_units(v, kel, loc)
    dpt = index_in(v["kode_tps"], pts.codes)
    u_dpt = np.full(len(u_size), -1, dtype=np.int64)
    u_dpt[unit[::-1]] = dpt[::-1]                     # a KK's DPT TPS: its first member's
    u_kel = np.full(len(u_size), -1, dtype=np.int64)
    u_kel[unit] = kel
    tps_kel = index_in(pts.kode_kel, kels)
    report = Report("assign capacity", source="voters", rows_read=len(v), rows_loaded=len(v))
    u_tps = np.full(len(u_size), -1, dtype=np.int64)
    solver = {"lp_rounds": 0, "lp_voter_m": 0.0, "kk_placed_after_rounding": 0}
    extra = []
    for k, units in _split(u_kel, len(kels)):
        t_idx = np.flatnonzero(tps_kel == k)
        u_tps[units] = _plan_kelurahan(u_loc[units], u_size[units], u_dpt[units], lxy, t_idx, txy, max_per_tps,
                                       stay_bonus_m, k_nearest, solver)
        left = units[(u_tps[units] < 0) & (u_loc[units] >= 0)]
        if len(left):
            extra.append(_extra_tps(kels[k].as_py(), left, u_size, u_loc, lxy, len(t_idx), max_per_tps))
    voter_tps = u_tps[unit]
    dist = np.round(np.hypot(*(txy[voter_tps] - lxy[loc]).T), 2)
    _check_caps(voter_tps, tps_kel, kel, max_per_tps)
    plan = pd.DataFrame({"voter_key": v["voter_key"].astype("string").array,
                         "tps_planned": take_strings(pts.codes, voter_tps).array, "dist_planned_m": dist})
    dist_dpt = np.hypot(*(txy[dpt] - lxy[loc]).T)
    _figures(report, v, loc, voter_tps, dpt, dist, dist_dpt, len(u_size), len(mixed), max_per_tps, solver)
    report.figures["extra_tps_needed"] = sum(e["tps_needed"] for e in extra)
    report.figures["extra_tps"] = extra
    report.warn(Problem("voters", None, "kode_kel", e["kode_kel"], f"{e['voters_left']} voters fit in no TPS "
                        f"within {max_per_tps} per TPS: {e['tps_needed']} more TPS needed") for e in extra)
    return plan, report.finish()


def _gather(voters: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    cols = ("voter_key", "kk_key", "kode_kel", "rw", "rt", "kode_tps")
    chunks = [voters] if isinstance(voters, pd.DataFrame) else list(voters)
    for c in chunks:
        require_columns(c, cols, "voters")
    if len(chunks) == 1:
        return chunks[0]
    return pd.concat([c[list(cols)] for c in chunks], ignore_index=True) if chunks else pd.DataFrame(
        {c: pd.Series(dtype="string") for c in cols})


def _kk_units(v: pd.DataFrame, kel: np.ndarray, loc: np.ndarray):
    """KK unit of each voter (a KK within one kelurahan; no kk_key → a unit of one), unit sizes, unit
    locations (the location of most members) and the units whose members live at several locations."""
    enc = pc.dictionary_encode(arrow_str(v["kk_key"])).combine_chunks()
    kk = pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
    n_kel = int(kel.max(initial=0)) + 2
    alone = len(enc.dictionary) * n_kel + np.arange(len(v), dtype=np.int64)
    key = np.where(kk >= 0, kk * n_kel + (kel + 1), alone)
    _, unit = np.unique(key, return_inverse=True)
    size = np.bincount(unit)
    order = np.argsort(unit, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(unit[order])) + 1] if len(order) else np.zeros(0, dtype=np.int64)
    ls = loc[order]
    u_loc = np.maximum.reduceat(ls, starts) if len(ls) else np.zeros(0, dtype=np.int64)
    mixed = np.flatnonzero(np.minimum.reduceat(ls, starts) != u_loc) if len(ls) else np.zeros(0, dtype=np.int64)
    if len(mixed):
        member = np.isin(unit, mixed) & (loc >= 0)
        counts = pd.DataFrame({"u": unit[member], "l": loc[member]}).value_counts().reset_index()
        counts = counts.sort_values(["u", "count", "l"], ascending=[True, False, True], kind="stable")
        first = counts.drop_duplicates("u")
        u_loc[first["u"].to_numpy()] = first["l"].to_numpy()
    return unit, size, u_loc.astype(np.int64), mixed


def _split(u_kel: np.ndarray, n_kel: int):
    """(kelurahan index, its units) in kelurahan code order."""
    order = np.argsort(u_kel, kind="stable")
    bounds = np.searchsorted(u_kel[order], np.arange(n_kel + 1))
    for k in range(n_kel):
        if bounds[k + 1] > bounds[k]:
            yield k, order[bounds[k]:bounds[k + 1]]


def _plan_kelurahan(u_loc, u_size, u_dpt, lxy, t_idx, txy, cap, stay_bonus_m, k_nearest, solver) -> np.ndarray:
    """TPS (global index, -1 = none) of each KK unit of one kelurahan.

    LP origins are (location, DPT TPS) pairs, so that staying at the DPT TPS can be rewarded exactly.
    """
    out = np.full(len(u_loc), -1, dtype=np.int64)
    ok = np.flatnonzero((u_loc >= 0) & (u_size <= cap))      # a KK above the cap fits nowhere
    n_tps = len(t_idx)
    if n_tps == 0 or len(ok) == 0:
        return out
    pos = np.searchsorted(t_idx, u_dpt[ok]).clip(max=n_tps - 1)
    stay = np.where(t_idx[pos] == u_dpt[ok], pos, -1)            # DPT TPS among this kelurahan's, else -1
    origins, o_of = np.unique(u_loc[ok] * (n_tps + 1) + stay + 1, return_inverse=True)
    o_loc, o_stay = origins // (n_tps + 1), origins % (n_tps + 1) - 1
    supply = np.bincount(o_of, weights=u_size[ok]).astype(np.int64)
    dist = np.hypot(*(lxy[o_loc][:, None, :] - txy[t_idx][None, :, :]).transpose(2, 0, 1))
    cost = dist.copy()
    rows = np.flatnonzero(o_stay >= 0)
    cost[rows, o_stay[rows]] -= stay_bonus_m
    plan = transport(cost, supply, cap, k_nearest=k_nearest)
    local, regreedy = split_units(o_of, u_size[ok], plan, dist, cap)
    solver["lp_rounds"] += plan.rounds
    solver["lp_voter_m"] += float((plan.quota * dist).sum())
    solver["kk_placed_after_rounding"] += regreedy
    out[ok] = np.where(local >= 0, t_idx[np.maximum(local, 0)], -1)
    return out


def _check_caps(voter_tps: np.ndarray, tps_kel: np.ndarray, kel: np.ndarray, cap: int) -> None:
    """The plan's guarantees, checked on the voters themselves (a failure is a bug, not bad input)."""
    placed = voter_tps >= 0
    load = np.bincount(voter_tps[placed], minlength=len(tps_kel))
    if load.max(initial=0) > cap:
        raise RuntimeError(f"capacity plan exceeds {cap} voters at a TPS ({load.max()})")
    if (tps_kel[voter_tps[placed]] != kel[placed]).any():
        raise RuntimeError("capacity plan sends voters to a TPS of another kelurahan")


def _extra_tps(kode_kel: str, left: np.ndarray, u_size, u_loc, lxy, n_tps: int, cap: int) -> dict:
    """How many more TPS a kelurahan needs for the KKs left without one, and where: ``sites`` are
    ``[lon, lat, voters]`` of weighted k-means centres of those KKs' locations (several TPS may share
    a site when its voters exceed the cap)."""
    voters_left = int(u_size[left].sum())
    need = math.ceil(voters_left / cap)
    locs, inv = np.unique(u_loc[left], return_inverse=True)
    weight = np.bincount(inv, weights=u_size[left])
    centres, label = weighted_kmeans(lxy[locs], weight, need)
    served = np.bincount(label, weights=weight, minlength=len(centres))
    lon, lat = _TO_LONLAT.transform(centres[:, 0], centres[:, 1])
    return {"kode_kel": kode_kel, "tps_placed": n_tps, "voters_left": voters_left, "tps_needed": need,
            "sites": [[round(float(a), 6), round(float(b), 6), int(w)] for a, b, w in zip(lon, lat, served)]}


def weighted_kmeans(xy: np.ndarray, weight: np.ndarray, k: int, *, iterations: int = 30
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic weighted k-means (Lloyd) of points in metres.

    Starts from the heaviest point, then repeatedly the point farthest from those chosen.

    Returns
    -------
    centres : ndarray (min(k, n), 2)
    label : ndarray (n,)
        The centre of each point.
    """
    k = min(k, len(xy))
    if k == 0:
        return np.zeros((0, 2)), np.zeros(len(xy), dtype=np.int64)
    chosen = [int(np.argmax(weight))]
    for _ in range(k - 1):
        d = np.min(np.hypot(*(xy[:, None, :] - xy[chosen][None]).transpose(2, 0, 1)), axis=1)
        chosen.append(int(np.argmax(d)))
    centres = xy[chosen].astype(float)
    for _ in range(iterations):
        label = np.argmin(np.hypot(*(xy[:, None, :] - centres[None]).transpose(2, 0, 1)), axis=1)
        w = np.bincount(label, weights=weight, minlength=k)
        moved = np.column_stack([np.bincount(label, weights=weight * xy[:, i], minlength=k) for i in (0, 1)])
        new = np.where(w[:, None] > 0, moved / np.maximum(w, 1e-12)[:, None], centres)
        if np.allclose(new, centres):
            break
        centres = new
    label = np.argmin(np.hypot(*(xy[:, None, :] - centres[None]).transpose(2, 0, 1)), axis=1)
    return centres, label


def _figures(report, v, loc, voter_tps, dpt, dist, dist_dpt, n_units, n_mixed, cap, solver) -> None:
    both = np.isfinite(dist) & np.isfinite(dist_dpt)
    before, after = DistanceSummary(), DistanceSummary()
    before.add(dist_dpt[both])
    after.add(dist[both])
    load_dpt = np.bincount(dpt[dpt >= 0]) if (dpt >= 0).any() else np.zeros(0, dtype=np.int64)
    report.figures.update({
        "max_per_tps": cap, "voters": len(v), "kk_units": n_units, "kk_at_several_locations": n_mixed,
        "voters_without_location": int((loc < 0).sum()), "voters_planned": int((voter_tps >= 0).sum()),
        "voters_unplaced": int((voter_tps < 0).sum()),
        "voters_moved": int(((voter_tps >= 0) & (voter_tps != dpt)).sum()),
        "tps_over_cap_in_dpt": int((load_dpt > cap).sum()),
        "dist_dpt_m": before.as_dict(), "dist_planned_m": after.as_dict(),
        "mean_change_m": (round(after.total / after.count - before.total / before.count, 1)
                          if after.count else None),
        **solver,
    })


__all__ = ["PLAN_COLUMNS", "plan_capacity", "weighted_kmeans"]
