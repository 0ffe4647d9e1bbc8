"""Demo city geometry: kelurahan, RW and RT polygons generated over Jakarta's real extent.

Kelurahan are Voronoi cells of the real kelurahan centroids (``data/wilayah_dki.csv``), clipped
to a land mask made of disks sized from each kelurahan's real area, so each cell has roughly its
real area and its real neighbours. Each kelurahan is split into RW, and each RW into RT, by
Voronoi cells of seeded points (one Lloyd step evens their sizes). Everything is built in
EPSG:32748 (metres); callers reproject to EPSG:4326 for output.

Each kelurahan draws its points from its own random stream (seed, kelurahan code), so a
kelurahan looks the same whether it is generated alone or within the whole city.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geo.codes import parse_wilayah
from geo.errors import InputError, NotFoundError

WILAYAH_CSV = Path(__file__).resolve().parent.parent / "data" / "wilayah_dki.csv"
RW_TARGET = 2_700            # RW in all of DKI (OSM 2012 counts 2,685)
RT_PER_RW = (6, 16)          # inclusive range; mean 11 → ~30,000 RT in DKI
RW_AREA_SHARE = 0.25         # part of the RW count spread by area rather than by voters
LAND_FACTOR = 1.2            # disk radius / radius of a disk of the real area (total area ≈ real)
MIN_PART_M2 = 0.01           # polygon parts smaller than this (m²) are clipping slivers
STREAM_RW, STREAM_RT = 1, 2  # random stream ids (see geo.generate.STREAMS)


@dataclasses.dataclass
class City:
    """The generated areas of one run (metric geometries, EPSG:32748).

    ``kel`` rows are the selected kelurahan (table columns + ``geometry``); ``rw`` and ``rt`` hold
    ``kel`` (row in ``kel``), ``rw`` and ``rt`` numbers (1-based) and ``geometry``; ``rt`` also has
    ``rw_idx`` (row in ``rw``). Rows are sorted by kelurahan code, RW, RT. ``cells`` holds the
    polygons of all kelurahan of the table, selected or not.
    """

    kel: pd.DataFrame
    rw: pd.DataFrame
    rt: pd.DataFrame
    cells: np.ndarray  # polygons of every kelurahan of the table (selected or not)


def read_wilayah(path: str | Path | None = None) -> pd.DataFrame:
    """Read the kelurahan table (codes as text, centroid in degrees, area in km², voter weight)."""
    path = Path(path) if path else WILAYAH_CSV
    if not path.is_file():
        raise InputError("kelurahan table not found (regenerate with scripts/make_wilayah_table.py)",
                         file=str(path))
    table = pd.read_csv(path, dtype={"kode": str, "kode_kec": str, "kode_kab": str})
    return table.sort_values("kode").reset_index(drop=True)


def select_kelurahan(table: pd.DataFrame, kode: str | None) -> np.ndarray:
    """Boolean mask of the kelurahan under ``kode`` (kota, kecamatan or kelurahan code; None = all)."""
    if kode is None:
        return np.ones(len(table), dtype=bool)
    prefix = parse_wilayah(kode)
    mask = table["kode"].str.startswith(prefix).to_numpy()
    if not mask.any():
        raise NotFoundError(f"no DKI Jakarta kelurahan under code {kode!r} (expected e.g. 3171, 317101 "
                            "or 3171011001)")
    return mask


def kelurahan_cells(table: pd.DataFrame, xy: np.ndarray) -> np.ndarray:
    """Kelurahan polygons (metric) for every row of ``table``: Voronoi cells of the centroids ``xy``
    clipped to the land mask; where a cell is cut into pieces only its largest piece is kept."""
    radius = np.sqrt(table["area_km2"].to_numpy() * 1e6 / np.pi) * LAND_FACTOR
    points = shapely.points(xy)
    land = shapely.union_all(shapely.buffer(points, radius, quad_segs=16))
    frame = shapely.buffer(shapely.envelope(land), 5_000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame,
                                                       ordered=True))
    return largest_part(shapely.intersection(cells, land))


def rw_counts(table: pd.DataFrame) -> np.ndarray:
    """RW per kelurahan, ~``RW_TARGET`` over DKI (at least 1): ∝ its real voter weight, with a
    ``RW_AREA_SHARE`` part ∝ its area so that sparse, large kelurahan do not get huge RWs."""
    weight = table["dpt_2024"].to_numpy(dtype=float)
    area = table["area_km2"].to_numpy(dtype=float)
    share = (1 - RW_AREA_SHARE) * weight / weight.sum() + RW_AREA_SHARE * area / area.sum()
    return np.maximum(1, np.round(RW_TARGET * share)).astype(np.int64)


def build_city(table: pd.DataFrame, selected: np.ndarray, xy: np.ndarray, seed: int) -> City:
    """Kelurahan, RW and RT polygons of the selected kelurahan (metric, EPSG:32748)."""
    cells = kelurahan_cells(table, xy)
    kel = table.loc[selected].reset_index(drop=True)
    kel["geometry"] = cells[selected]
    n_rw = rw_counts(table)[selected]
    rngs = [np.random.default_rng([seed, STREAM_RW, int(k)]) for k in kel["kode"]]
    kel_polys = kel["geometry"].to_numpy()
    rw_parent, rw_geom = _split_each(kel_polys, n_rw, rngs, lloyd=True)
    rt_counts = np.concatenate([r.integers(RT_PER_RW[0], RT_PER_RW[1] + 1, size=n)
                                for r, n in zip(rngs, n_rw)]) if len(kel) else np.zeros(0, np.int64)
    rw_kel = np.repeat(np.arange(len(kel)), n_rw)
    rt_parent, rt_geom = _split_each(rw_geom, rt_counts, [rngs[k] for k in rw_kel], group=rw_kel, lloyd=False)
    rw = pd.DataFrame({"kel": rw_kel, "rw": _ordinal(rw_parent), "geometry": rw_geom})
    rt = pd.DataFrame({"kel": rw_kel[rt_parent], "rw": rw["rw"].to_numpy()[rt_parent], "rw_idx": rt_parent,
                       "rt": _ordinal(rt_parent), "geometry": rt_geom})
    return City(kel, rw, rt, cells)


def plant_deep_rw(city: City, k: int, centre: tuple[float, float], radius: float, core_m: float,
                  rng: np.random.Generator) -> int:
    """Re-draw the RWs of kelurahan row ``k`` so that its RW 1 is a round area of ``radius`` metres
    around ``centre`` whose RT 1 is a small disk (``core_m``) at the centre; the other RWs share the
    rest. RW and RT counts are kept. Returns the ``city.rw`` row of RW 1.

    Used to plant an RW whose voters live deep inside it (a disk's representative point is its
    centre, ``radius`` from any other RW); ``centre``/``radius`` must fit inside the kelurahan.
    """
    rw_rows = np.flatnonzero(city.rw["kel"].to_numpy() == k)
    rt_rw = city.rt["rw_idx"].to_numpy()
    kel = city.kel["geometry"].iat[k]
    deep = shapely.intersection(shapely.buffer(shapely.Point(centre), radius, quad_segs=4), kel)
    _, others = _split_each(np.array([shapely.difference(kel, deep)], dtype=object),
                            np.array([len(rw_rows) - 1]), [rng], lloyd=True)
    rw_geom = polygonal(np.r_[np.array([deep], dtype=object), others])
    counts = np.array([(rt_rw == r).sum() for r in rw_rows])
    core = shapely.intersection(shapely.buffer(shapely.Point(centre), core_m, quad_segs=8), deep)
    parents = np.r_[np.array([shapely.difference(deep, core)], dtype=object), rw_geom[1:]]
    owner, cells = _split_each(parents, np.r_[counts[0] - 1, counts[1:]], [rng] * len(parents),
                               group=np.zeros(len(parents), np.int64), lloyd=False)
    rt_geom = np.r_[polygonal(np.array([core], dtype=object)), cells]
    geoms = city.rw["geometry"].to_numpy().copy()
    geoms[rw_rows] = rw_geom
    city.rw["geometry"] = geoms
    geoms = city.rt["geometry"].to_numpy().copy()
    geoms[np.flatnonzero(np.isin(rt_rw, rw_rows))] = rt_geom
    city.rt["geometry"] = geoms
    return int(rw_rows[0])


def _split_each(parents: np.ndarray, counts: np.ndarray, rngs: list, group: np.ndarray | None = None,
                lloyd: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Split each parent polygon into ``counts[i]`` Voronoi cells; return (parent index, cell) sorted
    by parent then clockwise from north around the parent's centroid.

    Seeds are drawn per group of parents (``group``; default one group per parent) from that
    group's generator, so the draws of one kelurahan never depend on the others. ``lloyd`` moves
    the seeds once to their cell centroids first (even sizes; costs a second diagram).
    """
    group = np.arange(len(parents)) if group is None else group
    if len(parents) == 0:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object)
    firsts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    bounds = np.r_[firsts, len(parents)]
    ids, x, y = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        i, px, py = random_points_in(parents[a:b], counts[a:b], rngs[a])
        ids.append(i + a), x.append(px), y.append(py)
    ids, x, y = np.concatenate(ids), np.concatenate(x), np.concatenate(y)
    if lloyd:
        x, y = _lloyd_step(parents, counts, ids, x, y)
    cells = _voronoi_cells(parents, counts, ids, x, y)
    centre = shapely.get_coordinates(shapely.centroid(parents))[ids]
    angle = np.mod(np.arctan2(x - centre[:, 0], y - centre[:, 1]), 2 * np.pi)
    order = np.lexsort((angle, ids))
    return ids[order], cells[order]


