"""Each voter's nearest TPS, and the distance to the TPS the DPT assigns ("your TPS").

Voters are never located one by one. All voters of an RT share one *location*
(:func:`geo.locations.voter_locations`: the RT polygon's representative point, else the RW's, else
the kelurahan's). Nearest TPS are computed per location (~30 k for DKI Jakarta) with a KD-tree
(:mod:`geo.nearest`), then mapped onto millions of voters with integer codes and ``np.take``.

Two questions are answered per voter:

- *your TPS* (``tps_dpt``): the TPS the DPT lists for the voter, and its distance ``dist_dpt_m``;
- *nearest TPS* (``tps_nearest``): the closest placed TPS of the voter's own kelurahan, which is the
  KPU rule; ``tps_nearest_any`` ignores kelurahan borders, to expose borders that force long walks.

Distances are planar in EPSG:32748 (UTM 48S, < 0.1 % scale error in Jakarta), in metres rounded to 1 cm.
"""

from __future__ import annotations

import logging
from typing import Iterable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from geo.distances import DistanceSummary
from geo.locations import LOC_LEVELS, LOCATION_COLUMNS, LocationIndex, int_codes, voter_locations
from geo.nearest import TpsPoints, index_in, nearest_indices, nearest_tps, require_columns, take_strings, tps_points
from geo.network import DEFAULT_LIMIT_M, RoadGraph
from geo.report import Problem, Report
from geo.walk import WalkTable

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = ["voter_key", "kode_kel", "rw", "rt", "lon", "lat", "tps_dpt", "dist_dpt_m", "tps_nearest",
                  "dist_nearest_m", "tps_nearest_any", "dist_nearest_any_m"]


# --- voters ---------------------------------------------------------------------------------

def assign_voters(voters: pd.DataFrame | Iterable[pd.DataFrame], locations: pd.DataFrame,
                  tps: gpd.GeoDataFrame, *, margin_m: float = 500.0, network: RoadGraph | None = None,
                  walk_limit_m: float = DEFAULT_LIMIT_M) -> tuple[pd.DataFrame | Iterator[pd.DataFrame], Report]:
    """Nearest TPS (own kelurahan, and any), and the distance to the DPT's TPS, for every voter.

    Parameters
    ----------
    voters : DataFrame or iterable of DataFrames
        The ``voters`` layer (``voter_key``, ``kode_kel``, ``rw``, ``rt``, ``kode_tps``), whole or
        in chunks as streamed from the store.
    locations : DataFrame
        From :func:`voter_locations`; voters whose (kode_kel, rw, rt) has no location are kept with
        NA coordinates and distances.
    tps : GeoDataFrame
        The ``tps`` layer; TPS without a point are ignored (and counted).
    margin_m : float, default 500
        A voter is flagged when ``dist_dpt_m - dist_nearest_m > margin_m`` (metres).
    network : RoadGraph, optional
        A road graph (:func:`geo.network.build_graph`): adds :data:`geo.walk.WALK_COLUMNS`, the
        nearest TPS on foot in the own kelurahan and the walk to the DPT's TPS (metres).
    walk_limit_m : float, default 3000
        Longest walk considered; longer walks are NaN and counted.

    Returns
    -------
    result : DataFrame or iterator of DataFrames
        Exactly :data:`OUTPUT_COLUMNS` (+ walk columns with ``network``), one row per voter in input
        order: ``lon``/``lat`` of the voter's location (EPSG:4326, 6 decimals), TPS codes and distances
        in metres (EPSG:32748, 1 cm).
        A DataFrame for a DataFrame input; for chunks, a lazy iterator of one output per chunk.
    report : Report
        Counts (voters without location / without TPS in their kelurahan / flagged beyond the margin)
        and distance figures (mean, p95). For chunked input it is complete once the iterator is exhausted.
    """
    assigner = _Assigner(locations, tps, network, walk_limit_m)
    report = Report("assign nearest", source="voters")
    stats = AssignStats(margin_m, walk=network is not None)
    assigner.describe(report)
    if isinstance(voters, pd.DataFrame):
        out = assigner.assign(voters, stats)
        stats.finish(report)
        return out, report

    def chunks() -> Iterator[pd.DataFrame]:
        for chunk in voters:
            yield assigner.assign(chunk, stats)
        stats.finish(report)

    return chunks(), report


