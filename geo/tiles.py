"""Web Mercator XYZ tiles of a layer: per-zoom aggregation, feature caps, GeoJSON and MVT tiles.

Tiles follow the XYZ scheme of OpenStreetMap/Leaflet (EPSG:3857, ``y`` counted from the north).
A point on a tile edge belongs to the tile east/south of the edge (within 1e-9 tile widths). The
z/x/y arithmetic lives in :mod:`geo.tile_grid`; its public names (``mercator``, ``lonlat``,
``lonlat_to_tile``, ``tile_bounds``, ``tiles_covering``, ``check_tile``, ``grid_aggregate`` and
the constants) are re-exported here, so ``tiles.tile_bounds`` keeps working.

A :class:`TileIndex` holds one layer, pre-serialised once: each tile is then a filter of the
features whose position lies in the tile grown by ``buffer/extent`` of its width on every side
(64/4096 by default, so markers at an edge are drawn by both tiles) and a join of the ready bytes.
GeoJSON tiles hold whole features (not clipped); MVT tiles (mapbox-vector-tile, extent 4096,
buffer 64) hold geometries clipped to the buffered tile, in tile pixels.

Point layers (TPS) are aggregated below ``aggregate_below`` (13 by default): one point per
kelurahan (at a point inside the kelurahan polygon when ``areas`` are given, else at the mean of
its TPS) or per grid cell (``grid_cells`` x ``grid_cells`` cells per tile), with the properties
``kind`` (``kelurahan``/``grid``), ``tps_count``, ``dpt_total``, ``dpt_known`` (and ``kode_kel``,
``nama`` per kelurahan). Aggregates count every located TPS: nothing is dropped.

Feature cap: a tile holds at most ``feature_cap`` features (2,000 by default). A point tile over
the cap is served as the grid aggregates of its zoom instead (no TPS lost); a polygon tile over the
cap keeps the first ``feature_cap`` features in key order. Either way the tile's
:class:`TileSelection` has ``capped=True`` and the export reports it.

Tile properties of TPS are a compact subset of the GeoJSON layer (:data:`TILE_PROPERTIES`);
area layers carry all their public properties. MVT feature ids are the keys as integers (the
dashes of RW/RT keys removed).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import orjson
import pandas as pd
import shapely

from geo import geojson, mvt
from geo.tile_grid import (  # noqa: F401  (re-exported: the public z/x/y arithmetic of geo.tiles)
    BUFFER,
    EXTENT,
    MAX_LAT,
    MAX_ZOOM,
    bbox_tiles,
    check_tile,
    check_zoom,
    grid_aggregate,
    group_sums,
    lonlat,
    lonlat_to_tile,
    mercator,
    snap,
    tile_bounds,
    tiles_covering,
)

DEFAULT_ZOOMS = tuple(range(10, 18))
AGGREGATE_BELOW = 13
FEATURE_CAP = 2000
GRID_CELLS = 8
TILE_PROPERTIES = {"tps": ("kode_tps", "kode_kel", "no_tps", "alamat", "rw", "rt", "dpt",
                           "akses_disabilitas", "location_source", "precision_m")}


# --- options and selections ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TileOptions:
    """How a layer is cut into tiles.

    Attributes
    ----------
    zooms : tuple of int
        Zoom levels to pre-generate (default 10..17).
    aggregate_below : int
        Point layers are aggregated at zooms below this (default 13).
    aggregate_by : str
        ``"kelurahan"`` (one point per kelurahan) or ``"grid"`` (per grid cell).
    feature_cap : int
        Most features in one tile (default 2,000; at least the number of grid cells a buffered tile
        can meet, 100 by default, so a capped point tile never loses a TPS).
    grid_cells : int
        Grid cells per tile side for grid aggregation (default 8, i.e. 32 px cells).
    extent, buffer : int
        MVT extent (4096) and buffer (64), in tile pixels; the buffer also grows GeoJSON tiles.
    """

    zooms: tuple[int, ...] = DEFAULT_ZOOMS
    aggregate_below: int = AGGREGATE_BELOW
    aggregate_by: str = "kelurahan"
    feature_cap: int = FEATURE_CAP
    grid_cells: int = GRID_CELLS
    extent: int = EXTENT
    buffer: int = BUFFER

    def __post_init__(self):
        for z in self.zooms:
            check_zoom(z)
        if self.aggregate_by not in ("kelurahan", "grid"):
            raise ValueError(f"aggregate_by must be 'kelurahan' or 'grid', got {self.aggregate_by!r}")
        if self.grid_cells < 1 or not 0 <= self.buffer < self.extent:
            raise ValueError(f"invalid tile options: {self}")
        most = (math.ceil((1 + 2 * self.buffer / self.extent) * self.grid_cells) + 1) ** 2
        if self.feature_cap < most:
            # The most grid cells a buffered tile can meet: with this cap no TPS is ever lost.
            raise ValueError(f"feature_cap must be at least {most} with {self.grid_cells} grid cells and "
                             f"buffer {self.buffer}/{self.extent}, got {self.feature_cap}")


@dataclasses.dataclass(frozen=True)
class TileSelection:
    """The features of one tile: their integer ids (ascending) and how they were chosen.

    ``kind`` is ``"features"`` (the layer's own features) or ``"kelurahan"``/``"grid"``
    (aggregates); ``candidates`` counts the features that met the tile before any cap.
    """

    layer: str
    z: int
    x: int
    y: int
    ids: tuple[int, ...]
    kind: str
    capped: bool
    candidates: int


@dataclasses.dataclass(frozen=True)
class _Features:
    ids: np.ndarray                 # int64, ascending
    blobs: list[bytes]              # pre-serialised GeoJSON features
    props: list[dict]               # MVT properties (no None values)
    mx: np.ndarray                  # points: normalised mercator position
    my: np.ndarray
    bounds: np.ndarray | None = None  # polygons: (n, 4) minx, miny, maxx, maxy (mercator)
    geoms: np.ndarray | None = None   # polygons in normalised mercator
    order: np.ndarray | None = None   # points: argsort of mx

    @property
    def is_point(self) -> bool:
        return self.geoms is None


# --- the index ----------------------------------------------------------------------------------

class TileIndex:
    """One layer ready to be cut into GeoJSON and MVT tiles.

    Build it with :meth:`from_frame`; then :meth:`select`, :meth:`geojson` and :meth:`mvt` give
    one tile (``None`` for an empty tile) and :meth:`tiles` lists the non-empty tiles of a zoom.
    """

    def __init__(self, name: str, features: _Features, options: TileOptions, *,
                 weights: tuple[np.ndarray, np.ndarray] | None = None, groups: _Features | None = None,
                 unlocated: int = 0):
        self.name = name
        self.options = options
        self.unlocated = unlocated
        self._features = features
        self._weights = weights          # points: (dpt or 0, dpt known) per feature
        self._kelurahan = groups         # points: per-kelurahan aggregates
        self._grids: dict[int, _Features] = {}

    @classmethod
    def from_frame(cls, frame: gpd.GeoDataFrame, layer: str, *, areas: gpd.GeoDataFrame | None = None,
                   options: TileOptions = TileOptions()) -> TileIndex:
        """Index the rows of a public layer (see :mod:`geo.geojson`) that have a geometry.

        Parameters
        ----------
        frame : GeoDataFrame
            Rows of ``layer`` in EPSG:4326; rows without a geometry are left out (counted in
            ``unlocated``).
        layer : str
            ``tps`` (points, aggregated at low zoom) or an area layer (``kelurahan``, ``rw``, ...).
        areas : GeoDataFrame, optional
            Kelurahan polygons, placing the per-kelurahan aggregates of a point layer.
        options : TileOptions
        """
        key = geojson.key_of(layer)
        located = frame[~(frame.geometry.is_empty | frame.geometry.isna())]
        located = located.sort_values(key, kind="mergesort")
        only = TILE_PROPERTIES.get(layer)
        extra = [c for c in geojson.STAT_COLUMNS if c in located]
        _, blobs = geojson.feature_blobs(located, layer, extra=extra, only=only)
        props = [_mvt_props(p) for p in geojson.property_dicts(located, layer, extra=extra, only=only)]
        ids = _int_ids(located[key])
        geoms = np.asarray(located.geometry.values, dtype=object)
        unlocated = len(frame) - len(located)
        if layer != "tps":
            merc = shapely.transform(geoms, lambda c: np.column_stack(mercator(c[:, 0], c[:, 1])))
            feats = _Features(ids, blobs, props, np.empty(0), np.empty(0), shapely.bounds(merc), merc)
            return cls(layer, feats, options, unlocated=unlocated)
        mx, my = mercator(shapely.get_x(geoms), shapely.get_y(geoms))
        feats = _Features(ids, blobs, props, mx, my, order=np.argsort(mx, kind="stable"))
        dpt = located["dpt"].astype("Float64") if "dpt" in located else pd.Series(np.nan, index=located.index)
        weights = (dpt.fillna(0).to_numpy(float), dpt.notna().to_numpy(float))
        groups = _kelurahan_groups(located, mx, my, weights, areas) if options.aggregate_by == "kelurahan" else None
        return cls(layer, feats, options, weights=weights, groups=groups, unlocated=unlocated)

    # -- queries -----------------------------------------------------------------------------
    def select(self, z: int, x: int, y: int) -> TileSelection:
        """The features (or aggregates) of tile ``z/x/y``, capped; see the module docstring."""
        check_tile(z, x, y)
        feats, kind = self._source(z)
        idx = self._hits(feats, z, x, y)
        candidates, capped = len(idx), len(idx) > self.options.feature_cap
        if capped and feats.is_point:
            feats, kind = self._grid(z), "grid"
            idx = self._hits(feats, z, x, y)
        if len(idx) > self.options.feature_cap:
            idx = idx[: self.options.feature_cap]
        return TileSelection(self.name, z, x, y, tuple(int(i) for i in feats.ids[idx]), kind, capped, candidates)

    def geojson(self, z: int, x: int, y: int) -> bytes | None:
        """The GeoJSON FeatureCollection of tile ``z/x/y`` as bytes, ``None`` when empty."""
        return self.encode(self.select(z, x, y), "geojson")

    def mvt(self, z: int, x: int, y: int) -> bytes | None:
        """The Mapbox Vector Tile of ``z/x/y`` (one layer named after the index), ``None`` when empty."""
        return self.encode(self.select(z, x, y), "mvt")

    def encode(self, sel: TileSelection, fmt: str) -> bytes | None:
        """Encode a selection as ``"geojson"`` or ``"mvt"`` bytes; ``None`` when it is empty."""
        feats = self._grid(sel.z) if sel.kind == "grid" else self._source(sel.z)[0]
        idx = np.searchsorted(feats.ids, np.asarray(sel.ids, dtype=np.int64))
        if fmt not in ("geojson", "mvt"):
            raise ValueError(f"tile format must be 'geojson' or 'mvt', got {fmt!r}")
        if not len(idx):
            return None
        if fmt == "geojson":
            return geojson.collection_bytes([feats.blobs[i] for i in idx])
        geoms = self._pixels(feats, idx, sel.z, sel.x, sel.y)
        if feats.is_point:
            # A selected point lies in the buffered tile, so nothing is clipped: write the tile directly.
            return mvt.point_tile(self.name, shapely.get_x(geoms), shapely.get_y(geoms), feats.ids[idx],
                                  [feats.props[i] for i in idx], self.options.extent)
        keep = ~shapely.is_empty(geoms)
        if not keep.any():
            return None
        features = [{"geometry": g, "properties": feats.props[i], "id": int(feats.ids[i])}
                    for g, i in zip(geoms[keep], idx[keep])]
        opts = {"extents": self.options.extent, "y_coord_down": True}
        return mapbox_vector_tile.encode([{"name": self.name, "features": features}], default_options=opts)

    def tiles(self, z: int) -> list[tuple[int, int]]:
        """The non-empty tiles ``(x, y)`` of zoom ``z``, sorted."""
        check_zoom(z)
        feats, _ = self._source(z)
        n, b = 2 ** z, self.options.buffer / self.options.extent
        if feats.is_point:
            tx, ty = snap(feats.mx * n), snap(feats.my * n)
            xs = np.concatenate([np.floor(tx - b), np.floor(tx + b)] * 2)
            ys = np.concatenate([np.floor(ty - b)] * 2 + [np.floor(ty + b)] * 2)
        else:
            xs, ys = bbox_tiles(feats.bounds * n, b)
        ok = (xs >= 0) & (xs < n) & (ys >= 0) & (ys < n)
        keys = np.unique(xs[ok].astype(np.int64) * n + ys[ok].astype(np.int64))
        out = list(zip((keys // n).tolist(), (keys % n).tolist()))
        return out if feats.is_point else [t for t in out if len(self._hits(feats, z, *t))]

    def pyramid(self) -> Iterator[tuple[int, int, int]]:
        """Every non-empty tile ``(z, x, y)`` of the configured zooms, in z, x, y order."""
        for z in sorted(self.options.zooms):
            for x, y in self.tiles(z):
                yield z, x, y

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) of the indexed features in degrees, ``None`` when empty."""
        f = self._features
        if not len(f.ids):
            return None
        mx0, my0, mx1, my1 = ((f.mx.min(), f.my.min(), f.mx.max(), f.my.max()) if f.is_point else
                              (f.bounds[:, 0].min(), f.bounds[:, 1].min(), f.bounds[:, 2].max(), f.bounds[:, 3].max()))
        (west, east), (north, south) = lonlat([mx0, mx1], [my0, my1])
        return float(west), float(south), float(east), float(north)

    def __len__(self) -> int:
        return len(self._features.ids)

    # -- internals ---------------------------------------------------------------------------
    def _source(self, z: int) -> tuple[_Features, str]:
        f = self._features
        if not f.is_point or z >= self.options.aggregate_below:
            return f, "features"
        if self._kelurahan is not None:
            return self._kelurahan, "kelurahan"
        return self._grid(z), "grid"

    def _grid(self, z: int) -> _Features:
        if z not in self._grids:
            self._grids[z] = _grid_aggregates(self._features, self._weights, z, self.options.grid_cells)
        return self._grids[z]

    def _hits(self, feats: _Features, z: int, x: int, y: int) -> np.ndarray:
        """Indices (ascending) of the features in the buffered tile."""
        n, b = 2 ** z, self.options.buffer / self.options.extent
        if feats.is_point:
            lo, hi = np.searchsorted(feats.mx[feats.order], [(x - b - 1e-6) / n, (x + 1 + b + 1e-6) / n])
            cand = feats.order[lo:hi]
            tx, ty = snap(feats.mx[cand] * n), snap(feats.my[cand] * n)
            inside = (tx >= x - b) & (tx < x + 1 + b) & (ty >= y - b) & (ty < y + 1 + b)
            return np.sort(cand[inside])
        bb = feats.bounds * n
        near = (bb[:, 2] >= x - b) & (bb[:, 0] < x + 1 + b) & (bb[:, 3] >= y - b) & (bb[:, 1] < y + 1 + b)
        cand = np.flatnonzero(near)
        box = shapely.box((x - b) / n, (y - b) / n, (x + 1 + b) / n, (y + 1 + b) / n)
        return cand[shapely.intersects(feats.geoms[cand], box)]

    def _pixels(self, feats: _Features, idx: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
        n, ext = 2 ** z, self.options.extent
        if feats.is_point:
            px = np.round((feats.mx[idx] * n - x) * ext)
            py = np.round((feats.my[idx] * n - y) * ext)
            return shapely.points(px, py)
        pix = shapely.transform(feats.geoms[idx], lambda c: (c * n - [x, y]) * ext)
        lo, hi = -self.options.buffer, ext + self.options.buffer
        return shapely.clip_by_rect(pix, lo, lo, hi, hi)


# --- aggregation --------------------------------------------------------------------------------

def _kelurahan_groups(tps: gpd.GeoDataFrame, mx, my, weights, areas) -> _Features:
    kode = tps["kode_kel"].astype("string").fillna("").to_numpy(dtype=object)
    keys, inv = np.unique(kode, return_inverse=True)
    gx, gy, count, dpt, known = group_sums(inv, len(keys), mx, my, weights)
    names = np.full(len(keys), None, dtype=object)
    if areas is not None and len(areas):
        areas = areas.drop_duplicates("kode")
        areas = areas.set_index(areas["kode"].astype("string"))
        hit = np.isin(keys, areas.index.to_numpy(dtype=object))
        rep = areas.loc[keys[hit]]
        px, py = mercator(*shapely.get_coordinates(rep.geometry.representative_point().values).T)
        gx[hit], gy[hit] = px, py
        names[hit] = rep["nama"].to_numpy(dtype=object, na_value=None) if "nama" in rep else None
    props = [{"kind": "kelurahan", "kode_kel": k, "nama": nm, "tps_count": int(c), "dpt_total": int(d),
              "dpt_known": int(kn)} for k, nm, c, d, kn in zip(keys, names, count, dpt, known)]
    ids = np.array([int(k) if k.isdigit() else 0 for k in keys], dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    return _point_features(ids[order], gx[order], gy[order], [props[i] for i in order])


def _grid_aggregates(feats: _Features, weights, z: int, cells: int) -> _Features:
    keys, gx, gy, count, dpt, known = grid_aggregate(feats.mx, feats.my, z, cells, weights)
    props = [{"kind": "grid", "tps_count": int(c), "dpt_total": int(d), "dpt_known": int(k)}
             for c, d, k in zip(count, dpt, known)]
    return _point_features(keys, gx, gy, props)


def _point_features(ids, mx, my, props) -> _Features:
    lon, lat = lonlat(mx, my)
    opt = orjson.OPT_SORT_KEYS
    blobs = [orjson.dumps({"type": "Feature", "id": str(i), "properties": p,
                           "geometry": {"type": "Point", "coordinates": [round(float(a), 6), round(float(b), 6)]}},
                          option=opt) for i, p, a, b in zip(ids, props, lon, lat)]
    mvt_props = [_mvt_props(p) for p in props]
    return _Features(np.asarray(ids, dtype=np.int64), blobs, mvt_props, mx, my, order=np.argsort(mx, kind="stable"))


# --- helpers --------------------------------------------------------------------------------

def _int_ids(keys: pd.Series) -> np.ndarray:
    digits = keys.astype("string").str.replace("-", "", regex=False)
    bad = ~digits.str.fullmatch(r"\d{1,18}").fillna(False)
    if bad.any():
        raise ValueError(f"tile feature keys must be digits (dashes allowed), got {digits[bad].iloc[0]!r}")
    return digits.astype("int64").to_numpy()


def _mvt_props(props: dict) -> dict:
    return {k: v for k, v in props.items() if v is not None}
