"""Walking distances between voter locations and the TPS of their kelurahan, as a lookup table.

For every kelurahan, :func:`geo.network.walk_matrix` gives the walk from each of its TPS to each of
its voter locations (~115 × 115 for a Jakarta kelurahan, 28 MB for all of DKI). Voters are then
answered by integer lookups, chunk by chunk, like :mod:`geo.assign` does for straight-line distances:
the nearest TPS on foot, and the walk to the DPT's TPS when it lies in the voter's kelurahan.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from geo.nearest import TpsPoints, index_in
from geo.network import DEFAULT_LIMIT_M, RoadGraph, nearest_rows, walk_matrix

log = logging.getLogger(__name__)

WALK_COLUMNS = ["tps_nearest_walk", "dist_nearest_walk_m", "dist_dpt_walk_m"]


class WalkTable:
    """Walks (metres) between the locations and the placed TPS of each kelurahan.

    Parameters
    ----------
    locations : DataFrame
        ``kode_kel``, ``x``, ``y`` (EPSG:32748), one row per location (see ``voter_locations``).
    pts : TpsPoints
        The placed TPS, sorted by code.
    graph : RoadGraph
    limit_m : float
        Longest walk considered; longer walks are NaN.

    Attributes
    ----------
    nearest : ndarray of int
        Per location, the index (into ``pts``) of the nearest TPS on foot in its kelurahan, or -1.
    nearest_m : ndarray of float
        That walk in metres (NaN when none within ``limit_m``).
    """

    def __init__(self, locations: pd.DataFrame, pts: TpsPoints, graph: RoadGraph, *,
                 limit_m: float = DEFAULT_LIMIT_M):
        self.limit_m = float(limit_m)
        kels = pc.unique(pts.kode_kel)
        loc_group = index_in(locations["kode_kel"], kels)
        xy = locations[["x", "y"]].to_numpy(np.float64)
        loc_group[~np.isfinite(xy).all(axis=1)] = -1
        tps_group = index_in(pts.kode_kel, kels)
        n_loc, n_tps = len(locations), len(pts)
        self.loc_base = np.zeros(n_loc + 1, dtype=np.int64)      # + sentinel row
        self.loc_width = np.zeros(n_loc + 1, dtype=np.int64)
        self.loc_group = np.append(loc_group, -1)
        self.tps_local = np.append(np.zeros(n_tps, dtype=np.int64), 0)
        self.tps_group = np.append(tps_group, -2)
        self.nearest = np.full(n_loc + 1, -1, dtype=np.int64)
        self.nearest_m = np.full(n_loc + 1, np.nan)
        parts, base = [], 0
        for g in np.unique(loc_group[loc_group >= 0]):
            li, ti = np.flatnonzero(loc_group == g), np.flatnonzero(tps_group == g)
            walk = walk_matrix(graph, pts.xy[ti], xy[li], limit_m=limit_m)    # (tps, locations)
            pick, best = nearest_rows(walk)
            self.nearest[li] = np.where(pick >= 0, ti[np.maximum(pick, 0)], -1)
            self.nearest_m[li] = best
            self.loc_base[li], self.loc_width[li] = base + np.arange(len(li)), len(li)
            self.tps_local[ti] = np.arange(len(ti))
            parts.append(walk.ravel())
            base += walk.size
        self.values = np.append(np.concatenate(parts) if parts else np.zeros(0), np.nan)   # sentinel last

    def dpt_walk(self, loc: np.ndarray, dpt: np.ndarray) -> np.ndarray:
        """Walk from location ``loc`` to TPS ``dpt`` (indices; -1 = none), NaN when they are in
        different kelurahan, beyond the limit or unknown."""
        same = (self.loc_group[loc] == self.tps_group[dpt]) & (loc >= 0) & (dpt >= 0)
        flat = np.where(same, self.loc_base[loc] + self.tps_local[dpt] * self.loc_width[loc], -1)
        return self.values[flat]


__all__ = ["WALK_COLUMNS", "WalkTable"]
