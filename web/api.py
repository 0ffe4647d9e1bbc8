"""``/api/v1``: OGC API – Features style collections, nearest TPS and the NIK lookup (JSON).

Collections are served from the snapshot's pre-serialised :class:`geo.collections.FeatureTable`
(``application/geo+json``); paging is by key cursor (``cursor`` = key of the last feature of the
previous page, given in the ``next`` link). ``limit`` defaults to ``DEFAULT_LIMIT`` and is capped at
``PETATPS_API_MAX_LIMIT`` (a larger value is served as the maximum, as OGC API – Features asks).
Every error is a JSON problem (``web/errors.py``).
"""

from __future__ import annotations

import re

import orjson
from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from geo import geojson
from geo.collections import parse_bbox
from web import answers
from web.data import snapshot
from web.openapi import COLLECTIONS, openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
DEFAULT_LIMIT = 100
_CURSOR = re.compile(r"^[0-9-]{1,24}$")
_GEOJSON = geojson.MEDIA_TYPE


@bp.get("/")
def landing():
    links = [_link("self", "api.landing", "application/json", "this document"),
             _link("service-desc", "api.openapi", "application/vnd.oai.openapi+json;version=3.0", "API definition"),
             _link("conformance", "api.conformance", "application/json", "conformance classes"),
             _link("data", "api.collections", "application/json", "collections")]
    return jsonify({"title": "petatps API", "description": "TPS, kelurahan and RW of the store", "links": links})


@bp.get("/conformance")
def conformance():
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    return jsonify({"conformsTo": [base + c for c in ("core", "geojson", "oas30")]})


@bp.get("/openapi.json")
def openapi():
    doc = openapi_document(current_app.extensions["petatps.config"].api_max_limit, DEFAULT_LIMIT)
    return Response(orjson.dumps(doc), mimetype="application/vnd.oai.openapi+json")


@bp.get("/collections")
def collections():
    return jsonify({"collections": [_collection(c) for c in COLLECTIONS],
                    "links": [_link("self", "api.collections", "application/json", "collections")]})


@bp.get("/collections/<cid>")
def collection(cid: str):
    _check_collection(cid)
    return jsonify(_collection(cid))


@bp.get("/collections/<cid>/items")
def items(cid: str):
    _check_collection(cid)
    limit, bbox, cursor = _limit(), _bbox(), _cursor()
    page = snapshot().features(cid).page(limit=limit, bbox=bbox, after=cursor)
    links = [{"rel": "self", "type": _GEOJSON, "href": request.url},
             {"rel": "collection", "type": "application/json", "href": url_for("api.collection", cid=cid, _external=True)}]
    if page.next_key:
        args = {k: request.args[k] for k in ("bbox",) if k in request.args}
        links.append({"rel": "next", "type": _GEOJSON,
                      "href": url_for("api.items", cid=cid, **args, cursor=page.next_key, limit=limit, _external=True)})
    head = orjson.dumps({"type": "FeatureCollection", "numberMatched": page.matched,
                         "numberReturned": len(page.blobs), "links": links})
    return Response(head[:-1] + b',"features":[' + b",".join(page.blobs) + b"]}", mimetype=_GEOJSON)


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):
    _check_collection(cid)
    blob = snapshot().features(cid).get(fid)
    if blob is None:
        abort(404, description=f"no feature {fid[:24]!r} in collection {cid}")
    return Response(blob, mimetype=_GEOJSON)


@bp.get("/nearest")
def nearest():
    lat, lon = _float("lat"), _float("lon")
    kode_kel = request.args.get("kode_kel") or None
    return jsonify(answers.find_nearest(snapshot(), lon, lat, kode_kel))


def lookup():
    """``POST /api/v1/lookup`` with ``{"nik": "...", "kode_kel": optional}`` (registered in create_app
    with the lookup rate limit)."""
    if not request.is_json:
        abort(415, description="send the NIK as a JSON body: {\"nik\": \"16 digits\"}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("nik"), str):
        abort(400, description="the JSON body must be an object with a string field 'nik'")
    kode_kel = body.get("kode_kel")
    if kode_kel is not None and not isinstance(kode_kel, str):
        abort(400, description="kode_kel must be a string of 10 digits")
    response = jsonify(answers.lookup_answer(snapshot(), body["nik"], kode_kel or None))
    response.headers["Cache-Control"] = "no-store"
    return response


def _collection(cid: str) -> dict:
    title, description = COLLECTIONS[cid]
    return {"id": cid, "title": title, "description": description, "itemType": "feature",
            "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
            "links": [{"rel": "items", "type": _GEOJSON, "href": url_for("api.items", cid=cid, _external=True)},
                      {"rel": "self", "type": "application/json",
                       "href": url_for("api.collection", cid=cid, _external=True)}]}


def _check_collection(cid: str) -> None:
    if cid not in COLLECTIONS:
        abort(404, description=f"no collection {cid[:24]!r}; expected one of {', '.join(COLLECTIONS)}")


def _limit() -> int:
    text = request.args.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or int(text) < 1:
        abort(400, description=f"limit must be a positive integer, got {text[:24]!r}")
    return min(int(text), current_app.extensions["petatps.config"].api_max_limit)


def _bbox():
    text = request.args.get("bbox")
    return parse_bbox(text) if text is not None else None


def _cursor() -> str | None:
    text = request.args.get("cursor")
    if text is not None and not _CURSOR.match(text):
        abort(400, description="cursor must be the feature key from a 'next' link")
    return text


def _float(name: str) -> float:
    text = request.args.get(name)
    try:
        return float(text)
    except (TypeError, ValueError):
        abort(400, description=f"{name} is required: a number in degrees (EPSG:4326)")


def _link(rel: str, endpoint: str, mime: str, title: str) -> dict:
    return {"rel": rel, "type": mime, "title": title, "href": url_for(endpoint, _external=True)}
