"""Demo city: the voters and TPS of one kelurahan (households, DPT rows, TPS mapping and sites).

Each kelurahan draws from its own random stream (seed, kelurahan code), so the DPT can be written
one kelurahan at a time with bounded memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo.generate_dpt import Voters
from geo.generate_geometry import City, random_points_in
from geo.generate_names import person_names, street_names
from geo.generate_people import Households, households, kk_numbers, nik_numbers, persons
from geo.generate_plan import Plan
from geo.generate_tps import central_rt, group_by_rw, group_short, merge_over_cap, tps_loads

STREETS_PER_RW = 3
TPS_AREA_M2 = 150_000  # an RW gets at least one TPS per 0.15 km², so sparse areas keep TPS within reach
SITE_M = 60            # a TPS stands within this distance of its RT's representative point
TPS_FIELDS = ["kel", "no_tps", "x", "y", "rt_row", "rw", "rt", "rw_served", "dpt", "dpt_l", "dpt_p", "street",
              "house_no"]


@dataclasses.dataclass(frozen=True)
class Areas:
    """The city as plain arrays (no pandas in the per-kelurahan loop). RT rows of kelurahan ``k``
    are ``rt_bounds[k]:rt_bounds[k + 1]``; RW rows likewise with ``rw_bounds``."""

    rt_bounds: np.ndarray
    rt_rw: np.ndarray        # RW number - 1 (local to the kelurahan)
    rt_no: np.ndarray
    rt_rw_idx: np.ndarray    # row in city.rw
    rt_geom: np.ndarray      # metres
    rt_xy: np.ndarray        # representative points (metres)
    rw_bounds: np.ndarray
    rw_area: np.ndarray      # m²
    kode: np.ndarray         # kelurahan code (str)
    kode_kec: np.ndarray     # int
    kel_in_kec: np.ndarray
    kel_index: np.ndarray

    @classmethod
    def of(cls, city: City, rt_xy: np.ndarray) -> "Areas":
        kel, rw, rt = city.kel, city.rw, city.rt
        n = np.arange(len(kel) + 1)
        return cls(
            rt_bounds=np.searchsorted(rt["kel"].to_numpy(), n), rt_rw=rt["rw"].to_numpy() - 1,
            rt_no=rt["rt"].to_numpy(), rt_rw_idx=rt["rw_idx"].to_numpy(), rt_geom=rt["geometry"].to_numpy(),
            rt_xy=rt_xy, rw_bounds=np.searchsorted(rw["kel"].to_numpy(), n),
            rw_area=shapely.area(rw["geometry"].to_numpy()), kode=kel["kode"].to_numpy(dtype=object),
            kode_kec=kel["kode_kec"].astype(np.int64).to_numpy(), kel_in_kec=kel["kel_in_kec"].to_numpy(),
            kel_index=kel["kel_index"].to_numpy())


@dataclasses.dataclass
class Kelurahan:
    """One kelurahan's output: its DPT ``voters``, its ``tps`` (arrays named by ``TPS_FIELDS``,
    one entry per TPS, true site in metres), voters per RT (``rt_voters``) and households."""

    voters: Voters
    tps: dict[str, np.ndarray]
    rt_voters: np.ndarray
    households: int


def generate_kelurahan(k: int, areas: Areas, plan: Plan, cap: int, rng: np.random.Generator) -> Kelurahan:
    """Households, voters and TPS of kelurahan row ``k``."""
    lo, hi = areas.rt_bounds[k], areas.rt_bounds[k + 1]
    rt_rw = areas.rt_rw[lo:hi]
    n_rw = int(areas.rw_bounds[k + 1] - areas.rw_bounds[k])
    hh = households(int(plan.voters[k]), _rt_weights(k, areas, plan, rng), int(areas.kode_kec[k]), rng)
    female, birth = persons(hh, rng)
    tps_of = _tps_mapping(k, areas, plan, cap, hh, rt_rw[hh.rt], n_rw)
    anchor = central_rt(tps_of, hh.rt, areas.rt_xy[lo:hi])
    served_rw = rt_rw[anchor] + 1
    if k == plan.gap_kel:  # the gap RW's TPS sit far away, in another RW of the kelurahan
        anchor[np.unique(tps_of[np.isin(hh.rt + lo, plan.gap_core)])] = plan.gap_far_rt - lo
    streets = street_names(STREETS_PER_RW * n_rw, rng)
    voters = _voters(k, areas, hh, female, birth, tps_of, streets, rng)
    dpt, dpt_l, dpt_p = tps_loads(tps_of, hh.size, female, hh.member_of)
    n = len(dpt)
    x, y = _sites(areas.rt_geom[lo:hi][anchor], areas.rt_xy[lo:hi][anchor], rng)
    tps = {"kel": np.full(n, k), "no_tps": np.arange(1, n + 1), "x": x, "y": y, "rt_row": anchor + lo,
           "rw": rt_rw[anchor] + 1, "rt": areas.rt_no[lo:hi][anchor], "rw_served": served_rw, "dpt": dpt,
           "dpt_l": dpt_l, "dpt_p": dpt_p,
           "street": streets[rt_rw[anchor] * STREETS_PER_RW + rng.integers(0, STREETS_PER_RW, n)],
           "house_no": rng.integers(1, 200, n)}
    rt_voters = np.bincount(hh.rt, weights=hh.size, minlength=hi - lo).astype(np.int64)
    return Kelurahan(voters, tps, rt_voters, len(hh.size))


def _sites(rt_geom: np.ndarray, rt_xy: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random point for each TPS inside its RT, within ``SITE_M`` of the RT's representative
    point (schools, halls and fields near the middle of the neighbourhood)."""
    near = shapely.intersection(rt_geom, shapely.buffer(shapely.points(rt_xy), SITE_M, quad_segs=4))
    near = np.where(shapely.area(near) > 1.0, near, rt_geom)
    _, x, y = random_points_in(near, np.ones(len(rt_geom), np.int64), rng)
    return x, y


