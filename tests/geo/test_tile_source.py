"""geo.tile_source: one tile or a whole pyramid from either store, with the same features from both."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import pytest

from geo import geojson, tile_source, tiles
from geo.errors import InputError, NotFoundError
from geo.schema import conform
from geo.store.gpkg import GpkgStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "maps"


def _read(layer: str) -> gpd.GeoDataFrame:
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


def _fill(store) -> None:
    store.init()
    for layer in ("kelurahan", "rw", "tps"):
        store.load(layer, [_read(layer)])


@pytest.fixture
def gpkg(tmp_path):
    store = GpkgStore(tmp_path / "petatps.gpkg")
    _fill(store)
    return store


@pytest.fixture
def pg(pg_url, pg_schema):
    from geo.store.postgis import PostgisStore

    store = PostgisStore(pg_url, schema=pg_schema)
    _fill(store)
    yield store
    store.close()


def _tile_of(layer: str, z: int) -> tuple[int, int, int]:
    frame = _read(layer)
    located = frame[frame.geometry.notna()]
    point = located.geometry.iloc[0].representative_point()
    return (z, *map(int, tiles.lonlat_to_tile(point.x, point.y, z)))


def _ids(path: Path) -> list:
    if path.suffix == ".mvt":
        layer = path.parts[-4]
        return sorted(f["id"] for f in mapbox_vector_tile.decode(path.read_bytes())[layer]["features"])
    return [f["id"] for f in json.loads(path.read_bytes())["features"]]


# --- one tile ---------------------------------------------------------------------------------------

def test_embedded_store_tiles_are_geo_tiles_of_its_rows(gpkg):
    index = tiles.TileIndex.from_frame(gpkg.read("tps"), "tps", areas=gpkg.read("kelurahan"))
    for z in (11, 15):
        for x, y in index.tiles(z):
            for fmt in ("geojson", "mvt"):
                data, sel = tile_source.tile_data(gpkg, "tps", z, x, y, fmt)
                assert sel == index.select(z, x, y)
                assert data == index.encode(sel, fmt)


def test_kelurahan_tiles_carry_tps_statistics(gpkg):
    doc = json.loads(tile_source.tile_bytes(gpkg, "kelurahan", *_tile_of("kelurahan", 12), "geojson"))
    props = {f["id"]: f["properties"] for f in doc["features"]}
    assert props["3171011001"]["tps_count"] == 12 and props["3171011004"]["tps_count"] == 1
    assert set(props["3171011004"]) == set(geojson.PROPERTIES["kelurahan"]) | set(geojson.STAT_COLUMNS)


def test_the_index_is_built_once_per_data_version(gpkg, caplog):
    caplog.set_level(logging.INFO, logger="geo.tile_source")
    z, x, y = _tile_of("tps", 16)
    before = tile_source.tile_data(gpkg, "tps", z, x, y, "geojson")[1]
    tile_source.tile_bytes(gpkg, "tps", z, x + 1, y, "mvt")
    assert sum("building the tps tile index" in r.message for r in caplog.records) == 1
    moved = gpkg.read("tps", "3171011001").iloc[[0]].copy()
    moved["kode_tps"], moved["no_tps"] = "3171011001099", 99
    gpkg.load("tps", [moved])  # a load changes the data version: the next tile sees the new TPS
    after = tile_source.tile_data(gpkg, "tps", z, x, y, "geojson")[1]
    assert set(after.ids) == set(before.ids) | {3171011001099}
    assert sum("building the tps tile index" in r.message for r in caplog.records) == 2


@pytest.mark.parametrize("args, error", [
    (("tps", 14, -1, 0, "mvt"), InputError), (("tps", 25, 0, 0, "mvt"), InputError),
    (("tps", 3, 0, 8, "geojson"), InputError), (("tps", 14, 0, 0, "png"), InputError),
    (("voters", 14, 0, 0, "mvt"), NotFoundError), (("kampung", 14, 0, 0, "mvt"), NotFoundError)])
def test_bad_requests_are_domain_errors(gpkg, args, error):
    with pytest.raises(error):
        tile_source.tile_bytes(gpkg, *args)


def test_empty_tiles_are_none(gpkg):
    assert tile_source.tile_bytes(gpkg, "tps", 14, 0, 0, "mvt") is None
    assert tile_source.tile_bytes(gpkg, "rw", 14, 0, 0, "geojson") is None


# --- pyramids ---------------------------------------------------------------------------------------

def test_pyramid_writes_non_empty_tiles_tilejson_and_a_report(gpkg, tmp_path):
    report = tile_source.pyramid(gpkg, tmp_path / "out", data_version="v7")
    root = tmp_path / "out" / "tiles"
    for layer in ("tps", "kelurahan", "rw"):
        doc = json.loads((root / layer / "tilejson.json").read_text())
        assert doc["tilejson"] == "3.0.0" and doc["tiles"] == ["{z}/{x}/{y}.mvt?v=v7"]
        assert doc["vector_layers"][0]["id"] == layer
        per_zoom = report.figures[f"{layer}_tiles_per_zoom"]
        assert sum(per_zoom.values()) == len(list((root / layer).rglob("*.mvt"))) == len(
            list((root / layer).rglob("*.geojson")))
        assert all(_ids(p) for p in (root / layer).rglob("*.mvt"))  # no empty tile written
    assert set(report.figures["tps_tiles_per_zoom"]) == {str(z) for z in tiles.DEFAULT_ZOOMS}
    assert report.warning_counts["no location yet: not in the tiles"] == 2
    assert report.figures["files"] == len([p for p in root.rglob("*") if p.is_file()])


def test_pyramid_is_deterministic_and_clears_stale_tiles(gpkg, tmp_path):
    stale = tmp_path / "a" / "tiles" / "tps" / "3" / "0" / "0.mvt"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    opts = {"tps": tiles.TileOptions(zooms=(12, 16))}
    tile_source.pyramid(gpkg, tmp_path / "a", layers=("tps",), options=opts, data_version="1")
    tile_source.pyramid(gpkg, tmp_path / "b", layers=("tps",), options=opts, data_version="1")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert not stale.exists() and files
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


@pytest.mark.parametrize("kwargs", [{"formats": ("png",)}, {"layers": ("voters",)}, {"data_version": "a b"}])
def test_pyramid_refuses_bad_arguments(gpkg, tmp_path, kwargs):
    with pytest.raises(InputError):
        tile_source.pyramid(gpkg, tmp_path, **kwargs)


@pytest.mark.postgis
def test_postgis_and_embedded_pyramids_hold_the_same_tiles(gpkg, pg, tmp_path):
    opts = {"tps": tiles.TileOptions(zooms=tuple(range(10, 17)))}
    a = tile_source.pyramid(pg, tmp_path / "pg", data_version="1", options=opts)
    b = tile_source.pyramid(gpkg, tmp_path / "gpkg", data_version="1", options=opts)
    assert "PostGIS" in a.notes[-1] and "geo.tiles" in b.notes[-1]
    files = sorted(p.relative_to(tmp_path / "pg") for p in (tmp_path / "pg").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "gpkg") for p in (tmp_path / "gpkg").rglob("*") if p.is_file())
    for f in files:
        if f.suffix in (".mvt", ".geojson"):
            assert _ids(tmp_path / "pg" / f) == _ids(tmp_path / "gpkg" / f), f
        else:
            assert json.loads((tmp_path / "pg" / f).read_text()) == json.loads((tmp_path / "gpkg" / f).read_text())
    assert {k: v for k, v in a.figures.items() if k != "bytes"} == {k: v for k, v in b.figures.items() if k != "bytes"}
    assert a.warning_counts == b.warning_counts


@pytest.mark.postgis
def test_postgis_tiles_come_from_sql(pg):
    z, x, y = _tile_of("tps", 15)
    for fmt in ("mvt", "geojson"):
        assert tile_source.tile_bytes(pg, "tps", z, x, y, fmt) == pg.tile("tps", z, x, y, fmt)
    with pytest.raises(InputError):
        tile_source.tile_bytes(pg, "tps", 15, 1 << 15, 0)
