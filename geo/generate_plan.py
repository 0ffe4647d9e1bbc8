"""Demo city plan: voters per kelurahan, and the three coverage gaps planted on purpose.

How each gap is planted (all three are listed in ``truth/gaps.csv``):

* **RW with no TPS nearby** (``rw_no_tps_nearby``): in the kelurahan (with voters and at least two
  RW) with the largest inscribed circle, RW 1 is re-drawn as a round area (``DEEP_RW_SHARE`` of
  that circle) whose RT 1 is a small disk at the centre; its voters live only in the RTs whose
  representative point is at least ``GAP_M`` + ``GAP_MARGIN_M`` metres inside the RW (or in its
  deepest RT), and every TPS serving them sits in the RT of the kelurahan farthest from them.
  Every other TPS sits inside its own RW, so no TPS is nearer to these voters than the RW
  boundary. The distance reached is recorded (``dist_nearest_m``).
* **Kelurahan with too few TPS** (``too_few_tps``): among the other kelurahan with more voters
  than the cap, the smallest in area (so that its fewer TPS stay near its voters) gets
  ``ceil(voters / cap) - 1`` TPS: all but the last filled up to the cap, the last one over it
  (listed as an ``overloaded_tps`` row with ``cause = too_few_tps``).
* **Overloaded TPS** (``overloaded_tps``): in the remaining kelurahan with the most voters,
  consecutive TPS are merged, starting from the largest, until one serves more than the cap,
  provided the kelurahan still has enough TPS for its voters.

A gap that the city is too small for (e.g. no kelurahan with more voters than the cap) is not
planted, and the plan says why.

So that these are the only gaps: no dirty DPT or TPS row falls in a planted kelurahan; the TPS of
the gap kelurahan always carry an address; a TPS row the loader will reject (bad ``kode_kel``)
is only chosen where its kelurahan keeps enough TPS and its RW keeps another TPS; every other
TPS sits in the RT nearest to the farthest of its voters, and sparse RWs get one TPS per
0.15 km². At low densities (a few percent of Jakarta's 8.3 M voters) RTs far from any TPS can
still occur; ``summary.json`` gives the largest such distance outside the planted RW
(``max_dist_nearest_tps_m_outside_planted_rw``) next to the planted one, so a test can choose a
threshold between them. With the 500 m default: Jakarta Pusat from ~20,000 voters, the larger
kota from ~10 % of their real voters, and all of DKI at 200,000 or 8.3 M voters.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import shapely

GAP_M = 500          # coverage threshold the planted RW is built for (metres, straight line)
GAP_MARGIN_M = 25    # slack for other ways of choosing an RT's representative point
CORE_RT_M = 120      # radius of the planted RW's inhabited RT
DEEP_RW_SHARE = 0.8  # the planted RW's radius, as a share of its kelurahan's inscribed circle


@dataclasses.dataclass
class Plan:
    """Voters per selected kelurahan and the planted gaps (-1 where a gap is not planted)."""

    voters: np.ndarray
    gap_rw: int = -1                      # row in city.rw
    gap_core: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))  # city.rt rows
    gap_far_rt: int = -1                  # city.rt row hosting the gap RW's TPS
    gap_kel: int = -1                     # row in city.kel of the gap RW
    gap_centre: tuple[float, float] = (0.0, 0.0)  # centre of the gap RW's inscribed circle (metres)
    gap_radius_m: float = 0.0
    gap_depth_m: float = 0.0
    too_few: int = -1                     # row in city.kel
    overload: int = -1                    # row in city.kel
    notes: list[str] = dataclasses.field(default_factory=list)


def apportion(total: int, weight: np.ndarray) -> np.ndarray:
    """Integers ∝ ``weight`` summing to ``total`` (largest remainder; ties to the first)."""
    if len(weight) == 0:
        return np.zeros(0, np.int64)
    share = total * weight / weight.sum()
    base = np.floor(share).astype(np.int64)
    left = total - int(base.sum())
    order = np.lexsort((np.arange(len(weight)), -(share - base)))
    base[order[:left]] += 1
    return base


def plan_city(city, voters: int, cap: int) -> Plan:
    """Spread ``voters`` over the selected kelurahan by their real voter weight and choose the plants.

    The gap goes into the kelurahan (with voters and at least two RW) with the largest inscribed
    circle: the caller re-draws its RW 1 as a round area of ``gap_radius_m`` around ``gap_centre``
    (:func:`geo.generate_geometry.plant_deep_rw`), sets ``gap_rw`` and calls :func:`locate_gap`.
    """
    plan = Plan(apportion(voters, city.kel["dpt_2024"].to_numpy(dtype=float)))
    n_rw = np.bincount(city.rw["kel"].to_numpy(), minlength=len(city.kel))
    ok = (n_rw >= 2) & (plan.voters > 0)
    if ok.any():
        circle = shapely.maximum_inscribed_circle(city.kel["geometry"].to_numpy()[ok], tolerance=1.0)
        best = int(np.argmax(shapely.length(circle)))
        plan.gap_kel = int(np.flatnonzero(ok)[best])
        plan.gap_centre = tuple(shapely.get_coordinates(circle[best])[0])
        plan.gap_radius_m = DEEP_RW_SHARE * float(shapely.length(circle[best]))
    else:
        plan.notes.append("rw_no_tps_nearby not planted: no kelurahan with voters has two RW")
    taken = {plan.gap_kel}
    area = shapely.area(city.kel["geometry"].to_numpy())
    plan.too_few = _pick_kelurahan(plan.voters, cap, taken, key=area)
    taken.add(plan.too_few)
    plan.overload = _pick_kelurahan(plan.voters, cap, taken, key=-plan.voters)
    if plan.too_few < 0:
        plan.notes.append(f"too_few_tps not planted: no other kelurahan has more than {cap} voters")
    if plan.overload < 0:
        plan.notes.append(f"overloaded_tps not planted: no third kelurahan has more than {cap} voters")
    return plan


def core_radius(plan: Plan) -> float:
    """Radius (metres) of the planted RW's inhabited RT: small against the RW, like a real RT."""
    return min(CORE_RT_M, 0.3 * plan.gap_radius_m)


