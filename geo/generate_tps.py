"""Demo city TPS: households grouped into TPS under the voters-per-TPS cap, and where each TPS sits.

The DPT's own mapping (pemetaan TPS) is imitated per kelurahan: the households of each RW, in RT
order, are cut into ``ceil(voters / (cap - 5))`` consecutive groups of near-equal size, so a TPS
never exceeds the cap (a household has at most 6 voters), never splits a household and never
serves two kelurahan. Two plants break these rules on purpose (see geo/generate_plan.py): a
kelurahan with one TPS fewer than it needs, and one TPS merged over the cap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.generate_people import MAX_HOUSEHOLD


def group_by_rw(size: np.ndarray, start: np.ndarray, rw: np.ndarray, n_rw: int, cap: int,
                min_tps: np.ndarray | None = None) -> np.ndarray:
    """TPS index (0-based, numbered RW by RW) of each household; households sorted by RW then RT.

    An RW with voters gets ``ceil(voters / (cap - 5))`` TPS, or ``min_tps[rw]`` when more (TPS
    within reach in sparse areas), but never more than it has households.
    """
    voters_rw = np.bincount(rw, weights=size, minlength=n_rw).astype(np.int64)
    first_rw = np.cumsum(voters_rw) - voters_rw
    n_tps = -(-voters_rw // (cap - MAX_HOUSEHOLD + 1))
    if min_tps is not None:
        n_tps = np.where(voters_rw > 0, np.maximum(n_tps, min_tps), 0)
    n_tps = np.minimum(n_tps, np.bincount(rw, minlength=n_rw))
    offset = start - first_rw[rw]
    within = offset * n_tps[rw] // np.maximum(voters_rw[rw], 1)
    return dense((np.cumsum(n_tps) - n_tps)[rw] + within)


def dense(tps: np.ndarray) -> np.ndarray:
    """Renumber TPS indices 0..n-1 in order, dropping numbers no household uses."""
    return np.unique(tps, return_inverse=True)[1].astype(np.int64) if len(tps) else tps


def group_short(start: np.ndarray, n_tps: int, cap: int) -> np.ndarray:
    """TPS index of each household when the kelurahan gets only ``n_tps`` TPS (too-few plant):
    households in RT order fill TPS of at most ``cap``; the last TPS takes all the rest."""
    return dense(np.minimum(start // (cap - MAX_HOUSEHOLD + 1), max(n_tps - 1, 0)))


def merge_over_cap(tps: np.ndarray, size: np.ndarray, cap: int) -> tuple[np.ndarray, int | None]:
    """Merge consecutive TPS, starting from the largest, until one serves more than ``cap`` voters,
    provided the kelurahan keeps enough TPS for its voters (``n_tps * cap >= voters``).

    Returns the renumbered TPS index per household and the merged TPS index (None when impossible).
    """
    if len(tps) == 0:
        return tps, None
    load = np.bincount(tps, weights=size).astype(np.int64)
    total = int(load.sum())
    lo = hi = int(np.argmax(load))
    while load[lo:hi + 1].sum() <= cap and (lo > 0 or hi < len(load) - 1):
        if hi < len(load) - 1:
            hi += 1
        else:
            lo -= 1
    merged_n = len(load) - (hi - lo)
    if load[lo:hi + 1].sum() <= cap or merged_n * cap < total:
        return tps, None
    remap = np.arange(len(load))
    remap[lo:hi + 1] = lo
    remap[hi + 1:] -= hi - lo
    return remap[tps], lo


def tps_loads(tps: np.ndarray, size: np.ndarray, female: np.ndarray, member_of: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dpt, dpt_l, dpt_p) per TPS from the households' TPS and each voter's sex."""
    n = int(tps.max()) + 1 if len(tps) else 0
    voter_tps = tps[member_of]
    dpt = np.bincount(tps, weights=size, minlength=n).astype(np.int64)
    dpt_p = np.bincount(voter_tps, weights=female, minlength=n).astype(np.int64)
    return dpt, dpt - dpt_p, dpt_p


def central_rt(tps: np.ndarray, rt: np.ndarray, rt_xy: np.ndarray) -> np.ndarray:
    """Local RT row where each TPS sits: among the RTs of its households (``tps``/``rt`` per
    household), the one whose representative point (``rt_xy``, metres) is nearest to the farthest
    of them (ties: the lower RT row), so no voter of the TPS is needlessly far."""
    if len(tps) == 0:
        return np.zeros(0, np.int64)
    pairs = np.unique(np.column_stack([tps, rt]), axis=0)           # (tps, rt) sorted by tps
    first = np.searchsorted(pairs[:, 0], pairs[:, 0])
    count = np.bincount(pairs[:, 0])[pairs[:, 0]]
    cand = np.repeat(np.arange(len(pairs)), count)                  # candidate × every RT of its TPS
    other = first[cand] + (np.arange(len(cand)) - np.repeat(np.cumsum(count) - count, count))
    d = np.hypot(*(rt_xy[pairs[cand, 1]] - rt_xy[pairs[other, 1]]).T)
    worst = np.zeros(len(pairs))
    np.maximum.at(worst, cand, d)
    order = np.lexsort((pairs[:, 1], worst, pairs[:, 0]))
    best = order[np.r_[True, pairs[order, 0][1:] != pairs[order, 0][:-1]]]
    return pairs[best, 1]


def rt_rw_text(rt: np.ndarray, rw: np.ndarray, form: np.ndarray) -> np.ndarray:
    """RT/RW as written in addresses, in five spellings chosen by ``form`` (0–4):
    ``RT 003/RW 05``, ``RT.3 RW.5``, ``Rt 03 Rw 005``, ``RT/RW 003/005``, ``rt3 rw5``."""
    rt = pd.Series(rt, dtype="int64").astype("string")
    rw = pd.Series(rw, dtype="int64").astype("string")
    forms = [
        "RT " + rt.str.zfill(3) + "/RW " + rw.str.zfill(2),
        "RT." + rt + " RW." + rw,
        "Rt " + rt.str.zfill(2) + " Rw " + rw.str.zfill(3),
        "RT/RW " + rt.str.zfill(3) + "/" + rw.str.zfill(3),
        "rt" + rt + " rw" + rw,
    ]
    return np.select([form == i for i in range(len(forms))], [f.to_numpy(dtype=object) for f in forms],
                     default=None)
