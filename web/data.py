"""The in-process data cache: everything a request needs, built from the store once per data version.

Requests never read files or query layers: they ask :func:`snapshot` for the current
:class:`Snapshot`, whose parts (frames, tile indexes, feature tables, nearest-TPS index, browse tree,
voter index) are built lazily on first use and kept until the store's ``data_version()`` changes.
The version is asked at most every ``data_check_seconds`` (config), so a busy server costs the store
one tiny query per interval, not one per request.

A snapshot holds exactly one data version. Its stored layers (TPS and the area levels) are read
when it is made, between two reads of the version that must agree (else they are read again), so
every part derived from them is of that version, however long after a reload it is first built.
What is still read from the store later (the DPT for NIK lookups, voters in officer analyses: too
big to hold per version) is checked after the read: if the version moved, the value is dropped,
the snapshot is marked stale (the next request gets a new one) and a :class:`~geo.errors.StoreError`
(HTTP 503) asks the client to retry. While one thread reads a new snapshot, the others keep
answering from the current one instead of queueing behind it: each request sees the old or the
new data, never a mix.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import geopandas as gpd
from flask import Flask, current_app

from geo import geojson
from geo.areas import AreaTree
from geo.collections import FeatureTable
from geo.errors import StoreError
from geo.lookup import NikLookup, VoterIndex
from geo.nearby import PointIndex
from geo.tiles import TileIndex

log = logging.getLogger(__name__)

AREA_LAYERS = ("kota", "kecamatan", "kelurahan", "rw", "rt")
PUBLIC_LAYERS = ("tps", "kelurahan", "kecamatan", "kota", "rw")
STORED_LAYERS = ("tps", *AREA_LAYERS)      # read whole when a snapshot is made
READ_ATTEMPTS = 3                          # reads of the layers while loads keep changing the version


class Snapshot:
    """The store's content at one data version, with lazily built, cached derived structures.

    Make one with :meth:`read` (layers read at one version). Constructed directly without
    ``layers``, each stored layer is read on first use and checked against ``version`` like the
    other late reads.
    """

    def __init__(self, store, version: str, nik_key: bytes, tile_cache_size: int = 4096, *,
                 layers: dict[str, gpd.GeoDataFrame] | None = None):
        self.store = store
        self.version = version
        self.stale = False          # set once a late read saw a newer version: the cache replaces it
        self._nik_key = nik_key
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = {f"layer:{name}": frame for name, frame in (layers or {}).items()}
        self.tile_bytes = _Lru(tile_cache_size)

    @classmethod
    def read(cls, store, nik_key: bytes, *, version: str | None = None, tile_cache_size: int = 4096,
             attempts: int = READ_ATTEMPTS) -> Snapshot:
        """Read :data:`STORED_LAYERS` at one data version (the version before and after the reads agree).

        Parameters
        ----------
        version : str, optional
            The version just asked of the store (saves a query); default: ask it.
        attempts : int
            Reads before giving up while loads keep committing.

        Raises
        ------
        StoreError
            If the version moved during each of ``attempts`` reads.
        """
        version = version or store.data_version()
        for _ in range(attempts):
            started = time.perf_counter()
            layers = {name: store.read(name) for name in STORED_LAYERS}
            after = store.data_version()
            if after == version:
                log.info("data %s: read %s in %.2f s", version, ", ".join(STORED_LAYERS),
                         time.perf_counter() - started)
                return cls(store, version, nik_key, tile_cache_size, layers=layers)
            log.info("data version moved from %s to %s while reading the layers: reading again", version, after)
            version = after
        raise StoreError(f"the data changed during each of {attempts} reads of the layers "
                         f"(loads still running?); try again")

    def live(self, read: Callable[[], Any]) -> Any:
        """``read()`` from the live store, if the store is still at this snapshot's version afterwards.

        For answers cut from the store per request (PostGIS tiles): one more version query, so a
        value read after a reload is never served or cached under the old version.
        """
        return self._late(read)

    def _late(self, read: Callable[[], Any]) -> Any:
        """``read()`` from the live store, if the store is still at this snapshot's version afterwards."""
        value = read()
        if self.store.data_version() != self.version:
            self.stale = True
            raise StoreError(f"the data changed (a load committed after version {self.version}) while "
                             f"this answer was read; try again")
        return value

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
        return self._part(f"cached:{name}", lambda: self._late(build))

    # -- stored layers -------------------------------------------------------------------------
    def layer(self, name: str) -> gpd.GeoDataFrame:
        """A stored layer as read from the store (EPSG:4326, sorted by key)."""
        return self._part(f"layer:{name}", lambda: self._late(lambda: self.store.read(name)))

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
            return lambda key: self._late(lambda: finder(key))
        return self._late(lambda: VoterIndex.from_chunks(self.store.iter_read("voters", chunksize=200_000))).find


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
        snap = self._snap
        if snap is not None and not snap.stale and time.monotonic() - self._checked < self._check:
            return snap
        return self._refresh()

    def _refresh(self) -> Snapshot:
        snap = self._snap
        usable = snap is not None and not snap.stale
        # One thread asks the version and reads a new snapshot; the others answer from the current
        # one meanwhile (old or new data, never a mix) instead of queueing behind the reads.
        if not self._lock.acquire(blocking=not usable):
            return snap
        try:
            snap = self._snap
            if snap is not None and not snap.stale and time.monotonic() - self._checked < self._check:
                return snap                     # refreshed by another thread while this one waited
            store = self._get_store()
            version = store.data_version()
            if snap is None or snap.stale or snap.version != version:
                log.info("data version %s: new snapshot", version)
                snap = Snapshot.read(store, self._key, version=version, tile_cache_size=self._tile_cache_size)
                self._snap = snap
            self._checked = time.monotonic()
            return snap
        finally:
            self._lock.release()


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
