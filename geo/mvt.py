"""A direct Mapbox Vector Tile (v2) encoder for point layers.

:func:`point_tile` writes the protobuf bytes of a one-layer tile of points itself instead of going
through shapely geometries and ``mapbox_vector_tile.encode`` feature by feature: the geometry and
id varints are built with numpy for the whole tile, and the only per-feature Python work is the
lookup of the feature's property tags. The output is byte-identical to
``mapbox_vector_tile.encode`` (2.2, ``y_coord_down=True``) for the same points, properties and ids:
keys and values are deduplicated in first-seen order with the same rules (``bool`` values apart
from numbers, ``1`` and ``1.0`` one value, typed as first seen), properties whose key is not a
``str`` or whose value is not a ``str``/``bool``/``int``/``float`` are dropped, and negative ids
are left out. Polygons and lines still go through ``mapbox_vector_tile``.
"""

from __future__ import annotations

import struct

import numpy as np

_INT64 = (-(1 << 63), (1 << 63) - 1)
_HANDLED = (str, bool, int, float)


def varints(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Protobuf varints of non-negative integers, concatenated.

    Parameters
    ----------
    values : array of int
        Values in ``[0, 2**64)``.

    Returns
    -------
    data : bytes
        The varints, one after another.
    ends : ndarray of int64
        Offset in ``data`` just past each value's varint.
    """
    v = np.asarray(values).astype(np.uint64)
    sizes = np.ones(len(v), dtype=np.int64)
    for k in range(1, 10):
        sizes += v >= np.uint64(1 << (7 * k))
    ends = np.cumsum(sizes)
    starts = np.repeat(ends - sizes, sizes)
    j = np.arange(int(ends[-1]) if len(v) else 0, dtype=np.int64) - starts
    byte = (np.repeat(v, sizes) >> (7 * j).astype(np.uint64)) & np.uint64(0x7F)
    byte |= np.where(j < np.repeat(sizes, sizes) - 1, np.uint64(0x80), np.uint64(0))
    return byte.astype(np.uint8).tobytes(), ends


_SMALL = [bytes((i,)) for i in range(128)]


def _varint(n: int) -> bytes:
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _value(v) -> bytes:
    """One length-prefixed ``tile.value`` field of a layer, typed as mapbox_vector_tile types it."""
    if isinstance(v, bool):
        return b"\x22\x02\x38" + (b"\x01" if v else b"\x00")
    if isinstance(v, str):
        b = v.encode("utf-8")
        msg = b"\x0a" + _varint(len(b)) + b
    elif isinstance(v, int):
        if not _INT64[0] <= v <= _INT64[1]:
            raise ValueError(f"MVT int property out of the int64 range: {v}")
        msg = b"\x20" + _varint(v & ((1 << 64) - 1))
    else:
        msg = b"\x19" + struct.pack("<d", v)
    return b"\x22" + _varint(len(msg)) + msg


def _tags(props: list[dict]) -> tuple[list[int], list[int], list[str], list]:
    """All tags of the tile, the number of tags per feature, and the keys and values in first-seen order."""
    keys: dict = {}
    values: dict = {}
    bools: dict = {}
    out_values: list = []
    flat: list[int] = []
    counts: list[int] = []
    for p in props:
        n = len(flat)
        for k, v in p.items():
            if not isinstance(k, str) or not isinstance(v, _HANDLED):
                continue
            ki = keys.get(k)
            if ki is None:
                ki = keys[k] = len(keys)
            seen = bools if v.__class__ is bool else values
            vi = seen.get(v)
            if vi is None:
                vi = seen[v] = len(out_values)
                out_values.append(v)
            flat += (ki, vi)
        counts.append(len(flat) - n)
    return flat, counts, list(keys), out_values


def point_tile(name: str, px: np.ndarray, py: np.ndarray, ids: np.ndarray, props: list[dict],
               extent: int = 4096) -> bytes:
    """The MVT bytes of one layer of points.

    Parameters
    ----------
    name : str
        Layer name (not empty).
    px, py : array of float
        Point positions in tile pixels (y down), already rounded to integers.
    ids : array of int64
        Feature ids (negative ids are left out of the tile).
    props : list of dict
        Feature properties, in feature order.
    extent : int
        Tile extent in pixels.
    """
    if not name:
        raise ValueError(f"A layer name can not be empty. {name!r} was provided.")
    x, y = np.asarray(px).astype(np.int64), np.asarray(py).astype(np.int64)
    zz = np.empty(2 * len(x), dtype=np.int64)
    zz[0::2], zz[1::2] = (x << 1) ^ (x >> 63), (y << 1) ^ (y >> 63)
    gdata, gends = varints(zz)
    ids = np.asarray(ids, dtype=np.int64)
    idata, iends = varints(np.maximum(ids, 0))
    flat, counts, keys, values = _tags(props)
    tdata, tends = varints(np.asarray(flat, dtype=np.int64))
    tends = np.concatenate([[0], tends])[np.cumsum([0, *counts])].tolist()
    feats = []
    g0 = i0 = 0
    t0 = tends[0]
    for t1, g1, i1, has_id in zip(tends[1:], gends[1::2].tolist(), iends.tolist(), (ids >= 0).tolist()):
        geom = gdata[g0:g1]
        body = b"".join((b"\x08" + idata[i0:i1] if has_id else b"",
                         b"\x12" + _varint(t1 - t0) + tdata[t0:t1] if t1 > t0 else b"",
                         b"\x18\x01\x22", _SMALL[len(geom) + 1], b"\x09", geom))
        feats.append(b"\x12" + _varint(len(body)) + body)
        g0, i0, t0 = g1, i1, t1
    name_b = name.encode("utf-8")
    layer = b"".join([b"\x0a", _varint(len(name_b)), name_b, *feats,
                      *(b"\x1a" + _varint(len(kb)) + kb for kb in (k.encode("utf-8") for k in keys)),
                      *map(_value, values), b"\x28", _varint(extent), b"\x78\x02"])
    return b"\x1a" + _varint(len(layer)) + layer