def _rt_weights(k: int, areas: Areas, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Relative population of each RT: uneven RTs within uneven RWs (gamma-distributed)."""
    lo, hi = areas.rt_bounds[k], areas.rt_bounds[k + 1]
    rt_rw = areas.rt_rw[lo:hi]
    n_rw = int(areas.rw_bounds[k + 1] - areas.rw_bounds[k])
    weight = rng.gamma(2.0, 0.5, hi - lo) * rng.gamma(3.0, 1 / 3, n_rw)[rt_rw]
    if k == plan.gap_kel:  # the gap RW keeps its share of voters, all in its deep RTs
        gap_rts = areas.rt_rw_idx[lo:hi] == plan.gap_rw
        core = np.isin(np.arange(lo, hi), plan.gap_core)
        weight[core] *= weight[gap_rts].sum() / weight[core].sum()
        weight[gap_rts & ~core] = 0.0
    return weight


def _tps_mapping(k: int, areas: Areas, plan: Plan, cap: int, hh: Households, hh_rw: np.ndarray, n_rw: int
                 ) -> np.ndarray:
    """TPS index of each household: per RW under the cap, or a planted exception."""
    if k == plan.too_few:
        return group_short(hh.start, -(-int(plan.voters[k]) // cap) - 1, cap)
    rw_area = areas.rw_area[areas.rw_bounds[k]:areas.rw_bounds[k + 1]]
    tps_of = group_by_rw(hh.size, hh.start, hh_rw, n_rw, cap, np.ceil(rw_area / TPS_AREA_M2).astype(np.int64))
    if k == plan.overload:
        tps_of, merged = merge_over_cap(tps_of, hh.size, cap)
        if merged is None:
            plan.notes.append(f"overloaded_tps not planted: no run of TPS in kelurahan {areas.kode[k]} "
                              f"exceeds {cap} voters")
            plan.overload = -1
    return tps_of


def _voters(k: int, areas: Areas, hh: Households, female: np.ndarray, birth: np.ndarray, tps_of: np.ndarray,
            streets: np.ndarray, rng: np.random.Generator) -> Voters:
    lo, hi = areas.rt_bounds[k], areas.rt_bounds[k + 1]
    member = hh.member_of
    hh_rw = areas.rt_rw[lo:hi][hh.rt]
    street = streets[hh_rw * STREETS_PER_RW + rng.integers(0, STREETS_PER_RW, len(hh.size))]
    alamat = pc.binary_join_element_wise(pc.utf8_upper(pa.array(street, type=pa.string())),
                                         pa.array(rng.integers(1, 200, len(hh.size))).cast(pa.string()), " NO. ")
    kec, in_kec = int(areas.kode_kec[k]), int(areas.kel_in_kec[k])
    return Voters(
        nik=nik_numbers(hh.region[member], birth, female, hh.mover[member], in_kec, int(areas.kel_index[k])),
        nkk=kk_numbers(len(hh.size), kec, in_kec, rng)[member], names=person_names(female, member, rng),
        female=female, birth=birth, alamat=alamat.take(pa.array(member)), rt=areas.rt_no[lo:hi][hh.rt][member],
        rw=hh_rw[member] + 1, kode_kel=str(areas.kode[k]), tps=tps_of[member] + 1)
