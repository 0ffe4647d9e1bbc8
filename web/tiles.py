"""``/tiles``: GeoJSON and Mapbox Vector Tiles of the public layers, and their TileJSON.

Tiles are cut from the snapshot's :class:`geo.tiles.TileIndex` (built once per data version from the
store) and kept encoded (gzip/brotli/identity) in a per-version LRU, so a repeated tile costs a dict
look-up. Caching: the ETag is derived from the data version and the tile, ``If-None-Match`` gets 304;
a URL carrying the current version (``?v=<data_version>``, as the TileJSON lists them) is immutable
for a year, any other for 60 s. Empty tiles are ``204``; z/x/y outside the grid or the zoom range
``MIN_ZOOM..MAX_ZOOM`` are ``400``.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Blueprint, Response, abort, jsonify, request, url_for

from geo import geojson
from geo.tiles import TILE_PROPERTIES, check_tile
from web.data import snapshot
from web.http import IMMUTABLE, REVALIDATE, choose_encoding, encode

bp = Blueprint("tiles", __name__)

LAYERS = ("tps", "kelurahan", "kecamatan", "kota", "rw")
FORMATS = {"mvt": "application/vnd.mapbox-vector-tile", "geojson": geojson.MEDIA_TYPE}
MIN_ZOOM, MAX_ZOOM = 0, 20
ATTRIBUTION = "petatps; batas wilayah: Kemendagri / OpenStreetMap contributors"
_FIELD_TYPES = {"no_tps": "Number", "rw": "Number", "rt": "Number", "dpt": "Number", "dpt_l": "Number",
                "dpt_p": "Number", "kpps": "Number", "precision_m": "Number", "akses_disabilitas": "Boolean",
                "tps_count": "Number", "dpt_total": "Number", "dpt_known": "Number"}


@bp.get("/tiles/<layer>/<z>/<x>/<name>")
def tile(layer: str, z: str, x: str, name: str):
    z_, x_, y_, fmt = parse_tile(layer, z, x, name)
    snap = snapshot()
    etag = tile_etag(snap.version, layer, z_, x_, y_, fmt)
    cache = IMMUTABLE if request.args.get("v") == snap.version else REVALIDATE
    if request.if_none_match.contains_weak(etag):
        return _tile_response(b"", 304, fmt, etag, cache, None)
    encoding = choose_encoding()
    key = (layer, fmt, z_, x_, y_, encoding)
    body = snap.tile_bytes.get(key)
    if body is None:
        index = snap.tiles(layer)
        raw = index.mvt(z_, x_, y_) if fmt == "mvt" else index.geojson(z_, x_, y_)
        body = encode(raw, encoding) if raw else b""
        snap.tile_bytes.put(key, body)
    return _tile_response(body, 200 if body else 204, fmt, etag, cache, encoding if body else None)


@bp.get("/tiles/<layer>.json")
def tilejson(layer: str):
    if layer not in LAYERS:
        abort(404, description=f"no tile layer {layer!r}; expected one of {', '.join(LAYERS)}")
    fmt = request.args.get("format", "mvt")
    if fmt not in FORMATS:
        abort(400, description="format must be mvt or geojson")
    snap = snapshot()
    doc = tilejson_document(layer, fmt, snap.version, snap.tiles(layer).bounds(),
                            url_for("tiles.tile", layer=layer, z="{z}", x="{x}", name="{y}." + fmt,
                                    v=snap.version, _external=True))
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


def tilejson_document(layer: str, fmt: str, version: str, bounds, url: str) -> dict:
    """TileJSON 3.0.0 of one layer (``url`` with ``{z}/{x}/{y}`` placeholders)."""
    fields = TILE_PROPERTIES.get(layer) or geojson.PROPERTIES[layer] + (
        geojson.STAT_COLUMNS if layer == "kelurahan" else ())
    doc = {"tilejson": "3.0.0", "name": f"petatps {layer}", "version": "1.0.0", "scheme": "xyz",
           "tiles": [url.replace("%7B", "{").replace("%7D", "}")], "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM,
           "attribution": ATTRIBUTION, "data_version": version,
           "vector_layers": [{"id": layer, "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM,
                              "fields": {f: _FIELD_TYPES.get(f, "String") for f in fields}}]}
    if bounds is not None:
        west, south, east, north = (round(v, 6) for v in bounds)
        doc["bounds"] = [west, south, east, north]
        doc["center"] = [round((west + east) / 2, 6), round((south + north) / 2, 6), 12]
    if fmt == "geojson":
        doc["format"] = "geojson"
    return doc


def _tile_response(body: bytes, status: int, fmt: str, etag: str, cache: str, encoding: str | None) -> Response:
    response = Response(body, status=status, mimetype=FORMATS[fmt])
    if status != 200:
        del response.headers["Content-Type"]
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = cache
    response.vary.add("Accept-Encoding")
    if encoding:
        response.headers["Content-Encoding"] = encoding
    return response