def locate_gap(plan: Plan, city, rt_xy: np.ndarray) -> None:
    """Choose the gap RW's inhabited RTs and the RT hosting its TPS, from RT representative points
    ``rt_xy`` (metres). Inhabited: RTs whose point lies at least ``GAP_M + GAP_MARGIN_M`` inside the
    RW (or the deepest one); host: the RT of the kelurahan, outside the RW, farthest from them."""
    if plan.gap_rw < 0:
        return
    rt_rw = city.rt["rw_idx"].to_numpy()
    mine = np.flatnonzero(rt_rw == plan.gap_rw)
    depth = shapely.distance(shapely.points(rt_xy[mine]), shapely.boundary(city.rw["geometry"].iat[plan.gap_rw]))
    need = min(GAP_M + GAP_MARGIN_M, float(depth.max()))
    plan.gap_core = mine[depth >= need]
    plan.gap_depth_m = need
    centre = rt_xy[plan.gap_core].mean(axis=0)
    others = np.flatnonzero((city.rt["kel"].to_numpy() == plan.gap_kel) & (rt_rw != plan.gap_rw))
    plan.gap_far_rt = int(others[np.argmax(np.hypot(*(rt_xy[others] - centre).T))])
    if need < GAP_M + GAP_MARGIN_M:
        plan.notes.append(f"rw_no_tps_nearby: the largest RW reaches only {need:.0f} m deep (< {GAP_M} m); "
                          "its voters are that far from any TPS")


