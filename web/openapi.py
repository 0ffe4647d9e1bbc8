"""The OpenAPI 3.0 document of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

COLLECTIONS: dict[str, tuple[str, str]] = {
    "tps": ("TPS", "Polling stations (tempat pemungutan suara) with address, RT/RW, DPT counts, hours and "
                   "location precision; id = kode_tps (13 digits)."),
    "kelurahan": ("Kelurahan", "Kelurahan/desa boundaries with TPS statistics; id = Kemendagri code (10 digits)."),
    "kecamatan": ("Kecamatan", "Kecamatan boundaries; id = Kemendagri code (6 digits)."),
    "kota": ("Kota/kabupaten", "Kota/kabupaten boundaries; id = Kemendagri code (4 digits)."),
    "rw": ("RW", "Rukun warga boundaries; id = <kode_kel>-<rw:03d>."),
}

_PROBLEM = {"type": "object", "required": ["code", "title", "detail"],
            "properties": {"code": {"type": "integer"}, "title": {"type": "string"}, "detail": {"type": "string"}}}
_FEATURE = {"type": "object", "required": ["type", "properties"],
            "properties": {"type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
                           "properties": {"type": "object"}, "geometry": {"type": "object", "nullable": True}}}
_NEAREST = {"type": "object", "required": ["label", "tps", "distance_m", "basis"],
            "properties": {"label": {"type": "string", "enum": ["nearest"]}, "tps": {"$ref": "#/components/schemas/Feature"},
                           "distance_m": {"type": "number", "description": "straight-line metres (EPSG:32748)"},
                           "kode_kel": {"type": "string", "nullable": True},
                           "basis": {"type": "string", "enum": ["location", "kelurahan"]}}}

_LOOKUP = {"type": "object", "required": ["found", "label"],
           "description": "found: the TPS the DPT assigns (label your_tps); otherwise the neutral answer "
                          "(label not_found) with the kelurahan to choose from and a nearest TPS labelled as such",
           "properties": {
               "found": {"type": "boolean"},
               "label": {"type": "string", "enum": ["your_tps", "not_found"]},
               "nama_masked": {"type": "string", "nullable": True, "description": "the name masked, e.g. S**** R*****"},
               "kode_tps": {"type": "string", "nullable": True, "description": "the TPS the DPT assigns"},
               "tps": {"allOf": [{"$ref": "#/components/schemas/Feature"}], "nullable": True,
                       "description": "that TPS as published; null while the TPS list does not hold it yet"},
               "distance_m": {"type": "number", "nullable": True, "description": "straight-line metres"},
               "located_by": {"type": "string", "nullable": True},
               "kelurahan": {"type": "array", "items": {
                   "type": "object", "required": ["kode", "nama"],
                   "properties": {"kode": {"type": "string"}, "nama": {"type": "string"}}}},
               "nearest": {"allOf": [{"$ref": "#/components/schemas/Nearest"}], "nullable": True}}}


def openapi_document(max_limit: int, default_limit: int) -> dict:
    """The API description; ``max_limit`` is the server's largest page."""
    cid = {"name": "cid", "in": "path", "required": True, "schema": {"type": "string", "enum": list(COLLECTIONS)}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "petatps API", "version": "1.0.0",
                 "description": "Polling stations (TPS) of Indonesian elections: collections in the style of "
                                "OGC API – Features, the nearest TPS to a point, and the NIK lookup. "
                                "Coordinates are EPSG:4326 (lon, lat) degrees; distances are metres."},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/": _get("Landing page", "application/json", {"type": "object"}),
            "/conformance": _get("Conformance classes", "application/json", {"type": "object"}),
            "/collections": _get("The collections", "application/json", {"type": "object"}),
            "/collections/{cid}": _get("One collection", "application/json", {"type": "object"}, [cid], (404,)),
            "/collections/{cid}/items": _get(
                "Features of a collection, paged by key", "application/geo+json",
                {"$ref": "#/components/schemas/FeatureCollection"},
                [cid, {"name": "bbox", "in": "query", "style": "form", "explode": False,
                       "description": "west,south,east,north in degrees (EPSG:4326)",
                       "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}}},
                 {"name": "limit", "in": "query", "description": f"features per page (default {default_limit}; "
                  f"values above {max_limit} are served as {max_limit})",
                  "schema": {"type": "integer", "minimum": 1, "default": default_limit}},
                 {"name": "cursor", "in": "query", "description": "key of the last feature of the previous page "
                  "(from the next link)", "schema": {"type": "string", "pattern": "^[0-9-]{1,24}$"}}],
                (400, 404)),
            "/collections/{cid}/items/{fid}": _get(
                "One feature", "application/geo+json", {"$ref": "#/components/schemas/Feature"},
                [cid, {"name": "fid", "in": "path", "required": True, "schema": {"type": "string"}}], (404,)),
            "/nearest": _get(
                "Nearest mapped TPS to a point, within the given kelurahan or else the kelurahan containing "
                "the point (labelled 'nearest': the DPT may assign another TPS)", "application/json",
                {"$ref": "#/components/schemas/Nearest"},
                [{"name": "lat", "in": "query", "required": True, "schema": {"type": "number"}},
                 {"name": "lon", "in": "query", "required": True, "schema": {"type": "number"}},
                 {"name": "kode_kel", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{10}$"}}],
                (400, 404)),
            "/lookup": {"post": {
                "summary": "Find the TPS of a NIK in the DPT (rate-limited; the NIK is never stored or logged)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["nik"],
                    "properties": {"nik": {"type": "string", "description": "16 digits"},
                                   "kode_kel": {"type": "string", "pattern": "^[0-9]{10}$",
                                                "description": "kelurahan for the neutral answer's nearest TPS"}}}}}},
                "responses": {"200": {"description": "found (label your_tps, masked name) or the neutral answer",
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Lookup"}}}},
                              **_errors((400, 404, 415, 429))}}},
        },
        "components": {"schemas": {
            "Problem": _PROBLEM, "Feature": _FEATURE, "Nearest": _NEAREST, "Lookup": _LOOKUP,
            "FeatureCollection": {"type": "object", "required": ["type", "features"],
                                  "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                                 "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                                                 "numberMatched": {"type": "integer"},
                                                 "numberReturned": {"type": "integer"},
                                                 "links": {"type": "array", "items": {"type": "object"}}}}}},
    }


def _get(summary: str, mime: str, schema: dict, parameters: list | None = None, errors: tuple = ()) -> dict:
    op = {"summary": summary, "responses": {"200": {"description": "OK", "content": {mime: {"schema": schema}}},
                                            **_errors(errors + (503,))}}
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


def _errors(codes: tuple) -> dict:
    return {str(c): {"description": "problem", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for c in codes}
