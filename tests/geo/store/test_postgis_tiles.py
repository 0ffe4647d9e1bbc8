"""Tiles cut by PostGIS (PostgisStore.tile/tile_data/tiles) agree with geo.tiles on the same rows.

One city of ~400 TPS around Jakarta Pusat (the maps fixtures plus seeded scattered points, a dense
cluster, points on tile and buffer edges and TPS of a kelurahan without a polygon) is loaded into a
GeoPackage store and a real PostGIS; every tile of the z10-16 pyramid must select the same features
in both, in both formats.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geo import geojson, tiles
from geo.errors import InputError, NotFoundError
from geo.schema import conform
from geo.store.gpkg import GpkgStore
from geo.store.postgis import PostgisStore
from geo.tiles import TileIndex, TileOptions

pytestmark = pytest.mark.postgis

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "maps"
ZOOMS = tuple(range(10, 17))
OPTIONS = {
    "default": TileOptions(zooms=ZOOMS),
    "grid": TileOptions(zooms=ZOOMS, aggregate_by="grid"),
    "capped": TileOptions(zooms=ZOOMS, feature_cap=100),  # the dense cluster's tiles go over it
}
EDGE_AT = (106.811, -6.171)  # inside kelurahan 3171011001
ORPHAN_KEL = "3171011005"  # TPS whose kelurahan has no polygon: aggregated at the mean of its TPS


# --- the city -------------------------------------------------------------------------------------

def _read(layer: str) -> gpd.GeoDataFrame:
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


def _tps(kode_kel, no_tps, lon, lat, rng) -> gpd.GeoDataFrame:
    no_tps = np.asarray(no_tps)
    dpt = pd.array(rng.integers(150, 300, len(no_tps)), dtype="Int32")
    dpt[rng.random(len(no_tps)) < 0.2] = pd.NA
    frame = pd.DataFrame({"kode_kel": kode_kel, "no_tps": no_tps, "dpt": dpt, "alamat": "Jl. Uji",
                          "precision_m": rng.uniform(1, 60, len(no_tps)).round(2), "location_source": "coordinates"})
    frame["kode_tps"] = frame["kode_kel"] + pd.Series(no_tps).map("{:03d}".format)
    return conform(gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs=4326), "tps")


def edge_points() -> list[tuple[int, int, int, float, float, str]]:
    """(z, x, y, lon, lat, where) of points on the edges of the tiles holding EDGE_AT at z14-16."""
    out = []
    for z in (14, 15, 16):
        n, b = 2 ** z, tiles.BUFFER / tiles.EXTENT
        x, y = map(int, tiles.lonlat_to_tile(*EDGE_AT, z))
        (lon_w, lon_b), (lat_n, lat_mid) = tiles.lonlat(np.array([x, x + 1 + b]) / n, np.array([y, y + 0.5]) / n)
        out += [(z, x, y, float(lon_w), float(lat_mid), "west"), (z, x, y, float(lon_w), float(lat_n), "corner"),
                (z, x, y, float(lon_b), float(lat_mid), "buffer")]
    return out


def city() -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(20240214)
    kel, rw, fixture = _read("kelurahan"), _read("rw"), _read("tps")
    parts = [fixture]
    for kode, (w, s, e, n) in zip(kel["kode"][:3], kel.geometry.bounds.to_numpy()[:3]):
        parts.append(_tps(kode, range(101, 171), rng.uniform(w + 1e-4, e - 1e-4, 70),
                          rng.uniform(s + 1e-4, n - 1e-4, 70), rng))
    parts.append(_tps("3171011002", range(201, 351), rng.uniform(106.824, 106.828, 150),
                      rng.uniform(-6.172, -6.168, 150), rng))
    edges = edge_points()
    parts.append(_tps("3171011001", range(901, 901 + len(edges)), [p[3] for p in edges], [p[4] for p in edges], rng))
    parts.append(_tps(ORPHAN_KEL, range(1, 6), rng.uniform(106.842, 106.848, 5), rng.uniform(-6.195, -6.185, 5), rng))
    return {"kelurahan": kel, "rw": rw, "tps": conform(pd.concat(parts, ignore_index=True), "tps")}


@pytest.fixture(scope="module")
def data() -> dict[str, gpd.GeoDataFrame]:
    return city()


@pytest.fixture(scope="module")
def gpkg(data, tmp_path_factory):
    store = GpkgStore(tmp_path_factory.mktemp("tiles") / "petatps.gpkg")
    store.init()
    for layer, frame in data.items():
        store.load(layer, [frame])
    return store


@pytest.fixture(scope="module")
def pg(pg_url, data):
    name = "t_" + uuid.uuid4().hex[:12]  # one loaded schema for the module (pg_schema is per test)
    store = PostgisStore(pg_url, schema=name)
    try:
        store.init()
        for layer, frame in data.items():
            store.load(layer, [frame])
        yield store
    finally:
        store.close()
        engine = sa.create_engine(pg_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


def reference(store, layer: str, options: TileOptions, kode: str | None = None) -> TileIndex:
    """geo.tiles over the rows of ``store``, as geo.tile_source builds it for an embedded store."""
    if layer == "tps":
        return TileIndex.from_frame(store.read("tps", kode), "tps", areas=store.read("kelurahan", kode), options=options)
    frame = store.read(layer, kode)
    if layer == "kelurahan":
        frame = geojson.kelurahan_stats(frame, store.read("tps", kode))
    return TileIndex.from_frame(frame, layer, options=options)


def ids_of(data: bytes | None, fmt: str, layer: str) -> list:
    """Feature ids of an encoded tile: MVT integer ids (sorted), GeoJSON string ids (in order)."""
    if data is None:
        return []
    if fmt == "mvt":
        return sorted(f["id"] for f in mapbox_vector_tile.decode(data)[layer]["features"])
    return [f["id"] for f in json.loads(data)["features"]]


# --- agreement over the whole pyramid -------------------------------------------------------------

@pytest.mark.parametrize("layer, name", [("tps", "default"), ("tps", "grid"), ("tps", "capped"),
                                         ("kelurahan", "default"), ("rw", "default")])
def test_every_pyramid_tile_has_the_same_features_in_both_backends(gpkg, pg, layer, name):
    options = OPTIONS[name]
    index = reference(gpkg, layer, options)
    kinds = set()
    for z in ZOOMS:
        listed = pg.tiles(layer, z, options)
        assert listed == index.tiles(z), (layer, z)
        for x, y in listed:
            sel = index.select(z, x, y)
            kinds.add((sel.kind, sel.capped))
            for fmt in ("mvt", "geojson"):
                data, pg_sel = pg.tile_data(layer, z, x, y, fmt, options)
                assert pg_sel == sel, (layer, z, x, y, fmt)
                assert data is not None
                assert ids_of(data, fmt, layer) == ids_of(index.encode(sel, fmt), fmt, layer), (layer, z, x, y, fmt)
    expected = {"tps": {"default": {("kelurahan", False), ("features", False)},
                        "grid": {("grid", False), ("features", False)},
                        "capped": {("kelurahan", False), ("features", False), ("grid", True)}}}
    assert kinds == expected.get(layer, {}).get(name, {("features", False)})


def test_area_filter_agrees(gpkg, pg):
    options = OPTIONS["default"]
    for layer in ("tps", "kelurahan"):
        index = reference(gpkg, layer, options, kode="3171011002")
        for z in (11, 14, 16):
            assert pg.tiles(layer, z, options, kode="3171011002") == index.tiles(z)
            for x, y in index.tiles(z):
                assert pg.tile_data(layer, z, x, y, "mvt", options, kode="3171011002")[1] == index.select(z, x, y)


def test_tile_contents_match_geo_tiles(gpkg, pg):
    """Same GeoJSON objects (properties allow-list, values, geometry) and same decoded MVT points."""
    index = reference(gpkg, "tps", OPTIONS["default"])
    for z in (11, 16):
        for x, y in index.tiles(z)[:12]:
            ours = json.loads(pg.tile("tps", z, x, y, "geojson"))
            assert ours == json.loads(index.geojson(z, x, y))
            decoded = mapbox_vector_tile.decode(pg.tile("tps", z, x, y, "mvt"))
            assert decoded == mapbox_vector_tile.decode(index.mvt(z, x, y))


def test_polygon_tiles_are_clipped_to_the_buffer_and_whole_in_geojson(gpkg, pg):
    index = reference(gpkg, "rw", OPTIONS["default"])
    z = 16
    x, y = index.tiles(z)[len(index.tiles(z)) // 2]
    layer = mapbox_vector_tile.decode(pg.tile("rw", z, x, y, "mvt"), default_options={"y_coord_down": True})["rw"]
    coords = np.array([c for f in layer["features"] for ring in f["geometry"]["coordinates"] for c in ring])
    assert coords.min() >= -64 and coords.max() <= 4096 + 64
    assert {f["properties"]["kode"] for f in layer["features"]} <= set(gpkg.read("rw")["kode"])
    doc = json.loads(pg.tile("rw", z, x, y, "geojson"))
    assert doc == json.loads(index.geojson(z, x, y))  # whole features, RFC 7946 rings, 6 decimals


# --- edges, aggregation, caps, empty tiles ---------------------------------------------------------

@pytest.mark.parametrize("z, x, y, lon, lat, where", edge_points())
def test_points_on_tile_edges_belong_east_and_south_and_to_the_buffer(pg, z, x, y, lon, lat, where):
    kode = _kode_at(pg, lon, lat)
    def holds(tx, ty):
        return kode in pg.tile_data("tps", z, tx, ty, "mvt")[1].ids
    if where == "buffer":  # exactly x + 1 + 64/4096: the buffer is half-open
        assert not holds(x, y) and holds(x + 1, y)
        return
    assert holds(x, y) and holds(x - 1, y) and not holds(x - 2, y)
    if where == "corner":
        assert holds(x, y - 1) and holds(x - 1, y - 1) and not holds(x, y - 2)
    assert (x, y) in pg.tiles("tps", z) and (x - 1, y) in pg.tiles("tps", z)


def _kode_at(store, lon: float, lat: float) -> int:
    tps = store.read("tps", "3171011001")
    hit = tps[tps.geometry.x.eq(lon) & tps.geometry.y.eq(lat)]  # corners of nested tiles coincide
    assert len(hit) >= 1
    return int(hit["kode_tps"].iloc[0])


@pytest.mark.parametrize("z", [10, 11, 12])
def test_low_zooms_aggregate_every_located_tps_per_kelurahan(pg, data, z):
    seen = {}
    for x, y in pg.tiles("tps", z):
        for f in json.loads(pg.tile("tps", z, x, y, "geojson"))["features"]:
            assert f["properties"]["kind"] == "kelurahan"
            seen[f["id"]] = f["properties"]
    located = data["tps"][data["tps"].geometry.notna()]
    assert {k: p["tps_count"] for k, p in seen.items()} == located.groupby("kode_kel").size().to_dict()
    assert seen[ORPHAN_KEL]["nama"] is None and seen["3171011001"]["nama"] == "Gambir Contoh"
    dpt = located.groupby("kode_kel")["dpt"]
    assert {k: (p["dpt_total"], p["dpt_known"]) for k, p in seen.items()} == {
        k: (int(dpt.sum()[k]), int(dpt.count()[k])) for k in seen}


def test_a_point_tile_over_its_cap_shows_grid_cells_without_losing_tps(pg, data):
    options = OPTIONS["capped"]
    z = 14
    x, y = map(int, tiles.lonlat_to_tile(106.826, -6.170, z))
    data_, sel = pg.tile_data("tps", z, x, y, "geojson", options)
    assert sel.kind == "grid" and sel.capped and sel.candidates > 100 >= len(sel.ids)
    located = data["tps"][data["tps"].geometry.notna()]
    tx, ty = tiles.lonlat_to_tile(located.geometry.x, located.geometry.y, z)
    side = 2 ** z * options.grid_cells  # a cell id is row * side + column: its tile is exact
    placed = sum(f["properties"]["tps_count"] for f in json.loads(data_)["features"]
                 if (int(f["id"]) % side // options.grid_cells, int(f["id"]) // side // options.grid_cells) == (x, y))
    assert placed == int(((tx == x) & (ty == y)).sum()) > 100


def test_a_polygon_tile_over_its_cap_keeps_the_first_features_in_key_order(pg_url, pg_schema):
    squares = [shapely.box(106.80 + i * 1e-4, -6.18, 106.80 + i * 1e-4 + 5e-5, -6.17995) for i in range(12)]
    rw = conform(gpd.GeoDataFrame({"kode": [f"3171011001-{i:03d}" for i in range(12, 0, -1)], "kode_kel": "3171011001",
                                   "rw": range(12, 0, -1)}, geometry=squares, crs=4326), "rw")
    options = TileOptions(zooms=(13,), feature_cap=9, grid_cells=1)
    store = PostgisStore(pg_url, schema=pg_schema)
    store.init()
    store.load("rw", [rw])
    (x, y), = store.tiles("rw", 13, options)
    for fmt in ("mvt", "geojson"):
        data, sel = store.tile_data("rw", 13, x, y, fmt, options)
        assert sel.capped and sel.candidates == 12 and sel.kind == "features"
        assert sel.ids == tuple(3171011001000 + i for i in range(1, 10))
        assert sel == TileIndex.from_frame(rw, "rw", options=options).select(13, x, y)
    assert ids_of(data, "geojson", "rw") == [f"3171011001-{i:03d}" for i in range(1, 10)]
    assert store.tiles("kelurahan", 13, options) == [] and store.tile_bounds("kelurahan") is None
    store.close()


@pytest.mark.parametrize("fmt", ["mvt", "geojson"])
def test_empty_tiles_are_none(pg, fmt):
    assert pg.tile("tps", 14, 0, 0, fmt) is None
    assert pg.tile("kelurahan", 16, 52000, 33000, fmt) is None
    data, sel = pg.tile_data("rw", 10, 0, 1023, fmt)
    assert data is None and sel.ids == () and sel.candidates == 0


def test_bounds_match_geo_tiles(gpkg, pg):
    for layer in ("tps", "kelurahan", "rw"):
        assert pg.tile_bounds(layer) == pytest.approx(reference(gpkg, layer, OPTIONS["default"]).bounds(), abs=1e-9)
    assert pg.tile_bounds("tps", kode="3171011003") == pytest.approx(
        reference(gpkg, "tps", OPTIONS["default"], kode="3171011003").bounds(), abs=1e-9)


# --- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("z, x, y", [(14, -1, 0), (14, 0, 16384), (25, 0, 0), (-1, 0, 0), (3, 8, 0)])
def test_out_of_range_tiles_are_input_errors(pg, z, x, y):
    with pytest.raises(InputError, match="z/x/y"):
        pg.tile("tps", z, x, y)


@pytest.mark.parametrize("layer, error", [("voters", NotFoundError), ("rumah", NotFoundError)])
def test_only_public_layers_are_tiled(pg, layer, error):
    with pytest.raises(error):
        pg.tile(layer, 14, 13058, 8472)


@pytest.mark.parametrize("kwargs", [{"fmt": "png"}, {"kode": "31' OR 1=1 --"}, {"kode": "%"}])
def test_bad_format_or_area_code_is_an_input_error(pg, kwargs):
    with pytest.raises(InputError):
        pg.tile("tps", 14, 13058, 8472, **kwargs)


# --- the tile connections ---------------------------------------------------------------------------

def test_a_tile_read_survives_a_dropped_connection_and_reuses_one_connection(pg, pg_url):
    z, x, y = 14, *map(int, tiles.lonlat_to_tile(*EDGE_AT, 14))
    before = [pg.tile("tps", z, x, y, "mvt") for _ in range(7)]      # prepared from the 5th run
    assert before[0] is not None and len(set(before)) == 1
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:                                      # as a server restart would
        ended = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE application_name = 'petatps tiles' AND datname = current_database() "
                                     "AND pid <> pg_backend_pid()")).scalar_one()
    engine.dispose()
    assert ended >= 1
    assert pg.tile("tps", z, x, y, "mvt") == before[0]                # retried once on a fresh connection
    assert pg.tile_data("tps", z, x, y, "geojson")[1].ids == pg.tile_data("tps", z, x, y, "mvt")[1].ids


@pytest.mark.parametrize("fmt", ["mvt", "geojson"])
def test_a_served_tile_without_ids_has_the_same_bytes(pg, fmt):
    from geo import tile_source

    for z in (12, 14, 16):
        x, y = map(int, tiles.lonlat_to_tile(*EDGE_AT, z))
        data, sel = pg.tile_data("tps", z, x, y, fmt)
        assert data is not None and sel.ids
        assert pg.tile("tps", z, x, y, fmt) == data == tile_source.tile_bytes(pg, "tps", z, x, y, fmt)
