"""The per-version data cache: built once, rebuilt when the store's data version changes."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from geo.errors import StoreError
from geo.store.gpkg import GpkgStore
from geo.tiles import lonlat_to_tile
from tests.web import city
from web.data import READ_ATTEMPTS, DataCache, snapshot


def test_snapshot_is_reused_until_the_version_changes(tmp_path, gpkg_city, make_app):
    path = tmp_path / "copy.gpkg"
    shutil.copy(gpkg_city[len("gpkg://"):], path)
    app = make_app(f"gpkg://{path}")
    client = app.test_client()
    assert client.get("/tps/3171011001001").status_code == 200
    with app.app_context():
        first = snapshot()
        assert snapshot() is first and first.points() is first.points()
    store = GpkgStore(path)
    tps = city.frames()["tps"]
    moved = tps[tps["kode_kel"] == "3171011001"].copy()
    moved["alamat"] = "Jl. Baru No. 9"
    store.load("tps", [moved])
    store.close()
    assert "Jl. Baru No. 9" in client.get("/tps/3171011001001").get_data(as_text=True)
    with app.app_context():
        assert snapshot() is not first


def test_version_is_asked_at_most_every_interval(gpkg_city):
    calls = []

    class Counting(GpkgStore):
        def data_version(self):
            calls.append(1)
            return super().data_version()

    store = Counting(gpkg_city[len("gpkg://"):])
    cache = DataCache(lambda: store, city.NIK_KEY, check_seconds=3600)
    snaps = {id(cache.current()) for _ in range(100)}
    assert len(snaps) == 1 and len(calls) == 2      # once to decide, once after reading the layers
    store.close()


def test_parts_are_built_once(gpkg_city):
    store = GpkgStore(gpkg_city[len("gpkg://"):])
    snap = DataCache(lambda: store, city.NIK_KEY, check_seconds=0).current()
    assert snap.tiles("tps") is snap.tiles("tps") and snap.features("rw") is snap.features("rw")
    assert snap.kelurahan()["tps_count"].tolist() == [3, 3, 3]
    assert snap.lookup()("3171011505900001").kode_tps == "3171011001001"
    snap.tile_bytes.put("k", b"v")
    assert snap.tile_bytes.get("k") == b"v"
    store.close()


# --- one snapshot, one data version ------------------------------------------------------------------

@pytest.fixture
def city_copy(tmp_path, gpkg_city) -> Path:
    """A private copy of the city GeoPackage (these tests reload it)."""
    path = tmp_path / "city.gpkg"
    shutil.copy(gpkg_city[len("gpkg://"):], path)
    return path


def _reload_kelurahan(path: Path, prefix: str) -> None:
    """A real load from a second connection: renames every kelurahan, so the data version moves."""
    other = GpkgStore(path)
    try:
        kel = other.read("kelurahan")
        kel["nama"] = prefix + kel["nama"]
        other.load("kelurahan", [kel])
    finally:
        other.close()


class _ReloadingStore(GpkgStore):
    """A GeoPackage store in which another writer commits a reload while the TPS layer is being read
    (``reloads`` times)."""

    def __init__(self, path: Path, reloads: int):
        super().__init__(path)
        self.reloads, self.reads = reloads, []

    def read(self, layer, *args, **kwargs):
        self.reads.append(layer)
        frame = super().read(layer, *args, **kwargs)
        if layer == "tps" and self.reloads > 0:
            self.reloads -= 1
            _reload_kelurahan(self.path, "BARU ")
        return frame


def test_a_load_committed_while_the_layers_are_read_makes_them_read_again(city_copy):
    store = _ReloadingStore(city_copy, reloads=1)
    before = store.data_version()
    snap = DataCache(lambda: store, city.NIK_KEY, check_seconds=3600).current()
    assert snap.version == store.data_version() != before
    assert store.reads.count("kelurahan") == 2               # the first reads were of two versions
    assert snap.layer("kelurahan")["nama"].str.startswith("BARU ").all()
    assert snap.kelurahan()["nama"].str.startswith("BARU ").all()
    store.close()


def test_layers_that_never_settle_are_a_store_error(city_copy):
    store = _ReloadingStore(city_copy, reloads=READ_ATTEMPTS)
    cache = DataCache(lambda: store, city.NIK_KEY, check_seconds=3600)
    with pytest.raises(StoreError, match=f"each of {READ_ATTEMPTS} reads"):
        cache.current()
    assert cache.current().layer("kelurahan")["nama"].str.startswith("BARU BARU BARU ").all()   # settled now
    store.close()


def test_a_snapshot_keeps_its_version_after_a_reload(city_copy):
    store = GpkgStore(city_copy)
    cache = DataCache(lambda: store, city.NIK_KEY, check_seconds=3600)
    snap = cache.current()
    _reload_kelurahan(city_copy, "BARU ")
    assert cache.current() is snap                           # not asked again within the interval
    assert not snap.kelurahan()["nama"].str.startswith("BARU").any()     # first built after the reload
    x, y = (int(v) for v in lonlat_to_tile(city.LON0 + 0.005, city.LAT0 + 0.005, 14))
    tile = snap.tiles("kelurahan").geojson(14, x, y)
    assert b"MENTENG DALAM" in tile and b"BARU" not in tile
    store.close()


def test_a_late_read_after_a_reload_is_refused_and_replaces_the_snapshot(city_copy):
    store = GpkgStore(city_copy)
    cache = DataCache(lambda: store, city.NIK_KEY, check_seconds=3600)
    snap = cache.current()
    _reload_kelurahan(city_copy, "BARU ")
    with pytest.raises(StoreError, match="data changed"):
        snap.lookup()("3171011505900001")                   # the DPT is read late: after the reload
    with pytest.raises(StoreError, match="data changed"):
        snap.cached("voters-of-the-day", lambda: store.read("voters"))
    assert snap.stale
    fresh = cache.current()                                  # replaced at once, interval or not
    assert fresh is not snap and fresh.version == store.data_version()
    assert fresh.cached("names", lambda: list(fresh.layer("kelurahan")["nama"]))[0].startswith("BARU ")
    store.close()


class _BlockingStore(GpkgStore):
    """Reads of the TPS layer wait for ``release`` once ``armed``."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.armed, self.reading, self.release = False, threading.Event(), threading.Event()

    def read(self, layer, *args, **kwargs):
        if layer == "tps" and self.armed:
            self.reading.set()
            assert self.release.wait(30)
        return super().read(layer, *args, **kwargs)


def test_other_threads_answer_from_the_current_snapshot_while_one_reads_the_next(city_copy):
    store = _BlockingStore(city_copy)
    cache = DataCache(lambda: store, city.NIK_KEY, check_seconds=0)
    old = cache.current()
    _reload_kelurahan(city_copy, "BARU ")
    store.armed = True
    got = []
    reader = threading.Thread(target=lambda: got.append(cache.current()))
    reader.start()
    try:
        assert store.reading.wait(30)                        # the reader is reading the new snapshot
        assert cache.current() is old                        # this thread does not wait for it
    finally:
        store.release.set()
        reader.join(30)
    assert got and got[0] is not old and got[0].version == store.data_version()
    assert cache.current() is got[0]
    store.close()
