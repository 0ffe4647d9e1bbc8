"""GeoPackage geometry blobs ("GP" header + envelope + ISO WKB) and the SQL functions the
R-tree triggers need.

A blob written here is ``b"GP"``, version 0, a flags byte (little-endian header, xy envelope,
empty bit), the srs_id as int32 and the envelope ``minx, maxx, miny, maxy`` (float64), followed by
little-endian WKB from :func:`shapely.to_wkb`. Every blob carries the 40-byte header, points
included (allowed by the standard; it keeps the encoding one fixed-width array operation). Empty
geometries get the empty bit and a NaN envelope. Decoding accepts any standard GeoPackage blob
(any envelope kind, either byte order), e.g. rows edited in QGIS.

The R-tree triggers of the GeoPackage standard call ``ST_IsEmpty`` and ``ST_MinX`` …
``ST_MaxY``; GDAL provides them, plain :mod:`sqlite3` does not, so :func:`register_functions`
adds them to a connection.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence

import numpy as np
import shapely

from geo.errors import GeometryError

MAGIC = b"GP"
HEADER = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"),
                   ("minx", "<f8"), ("maxx", "<f8"), ("miny", "<f8"), ("maxy", "<f8")])
_FLAG_LITTLE = 0b0000_0001
_FLAG_XY_ENVELOPE = 0b0000_0010
_FLAG_EMPTY = 0b0001_0000
_FLAG_EXTENDED = 0b0010_0000
# bytes of envelope per envelope-contents indicator (flags bits 1-3); 5-7 are invalid
_ENVELOPE_BYTES = (0, 32, 48, 48, 64)


def encode(geoms: np.ndarray, srs_id: int) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage blobs (``None`` stays ``None``).

    Parameters
    ----------
    geoms : array of shapely geometries or None
        2D geometries in the CRS ``srs_id`` (degrees for EPSG:4326).
    srs_id : int
        ``gpkg_spatial_ref_sys.srs_id`` written in each header (4326).
    """
    geoms = np.asarray(geoms, dtype=object)
    wkb = shapely.to_wkb(geoms, byte_order=1, output_dimension=2, flavor="iso")
    bounds = shapely.bounds(geoms)                       # minx, miny, maxx, maxy; NaN if empty/None
    header = np.zeros(len(geoms), dtype=HEADER)
    header["magic"] = MAGIC
    empty = shapely.is_empty(geoms)
    header["flags"] = _FLAG_LITTLE | _FLAG_XY_ENVELOPE | np.where(empty, _FLAG_EMPTY, 0)
    header["srs_id"] = srs_id
    header["minx"], header["maxx"] = bounds[:, 0], bounds[:, 2]
    header["miny"], header["maxy"] = bounds[:, 1], bounds[:, 3]
    raw = header.tobytes()
    size = HEADER.itemsize
    return [None if w is None else raw[i * size:(i + 1) * size] + w for i, w in enumerate(wkb)]


def decode(blobs: Sequence[bytes | None], *, table: str = "?") -> np.ndarray:
    """Decode GeoPackage blobs to an array of shapely geometries (``None`` for NULL).

    Raises
    ------
    GeometryError
        A blob is not a standard GeoPackage geometry (``table`` names where it was read).
    """
    try:
        wkb = [None if b is None else bytes(b[8 + _envelope_bytes(b):]) for b in blobs]
        return shapely.from_wkb(np.array(wkb, dtype=object))
    except (IndexError, ValueError, shapely.errors.GEOSException) as exc:
        raise GeometryError(f"stored geometry is not a GeoPackage blob: {exc}", file=table) from None


def _envelope_bytes(blob: bytes) -> int:
    flags = blob[3]
    if blob[:2] != MAGIC or flags & _FLAG_EXTENDED:
        raise ValueError(f"header {bytes(blob[:4])!r} is not a standard GeoPackage geometry header")
    return _ENVELOPE_BYTES[(flags >> 1) & 0b111]


def envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """``(minx, maxx, miny, maxy)`` of one blob, from its header when present; ``None`` if empty."""
    if blob is None:
        return None
    flags = blob[3]
    if flags & _FLAG_EMPTY:
        return None
    if _envelope_bytes(blob):
        return struct.unpack_from("<4d" if flags & _FLAG_LITTLE else ">4d", blob, 8)
    geom = decode([blob])[0]
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return minx, maxx, miny, maxy


def register_functions(conn: sqlite3.Connection) -> None:
    """Add ``ST_IsEmpty`` and ``ST_MinX/MaxX/MinY/MaxY`` (used by the R-tree triggers) to ``conn``."""
    conn.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for name, i in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        conn.create_function(name, 1, _bound(i), deterministic=True)


def _is_empty(blob: bytes | None) -> int | None:
    return None if blob is None else int(envelope(blob) is None)


def _bound(i: int):
    def fn(blob: bytes | None) -> float | None:
        env = envelope(blob)
        return None if env is None else env[i]
    return fn
