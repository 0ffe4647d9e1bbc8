"""The transportation problem behind capacity-aware TPS mapping, and its KK-respecting rounding.

Voters at L locations go to T TPS, each taking at most ``cap`` voters, minimising voters × distance.
With integer supplies and capacities the constraint matrix is totally unimodular, so a simplex
optimum (HiGHS dual simplex via ``scipy.optimize.linprog``) is integral: whole voters per
(location, TPS) pair. Every location also has an *overflow* arc costing ``PENALTY_M`` per voter,
which keeps the LP feasible when the TPS are too few.

Arcs are generated lazily (column generation): the LP starts with each location's ``k`` nearest TPS,
then adds every arc whose reduced cost ``distance − u[location] − v[tps]`` is negative, until none
is. The result is the exact optimum over all arcs at a fraction of the size.

Families are then cut out of those voter quotas (:func:`split_units`): per location, KKs sorted by
size are laid end to end against the quotas sorted by distance; a KK that fits inside one quota takes
that TPS, a KK straddling two quotas (at most one per quota boundary) is placed afterwards at the
nearest TPS with room. No TPS ever exceeds ``cap``.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

log = logging.getLogger(__name__)

PENALTY_M = 1.0e7          # cost per voter of the overflow arc: more than any walk
K_NEAREST = 16             # arcs per location in the first LP round
_RC_TOL = 1e-7


@dataclasses.dataclass(frozen=True)
class Transport:
    """Optimal voter quotas.

    Attributes
    ----------
    quota : ndarray (L, T) of int
        Voters of each location sent to each TPS.
    overflow : ndarray (L,) of int
        Voters of each location left without a TPS (too few TPS).
    cost : float
        Σ voters × distance over the quotas (metres): a lower bound for any KK-respecting plan.
    rounds : int
        LP solves (1 = the first arcs were enough).
    """

    quota: np.ndarray
    overflow: np.ndarray
    cost: float
    rounds: int


def transport(dist: np.ndarray, supply: np.ndarray, cap: int, *, k_nearest: int = K_NEAREST) -> Transport:
    """Solve the transportation problem exactly, adding arcs by reduced cost.

    Parameters
    ----------
    dist : ndarray (L, T)
        Distance from each location to each TPS, metres.
    supply : ndarray (L,)
        Voters per location (integers).
    cap : int
        Voters per TPS at most.
    k_nearest : int
        Arcs per location in the first round.
    """
    n_loc, n_tps = dist.shape
    arcs = np.zeros(dist.shape, dtype=bool)
    first = np.argsort(dist, axis=1, kind="stable")[:, :min(k_nearest, n_tps)]
    np.put_along_axis(arcs, first, True, axis=1)
    rounds = 0
    while True:
        rounds += 1
        li, ti = np.nonzero(arcs)
        x, over, u, v = _solve(dist[li, ti], li, ti, supply, cap, n_loc, n_tps)
        new = (dist - u[:, None] - v[None, :] < -_RC_TOL) & ~arcs
        if not new.any():
            break
        arcs |= new
    quota = np.zeros(dist.shape, dtype=np.int64)
    quota[li, ti] = np.floor(x + 1e-6).astype(np.int64)
    overflow = supply.astype(np.int64) - quota.sum(axis=1)   # rounding can only add to the overflow
    return Transport(quota, overflow, float((quota * dist).sum()), rounds)


def _solve(cost, li, ti, supply, cap, n_loc, n_tps):
    n = len(li)
    c = np.r_[cost, np.full(n_loc, PENALTY_M)]
    a_eq = sp.csr_matrix((np.ones(n + n_loc), (np.r_[li, np.arange(n_loc)], np.arange(n + n_loc))),
                         shape=(n_loc, n + n_loc))
    a_ub = sp.csr_matrix((np.ones(n), (ti, np.arange(n))), shape=(n_tps, n + n_loc))
    res = linprog(c, A_ub=a_ub, b_ub=np.full(n_tps, float(cap)), A_eq=a_eq, b_eq=supply.astype(float),
                  bounds=(0, None), method="highs-ds")
    if res.status != 0:   # cannot happen: the overflow arcs make every instance feasible
        raise RuntimeError(f"transportation LP failed: {res.message}")
    return res.x[:n], res.x[n:], res.eqlin.marginals, res.ineqlin.marginals


def split_units(unit_loc: np.ndarray, unit_size: np.ndarray, plan: Transport, dist: np.ndarray, cap: int
                ) -> tuple[np.ndarray, int]:
    """TPS of each KK unit (local TPS index, -1 = none) from the voter quotas, never above ``cap``.

    Parameters
    ----------
    unit_loc : ndarray of int
        Location (row of ``dist``) of each unit; every location's units must sum to its supply.
    unit_size : ndarray of int
        Voters per unit (a KK is never split).
    plan : Transport
    dist : ndarray (L, T)
    cap : int

    Returns
    -------
    tps : ndarray of int
    regreedy : int
        Units that straddled two quotas (or overflowed) and were placed at the nearest TPS with room.
    """
    order = np.lexsort((np.arange(len(unit_loc)), -unit_size, unit_loc))
    ends = np.cumsum(unit_size[order])
    ql, qt = np.nonzero(plan.quota)
    n_loc = len(plan.overflow)
    q_loc = np.r_[ql, np.arange(n_loc)]
    q_tps = np.r_[qt, np.full(n_loc, -1)]
    q_n = np.r_[plan.quota[ql, qt], plan.overflow]
    q_order = np.lexsort((q_tps < 0, np.r_[dist[ql, qt], np.zeros(n_loc)], q_loc))
    q_order = q_order[q_n[q_order] > 0]
    bounds = np.cumsum(q_n[q_order])       # per-location totals match, so the two scales line up
    j_end = np.searchsorted(bounds, ends, side="left")
    j_start = np.searchsorted(bounds, ends - unit_size[order], side="right")
    inside = (j_start == j_end) & (j_end < len(bounds))
    tps = np.full(len(unit_loc), -1, dtype=np.int64)
    tps[order[inside]] = q_tps[q_order[j_end[inside]]]
    left = order[~inside | (tps[order] < 0)]
    return tps, _place_leftovers(tps, left, unit_loc, unit_size, dist, cap)


def _place_leftovers(tps, left, unit_loc, unit_size, dist, cap) -> int:
    """Largest first, each leftover unit at the nearest TPS with room (in place); returns units placed."""
    if len(left) == 0 or dist.shape[1] == 0:
        return 0
    placed = tps >= 0
    room = cap - np.bincount(tps[placed], weights=unit_size[placed], minlength=dist.shape[1])
    done = 0
    for i in left[np.lexsort((left, -unit_size[left]))]:
        if room.max() < unit_size[i]:
            continue
        by_dist = np.argsort(dist[unit_loc[i]], kind="stable")
        t = by_dist[np.argmax(room[by_dist] >= unit_size[i])]
        tps[i] = t
        room[t] -= unit_size[i]
        done += 1
    return done


__all__ = ["PENALTY_M", "K_NEAREST", "Transport", "transport", "split_units"]
