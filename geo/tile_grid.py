"""Web Mercator XYZ tile arithmetic: positions, z/x/y of points, tile bounds, grid cells.

Tiles follow the XYZ scheme of OpenStreetMap/Leaflet (EPSG:3857, ``y`` counted from the north).
Positions are *normalised* Web Mercator coordinates in [0, 1] (``mx`` east, ``my`` south), so the
tile of a point at zoom ``z`` is ``floor(mx * 2**z), floor(my * 2**z)``.

Edge rule: a point on a tile edge belongs to the tile east/south of the edge. Tile coordinates
within ``SNAP`` (1e-9) tile widths of an integer are put on it first, since an edge computed from
degrees lands within rounding error of the integer. The PostGIS tile queries
(:mod:`geo.store.postgis`) compute the same formulas and the same snap, so both builders cut tiles
along identical edges. :func:`tile_bounds` returns edges that map back into their tile under this
rule, even at zoom 21-24 near the poles where one ulp of a latitude exceeds the snap.
"""

from __future__ import annotations

import math

import numpy as np

EXTENT = 4096
BUFFER = 64
MAX_LAT = 85.0511287798066
MAX_ZOOM = 24
SNAP = 1e-9


def mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Web Mercator coordinates in [0, 1] (x east, y south) of lon/lat degrees."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_LAT, MAX_LAT)
    mx = (lon + 180.0) / 360.0
    my = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0
    return mx, my


def lonlat(mx, my) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`mercator`: lon/lat degrees of normalised Web Mercator coordinates."""
    mx = np.asarray(mx, dtype=float)
    my = np.asarray(my, dtype=float)
    return mx * 360.0 - 180.0, np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * my))))


def lonlat_to_tile(lon, lat, z: int) -> tuple[np.ndarray, np.ndarray]:
    """Tile column ``x`` and row ``y`` (int64 arrays) holding each lon/lat point at zoom ``z``.

    Examples
    --------
    >>> [int(v) for v in lonlat_to_tile(106.8272, -6.1754, 14)]   # Monas, Jakarta
    [13052, 8472]
    """
    check_zoom(z)
    mx, my = mercator(lon, lat)
    n = 2 ** z
    tx, ty = snap(mx * n), snap(my * n)
    return (np.clip(np.floor(tx), 0, n - 1).astype(np.int64),
            np.clip(np.floor(ty), 0, n - 1).astype(np.int64))


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of tile ``z/x/y`` in degrees (EPSG:4326).

    The north-west corner ``(west, north)`` lies in the tile itself (:func:`lonlat_to_tile` gives
    back ``x, y``) and ``(east, south)`` is the north-west corner of the tile to the south-east:
    each edge is the degree value nearest the exact edge that the edge rule puts in the tile
    east/south of it. Neighbouring tiles share their edge values exactly.
    """
    check_tile(z, x, y)
    west, east = _lon_edge(x, z), _lon_edge(x + 1, z)
    north, south = _lat_edge(y, z), _lat_edge(y + 1, z)
    return west, south, east, north