def _voronoi_cells(parents, counts, ids, x, y) -> np.ndarray:
    """Voronoi cells of the points of each parent, clipped to it (a lone point gets the parent)."""
    multi = shapely.multipoints(shapely.points(x, y), indices=ids)
    diagrams = shapely.voronoi_polygons(multi, extend_to=parents, ordered=True)
    parts, part_of = shapely.get_parts(diagrams, return_index=True)
    cells = np.empty(len(ids), dtype=object)
    several = counts[ids] > 1
    # get_parts keeps the point order within each diagram (ordered=True) and parents in order.
    keep = counts[part_of] > 1
    cells[several] = polygonal(shapely.intersection(parts[keep], parents[part_of[keep]]))
    cells[~several] = polygonal(parents[ids[~several]])
    return cells


def _lloyd_step(parents, counts, ids, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Move each seed to the centroid of its clipped cell (inner point when the centroid falls outside)."""
    cells = _voronoi_cells(parents, counts, ids, x, y)
    c = shapely.centroid(cells)
    inside = shapely.contains(parents[ids], c)
    c = np.where(inside, c, shapely.point_on_surface(cells))
    xy = shapely.get_coordinates(c)
    return xy[:, 0], xy[:, 1]


def random_points_in(polys: np.ndarray, counts: np.ndarray, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform random points inside polygons: ``counts[i]`` points in ``polys[i]``.

    Returns (polygon index, x, y) sorted by polygon index (stable). Rejection sampling in each
    polygon's bounding box, vectorized over all polygons; repeated until every count is met.
    """
    polys = np.asarray(polys, dtype=object)
    need = np.asarray(counts, dtype=np.int64).copy()
    box = shapely.bounds(polys)
    width, height = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    fill = np.clip(shapely.area(polys) / np.maximum(width * height, 1e-9), 0.05, 1.0)
    shapely.prepare(polys)
    got_i, got_x, got_y = [], [], []
    while need.sum() > 0:
        tries = np.where(need > 0, np.ceil(need / fill * 1.3).astype(np.int64) + 2, 0)
        pid = np.repeat(np.arange(len(polys)), tries)
        px = box[pid, 0] + rng.random(len(pid)) * width[pid]
        py = box[pid, 1] + rng.random(len(pid)) * height[pid]
        ok = shapely.contains_xy(polys[pid], px, py)
        pid, px, py = pid[ok], px[ok], py[ok]
        first = np.searchsorted(pid, np.arange(len(polys)))
        keep = (np.arange(len(pid)) - first[pid]) < need[pid]
        got_i.append(pid[keep]), got_x.append(px[keep]), got_y.append(py[keep])
        need -= np.bincount(pid[keep], minlength=len(polys))
    i, x, y = (np.concatenate(a) if a else np.zeros(0) for a in (got_i, got_x, got_y))
    order = np.argsort(i, kind="stable")
    return i[order].astype(np.int64), x[order], y[order]


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry, as MultiPolygons (empty when none); drops
    the sliver parts (< ``MIN_PART_M2``) that clipping leaves along shared edges."""
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = _flat_parts(geoms)
    poly = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_PART_M2)
    out = np.full(len(geoms), _EMPTY, dtype=object)
    present = np.unique(idx[poly])
    if len(present):
        out[present] = shapely.multipolygons(parts[poly], indices=np.searchsorted(present, idx[poly]))
    return out


def largest_part(geoms: np.ndarray) -> np.ndarray:
    """The largest polygon of each geometry, as a one-part MultiPolygon."""
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = _flat_parts(geoms)
    poly = shapely.get_type_id(parts) == 3
    parts, idx = parts[poly], idx[poly]
    order = np.lexsort((-shapely.area(parts), idx))
    first = order[np.r_[True, idx[order][1:] != idx[order][:-1]]] if len(order) else order
    out = np.full(len(geoms), _EMPTY, dtype=object)
    out[idx[first]] = shapely.multipolygons(parts[first], indices=np.arange(len(first)))
    return out


def _flat_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parts of each geometry, two levels deep (collections of multi-geometries), with their owner."""
    p1, i1 = shapely.get_parts(geoms, return_index=True)
    p2, i2 = shapely.get_parts(p1, return_index=True)
    return p2, i1[i2]


_EMPTY = shapely.from_wkt("MULTIPOLYGON EMPTY")


def _ordinal(parent: np.ndarray) -> np.ndarray:
    """1-based position of each row within its run of equal ``parent`` values."""
    if len(parent) == 0:
        return np.zeros(0, np.int64)
    first = np.searchsorted(parent, parent)  # parent is sorted
    return np.arange(len(parent)) - first + 1
