"""/api/v1: collections with bbox/limit/cursor paging, nearest, lookup, and every error code as JSON."""

from __future__ import annotations

import pytest

from tests.web import city


def _all_pages(client, url):
    ids, pages = [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.mimetype == "application/geo+json"
        doc = r.json
        assert doc["numberReturned"] == len(doc["features"])
        ids += [f["id"] for f in doc["features"]]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
        pages += 1
    return ids, pages, doc["numberMatched"]


def test_paging_visits_every_feature_once(any_client):
    ids, pages, matched = _all_pages(any_client, "/api/v1/collections/tps/items?limit=2")
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 9 == matched and pages == 5


def test_limit_is_capped_at_server_maximum(client):
    doc = client.get("/api/v1/collections/tps/items?limit=1000").json
    assert doc["numberReturned"] == 5                               # api_max_limit=5 in the test config
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert "limit=5" in nxt and "cursor=3171011002002" in nxt
    assert client.get("/api/v1/collections/kelurahan/items").json["numberReturned"] == 3   # default 100


def test_bbox(client):
    doc = client.get("/api/v1/collections/tps/items?bbox=106.80,-6.25,106.81,-6.24").json
    assert [f["id"] for f in doc["features"]] == ["3171011001001", "3171011001002"] and doc["numberMatched"] == 2
    ids, _, matched = _all_pages(client, "/api/v1/collections/rw/items?bbox=106.80,-6.25,106.804,-6.24&limit=1")
    assert ids == ["3171011001-001"] and matched == 1
    kel = client.get("/api/v1/collections/kelurahan/items?bbox=106.825,-6.245,106.826,-6.244").json["features"]
    assert [f["id"] for f in kel] == ["3171021001"]
    assert kel[0]["properties"] == {"kode": "3171021001", "nama": "GLODOK", "kode_kec": "317102", "kode_kab": "3171",
                                    "tps_count": 3, "dpt_total": 850, "dpt_known": 3}


def test_item_and_collections(client):
    r = client.get("/api/v1/collections/tps/items/3171011001001")
    assert r.mimetype == "application/geo+json" and r.json["geometry"]["coordinates"] == [106.8025, -6.247]
    assert set(r.json["properties"]) >= {"kode_tps", "alamat", "rw", "rt", "dpt", "jam_buka", "location_source"}
    assert "flags" not in r.json["properties"]
    assert [c["id"] for c in client.get("/api/v1/collections").json["collections"]] == \
        ["tps", "kelurahan", "kecamatan", "kota", "rw"]
    assert client.get("/api/v1/conformance").json["conformsTo"]
    assert client.get("/api/v1/").json["links"][1]["rel"] == "service-desc"


@pytest.mark.parametrize("url, code", [
    ("/api/v1/collections/voters/items", 404),
    ("/api/v1/collections/voters", 404),
    ("/api/v1/collections/tps/items/3171011001999", 404),
    ("/api/v1/collections/tps/items?limit=0", 400),
    ("/api/v1/collections/tps/items?limit=-3", 400),
    ("/api/v1/collections/tps/items?limit=ten", 400),
    ("/api/v1/collections/tps/items?bbox=1,2,3", 400),
    ("/api/v1/collections/tps/items?bbox=106.9,-6.2,106.8,-6.3", 400),
    ("/api/v1/collections/tps/items?bbox=a,b,c,d", 400),
    ("/api/v1/collections/tps/items?cursor=x'%20OR%201=1", 400),
    ("/api/v1/nearest?lat=-6.245", 400),
    ("/api/v1/nearest?lat=abc&lon=106.8", 400),
    ("/api/v1/nearest?lat=106.8&lon=-6.245", 400),
    ("/api/v1/nearest?lat=nan&lon=106.8", 400),
    ("/api/v1/nearest?lat=-6.245&lon=106.805&kode_kel=317101", 400),
    ("/api/v1/nearest?lat=-6.245&lon=106.805&kode_kel=3171099999", 404),
    ("/api/v1/nope", 404),
])
def test_errors_are_json_problems(client, url, code):
    r = client.get(url)
    assert r.status_code == code and r.mimetype == "application/json"
    assert r.json["code"] == code and r.json["detail"] and r.json["title"]


def test_method_not_allowed_is_json(client):
    r = client.post("/api/v1/collections", json={})
    assert r.status_code == 405 and r.json["code"] == 405


def test_nearest(any_client):
    doc = any_client.get("/api/v1/nearest?lat=-6.2468&lon=106.8099").json
    assert doc["label"] == "nearest" and doc["basis"] == "location"
    assert doc["kode_kel"] == "3171011001" and doc["tps"]["id"] == "3171011001002"   # own kelurahan first
    assert 480 < doc["distance_m"] < 520
    across = any_client.get("/api/v1/nearest?lat=-6.2468&lon=106.8099&kode_kel=3171011002").json
    assert across["tps"]["id"] == "3171011002001"
    outside = any_client.get("/api/v1/nearest?lat=-6.245&lon=106.70").json      # in no kelurahan: any TPS
    assert outside["kode_kel"] is None and outside["tps"]["id"] == "3171011001001"


def test_lookup(any_client):
    r = any_client.post("/api/v1/lookup", json={"nik": "3171026106850005"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json["found"] and r.json["label"] == "your_tps" and r.json["nama_masked"] == "R*** W***"
    assert r.json["tps"]["id"] == "3171021001002" and r.json["located_by"] == "rt"
    neutral = any_client.post("/api/v1/lookup", json={"nik": city.MISSING_NIK, "kode_kel": "3171021001"}).json
    assert neutral["found"] is False and neutral["label"] == "not_found"
    assert neutral["kelurahan"] == [{"kode": "3171021001", "nama": "GLODOK"}]
    assert neutral["nearest"]["label"] == "nearest" and neutral["nearest"]["tps"]["id"] == "3171021001001"
    assert set(neutral) == {"found", "label", "kelurahan", "nearest"}


@pytest.mark.parametrize("kwargs, code", [
    ({"data": "nik=3171026106850005"}, 415),
    ({"json": ["3171026106850005"]}, 400),
    ({"json": {"nik": 3171026106850005}}, 400),
    ({"json": {"nik": city.INVALID_NIK}}, 400),
    ({"json": {"nik": city.MISSING_NIK, "kode_kel": 5}}, 400),
    ({"json": {"nik": city.MISSING_NIK, "kode_kel": "3171099999"}}, 404),
    ({"data": b"{not json", "content_type": "application/json"}, 400),
])
def test_lookup_errors(client, kwargs, code):
    r = client.post("/api/v1/lookup", **kwargs)
    assert r.status_code == code and r.json["code"] == code
    assert "3171026106850005" not in r.get_data(as_text=True) and city.INVALID_NIK not in r.get_data(as_text=True)


def test_lookup_never_by_get(client):
    assert client.get("/api/v1/lookup?nik=3171026106850005").status_code == 405


def test_store_down_is_503(make_app, tmp_path):
    bad = make_app(f"gpkg://{tmp_path}/missing/dir/petatps.gpkg", data_check_seconds=0)
    (tmp_path / "missing").write_text("a file where a folder should be")
    r = bad.test_client().get("/api/v1/collections/tps/items")
    assert r.status_code == 503 and r.json["detail"] == "internal error"