def far_from_dpt(assigned: pd.DataFrame, margin_m: float = 500.0) -> pd.Series:
    """Boolean per voter: the DPT's TPS is more than ``margin_m`` metres farther than the nearest one."""
    return (assigned["dist_dpt_m"] - assigned["dist_nearest_m"] > margin_m).fillna(False).astype(bool)


class _Assigner:
    """Per-location answers computed once; :meth:`assign` maps them onto voter chunks.

    Per-location and per-TPS arrays carry one extra *sentinel* element at the end (NaN / -1), so the
    index -1 ("no location", "no TPS") gathers the sentinel and needs no masking per voter.
    """

    def __init__(self, locations: pd.DataFrame, tps: gpd.GeoDataFrame, network: RoadGraph | None = None,
                 walk_limit_m: float = DEFAULT_LIMIT_M):
        require_columns(locations, ("loc_key", "kode_kel", "rw", "rt", "x", "y", "lon", "lat"), "locations")
        self.pts: TpsPoints = tps_points(tps)
        self.locations = locations
        self.index = LocationIndex(locations)
        xy = locations[["x", "y"]].to_numpy(np.float64)
        tps_kels = pc.unique(self.pts.kode_kel)
        self.loc_group = index_in(locations["kode_kel"], tps_kels)
        self.tps_group = np.append(index_in(self.pts.kode_kel, tps_kels), -3)
        near, near_d = nearest_indices(xy, self.loc_group, self.pts.xy, self.tps_group[:-1])
        near_any, any_d = nearest_indices(xy, None, self.pts.xy, None)
        self.near, self.near_any = np.append(near, -1), np.append(near_any, -1)
        self.near_d, self.any_d = _sentinel(np.round(near_d, 2)), _sentinel(np.round(any_d, 2))
        self.x, self.y = _sentinel(xy[:, 0]), _sentinel(xy[:, 1])
        self.lon = _sentinel(np.round(locations["lon"].to_numpy(np.float64), 6))
        self.lat = _sentinel(np.round(locations["lat"].to_numpy(np.float64), 6))
        self.kel_group = np.append(index_in(self.index.kels, tps_kels), -2)   # voter's kelurahan → TPS group
        self.tx, self.ty = _sentinel(self.pts.x), _sentinel(self.pts.y)
        self.walk = WalkTable(locations, self.pts, network, limit_m=walk_limit_m) if network is not None else None
        self.network = network

    def describe(self, report: Report) -> None:
        levels = self.locations["loc_level"].value_counts() if "loc_level" in self.locations else {}
        report.figures.update({"tps_placed": len(self.pts), "tps_unplaced": self.pts.unplaced,
                               "locations": len(self.locations),
                               "locations_by_level": {lv: int(levels.get(lv, 0)) for lv in LOC_LEVELS}})
        placed = np.isfinite(self.x[:-1])
        no_tps = sorted(set(self.locations.loc[placed & (self.loc_group < 0), "kode_kel"].dropna()))
        report.figures["kelurahan_without_tps"] = len(no_tps)
        if self.network is not None:
            g = self.network.report.figures
            report.figures["network"] = {"source": self.network.report.source, "walk_limit_m": self.walk.limit_m,
                                         **{k: g[k] for k in ("nodes", "pieces", "km_kept", "components_dropped",
                                                              "km_dropped")}}
        report.warn(Problem("tps", None, "kode_kel", k, "no placed TPS in this kelurahan: its voters get "
                            "no nearest TPS (reported, not dropped)") for k in no_tps)

    def assign(self, chunk: pd.DataFrame, stats: "AssignStats") -> pd.DataFrame:
        """The output rows of one chunk of voters (and their figures added to ``stats``)."""
        require_columns(chunk, ("voter_key", "kode_kel", "rw", "rt", "kode_tps"), "voters")
        kel = self.index.kelurahan(chunk["kode_kel"])
        loc = self.index.locate(kel, int_codes(chunk["rw"]), int_codes(chunk["rt"]))   # -1 → the sentinel: NaN / no TPS
        dpt = index_in(chunk["kode_tps"], self.pts.codes)
        dist_dpt = np.round(np.hypot(self.tx[dpt] - self.x[loc], self.ty[dpt] - self.y[loc]), 2)
        near, near_any = self.near[loc], self.near_any[loc]
        cols = {
            "voter_key": chunk["voter_key"].astype("string"), "kode_kel": chunk["kode_kel"].astype("string"),
            "rw": chunk["rw"].astype("Int16"), "rt": chunk["rt"].astype("Int16"),
            "lon": self.lon[loc], "lat": self.lat[loc],
            "tps_dpt": chunk["kode_tps"].astype("string"), "dist_dpt_m": dist_dpt,
            "tps_nearest": take_strings(self.pts.codes, near), "dist_nearest_m": self.near_d[loc],
            "tps_nearest_any": take_strings(self.pts.codes, near_any), "dist_nearest_any_m": self.any_d[loc],
        }
        if self.walk is not None:
            cols.update({"tps_nearest_walk": take_strings(self.pts.codes, self.walk.nearest[loc]),
                         "dist_nearest_walk_m": np.round(self.walk.nearest_m[loc], 2),
                         "dist_dpt_walk_m": np.round(self.walk.dpt_walk(loc, dpt), 2)})
        out = pd.concat([_column(v, k) for k, v in cols.items()], axis=1)
        stats.add(out, has=loc >= 0, near=near, near_any=near_any, dpt=dpt,
                  dpt_other_kel=(dpt >= 0) & (self.tps_group[dpt] != self.kel_group[kel]))
        return out