def _pick_kelurahan(voters: np.ndarray, cap: int, taken: set, key: np.ndarray) -> int:
    """The kelurahan with more than ``cap`` voters, not taken, with the smallest ``key``."""
    ok = voters > cap
    ok[[t for t in taken if t >= 0]] = False
    if not ok.any():
        return -1
    idx = np.flatnonzero(ok)
    return int(idx[np.argmin(key[idx])])  # argmin takes the first of equals: the lowest code


def gap_rows(plan: Plan, city, rt_xy: np.ndarray, rt_voters: np.ndarray, tps: pd.DataFrame, cap: int
             ) -> tuple[pd.DataFrame, dict]:
    """The planted gaps as found in the generated city, and distance figures for the summary.

    Distances are straight lines in EPSG:32748 from RT representative points with voters to the
    true TPS positions (``tps`` needs columns ``x``, ``y``, ``kel``, ``dpt`` and ``kode_tps``).
    """
    from scipy.spatial import cKDTree

    populated = rt_voters > 0
    nearest = np.full(len(rt_xy), np.nan)
    if len(tps) and populated.any():
        nearest[populated] = cKDTree(tps[["x", "y"]].to_numpy()).query(rt_xy[populated])[0]
    in_gap = city.rt["rw_idx"].to_numpy() == plan.gap_rw
    rows = []
    if plan.gap_rw >= 0 and not (in_gap & populated).any():
        plan.notes.append("rw_no_tps_nearby not planted: too few voters for anyone to live in the planted RW")
    if plan.gap_rw >= 0 and (in_gap & populated).any():
        rows.append(_row("rw_no_tps_nearby", "rw", city, plan.gap_kel, rw=int(city.rw["rw"].iat[plan.gap_rw]),
                         voters=int(rt_voters[in_gap].sum()), dist=float(np.nanmin(nearest[in_gap & populated])),
                         cause="rw_no_tps_nearby",
                         how=f"voters only in RTs >= {plan.gap_depth_m:.0f} m inside the RW; "
                             "its TPS sit in the farthest RT of the kelurahan"))
    load = tps.groupby("kel")["dpt"].agg(["sum", "size"])
    if plan.too_few in load.index:
        v, n = (int(a) for a in load.loc[plan.too_few])
        rows.append(_row("too_few_tps", "kelurahan", city, plan.too_few, voters=v, n_tps=n, needed=-(-v // cap),
                         cause="too_few_tps", how="one TPS fewer than voters / cap"))
    for t in tps[tps["dpt"] > cap].itertuples():
        cause = {plan.too_few: "too_few_tps", plan.overload: "overloaded_tps"}.get(t.kel, "unplanned")
        how = "consecutive TPS merged over the cap" if cause == "overloaded_tps" else "its kelurahan has too few TPS"
        rows.append(_row("overloaded_tps", "tps", city, t.kel, kode_tps=t.kode_tps, voters=int(t.dpt),
                         cause=cause, how=how))
    other = populated & ~in_gap
    figures = {"rt_with_voters": int(populated.sum()),
               "max_dist_nearest_tps_m_outside_planted_rw":
                   round(float(np.nanmax(nearest[other])), 1) if other.any() else None}
    gaps = pd.DataFrame(rows, columns=GAP_COLUMNS)
    return gaps.astype({c: "Int64" for c in ("rw", "voters", "n_tps", "tps_needed")}), figures


GAP_COLUMNS = ["gap", "level", "kode_kel", "rw", "kode_tps", "voters", "n_tps", "tps_needed", "dist_nearest_m",
               "cause", "how"]


def _row(gap, level, city, k, *, rw=None, kode_tps=None, voters=None, n_tps=None, needed=None, dist=None,
         cause="", how=""):
    return {"gap": gap, "level": level, "kode_kel": city.kel["kode"].iat[k], "rw": rw, "kode_tps": kode_tps,
            "voters": voters, "n_tps": n_tps, "tps_needed": needed,
            "dist_nearest_m": None if dist is None else round(dist, 1), "cause": cause, "how": how}
