"""Deterministic, spread inner points (geo/geocode_points.py)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.geocode_points import centres, farthest_m, spread_points

SQUARE = shapely.box(106.80, -6.20, 106.81, -6.19)
L_SHAPE = shapely.Polygon([(106.80, -6.20), (106.82, -6.20), (106.82, -6.199), (106.801, -6.199), (106.801, -6.18),
                           (106.80, -6.18)])                  # thin L: its centroid lies outside
ISLANDS = shapely.MultiPolygon([shapely.box(106.60, -5.745, 106.603, -5.742),
                                shapely.box(106.61, -5.752, 106.612, -5.750)])
DONUT = shapely.box(106.80, -6.20, 106.82, -6.18).difference(shapely.box(106.802, -6.198, 106.818, -6.182))


def _slots(sizes):
    group = np.repeat(np.arange(len(sizes)), sizes)
    slot = np.concatenate([np.arange(n) for n in sizes])
    return group, slot


@pytest.mark.parametrize("polygon", [SQUARE, L_SHAPE, ISLANDS, DONUT], ids=["square", "L", "islands", "donut"])
def test_centre_strictly_inside(polygon):
    c = centres(np.array([polygon]))[0]
    assert polygon.contains(c)


def test_single_tps_gets_the_centre():
    pts = spread_points(np.array([SQUARE]), np.array([0]), np.array([0]))
    assert pts[0].equals(SQUARE.centroid)


@pytest.mark.parametrize("n", [2, 7, 60])
def test_many_tps_spread_inside_and_apart(n):
    polys = np.array([SQUARE, L_SHAPE, ISLANDS, DONUT])
    group, slot = _slots([n] * 4)
    pts = spread_points(polys, group, slot)
    assert shapely.contains(polys[group], pts).all()
    xy = shapely.get_coordinates(pts)
    assert len(np.unique(xy, axis=0)) == len(pts)           # no two on the same spot


def test_deterministic_and_independent_of_other_groups():
    group, slot = _slots([5, 3])
    a = spread_points(np.array([SQUARE, L_SHAPE]), group, slot)
    b = spread_points(np.array([SQUARE, L_SHAPE]), group, slot)
    assert all(p.equals(q) for p, q in zip(a, b, strict=True))
    alone = spread_points(np.array([L_SHAPE]), np.zeros(3, dtype=int), np.arange(3))
    assert all(p.equals(q) for p, q in zip(a[5:], alone, strict=True))


def test_first_slots_nearest_the_centre():
    group, slot = _slots([40])
    pts = spread_points(np.array([SQUARE]), group, slot)
    d = shapely.distance(pts, SQUARE.centroid)
    assert d[0] == 0 and d[1] <= np.median(d)


def test_farthest_m_is_the_covering_radius():
    # A 1 km × 1 km square in UTM 48S, seen from its centre: the corners are 707 m away.
    sq = shapely.box(700_000, 9_300_000, 701_000, 9_301_000)
    r = farthest_m(np.array([shapely.Point(700_500, 9_300_500)]), np.array([sq]), np.array([0]), crs=32748)
    assert r[0] == pytest.approx(707.1, abs=0.1)
