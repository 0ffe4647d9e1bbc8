"""geo.tiles: selection at tile edges and buffers, aggregation, caps, GeoJSON/MVT agreement (the z/x/y
arithmetic itself: tests/geo/test_tile_grid.py)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import tiles
from geo.schema import conform
from geo.tiles import TileIndex, TileOptions

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "maps"
# DKI Jakarta including Kepulauan Seribu (lat down to -5.20): no antimeridian anywhere near.
JAKARTA_BOUNDS = (106.39, -6.38, 106.98, -5.19)


def _read(layer: str) -> gpd.GeoDataFrame:
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


@pytest.fixture(scope="module")
def kelurahan() -> gpd.GeoDataFrame:
    return _read("kelurahan")


@pytest.fixture(scope="module")
def tps() -> gpd.GeoDataFrame:
    return _read("tps")


@pytest.fixture(scope="module")
def index(tps, kelurahan) -> TileIndex:
    return TileIndex.from_frame(tps, "tps", areas=kelurahan)


def _points(lon, lat, kode_kel="3171011001", dpt=250) -> gpd.GeoDataFrame:
    lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
    no = np.arange(1, len(lon) + 1)
    kode_kel = np.resize(np.atleast_1d(kode_kel), len(lon))
    frame = pd.DataFrame({"kode_kel": kode_kel, "no_tps": no, "dpt": dpt})
    frame["kode_tps"] = frame["kode_kel"] + pd.Series(no).map("{:03d}".format)
    return conform(gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs=4326), "tps")


# --- selection and buffer -------------------------------------------------------------------------

def test_point_on_a_tile_edge_belongs_east_and_is_in_the_west_buffer():
    z = 14
    x, y = map(int, tiles.lonlat_to_tile(106.8272, -6.1754, z))
    west, south, _, north = tiles.tile_bounds(z, x, y)
    idx = TileIndex.from_frame(_points([west], [(south + north) / 2]), "tps")
    assert tuple(map(int, tiles.lonlat_to_tile(west, (south + north) / 2, z))) == (x, y)
    assert idx.select(z, x, y).ids == (3171011001001,)
    assert idx.select(z, x - 1, y).ids == (3171011001001,)  # within the 64/4096 buffer
    assert idx.select(z, x - 2, y).ids == ()
    assert idx.tiles(z) == [(x - 1, y), (x, y)]


def test_buffer_edge_is_half_open():
    z = 15
    x, y = map(int, tiles.lonlat_to_tile(106.8272, -6.1754, z))
    n = 2 ** z
    b = tiles.BUFFER / tiles.EXTENT
    inside, outside = tiles.lonlat(np.array([(x + 1 + b) / n - 1e-12, (x + 1 + b) / n]), np.array([y + 0.5] * 2) / n)
    idx = TileIndex.from_frame(_points(inside, outside), "tps")
    assert idx.select(z, x, y).ids == (3171011001001,)
    assert set(idx.select(z, x + 1, y).ids) == {3171011001001, 3171011001002}


def test_tiles_lists_exactly_the_non_empty_tiles(index, tps):
    z = 15
    w, s, e, n = tps.total_bounds
    for _, x, y in tiles.tiles_covering((w - 0.01, s - 0.01, e + 0.01, n + 0.01), z):
        listed = (x, y) in index.tiles(z)
        assert listed == bool(index.select(z, x, y).ids), (z, x, y)
        assert (index.geojson(z, x, y) is None) == (not listed)


def test_unlocated_rows_are_counted_not_indexed(index, tps):
    assert index.unlocated == 2
    assert len(index) == len(tps) - 2


# --- aggregation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("z", [10, 11, 12])
def test_low_zooms_aggregate_per_kelurahan_without_losing_tps(index, z):
    seen = {}
    for x, y in index.tiles(z):
        doc = json.loads(index.geojson(z, x, y))
        for f in doc["features"]:
            assert f["properties"]["kind"] == "kelurahan"
            seen[f["id"]] = f["properties"]["tps_count"]
    assert seen == {"3171011001": 12, "3171011002": 8, "3171011003": 6}
    assert sum(seen.values()) == len(index)


def test_kelurahan_aggregate_sits_inside_its_kelurahan(index, kelurahan):
    z = 11
    x, y = index.tiles(z)[0]
    doc = json.loads(index.geojson(z, x, y))
    polygons = kelurahan.set_index("kode").geometry
    for f in doc["features"]:
        assert polygons[f["id"]].contains(shapely.Point(f["geometry"]["coordinates"]))
        assert f["properties"]["nama"] and f["properties"]["dpt_known"] <= f["properties"]["tps_count"]


def test_grid_aggregation_keeps_every_tps(tps):
    idx = TileIndex.from_frame(tps, "tps", options=TileOptions(aggregate_by="grid"))
    for z in (10, 12):
        total = 0
        for x, y in idx.tiles(z):
            doc = json.loads(idx.geojson(z, x, y))
            for f in doc["features"]:
                assert f["properties"]["kind"] == "grid"
                lon, lat = f["geometry"]["coordinates"]
                if tuple(map(int, tiles.lonlat_to_tile(lon, lat, z))) == (x, y):
                    total += f["properties"]["tps_count"]
        assert total == len(idx)


def test_aggregation_threshold_is_configurable(tps):
    idx = TileIndex.from_frame(tps, "tps", options=TileOptions(aggregate_below=15))
    z, (x, y) = 14, idx.tiles(14)[0]
    assert idx.select(z, x, y).kind == "kelurahan"
    assert idx.select(15, *idx.tiles(15)[0]).kind == "features"


def test_tps_at_high_zoom_are_features_with_compact_properties(index):
    z, (x, y) = 16, index.tiles(16)[0]
    sel = index.select(z, x, y)
    assert sel.kind == "features" and not sel.capped
    doc = json.loads(index.geojson(z, x, y))
    assert [int(f["id"]) for f in doc["features"]] == list(sel.ids)
    assert set(doc["features"][0]["properties"]) == set(tiles.TILE_PROPERTIES["tps"])


# --- feature cap ----------------------------------------------------------------------------------

def test_point_tile_over_the_cap_becomes_grid_aggregates_without_loss():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(106.80, 106.81, 300), rng.uniform(-6.19, -6.18, 300)
    idx = TileIndex.from_frame(_points(lon, lat), "tps", options=TileOptions(feature_cap=100))
    z = 14
    x, y = map(int, tiles.lonlat_to_tile(106.805, -6.185, z))
    sel = idx.select(z, x, y)
    assert sel.capped and sel.kind == "grid" and sel.candidates > 100 and len(sel.ids) <= 100
    # Grid cells align with tiles, so the cells placed in this tile hold exactly its own TPS.
    tx, ty = tiles.lonlat_to_tile(lon, lat, z)
    own = int(((tx == x) & (ty == y)).sum())
    placed = 0
    for f in json.loads(idx.geojson(z, x, y))["features"]:
        fx, fy = tiles.lonlat_to_tile(*f["geometry"]["coordinates"], z)
        placed += f["properties"]["tps_count"] if (int(fx), int(fy)) == (x, y) else 0
    assert placed == own > 100


def test_polygon_tile_over_the_cap_keeps_the_first_features_in_key_order():
    squares = [shapely.box(106.80 + i * 1e-4, -6.18, 106.80 + i * 1e-4 + 5e-5, -6.17995) for i in range(150)]
    frame = conform(gpd.GeoDataFrame({"kode": [f"3171011001-{i:03d}" for i in range(1, 151)],
                                      "kode_kel": "3171011001", "rw": range(1, 151)},
                                     geometry=squares, crs=4326), "rw")
    idx = TileIndex.from_frame(frame, "rw", options=TileOptions(feature_cap=100, zooms=(13,)))
    (x, y), = idx.tiles(13)
    sel = idx.select(13, x, y)
    assert sel.capped and sel.candidates == 150 and len(sel.ids) == 100
    assert sel.ids[0] == 3171011001001 and sel.ids[-1] == 3171011001100


def test_cap_below_the_grid_minimum_is_refused():
    with pytest.raises(ValueError, match="feature_cap"):
        TileOptions(feature_cap=50)
    with pytest.raises(ValueError, match="aggregate_by"):
        TileOptions(aggregate_by="kecamatan")


# --- encodings ------------------------------------------------------------------------------------

def test_geojson_and_mvt_tiles_hold_the_selected_ids(index):
    for z, x, y in index.pyramid():
        sel = index.select(z, x, y)
        doc = json.loads(index.geojson(z, x, y))
        assert [int(f["id"]) for f in doc["features"]] == list(sel.ids)
        layer = mapbox_vector_tile.decode(index.mvt(z, x, y))["tps"]
        assert sorted(f["id"] for f in layer["features"]) == list(sel.ids)
        assert layer["extent"] == 4096


def test_mvt_points_are_in_tile_pixels_within_the_buffer(index):
    z, (x, y) = 17, index.tiles(17)[0]
    layer = mapbox_vector_tile.decode(index.mvt(z, x, y), default_options={"y_coord_down": True})["tps"]
    for f in layer["features"]:
        px, py = f["geometry"]["coordinates"]
        assert -64 <= px <= 4096 + 64 and -64 <= py <= 4096 + 64
        assert "alamat" in f["properties"] and f["properties"]["kode_tps"] == str(f["id"])


def test_mvt_polygons_are_clipped_to_the_buffered_tile(kelurahan):
    idx = TileIndex.from_frame(kelurahan, "kelurahan", options=TileOptions(zooms=(16,)))
    z = 16
    x, y = idx.tiles(z)[len(idx.tiles(z)) // 2]
    layer = mapbox_vector_tile.decode(idx.mvt(z, x, y), default_options={"y_coord_down": True})["kelurahan"]
    coords = np.array([c for f in layer["features"] for poly in _rings(f["geometry"]) for c in poly])
    assert coords.min() >= -64 and coords.max() <= 4096 + 64
    assert {f["id"] for f in layer["features"]} == set(idx.select(z, x, y).ids)


def _rings(geometry):
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for poly in geometry["coordinates"] for ring in poly]


def test_empty_tile_is_none(index):
    assert index.geojson(14, 0, 0) is None and index.mvt(14, 0, 0) is None


def test_rw_keys_become_integer_ids():
    rw = _read("rw")
    idx = TileIndex.from_frame(rw, "rw", options=TileOptions(zooms=(14,)))
    (x, y), *_ = idx.tiles(14)
    assert set(idx.select(14, x, y).ids) <= {3171011001001, 3171011001002, 3171011001003, 3171011001004}


def test_output_is_deterministic(tps, kelurahan):
    a = TileIndex.from_frame(tps, "tps", areas=kelurahan)
    b = TileIndex.from_frame(tps.sample(frac=1, random_state=3), "tps", areas=kelurahan)
    assert list(a.pyramid()) == list(b.pyramid())
    for z, x, y in a.pyramid():
        assert a.geojson(z, x, y) == b.geojson(z, x, y)
        assert a.mvt(z, x, y) == b.mvt(z, x, y)


def test_bounds_cover_the_located_points(index, tps):
    west, south, east, north = index.bounds()
    located = tps[~tps.geometry.isna()]
    assert (west, south, east, north) == pytest.approx(tuple(located.total_bounds), abs=1e-9)
