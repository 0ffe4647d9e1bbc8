"""The in-process data cache: everything a request needs, built from the store once per data version.

Requests never read files or query layers: they ask :func:`snapshot` for the current
:class:`Snapshot`, whose parts (frames, tile indexes, feature tables, nearest-TPS index, browse tree,
voter index) are built lazily on first use and kept until the store's ``data_version()`` changes.
The version is asked at most every ``data_check_seconds`` (config), so a busy server costs the store
one tiny query per interval, not one per request.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable

import geopandas as gpd
from flask import Flask, current_app

from geo import geojson
from geo.areas import AreaTree
from geo.collections import FeatureTable
from geo.lookup import NikLookup, VoterIndex
from geo.nearby import PointIndex
from geo.tiles import TileIndex

log = logging.getLogger(__name__)

AREA_LAYERS = ("kota", "kecamatan", "kelurahan", "rw", "rt")
PUBLIC_LAYERS = ("tps", "kelurahan", "kecamatan", "kota", "rw")


class Snapshot:
    """The store's content at one data version, with lazily built, cached derived structures."""

    def __init__(self, store, version: str, nik_key: bytes, tile_cache_size: int = 4096):
        self.store = store
        self.version = version
        self._nik_key = nik_key
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = {}
        self.tile_bytes = _Lru(tile_cache_size)

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        try:
            return self._parts[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._parts:
                started = time.perf_counter()
                self._parts[name] = build()
                log.info("data %s: built %s in %.2f s", self.version, name, time.perf_counter() - started)
            return self._parts[name]

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """Any value derived from this version's data, built once (e.g. an area's download)."""
        return self._part(f"cached:{name}", build)

    # -- stored layers -------------------------------------------------------------------------
    def layer(self, name: str) -> gpd.GeoDataFrame:
        """A stored layer as read from the store (EPSG:4326, sorted by key)."""
        return self._part(f"layer:{name}", lambda: self.store.read(name))

    def kelurahan(self) -> gpd.GeoDataFrame:
        """Kelurahan with their TPS statistics (``tps_count``, ``dpt_total``, ``dpt_known``)."""
        return self._part("kelurahan+stats", lambda: geojson.kelurahan_stats(self.layer("kelurahan"),
                                                                             self.layer("tps")))

    def tps_by_code(self) -> gpd.GeoDataFrame:
        """The TPS layer indexed by ``kode_tps``."""
        return self._part("tps_by_code", lambda: self.layer("tps").set_index("kode_tps", drop=False))

    # -- derived structures --------------------------------------------------------------------
    def features(self, name: str) -> FeatureTable:
        """A public layer pre-serialised for API paging."""
        def build():
            frame = self.kelurahan() if name == "kelurahan" else self.layer(name)
            extra = geojson.STAT_COLUMNS if name == "kelurahan" else ()
            return FeatureTable.from_frame(frame, name, extra=extra)
        return self._part(f"features:{name}", build)

    def tiles(self, name: str) -> TileIndex:
        """A public layer indexed for GeoJSON/MVT tiles."""
        def build():
            if name == "tps":
                return TileIndex.from_frame(self.layer("tps"), "tps", areas=self.layer("kelurahan"))
            return TileIndex.from_frame(self.kelurahan() if name == "kelurahan" else self.layer(name), name)
        return self._part(f"tiles:{name}", build)

    def points(self) -> PointIndex:
        return self._part("points", lambda: PointIndex(self.layer("tps"), self.layer("kelurahan")))

    def areas(self) -> AreaTree:
        return self._part("areas", lambda: AreaTree.from_frames({n: self.layer(n) for n in AREA_LAYERS},
                                                                self.layer("tps")))

    def lookup(self) -> NikLookup:
        """The NIK lookup; the voter index is built from the store on first use (see ``find_voter``)."""
        def build():
            def find(key: str):
                return self._part("voters", self._voter_finder)(key)
            return NikLookup(find, self._nik_key, self.points(), self.layer("tps"),
                             self.layer("kelurahan"), self.layer("rw"), self.layer("rt"))
        return self._part("lookup", build)

    def _voter_finder(self) -> Callable:
        # Adapter: a store that can find voters by key answers directly; otherwise the DPT is
        # indexed in memory once per data version (16 bytes/voter for the keys + the columns used).
        finder = getattr(self.store, "find_voters", None)
        if finder is not None:
            return lambda key: finder(key)
        return VoterIndex.from_chunks(self.store.iter_read("voters", chunksize=200_000)).find


class DataCache:
    """Hands out the :class:`Snapshot` of the store's current data version (thread-safe)."""

    def __init__(self, get_store: Callable[[], Any], nik_key: bytes, *, check_seconds: float = 5.0,
                 tile_cache_size: int = 4096):
        self._get_store = get_store
        self._key = nik_key
        self._check = check_seconds
        self._tile_cache_size = tile_cache_size
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._checked = 0.0

    def current(self) -> Snapshot:
        now = time.monotonic()
        snap = self._snap
        if snap is not None and now - self._checked < self._check:
            return snap
        with self._lock:
            if self._snap is None or time.monotonic() - self._checked >= self._check:
                store = self._get_store()
                version = store.data_version()
                if self._snap is None or self._snap.version != version:
                    log.info("data version %s: new snapshot", version)
                    self._snap = Snapshot(store, version, self._key, self._tile_cache_size)
                self._checked = time.monotonic()
            return self._snap


def install(app: Flask, get_store: Callable[[], Any]) -> DataCache:
    """Give ``app`` its data cache (called by ``create_app``)."""
    config = app.extensions["petatps.config"]
    cache = DataCache(get_store, config.core.nik_key_bytes, check_seconds=config.data_check_seconds,
                      tile_cache_size=config.tile_cache_size)
    app.extensions["petatps.data"] = cache
    return cache


def warm(app: Flask, *, voters: bool = True) -> Snapshot:
    """Build every part of the current snapshot now (e.g. in the gunicorn master before forking)."""
    snap = snapshot(app)
    started = time.perf_counter()
    for name in PUBLIC_LAYERS:
        snap.features(name)
        snap.tiles(name)
    snap.points()
    snap.areas()
    snap.tps_by_code()
    lookup = snap.lookup()
    if voters:
        lookup("3171010101900001")      # a valid NIK: builds the DPT index (the answer is discarded)
    log.info("data %s warmed in %.1f s", snap.version, time.perf_counter() - started)
    return snap


def snapshot(app: Flask | None = None) -> Snapshot:
    """The current snapshot of ``app`` (default: the app of the request)."""
    return (app or current_app).extensions["petatps.data"].current()


class _Lru:
    """A small thread-safe LRU mapping (bytes of served tiles)."""

    def __init__(self, size: int):
        self._size = size
        self._data: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)
