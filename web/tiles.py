"""``/tiles``: GeoJSON and Mapbox Vector Tiles of the public layers, and their TileJSON.

Tiles are cut by PostGIS (``ST_AsMVT``/``ST_AsGeoJSON``, :mod:`geo.tile_source`) when the store is
PostGIS, else from the snapshot's :class:`geo.tiles.TileIndex` (built once per data version from the
store); either way they are kept encoded (gzip/brotli/identity) in a per-version LRU, so a repeated tile costs a dict
look-up. Caching: the ETag is derived from the data version and the tile, ``If-None-Match`` gets 304;
a URL carrying the current version (``?v=<data_version>``, as the TileJSON lists them) is immutable
for a year, any other for 60 s. Empty tiles are ``204``; z/x/y outside the grid or the zoom range
``MIN_ZOOM..MAX_ZOOM`` are ``400``.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from geo import export, geojson, tile_source
from geo.tiles import check_tile
from web.data import snapshot
from web.http import IMMUTABLE, REVALIDATE, choose_encoding, encode

bp = Blueprint("tiles", __name__)

LAYERS = ("tps", "kelurahan", "kecamatan", "kota", "rw")
FORMATS = {"mvt": "application/vnd.mapbox-vector-tile", "geojson": geojson.MEDIA_TYPE}
MIN_ZOOM, MAX_ZOOM = 0, 20
ATTRIBUTION = "petatps; batas wilayah: Kemendagri / OpenStreetMap contributors"


@bp.get("/tiles/<layer>/<z>/<x>/<name>")
def tile(layer: str, z: str, x: str, name: str):
    z_, x_, y_, fmt = parse_tile(layer, z, x, name)
    snap = snapshot()
    encoding = choose_encoding()
    key = (layer, fmt, z_, x_, y_, encoding)
    cached = snap.tile_bytes.get(key)
    if cached is None:
        raw = _build(snap, layer, z_, x_, y_, fmt)
        cached = (encode(raw, encoding, fast=True) if raw else b"", tile_etag(snap.version, layer, z_, x_, y_, fmt))
        snap.tile_bytes.put(key, cached)
    body, etag = cached
    cache = IMMUTABLE if request.args.get("v") == snap.version else REVALIDATE
    headers = [("ETag", f'W/"{etag}"'), ("Cache-Control", cache), ("Vary", "Accept-Encoding")]
    if "If-None-Match" in request.headers and request.if_none_match.contains_weak(etag):
        return _empty(304, headers)
    if not body:
        return _empty(204, headers)
    if encoding:
        headers.append(("Content-Encoding", encoding))
    return Response(body, headers=headers, content_type=FORMATS[fmt])


def _build(snap, layer: str, z: int, x: int, y: int, fmt: str) -> bytes | None:
    from web.app import get_store

    store = get_store(current_app)
    if store.kind == "postgis":  # the database cuts the tile (GiST + ST_AsMVT), no Python encoding
        # ... from the live tables: checked against the snapshot's version, so a tile of newer data is
        # never cached or tagged under the old version (a stale snapshot answers 503, then is replaced).
        return snap.live(lambda: tile_source.tile_bytes(store, layer, z, x, y, fmt))
    index = snap.tiles(layer)
    return index.mvt(z, x, y) if fmt == "mvt" else index.geojson(z, x, y)


@bp.get("/tiles/<layer>.json")
def tilejson(layer: str):
    if layer not in LAYERS:
        abort(404, description=f"no tile layer {layer!r}; expected one of {', '.join(LAYERS)}")
    fmt = request.args.get("format", "mvt")
    if fmt not in FORMATS:
        abort(400, description="format must be mvt or geojson")
    snap = snapshot()
    doc = tilejson_document(snap, layer, fmt, url_for("tiles.tile", layer=layer, z="{z}", x="{x}",
                                                     name="{y}." + fmt, v=snap.version, _external=True))
    response = jsonify(doc)
    response.headers["Cache-Control"] = REVALIDATE
    response.set_etag(tile_etag(snap.version, layer, -1, -1, -1, fmt), weak=True)
    return response.make_conditional(request)


def parse_tile(layer: str, z: str, x: str, name: str) -> tuple[int, int, int, str]:
    """Validate a tile path; 404 for an unknown layer or format, 400 for a bad z/x/y."""
    if layer not in LAYERS:
        abort(404, description=f"no tile layer {layer!r}; expected one of {', '.join(LAYERS)}")
    y, _, fmt = name.partition(".")
    if fmt not in FORMATS:
        abort(404, description="tile format must be .mvt or .geojson")
    try:
        zi, xi, yi = int(z), int(x), int(y)
        if not MIN_ZOOM <= zi <= MAX_ZOOM:
            raise ValueError(f"zoom must be in {MIN_ZOOM}..{MAX_ZOOM}")
        check_tile(zi, xi, yi)
    except ValueError as exc:
        abort(400, description=f"bad tile {z}/{x}/{y}: {exc}")
    return zi, xi, yi, fmt


def tile_etag(version: str, layer: str, z: int, x: int, y: int, fmt: str) -> str:
    """A short opaque tag of (data version, tile); changes whenever the data version does."""
    digest = hashlib.blake2b(f"{version}|{layer}|{z}|{x}|{y}|{fmt}".encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode()


def tilejson_document(snap, layer: str, fmt: str, url: str) -> dict:
    """TileJSON 3.0.0 of one layer as served here (:func:`geo.export.tilejson` with absolute tile URLs
    carrying the data version, and this server's zoom range)."""
    doc = export.tilejson(snap.tiles(layer), fmt=fmt, data_version=snap.version, attribution=ATTRIBUTION)
    doc.update(tiles=[url.replace("%7B", "{").replace("%7D", "}")], minzoom=MIN_ZOOM, maxzoom=MAX_ZOOM,
               data_version=snap.version)
    for vector_layer in doc.get("vector_layers", []):
        vector_layer.update(minzoom=MIN_ZOOM, maxzoom=MAX_ZOOM)
        if layer == "kelurahan":       # served with TPS statistics (see web.data.Snapshot.kelurahan)
            vector_layer["fields"].update({c: f"{c} (see geo.geojson.kelurahan_stats)" for c in geojson.STAT_COLUMNS})
    return doc


def _empty(status: int, headers: list) -> Response:
    response = Response(status=status, headers=headers)
    del response.headers["Content-Type"]
    return response
