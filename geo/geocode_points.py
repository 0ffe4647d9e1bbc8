"""Deterministic points inside polygons, spread so several TPS of one area do not stack.

The first TPS of an area gets the area's centre (its centroid when that lies inside, else
``shapely.point_on_surface``); the others get points of a low-discrepancy (Halton) sample drawn
uniformly inside the polygon through its constrained Delaunay triangles, nearest to the centre first.
Every point is checked with ``shapely.contains_xy`` in the polygon's own CRS, so a point never lies
outside (or on the edge of) its polygon. Same polygons and sizes in, same points out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS, STORAGE_CRS

_POOL_FACTOR = 2        # sample 2 points per TPS (plus a few) and keep the ones nearest the centre
_POOL_EXTRA = 6


def centres(polygons: np.ndarray) -> np.ndarray:
    """A deterministic inner point per polygon: the centroid if strictly inside, else a point on surface."""
    centroid = shapely.centroid(polygons)
    inside = shapely.contains_properly(polygons, centroid)
    return np.where(inside, centroid, shapely.point_on_surface(polygons))


def spread_points(polygons: np.ndarray, group: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Points inside polygons, one per (group, slot).

    Parameters
    ----------
    polygons : numpy.ndarray of shapely geometries
        One polygonal geometry per group (lon/lat degrees or metres; points come out in the same CRS).
    group : numpy.ndarray of int
        For each item, the index of its polygon in ``polygons``.
    slot : numpy.ndarray of int
        For each item, its rank within its group (0 = the centre); ranks of one group are 0..k-1.

    Returns
    -------
    numpy.ndarray of shapely Points
        Point per item, strictly inside its polygon (falls back to the centre when a polygon is too
        degenerate to sample, which the stacking check then reports).
    """
    group = np.asarray(group, dtype=np.int64)
    slot = np.asarray(slot, dtype=np.int64)
    centre = centres(polygons)
    out = centre[group].copy()
    size = np.bincount(group, minlength=len(polygons))
    crowded = np.flatnonzero(size > 1)
    if len(crowded) == 0:
        return out
    pool_x, pool_y, pool_group, pool_rank = _ranked_pool(polygons, centre, crowded, size[crowded])
    # Slot s >= 1 of group g takes the pool point of rank s - 1 in that group.
    key = pd.MultiIndex.from_arrays([pool_group, pool_rank])
    want = slot >= 1
    pos = key.get_indexer(pd.MultiIndex.from_arrays([group[want], slot[want] - 1]))
    found = pos >= 0
    idx = np.flatnonzero(want)[found]
    out[idx] = shapely.points(pool_x[pos[found]], pool_y[pos[found]])
    return out


def _ranked_pool(polygons: np.ndarray, centre: np.ndarray, groups: np.ndarray,
                 sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample points inside each group's polygon; rank them by (too close to centre, distance)."""
    n_pool = _POOL_FACTOR * sizes + _POOL_EXTRA
    x, y, g = _sample(polygons[groups], n_pool)
    g = groups[g]
    shapely.prepare(polygons)
    inside = shapely.contains_xy(polygons[g], x, y)
    x, y, g = x[inside], y[inside], g[inside]
    cx, cy = shapely.get_x(centre[g]), shapely.get_y(centre[g])
    scale = np.cos(np.radians(cy)) if _is_degrees(cx, cy) else 1.0
    dist = np.hypot((x - cx) * scale, y - cy)
    # Keep points clear of the centre (which slot 0 holds): at least half the mean spacing.
    area = shapely.area(polygons[g]) * scale
    spacing = np.sqrt(area / n_pool[np.searchsorted(groups, g)])
    too_close = dist < 0.5 * spacing
    order = np.lexsort((y, x, dist, too_close, g))
    x, y, g = x[order], y[order], g[order]
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    rank = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
    return x, y, g, rank


def _sample(polygons: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n[i]`` Halton points per polygon ``i``, uniform over its area via its triangles."""
    tris, tri_poly = shapely.get_parts(shapely.constrained_delaunay_triangles(polygons), return_index=True)
    if len(tris) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    area = shapely.area(tris)
    total = np.bincount(tri_poly, weights=area, minlength=len(polygons))
    has = total > 0
    cum = pd.Series(area).groupby(tri_poly).cumsum().to_numpy() / total[tri_poly]
    key = tri_poly + np.minimum(cum, 1.0)
    last = np.r_[np.flatnonzero(np.diff(tri_poly)), len(tri_poly) - 1]
    last_of = np.full(len(polygons), -1)
    last_of[tri_poly[last]] = last
    n = np.where(has, n, 0)
    poly = np.repeat(np.arange(len(polygons)), n)
    j = np.arange(len(poly)) - np.repeat(np.cumsum(n) - n, n) + 1
    u, r1, r2 = _halton(j, 2), _halton(j, 3), _halton(j, 5)
    t = np.minimum(np.searchsorted(key, poly + u, side="left"), last_of[poly])
    corners = shapely.get_coordinates(shapely.get_exterior_ring(tris)).reshape(-1, 4, 2)[t]
    fold = r1 + r2 > 1
    r1, r2 = np.where(fold, 1 - r1, r1), np.where(fold, 1 - r2, r2)
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    p = a + r1[:, None] * (b - a) + r2[:, None] * (c - a)
    return p[:, 0], p[:, 1], poly


def _halton(index: np.ndarray, base: int) -> np.ndarray:
    """Radical inverse of ``index`` in ``base`` (values in (0, 1) for index >= 1)."""
    i = np.asarray(index, dtype=np.int64).copy()
    out = np.zeros(len(i))
    f = 1.0
    while (i > 0).any():
        f /= base
        out += f * (i % base)
        i //= base
    return out


def _is_degrees(x: np.ndarray, y: np.ndarray) -> bool:
    return bool(len(x)) and np.nanmax(np.abs(x)) <= 180 and np.nanmax(np.abs(y)) <= 90


def farthest_m(points: np.ndarray, polygons: np.ndarray, group: np.ndarray, crs=STORAGE_CRS) -> np.ndarray:
    """Distance in metres from each point to the farthest vertex of its polygon ``polygons[group]``.

    Measured in EPSG:32748. This is the radius of the circle around the point that holds the whole
    polygon: the largest error possible when the true position is anywhere in that polygon.
    """
    pts = _to_metric(np.asarray(points), crs)
    polys = _to_metric(np.asarray(polygons), crs)
    return shapely.hausdorff_distance(pts, polys[np.asarray(group, dtype=np.int64)])


def _to_metric(geoms: np.ndarray, crs) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=crs).to_crs(METRIC_CRS).to_numpy()
