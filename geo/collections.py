"""Feature collections served page by page: bbox filter, limit and a key cursor.

A :class:`FeatureTable` holds one public layer pre-serialised by :mod:`geo.geojson` (allow-listed
properties only), sorted by its key. A page is the features after the cursor key that meet the
bbox, at most ``limit`` of them; the next page starts after the last key returned. Paging by key
(not by offset) is stable while the client pages and costs O(log n) to resume.

bbox is (west, south, east, north) in degrees, EPSG:4326 (OGC API – Features ``bbox``); a feature
is in it when its geometry intersects the box (exactly, not just its envelope). Features without a
geometry are never in a bbox page.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import geopandas as gpd
import numpy as np
import shapely

from geo import geojson
from geo.errors import InputError


@dataclasses.dataclass(frozen=True)
class Page:
    """One page: serialised features, how many matched in all, and the cursor of the next page."""

    blobs: list[bytes]
    matched: int
    next_key: str | None


class FeatureTable:
    """One layer ready for paging; build with :meth:`from_frame`."""

    def __init__(self, layer: str, keys: np.ndarray, blobs: list[bytes], geoms: np.ndarray):
        self.layer = layer
        self._keys = keys
        self._blobs = blobs
        self._geoms = geoms
        located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        self._bounds = np.where(located[:, None], shapely.bounds(np.where(located, geoms, None)), np.nan)
        self._position = {k: i for i, k in enumerate(keys)}

    @classmethod
    def from_frame(cls, frame: gpd.GeoDataFrame, layer: str, *, extra: Sequence[str] = ()) -> "FeatureTable":
        """Serialise ``frame`` (a public layer in EPSG:4326, see :mod:`geo.geojson`)."""
        key = geojson.key_of(layer)
        frame = frame.sort_values(key, kind="mergesort")
        ids, blobs = geojson.feature_blobs(frame, layer, extra=extra)
        return cls(layer, np.asarray(ids, dtype=object), blobs, np.asarray(frame.geometry.values, dtype=object))

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str) -> bytes | None:
        """The serialised feature with this key, ``None`` when absent."""
        i = self._position.get(key)
        return None if i is None else self._blobs[i]

    def page(self, *, limit: int, bbox: tuple[float, float, float, float] | None = None,
             after: str | None = None, keys: Sequence[str] | None = None) -> Page:
        """Features after ``after`` (a key) meeting ``bbox`` (and among ``keys`` when given).

        Parameters
        ----------
        limit : int
            Most features returned (>= 1).
        bbox : tuple of float, optional
            (west, south, east, north) in degrees; see :func:`check_bbox`.
        after : str, optional
            Key of the last feature of the previous page.
        keys : sequence of str, optional
            Restrict to these keys (e.g. the TPS of one area).
        """
        if limit < 1:
            raise InputError("limit must be at least 1", field="limit", value=limit)
        mask = np.ones(len(self._keys), dtype=bool)
        if keys is not None:
            mask[:] = False
            mask[[self._position[k] for k in keys if k in self._position]] = True
        if bbox is not None:
            mask &= self._in_bbox(check_bbox(bbox))
        start = int(np.searchsorted(self._keys, after, side="right")) if after else 0
        hits = np.flatnonzero(mask[start:]) + start
        chosen = hits[:limit]
        more = len(hits) > limit
        return Page([self._blobs[i] for i in chosen], int(mask.sum()),
                    str(self._keys[chosen[-1]]) if more else None)

    def _in_bbox(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        west, south, east, north = bbox
        b = self._bounds
        with np.errstate(invalid="ignore"):
            near = (b[:, 2] >= west) & (b[:, 0] <= east) & (b[:, 3] >= south) & (b[:, 1] <= north)
        cand = np.flatnonzero(near)
        exact = shapely.intersects(self._geoms[cand], shapely.box(west, south, east, north))
        out = np.zeros(len(b), dtype=bool)
        out[cand[exact]] = True
        return out


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Validate a (west, south, east, north) box in degrees; :class:`InputError` if malformed."""
    if len(bbox) != 4:
        raise InputError("bbox must have 4 numbers: west,south,east,north (degrees)", field="bbox", value=bbox)
    west, south, east, north = (float(v) for v in bbox)
    if not all(np.isfinite([west, south, east, north])):
        raise InputError("bbox values must be finite numbers", field="bbox", value=bbox)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InputError("bbox must be west<=east in -180..180 and south<=north in -90..90",
                         field="bbox", value=bbox)
    return west, south, east, north


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse the ``bbox`` query parameter ``"west,south,east,north"``."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError("bbox must be 4 comma-separated numbers: west,south,east,north", field="bbox",
                         value=text) from None
    return check_bbox(values)
