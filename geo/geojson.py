"""GeoJSON FeatureCollections of the public layers (RFC 7946, ``application/geo+json``).

Output is EPSG:4326 lon/lat with coordinates rounded to 6 decimals (~0.11 m), exterior rings
counter-clockwise, features in key order, object keys sorted (orjson): the same frame always gives
the same bytes. Each feature's ``id`` is the layer key (a string).

Properties are an allow-list per layer, so no other column (and never personal data such as a NIK
or a voter name) can reach a public file:

``tps``
    ``kode_tps`` (13-digit code), ``kode_kel``, ``no_tps`` (int), ``nama`` ("TPS 001"), ``alamat``
    (address of the polling station), ``rw``, ``rt`` (int), ``dpt``, ``dpt_l``, ``dpt_p`` (registered
    voters: total, men, women; null when unknown), ``jam_buka``, ``jam_tutup`` ("07:00", "13:00"),
    ``kpps`` (officers, int), ``akses_disabilitas`` (bool or null), ``location_source``
    (``coordinates|address_rt|address_rw|place|kelurahan``, null when not geocoded), ``precision_m``
    (radius of the location uncertainty in metres, 0.1 m steps). A TPS without a location has a
    ``null`` geometry.
``kelurahan``
    ``kode`` (10 digits), ``nama``, ``kode_kec``, ``kode_kab``; with TPS statistics
    (:func:`kelurahan_stats`): ``tps_count``, ``dpt_total`` (sum of known DPT) and ``dpt_known``
    (TPS with a known DPT).
``rw`` / ``rt``
    ``kode`` (``<kode_kel>-<rw:03d>[-<rt:03d>]``), ``nama``, ``kode_kel``, ``rw`` [, ``rt``].
``kecamatan`` / ``kota``
    ``kode``, ``nama``, ``kode_kab`` / ``kode_prov``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geo.crs import STORAGE_EPSG
from geo.errors import CRSError, MissingColumnError

MEDIA_TYPE = "application/geo+json"
DECIMALS = 6

PROPERTIES: dict[str, tuple[str, ...]] = {
    "tps": ("kode_tps", "kode_kel", "no_tps", "nama", "alamat", "rw", "rt", "dpt", "dpt_l", "dpt_p",
            "jam_buka", "jam_tutup", "kpps", "akses_disabilitas", "location_source", "precision_m"),
    "kelurahan": ("kode", "nama", "kode_kec", "kode_kab"),
    "kecamatan": ("kode", "nama", "kode_kab"),
    "kota": ("kode", "nama", "kode_prov"),
    "rw": ("kode", "nama", "kode_kel", "rw"),
    "rt": ("kode", "nama", "kode_kel", "rw", "rt"),
}
KEYS = {"tps": "kode_tps"}
STAT_COLUMNS = ("tps_count", "dpt_total", "dpt_known")
_FLOAT_DECIMALS = 1


def key_of(layer: str) -> str:
    """Key column of a public layer (``kode_tps`` for tps, ``kode`` for areas)."""
    _check_layer(layer)
    return KEYS.get(layer, "kode")


def feature_blobs(frame: gpd.GeoDataFrame, layer: str, *, extra: Sequence[str] = (),
                  only: Sequence[str] | None = None) -> tuple[list[str], list[bytes]]:
    """Serialise each row of ``frame`` as one GeoJSON Feature, in key order.

    Parameters
    ----------
    frame : GeoDataFrame
        Rows of ``layer`` in EPSG:4326 (e.g. from ``geo.schema.conform``).
    layer : str
        One of :data:`PROPERTIES`; selects the allow-listed properties.
    extra : sequence of str
        Further allowed columns present in ``frame`` (e.g. :data:`STAT_COLUMNS`).
    only : sequence of str, optional
        Keep only these of the allowed properties (e.g. the compact set of a tile).

    Returns
    -------
    ids : list of str
        The key of each feature.
    blobs : list of bytes
        The serialised features (``{"geometry":…,"id":…,"properties":…,"type":"Feature"}``),
        ready to be joined into collections or tiles without re-encoding.
    """
    _check_frame(frame, layer, extra)
    frame = frame.sort_values(key_of(layer), kind="mergesort")
    ids = [str(i) for i in _values(frame[key_of(layer)])]
    props = property_dicts(frame, layer, extra=extra, only=only)
    geoms = geometry_json(frame.geometry)
    # Keys in sorted order without OPT_SORT_KEYS: property_dicts inserts columns sorted.
    dumps = orjson.dumps
    blobs = [b'{"geometry":' + g + b',"id":' + dumps(i) + b',"properties":' + dumps(p) + b',"type":"Feature"}'
             for i, p, g in zip(ids, props, geoms)]
    return ids, blobs


def property_dicts(frame: gpd.GeoDataFrame, layer: str, *, extra: Sequence[str] = (),
                   only: Sequence[str] | None = None) -> list[dict]:
    """The allow-listed properties of each row, in row order, as plain Python values.

    Missing values are ``None``; floats are rounded to 0.1. See :func:`feature_blobs` for
    ``extra`` and ``only``.
    """
    columns = _check_frame(frame, layer, extra)
    if only is not None:
        columns = [c for c in columns if c in only]
    columns = sorted(columns)
    values = [_values(frame[c]) for c in columns]
    return [dict(zip(columns, row)) for row in zip(*values)] if values else [{} for _ in range(len(frame))]


def feature_collection(frame: gpd.GeoDataFrame, layer: str, *, extra: Sequence[str] = ()) -> bytes:
    """A whole FeatureCollection of ``frame`` as bytes (see :func:`feature_blobs`)."""
    return collection_bytes(feature_blobs(frame, layer, extra=extra)[1])


def collection_bytes(blobs: Sequence[bytes]) -> bytes:
    """Join pre-serialised features into a FeatureCollection (keys sorted, as orjson would)."""
    return b'{"features":[' + b",".join(blobs) + b'],"type":"FeatureCollection"}'


def geometry_json(geoms: gpd.GeoSeries | np.ndarray, decimals: int = DECIMALS) -> list[bytes]:
    """GeoJSON geometry objects as bytes: RFC 7946 ring orientation, ``decimals`` rounding.

    Missing or empty geometries become ``null``.
    """
    arr = np.asarray(geoms.values if isinstance(geoms, gpd.GeoSeries) else geoms, dtype=object)
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    arr = np.where(missing, None, arr)
    arr = shapely.orient_polygons(arr, exterior_cw=False)
    arr = shapely.transform(arr, lambda c: np.round(c, decimals))
    text = shapely.to_geojson(arr)
    return [b"null" if t is None else t.encode() for t in text]


def kelurahan_stats(kelurahan: pd.DataFrame, tps: pd.DataFrame) -> pd.DataFrame:
    """``kelurahan`` with TPS statistics per kelurahan (0 where it has no TPS).

    Adds ``tps_count`` (TPS rows), ``dpt_total`` (sum of the known DPT, voters) and ``dpt_known``
    (TPS whose DPT is known), all ``Int64``. Statistics count every TPS, located or not.
    """
    for col, frame, name in (("kode", kelurahan, "kelurahan"), ("kode_kel", tps, "tps")):
        if col not in frame:
            raise MissingColumnError(f"{name} frame has no {col!r} column", field=col)
    dpt = tps["dpt"] if "dpt" in tps else pd.Series(pd.NA, index=tps.index, dtype="Int32")
    grouped = pd.DataFrame({"kode": tps["kode_kel"].astype("string"), "dpt": dpt.astype("Int64"),
                            "known": dpt.notna()}).groupby("kode", sort=True)
    stats = pd.DataFrame({"tps_count": grouped.size(), "dpt_total": grouped["dpt"].sum(),
                          "dpt_known": grouped["known"].sum()})
    out = kelurahan.copy()
    kode = out["kode"].astype("string")
    for col in STAT_COLUMNS:
        out[col] = kode.map(stats[col]).fillna(0).astype("Int64")
    return out


def _values(series: pd.Series) -> list:
    """Column values as plain Python objects (None for missing; floats rounded)."""
    if pd.api.types.is_float_dtype(series.dtype):
        series = series.round(_FLOAT_DECIMALS)
    return series.to_numpy(dtype=object, na_value=None).tolist()


def _check_layer(layer: str) -> None:
    if layer not in PROPERTIES:
        raise ValueError(f"no public GeoJSON layer {layer!r}; expected one of {sorted(PROPERTIES)}")


def _check_frame(frame: gpd.GeoDataFrame, layer: str, extra: Sequence[str]) -> list[str]:
    _check_layer(layer)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"{layer}: expected a GeoDataFrame, got {type(frame).__name__}")
    if len(frame) and (frame.crs is None or frame.crs.to_epsg() != STORAGE_EPSG):
        raise CRSError(f"{layer}: GeoJSON is written in EPSG:{STORAGE_EPSG}, got {frame.crs}; "
                       f"reproject with to_crs({STORAGE_EPSG}) first")
    key = key_of(layer)
    if key not in frame:
        raise MissingColumnError(f"{layer} frame has no key column {key!r}", field=key)
    wanted = list(PROPERTIES[layer]) + [c for c in extra if c not in PROPERTIES[layer]]
    missing = [c for c in extra if c not in frame]
    if missing:
        raise MissingColumnError(f"{layer} frame lacks the requested columns {missing}", field=missing[0])
    return [c for c in wanted if c in frame]
