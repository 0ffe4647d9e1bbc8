"""GeoPackage geometry blobs and the R-tree SQL functions of geo/store/gpkg_binary.py."""

from __future__ import annotations

import sqlite3
import struct

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, box

from geo.errors import GeometryError
from geo.store import gpkg_binary

GEOMS = np.array([Point(106.8, -6.2), MultiPolygon([box(106.8, -6.3, 106.9, -6.2)]), Point(), MultiPolygon(),
                  None], dtype=object)


def _gdal_style(geom, *, big_endian: bool = False) -> bytes:
    """A blob as GDAL writes a point: no envelope; optionally a big-endian header and WKB."""
    header = struct.pack(">BBi", 0, 0, 4326) if big_endian else struct.pack("<BBi", 0, 1, 4326)
    return b"GP" + header + shapely.to_wkb(geom, byte_order=0 if big_endian else 1)


def test_round_trip_keeps_geometries_exactly():
    back = gpkg_binary.decode(gpkg_binary.encode(GEOMS, 4326))
    assert back[-1] is None
    for a, b in zip(back[:-1], GEOMS[:-1]):
        assert a.geom_type == b.geom_type and a.equals_exact(b, 0)
    assert back[2].is_empty and back[3].is_empty


def test_header_layout():
    blob = gpkg_binary.encode(GEOMS[1:2], 4326)[0]
    magic, version, flags, srs_id, minx, maxx, miny, maxy = struct.unpack_from("<2sBBi4d", blob)
    assert (magic, version, flags, srs_id) == (b"GP", 0, 0b011, 4326)
    assert (minx, maxx, miny, maxy) == (106.8, 106.9, -6.3, -6.2)
    assert shapely.from_wkb(blob[40:]).equals(GEOMS[1])
    empty = gpkg_binary.encode(GEOMS[2:3], 4326)[0]
    assert empty[3] == 0b10011 and np.isnan(struct.unpack_from("<4d", empty, 8)).all()


def test_decodes_blobs_written_by_other_tools():
    blobs = [_gdal_style(Point(106.8, -6.2)), _gdal_style(Point(1.5, 2.5), big_endian=True)]
    back = gpkg_binary.decode(blobs)
    assert back[0].equals(Point(106.8, -6.2)) and back[1].equals(Point(1.5, 2.5))


@pytest.mark.parametrize("blob", [b"XX\x00\x01\x00\x00\x00\x00garbage", b"GP\x00\x21" + b"\x00" * 20, b"GP"])
def test_not_a_geopackage_blob_is_a_geometry_error(blob):
    with pytest.raises(GeometryError, match="tps"):
        gpkg_binary.decode([blob], table="tps")


def test_rtree_functions_in_sql():
    conn = sqlite3.connect(":memory:")
    gpkg_binary.register_functions(conn)
    blobs = gpkg_binary.encode(GEOMS, 4326) + [_gdal_style(Point(1.5, 2.5), big_endian=True)]
    rows = [conn.execute("SELECT ST_IsEmpty(?), ST_MinX(?), ST_MaxX(?), ST_MinY(?), ST_MaxY(?)", (b,) * 5).fetchone()
            for b in blobs]
    assert rows == [(0, 106.8, 106.8, -6.2, -6.2), (0, 106.8, 106.9, -6.3, -6.2), (1, None, None, None, None),
                    (1, None, None, None, None), (None, None, None, None, None), (0, 1.5, 1.5, 2.5, 2.5)]