class AssignStats:
    """Figures of an assignment, accumulated chunk by chunk (see :func:`assign_voters`)."""

    COUNTS = ("voters", "voters_without_location", "voters_without_tps_in_kelurahan", "voters_without_dpt_tps",
              "voters_dpt_tps_unplaced", "voters_dpt_tps_other_kelurahan", "voters_far_from_dpt_tps",
              "voters_nearest_any_other_kelurahan")

    def __init__(self, margin_m: float, walk: bool = False):
        self.margin_m = float(margin_m)
        self.counts = dict.fromkeys(self.COUNTS + (("voters_no_walk_to_nearest",) if walk else ()), 0)
        names = ["dist_dpt_m", "dist_nearest_m", "dist_nearest_any_m", "excess_dpt_over_nearest_m"]
        self.dist = {k: DistanceSummary() for k in names + (["dist_nearest_walk_m", "dist_dpt_walk_m"] if walk else [])}

    def add(self, out: pd.DataFrame, *, has: np.ndarray, near: np.ndarray, near_any: np.ndarray,
            dpt: np.ndarray, dpt_other_kel: np.ndarray) -> None:
        excess = out["dist_dpt_m"].to_numpy() - out["dist_nearest_m"].to_numpy()
        known = out["tps_dpt"].notna().to_numpy()
        c = self.counts
        c["voters"] += len(out)
        c["voters_without_location"] += int((~has).sum())
        c["voters_without_tps_in_kelurahan"] += int((has & (near < 0)).sum())
        c["voters_without_dpt_tps"] += int((~known).sum())
        c["voters_dpt_tps_unplaced"] += int((known & (dpt < 0)).sum())
        c["voters_dpt_tps_other_kelurahan"] += int(dpt_other_kel.sum())
        c["voters_far_from_dpt_tps"] += int((excess > self.margin_m).sum())
        c["voters_nearest_any_other_kelurahan"] += int(((near_any >= 0) & (near_any != near)).sum())
        if "voters_no_walk_to_nearest" in c:      # a TPS in the kelurahan, but none within the walk limit
            c["voters_no_walk_to_nearest"] += int((has & (near >= 0) & out["dist_nearest_walk_m"].isna()).sum())
        for k in self.dist:
            if k in out:
                self.dist[k].add(out[k].to_numpy())
        self.dist["excess_dpt_over_nearest_m"].add(excess)

    def finish(self, report: Report) -> None:
        report.rows_read = report.rows_loaded = self.counts["voters"]
        report.figures.update(self.counts)
        report.figures["margin_m"] = self.margin_m
        report.figures.update({k: v.as_dict() for k, v in self.dist.items()})
        report.finish()


def _column(values: pd.Series | np.ndarray, name: str) -> pd.Series:
    """A column for the output frame, without copying (pd.concat keeps one block per column)."""
    if isinstance(values, pd.Series):
        return values.rename(name).reset_index(drop=True)
    return pd.Series(values, name=name, copy=False)


def _sentinel(values: np.ndarray) -> np.ndarray:
    return np.append(np.asarray(values, dtype=np.float64), np.nan)


__all__ = ["OUTPUT_COLUMNS", "LOCATION_COLUMNS", "voter_locations", "nearest_tps", "assign_voters", "far_from_dpt"]
