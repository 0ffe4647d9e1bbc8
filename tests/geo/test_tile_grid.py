"""geo.tile_grid: XYZ arithmetic at tile edges over Jakarta and near the poles, grid cells, box tiles.
The public names are also reached as ``geo.tiles.<name>`` (re-exported), as callers use them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo import tile_grid, tiles

# DKI Jakarta including Kepulauan Seribu (lat down to -5.20): no antimeridian anywhere near.
JAKARTA_BOUNDS = (106.39, -6.38, 106.98, -5.19)


def _osm_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    # The OpenStreetMap wiki formula, as an independent reference.
    n = 2 ** z
    rad = math.radians(lat)
    return int((lon + 180.0) / 360.0 * n), int((1.0 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2.0 * n)


# --- positions, tiles, bounds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lon, lat", [(106.8272, -6.1754), (106.39, -6.38), (106.98, -5.19), (106.6, -5.74)])
@pytest.mark.parametrize("z", [10, 13, 17])
def test_lonlat_to_tile_matches_the_osm_formula(lon, lat, z):
    x, y = tiles.lonlat_to_tile(lon, lat, z)
    assert (int(x), int(y)) == _osm_tile(lon, lat, z)


@pytest.mark.parametrize("z", range(10, 18))
def test_tile_edges_across_jakarta_belong_east_and_south(z):
    for _, x, y in tiles.tiles_covering(JAKARTA_BOUNDS, z)[:: max(1, 4 ** (z - 10) // 8)]:
        west, south, east, north = tiles.tile_bounds(z, x, y)
        assert 105.5 < west < east < 107.5 and -7 < south < north < -4.5  # antimeridian-free
        assert tuple(map(int, tiles.lonlat_to_tile(west, north, z))) == (x, y)
        assert tuple(map(int, tiles.lonlat_to_tile(east, south, z))) == (x + 1, y + 1)
        w, h = east - west, north - south
        assert tuple(map(int, tiles.lonlat_to_tile(west + w * 1e-6, north - h * 1e-6, z))) == (x, y)
        assert tuple(map(int, tiles.lonlat_to_tile(west - w * 1e-6, north + h * 1e-6, z))) == (x - 1, y - 1)
        assert tiles.tile_bounds(z, x + 1, y)[0] == east
        assert tiles.tile_bounds(z, x, y + 1)[3] == pytest.approx(south, abs=1e-12)


def test_tile_bounds_are_contiguous_and_centres_round_trip():
    z = 14
    for _, x, y in tiles.tiles_covering((106.80, -6.22, 106.86, -6.16), z):
        west, south, east, north = tiles.tile_bounds(z, x, y)
        assert tiles.tile_bounds(z, x, y + 1)[3] == pytest.approx(south, abs=1e-12)
        cx, cy = tiles.lonlat_to_tile((west + east) / 2, (south + north) / 2, z)
        assert (int(cx), int(cy)) == (x, y)


def test_tiles_covering_counts_the_whole_box():
    covering = tiles.tiles_covering(JAKARTA_BOUNDS, 12)
    xs = {x for _, x, _ in covering}
    ys = {y for _, _, y in covering}
    assert len(covering) == len(xs) * len(ys)
    assert covering == sorted(covering)
    assert (12, *map(int, tiles.lonlat_to_tile(106.8272, -6.1754, 12))) in covering


def test_world_edges_stay_in_range():
    x, y = tiles.lonlat_to_tile([180.0, -180.0], [-90.0, 90.0], 3)
    assert x.tolist() == [7, 0] and y.tolist() == [7, 0]


@pytest.mark.parametrize("z, x, y", [(14, -1, 0), (14, 0, 16384), (25, 0, 0), (-1, 0, 0)])
def test_invalid_tiles_raise(z, x, y):
    with pytest.raises(ValueError):
        tiles.check_tile(z, x, y)


def test_mercator_round_trips():
    lon, lat = np.array([106.8, 106.39, 106.98]), np.array([-6.2, -6.38, -5.19])
    back_lon, back_lat = tiles.lonlat(*tiles.mercator(lon, lat))
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)



def test_the_tiles_module_re_exports_the_arithmetic():
    for name in ("mercator", "lonlat", "lonlat_to_tile", "tile_bounds", "tiles_covering", "check_tile",
                 "grid_aggregate", "EXTENT", "BUFFER", "MAX_LAT"):
        assert getattr(tiles, name) is getattr(tile_grid, name)


# Found by hypothesis (tests/reliability/test_properties.py): at zoom >= 21 near the poles the nearest
# double to a row edge's latitude fell in the row north of it, so a tile's north-west corner mapped
# back to the tile above. (21, 21, 21) and (22, 194, 194) failed before tile_bounds stepped edges by ulps.
@pytest.mark.parametrize("z, x, y", [(21, 87091, 21), (21, 21, 21), (22, 194, 194), (22, 1336, 194),
                                     (22, 59521, 6402), (22, 34316, 34316), (21, 1815836, 75867)])
def test_the_north_west_corner_maps_back_to_its_tile_near_the_poles(z, x, y):
    west, south, east, north = tiles.tile_bounds(z, x, y)
    assert tuple(map(int, tiles.lonlat_to_tile(west, north, z))) == (x, y)
    assert tuple(map(int, tiles.lonlat_to_tile(east, south, z))) == (x + 1, y + 1)
    above = tiles.tile_bounds(z, x, y - 1)
    assert above[1] == north                                      # the shared edge is one value
    assert float(np.nextafter(north, 90.0)) > north
    assert tuple(map(int, tiles.lonlat_to_tile(west, float(np.nextafter(north, 90.0)), z)))[1] in (y - 1, y)


@pytest.mark.parametrize("z", [0, 1, 12, 22, 24])
def test_world_corners_are_the_grid_corners(z):
    n = 2 ** z
    west, _, _, north = tiles.tile_bounds(z, 0, 0)
    _, south, east, _ = tiles.tile_bounds(z, n - 1, n - 1)
    assert (west, east) == (-180.0, 180.0)
    assert north == pytest.approx(tiles.MAX_LAT, abs=1e-9) and south == pytest.approx(-tiles.MAX_LAT, abs=1e-9)


def test_bbox_tiles_lists_every_tile_of_every_grown_box():
    boxes = np.array([[2.2, 3.5, 2.9, 3.6],      # one tile
                      [0.99, 0.5, 3.01, 1.2],    # grown by b: reaches x 0..3 and y 0..1
                      [5.0, 5.0, 5.0, 5.0]])     # a point on a corner: 4 tiles once grown
    xs, ys = tile_grid.bbox_tiles(boxes, 0.015625)
    expected = {(2, 3)} | {(x, y) for x in range(4) for y in range(2)} | {(x, y) for x in (4, 5) for y in (4, 5)}
    assert set(zip(xs.tolist(), ys.tolist())) == expected
    assert len(xs) == 1 + 8 + 4
    empty = tile_grid.bbox_tiles(np.empty((0, 4)), 0.1)
    assert len(empty[0]) == len(empty[1]) == 0


def test_grid_aggregate_sums_per_cell_with_ascending_keys():
    mx = np.array([0.10, 0.11, 0.90, 0.10])
    my = np.array([0.10, 0.10, 0.90, 0.60])
    keys, gx, gy, count, dpt = tile_grid.grid_aggregate(mx, my, 0, 2, (np.array([1.0, 2.0, 3.0, 4.0]),))
    assert keys.tolist() == [0, 2, 3] and count.tolist() == [2, 1, 1] and dpt.tolist() == [3.0, 4.0, 3.0]
    np.testing.assert_allclose(gx, [0.105, 0.10, 0.90])
    np.testing.assert_allclose(gy, [0.10, 0.60, 0.90])