def tiles_covering(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int, int]]:
    """Every tile ``(z, x, y)`` meeting the lon/lat box (west, south, east, north), x then y order."""
    west, south, east, north = bounds
    if west > east or south > north:
        raise ValueError(f"bounds must be (west, south, east, north), got {bounds}")
    xs, ys = lonlat_to_tile([west, east], [north, south], z)
    return [(z, x, y) for x in range(int(xs[0]), int(xs[1]) + 1) for y in range(int(ys[0]), int(ys[1]) + 1)]


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ``ValueError`` unless ``z/x/y`` is a valid XYZ tile (0 <= x, y < 2**z)."""
    check_zoom(z)
    n = 2 ** z
    if not (0 <= x < n and 0 <= y < n):
        raise ValueError(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{n - 1} at zoom {z}")


def check_zoom(z: int) -> None:
    """Raise ``ValueError`` unless ``z`` is an integer zoom in 0..24."""
    if not isinstance(z, (int, np.integer)) or not 0 <= z <= MAX_ZOOM:
        raise ValueError(f"zoom must be an integer in 0..{MAX_ZOOM}, got {z!r}")


def snap(t: np.ndarray) -> np.ndarray:
    """Tile coordinates within :data:`SNAP` of an integer, put on it (edges computed from degrees)."""
    r = np.round(t)
    return np.where(np.abs(t - r) < SNAP, r, t)


def grid_aggregate(mx: np.ndarray, my: np.ndarray, z: int, cells: int,
                   weights: tuple[np.ndarray, ...] = ()) -> tuple[np.ndarray, ...]:
    """Group points into the ``cells`` x ``cells`` grid of every zoom-``z`` tile.

    Parameters
    ----------
    mx, my : ndarray
        Normalised Web Mercator positions (:func:`mercator`).
    z, cells : int
        Zoom and grid cells per tile side (a cell is ``256 / cells`` screen pixels).
    weights : tuple of ndarray
        Per-point values summed per cell (e.g. DPT).

    Returns
    -------
    tuple of ndarray
        ``(keys, mx, my, count, *sums)`` per non-empty cell, keys ascending (``row * side + column``,
        ``side = 2**z * cells``); ``mx``/``my`` are the mean position of the cell's points.
    """
    side = (2 ** z) * cells
    cx = np.clip(np.floor(mx * side), 0, side - 1).astype(np.int64)
    cy = np.clip(np.floor(my * side), 0, side - 1).astype(np.int64)
    keys, inv = np.unique(cy * side + cx, return_inverse=True)
    return (keys, *group_sums(inv, len(keys), mx, my, weights))


def group_sums(inv: np.ndarray, n: int, mx: np.ndarray, my: np.ndarray,
               weights: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """``(mean mx, mean my, count, *rounded sums of weights)`` of ``n`` groups given by ``inv``."""
    count = np.bincount(inv, minlength=n)
    gx = np.bincount(inv, weights=mx, minlength=n) / np.maximum(count, 1)
    gy = np.bincount(inv, weights=my, minlength=n) / np.maximum(count, 1)
    return (gx, gy, count, *(np.round(np.bincount(inv, weights=w, minlength=n)) for w in weights))


def bbox_tiles(bb: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of every tile each box ``bb`` (rows of minx, miny, maxx, maxy in tile units)
    meets once grown by ``b`` tile widths (duplicates kept)."""
    x0, y0 = np.floor(bb[:, 0] - b).astype(np.int64), np.floor(bb[:, 1] - b).astype(np.int64)
    x1, y1 = np.floor(bb[:, 2] + b).astype(np.int64), np.floor(bb[:, 3] + b).astype(np.int64)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    sizes = w * h
    if not len(sizes):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    box = np.repeat(np.arange(len(sizes)), sizes)
    k = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)   # index within its box
    return x0[box] + k // h[box], y0[box] + k % h[box]


# --- edges that round-trip ---------------------------------------------------------------------

def _lon_edge(x: int, z: int) -> float:
    """Longitude of column edge ``x`` that :func:`lonlat_to_tile` puts in column ``x`` (east of it)."""
    n = 2 ** z
    lon = float(lonlat(x / n, 0.0)[0])
    while x < n and _column(lon, z) < x:      # rounding left it west of the edge: step east
        lon = float(np.nextafter(lon, 180.0))
    return lon


def _lat_edge(y: int, z: int) -> float:
    """Latitude of row edge ``y`` that :func:`lonlat_to_tile` puts in row ``y`` (south of it).

    Near the poles at zoom >= 21 one ulp of a latitude is more than :data:`SNAP` tile heights, so
    the nearest double to the exact edge can fall in the row north of it: step south until it does
    not (a few ulps at most).
    """
    n = 2 ** z
    lat = float(lonlat(0.0, y / n)[1])
    while 0 < y < n and _row(lat, z) < y:
        lat = float(np.nextafter(lat, -90.0))
    return lat


def _column(lon: float, z: int) -> float:
    return float(np.floor(snap(mercator(lon, 0.0)[0] * 2 ** z)))


def _row(lat: float, z: int) -> float:
    return float(np.floor(snap(mercator(0.0, lat)[1] * 2 ** z)))
