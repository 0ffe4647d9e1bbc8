"""/tiles: GeoJSON and MVT tiles, TileJSON, ETag/304, immutable versioned URLs, gzip, CORS, 204, 400."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import orjson
import pytest

Z14 = "/tiles/tps/14/13052/8476"


def test_geojson_tile(any_client):
    r = any_client.get(Z14 + ".geojson")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    doc = orjson.loads(r.data)
    assert [f["id"] for f in doc["features"]] == ["3171011001001", "3171011001002"]
    assert "flags" not in doc["features"][0]["properties"]


def test_mvt_tile(any_client):
    client = any_client
    r = client.get(Z14 + ".mvt")
    assert r.status_code == 200 and r.mimetype == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.data)["tps"]
    assert sorted(f["id"] for f in layer["features"]) == [3171011001001, 3171011001002]


def test_low_zoom_is_aggregated(client):
    doc = orjson.loads(client.get("/tiles/tps/10/815/529.geojson").data)
    assert {f["properties"]["kind"] for f in doc["features"]} == {"kelurahan"}
    assert sum(f["properties"]["tps_count"] for f in doc["features"]) == 6        # placed TPS only


def test_area_layers(client):
    doc = orjson.loads(client.get("/tiles/kelurahan/14/13052/8476.geojson").data)
    assert "3171011001" in [f["id"] for f in doc["features"]]
    assert client.get("/tiles/rw/16/52210/33907.mvt").status_code == 200


def test_empty_tile_is_204(client):
    r = client.get("/tiles/tps/14/0/0.mvt")
    assert r.status_code == 204 and r.data == b"" and "Content-Type" not in r.headers and r.headers["ETag"]


@pytest.mark.parametrize("path", ["/tiles/tps/14/16384/0.mvt", "/tiles/tps/14/0/-1.mvt", "/tiles/tps/21/0/0.mvt",
                                  "/tiles/tps/-1/0/0.mvt", "/tiles/tps/a/0/0.mvt", "/tiles/tps/2/4/0.geojson"])
def test_out_of_range_is_400(client, path):
    r = client.get(path)
    assert r.status_code == 400 and r.json["code"] == 400


@pytest.mark.parametrize("path", ["/tiles/voters/14/0/0.mvt", "/tiles/tps/14/0/0.png", "/tiles/voters.json"])
def test_unknown_layer_or_format_is_404(client, path):
    assert client.get(path).status_code == 404


def test_etag_304_and_cache_control(client):
    first = client.get(Z14 + ".mvt")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    again = client.get(Z14 + ".mvt", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get(Z14 + ".geojson").headers["ETag"] != etag
    version = client.get("/tiles/tps.json").json["data_version"]
    pinned = client.get(f"{Z14}.mvt?v={version}")
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(f"{Z14}.mvt?v=old").headers["Cache-Control"].startswith("public, max-age=60")


def test_gzip(client):
    plain = client.get(Z14 + ".geojson").data
    r = client.get(Z14 + ".geojson", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(r.data) == plain
    assert "Accept-Encoding" in r.headers["Vary"]
    again = client.get(Z14 + ".geojson", headers={"Accept-Encoding": "gzip"})
    assert again.data == r.data


def test_brotli_when_accepted(client):
    brotli = pytest.importorskip("brotli")
    r = client.get(Z14 + ".mvt", headers={"Accept-Encoding": "br, gzip"})
    assert r.headers["Content-Encoding"] == "br"
    assert brotli.decompress(r.data) == client.get(Z14 + ".mvt").data


def test_cors_only_for_configured_origins(client):
    ok = client.get(Z14 + ".mvt", headers={"Origin": "https://smartcity.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://smartcity.example" and "Origin" in ok.headers["Vary"]
    assert "ETag" in ok.headers["Access-Control-Expose-Headers"]
    other = client.get(Z14 + ".mvt", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    pre = client.options(Z14 + ".mvt", headers={"Origin": "https://smartcity.example",
                                               "Access-Control-Request-Method": "GET"})
    assert pre.headers["Access-Control-Allow-Methods"].startswith("GET")


def test_tilejson(client):
    doc = client.get("/tiles/tps.json").json
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    assert doc["tiles"] == [f"http://localhost/tiles/tps/{{z}}/{{x}}/{{y}}.mvt?v={doc['data_version']}"]
    assert doc["vector_layers"][0]["id"] == "tps" and "dpt" in doc["vector_layers"][0]["fields"]
    assert doc["bounds"] == [106.8025, -6.247, 106.8275, -6.243] and doc["minzoom"] == 0 and doc["maxzoom"] == 20
    gj = client.get("/tiles/kelurahan.json?format=geojson").json
    assert gj["tiles"][0].endswith(f".geojson?v={gj['data_version']}") and gj["name"] == "petatps kelurahan"
    assert "tps_count" in client.get("/tiles/kelurahan.json").json["vector_layers"][0]["fields"]
    assert client.get("/tiles/tps.json?format=png").status_code == 400
