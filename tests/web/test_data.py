"""The per-version data cache: built once, rebuilt when the store's data version changes."""

from __future__ import annotations

import shutil

from geo.store.gpkg import GpkgStore
from tests.web import city
from web.data import DataCache, snapshot


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
    assert len(snaps) == 1 and len(calls) == 1
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
