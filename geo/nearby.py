"""Answers for one point at a time: which kelurahan holds it, and its nearest placed TPS.

:class:`PointIndex` is built once per data version from the stored ``tps`` and ``kelurahan``
layers; a query then costs microseconds (a KD-tree or a small per-kelurahan array, a shapely
STRtree for the kelurahan), which is what a web request needs. Distances are planar in EPSG:32748
(metres, as :mod:`geo.nearest` and :mod:`geo.assign` measure them); ties are broken the same way:
distances within ``TIE_TOLERANCE_M`` count as equal and the smaller ``kode_tps`` wins.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.errors import InputError
from geo.nearest import TIE_TOLERANCE_M, tps_points

# Jakarta and its islands with a wide margin; a point outside is certainly a mistake (swapped lat/lon).
INDONESIA = (94.0, -11.5, 142.0, 6.5)
_K = 8


@dataclasses.dataclass(frozen=True)
class Nearest:
    """The nearest placed TPS to a point.

    Attributes
    ----------
    kode_tps : str
    distance_m : float
        Planar distance in metres (EPSG:32748), rounded to 0.1 m.
    kode_kel : str or None
        The kelurahan the search was limited to (``None`` when it crossed kelurahan borders).
    """

    kode_tps: str
    distance_m: float
    kode_kel: str | None


class PointIndex:
    """Nearest-TPS and point-in-kelurahan queries over the stored layers.

    Parameters
    ----------
    tps : GeoDataFrame
        The ``tps`` layer (EPSG:4326); rows without a point are ignored.
    kelurahan : GeoDataFrame
        The ``kelurahan`` layer (EPSG:4326), for :meth:`kelurahan_at`.
    """

    def __init__(self, tps: gpd.GeoDataFrame, kelurahan: gpd.GeoDataFrame):
        pts = tps_points(tps)
        self._codes = np.asarray(pts.codes.to_pylist(), dtype=object)
        self._xy = pts.xy
        self._tree = cKDTree(self._xy) if len(self._xy) else None
        kel_of = np.asarray(pts.kode_kel.to_pylist(), dtype=object)
        order = np.argsort(kel_of, kind="stable")
        keys, starts = np.unique(kel_of[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        self._by_kel = {k: order[s:e] for k, s, e in zip(keys, starts, bounds)}
        kel = kelurahan.sort_values("kode", kind="mergesort")
        self._kel_codes = kel["kode"].astype(str).to_numpy(dtype=object)
        self._kel_geoms = np.asarray(kel.geometry.values, dtype=object)
        self._kel_tree = shapely.STRtree(self._kel_geoms)
        self._to_metric = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)

    def __len__(self) -> int:
        return len(self._codes)

    def metric(self, lon: float, lat: float) -> tuple[float, float]:
        """EPSG:32748 metres of a lon/lat point (checked to lie in Indonesia's box)."""
        check_lonlat(lon, lat)
        return self._to_metric.transform(lon, lat)

    def kelurahan_at(self, lon: float, lat: float) -> str | None:
        """Code of the kelurahan containing the point (smallest code on a shared border), or ``None``."""
        check_lonlat(lon, lat)
        hits = self._kel_tree.query(shapely.Point(lon, lat), predicate="intersects")
        return str(min(self._kel_codes[hits])) if len(hits) else None

    def nearest(self, lon: float, lat: float, kode_kel: str | None = None) -> Nearest | None:
        """The nearest placed TPS to ``lon``/``lat`` (degrees, EPSG:4326).

        With ``kode_kel`` only that kelurahan's TPS are candidates (``None`` when it has none);
        without it, any TPS.
        """
        x, y = self.metric(lon, lat)
        if kode_kel is not None:
            cand = self._by_kel.get(kode_kel)
            if cand is None or not len(cand):
                return None
        elif self._tree is None:
            return None
        else:
            _, cand = self._tree.query([x, y], k=min(_K, len(self._codes)))
            cand = np.atleast_1d(cand)
        return self._pick(np.asarray(cand), x, y, kode_kel)

    def _pick(self, cand: np.ndarray, x: float, y: float, kode_kel: str | None) -> Nearest:
        d = np.hypot(self._xy[cand, 0] - x, self._xy[cand, 1] - y)
        tied = cand[d <= d.min() + TIE_TOLERANCE_M]
        best = int(tied.min())            # codes are sorted: the smaller index is the smaller code
        dist = float(np.hypot(self._xy[best, 0] - x, self._xy[best, 1] - y))
        return Nearest(str(self._codes[best]), round(dist, 1), kode_kel)


def check_lonlat(lon: float, lat: float) -> None:
    """Raise :class:`InputError` unless lon/lat are finite degrees inside Indonesia's bounding box."""
    west, south, east, north = INDONESIA
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise InputError("lat and lon must be finite numbers in degrees", field="lat/lon", value=(lat, lon))
    if not (west <= lon <= east and south <= lat <= north):
        raise InputError(f"the point is outside Indonesia (lon {west}..{east}, lat {south}..{north}); "
                         "are lat and lon swapped?", field="lat/lon", value=(lat, lon))
